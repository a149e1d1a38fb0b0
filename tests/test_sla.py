"""Service level and credits (SLA-1..7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crmcore.catalog import Cycle
from crmcore.dates import zone
from crmcore.errors import NaiveDatetimeError, SlaError
from crmcore.invoices import Invoice, InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.presets import preset
from crmcore.sla import (
    EXCLUDED_KINDS,
    MonthAvailability,
    Outage,
    OutageKind,
    credit_line,
    fee_for_month,
    minutes_in_month,
    month_availability,
    outage_months,
    sla_credit,
)
from crmcore.testing import dunning as testing_dunning

RAYNET = preset("raynet")
PRAGUE = zone("Europe/Prague")
FEE = Money.of("2500.00", "CZK")  # 5 seats × 500.00 monthly
APRIL = 30 * 24 * 60  # 43200 minutes, no clock change in April 2026


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=PRAGUE)


def downtime(outages: list[Outage], month: int = 4) -> Fraction:
    return month_availability(outages, RAYNET, 2026, month).downtime_minutes


def test_sla2_credit_35_percent_at_99_2() -> None:
    """SLA-2: 99.2 % → 35 %. Downtime 0.8 % × 43200 = 345.6 min = 345 min 36 s."""
    outage = Outage(at(4, 7, 10), at(4, 7, 15, 45, 36))
    month = month_availability([outage], RAYNET, 2026, 4)
    assert month.downtime_minutes == Fraction(3456, 10)
    assert month.percent == Fraction(992, 10)
    credit = sla_credit(month, FEE, Cycle.MONTHLY, RAYNET)
    assert credit.ratio == Decimal("0.35")
    assert credit.amount == Money.of("875.00", "CZK")  # 2500.00 × 0.35


def test_sla2_credit_50_percent_at_97_9() -> None:
    """SLA-2: 97.9 % → 50 %. Downtime 2.1 % × 43200 = 907.2 min = 907 min 12 s."""
    outage = Outage(at(4, 7, 8), at(4, 7, 23, 7, 12))
    month = month_availability([outage], RAYNET, 2026, 4)
    assert month.percent == Fraction(979, 10)
    credit = sla_credit(month, FEE, Cycle.MONTHLY, RAYNET)
    assert credit.amount == Money.of("1250.00", "CZK")  # 2500.00 × 0.50


def test_sla3_annual_plan_credit_is_on_a_twelfth_of_the_annual_fee() -> None:
    """SLA-3: 25000.00 / 12 × 0.35 = 729.1666… → 729.17 (one rounding)."""
    month = MonthAvailability(2026, 4, Fraction(3456, 10), APRIL)
    credit = sla_credit(month, Money.of("25000.00", "CZK"), Cycle.ANNUAL, RAYNET)
    assert credit.fee == Fraction(25000, 12)
    assert credit.amount == Money.of("729.17", "CZK")


@pytest.mark.parametrize(
    ("downtime_seconds", "ratio"),
    [
        (216 * 60, Decimal(0)),  # exactly 99.50 %: 0.5 % × 43200 = 216 min → no credit
        (216 * 60 + 1, Decimal("0.35")),  # 99.4999… %: never rounded up to 99.50
        (864 * 60, Decimal("0.35")),  # exactly 98.00 %: 2 % × 43200 = 864 min
        (864 * 60 + 1, Decimal("0.50")),
    ],
)
def test_sla2_tier_boundaries_compare_exact_values(downtime_seconds: int, ratio: Decimal) -> None:
    """SLA-2 decision: a ≥ 99.50 none; 98.00 ≤ a < 99.50 35 %; a < 98.00 50 %."""
    outage = Outage(at(4, 7, 0), at(4, 7, 0) + timedelta(seconds=downtime_seconds))
    month = month_availability([outage], RAYNET, 2026, 4)
    assert sla_credit(month, FEE, Cycle.MONTHLY, RAYNET).ratio == ratio


def test_sla5_outage_crossing_midnight() -> None:
    """SLA-5: 22:00 → 02:00 next day is 240 minutes."""
    assert downtime([Outage(at(4, 7, 22), at(4, 8, 2))]) == 240


def test_sla5_outage_crossing_month_end_is_split_between_months() -> None:
    """SLA-5: 30 Apr 23:00 → 1 May 01:00 (Prague) counts 60 min in each month."""
    outage = Outage(at(4, 30, 23), at(5, 1, 1))
    assert downtime([outage], 4) == 60
    assert downtime([outage], 5) == 60


def test_sla5_dst_months_have_real_minutes() -> None:
    """Decision: real elapsed minutes. March 2026 loses an hour, October gains one."""
    assert minutes_in_month(2026, 3, "Europe/Prague") == 31 * 1440 - 60
    assert minutes_in_month(2026, 10, "Europe/Prague") == 31 * 1440 + 60
    assert minutes_in_month(2026, 4, "Europe/Prague") == APRIL


def test_sla5_outage_across_dst_changes_counts_real_time() -> None:
    """29 Mar 01:00 → 04:00 is 2 real hours; 25 Oct 01:00 → 04:00 is 4 real hours."""
    assert downtime([Outage(at(3, 29, 1), at(3, 29, 4))], 3) == 120
    assert downtime([Outage(at(10, 25, 1), at(10, 25, 4))], 10) == 240


def test_sla5_overlapping_outages_are_merged() -> None:
    """SLA-5: 10:00-12:00 and 11:00-13:00 are 180 minutes, not 240."""
    assert downtime([Outage(at(4, 7, 10), at(4, 7, 12)), Outage(at(4, 7, 11), at(4, 7, 13))]) == 180


def test_sla4_maintenance_partly_inside_business_hours() -> None:
    """SLA-4: announced maintenance Tue 7 Apr 06:00-10:00: only 08:00-10:00 counts (120 min)."""
    outage = Outage(at(4, 7, 6), at(4, 7, 10), OutageKind.MAINTENANCE, announced=at(4, 5, 6))
    assert downtime([outage]) == 120


def test_sla4_maintenance_across_evening_and_morning() -> None:
    """SLA-4: Tue 16:00 → Wed 09:00: 16-17 and 08-09 count (120 min of 17 h)."""
    outage = Outage(at(4, 7, 16), at(4, 8, 9), OutageKind.MAINTENANCE, announced=at(4, 1, 0))
    assert downtime([outage]) == 120


def test_sla4_maintenance_on_a_holiday_or_weekend_is_excluded() -> None:
    """SLA-4 / TIME-3: Easter Monday 6 Apr 2026 (CZ) and Sat 11 Apr are not business days."""
    holiday = Outage(at(4, 6, 9), at(4, 6, 15), OutageKind.MAINTENANCE, announced=at(4, 1, 0))
    weekend = Outage(at(4, 11, 9), at(4, 11, 15), OutageKind.MAINTENANCE, announced=at(4, 1, 0))
    assert downtime([holiday, weekend]) == 0


def test_sla4_maintenance_announced_too_late_counts_in_full() -> None:
    """SLA-4: announced 23 h before (lead 24 h) → all of 20:00-24:00 counts (240 min)."""
    late = Outage(at(4, 7, 20), at(4, 8, 0), OutageKind.MAINTENANCE, announced=at(4, 6, 21))
    assert downtime([late]) == 240
    in_time = Outage(at(4, 7, 20), at(4, 8, 0), OutageKind.MAINTENANCE, announced=at(4, 6, 20))
    assert downtime([in_time]) == 0  # exactly 24 h before: in time
    unannounced = Outage(at(4, 7, 20), at(4, 8, 0), OutageKind.MAINTENANCE)
    assert downtime([unannounced]) == 240


@pytest.mark.parametrize("kind", sorted(EXCLUDED_KINDS))
def test_sla4_excluded_kinds_are_not_downtime(kind: OutageKind) -> None:
    assert downtime([Outage(at(4, 7, 8), at(4, 7, 20), kind)]) == 0


def test_sla7_livespace_target_without_tiers_never_credits() -> None:
    """SLA-7: 99.98 % target, no credit tiers."""
    month = MonthAvailability(2026, 4, Fraction(APRIL, 2), APRIL)
    assert sla_credit(month, FEE, Cycle.MONTHLY, preset("livespace")).amount.is_zero()


def test_sla6_credit_line_never_makes_the_invoice_negative() -> None:
    """SLA-6: 875.00 credit on a 500.00 invoice: −500.00 now, 375.00 carried forward."""
    line, rest = credit_line(Money.of("875.00", "CZK"), Money.of("500.00", "CZK"))
    assert line is not None
    assert (line.kind, line.rule, line.net) == (
        LineKind.SLA_CREDIT,
        "SLA-6",
        Money.of("-500.00", "CZK"),
    )
    assert rest == Money.of("375.00", "CZK")
    line, rest = credit_line(rest, Money.of("2500.00", "CZK"))
    assert line is not None and line.net == Money.of("-375.00", "CZK")
    assert rest.is_zero()
    assert credit_line(Money.of("10.00", "CZK"), Money.zero("CZK")) == (
        None,
        Money.of("10.00", "CZK"),
    )


def test_sla6_credit_never_exceeds_the_fee() -> None:
    """SLA-6: a misconfigured 150 % tier is capped at the fee."""
    policy = RAYNET.with_overrides({"sla": {"tiers": [{"below": "99.5", "credit": "1.5"}]}})
    month = MonthAvailability(2026, 4, Fraction(APRIL, 2), APRIL)
    assert sla_credit(month, FEE, Cycle.MONTHLY, policy).amount == FEE


def test_outage_validation() -> None:
    with pytest.raises(SlaError, match="SLA-5"):
        Outage(at(4, 7, 10), at(4, 7, 10))
    with pytest.raises(NaiveDatetimeError):
        Outage(datetime(2026, 4, 7, 10), at(4, 7, 11))


# --- properties ---------------------------------------------------------------------------------


def outages(kinds: tuple[OutageKind, ...] = tuple(OutageKind)) -> st.SearchStrategy[Outage]:
    return testing_dunning.month_outages(2026, 4, "Europe/Prague", kinds)


def _credit(items: list[Outage]) -> Money:
    month = month_availability(items, RAYNET, 2026, 4)
    return sla_credit(month, FEE, Cycle.MONTHLY, RAYNET).amount


@given(st.lists(outages(), max_size=5), outages())
def test_sla2_credit_is_monotone_in_downtime(items: list[Outage], extra: Outage) -> None:
    """SLA-2: more outages never give less availability nor a smaller credit."""
    before = month_availability(items, RAYNET, 2026, 4)
    after = month_availability([*items, extra], RAYNET, 2026, 4)
    assert after.percent <= before.percent
    assert _credit([*items, extra]) >= _credit(items)


@given(st.lists(outages(), max_size=5), outages(tuple(sorted(EXCLUDED_KINDS))))
def test_sla4_adding_an_excluded_outage_never_changes_the_credit(
    items: list[Outage], extra: Outage
) -> None:
    assert _credit([*items, extra]) == _credit(items)


def _subscription(first: date, last: date, net: str) -> Invoice:
    line = InvoiceLine(
        LineKind.SUBSCRIPTION, "BILL-2", Money.of(net, "CZK"), "standard", 5, first, last
    )
    return Invoice("acme", "n", "2026", first, first, "CZK", Decimal("0.21"), [line])


def test_sla3_fee_of_the_period_that_began_in_the_month() -> None:
    """SLA-3: April's fee is the April period's subscription (5 × 500.00), not March's."""
    march = _subscription(date(2026, 3, 1), date(2026, 3, 31), "2500.00")
    april = _subscription(date(2026, 4, 1), date(2026, 4, 30), "2500.00")
    prorated = _subscription(date(2026, 1, 20), date(2026, 1, 31), "967.74")
    assert fee_for_month([march, april], 2026, 4) == (Money.of("2500.00", "CZK"), Cycle.MONTHLY)
    assert fee_for_month([prorated], 2026, 1) == (Money.of("967.74", "CZK"), Cycle.MONTHLY)
    assert fee_for_month([march], 2026, 5) is None


