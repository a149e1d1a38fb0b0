"""The shared mailbox service (MAIL-1..7, smartmail): capacity, spam, message limits, reply lock.

Pure values and rules; the only state is :class:`ReplyLockRegistry`, an in-memory map of reply
locks (MAIL-7) that a service keeps per tenant.

>>> from decimal import Decimal
>>> from crmcore.presets import preset
>>> mail = preset("smartmail").mail
>>> quote = capacity_price(Decimal("2.5"), mail)
>>> quote.tier_gigabytes, str(quote.price)
(Decimal('3'), '1200.00 PLN')
>>> capacity_price(Decimal("13"), mail)  # doctest: +ELLIPSIS
IndividualQuote(requested_gigabytes=Decimal('13'), ..., rule='MAIL-1')
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

import attrs

from crmcore.dates import add_calendar_days, require_aware
from crmcore.errors import (
    MailboxFull,
    MessageRejected,
    ReplyInProgress,
    ValidationError,
    enum_member,
    short_repr,
)
from crmcore.i18n import N_
from crmcore.money import Money
from crmcore.policies import MailPolicy

__all__ = [
    "CapacityQuote",
    "EntryKind",
    "IndividualQuote",
    "MailItem",
    "ReplyLock",
    "ReplyLockRegistry",
    "ThreadEntry",
    "accept_incoming",
    "capacity_bytes",
    "capacity_price",
    "check_message",
    "customer_view",
    "mailbox_usage",
    "spam_due_for_purge",
    "spam_purge_at",
]


# --- MAIL-1: capacity tiers -----------------------------------------------------------------------


@attrs.frozen
class CapacityQuote:
    """The smallest tier that holds the requested size, and its net price per year (MAIL-1)."""

    requested_gigabytes: Decimal
    tier_gigabytes: Decimal
    price: Money
    rule: str = "MAIL-1"


@attrs.frozen
class IndividualQuote:
    """Above the largest tier there is no automatic price: the vendor quotes it (MAIL-1)."""

    requested_gigabytes: Decimal
    largest_tier_gigabytes: Decimal
    rule: str = "MAIL-1"


def capacity_price(
    requested_gigabytes: Decimal | int, policy: MailPolicy
) -> CapacityQuote | IndividualQuote:
    """Price of a mailbox able to hold ``requested_gigabytes`` (MAIL-1).

    Tiers are inclusive: exactly 3 GB costs the 3 GB tier (1200 PLN), 3.01 GB the 6 GB tier.
    """
    # Exact sizes only: a float (1.2 is not 1.2 in binary) is refused, like for money.
    valid_type = isinstance(requested_gigabytes, Decimal | int) and not isinstance(
        requested_gigabytes, bool
    )
    if not valid_type or not requested_gigabytes > 0:
        raise ValidationError(
            f"must be a positive Decimal or int, got {requested_gigabytes!r}",
            field="requested_gigabytes",
            rule="MAIL-1",
        )
    tiers = sorted(policy.capacity_tiers)
    for gigabytes, price in tiers:
        if requested_gigabytes <= gigabytes:
            return CapacityQuote(
                Decimal(requested_gigabytes),
                gigabytes,
                Money.of(price, policy.tier_currency).rounded(),
            )
    return IndividualQuote(Decimal(requested_gigabytes), tiers[-1][0])


def _check_gigabytes(value: object, field: str, rule: str) -> None:
    """A capacity is an exact, finite, positive size: a Decimal or an int (not a float, a
    bool or text, which ``*`` would repeat instead of multiply)."""
    valid = isinstance(value, Decimal | int) and not isinstance(value, bool)
    if valid and isinstance(value, Decimal):
        valid = value.is_finite()
    if not valid or not value > 0:  # type: ignore[operator]
        raise ValidationError(
            f"must be a positive Decimal or int, got {short_repr(value)}", field=field, rule=rule
        )


def _check_count(value: object, field: str, rule: str) -> None:
    """A count of bytes or attachments: a whole number >= 0 (not a bool, a float or text)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"must be a whole number >= 0, got {short_repr(value)}", field=field, rule=rule
        )


def capacity_bytes(gigabytes: Decimal | int, policy: MailPolicy) -> int:
    """Bytes in a capacity of ``gigabytes`` (whole bytes, rounded down): 1.2 GB = 1288490188.

    ``gigabytes`` must be a positive Decimal or int (``ValidationError``, MAIL-5)."""
    _check_gigabytes(gigabytes, "capacity_gigabytes", "MAIL-5")
    return int(gigabytes * policy.bytes_per_gigabyte)


