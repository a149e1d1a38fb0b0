"""Time: aware instants, vendor days, DST-safe day arithmetic, months, business days (TIME-1..4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.dates import (
    BusinessCalendar,
    add_calendar_days,
    add_months,
    days_in_month,
    end_of_day,
    last_day_of_month,
    local_midnight,
    parse_aware_datetime,
    parse_date,
    require_aware,
    vendor_date,
    zone,
)
from crmcore.errors import NaiveDatetimeError, ValidationError
from crmcore.testing.strategies import aware_datetimes, dates, dst_edge_datetimes

WARSAW = zone("Europe/Warsaw")
PRAGUE = zone("Europe/Prague")
PL = BusinessCalendar("PL")
CZ = BusinessCalendar("CZ")


# --- TIME-1: naive datetimes refused ------------------------------------------------------------


def test_naive_datetime_is_refused_naming_the_field_TIME_1() -> None:
    with pytest.raises(NaiveDatetimeError) as caught:
        require_aware(datetime(2026, 1, 5, 9, 0), "created_at")
    assert caught.value.field == "created_at"
    assert caught.value.rule == "TIME-1"
    assert str(caught.value).startswith("created_at: must be timezone-aware")
    assert str(caught.value).endswith("(TIME-1)")
    assert isinstance(caught.value, ValueError)


def test_parsing_refuses_strings_without_offset_TIME_1() -> None:
    with pytest.raises(NaiveDatetimeError, match=r"^events\[0\]\.at: .*\(TIME-1\)$"):
        parse_aware_datetime("2026-01-05T09:00:00", "events[0].at")
    parsed = parse_aware_datetime("2026-01-05T09:00:00+01:00", "at")
    assert parsed == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="at: must be an ISO 8601 datetime"):
        parse_aware_datetime("yesterday", "at")
    assert parse_date("2028-02-29") == date(2028, 2, 29)
    with pytest.raises(ValidationError, match="day: must be a YYYY-MM-DD date"):
        parse_date("2027-02-29", "day")


def test_unknown_zone_is_refused_TIME_2() -> None:
    with pytest.raises(ValidationError, match=r"timezone: unknown IANA time zone 'Mars/Base'"):
        zone("Mars/Base")


# --- TIME-2: the vendor's day -------------------------------------------------------------------


def test_vendor_date_is_the_day_in_the_vendor_zone_TIME_2() -> None:
    late_utc = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 Feb in Warsaw (UTC+1)
    assert vendor_date(late_utc, "Europe/Warsaw") == date(2026, 2, 1)
    assert vendor_date(late_utc, "UTC") == date(2026, 1, 31)
    assert local_midnight(date(2026, 7, 1), "Europe/Prague") == datetime(
        2026, 6, 30, 22, 0, tzinfo=UTC
    )


# --- TRIAL-1 decision: calendar days keep the wall clock across DST -----------------------------


def test_30_day_trial_across_october_dst_keeps_wall_clock_TRIAL_1() -> None:
    created = datetime(2026, 10, 5, 9, 0, tzinfo=WARSAW)  # CEST, UTC+2
    ends = add_calendar_days(created, 30)
    assert ends == datetime(2026, 11, 4, 9, 0, tzinfo=WARSAW)  # CET, UTC+1
    assert ends.astimezone(UTC) == datetime(2026, 11, 4, 8, 0, tzinfo=UTC)
    # Elapsed time is 30 days and 1 hour: clocks went back on 25 Oct. (Subtracting two datetimes
    # of the same tzinfo ignores the offsets in Python, so compare in UTC.)
    assert ends.astimezone(UTC) - created.astimezone(UTC) == timedelta(days=30, hours=1)


def test_trial_from_a_utc_instant_ends_at_vendor_wall_clock_TRIAL_1() -> None:
    created = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)  # 09:00 in Warsaw
    ends = add_calendar_days(created, 30, "Europe/Warsaw")
    assert ends.astimezone(UTC) == datetime(2026, 11, 4, 8, 0, tzinfo=UTC)


def test_a_wall_clock_time_skipped_by_spring_dst_moves_forward_TIME_2() -> None:
    # 2026-03-29 02:30 does not exist in Warsaw (02:00 → 03:00): the result is 03:30 CEST.
    result = add_calendar_days(datetime(2026, 3, 28, 2, 30, tzinfo=WARSAW), 1)
    assert result.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (result.hour, result.minute) == (3, 30)


@given(aware_datetimes(timezones=["Europe/Warsaw", "Europe/Prague"]), st.integers(-400, 400))
def test_add_calendar_days_keeps_the_wall_clock_when_it_exists_TRIAL_1(
    start: datetime, days: int
) -> None:
    result = add_calendar_days(start, days)
    expected_wall = start.replace(tzinfo=None) + timedelta(days=days)
    # The result is a real instant (round-trips through UTC) ...
    assert result.astimezone(UTC).astimezone(result.tzinfo) == result
    # ... on the expected day, at the same wall-clock time unless that time was skipped.
    assert result.date() == expected_wall.date()
    skipped = result.replace(tzinfo=None) - expected_wall
    assert skipped in (timedelta(0), timedelta(hours=1))


@given(dst_edge_datetimes(), st.integers(1, 60))
def test_add_calendar_days_and_back_is_the_same_day_and_time_TIME_2(
    start: datetime, days: int
) -> None:
    there = add_calendar_days(start, days)
    back = add_calendar_days(there, -days)
    assert back.date() == start.date()
    assert abs(back - start) <= timedelta(hours=1)


# --- TIME-4: month arithmetic clamps, from the anchor -------------------------------------------


def test_jan_31_plus_one_month_clamps_to_february_end_TIME_4() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    # From the anchor, never chained: +2 is 31 March, while (+1)+1 would be 28 March.
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)
    assert add_months(add_months(date(2026, 1, 31), 1), 1) == date(2026, 3, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)


def test_add_months_to_an_instant_keeps_the_wall_clock_TIME_4() -> None:
    created = datetime(2026, 10, 5, 9, 0, tzinfo=WARSAW)  # chmiuro: a 1-month trial
    assert add_months(created, 1) == datetime(2026, 11, 5, 9, 0, tzinfo=WARSAW)
    with pytest.raises(NaiveDatetimeError):
        add_months(datetime(2026, 1, 1), 1)


@given(dates(), st.integers(-240, 240))
def test_add_months_clamps_to_the_target_month_end_TIME_4(day: date, months: int) -> None:
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == min(day.day, days_in_month(result.year, result.month))


def test_february_lengths_TIME_4() -> None:
    assert days_in_month(2026, 2) == 28
    assert days_in_month(2028, 2) == 29
    assert days_in_month(2100, 2) == 28  # not a leap year (divisible by 100, not by 400)
    assert last_day_of_month(date(2028, 2, 3)) == date(2028, 2, 29)


# --- TIME-3: business days ----------------------------------------------------------------------


def test_polish_holidays_2026_include_easter_dependent_days_TIME_3() -> None:
    assert PL.is_holiday(date(2026, 4, 6))  # Easter Monday
    assert PL.is_holiday(date(2026, 6, 4))  # Corpus Christi (Thursday)
    assert not PL.is_business_day(date(2026, 6, 4))
    assert PL.is_business_day(date(2026, 6, 5))
    assert PL.is_holiday(date(2026, 11, 11))  # Independence Day
    assert PL.is_business_day(date(2026, 11, 17))  # a Czech holiday, not a Polish one


def test_czech_holidays_28_september_and_17_november_TIME_3() -> None:
    assert CZ.is_holiday(date(2026, 9, 28))  # St Wenceslas (a Monday in 2026)
    assert CZ.is_holiday(date(2026, 11, 17))  # Struggle for Freedom and Democracy (Tuesday)
    assert not CZ.is_business_day(date(2026, 9, 28))
    assert CZ.is_business_day(date(2026, 11, 11))  # a Polish holiday, not a Czech one
    assert CZ.holiday_name(date(2026, 11, 18)) is None


def test_add_business_days_skips_weekend_and_easter_monday_TIME_3() -> None:
    good_friday = date(2026, 4, 3)  # a business day in PL
    # Sat 4, Sun 5, Easter Monday 6 April are skipped: the next business day is Tue 7 April.
    assert PL.add_business_days(good_friday, 1) == date(2026, 4, 7)
    # Corpus Christi Thu 4 June: Wed 3 June + 1 business day = Fri 5 June.
    assert PL.add_business_days(date(2026, 6, 3), 1) == date(2026, 6, 5)
    assert PL.add_business_days(date(2026, 4, 7), -1) == good_friday
    assert PL.add_business_days(date(2026, 4, 4), 0) == date(2026, 4, 7)
    # 6..10 April 2026: Easter Monday off, so 4 business days.
    assert PL.business_days_between(date(2026, 4, 6), date(2026, 4, 10)) == 4
    assert PL.business_days_between(date(2026, 4, 10), date(2026, 4, 6)) == 0


@given(dates(date(2000, 1, 1), date(2090, 12, 31)), st.integers(-40, 40), st.booleans())
def test_add_business_days_never_lands_on_weekend_or_holiday_TIME_3(
    day: date, count: int, czech: bool
) -> None:
    calendar = CZ if czech else PL
    result = calendar.add_business_days(day, count)
    assert result.weekday() < 5
    assert not calendar.is_holiday(result)
    if count > 0:
        assert calendar.business_days_between(day + timedelta(days=1), result) == count
        assert result > day
    elif count < 0:
        assert calendar.business_days_between(result, day - timedelta(days=1)) == -count
        assert result < day


def test_unknown_country_is_refused_TIME_3() -> None:
    with pytest.raises(ValidationError, match=r"country: no public-holiday data .* \(TIME-3\)"):
        BusinessCalendar("XX")


def test_local_midnight_skipped_by_dst_is_a_real_instant_TIME_2() -> None:
    # Asia/Beirut moved clocks from 00:00 to 01:00 on 26 March 2023: midnight did not exist.
    midnight = local_midnight(date(2023, 3, 26), "Asia/Beirut")
    assert midnight.astimezone(UTC).astimezone(midnight.tzinfo) == midnight
    assert midnight.hour == 1


#: Zones whose clocks change at midnight (America/Santiago, America/Havana, Asia/Beirut,
#: America/Asuncion), elsewhere (Europe/Warsaw, Europe/Prague), or never (UTC).
_MIDNIGHT_ZONES = [
    "America/Santiago",
    "America/Havana",
    "Asia/Beirut",
    "America/Asuncion",
    "Europe/Warsaw",
    "Europe/Prague",
    "UTC",
]


def _changes(tz: str) -> list[tuple[str, date]]:
    """The days of 2020-2035 on which ``tz``'s clocks change (the offset at their noon and at
    the next day's noon differ)."""
    info = zone(tz)
    found = []
    day = date(2020, 1, 1)
    while day < date(2035, 12, 31):
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=info)
        if noon.utcoffset() != (noon + timedelta(days=1)).utcoffset():
            found += [(tz, day), (tz, day + timedelta(days=1))]
        day += timedelta(days=1)
    return found


