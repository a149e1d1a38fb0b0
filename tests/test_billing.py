"""Billing engine: properties on random histories and named calendar edge cases (BILL, PRO)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs
from hypothesis import given
from hypothesis import strategies as st

from crmcore.billing.engine import InvoiceDraft, invoices_due
from crmcore.billing.numbering import InMemoryInvoiceNumbering, issue
from crmcore.catalog import Cycle
from crmcore.dunning.allocation import apply_payments
from crmcore.events import Activated, Event, PaymentMethod, PlanChanged, SeatsAdded, TenantCreated
from crmcore.invoices import LineKind, Payment
from crmcore.money import Money
from crmcore.presets import preset
from crmcore.testing.billing import PRAGUE, TWO_PLAN_TERMS, TWO_PLANS, tenant_histories

RAYNET = preset("raynet")
UP_TO = date(2030, 6, 30)


def due(history: list[Event], up_to: date = UP_TO, **kwargs: object) -> list[InvoiceDraft]:
    return invoices_due(history, TWO_PLANS, RAYNET, TWO_PLAN_TERMS, up_to, **kwargs)  # type: ignore[arg-type]


def at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=PRAGUE)


# --- properties --------------------------------------------------------------------------------


@given(tenant_histories())
def test_invoice_net_is_the_sum_of_its_lines_and_no_line_is_negative_bill_7(
    history: list[Event],
) -> None:
    for draft in due(history):
        invoice = issue([draft], InMemoryInvoiceNumbering(), tenant_id="t", policy=RAYNET)[0]
        assert invoice.net.amount == sum((line.net.amount for line in draft.lines), Decimal(0))
        assert all(not line.net.is_negative() for line in draft.lines)
        assert invoice.vat == Money.of(
            Money.of("1", "CZK").prorate(Fraction(invoice.net.amount) * Fraction("0.21")).amount,
            "CZK",
        )


@given(tenant_histories())
def test_a_period_never_costs_more_than_max_seats_on_the_max_plan_bill_2_pro_7(
    history: list[Event],
) -> None:
    """Charges for days of one period ≤ max seats ever × top price for the whole period."""
    activation = history[1]
    assert isinstance(activation, Activated)
    seats = activation.seats + sum(e.count for e in history if isinstance(e, SeatsAdded))
    top = TWO_PLANS.top.price(activation.cycle, "CZK")
    per_period: dict[date, Decimal] = {}  # every line of a period ends on its last day
    for draft in due(history):
        for line in draft.lines:
            if line.kind is LineKind.TRANSFER_FEE:
                continue
            assert line.last_day is not None
            per_period[line.last_day] = per_period.get(line.last_day, Decimal(0)) + line.net.amount
    for total in per_period.values():
        assert total <= (top * seats).amount


@given(tenant_histories(), st.integers(1, 3), st.data())
def test_splitting_a_seat_purchase_on_one_day_charges_the_same_pro_2_pro_3(
    history: list[Event], extra: int, data: st.DataObject
) -> None:
    """Same instant: identical invoices. Same day, two instants: identical for monthly (one
    merged PRO-2 line); for annual (one immediate invoice per instant, PRO-3) the same total
    to the minor unit per line."""
    last = history[-1]
    day = (last.at + timedelta(days=data.draw(st.integers(1, 60)))).astimezone(PRAGUE).date()
    whole = [*history, SeatsAdded(at(day, 10), extra + 1)]
    same_instant = [*history, SeatsAdded(at(day, 10), extra), SeatsAdded(at(day, 10), 1)]
    later = [*history, SeatsAdded(at(day, 10), extra), SeatsAdded(at(day, 15), 1)]
    assert due(whole) == due(same_instant)

    def charged(drafts: list[InvoiceDraft]) -> tuple[Decimal, int]:
        lines = [x for d in drafts for x in d.lines if x.kind is not LineKind.TRANSFER_FEE]
        return sum((x.net.amount for x in lines), Decimal(0)), len(lines)

    total, _ = charged(due(whole))
    split_total, line_count = charged(due(later))
    assert abs(total - split_total) <= Decimal("0.01") * line_count
    activation = history[1]
    if isinstance(activation, Activated) and activation.cycle is Cycle.MONTHLY:
        assert due(whole) == due(later)


@given(tenant_histories(), st.dates(date(2026, 1, 1), date(2030, 1, 1)))
def test_billing_is_idempotent_bill_6(history: list[Event], first_run: date) -> None:
    """Asking again never yields a second copy; earlier keys plus new keys = everything."""
    earlier = due(history, first_run)
    assert due(history, first_run) == earlier
    keys = {draft.key for draft in earlier}
    later = due(history, already_issued=keys)
    assert not keys & {draft.key for draft in later}
    assert [*earlier, *later] == due(history)
    assert len({d.key for d in due(history)}) == len(due(history))


@given(tenant_histories(), st.data())
def test_already_issued_invoices_are_left_out_and_the_rest_unchanged_bill_6(
    history: list[Event], data: st.DataObject
) -> None:
    """The engine does not price invoices already issued; leaving them out must not change
    any other invoice (any subset of keys, not only a prefix)."""
    everything = due(history)
    keys = data.draw(
        st.sets(st.sampled_from([d.key for d in everything])) if everything else st.just(set())
    )
    assert due(history, already_issued=keys) == [d for d in everything if d.key not in keys]


@given(tenant_histories())
def test_numbering_is_gapless_per_series_bill_6(history: list[Event]) -> None:
    invoices = issue(due(history), InMemoryInvoiceNumbering(), tenant_id="t", policy=RAYNET)
    by_series: dict[str, list[int]] = {}
    for invoice in invoices:
        by_series.setdefault(invoice.series, []).append(int(invoice.number.split("/")[1]))
    for numbers in by_series.values():
        assert numbers == list(range(1, len(numbers) + 1))


def test_invoice_number_is_the_vendor_series_format_bill_6() -> None:
    """The text ``issue`` gives a number: the vendor's format, default ``{year}/{number:04d}``."""
    from crmcore.billing.numbering import invoice_number

    assert invoice_number(RAYNET, 2026, 7) == "2026/0007"
    assert invoice_number(RAYNET, 2027, 12345) == "2027/12345"
    custom = attrs.evolve(
        RAYNET, billing=attrs.evolve(RAYNET.billing, invoice_series="FV/{number}/{year}")
    )
    assert invoice_number(custom, 2026, 7) == "FV/7/2026"


