"""The storage contract of events out (issue 15, :class:`crmcore.ports.OutboxRepository`):
monotonic ids in commit order, dedupe keys, acknowledgements per consumer.
:class:`crmcore.testing.storage.StorageContract` inherits these tests.

The outbox is shared by every tenant, so each test reads only its own tenants' events.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmcore.errors import ValidationError
from crmcore.outbox import OutboxEvent
from crmcore.ports import UnitOfWork

__all__ = ["OutboxContract"]

_AT = datetime(2026, 3, 1, 0, 0, tzinfo=ZoneInfo("Europe/Prague"))


def _unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class OutboxContract:
    """Abstract; :meth:`unit_of_work` is provided by the storage contract's subclass."""

    __test__ = False

    def unit_of_work(self) -> UnitOfWork:
        raise NotImplementedError

    def _append(self, *events: OutboxEvent) -> list[OutboxEvent]:
        with self.unit_of_work() as uow:
            stored = uow.outbox.append(list(events))
            uow.commit()
        return stored

    def _mine(self, *tenants: str, after: int = 0) -> list[OutboxEvent]:
        with self.unit_of_work() as uow:
            return [e for e in uow.outbox.read(after=after) if e.tenant_id in tenants]

    def test_outbox_events_round_trip_in_id_order(self) -> None:
        """Events come back as stored (type, tenant, the instant with its offset, the JSON
        data, the key), with ids that grow in the order they were appended."""
        tenant = _unique()
        data = {"number": "acme/2026/0001", "gross": "1230.00", "lines": [1, 2], "paid": None}
        first = OutboxEvent("invoice_issued", tenant, _AT, data, key="invoice_issued:2026-03")
        second = OutboxEvent("blocked", tenant, _AT + timedelta(days=3), {"rule": "PAY-2"})
        stored = self._append(first, second)
        assert [e.id for e in stored] == sorted(e.id for e in stored)
        assert stored[0].id < stored[1].id
        found = self._mine(tenant)
        assert found == stored
        assert found[0].at.utcoffset() == timedelta(hours=1)
        assert found[0].data == data
        assert found[0].to_json()["tenant"] == tenant

    def test_outbox_a_stored_key_is_not_stored_again(self) -> None:
        """A re-run deriving the same change stores nothing (its key is the tenant's already);
        the same key of another tenant and events without a key are stored."""
        tenant, other = _unique(), _unique()
        event = OutboxEvent("trial_expired", tenant, _AT, {}, key="trial_expired:2026-03-01:1")
        assert len(self._append(event)) == 1
        again = self._append(event, OutboxEvent("command_refused", tenant, _AT, {}))
        assert [e.type for e in again] == ["command_refused"]
        assert len(self._append(OutboxEvent(event.type, other, _AT, {}, event.key))) == 1
        assert [e.type for e in self._mine(tenant)] == ["trial_expired", "command_refused"]

    def test_outbox_a_rolled_back_append_leaves_nothing(self) -> None:
        """Written in the transaction of the change it reports: rolled back, no event."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            uow.outbox.append([OutboxEvent("blocked", tenant, _AT, {}, key="k")])
        assert self._mine(tenant) == []
        stored = self._append(OutboxEvent("blocked", tenant, _AT, {}, key="k"))
        assert len(stored) == 1

    def test_outbox_refuses_what_cannot_be_stored_alike(self) -> None:
        """A naive instant, a bad type, non-JSON data, a key twice: ValidationError naming
        the event, nothing stored."""
        tenant = _unique()
        bad = [
            OutboxEvent("blocked", tenant, datetime(2026, 3, 1), {}),
            OutboxEvent("Blocked!", tenant, _AT, {}),
            OutboxEvent("blocked", tenant, _AT, {"x": {1, 2}}),
        ]
        for event in bad:
            with self.unit_of_work() as uow, pytest.raises(ValidationError) as error:
                uow.outbox.append([OutboxEvent("ok", tenant, _AT, {}), event])
            assert str(error.value.field).startswith("events[1]")
        twice = OutboxEvent("blocked", tenant, _AT, {}, key="same")
        with self.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.outbox.append([twice, twice])
        assert self._mine(tenant) == []

    def test_outbox_acknowledge_moves_a_consumers_position_forward_only(self) -> None:
        """Per consumer: the position is the highest id acknowledged; an older
        acknowledgement changes nothing; an id not stored yet is refused."""
        tenant, consumer = _unique(), _unique("webhooks")
        stored = self._append(*(OutboxEvent("blocked", tenant, _AT, {}) for _ in range(3)))
        with self.unit_of_work() as uow:
            assert uow.outbox.position(consumer) == 0
            uow.outbox.acknowledge(consumer, stored[1].id)
            uow.outbox.acknowledge(consumer, stored[0].id)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.outbox.position(consumer) == stored[1].id
            assert uow.outbox.position(_unique("other")) == 0
            pending = [e for e in uow.outbox.read(uow.outbox.position(consumer))]
            assert stored[2] in pending and stored[1] not in pending
            with pytest.raises(ValidationError):
                uow.outbox.acknowledge(consumer, uow.outbox.last_id() + 1)
            with pytest.raises(ValidationError):
                uow.outbox.acknowledge("", 0)

    def test_outbox_concurrent_writers_a_reader_never_skips_an_id(self) -> None:
        """Writers in parallel transactions and a reader polling ``read(after=last seen)``
        meanwhile: the reader ends with every event exactly once, ids strictly increasing in
        read order (an id handed out before another commits after it, never)."""
        tenants = [_unique("w") for _ in range(4)]
        per_writer = 6
        done = threading.Event()
        errors: list[BaseException] = []

        def write(tenant: str) -> None:
            try:
                for n in range(per_writer):
                    self._append(OutboxEvent("blocked", tenant, _AT, {"n": n}, key=f"n{n}"))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        with self.unit_of_work() as uow:
            start = uow.outbox.last_id()
        seen: list[OutboxEvent] = []

        def read() -> None:
            last = start
            while True:
                finished = done.is_set()
                with self.unit_of_work() as uow:
                    batch = uow.outbox.read(after=last)
                if batch:
                    last = batch[-1].id
                    seen.extend(batch)
                if finished:
                    return

        threads = [threading.Thread(target=write, args=(tenant,)) for tenant in tenants]
        reader = threading.Thread(target=read)
        reader.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        reader.join()
        assert errors == []
        mine = [e for e in seen if e.tenant_id in tenants]
        ids = [e.id for e in seen]
        assert ids == sorted(set(ids))
        assert len(mine) == len(tenants) * per_writer
        assert sorted((e.tenant_id, e.key) for e in mine) == sorted(
            (t, f"n{n}") for t in tenants for n in range(per_writer)
        )
        assert all(e.at.tzinfo is not None and e.at.astimezone(UTC) for e in mine)
