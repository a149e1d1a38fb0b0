"""MAIL-1..7: smartmail's mailbox rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import (
    MailboxFull,
    MessageRejected,
    NaiveDatetimeError,
    ReplyInProgress,
    ValidationError,
)
from crmcore.mailbox import (
    CapacityQuote,
    EntryKind,
    IndividualQuote,
    MailItem,
    ReplyLockRegistry,
    ThreadEntry,
    accept_incoming,
    capacity_bytes,
    capacity_price,
    check_message,
    customer_view,
    mailbox_usage,
    spam_due_for_purge,
    spam_purge_at,
)
from crmcore.money import Money
from crmcore.presets import preset
from crmcore.testing.services import elapsed, mail_items

MAIL = preset("smartmail").mail
WARSAW = "Europe/Warsaw"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("requested", "tier", "price"),
    [
        ("0.5", "1.2", "600.00"),
        ("1.2", "1.2", "600.00"),
        ("1.21", "3", "1200.00"),
        ("3", "3", "1200.00"),
        ("6", "6", "2400.00"),
        ("6.001", "12", "3500.00"),
        ("12", "12", "3500.00"),
    ],
)
def test_mail_1_tier_price_for_requested_size(requested: str, tier: str, price: str) -> None:
    """MAIL-1: the smallest tier holding the size; tiers are inclusive."""
    quote = capacity_price(Decimal(requested), MAIL)
    assert quote == CapacityQuote(Decimal(requested), Decimal(tier), Money.of(price, "PLN"))


def test_mail_1_above_12_gb_is_an_individual_quote() -> None:
    """MAIL-1: above 12 GB there is no automatic price."""
    quote = capacity_price(Decimal("12.01"), MAIL)
    assert quote == IndividualQuote(Decimal("12.01"), Decimal("12"), "MAIL-1")


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("12"), places=3))
def test_mail_1_quote_holds_the_request_and_is_the_smallest(requested: Decimal) -> None:
    """MAIL-1 property: the chosen tier fits and no cheaper tier fits."""
    quote = capacity_price(requested, MAIL)
    assert isinstance(quote, CapacityQuote)
    assert quote.tier_gigabytes >= requested
    assert all(
        size < requested for size, price in MAIL.capacity_tiers if price < quote.price.amount
    )


def test_mail_1_refuses_non_positive_size() -> None:
    with pytest.raises(ValueError, match=r"requested_gigabytes.*MAIL-1"):
        capacity_price(Decimal(0), MAIL)


def test_mail_2_spam_does_not_count_toward_usage() -> None:
    """MAIL-2: usage counts only non-spam."""
    items = [
        MailItem("a", 1000, T0),
        MailItem("b", 500, T0, spam=True),
        MailItem("c", 250, T0),
    ]
    assert mailbox_usage(items) == 1000 + 250


def test_mail_2_spam_purged_90_days_after_receipt_across_dst() -> None:
    """MAIL-2: 90 calendar days, same wall clock in Warsaw (clocks go forward on 29 Mar)."""
    received = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 11:00 CET
    purge = spam_purge_at(received, MAIL, WARSAW)
    # 2 Mar + 90 days = 31 May (29 days left in March + 30 April + 31 May = 90); 11:00 CEST
    assert purge == datetime(2026, 5, 31, 9, 0, tzinfo=UTC)
    spam = MailItem("s", 10, received, spam=True)
    ham = MailItem("h", 10, received)
    assert spam_due_for_purge([spam, ham], purge - timedelta(seconds=1), MAIL, WARSAW) == ()
    assert spam_due_for_purge([spam, ham], purge, MAIL, WARSAW) == (spam,)


def test_mail_3_at_most_three_attachments() -> None:
    """MAIL-3: 3 attachments pass, 4 are refused naming the limit 3."""
    check_message(3, 1000, MAIL)
    with pytest.raises(MessageRejected, match=r"attachments: .*at most 3 .* has 4.*\(MAIL-3\)"):
        check_message(4, 1000, MAIL)


def test_mail_3_whole_message_at_most_20_mib() -> None:
    """MAIL-3 decision: 20 × 1024 × 1024 = 20971520 bytes is the last size allowed."""
    limit = 20 * 1024 * 1024
    check_message(0, limit, MAIL)
    with pytest.raises(
        MessageRejected, match=r"size_bytes: .*20971520 bytes.*20971521.*MAIL-3"
    ) as e:
        check_message(1, limit + 1, MAIL)
    assert e.value.params == {"limit": 20971520, "size": 20971521}


def test_mail_5_full_mailbox_refuses_new_mail() -> None:
    """MAIL-5: filling exactly to capacity is fine; one byte more is refused; spam passes."""
    capacity = capacity_bytes(Decimal("1.2"), MAIL)
    assert capacity == 1288490188  # 1.2 × 1073741824 = 1288490188.8, rounded down
    assert accept_incoming(capacity - 100, Decimal("1.2"), MailItem("m", 100, T0), MAIL) == capacity
    with pytest.raises(MailboxFull, match=r"capacity: .*1288490188.*MAIL-5"):
        accept_incoming(capacity - 100, Decimal("1.2"), MailItem("m", 101, T0), MAIL)
    spam = MailItem("s", 10**9, T0, spam=True)
    assert accept_incoming(capacity, Decimal("1.2"), spam, MAIL) == capacity


def test_mail_6_internal_notes_never_reach_the_customer() -> None:
    """MAIL-6 / VIS-6: the customer's view drops internal notes."""
    thread = [
        ThreadEntry(EntryKind.MESSAGE, "customer@example.com", T0, "Where is my order?"),
        ThreadEntry(EntryKind.INTERNAL_NOTE, "anna", T0, "Customer owes us money"),
        ThreadEntry(EntryKind.MESSAGE, "anna", T0, "It ships today."),
    ]
    shown = customer_view(thread)
    assert [entry.text for entry in shown] == ["Where is my order?", "It ships today."]