# --- named cases -------------------------------------------------------------------------------


def monthly(activation: date, seats: int = 1, *changes: Event) -> list[Event]:
    created = at(activation - timedelta(days=3), 9)
    return [
        TenantCreated(created, "t"),
        Activated(at(activation), "standard", Cycle.MONTHLY, seats, PaymentMethod.CARD),
        *changes,
    ]


def test_activation_on_the_last_day_of_a_month_bills_one_day_bill_1() -> None:
    first, february = due(monthly(date(2026, 1, 31), 2), date(2026, 2, 1))
    (line,) = first.lines
    assert (line.rule, line.fraction) == ("BILL-1", Fraction(1, 31))
    assert line.net == (Money.of("500.00", "CZK") * 2).prorate(Fraction(1, 31))  # 32.26
    assert line.net.amount == Decimal("32.26")
    assert february.issued == date(2026, 2, 1)


def test_months_of_28_to_31_days_pro_1() -> None:
    for activation, days_in_month in [
        (date(2026, 2, 15), 28),
        (date(2028, 2, 15), 29),
        (date(2026, 4, 15), 30),
        (date(2026, 5, 15), 31),
    ]:
        (line,) = due(monthly(activation, 3), activation)[0].lines
        remaining = days_in_month - 15 + 1
        assert line.fraction == Fraction(remaining, days_in_month)
        assert line.net.amount == round_cents(
            Fraction(500) * 3 * Fraction(remaining, days_in_month)
        )


def round_cents(value: Fraction) -> Decimal:
    return Money.of("1", "CZK").prorate(value).amount


def test_leap_year_annual_period_has_366_days_pro_3() -> None:
    """Annual period from 1 March 2027 includes 29 Feb 2028: 366 days; a seat on 1 June 2027
    (month 4) is invoiced at once for 1 Jun 2027 .. 29 Feb 2028 = 274 days."""
    history: list[Event] = [
        TenantCreated(at(date(2027, 2, 20), 9), "t"),
        Activated(at(date(2027, 3, 1)), "standard", Cycle.ANNUAL, 1, PaymentMethod.CARD),
        SeatsAdded(at(date(2027, 6, 1), 9), 1),
    ]
    _, seats = due(history, date(2027, 6, 1))
    (line,) = seats.lines
    assert (line.rule, line.fraction, line.last_day) == (
        "PRO-3",
        Fraction(274, 366),
        date(2028, 2, 29),
    )
    assert line.net.amount == round_cents(Fraction(5000) * Fraction(274, 366))