def test_sla3_fee_of_an_annual_period_covering_the_month() -> None:
    annual = _subscription(date(2026, 1, 20), date(2027, 1, 19), "25000.00")
    assert fee_for_month([annual], 2026, 7) == (Money.of("25000.00", "CZK"), Cycle.ANNUAL)
    assert fee_for_month([annual], 2027, 2) is None


# --- SLA-2/SLA-5: outages spanning whole months (issue 13, section 4) ----------------------------


def test_sla2_sla5_outage_spanning_a_whole_month_credits_every_month_it_covers() -> None:
    """SLA-2/SLA-5: 31 Mar 22:00 → 1 May 02:00 (Prague) covers March, April and May.

    Prague moved to summer time on 29 Mar 2026, so 31 Mar 22:00 is CEST (UTC+2):
    - March: 31 × 1440 − 60 = 44580 min; down 22:00 → 24:00 = 120 min;
      (44580 − 120) / 44580 = 44460 / 44580 = 99.73… % ≥ 99.50 → no credit.
    - April: 30 × 1440 = 43200 min, all of it down: 0 % < 98.00 → 50 % of 2500.00 = 1250.00.
    - May: 31 × 1440 = 44640 min; down 00:00 → 02:00 = 120 min; 44520 / 44640 = 99.73… % → none.
    """
    outage = Outage(at(3, 31, 22), at(5, 1, 2))
    assert outage_months([outage], "Europe/Prague") == [(2026, 3), (2026, 4), (2026, 5)]
    march, april, may = (month_availability([outage], RAYNET, 2026, m) for m in (3, 4, 5))
    assert (march.downtime_minutes, march.minutes_in_month) == (120, 31 * 1440 - 60)
    assert march.percent == Fraction(100 * (44580 - 120), 44580)
    assert (april.downtime_minutes, april.minutes_in_month) == (43200, 30 * 1440)
    assert april.percent == 0
    assert (may.downtime_minutes, may.minutes_in_month) == (120, 31 * 1440)
    assert may.percent == Fraction(100 * (44640 - 120), 44640)
    credits = [sla_credit(m, FEE, Cycle.MONTHLY, RAYNET).amount for m in (march, april, may)]
    assert credits == [Money.zero("CZK"), Money.of("1250.00", "CZK"), Money.zero("CZK")]