_CHANGE_DAYS = [pair for tz in _MIDNIGHT_ZONES for pair in _changes(tz)]


@given(
    st.one_of(
        st.tuples(st.sampled_from(_MIDNIGHT_ZONES), st.dates(date(2020, 1, 1), date(2035, 12, 31))),
        st.sampled_from(_CHANGE_DAYS),  # the days the clocks change, and the days after them
    )
)
def test_time_2_the_end_of_a_day_is_its_last_microsecond(zone_and_day: tuple[str, date]) -> None:
    """TIME-2: ``end_of_day`` is of its day, and one microsecond (elapsed) later is the next
    day, also where a day's last hour is lived twice because the clocks go back at midnight."""
    tz, day = zone_and_day
    end = end_of_day(day, tz)
    assert vendor_date(end, tz) == day
    after = end.astimezone(UTC) + timedelta(microseconds=1)
    assert vendor_date(after, tz) == day + timedelta(days=1)


def test_time_2_a_day_whose_last_hour_is_lived_twice_ends_after_the_second() -> None:
    """Santiago, 4 April 2026: at 24:00 (-03:00) the clocks go back to 23:00 (-04:00); the
    day ends at 23:59:59.999999-04:00, 03:59:59.999999 UTC on the 5th (one hour later than the
    first 23:59:59.999999, -03:00)."""
    end = end_of_day(date(2026, 4, 4), "America/Santiago")
    assert end.astimezone(UTC) == datetime(2026, 4, 5, 3, 59, 59, 999999, tzinfo=UTC)
