"""Payment delay (PAY-1..6): statuses, transitions and their properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.dates import zone
from crmcore.dunning.allocation import unpaid_amounts
from crmcore.dunning.status import (
    DunningStatus,
    Reinstatement,
    dunning_log,
    next_transition,
    status_at,
    status_on,
)
from crmcore.errors import DunningError, ValidationError
from crmcore.invoices import Invoice, InvoiceLine, LineKind, Payment
from crmcore.money import Money
from crmcore.presets import preset
from crmcore.testing import dunning as testing_dunning

RAYNET = preset("raynet")
PRAGUE = zone("Europe/Prague")
ACTIVE, BLOCKED = DunningStatus.ACTIVE, DunningStatus.BLOCKED
CANCELLED, PURGED = DunningStatus.CANCELLED, DunningStatus.PURGED
D0 = date(2026, 3, 15)  # due date of the first invoice


def invoice(number: str, issued: date, net: str = "1000.00", due_days: int = 14) -> Invoice:
    line = InvoiceLine(LineKind.SUBSCRIPTION, "BILL-2", Money.of(net, "CZK"))
    return Invoice(
        "acme",
        number,
        "2026",
        issued,
        issued + timedelta(days=due_days),
        "CZK",
        Decimal("0.21"),
        [line],
    )


def paid(day: date, amount: str, hour: int = 12) -> Payment:
    return Payment("acme", datetime.combine(day, time(hour), PRAGUE), Money.of(amount, "CZK"))


FIRST = invoice("2026/0001", D0 - timedelta(days=14))  # gross 1000.00 × 1.21 = 1210.00


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def test_pay2_blocked_on_day_4_not_day_3() -> None:
    """PAY-2: 'more than 3 days': still active on D0+3, blocked from 00:00 on D0+4."""
    assert status_on([FIRST], [], RAYNET, day(3)).status is ACTIVE
    state = status_on([FIRST], [], RAYNET, day(4))
    assert state.status is BLOCKED
    assert state.days_overdue == 4
    assert state.overdue == Money.of("1210.00", "CZK")  # 1000.00 + 21 % VAT
    (transition,) = dunning_log([FIRST], [], RAYNET, day(4))
    assert transition.at == datetime.combine(day(4), time(0), PRAGUE)
    assert (transition.previous, transition.status, transition.rule) == (ACTIVE, BLOCKED, "PAY-2")


def test_pay2_full_payment_unblocks_at_the_instant_of_payment() -> None:
    """PAY-2: paying everything overdue unblocks at once (from the payment's instant)."""
    payment = paid(day(10), "1210.00", hour=15)
    before = datetime.combine(day(10), time(14, 59), PRAGUE)
    after = datetime.combine(day(10), time(15, 0), PRAGUE)
    assert status_at([FIRST], [payment], RAYNET, before) is BLOCKED
    assert status_at([FIRST], [payment], RAYNET, after) is ACTIVE
    assert status_on([FIRST], [payment], RAYNET, day(10)).status is ACTIVE
    assert [t.status for t in dunning_log([FIRST], [payment], RAYNET, day(100))] == [
        BLOCKED,
        ACTIVE,
    ]


def test_pay6_partial_payment_does_not_unblock() -> None:
    """PAY-6: 1209.99 of 1210.00 leaves the invoice unpaid: still blocked."""
    state = status_on([FIRST], [paid(day(10), "1209.99")], RAYNET, day(10))
    assert state.status is BLOCKED
    assert state.overdue == Money.of("0.01", "CZK")


def test_pay6_paying_the_oldest_but_not_a_younger_overdue_invoice_keeps_the_block() -> None:
    """PAY-2/PAY-6: unblocking needs *everything* overdue paid, not just the oldest invoice."""
    second = invoice("2026/0002", D0 - timedelta(days=12))  # due D0+2
    payments = [paid(day(5), "1210.00")]  # pays the oldest only
    state = status_on([FIRST, second], payments, RAYNET, day(5))
    assert state.status is BLOCKED
    assert state.oldest_unpaid == "2026/0002"
    assert state.days_overdue == 3  # from the second invoice's due date D0+2
    payments.append(paid(day(6), "1210.00"))
    assert status_on([FIRST, second], payments, RAYNET, day(6)).status is ACTIVE


def test_pay1_payments_are_applied_oldest_first() -> None:
    """PAY-1: a payment covers the oldest invoice (issued first) first."""
    newer = invoice("2026/0002", D0)
    unpaid = unpaid_amounts([newer, FIRST], [paid(D0, "1500.00")], "CZK")
    assert unpaid == {
        "2026/0001": Money.of("0.00", "CZK"),
        "2026/0002": Money.of("920.00", "CZK"),  # 1210.00 − (1500.00 − 1210.00)
    }


def test_pay1_days_counted_in_vendor_timezone() -> None:
    """PAY-1/TIME-2: 23:30 UTC on D0+3 is already 00:30 on D0+4 in Prague (UTC+1)."""
    utc_evening = datetime.combine(day(3), time(23, 30), zone("UTC"))
    assert status_at([FIRST], [], RAYNET, utc_evening) is BLOCKED
    assert status_on([FIRST], [], RAYNET, day(3)).status is ACTIVE


def test_pay3_cancelled_on_day_61_and_a_late_payment_does_not_restore() -> None:
    """PAY-3: cancelled on D0+61 (more than 60 days); paying afterwards changes nothing."""
    assert status_on([FIRST], [], RAYNET, day(60)).status is BLOCKED
    state = status_on([FIRST], [], RAYNET, day(61))
    assert state.status is CANCELLED
    assert state.contract_ended_on == day(61)
    late = [paid(day(70), "1210.00")]
    assert status_on([FIRST], late, RAYNET, day(100)).status is CANCELLED


def test_pay4_purged_on_day_151_and_final() -> None:
    """PAY-4: purged on D0+151, also when the debt was paid after the cancellation."""
    assert status_on([FIRST], [], RAYNET, day(150)).status is CANCELLED
    assert status_on([FIRST], [], RAYNET, day(151)).status is PURGED
    late = [paid(day(70), "1210.00")]
    state = status_on([FIRST], late, RAYNET, day(151))
    assert (state.status, state.purged_on) == (PURGED, day(151))
    with pytest.raises(DunningError, match="PAY-4"):
        status_on([FIRST], [], RAYNET, day(200), [Reinstatement("acme", _noon(day(160)))])


def _noon(d: date) -> datetime:
    return datetime.combine(d, time(12), PRAGUE)


def test_pay3_reinstatement_restores_a_cancelled_instance() -> None:
    """PAY-3: only a recorded vendor decision brings a cancelled instance back."""
    payments = [paid(day(65), "1210.00")]
    back = [Reinstatement("acme", _noon(day(66)), reference="decision 12/2026")]
    assert status_on([FIRST], payments, RAYNET, day(65)).status is CANCELLED
    state = status_on([FIRST], payments, RAYNET, day(66), back)
    assert (state.status, state.contract_ended_on) == (ACTIVE, None)
    log = dunning_log([FIRST], payments, RAYNET, day(300), back)
    assert [(t.status, t.rule) for t in log] == [
        (BLOCKED, "PAY-2"),
        (CANCELLED, "PAY-3"),
        (ACTIVE, "PAY-3"),
    ]


def test_pay3_reinstatement_of_an_unpaid_tenant_is_a_fresh_start() -> None:
    """Decision: unpaid invoices count as due on the reinstatement day (blocked 4 days later)."""
    back = [Reinstatement("acme", _noon(day(66)))]
    assert status_on([FIRST], [], RAYNET, day(69), back).status is ACTIVE
    assert status_on([FIRST], [], RAYNET, day(70), back).status is BLOCKED  # 66 + 4


def test_pay3_reinstating_a_tenant_that_is_not_cancelled_is_refused() -> None:
    with pytest.raises(DunningError, match="PAY-3"):
        status_on([FIRST], [], RAYNET, day(10), [Reinstatement("acme", _noon(day(10)))])


def test_next_transition_if_nothing_is_paid() -> None:
    """PAY-2..4: next transition from each state, for reminder scheduling."""
    upcoming = next_transition([FIRST], [], RAYNET, day(0))
    assert upcoming is not None and (upcoming.on, upcoming.status) == (day(4), BLOCKED)
    upcoming = next_transition([FIRST], [], RAYNET, day(4))
    assert upcoming is not None and (upcoming.on, upcoming.status) == (day(61), CANCELLED)
    upcoming = next_transition([FIRST], [], RAYNET, day(61))
    assert upcoming is not None and (upcoming.on, upcoming.status) == (day(151), PURGED)
    assert next_transition([FIRST], [], RAYNET, day(151)) is None
    assert next_transition([FIRST], [paid(day(1), "1210.00")], RAYNET, day(1)) is None


def test_next_transition_ignores_payments_after_the_day() -> None:
    upcoming = next_transition([FIRST], [paid(day(3), "1210.00")], RAYNET, day(2))
    assert upcoming is not None and upcoming.on == day(4)


def test_pay6_thresholds_are_parameters() -> None:
    """PAY-6: block after more than 5 days with an override."""
    policy = RAYNET.with_overrides({"dunning": {"block_after_days": 5}})
    assert status_on([FIRST], [], policy, day(5)).status is ACTIVE
    assert status_on([FIRST], [], policy, day(6)).status is BLOCKED


def test_invoice_in_another_currency_is_refused() -> None:
    other = Invoice(
        "acme",
        "X",
        "2026",
        D0,
        D0,
        "EUR",
        Decimal("0.21"),
        [InvoiceLine(LineKind.SUBSCRIPTION, "BILL-2", Money.of("1.00", "EUR"))],
    )
    with pytest.raises(ValidationError, match=r"invoices\[1\]"):
        status_on([FIRST, other], [], RAYNET, day(1))


# --- properties ---------------------------------------------------------------------------------

ALLOWED_MOVES = {
    (ACTIVE, BLOCKED, "PAY-2"),
    (BLOCKED, ACTIVE, "PAY-2"),
    (BLOCKED, CANCELLED, "PAY-3"),
    (CANCELLED, PURGED, "PAY-4"),
    (CANCELLED, ACTIVE, "PAY-3"),
}

invoices_strategy = testing_dunning.issued_invoices(D0 - timedelta(days=14))
payments_strategy = testing_dunning.received_payments(D0, "Europe/Prague")


@given(invoices_strategy, payments_strategy)
def test_pay5_statuses_move_only_forward_except_the_two_ways_back(
    invoices: list[Invoice], payments: list[Payment]
) -> None:
    """PAY-5: every transition is forward, or PAY-2's unblock / PAY-3's reinstatement."""
    log = dunning_log(invoices, payments, RAYNET, D0 + timedelta(days=260))
    for transition in log:
        assert (transition.previous, transition.status, transition.rule) in ALLOWED_MOVES
    assert all(a.at <= b.at for a, b in pairwise(log))


@given(invoices_strategy, payments_strategy, st.integers(0, 120))
def test_pay2_paying_everything_while_blocked_restores_access(
    invoices: list[Invoice], payments: list[Payment], offset: int
) -> None:
    """PAY-2: if blocked on D, paying all that is outstanding on D makes it active on D."""
    on = D0 + timedelta(days=offset)
    state = status_on(invoices, payments, RAYNET, on)
    if state.status is not BLOCKED:
        return
    issued = [i for i in invoices if i.issued <= on]
    before = [p for p in payments if p.at.date() <= on]
    owed = sum((m.amount for m in unpaid_amounts(issued, before, "CZK").values()), Decimal(0))
    settle = Payment("acme", datetime.combine(on, time(23, 59), PRAGUE), Money(owed, "CZK"))
    assert status_on(invoices, [*payments, settle], RAYNET, on).status is ACTIVE


@given(invoices_strategy, payments_strategy, st.integers(1, 100), st.integers(1, 10**6))
def test_pay4_no_payment_after_a_purge_changes_anything(
    invoices: list[Invoice], payments: list[Payment], later: int, cents: int
) -> None:
    """PAY-4: a purge is final."""
    horizon = D0 + timedelta(days=400)
    log = dunning_log(invoices, payments, RAYNET, horizon)
    purges = [t for t in log if t.status is PURGED]
    if not purges:
        return
    extra = paid(purges[0].on + timedelta(days=later), str(Decimal(cents) / 100))
    assert dunning_log(invoices, [*payments, extra], RAYNET, horizon) == log


@given(invoices_strategy, payments_strategy, st.integers(0, 200), payments_strategy)
def test_status_on_d_does_not_depend_on_events_after_d(
    invoices: list[Invoice], payments: list[Payment], offset: int, more: list[Payment]
) -> None:
    """PAY-5: the past is never rewritten by later payments or invoices."""
    on = D0 + timedelta(days=offset)
    before = [p for p in payments if p.at.date() <= on]
    after = [p for p in more if p.at.date() > on]
    later_invoice = invoice("2026/9999", on + timedelta(days=1))
    assert status_on(invoices, before, RAYNET, on) == status_on(
        [*invoices, later_invoice], [*before, *after], RAYNET, on
    )


def test_pay2_payment_at_midnight_of_day_4_prevents_the_block() -> None:
    """A payment at 00:00 sharp on D0+4 arrives before the threshold: never blocked."""
    payment = Payment("acme", datetime.combine(day(4), time(0), PRAGUE), Money.of("1210.00", "CZK"))
    assert dunning_log([FIRST], [payment], RAYNET, day(100)) == ()


def test_payments_without_invoices_in_another_currency_than_the_preset() -> None:
    """A payment before any invoice is a credit, whatever the vendor's default currency."""
    euro = Payment("acme", _noon(D0), Money.of("10.00", "EUR"))
    assert status_on([], [euro], RAYNET, day(1)).status is ACTIVE


# --- the linear replay against the plain one (PAY-1..6) ----------------------------------------


def _plain_log(
    invoices: list[Invoice],
    payments: list[Payment],
    last_day: date,
    reinstatements: list[Reinstatement],
) -> list[tuple[datetime, date, DunningStatus, str, int]]:
    """The PAY rules replayed the plain way, day by day over every day from the first invoice
    (no jumps): each day recomputes what is unpaid from scratch (``unpaid_amounts``)."""
    policy = RAYNET.dunning
    ordered = sorted(invoices, key=lambda i: (i.issued, i.due, i.number))
    status, fresh, anchor = ACTIVE, None, None
    log: list[tuple[datetime, date, DunningStatus, str, int]] = []

    def due(invoice: Invoice) -> date:
        return max(invoice.due, fresh) if fresh is not None else invoice.due

    def evaluate(at: datetime, on: date, received: list[Payment]) -> None:
        nonlocal status, anchor
        if status is PURGED:
            return
        if status is CANCELLED:
            assert anchor is not None
            held = (on - anchor).days
            if held > policy.purge_after_days:
                status = PURGED
                log.append((at, on, PURGED, "PAY-4", held))
            return
        issued = [i for i in ordered if i.issued <= on]
        unpaid = unpaid_amounts(issued, received, "CZK")
        late = [due(i) for i in issued if unpaid[i.number].amount > 0 and due(i) < on]
        days = (on - min(late)).days if late else 0
        if days > policy.cancel_after_days:
            anchor, status = on - timedelta(days=days), CANCELLED
            log.append((at, on, CANCELLED, "PAY-3", days))
            evaluate(at, on, received)
        elif days > policy.block_after_days and status is not BLOCKED:
            status = BLOCKED
            log.append((at, on, BLOCKED, "PAY-2", days))
        elif status is BLOCKED and not late:
            status = ACTIVE
            log.append((at, on, ACTIVE, "PAY-2", days))

    items = sorted([*payments, *reinstatements], key=lambda item: item.at)
    on = min([ordered[0].issued, *(item.at.astimezone(PRAGUE).date() for item in items)])
    received: list[Payment] = []
    while on <= last_day and status is not PURGED:
        midnight = datetime.combine(on, time(0), PRAGUE)
        today = [item for item in items if item.at.astimezone(PRAGUE).date() == on]
        while today and today[0].at <= midnight and isinstance(today[0], Payment):
            received.append(today.pop(0))  # type: ignore[arg-type]
        evaluate(midnight, on, received)
        for item in today:
            if isinstance(item, Payment):
                received.append(item)
            else:
                assert status is CANCELLED  # the strategies only reinstate when allowed
                fresh, anchor, status = on, None, ACTIVE
                log.append((item.at, on, ACTIVE, "PAY-3", 0))
            evaluate(item.at, on, received)
        on += timedelta(days=1)
    return log


@given(
    testing_dunning.issued_invoices(D0 - timedelta(days=14), max_size=8),
    testing_dunning.received_payments(D0, "Europe/Prague", days=300, max_size=6),
    st.lists(st.integers(0, 300), max_size=2),
)
def test_pay1_the_linear_replay_gives_the_plain_day_by_day_log(
    invoices: list[Invoice], payments: list[Payment], reinstated: list[int]
) -> None:
    """PAY-1..6: the replay that jumps between days and keeps the unpaid invoices
    incrementally gives exactly the transitions of a plain replay of every day."""
    last = D0 + timedelta(days=320)
    reinstatements: list[Reinstatement] = []
    for offset in sorted(reinstated):  # keep only the reinstatements PAY-3 allows
        candidate = Reinstatement("acme", _noon(day(offset)))
        try:
            dunning_log(invoices, payments, RAYNET, last, [*reinstatements, candidate])
        except DunningError:
            continue
        reinstatements.append(candidate)
    fast = [
        (t.at, t.on, t.status, t.rule, t.days_overdue)
        for t in dunning_log(invoices, payments, RAYNET, last, reinstatements)
    ]
    assert fast == _plain_log(invoices, payments, last, reinstatements)


def test_pay1_the_replay_is_linear_in_the_number_of_invoices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PAY-1: each invoice's gross amount (its VAT) is computed once, however long the history
    (it was computed again for every day a threshold or invoice fell on: quadratic; 1,200
    monthly invoices to 2126 computed 2,882,400 of them). Invoice totals are now cached on the
    frozen invoice, so this also holds across replays."""
    import crmcore.invoices

    counted = {"vat": 0}
    plain_vat_for = crmcore.invoices.vat_for

    def counting(net: Money, rate: Decimal) -> Money:
        counted["vat"] += 1
        return plain_vat_for(net, rate)

    monthly = []
    for n in range(1200):  # 100 years of monthly invoices, each paid 5 days late
        issued = date(2026 + n // 12, n % 12 + 1, 1)
        monthly.append(invoice(f"{n:05d}", issued, due_days=0))
    payments = [paid(i.issued + timedelta(days=5), "1210.00") for i in monthly]
    monkeypatch.setattr(crmcore.invoices, "vat_for", counting)  # each gross needs its VAT
    log = dunning_log(monthly, payments, RAYNET, date(2126, 12, 31))
    assert len(log) == 2 * 1200  # blocked on day 4 and unblocked on day 5, every month
    assert counted["vat"] == 1200


def test_pay1_status_on_refuses_another_tenants_payment() -> None:
    """PAY-1: payments pool per tenant; another tenant's payment is refused, not counted."""
    theirs = Payment("other", _noon(day(1)), Money.of("1210.00", "CZK"))
    with pytest.raises(ValidationError) as caught:
        status_on([FIRST], [theirs], RAYNET, day(10))
    assert (caught.value.field, caught.value.rule) == ("payments[0].tenant_id", "PAY-1")


def test_time_2_status_on_asks_for_a_day_not_an_instant() -> None:
    """TIME-2: the day of an instant depends on the zone; status_on refuses a datetime."""
    evening = datetime.combine(day(3), time(23, 30), zone("UTC"))
    with pytest.raises(ValidationError) as caught:
        status_on([FIRST], [], RAYNET, evening)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.rule) == ("day", "TIME-2")
    with pytest.raises(ValidationError):
        next_transition([FIRST], [], RAYNET, evening)  # type: ignore[arg-type]


