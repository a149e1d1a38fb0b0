"""Service level and credits (SLA-1..7): monthly availability from outage records.

- SLA-5: availability = (minutes in month − downtime minutes) / minutes in month, as an exact
  :class:`~fractions.Fraction` (in percent); overlapping outages are merged first.
- SLA-1 / SLA-2: the availability is never rounded before it is compared with the tiers
  (:meth:`crmcore.policies.SlaPolicy.credit_ratio`).
- SLA-2 / SLA-5: every calendar month an outage covers is looked at, not only the months in
  which it starts and ends (:func:`outage_months`): a month wholly inside one outage is at 0 %.
- SLA-3: the fee is the subscription fee of the billing period that began in the month; for a
  period of several months (an annual period, a 3- or 6-month prepaid term) the period's fee
  divided by its number of calendar months, for each calendar month it covers.
- SLA-4: not downtime — force majeure, integrations, third-party add-ons, the customer's own
  equipment, and announced maintenance *outside* business hours (08:00-17:00 on business days,
  vendor time, TIME-3), announced at least ``maintenance_lead_hours`` before it starts.
  Maintenance announced too late (or never) counts in full.
- SLA-6: the credit is a negative ``sla_credit`` line on the next invoice, never above the fee
  and never making the invoice negative; the rest carries forward (:func:`credit_line`).
- SLA-7: a policy without tiers (livespace's 99.98% target) never gives a credit.
- A vendor that states no service level (``VendorPolicy.sla=None``: chmiuro, smartmail,
  optimasales) gives no credit, and with no SLA-4 terms every outage counts in full.

Decision: "minutes in month" are real elapsed minutes between 00:00 on the 1st and 00:00 on
the 1st of the next month in the vendor's zone, so March in Prague has 44 580 minutes (one hour
fewer) and October 44 700 (one hour more). A month is a stretch of real time; an outage hour
lost to the spring clock change was never available to lose.

>>> from datetime import datetime
>>> from crmcore.dates import zone
>>> from crmcore.presets import preset
>>> prague = zone("Europe/Prague")
>>> outage = Outage(datetime(2026, 4, 7, 10, tzinfo=prague),
...                 datetime(2026, 4, 7, 16, tzinfo=prague), OutageKind.UNPLANNED)
>>> month = month_availability([outage], preset("raynet"), 2026, 4)
>>> month.downtime_minutes, month.minutes_in_month, month.percent   # 100 * (43200 - 360) / 43200
(Fraction(360, 1), 43200, Fraction(595, 6))
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs
from dateutil.relativedelta import relativedelta

from crmcore.catalog import Cycle
from crmcore.dates import require_aware, zone
from crmcore.errors import SlaError
from crmcore.invoices import Invoice, InvoiceLine, LineKind
from crmcore.money import Money, minor_units, round_half_up
from crmcore.policies import SlaPolicy, VendorPolicy

__all__ = [
    "EXCLUDED_KINDS",
    "MonthAvailability",
    "Outage",
    "OutageKind",
    "SlaCredit",
    "counted_downtime",
    "credit_line",
    "fee_for_month",
    "minutes_in_month",
    "month_availability",
    "month_bounds",
    "outage_months",
    "pending_credit",
    "sla_credit",
]

_UTC = UTC


class OutageKind(enum.StrEnum):
    """What caused an unavailability (SLA-4)."""

    UNPLANNED = "unplanned"
    MAINTENANCE = "maintenance"
    FORCE_MAJEURE = "force_majeure"
    INTEGRATION = "integration"
    ADDON = "addon"
    CUSTOMER_EQUIPMENT = "customer_equipment"


EXCLUDED_KINDS: frozenset[OutageKind] = frozenset(
    {
        OutageKind.FORCE_MAJEURE,
        OutageKind.INTEGRATION,
        OutageKind.ADDON,
        OutageKind.CUSTOMER_EQUIPMENT,
    }
)
"""Kinds that are never downtime (SLA-4)."""


@attrs.frozen
class Outage:
    """One unavailability from ``start`` (inclusive) to ``end`` (exclusive), aware instants."""

    start: datetime
    end: datetime
    kind: OutageKind = OutageKind.UNPLANNED
    announced: datetime | None = None  # maintenance only: when it was announced (SLA-4)

    def __attrs_post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.announced is not None:
            require_aware(self.announced, "announced")
        if self.end <= self.start:
            raise SlaError(
                f"must be after start {self.start.isoformat()}, got {self.end.isoformat()}",
                field="until",
                rule="SLA-5",
            )


Interval = tuple[datetime, datetime]


def month_bounds(year: int, month: int, tz: str) -> Interval:
    """00:00 on the 1st to 00:00 on the 1st of the next month, vendor time, as UTC instants."""
    zone_info = zone(tz)
    first = datetime(year, month, 1, tzinfo=zone_info)
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone_info)
    return first.astimezone(_UTC), following.astimezone(_UTC)


def outage_months(outages: Iterable[Outage], tz: str) -> list[tuple[int, int]]:
    """Every calendar month (vendor time) that any outage covers, in order (SLA-2, SLA-5).

    From the month of the start to the month of the last instant before the (exclusive) end,
    with every month in between: an outage from 31 March 22:00 to 1 May 02:00 covers March,
    April and May, and April lies wholly inside it.

    >>> from crmcore.dates import zone
    >>> prague = zone("Europe/Prague")
    >>> outage_months([Outage(datetime(2026, 3, 31, 22, tzinfo=prague),
    ...                       datetime(2026, 5, 1, 2, tzinfo=prague))], "Europe/Prague")
    [(2026, 3), (2026, 4), (2026, 5)]
    """
    zone_info = zone(tz)
    months: set[tuple[int, int]] = set()
    for outage in outages:
        first = outage.start.astimezone(zone_info)
        # ``end`` is exclusive: an outage ending at 00:00 on the 1st does not touch that month.
        last = (outage.end.astimezone(_UTC) - timedelta(microseconds=1)).astimezone(zone_info)
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            months.add((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(months)


def minutes_in_month(year: int, month: int, tz: str) -> int:
    """Real elapsed minutes of a calendar month in ``tz`` (DST months differ by 60)."""
    start, end = month_bounds(year, month, tz)
    return int((end - start).total_seconds()) // 60


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _business_windows(
    start: datetime, end: datetime, policy: VendorPolicy, sla: SlaPolicy
) -> list[Interval]:
    """Business-hours windows (SLA-4 decision, TIME-3) touching [start, end), as UTC."""
    zone_info = zone(policy.timezone)
    calendar = policy.business_calendar()
    day: date = start.astimezone(zone_info).date()
    last: date = end.astimezone(zone_info).date()
    windows: list[Interval] = []
    while day <= last:
        if calendar.is_business_day(day):
            opens = datetime.combine(day, sla.business_hours_start, tzinfo=zone_info)
            closes = datetime.combine(day, sla.business_hours_end, tzinfo=zone_info)
            windows.append((opens.astimezone(_UTC), closes.astimezone(_UTC)))
        day += timedelta(days=1)
    return windows


def _intersect(a: Interval, b: Interval) -> Interval | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def _counted_parts(outage: Outage, policy: VendorPolicy) -> list[Interval]:
    span = (outage.start.astimezone(_UTC), outage.end.astimezone(_UTC))
    if policy.sla is None:  # no service level stated: no SLA-4 exclusions either
        return [span]
    if outage.kind in EXCLUDED_KINDS:
        return []
    if outage.kind is OutageKind.MAINTENANCE and _announced_in_time(outage, policy.sla):
        # Only the part inside business hours is downtime (SLA-4 decision).
        parts = (_intersect(span, w) for w in _business_windows(*span, policy, policy.sla))
        return [p for p in parts if p is not None]
    return [span]


def _announced_in_time(outage: Outage, sla: SlaPolicy) -> bool:
    if outage.announced is None:
        return False
    lead = timedelta(hours=sla.maintenance_lead_hours)
    return outage.announced <= outage.start - lead


def counted_downtime(
    outages: Iterable[Outage], policy: VendorPolicy, year: int, month: int
) -> list[Interval]:
    """The merged downtime intervals (UTC) inside the month after the SLA-4 exclusions."""
    bounds = month_bounds(year, month, policy.timezone)
    parts: list[Interval] = []
    for outage in outages:
        for part in _counted_parts(outage, policy):
            clipped = _intersect(part, bounds)
            if clipped is not None:
                parts.append(clipped)
    return _merge(parts)


@attrs.frozen
class MonthAvailability:
    """Availability of one calendar month (SLA-5), exact."""

    year: int
    month: int
    downtime_minutes: Fraction
    minutes_in_month: int

    @property
    def ratio(self) -> Fraction:
        return (self.minutes_in_month - self.downtime_minutes) / self.minutes_in_month

    @property
    def percent(self) -> Fraction:
        """In percent, exact: compare it with tiers, never round it first (SLA-2)."""
        return self.ratio * 100


def month_availability(
    outages: Iterable[Outage], policy: VendorPolicy, year: int, month: int
) -> MonthAvailability:
    """Availability of calendar month ``year-month`` in the vendor's zone (SLA-4, SLA-5)."""
    if not 1 <= month <= 12:
        raise SlaError(f"must be 1..12, got {month}", field="month", rule="SLA-1")
    # Exact to the microsecond: no truncation to whole seconds (SLA-2: never rounded).
    microseconds = sum(
        (end - start) // timedelta(microseconds=1)
        for start, end in counted_downtime(outages, policy, year, month)
    )
    return MonthAvailability(
        year,
        month,
        Fraction(microseconds, 60_000_000),
        minutes_in_month(year, month, policy.timezone),
    )