def test_sla5_outage_months_end_is_exclusive_and_years_roll_over() -> None:
    """SLA-5: an outage ending at 00:00 on the 1st does not touch that month; Dec → Feb spans
    the new year (months 12, 1, 2)."""
    ends_at_midnight = Outage(at(4, 30, 22), at(5, 1, 0))
    assert outage_months([ends_at_midnight], "Europe/Prague") == [(2026, 4)]
    winter = Outage(at(12, 31, 23), datetime(2027, 2, 1, 1, tzinfo=PRAGUE))
    assert outage_months([winter], "Europe/Prague") == [(2026, 12), (2027, 1), (2027, 2)]
    assert outage_months([], "Europe/Prague") == []


_COUNTED = (OutageKind.UNPLANNED, OutageKind.FORCE_MAJEURE, OutageKind.INTEGRATION)


@st.composite
def _outages_in(draw: st.DrawFn, span: tuple[datetime, datetime], unit: int) -> Outage:
    """An outage inside ``span``, starting and ending on whole ``unit``-minute steps of it."""
    origin = span[0].astimezone(UTC)
    steps = int((span[1].astimezone(UTC) - origin).total_seconds()) // 60 // unit
    first = draw(st.integers(0, steps - 1))
    length = draw(st.integers(1, steps - first))
    start = origin + timedelta(minutes=first * unit)
    end = start + timedelta(minutes=length * unit)
    return Outage(start.astimezone(PRAGUE), end.astimezone(PRAGUE), draw(st.sampled_from(_COUNTED)))


