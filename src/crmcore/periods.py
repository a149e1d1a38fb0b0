"""Billing periods in whole calendar days (BILL-1, PRO-1).

A :class:`Period` runs from ``first_day`` to ``last_day``, both included. Monthly periods are
calendar months; an annual period runs 12 months from its anchor date, month ends clamped from
the anchor (TIME-4). Fractions are exact ``Fraction`` values of actual calendar days.

>>> from datetime import date
>>> january = Period.calendar_month(2026, 1)
>>> january.days, january.remaining_fraction(date(2026, 1, 20))
(31, Fraction(12, 31))
>>> Period.annual(date(2026, 3, 15)).month_of(date(2027, 3, 1))
12
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache

import attrs
from dateutil.relativedelta import relativedelta

from crmcore.dates import last_day_of_month
from crmcore.errors import PeriodError

__all__ = ["Period"]


@attrs.frozen(order=True)
class Period:
    """Calendar days ``first_day``..``last_day`` (inclusive)."""

    first_day: date
    last_day: date

    def __attrs_post_init__(self) -> None:
        for name in ("first_day", "last_day"):
            value = getattr(self, name)
            # A datetime is a date subclass, but a period counts whole calendar days.
            if isinstance(value, datetime) or not isinstance(value, date):
                raise PeriodError(
                    f"must be a calendar date, got {value!r}", field=name, rule="BILL-1"
                )
        if self.last_day < self.first_day:
            raise PeriodError(
                f"last_day {self.last_day} is before first_day {self.first_day}",
                field="period",
                rule="BILL-1",
            )

    # --- constructors ------------------------------------------------------------------------

    @classmethod
    def calendar_month(cls, year: int, month: int) -> Period:
        """The calendar month ``year-month`` (BILL-1 monthly cycle)."""
        if not 1 <= month <= 12:
            raise PeriodError(f"month must be 1..12, got {month}", field="month", rule="BILL-1")
        if cls is Period:  # periods are frozen values: share them (billing asks for each month
            return _calendar_month(year, month)  # of every tenant's history)
        first = date(year, month, 1)
        return cls(first, last_day_of_month(first))

    @classmethod
    def month_containing(cls, day: date) -> Period:
        """The calendar month that contains ``day``."""
        return cls.calendar_month(day.year, day.month)

    @classmethod
    def annual(cls, start: date, n: int = 0) -> Period:
        """The ``n``-th 12-month period from anchor ``start`` (BILL-1 annual cycle).

        Both ends are computed from the anchor (never chained), so an anchor of 29 Feb 2028
        gives 2028-02-29..2029-02-27, then 2029-02-28..2030-02-27, and so on.
        """
        if n < 0:
            raise PeriodError(f"n must be >= 0, got {n}", field="n", rule="BILL-1")
        if cls is Period and type(start) is date:
            return _annual(start, n)
        first = start + relativedelta(months=12 * n)
        following = start + relativedelta(months=12 * (n + 1))
        return cls(first, following - timedelta(days=1))

    @classmethod
    def months(cls, start: date, months: int) -> Period:
        """``months`` months from ``start`` (a prepaid term, TERM-1), end clamped."""
        if months <= 0:
            raise PeriodError(
                f"months must be positive, got {months}", field="months", rule="TERM-1"
            )
        return cls(start, start + relativedelta(months=months) - timedelta(days=1))

    # --- questions ---------------------------------------------------------------------------

    @property
    def days(self) -> int:
        """Calendar days in the period (28-31 for a month, 365/366 for a year)."""
        return (self.last_day - self.first_day).days + 1

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.contains(day)

    def _require(self, day: date, field: str) -> None:
        if not self.contains(day):
            raise PeriodError(f"{day} is outside {self}", field=field, rule="PRO-1")

    def fraction(self, first_day: date, last_day: date) -> Fraction:
        """(days from ``first_day`` to ``last_day``, both included) / (days in period) (PRO-1)."""
        self._require(first_day, "first_day")
        self._require(last_day, "last_day")
        if last_day < first_day:
            raise PeriodError(
                f"last_day {last_day} is before first_day {first_day}",
                field="last_day",
                rule="PRO-1",
            )
        return Fraction((last_day - first_day).days + 1, self.days)

    def remaining_fraction(self, day: date) -> Fraction:
        """The PRO-1 fraction for a change on ``day``: from ``day`` to the period's end."""
        return self.fraction(day, self.last_day)

    def remaining_days(self, day: date) -> int:
        self._require(day, "day")
        return (self.last_day - day).days + 1

    def month_of(self, day: date) -> int:
        """Which month (1..12) of an annual period ``day`` falls in (the 12th-month rule, PRO-3).

        Month ``m`` runs from ``first_day + (m-1) months`` to the day before
        ``first_day + m months``; the 12th month runs to ``last_day``. (An annual period whose
        anchor is 29 Feb may start on 28 Feb and end on 28 Feb of a leap year: that last day
        still belongs to month 12.)
        """
        self._require(day, "day")
        for m in range(1, 12):
            if day < self.first_day + relativedelta(months=m):
                return m
        return 12

    def next(self, monthly: bool) -> Period:
        """The period right after this one: the next calendar month, or the next 12 months.

        The annual case starts from the day after ``last_day``; for a sequence of annual
        periods anchored on one date use ``Period.annual(anchor, n + 1)``, which computes from
        the anchor (TIME-4) and brings a 29 Feb anchor back in leap years.
        """
        start = self.last_day + timedelta(days=1)
        if monthly:
            return Period.month_containing(start)
        return Period.annual(start)

    def split(self, day: date) -> tuple[Period, Period]:
        """Two pieces: ``first_day..day-1`` and ``day..last_day`` (``day`` must be inside and
        not the first day)."""
        self._require(day, "day")
        if day == self.first_day:
            raise PeriodError("cannot split on the first day", field="day", rule="PRO-1")
        return Period(self.first_day, day - timedelta(days=1)), Period(day, self.last_day)

    def each_day(self) -> Iterator[date]:
        day = self.first_day
        while day <= self.last_day:
            yield day
            day += timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"


@lru_cache(maxsize=4096)
def _calendar_month(year: int, month: int) -> Period:
    first = date(year, month, 1)
    return Period(first, date(year, month, monthrange(year, month)[1]))


@lru_cache(maxsize=65536)
def _annual(start: date, n: int) -> Period:
    first = start + relativedelta(months=12 * n)
    following = start + relativedelta(months=12 * (n + 1))
    return Period(first, following - timedelta(days=1))