def test_change_on_the_first_day_of_a_period_is_a_full_fraction_pro_1() -> None:
    """The period invoice is issued at 00:00 on the 1st, before that day's changes: a seat
    bought on 1 March costs 31/31 on the April invoice."""
    history = monthly(date(2026, 2, 1), 1, SeatsAdded(at(date(2026, 3, 1), 10), 1))
    drafts = due(history, date(2026, 4, 1))
    march, april = drafts[1], drafts[2]
    assert [line.seats for line in march.lines] == [1]
    seat_line = april.lines[1]
    assert (seat_line.fraction, seat_line.net.amount) == (Fraction(31, 31), Decimal("500.00"))


def test_change_on_the_last_day_of_a_period_pro_1() -> None:
    history = monthly(date(2026, 3, 1), 2, PlanChanged(at(date(2026, 3, 31), 10), "premium"))
    april = due(history, date(2026, 4, 1))[1]
    assert [(line.rule, line.fraction, line.net.amount) for line in april.lines] == [
        ("BILL-2", None, Decimal("1600.00")),
        ("PRO-4", Fraction(1, 31), round_cents(Fraction(300) * 2 * Fraction(1, 31))),
    ]


def test_dst_change_does_not_move_vendor_days_time_2() -> None:
    """Events at 00:30 on the day clocks go back (25 Oct 2026) and forward (29 Mar 2026) fall
    on that vendor day; the seat fractions count calendar days, not hours."""
    history = monthly(
        date(2026, 3, 1),
        1,
        SeatsAdded(datetime(2026, 3, 29, 0, 30, tzinfo=PRAGUE), 1),
        SeatsAdded(datetime(2026, 10, 25, 0, 30, tzinfo=PRAGUE), 1),
    )
    drafts = {d.key: d for d in due(history, date(2026, 11, 1))}
    assert drafts["period:2026-04-01"].lines[1].fraction == Fraction(3, 31)
    assert drafts["period:2026-11-01"].lines[1].fraction == Fraction(7, 31)


def test_apply_payments_oldest_first_pay_1() -> None:
    history = monthly(date(2026, 1, 20), 5)
    invoices = issue(
        due(history, date(2026, 2, 1)), InMemoryInvoiceNumbering(), tenant_id="t", policy=RAYNET
    )
    january, february = invoices
    payment = Payment("t", at(date(2026, 2, 3)), january.gross + Money.of("10.00", "CZK"))
    paid = apply_payments(list(reversed(invoices)), [payment])
    assert paid == {january.number: january.gross, february.number: Money.of("10.00", "CZK")}


def test_transfer_payment_is_due_after_14_days_and_carries_the_fee_bill_4() -> None:
    history = monthly(date(2026, 3, 1), 1)
    history[1] = attrs.evolve(history[1], payment=PaymentMethod.TRANSFER)  # type: ignore[misc]
    (draft,) = due(history, date(2026, 3, 1))
    assert draft.due == date(2026, 3, 15)
    assert [line.kind for line in draft.lines] == [LineKind.SUBSCRIPTION, LineKind.TRANSFER_FEE]


def test_annual_upgrade_is_invoiced_at_once_except_in_month_12_pro_4() -> None:
    history: list[Event] = [
        TenantCreated(at(date(2026, 1, 2), 9), "t"),
        Activated(at(date(2026, 1, 15)), "standard", Cycle.ANNUAL, 2, PaymentMethod.CARD),
        PlanChanged(at(date(2026, 7, 15), 9), "premium"),
    ]
    drafts = due(history, date(2026, 7, 15))
    assert drafts[-1].key == "changes:2026-07-15T09:00:00+02:00"
    (line,) = drafts[-1].lines
    # 15 Jul 2026 .. 14 Jan 2027 = 17 + 31 + 30 + 31 + 30 + 31 + 14 = 184 days of 365
    assert (line.rule, line.fraction) == ("PRO-4", Fraction(184, 365))
    assert line.net.amount == round_cents(Fraction(8000 - 5000) * 2 * Fraction(184, 365))
    late = [*history[:2], PlanChanged(at(date(2026, 12, 20), 9), "premium")]
    renewal = due(late, date(2027, 1, 15))[-1]
    assert [(x.rule, x.plan) for x in renewal.lines] == [
        ("BILL-2", "premium"),
        ("PRO-4", "premium"),
    ]