def _count_by_steps(
    items: list[Outage], year: int, month: int, span: tuple[datetime, datetime], unit: int
) -> int:
    """Downtime minutes of a month counted step by step: each ``unit``-minute step (real time)
    of the month's part of ``span`` that a counted outage covers. Outside ``span`` there is no
    outage, so the walk stops there."""
    month_start = datetime(year, month, 1, tzinfo=PRAGUE)
    month_end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=PRAGUE)
    # in UTC: aware datetimes sharing one tzinfo compare and subtract by wall clock
    step = max(span[0].astimezone(UTC), month_start.astimezone(UTC))
    stop = min(span[1].astimezone(UTC), month_end.astimezone(UTC))
    down = [
        (o.start.astimezone(UTC), o.end.astimezone(UTC))
        for o in items
        if o.kind not in EXCLUDED_KINDS
    ]
    count = 0
    while step < stop:
        if any(start <= step < end for start, end in down):
            count += unit
        step += timedelta(minutes=unit)
    return count


def _check_against_count(
    items: list[Outage], span: tuple[datetime, datetime], unit: int, months: list[int]
) -> None:
    """Every month of ``months`` (2026): downtime and availability as counted step by step;
    each month with counted downtime is one :func:`outage_months` names."""
    named = outage_months(items, "Europe/Prague")
    for month in months:
        expected = _count_by_steps(items, 2026, month, span, unit)
        availability = month_availability(items, RAYNET, 2026, month)
        assert availability.downtime_minutes == expected
        total = minutes_in_month(2026, month, "Europe/Prague")
        assert availability.percent == Fraction(100 * (total - expected), total)
        assert expected == 0 or (2026, month) in named


