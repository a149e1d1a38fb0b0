"""Time for day-based rules: aware instants, vendor days, months and business days.

- TIME-1: every instant is timezone-aware; :func:`require_aware` refuses naive ones.
- TIME-2: day-based rules use the vendor's zone; :func:`vendor_date` answers "which day is it".
- TIME-3: :class:`BusinessCalendar` skips weekends and the country's public holidays.
- TIME-4: :func:`add_months` clamps to month end, always from the anchor.

>>> from datetime import date
>>> add_months(date(2026, 1, 31), 1), add_months(date(2028, 1, 31), 1)
(datetime.date(2026, 2, 28), datetime.date(2028, 2, 29))
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from dateutil.relativedelta import relativedelta

from crmcore.errors import NaiveDatetimeError, ValidationError, short_repr

__all__ = [
    "FIRST_EVALUATED_DAY",
    "LAST_EVALUATED_DAY",
    "BusinessCalendar",
    "add_calendar_days",
    "add_months",
    "days_in_month",
    "end_of_day",
    "last_day_of_month",
    "local_midnight",
    "parse_aware_datetime",
    "parse_date",
    "require_aware",
    "require_day",
    "require_in_calendar",
    "vendor_date",
    "zone",
]

D = TypeVar("D", date, datetime)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name, with a typed error for unknown names (TIME-2)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown IANA time zone {short_repr(name)}", field="timezone", rule="TIME-2"
        ) from None


def require_aware(value: datetime, field: str = "datetime") -> datetime:
    """Return ``value`` if it is an aware datetime; raise ``NaiveDatetimeError`` (TIME-1)."""
    if not isinstance(value, datetime):
        raise ValidationError(
            f"must be a datetime, got {short_repr(value)}", field=field, rule="TIME-1"
        )
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(field, value)
    return value


#: The days crmcore evaluates a tenant's life on: an event's instant, a billing or a status
#: day. The last leaves room for what an evaluation looks ahead to (an annual period from
#: that day ends in 9999); an instant in 9999 could not be billed.
FIRST_EVALUATED_DAY = date(1900, 1, 1)
LAST_EVALUATED_DAY = date(9998, 12, 31)


def require_in_calendar(value: datetime, field: str = "datetime") -> datetime:
    """``value`` (aware) if its own date lies from :data:`FIRST_EVALUATED_DAY` to
    :data:`LAST_EVALUATED_DAY`, else a ValidationError naming ``field`` and the value
    (TIME-1)."""
    require_aware(value, field)
    _evaluated(value.date(), value.isoformat(), field, "TIME-1")
    return value


def require_day(value: object, field: str = "day") -> date:
    """``value`` if it is a date (not a datetime: a vendor day, TIME-2) from
    :data:`FIRST_EVALUATED_DAY` to :data:`LAST_EVALUATED_DAY`, else a ValidationError
    naming ``field``."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError(
            f"must be a date (a vendor day), got {short_repr(value)}", field=field, rule="TIME-2"
        )
    _evaluated(value, value.isoformat(), field, "TIME-2")
    return value


def _evaluated(day: date, shown: str, field: str, rule: str) -> None:
    if not FIRST_EVALUATED_DAY <= day <= LAST_EVALUATED_DAY:
        raise ValidationError(
            f"must lie from {FIRST_EVALUATED_DAY} to {LAST_EVALUATED_DAY}, got {shown}",
            field=field,
            rule=rule,
        )


def parse_aware_datetime(text: object, field: str = "datetime") -> datetime:
    """Parse an ISO 8601 datetime string that carries an offset (TIME-1)."""
    if not isinstance(text, str):
        raise ValidationError(
            f"must be an ISO 8601 datetime string, got {short_repr(text)}", field=field
        )
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"must be an ISO 8601 datetime, got {short_repr(text)}", field=field
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(field, text)  # shows the text given, not a datetime repr
    return value


def parse_date(text: object, field: str = "date") -> date:
    """Parse an ISO 8601 calendar date ``YYYY-MM-DD``."""
    if not isinstance(text, str):
        raise ValidationError(
            f"must be a YYYY-MM-DD date string, got {short_repr(text)}", field=field
        )
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"must be a YYYY-MM-DD date, got {short_repr(text)}", field=field
        ) from None


def vendor_date(instant: datetime, tz: tzinfo | str) -> date:
    """The calendar day of ``instant`` in the vendor's zone (TIME-2)."""
    require_aware(instant, "instant")
    zone_info = zone(tz) if isinstance(tz, str) else tz
    return instant.astimezone(zone_info).date()


def local_midnight(day: date, tz: tzinfo | str) -> datetime:
    """00:00 of ``day`` in the vendor's zone, as an aware datetime (TIME-2)."""
    zone_info = zone(tz) if isinstance(tz, str) else tz
    # In a few zones a DST change skips midnight itself; _localize moves it to a real instant.
    return _localize(datetime.combine(day, time(0)), zone_info)


