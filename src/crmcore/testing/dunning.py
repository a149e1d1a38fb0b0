"""Hypothesis strategies for the dunning, SLA and limits families (public).

One module of the test kit's family modules (:mod:`crmcore.testing`); users property-test
their own code with them.

>>> from hypothesis import given
>>> @given(month_outages(2026, 4, "Europe/Prague"))
... def check(outage):
...     assert outage.end > outage.start
>>> check()
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from crmcore.dates import local_midnight, zone
from crmcore.invoices import Invoice, InvoiceLine, LineKind, Payment
from crmcore.money import Money
from crmcore.sla import Outage, OutageKind, minutes_in_month

__all__ = ["issued_invoices", "month_outages", "received_payments", "record_counts_by_kind"]


def issued_invoices(
    first_issue: date,
    currency: str = "CZK",
    tenant_id: str = "acme",
    max_size: int = 3,
    due_days: int = 14,
) -> st.SearchStrategy[list[Invoice]]:
    """1..``max_size`` invoices issued within 40 days of ``first_issue``, numbered in order."""

    def build(items: list[tuple[int, int]]) -> list[Invoice]:
        result = []
        for number, (offset, cents) in enumerate(sorted(items), 1):
            issued = first_issue + timedelta(days=offset)
            line = InvoiceLine(
                LineKind.SUBSCRIPTION, "BILL-2", Money(Decimal(cents) / 100, currency)
            )
            result.append(
                Invoice(
                    tenant_id,
                    f"{issued.year}/{number:04d}",
                    str(issued.year),
                    issued,
                    issued + timedelta(days=due_days),
                    currency,
                    Decimal("0.21"),
                    (line,),  # type: ignore[arg-type]  # attrs types converter=tuple badly
                )
            )
        return result

    item = st.tuples(st.integers(0, 40), st.integers(1, 200000))
    return st.lists(item, min_size=1, max_size=max_size).map(build)


def received_payments(
    first_day: date,
    timezone: str,
    currency: str = "CZK",
    tenant_id: str = "acme",
    days: int = 200,
    max_size: int = 4,
) -> st.SearchStrategy[list[Payment]]:
    """Up to ``max_size`` payments at noon vendor time within ``days`` of ``first_day``."""

    def build(pair: tuple[int, int]) -> Payment:
        at = datetime.combine(first_day + timedelta(days=pair[0]), time(12), zone(timezone))
        return Payment(tenant_id, at, Money(Decimal(pair[1]) / 100, currency))

    return st.lists(
        st.tuples(st.integers(0, days), st.integers(1, 300000)).map(build), max_size=max_size
    )


@st.composite
def month_outages(
    draw: st.DrawFn,
    year: int,
    month: int,
    timezone: str,
    kinds: tuple[OutageKind, ...] = tuple(OutageKind),
) -> Outage:
    """An outage starting up to 10 h before the month and lasting 1..2000 minutes."""
    start_of_month = local_midnight(date(year, month, 1), timezone)
    span = minutes_in_month(year, month, timezone)
    start = start_of_month + timedelta(minutes=draw(st.integers(-600, span)))
    length = timedelta(minutes=draw(st.integers(1, 2000)))
    kind = draw(st.sampled_from(kinds))
    announced = start - timedelta(hours=draw(st.integers(0, 72)))
    return Outage(start, start + length, kind, announced if draw(st.booleans()) else None)


def record_counts_by_kind(
    kinds: frozenset[str], maximum: int = 20000
) -> st.SearchStrategy[dict[str, int]]:
    """Record counts per kind (REC-1), counted kinds and one uncounted ``note`` kind."""
    return st.dictionaries(
        st.sampled_from(sorted(kinds | {"note"})), st.integers(0, maximum), max_size=5
    )