def test_pro_6_next_period_downgrade_bills_the_lower_plan_from_the_next_period() -> None:
    policy = RAYNET.with_overrides({"billing": {"downgrade_takes_effect": "next_period"}})
    history: list[Event] = [
        TenantCreated(at(date(2026, 2, 20), 9), "t"),
        Activated(at(date(2026, 3, 1)), "premium", Cycle.MONTHLY, 2, PaymentMethod.CARD),
        PlanChanged(at(date(2026, 3, 10), 9), "standard"),
        SeatsAdded(at(date(2026, 3, 11), 9), 1),  # premium entitlements still in force
    ]
    april = invoices_due(history, TWO_PLANS, policy, TWO_PLAN_TERMS, date(2026, 4, 1))[-1]
    assert [(x.rule, x.plan, x.seats, x.net.amount) for x in april.lines] == [
        ("BILL-2", "standard", 3, Decimal("1500.00")),
        ("PRO-2", "premium", 1, round_cents(Fraction(800) * Fraction(21, 31))),
    ]


def test_term_1_discount_and_queued_extension() -> None:
    policy = RAYNET.with_overrides(
        {"billing": {"term_discounts": [[12, "0.10"]]}, "trial": {"length": 30}}
    )
    from crmcore.events import Prepaid

    history: list[Event] = [
        TenantCreated(at(date(2026, 1, 2), 9), "t"),
        Prepaid(at(date(2026, 1, 10)), "standard", 12, 3),
        Prepaid(at(date(2026, 12, 1)), "standard", 6, 3),
    ]
    first, extension = invoices_due(history, TWO_PLANS, policy, TWO_PLAN_TERMS, date(2027, 1, 31))
    (line,) = first.lines
    assert line.net.amount == round_cents(Fraction(500) * 12 * 3 * (1 - Fraction("0.10")))
    assert (extension.key, extension.issued) == ("term:2027-01-10", date(2026, 12, 1))
    assert extension.lines[0].net.amount == Decimal(500 * 6 * 3)  # 6 months: no discount


def test_seats_bought_after_an_extension_was_invoiced_pay_for_it_when_it_starts_term_1() -> None:
    from crmcore.events import Prepaid

    history: list[Event] = [
        TenantCreated(at(date(2026, 1, 2), 9), "t"),
        Prepaid(at(date(2026, 1, 10)), "standard", 12, 3),
        Prepaid(at(date(2026, 12, 1)), "standard", 6, 3),
        SeatsAdded(at(date(2026, 12, 20), 9), 1),
    ]
    drafts = {d.key: d for d in due(history, date(2027, 1, 31))}
    in_term = drafts["changes:2026-12-20T09:00:00+01:00"].lines[0]
    # 20 Dec 2026 .. 9 Jan 2027 = 12 + 9 = 21 days of the 365-day term; 500 × 12 per seat
    assert (in_term.fraction, in_term.net.amount) == (
        Fraction(21, 365),
        round_cents(Fraction(500) * 12 * Fraction(21, 365)),
    )
    starts = drafts["changes:2027-01-10T00:00:00+01:00"].lines[
        0
    ]  # the extension: 6 months for the 4th seat
    assert (starts.seats, starts.fraction, starts.net.amount) == (
        1,
        Fraction(181, 181),
        Decimal(500 * 6),
    )


def test_billing_twice_in_one_day_never_needs_to_change_an_issued_invoice_bill_6() -> None:
    """Storage bills "up to today" at noon, then an annual seat is bought in the afternoon:
    the noon invoice stays as issued and the afternoon purchase gets its own invoice."""
    morning: list[Event] = [
        TenantCreated(at(date(2026, 1, 2), 9), "t"),
        Activated(at(date(2026, 1, 15)), "standard", Cycle.ANNUAL, 2, PaymentMethod.CARD),
        SeatsAdded(at(date(2026, 4, 10), 9), 1),
    ]
    noon = due(morning, date(2026, 4, 10))
    evening = [*morning, SeatsAdded(at(date(2026, 4, 10), 16), 1)]
    new = due(evening, date(2026, 4, 10), already_issued={d.key for d in noon})
    assert [d.key for d in new] == ["changes:2026-04-10T16:00:00+02:00"]
    assert due(evening, date(2026, 4, 10))[: len(noon)] == noon
