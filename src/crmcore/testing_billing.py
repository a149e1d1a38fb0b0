"""Hypothesis strategies for the tenancy and billing family (TEN, SEAT, BILL, PRO).

Public so users can property-test their own code on random tenant histories. (Kept apart from
``crmcore.testing`` until that module exists on main; merge it there.)
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from crmcore.billing import BillingTerms
from crmcore.catalog import Catalog, Cycle
from crmcore.dates import zone
from crmcore.events import (
    Activated,
    Event,
    PaymentMethod,
    PlanChanged,
    SeatsAdded,
    SeatsRemoved,
    TenantCreated,
)
from crmcore.money import Money

__all__ = ["PRAGUE", "TWO_PLANS", "TWO_PLAN_TERMS", "tenant_histories"]

PRAGUE = zone("Europe/Prague")

TWO_PLANS = Catalog.from_dict(
    {
        "plans": [
            {
                "code": "standard",
                "rank": 1,
                "prices": [
                    {"currency": "CZK", "cycle": "monthly", "amount": "500.00"},
                    {"currency": "CZK", "cycle": "annual", "amount": "5000.00"},
                ],
            },
            {
                "code": "premium",
                "rank": 2,
                "prices": [
                    {"currency": "CZK", "cycle": "monthly", "amount": "800.00"},
                    {"currency": "CZK", "cycle": "annual", "amount": "8000.00"},
                ],
            },
        ]
    }
)
TWO_PLAN_TERMS = BillingTerms("CZK", Decimal("0.21"), Money.of("50.00", "CZK"))


def _at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(8, 0), tzinfo=PRAGUE) + timedelta(minutes=minute)


@st.composite
def tenant_histories(draw: st.DrawFn, cycle: Cycle | None = None) -> list[Event]:
    """A raynet tenant on :data:`TWO_PLANS`: created, activated within the trial, then seat
    purchases, releases and plan changes on increasing days (some refused: that is fine)."""
    created_day = draw(st.dates(date(2026, 1, 1), date(2028, 12, 31)))
    history: list[Event] = [TenantCreated(_at(created_day, 0), "t")]
    day = created_day + timedelta(days=draw(st.integers(0, 29)))
    chosen = cycle or draw(st.sampled_from(list(Cycle)))
    payment = draw(st.sampled_from(list(PaymentMethod)))
    history.append(
        Activated(
            _at(day, 1),
            draw(st.sampled_from(["standard", "premium"])),
            chosen,
            draw(st.integers(1, 5)),
            payment,
        )
    )
    plan = "standard"
    for minute in range(2, 2 + draw(st.integers(0, 8))):
        day += timedelta(days=draw(st.integers(0, 40)))
        kind = draw(st.sampled_from(["add", "remove", "plan"]))
        if kind == "add":
            history.append(SeatsAdded(_at(day, minute), draw(st.integers(1, 4))))
        elif kind == "remove":
            history.append(SeatsRemoved(_at(day, minute), draw(st.integers(1, 2))))
        else:
            plan = "premium" if plan == "standard" else "standard"
            history.append(PlanChanged(_at(day, minute), plan))
    return history
