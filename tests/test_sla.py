"""Service level and credits (SLA-1..7)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore import testing_dunning
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
    sla_credit,
)

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
    return testing_dunning.outages(2026, 4, "Europe/Prague", kinds)


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