@pytest.mark.parametrize(
    ("usage", "capacity", "field"),
    [
        (0, "1.2", "capacity_gigabytes"),  # not "1.2" * 2**30: a 3-GB string
        (0, 1.2, "capacity_gigabytes"),
        (0, Decimal("NaN"), "capacity_gigabytes"),
        (0, Decimal("Infinity"), "capacity_gigabytes"),
        (0, Decimal("0"), "capacity_gigabytes"),
        (0, True, "capacity_gigabytes"),
        (-(10**12), Decimal("1.2"), "usage_bytes"),  # a negative usage empties a full mailbox
        ("0", Decimal("1.2"), "usage_bytes"),
        (1.5, Decimal("1.2"), "usage_bytes"),
        (False, Decimal("1.2"), "usage_bytes"),
    ],
)
def test_MAIL_5_capacity_and_usage_of_the_wrong_kind_are_refused(
    usage: object, capacity: object, field: str
) -> None:
    """MAIL-5: a capacity that is not a positive Decimal or int and a usage that is not a whole
    number >= 0 are ValidationErrors naming the argument, spam or not."""
    for spam in (False, True):
        item = MailItem("m", 10**9, T0, spam=spam)
        with pytest.raises(ValidationError) as caught:
            accept_incoming(usage, capacity, item, MAIL)  # type: ignore[arg-type]
        assert caught.value.field == field and caught.value.rule == "MAIL-5"


@pytest.mark.parametrize("size", [True, "700", 1.5, -1, None])
def test_MAIL_2_MAIL_3_message_sizes_of_the_wrong_kind_are_refused(size: object) -> None:
    """MAIL-2 / MAIL-3: a size or count that is not a whole number >= 0 is a ValidationError."""
    with pytest.raises(ValidationError, match=r"size_bytes: .*MAIL-2"):
        MailItem("m", size, T0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"size_bytes: .*MAIL-3"):
        check_message(0, size, MAIL)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"attachment_count: .*MAIL-3"):
        check_message(size, 0, MAIL)  # type: ignore[arg-type]


def test_MAIL_6_VIS_6_internal_note_given_as_text_never_reaches_customer_view() -> None:
    """MAIL-6 / VIS-6: a kind given as its text is read as the enum; the note stays hidden."""
    note = ThreadEntry("internal_note", "anna", T0, "the customer is difficult")
    assert note.kind is EntryKind.INTERNAL_NOTE
    assert customer_view([note]) == ()
    message = ThreadEntry("message", "anna", T0, "It ships today.")
    assert customer_view([message, note]) == (message,)


@pytest.mark.parametrize("kind", ["private", "INTERNAL_NOTE", "", None, 1, True])
def test_MAIL_6_VIS_6_unknown_entry_kind_is_refused(kind: object) -> None:
    """MAIL-6 / VIS-6: an unknown kind is refused, never taken for a message."""
    with pytest.raises(ValidationError) as caught:
        ThreadEntry(kind, "anna", T0, "the customer is difficult")  # type: ignore[arg-type]
    assert caught.value.field == "kind" and caught.value.rule == "MAIL-6"


@given(st.lists(st.sampled_from(list(EntryKind)), max_size=20))
def test_mail_6_property_no_note_survives(kinds: list[EntryKind]) -> None:
    """MAIL-6 property: whatever the thread, the view has every message and no note."""
    thread = [ThreadEntry(kind, "x", T0, str(i)) for i, kind in enumerate(kinds)]
    shown = customer_view(thread)
    assert all(entry.kind is EntryKind.MESSAGE for entry in shown)
    assert len(shown) == kinds.count(EntryKind.MESSAGE)