@attrs.frozen
class SlaCredit:
    """The credit a month earns (SLA-2, SLA-3): ``amount`` = fee × ``ratio``, rounded once."""

    year: int
    month: int
    availability_percent: Fraction
    ratio: Decimal
    fee: Fraction
    amount: Money
    rule: str = "SLA-2"

    @property
    def earned(self) -> bool:
        return not self.amount.is_zero()


def sla_credit(
    availability: MonthAvailability,
    period_fee: Money,
    cycle: Cycle | int,
    policy: VendorPolicy,
) -> SlaCredit:
    """The credit for one month (SLA-2, SLA-3).

    ``period_fee`` is the subscription fee of the billing period that began in the month, or of
    the period of several months covering it; ``cycle`` says how many calendar months that fee
    pays for: ``Cycle.MONTHLY`` (1), ``Cycle.ANNUAL`` (12) or a prepaid term's months (3, 6, ...).
    The month's fee is ``period_fee / months`` (SLA-3); the credit is ``fee × ratio`` rounded
    half-up once and never above the fee (SLA-6).

    >>> from crmcore.presets import preset
    >>> month = MonthAvailability(2026, 4, Fraction(43200 * 8, 1000), 43200)   # 99.2 %
    >>> str(sla_credit(month, Money.of("2500.00", "CZK"), Cycle.MONTHLY, preset("raynet")).amount)
    '875.00 CZK'
    >>> str(sla_credit(month, Money.of("7500.00", "CZK"), 3, preset("raynet")).amount)  # /3×0.35
    '875.00 CZK'
    """
    count = _months_paid(cycle)
    fee = Fraction(period_fee.amount) / count  # SLA-3
    ratio = Decimal(0) if policy.sla is None else policy.sla.credit_ratio(availability.percent)
    exact = min(fee * Fraction(ratio), fee)
    amount = Money(round_half_up(exact, minor_units(period_fee.currency)), period_fee.currency)
    return SlaCredit(
        availability.year,
        availability.month,
        availability.percent,
        ratio,
        fee,
        amount,
    )


