"""``SqlOutboxRepository``: events out (issue 15) in ``outbox_events``.

Monotonic ids: :meth:`SqlOutboxRepository.append` first locks the one ``outbox_counter`` row
(an upsert that changes nothing still takes the row lock; SQLite's unit of work holds the
database's write lock from its start), then leaves out the events whose key is stored (they
are looked up once before the lock too: when every event is stored already, as on a re-run,
no lock is taken), takes
the next ids from the counter and inserts. The lock is held until the transaction ends, so a
second writer gets its ids only after the first one committed (or rolled back, which also
undoes its counter): ids are given in commit order and a reader that read up to id *n* never
later finds a committed event below *n*. The statement after the lock sees every committed
row (READ COMMITTED on the servers), so the dedupe lookup is never stale. Writers lock the
counter last (after any invoice series, BILL-6): one lock order, no deadlock between them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, insert, select, update

from crmcore.errors import StorageError, ValidationError
from crmcore.outbox import OutboxEvent, checked_outbox_events
from crmcore.ports import checked_consumer
from crmcore_sql.repositories import _SqlRepository
from crmcore_sql.tables import outbox_consumers, outbox_counter, outbox_events

__all__ = ["SqlOutboxRepository"]

_COUNTER = "events"  # the one counter row's name


class SqlOutboxRepository(_SqlRepository):
    """The SQL :class:`~crmcore.ports.OutboxRepository`, on the unit of work's connection."""

    def append(self, events: Sequence[OutboxEvent]) -> list[OutboxEvent]:
        checked = checked_outbox_events(events)
        with self._translating("reading events"):  # committed rows stay: no lock needed
            known = self._stored_keys(checked)
        checked = tuple(e for e in checked if e.key is None or (e.tenant_id, e.key) not in known)
        if not checked:  # nothing new (a re-run, a command changing no status): no lock
            return []
        with self._translating("adding events"), self._atomic():
            last = self._lock_counter()
            stored = self._stored_keys(checked)
            new = [e for e in checked if e.key is None or (e.tenant_id, e.key) not in stored]
            if not new:
                return []
            kept = [attrs.evolve(e, id=last + n, data=dict(e.data)) for n, e in enumerate(new, 1)]
            self.connection.execute(
                update(outbox_counter)
                .where(outbox_counter.c.name == _COUNTER)
                .values(last_id=last + len(kept))
            )
            self.connection.execute(insert(outbox_events), [_row(e) for e in kept])
        return kept

    def _lock_counter(self) -> int:
        """Lock the counter row (created at 0 the first time); the last id given."""
        values = {"name": _COUNTER, "last_id": 0}
        unchanged = {"last_id": outbox_counter.c.last_id + 0}
        return self._sql.upsert_returning(
            self.connection, outbox_counter, "name", values, unchanged, "last_id", lock=True
        )

    def _stored_keys(self, events: Sequence[OutboxEvent]) -> set[tuple[str, str]]:
        keyed = [e for e in events if e.key is not None]
        if not keyed:
            return set()
        tenants = sorted({e.tenant_id for e in keyed})
        keys = sorted({e.key for e in keyed if e.key is not None})
        rows = self.connection.execute(
            select(outbox_events.c.tenant_id, outbox_events.c.key).where(
                outbox_events.c.tenant_id.in_(tenants), outbox_events.c.key.in_(keys)
            )
        )
        return {(tenant, key) for tenant, key in rows}

    def read(
        self, after: int = 0, limit: int | None = None, tenant_id: str | None = None
    ) -> list[OutboxEvent]:
        if isinstance(after, bool) or not isinstance(after, int):
            raise ValidationError(f"must be a whole number, got {after!r}", field="after")
        statement = select(outbox_events).where(outbox_events.c.id > after)
        if tenant_id is not None:
            statement = statement.where(outbox_events.c.tenant_id == tenant_id)
        statement = statement.order_by(outbox_events.c.id)
        if limit is not None:
            statement = statement.limit(max(limit, 0))
        with self._translating("reading events"):
            rows = self.connection.execute(statement).all()
        return [_event(row) for row in rows]

    def last_id(self) -> int:
        with self._translating("reading events"):
            statement = select(func.max(outbox_events.c.id))
            last: int | None = self.connection.execute(statement).scalar()
        return last or 0

    def acknowledge(self, consumer: str, up_to: int) -> None:
        name, position = checked_consumer(consumer, up_to)
        last = self.last_id()
        if position > last:
            raise ValidationError(
                f"no event {position} is stored (the last is {last})", field="up_to"
            )
        values = {"consumer": name, "position": position}
        with self._translating("acknowledging events"), self._atomic(statements=1):
            self._sql.upsert_greater(
                self.connection, outbox_consumers, "consumer", values, "position"
            )

    def position(self, consumer: str) -> int:
        name, _ = checked_consumer(consumer)
        with self._translating("reading a consumer's position"):
            found: int | None = self.connection.execute(
                select(outbox_consumers.c.position).where(outbox_consumers.c.consumer == name)
            ).scalar()
        return found or 0


def _row(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "tenant_id": event.tenant_id,
        "type": event.type,
        "at": event.at.isoformat(),
        "data": json.dumps(dict(event.data), separators=(",", ":"), sort_keys=True),
        "key": event.key,
    }


def _event(row: Any) -> OutboxEvent:
    try:
        at = datetime.fromisoformat(row.at)
        data = json.loads(row.data)
    except ValueError as exc:
        raise StorageError(f"event {row.id} cannot be read: {exc}", field="outbox_events") from None
    return OutboxEvent(row.type, row.tenant_id, at, data, row.key, int(row.id))