def test_pay2_the_last_days_of_the_calendar_do_not_overflow() -> None:
    """PAY-2..4 near 9999-12-31: the thresholds beyond the calendar never happen (they were an
    OverflowError): blocked on D0+4 = 9999-12-19, never cancelled."""
    last = invoice("9999/0001", date(9999, 12, 1))  # due 9999-12-15
    assert [t.on for t in dunning_log([last], [], RAYNET, date.max)] == [date(9999, 12, 19)]
    state = status_on([last], [], RAYNET, date.max)
    assert (state.status, state.days_overdue) == (BLOCKED, 16)  # 31 − 15
    assert next_transition([last], [], RAYNET, date(9999, 12, 20)) is None


def test_pay_3_reinstating_a_tenant_never_invoiced_is_refused() -> None:
    """PAY-3: only a cancelled instance can be reinstated; with nothing ever invoiced nothing
    was ever cancelled (before the fix, no invoices meant the reinstatement went unchecked)."""
    decision = Reinstatement("acme", datetime(2026, 3, 2, 9, tzinfo=zone("Europe/Prague")))
    with pytest.raises(DunningError) as refused:
        dunning_log([], [], RAYNET, date(2026, 3, 31), [decision])
    assert refused.value.rule == "PAY-3"
    assert dunning_log([], [], RAYNET, date(2026, 3, 1), [decision]) == ()  # not yet replayed