# 28 Mar 12:00 → 1 Apr 12:00: the 29 Mar clock change and the March/April boundary.
_DAYS = (at(3, 28, 12), at(4, 1, 12))
# 25 Feb → 5 May: outages may cover March and April whole.
_MONTHS = (at(2, 25, 0), at(5, 5, 0))


@given(st.lists(_outages_in(_DAYS, 1), min_size=1, max_size=3))
def test_sla5_month_availability_equals_a_minute_by_minute_count(items: list[Outage]) -> None:
    """SLA-5: each month's downtime (overlaps merged, SLA-4 kinds excluded) and availability
    equal a count minute by minute, across a DST change and a month boundary."""
    _check_against_count(items, _DAYS, 1, [3, 4])


@example([Outage(at(3, 31, 22), at(5, 1, 2))])  # the case: April wholly inside
@given(st.lists(_outages_in(_MONTHS, 60), min_size=1, max_size=3))
def test_sla2_sla5_every_covered_month_equals_an_hour_by_hour_count(items: list[Outage]) -> None:
    """SLA-2/SLA-5: outages over whole months: every month they cover (outage_months) has the
    downtime an hour-by-hour count gives; a month wholly inside an outage is at 0 %."""
    _check_against_count(items, _MONTHS, 60, [2, 3, 4, 5])
    for year, month in outage_months(items, "Europe/Prague"):
        first, following = (at(m, 1, 0).astimezone(UTC) for m in (month, month + 1))
        if any(
            o.kind not in EXCLUDED_KINDS
            and o.start.astimezone(UTC) <= first
            and o.end.astimezone(UTC) >= following
            for o in items
        ):
            assert month_availability(items, RAYNET, year, month).percent == 0


# --- SLA-3: prepaid terms of 3 and 6 months (issue 13, section 4) -------------------------------


def _term(first: date, last: date, net: str) -> Invoice:
    line = InvoiceLine(
        LineKind.SUBSCRIPTION, "TERM-1", Money.of(net, "CZK"), "standard", 5, first, last
    )
    return Invoice("acme", "t", "2026", first, first, "CZK", Decimal("0.21"), [line])


