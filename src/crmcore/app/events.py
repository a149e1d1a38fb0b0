"""Events out as a use case: read the outbox in order, acknowledge per consumer (issue 15).

A consumer (a webhook sender, a mailer, a data-warehouse loader) reads the events after its
position with :func:`pending`, handles them, then :func:`acknowledge`\\ s the last one it
handled. If it stops between handling and acknowledging, the next :func:`pending` gives the
same events again: delivery is at least once, so a consumer makes its handling idempotent
(the event's ``id`` is a natural idempotency key). Ids grow in commit order
(:class:`crmcore.ports.OutboxRepository`), so reading after the position never skips an event
committed later.

>>> from datetime import UTC, datetime
>>> from crmcore.memory import InMemoryStorage
>>> from crmcore.outbox import OutboxEvent
>>> storage = InMemoryStorage()
>>> with storage.unit_of_work() as uow:
...     _ = uow.outbox.append([OutboxEvent("blocked", "t1", datetime(2026, 3, 1, tzinfo=UTC))])
...     uow.commit()
>>> [event.type for event in pending(storage.unit_of_work(), "webhooks")]
['blocked']
>>> acknowledge(storage.unit_of_work(), "webhooks", 1)
>>> pending(storage.unit_of_work(), "webhooks")
[]
"""

from __future__ import annotations

from crmcore.outbox import OutboxEvent
from crmcore.ports import UnitOfWork

__all__ = ["acknowledge", "pending"]


def pending(uow: UnitOfWork, consumer: str, limit: int = 100) -> list[OutboxEvent]:
    """The next events ``consumer`` has not acknowledged, oldest first (at most ``limit``)."""
    with uow:
        return uow.outbox.read(after=uow.outbox.position(consumer), limit=limit)


def acknowledge(uow: UnitOfWork, consumer: str, up_to: int) -> None:
    """``consumer`` handled every event up to id ``up_to`` (its position never moves back)."""
    with uow:
        uow.outbox.acknowledge(consumer, up_to)
        uow.commit()