# --- MAIL-2: usage and spam -----------------------------------------------------------------------


@attrs.frozen
class MailItem:
    """A stored message: its size, when it arrived and whether it was classified as spam."""

    message_id: str
    size_bytes: int
    received_at: datetime
    spam: bool = False

    def __attrs_post_init__(self) -> None:
        require_aware(self.received_at, "received_at")
        _check_count(self.size_bytes, "size_bytes", "MAIL-2")


def mailbox_usage(items: Iterable[MailItem]) -> int:
    """Bytes counted against capacity: every message except spam (MAIL-2)."""
    return sum(item.size_bytes for item in items if not item.spam)


def spam_purge_at(received_at: datetime, policy: MailPolicy, tz: tzinfo | str) -> datetime:
    """When spam received at ``received_at`` is deleted: 90 calendar days later, same wall clock
    time in the vendor's zone (MAIL-2)."""
    return add_calendar_days(received_at, policy.spam_retention_days, tz)


def spam_due_for_purge(
    items: Iterable[MailItem], now: datetime, policy: MailPolicy, tz: tzinfo | str
) -> tuple[MailItem, ...]:
    """The spam items whose purge instant is at or before ``now`` (MAIL-2)."""
    require_aware(now, "now")
    return tuple(
        item for item in items if item.spam and spam_purge_at(item.received_at, policy, tz) <= now
    )


# --- MAIL-3: message limits -----------------------------------------------------------------------


def check_message(attachment_count: int, size_bytes: int, policy: MailPolicy) -> None:
    """Refuse a message with too many attachments or too large as a whole (MAIL-3).

    There is no per-attachment limit; ``size_bytes`` is the whole message. The error names the
    limit that was broken (the attachment count is checked first).
    """
    _check_count(attachment_count, "attachment_count", "MAIL-3")
    _check_count(size_bytes, "size_bytes", "MAIL-3")
    if attachment_count > policy.max_attachments:
        raise MessageRejected(
            N_("A message may carry at most {limit} attachments; this one has {count}."),
            {"limit": policy.max_attachments, "count": attachment_count},
            field="attachments",
            rule="MAIL-3",
        )
    if size_bytes > policy.max_message_bytes:
        raise MessageRejected(
            N_("A message may not exceed {limit} bytes; this one has {size} bytes."),
            {"limit": policy.max_message_bytes, "size": size_bytes},
            field="size_bytes",
            rule="MAIL-3",
        )


# --- MAIL-5: full mailbox -------------------------------------------------------------------------


def accept_incoming(
    usage_bytes: int, capacity_gigabytes: Decimal | int, message: MailItem, policy: MailPolicy
) -> int:
    """The usage after receiving ``message``; refused when it would exceed capacity (MAIL-5).

    Spam is accepted without counting (MAIL-2). Decision: a mailbox may be filled exactly to
    its capacity; a message that would go past it is refused until capacity is bought.
    ``usage_bytes`` must be a whole number >= 0 and ``capacity_gigabytes`` a positive Decimal
    or int, ``message`` a :class:`MailItem` (``ValidationError`` naming it, MAIL-5).
    """
    _check_count(usage_bytes, "usage_bytes", "MAIL-5")
    _check_gigabytes(capacity_gigabytes, "capacity_gigabytes", "MAIL-5")
    if not isinstance(message, MailItem):
        raise ValidationError(
            f"must be a MailItem, got {short_repr(message)}", field="message", rule="MAIL-5"
        )
    if message.spam:
        return usage_bytes
    capacity = capacity_bytes(capacity_gigabytes, policy)
    after = usage_bytes + message.size_bytes
    if after > capacity:
        raise MailboxFull(
            N_(
                "The mailbox is full: {usage} of {capacity} bytes used, the message needs "
                "{size} more. Buy more capacity to receive mail."
            ),
            {"usage": usage_bytes, "capacity": capacity, "size": message.size_bytes},
            field="capacity",
            rule="MAIL-5",
        )
    return after


# --- MAIL-6: internal notes -----------------------------------------------------------------------


class EntryKind(enum.StrEnum):
    MESSAGE = "message"  # mail exchanged with the customer
    INTERNAL_NOTE = "internal_note"  # employees only (MAIL-6, VIS-6)