def test_sla3_three_month_term_fee_is_a_third_of_the_term_per_month() -> None:
    """SLA-3: a 3-month prepaid term 15 Feb → 14 May of 5 × 500.00 × 3 = 7500.00 pays
    7500.00 / 3 = 2500.00 a calendar month (not / 12 as an annual plan). April at 99.2 %:
    2500.00 × 0.35 = 875.00."""
    term = _term(date(2026, 2, 15), date(2026, 5, 14), "7500.00")
    for month in (2, 3, 4, 5):  # every calendar month the term covers
        assert fee_for_month([term], 2026, month) == (Money.of("7500.00", "CZK"), 3)
    assert fee_for_month([term], 2026, 1) is None
    assert fee_for_month([term], 2026, 6) is None
    month = MonthAvailability(2026, 4, Fraction(3456, 10), APRIL)  # 99.2 %
    fee, months = fee_for_month([term], 2026, 4) or (FEE, 0)
    credit = sla_credit(month, fee, months, RAYNET)
    assert credit.fee == Fraction("7500.00") / 3
    assert credit.amount == Money.of("875.00", "CZK")


def test_sla3_six_month_term_fee_is_a_sixth_of_the_term_per_month() -> None:
    """SLA-3: a 6-month term 1 Mar → 31 Aug of 3 × 500.00 × 6 = 9000.00 pays 9000.00 / 6 =
    1500.00 a month. April at 97.9 %: 1500.00 × 0.50 = 750.00 (as annual: 375.00)."""
    term = _term(date(2026, 3, 1), date(2026, 8, 31), "9000.00")
    assert fee_for_month([term], 2026, 4) == (Money.of("9000.00", "CZK"), 6)
    month = MonthAvailability(2026, 4, Fraction(9072, 10), APRIL)  # 97.9 %
    credit = sla_credit(month, Money.of("9000.00", "CZK"), 6, RAYNET)
    assert credit.fee == Fraction(9000, 6)
    assert credit.amount == Money.of("750.00", "CZK")


def test_sla3_terms_of_12_and_1_months_and_a_renewal_in_the_month() -> None:
    """SLA-3: a 12-month term pays a twelfth a month; a 1-month term its whole fee in each
    month it touches; of two terms covering one month, the one that began in it counts."""
    year = _term(date(2026, 1, 31), date(2027, 1, 30), "30000.00")
    assert fee_for_month([year], 2026, 6) == (Money.of("30000.00", "CZK"), 12)
    one = _term(date(2026, 2, 15), date(2026, 3, 14), "2500.00")
    assert fee_for_month([one], 2026, 3) == (Money.of("2500.00", "CZK"), 1)
    first = _term(date(2026, 1, 1), date(2026, 3, 31), "7500.00")
    renewal = _term(date(2026, 3, 20), date(2026, 9, 19), "15000.00")  # a lapse, then anew
    assert fee_for_month([first, renewal], 2026, 3) == (Money.of("15000.00", "CZK"), 6)
    assert fee_for_month([first, renewal], 2026, 2) == (Money.of("7500.00", "CZK"), 3)


def test_sla3_months_is_a_cycle_or_a_positive_count() -> None:
    """SLA-3: ``sla_credit`` takes Cycle.MONTHLY (1), Cycle.ANNUAL (12) or a term's months."""
    month = MonthAvailability(2026, 4, Fraction(3456, 10), APRIL)
    fee = Money.of("25000.00", "CZK")
    assert sla_credit(month, fee, 12, RAYNET) == sla_credit(month, fee, Cycle.ANNUAL, RAYNET)
    assert sla_credit(month, fee, 1, RAYNET) == sla_credit(month, fee, Cycle.MONTHLY, RAYNET)
    for bad in (0, -3, True, "weekly"):
        with pytest.raises(SlaError, match="SLA-3") as caught:
            sla_credit(month, fee, bad, RAYNET)  # type: ignore[arg-type]
        assert caught.value.field == "cycle"