@lru_cache(maxsize=256)
def end_of_day(day: date, tz: tzinfo | str) -> datetime:
    """The last microsecond of ``day`` in the vendor's zone (TIME-2): an event at or before it
    belongs to that vendor day. The one definition of "the end of a vendor's day" (cached: a
    run asks it for the same day for every tenant).

    >>> end_of_day(date(2026, 3, 28), "Europe/Warsaw").isoformat()
    '2026-03-28T23:59:59.999999+01:00'

    One microsecond before the next day's first instant, counted in elapsed time: where the
    clocks go back at midnight (America/Santiago on 4 April 2026, 24:00 → 23:00) the day's
    last hour is lived twice and ends at the second 23:59:59.999999.

    >>> end_of_day(date(2026, 4, 4), "America/Santiago").isoformat()
    '2026-04-04T23:59:59.999999-04:00'
    """
    following = local_midnight(day + timedelta(days=1), tz)
    return (following.astimezone(UTC) - timedelta(microseconds=1)).astimezone(following.tzinfo)


def _wall_clock(value: datetime, tz: tzinfo | str | None) -> datetime:
    require_aware(value, "instant")
    if tz is None:
        return value
    zone_info = zone(tz) if isinstance(tz, str) else tz
    return value.astimezone(zone_info)


def add_calendar_days(instant: datetime, days: int, tz: tzinfo | str | None = None) -> datetime:
    """``days`` calendar days later at the same wall-clock time in ``tz`` (TRIAL-1 decision).

    DST-safe: created 5 Oct 09:00 Warsaw + 30 days ends 4 Nov 09:00 Warsaw, although the clocks
    went back in between (the elapsed time is 30 days and 1 hour).
    """
    local = _wall_clock(instant, tz)
    zone_info = local.tzinfo
    naive = local.replace(tzinfo=None) + timedelta(days=days)
    return _localize(naive, zone_info)


def add_months(value: D, months: int, tz: tzinfo | str | None = None) -> D:
    """``months`` months after ``value``, clamped to month end (TIME-4).

    Always computed from the anchor: ``add_months(jan31, 2)`` is 31 March, not 28 March.
    Aware datetimes keep their wall-clock time in ``tz`` (or their own zone).
    """
    if isinstance(value, datetime):
        local = _wall_clock(value, tz)
        naive = local.replace(tzinfo=None) + relativedelta(months=months)
        return _localize(naive, local.tzinfo)
    return value + relativedelta(months=months)


def _localize(naive: datetime, zone_info: tzinfo | None) -> datetime:
    """Attach ``zone_info`` to a wall-clock time; a time skipped by DST moves forward."""
    candidate = naive.replace(tzinfo=zone_info)
    if zone_info is None:
        return candidate
    # A wall-clock time in a spring-forward gap does not exist; zoneinfo would give it an
    # offset that does not round-trip. Normalise through UTC so the result is a real instant
    # (``astimezone`` to the datetime's own tzinfo is a no-op, hence the detour).
    return candidate.astimezone(UTC).astimezone(zone_info)


def last_day_of_month(day: date) -> date:
    """The last calendar day of ``day``'s month."""
    return day.replace(day=monthrange(day.year, day.month)[1])


def days_in_month(year: int, month: int) -> int:
    """28-31 (PRO-1 counts actual calendar days)."""
    return last_day_of_month(date(year, month, 1)).day


class BusinessCalendar:
    """Business days of one country: not Saturday, not Sunday, not a public holiday (TIME-3).

    Holidays come from the ``holidays`` package, Easter-dependent days included
    (PL 2026: Easter Monday 6 April, Corpus Christi 4 June).
    """

    def __init__(self, country: str, subdivision: str | None = None):
        try:
            self._holidays = holidays.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            raise ValidationError(
                f"no public-holiday data for country {short_repr(country)}",
                field="country",
                rule="TIME-3",
            ) from None
        self.country = country

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.country!r})"

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def add_business_days(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (``day`` itself not counted).

        ``count == 0`` returns ``day`` if it is a business day, else the next one.
        Negative counts go backwards.
        """
        if count == 0:
            result = day
            while not self.is_business_day(result):
                result += timedelta(days=1)
            return result
        step = timedelta(days=1 if count > 0 else -1)
        remaining = abs(count)
        result = day
        while remaining:
            result += step
            if self.is_business_day(result):
                remaining -= 1
        return result

    def business_days_between(self, first: date, last: date) -> int:
        """Business days from ``first`` to ``last``, both included (0 if ``last < first``)."""
        count = 0
        day = first
        while day <= last:
            if self.is_business_day(day):
                count += 1
            day += timedelta(days=1)
        return count
