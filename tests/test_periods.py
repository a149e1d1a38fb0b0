"""Billing periods in calendar days (BILL-1, PRO-1, PRO-3's 12th month, TIME-4 clamping)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.dates import add_months
from crmcore.errors import PeriodError
from crmcore.periods import Period
from crmcore.testing.strategies import annual_periods, calendar_months, dates, periods


def test_february_2026_and_leap_february_2028_PRO_1() -> None:
    february_2026 = Period.calendar_month(2026, 2)
    assert (february_2026.first_day, february_2026.last_day) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
    )
    assert february_2026.days == 28
    # A change on 10 Feb: days 10..28 both included = 19 of 28.
    assert february_2026.remaining_fraction(date(2026, 2, 10)) == Fraction(28 - 10 + 1, 28)
    february_2028 = Period.calendar_month(2028, 2)
    assert february_2028.days == 29
    assert february_2028.remaining_fraction(date(2028, 2, 10)) == Fraction(29 - 10 + 1, 29)
    assert february_2028.remaining_days(date(2028, 2, 29)) == 1


def test_annual_periods_have_365_or_366_days_BILL_1() -> None:
    assert Period.annual(date(2026, 3, 15)).days == 365  # 15 Mar 2026..14 Mar 2027
    assert Period.annual(date(2027, 3, 1)).days == 366  # contains 29 Feb 2028
    assert Period.annual(date(2026, 3, 15)).last_day == date(2027, 3, 14)


def test_annual_periods_from_a_leap_day_anchor_clamp_from_the_anchor_TIME_4() -> None:
    anchor = date(2028, 2, 29)
    assert Period.annual(anchor, 0) == Period(date(2028, 2, 29), date(2029, 2, 27))
    assert Period.annual(anchor, 1) == Period(date(2029, 2, 28), date(2030, 2, 27))
    # The anchor's 29th comes back in the next leap year, because it is computed from the anchor.
    assert Period.annual(anchor, 3) == Period(date(2031, 2, 28), date(2032, 2, 28))
    assert Period.annual(anchor, 4) == Period(date(2032, 2, 29), date(2033, 2, 27))


def test_annual_period_from_january_31_BILL_1() -> None:
    assert Period.annual(date(2026, 1, 31)) == Period(date(2026, 1, 31), date(2027, 1, 30))
    assert Period.annual(date(2026, 1, 31), 1).first_day == date(2027, 1, 31)


def test_month_of_an_annual_period_12th_month_rule_PRO_3() -> None:
    year = Period.annual(date(2026, 3, 15))
    assert year.month_of(date(2026, 3, 15)) == 1
    assert year.month_of(date(2026, 4, 14)) == 1
    assert year.month_of(date(2026, 4, 15)) == 2
    assert year.month_of(date(2027, 2, 14)) == 11
    assert year.month_of(date(2027, 2, 15)) == 12
    assert year.month_of(date(2027, 3, 14)) == 12
    with pytest.raises(PeriodError, match=r"day: 2027-03-15 is outside 2026-03-15..2027-03-14"):
        year.month_of(date(2027, 3, 15))


def test_fraction_refuses_days_outside_the_period_PRO_1() -> None:
    january = Period.calendar_month(2026, 1)
    with pytest.raises(PeriodError, match=r"first_day: 2025-12-31 is outside .* \(PRO-1\)"):
        january.fraction(date(2025, 12, 31), date(2026, 1, 5))
    with pytest.raises(PeriodError, match=r"last_day"):
        january.fraction(date(2026, 1, 5), date(2026, 2, 1))
    with pytest.raises(PeriodError, match="before"):
        january.fraction(date(2026, 1, 5), date(2026, 1, 4))
    with pytest.raises(PeriodError, match=r"month must be 1..12"):
        Period.calendar_month(2026, 13)
    with pytest.raises(PeriodError, match=r"period: last_day .* before first_day"):
        Period(date(2026, 1, 2), date(2026, 1, 1))


def test_next_period_BILL_1() -> None:
    assert Period.calendar_month(2026, 12).next(monthly=True) == Period.calendar_month(2027, 1)
    year = Period.annual(date(2026, 3, 15))
    assert year.next(monthly=False) == Period.annual(date(2026, 3, 15), 1)
    assert Period.months(date(2026, 1, 31), 1) == Period(date(2026, 1, 31), date(2026, 2, 27))


# --- properties ---------------------------------------------------------------------------------


@given(calendar_months())
def test_calendar_months_have_28_to_31_days_PRO_1(month: Period) -> None:
    assert 28 <= month.days <= 31
    assert month.first_day.day == 1
    assert (month.last_day + timedelta(days=1)).day == 1


@given(annual_periods())
def test_annual_periods_are_contiguous_and_365_or_366_days_BILL_1(period: Period) -> None:
    following = period.next(monthly=False)
    assert period.last_day + timedelta(days=1) == following.first_day
    assert period.days in (365, 366)
    assert period.month_of(period.first_day) == 1
    assert period.month_of(period.last_day) == 12


@given(dates(max_value=date(2080, 12, 31)), st.integers(0, 20))
def test_nth_annual_period_starts_n_years_after_the_anchor_clamped_TIME_4(
    anchor: date, n: int
) -> None:
    period = Period.annual(anchor, n)
    assert period.first_day == add_months(anchor, 12 * n)
    assert period.last_day + timedelta(days=1) == Period.annual(anchor, n + 1).first_day


@given(periods(), st.data())
def test_split_pieces_add_up_to_the_whole_PRO_1(period: Period, data: st.DataObject) -> None:
    if period.days == 1:
        return
    offset = data.draw(st.integers(1, period.days - 1))
    day = period.first_day + timedelta(days=offset)
    before, after = period.split(day)
    assert before.days + after.days == period.days
    assert before.last_day + timedelta(days=1) == after.first_day
    assert period.fraction(before.first_day, before.last_day) + period.remaining_fraction(
        day
    ) == Fraction(1)


@given(periods(), st.data())
def test_fractions_are_in_zero_one_and_the_whole_is_one_PRO_1(
    period: Period, data: st.DataObject
) -> None:
    first = period.first_day + timedelta(days=data.draw(st.integers(0, period.days - 1)))
    last = first + timedelta(days=data.draw(st.integers(0, (period.last_day - first).days)))
    fraction = period.fraction(first, last)
    assert 0 < fraction <= 1
    assert fraction == Fraction((last - first).days + 1, period.days)
    assert period.fraction(period.first_day, period.last_day) == 1
    assert period.remaining_fraction(period.first_day) == 1
    assert period.remaining_days(first) == (period.last_day - first).days + 1
    assert first in period
    assert period.first_day - timedelta(days=1) not in period


@given(periods())
def test_each_day_lists_every_day_once_PRO_1(period: Period) -> None:
    days = list(period.each_day())
    assert len(days) == period.days
    assert days[0] == period.first_day
    assert days[-1] == period.last_day


def test_a_period_is_made_of_dates_not_datetimes_BILL_1() -> None:
    with pytest.raises(PeriodError, match=r"first_day: must be a calendar date"):
        Period(datetime(2026, 1, 1), date(2026, 1, 31))