def test_vendors_without_a_service_level_give_no_credit_and_exclude_nothing() -> None:
    """SLA: chmiuro, smartmail and optimasales state no service level (``sla=None``): no
    credit, and without SLA-4 terms every outage counts (announced maintenance, force
    majeure): 7 Apr 06:00-10:00 + 12:00-13:00 = 300 min."""
    maintenance = Outage(at(4, 7, 6), at(4, 7, 10), OutageKind.MAINTENANCE, announced=at(4, 1, 0))
    force = Outage(at(4, 7, 12), at(4, 7, 13), OutageKind.FORCE_MAJEURE)
    for name in ("chmiuro", "smartmail", "optimasales"):
        policy = preset(name)
        assert policy.sla is None
        month = month_availability([maintenance, force], policy, 2026, 4)
        assert month.downtime_minutes == 4 * 60 + 60
        whole = MonthAvailability(2026, 4, Fraction(APRIL), APRIL)  # 0 %
        assert sla_credit(whole, FEE, Cycle.MONTHLY, policy).amount.is_zero()


@given(st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.integers(1, 36))
def test_sla3_every_month_of_a_term_pays_the_term_fee_over_its_months(
    start: date, months: int
) -> None:
    """SLA-3: a prepaid term of ``months`` months (TERM-1, month arithmetic from its start,
    clamped: 31 Jan + 1 month → 28/29 Feb) is ``(fee, months)`` for every calendar month it
    covers and for no other."""
    from crmcore.periods import Period

    term = Period.months(start, months)
    invoice = _term(term.first_day, term.last_day, "1200.00")
    covered = set()
    month = date(start.year, start.month, 1)
    while month <= term.last_day:
        covered.add((month.year, month.month))
        month = (month + timedelta(days=32)).replace(day=1)
    for year, number in covered:
        assert fee_for_month([invoice], year, number) == (Money.of("1200.00", "CZK"), months)
    before = date(start.year, start.month, 1) - timedelta(days=1)
    after = term.last_day.replace(day=28) + timedelta(days=4)
    assert fee_for_month([invoice], before.year, before.month) is None
    assert fee_for_month([invoice], after.year, after.month) is None


def test_sla2_subsecond_downtime_not_truncated() -> None:
    """SLA-2/SLA-5: 216 min 0.5 s of downtime in April = 99.49998 % < 99.50 -> 35 % credit."""
    from crmcore.scenario.runner import run

    result = run(
        {
            "preset": "raynet",
            "currency": "CZK",
            "vat_rate": "0.21",
            "plans": [
                {"code": "standard", "rank": 1, "price": {"monthly": "500.00", "annual": "5000.00"}}
            ],
            "tenant": {"id": "acme", "created": "2026-03-10T09:00:00+01:00"},
            "events": [
                {
                    "on": "2026-04-01",
                    "do": "activate",
                    "plan": "standard",
                    "cycle": "monthly",
                    "seats": 2,
                    "payment": "card",
                },
                {
                    "at": "2026-04-08T10:00:00+02:00",
                    "do": "outage",
                    "until": "2026-04-08T13:36:00.500000+02:00",
                    "kind": "unplanned",
                },
            ],
            "until": "2026-05-01",
        }
    )
    may = result["invoices"][1]
    assert may["issued"] == "2026-05-01"
    credits = [line["net"] for line in may["lines"] if line["kind"] == "sla_credit"]
    assert credits == ["-350.00"]
    assert (may["net"], may["vat"], may["gross"]) == ("650.00", "136.50", "786.50")


def test_sla5_subsecond_downtime_is_exact() -> None:
    """SLA-5: a 0.9 s outage is 0.015 min of downtime, not 0."""
    outage = Outage(at(4, 8, 10), at(4, 8, 10) + timedelta(microseconds=900_000))
    month = month_availability([outage], preset("raynet"), 2026, 4)
    assert month.downtime_minutes == Fraction(9, 600)
