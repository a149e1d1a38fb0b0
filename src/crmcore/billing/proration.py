"""Proration (PRO-1..7, TERM-3): exact charges before their single rounding.

A :class:`Charge` is one unrounded piece of an invoice: a per-seat unit price over a whole
period, a seat count and the PRO-1 fraction (days from the change to the period's end, both
included, over the days in the period). :func:`lines_from_charges` merges charges that differ
only in their seat count (so buying 3 seats at once or 1 + 2 the same day gives one line and
the same amount) and rounds each line once, half-up (BILL-7).

>>> from datetime import date
>>> from crmcore.invoices import LineKind
>>> from crmcore.money import Money
>>> from crmcore.periods import Period
>>> january = Period.calendar_month(2026, 1)
>>> c = prorated(LineKind.SUBSCRIPTION, "BILL-1", "standard", 5, Money.of("500.00", "CZK"),
...              january, date(2026, 1, 20))
>>> line, = lines_from_charges([c])
>>> str(line.net), line.fraction, fraction_text(line)
('967.74 CZK', Fraction(12, 31), '12/31')
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from fractions import Fraction

import attrs

from crmcore.invoices import InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.periods import Period

__all__ = ["Charge", "fraction_text", "full_period", "lines_from_charges", "prorated"]


@attrs.frozen
class Charge:
    """``unit × seats × days/period_days`` (``days == period_days``: not prorated)."""

    kind: LineKind
    rule: str
    plan: str | None
    seats: int
    unit: Money  # per seat for the whole period (or the price difference, PRO-4)
    first_day: date
    last_day: date
    period_days: int
    prorated: bool
    description: str = ""

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.days, self.period_days)

    def merge_key(self) -> tuple[object, ...]:
        return (
            self.kind,
            self.rule,
            self.plan,
            self.unit,
            self.first_day,
            self.last_day,
            self.period_days,
            self.prorated,
            self.description,
        )


def prorated(
    kind: LineKind,
    rule: str,
    plan: str | None,
    seats: int,
    unit: Money,
    period: Period,
    day: date,
    description: str = "",
) -> Charge:
    """A charge from ``day`` to the end of ``period`` (PRO-1 fraction)."""
    return Charge(
        kind, rule, plan, seats, unit, day, period.last_day, period.days, True, description
    )


def full_period(
    kind: LineKind, rule: str, plan: str | None, seats: int, unit: Money, period: Period
) -> Charge:
    """A whole-period charge (BILL-2): no fraction."""
    return Charge(
        kind, rule, plan, seats, unit, period.first_day, period.last_day, period.days, False
    )


def lines_from_charges(charges: Iterable[Charge]) -> list[InvoiceLine]:
    """Invoice lines, one per distinct charge (seat counts summed), each rounded once."""
    pieces = list(charges)
    merged: dict[tuple[object, ...], Charge] = {}
    if len(pieces) > 1:  # nothing to merge in the usual one-charge invoice
        for charge in pieces:
            key = charge.merge_key()
            if key in merged:
                merged[key] = attrs.evolve(merged[key], seats=merged[key].seats + charge.seats)
            else:
                merged[key] = charge
        pieces = list(merged.values())
    lines = []
    for charge in pieces:
        days = (charge.last_day - charge.first_day).days + 1  # Charge.days, inlined
        net = (charge.unit * charge.seats).times_ratio(days, charge.period_days)
        lines.append(
            InvoiceLine(
                charge.kind,
                charge.rule,
                net,
                charge.plan,
                charge.seats,
                charge.first_day,
                charge.last_day,
                Fraction(days, charge.period_days) if charge.prorated else None,
                charge.description,
            )
        )
    return lines


def fraction_text(line: InvoiceLine) -> str | None:
    """``days/days_in_period`` unreduced (``15/30``, not ``1/2``), as invoices show it."""
    if line.fraction is None or line.first_day is None or line.last_day is None:
        return None
    days = (line.last_day - line.first_day).days + 1
    period_days = Fraction(days) / line.fraction
    return f"{days}/{period_days.numerator}"