def _entry_kind(value: object) -> EntryKind:
    """An :class:`EntryKind` or its text (``"message"``, ``"internal_note"``); anything else is
    refused, so an unknown kind can never be taken for a message (MAIL-6, VIS-6)."""
    return enum_member(value, EntryKind, "kind", "MAIL-6")


@attrs.frozen
class ThreadEntry:
    """One entry of a conversation thread.

    ``kind`` is an :class:`EntryKind` or its text; any other value is refused
    (``ValidationError`` on ``kind``, MAIL-6).
    """

    kind: EntryKind = attrs.field(converter=_entry_kind)
    author: str
    at: datetime
    text: str

    def __attrs_post_init__(self) -> None:
        require_aware(self.at, "at")


def customer_view(entries: Sequence[ThreadEntry]) -> tuple[ThreadEntry, ...]:
    """The entries a customer may see: never an internal note (MAIL-6).

    Fails closed: only entries that are messages are shown (an allow-list, not a deny-list).
    """
    return tuple(entry for entry in entries if entry.kind is EntryKind.MESSAGE)


# --- MAIL-7: reply lock ---------------------------------------------------------------------------


@attrs.frozen
class ReplyLock:
    """``holder`` started replying to ``message_id`` at ``since`` and was last active at
    ``active_at`` (MAIL-7)."""

    message_id: str
    holder: str
    since: datetime
    active_at: datetime

    def __attrs_post_init__(self) -> None:
        require_aware(self.since, "since")
        require_aware(self.active_at, "active_at")

    def expires_at(self, policy: MailPolicy) -> datetime:
        """Decision: a lock idle for ``reply_lock_expiry_minutes`` (default 30) is stale."""
        # in UTC: elapsed minutes, not wall-clock minutes, across a DST change
        active = self.active_at.astimezone(UTC)
        return active + timedelta(minutes=policy.reply_lock_expiry_minutes)

    def is_stale(self, now: datetime, policy: MailPolicy) -> bool:
        return require_aware(now, "now").astimezone(UTC) >= self.expires_at(policy)


class ReplyLockRegistry:
    """In-memory reply locks of one tenant (MAIL-7): one holder per message at a time.

    >>> from datetime import datetime, timezone
    >>> from crmcore.policies import MailPolicy
    >>> locks = ReplyLockRegistry(MailPolicy())
    >>> at = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    >>> locks.start_reply("m1", "anna", at).holder
    'anna'
    >>> locks.current("m1", at + timedelta(minutes=5)).holder  # what "bob" is told on opening
    'anna'
    """

    def __init__(self, policy: MailPolicy):
        self._policy = policy
        self._locks: dict[str, ReplyLock] = {}

    def current(self, message_id: str, now: datetime) -> ReplyLock | None:
        """Who is replying to ``message_id`` now; ``None`` if nobody (stale locks are dropped)."""
        lock = self._locks.get(message_id)
        if lock is not None and lock.is_stale(now, self._policy):
            del self._locks[message_id]
            return None
        return lock

    def replying_instead_of(
        self, message_id: str, employee: str, now: datetime
    ) -> ReplyLock | None:
        """What ``employee`` is told on opening ``message_id``: the lock of another employee
        who is replying (holder and start time), or ``None``."""
        lock = self.current(message_id, now)
        return lock if lock is not None and lock.holder != employee else None

    def start_reply(self, message_id: str, employee: str, now: datetime) -> ReplyLock:
        """Take the lock, or refresh one's own (keeping its ``since``); refused while another
        employee holds a lock that is not stale."""
        lock = self.current(message_id, now)
        if lock is not None and lock.holder != employee:
            raise ReplyInProgress(
                N_("{holder} has been replying to this message since {since}."),
                {"holder": lock.holder, "since": lock.since},
                field="message_id",
                rule="MAIL-7",
            )
        since = now if lock is None else lock.since
        fresh = ReplyLock(message_id, employee, since, now)
        self._locks[message_id] = fresh
        return fresh

    def finish_reply(self, message_id: str, employee: str) -> None:
        """Release the lock after sending or abandoning the reply (only its holder may)."""
        lock = self._locks.get(message_id)
        if lock is not None and lock.holder == employee:
            del self._locks[message_id]

    def expire_stale(self, now: datetime) -> tuple[ReplyLock, ...]:
        """Drop every stale lock and return them."""
        stale = tuple(lock for lock in self._locks.values() if lock.is_stale(now, self._policy))
        for lock in stale:
            del self._locks[lock.message_id]
        return stale