_CYCLE_MONTHS = {Cycle.MONTHLY: 1, Cycle.ANNUAL: 12}


def _months_paid(months: Cycle | int) -> int:
    if isinstance(months, str):
        try:
            return _CYCLE_MONTHS[Cycle(months)]
        except ValueError:
            pass
    elif isinstance(months, int) and not isinstance(months, bool) and months >= 1:
        return months
    raise SlaError(
        f"must be a cycle or a number of months >= 1, got {months!r}", field="cycle", rule="SLA-3"
    )


def _calendar_months(first: date, last: date) -> int:
    """The calendar months of the period ``first``..``last``: the ``n`` with ``first + n months
    − 1 day = last`` (month arithmetic from the anchor, TIME-4); a period whose end was clamped
    from another anchor (29 Feb) is off by a day, so the nearest whole number of months."""
    days = Fraction((last - first).days + 1)
    estimate = max(1, round(days * 12 / Fraction("365.2425")))
    for n in (estimate, estimate - 1, estimate + 1):
        if n >= 1 and first + relativedelta(months=n) - timedelta(days=1) == last:
            return n
    return estimate


def fee_for_month(
    invoices: Iterable[Invoice], year: int, month: int
) -> tuple[Money, Cycle | int] | None:
    """The SLA-3 fee base for a month, read from the subscription lines of issued invoices:
    ``(period fee, months)`` for :func:`sla_credit`, ``months`` being what the fee pays for.

    Monthly cycle: the subscription lines of the billing period that *began* in the month (a
    prorated first period included), with ``Cycle.MONTHLY``. A period of several calendar
    months covering the month: an annual period with ``Cycle.ANNUAL`` (12), a prepaid term
    (TERM-1) with its number of calendar months (3, 6, 12...), so that each month it covers
    counts ``fee / months`` (a 3-month term of 7500.00: 2500.00 a month). When two such periods
    cover the month, the one that began last (in the month, if one did). ``None`` when no
    period applies.

    >>> from decimal import Decimal
    >>> line = InvoiceLine(LineKind.SUBSCRIPTION, "TERM-1", Money.of("7500.00", "PLN"),
    ...                    first_day=date(2026, 2, 15), last_day=date(2026, 5, 14))
    >>> term = Invoice("acme", "1", "2026", date(2026, 2, 15), date(2026, 2, 15), "PLN",
    ...                Decimal("0.23"), [line])
    >>> fee, months = fee_for_month([term], 2026, 4)
    >>> str(fee), months
    ('7500.00 PLN', 3)
    """
    first = date(year, month, 1)
    last = first + relativedelta(day=31)
    monthly: Money | None = None
    covering: tuple[date, Money, Cycle | int] | None = None
    for invoice in invoices:
        for line in invoice.lines:
            if line.kind is not LineKind.SUBSCRIPTION:
                continue
            if line.first_day is None or line.last_day is None:
                continue
            months = _calendar_months(line.first_day, line.last_day)
            prepaid = line.rule == "TERM-1"
            if months > 1 or prepaid:  # a period of several months, or a prepaid term
                covers = line.first_day <= last and line.last_day >= first
                if covers and (covering is None or line.first_day > covering[0]):
                    paid_for = Cycle.ANNUAL if months == 12 and not prepaid else months
                    covering = (line.first_day, line.net, paid_for)
            elif first <= line.first_day <= last:
                monthly = line.net if monthly is None else monthly + line.net
    if covering is not None:
        return covering[1], covering[2]
    return None if monthly is None else (monthly, Cycle.MONTHLY)


def credit_line(
    pending: Money, invoice_net: Money, description: str = ""
) -> tuple[InvoiceLine | None, Money]:
    """The ``sla_credit`` line for an invoice and what carries forward (SLA-6).

    ``pending`` is the credit owed (positive); ``invoice_net`` the invoice's net before the
    credit. The line never makes the invoice negative: the rest is returned to carry forward.

    >>> line, rest = credit_line(Money.of("875.00", "CZK"), Money.of("500.00", "CZK"))
    >>> str(line.net), str(rest)
    ('-500.00 CZK', '375.00 CZK')
    """
    if pending.is_negative():
        raise SlaError(f"must be >= 0, got {pending}", field="pending", rule="SLA-6")
    room = invoice_net if invoice_net.amount > 0 else Money.zero(invoice_net.currency)
    used = pending if pending <= room else room
    if used.is_zero():
        return None, pending
    line = InvoiceLine(LineKind.SLA_CREDIT, "SLA-6", -used, description=description)
    return line, pending - used


def pending_credit(credits: Sequence[SlaCredit], currency: str) -> Money:
    """The sum of earned credits not yet applied (SLA-6 carry-forward starts here)."""
    result = Money.zero(currency)
    for credit in credits:
        result = result + credit.amount
    return result