def test_mail_7_second_employee_is_told_who_replies_since_when() -> None:
    """MAIL-7: bob cannot start a reply while anna holds the lock; he learns who and since."""
    locks = ReplyLockRegistry(MAIL)
    locks.start_reply("m1", "anna", T0)
    with pytest.raises(
        ReplyInProgress, match=r"anna has been replying .* since 2026-03-02 09:00"
    ) as e:
        locks.start_reply("m1", "bob", T0 + timedelta(minutes=10))
    assert e.value.rule == "MAIL-7"
    assert e.value.params == {"holder": "anna", "since": T0}
    lock = locks.replying_instead_of("m1", "bob", T0 + timedelta(minutes=10))
    assert lock is not None
    assert (lock.holder, lock.since) == ("anna", T0)
    assert locks.replying_instead_of("m1", "anna", T0 + timedelta(minutes=10)) is None


def test_mail_7_refresh_keeps_since_and_stale_locks_expire() -> None:
    """MAIL-7 decision: a lock idle 30 minutes is stale; refreshing keeps the start time."""
    locks = ReplyLockRegistry(MAIL)
    locks.start_reply("m1", "anna", T0)
    refreshed = locks.start_reply("m1", "anna", T0 + timedelta(minutes=20))
    assert refreshed.since == T0
    assert refreshed.expires_at(MAIL) == T0 + timedelta(minutes=20 + 30)
    # still held 49 minutes after the start, free at 50
    with pytest.raises(ReplyInProgress):
        locks.start_reply("m1", "bob", T0 + timedelta(minutes=49))
    taken = locks.start_reply("m1", "bob", T0 + timedelta(minutes=50))
    assert (taken.holder, taken.since) == ("bob", T0 + timedelta(minutes=50))


def test_mail_7_finish_releases_and_expire_stale_sweeps() -> None:
    locks = ReplyLockRegistry(MAIL)
    locks.start_reply("m1", "anna", T0)
    locks.start_reply("m2", "bob", T0 + timedelta(minutes=25))
    locks.finish_reply("m1", "bob")  # not the holder: no effect
    assert locks.current("m1", T0) is not None
    stale = locks.expire_stale(T0 + timedelta(minutes=30))
    assert [lock.message_id for lock in stale] == ["m1"]
    locks.finish_reply("m2", "bob")
    assert locks.current("m2", T0 + timedelta(minutes=26)) is None


def test_mail_7_naive_times_refused() -> None:
    """TIME-1 for reply locks."""
    with pytest.raises(NaiveDatetimeError):
        ReplyLockRegistry(MAIL).start_reply("m1", "anna", datetime(2026, 3, 2, 9, 0))


@given(st.lists(mail_items(), max_size=10))
def test_mail_2_property_usage_is_the_non_spam_sum(items: list[MailItem]) -> None:
    """MAIL-2 property: usage never depends on spam."""
    assert mailbox_usage(items) == sum(i.size_bytes for i in items if not i.spam)
    assert mailbox_usage([i for i in items if not i.spam]) == mailbox_usage(items)


@given(mail_items())
def test_mail_2_property_spam_purged_90_calendar_days_later(item: MailItem) -> None:
    """MAIL-2 property: purge day is 90 days later in vendor time, same wall clock when it
    exists (a time skipped by DST moves forward)."""
    from zoneinfo import ZoneInfo

    warsaw = ZoneInfo("Europe/Warsaw")
    purge = spam_purge_at(item.received_at, MAIL, "Europe/Warsaw").astimezone(warsaw)
    local = item.received_at.astimezone(warsaw)
    assert purge.date() == local.date() + timedelta(days=90)
    assert abs(elapsed(item.received_at, purge) - timedelta(days=90)) <= timedelta(hours=1)


def test_mail_1_int_accepted_float_refused() -> None:
    """MAIL-1: exact sizes only."""
    assert capacity_price(6, MAIL) == CapacityQuote(Decimal(6), Decimal(6), Money.of("2400", "PLN"))
    with pytest.raises(ValueError, match=r"requested_gigabytes: .*1\.2.*MAIL-1"):
        capacity_price(1.2, MAIL)  # type: ignore[arg-type]


def test_mail_policy_parameters_validated() -> None:
    """MAIL-1 / MAIL-3 / MAIL-7 parameters refuse nonsense by name."""
    import attrs

    from crmcore.errors import ValidationError

    with pytest.raises(ValidationError, match=r"capacity_tiers: .*MAIL-1"):
        attrs.evolve(MAIL, capacity_tiers=())
    with pytest.raises(ValidationError, match=r"max_attachments: must be >= 0"):
        attrs.evolve(MAIL, max_attachments=-1)
    with pytest.raises(ValidationError, match=r"reply_lock_expiry_minutes: must be > 0"):
        attrs.evolve(MAIL, reply_lock_expiry_minutes=0)
