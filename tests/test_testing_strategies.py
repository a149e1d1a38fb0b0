"""The public strategies of crmcore.testing produce valid values of every documented shape."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

import crmcore
from crmcore.catalog import Catalog, Plan
from crmcore.money import Money, minor_units
from crmcore.periods import Period
from crmcore.policies import VendorPolicy
from crmcore.testing.strategies import (
    CURRENCIES,
    annual_periods,
    aware_datetimes,
    calendar_months,
    currencies,
    dates,
    decimals,
    dst_edge_datetimes,
    money,
    periods,
    plan_catalogs,
    plans,
    policies,
)


@given(currencies())
def test_currencies_are_known_iso_codes_BILL_7(code: str) -> None:
    assert code in CURRENCIES
    assert minor_units(code) in (0, 2, 3)


@given(money())
def test_money_has_the_currency_minor_units_BILL_7(amount: Money) -> None:
    assert -amount.amount.as_tuple().exponent <= amount.minor_units  # type: ignore[operator]
    assert amount.rounded() == amount


@given(money(["PLN"], min_value=0, max_value="10.00", extra_places=3))
def test_money_bounds_and_extra_places_BILL_7(amount: Money) -> None:
    assert amount.currency == "PLN"
    assert Decimal(0) <= amount.amount <= Decimal("10.00")
    assert -amount.amount.as_tuple().exponent <= 5  # type: ignore[operator]


@given(decimals(-1, 1, 4))
def test_decimals_are_finite_and_bounded(value: Decimal) -> None:
    assert value.is_finite()
    assert -1 <= value <= 1


@given(dates(date(2028, 1, 1), date(2028, 12, 31)))
def test_dates_stay_within_bounds(day: date) -> None:
    assert day.year == 2028


@given(aware_datetimes())
def test_aware_datetimes_are_aware_and_real_instants_TIME_1(instant: datetime) -> None:
    assert instant.tzinfo is not None
    assert instant.utcoffset() is not None
    assert instant.astimezone(UTC).astimezone(instant.tzinfo) == instant


@given(dst_edge_datetimes())
def test_dst_edges_fall_on_a_dst_change_day_TIME_2(instant: datetime) -> None:
    assert instant.month in (3, 10)
    assert instant.weekday() == 6  # the last Sunday of the month
    assert (instant + timedelta(days=7)).month != instant.month
    assert instant.astimezone(UTC).astimezone(instant.tzinfo) == instant


@given(st.one_of(periods(), calendar_months(), annual_periods()))
def test_periods_are_valid_BILL_1(period: Period) -> None:
    assert period.first_day <= period.last_day
    assert period.days in (28, 29, 30, 31, 365, 366)


@given(plans())
def test_plans_are_valid_PLAN_1(plan: Plan) -> None:
    assert len({(p.currency, p.cycle) for p in plan.prices}) == len(plan.prices)
    for price in plan.prices:
        assert price.amount >= 0


@given(plan_catalogs(min_plans=1))
def test_catalogues_have_unique_codes_and_ranks_PLAN_1(catalog: Catalog) -> None:
    assert len({p.code for p in catalog}) == len(catalog)
    assert len({p.rank for p in catalog}) == len(catalog)
    assert [p.rank for p in catalog] == sorted(p.rank for p in catalog)


@given(policies())
def test_policies_are_valid_vendor_policies_PAY_6(policy: VendorPolicy) -> None:
    d = policy.dunning  # None: the vendor states no payment-delay terms
    assert d is None or d.block_after_days < d.cancel_after_days < d.purge_after_days
    assert policy.trial is None or policy.trial.length > 0  # None: no trial (smartmail)


def test_only_crmcore_testing_imports_hypothesis() -> None:
    """crmcore.testing.strategies (and families' crmcore.testing_<family>) may; the core may not."""
    code = (
        "import sys, pkgutil, importlib, crmcore\n"
        "for m in pkgutil.iter_modules(crmcore.__path__):\n"
        "    if m.name != '__main__' and not m.name.startswith('testing'):\n"
        "        importlib.import_module('crmcore.' + m.name)\n"
        "assert 'hypothesis' not in sys.modules, 'a core module imported hypothesis'\n"
    )
    source = os.path.dirname(os.path.dirname(crmcore.__file__))  # this worktree's src/
    environment = {**os.environ, "PYTHONPATH": source}
    subprocess.run([sys.executable, "-c", code], check=True, env=environment)


@given(dates(date(2026, 3, 5), date(2026, 3, 20)))
def test_dates_in_a_narrow_range_without_leap_day_or_month_end(day: date) -> None:
    assert date(2026, 3, 5) <= day <= date(2026, 3, 20)
