"""Hypothesis strategies for the tenancy and billing family (TEN, SEAT, BILL, PRO).

Public so users can property-test their own code on random tenant histories. (Kept apart from
``crmcore.testing`` until that module exists on main; merge it there.)
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

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

__all__ = [
    "PRAGUE",
    "TWO_PLANS",
    "TWO_PLAN_TERMS",
    "scenario_documents",
    "tenant_histories",
]

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


_VERBS: dict[type, str] = {
    Activated: "activate",
    SeatsAdded: "add_seats",
    SeatsRemoved: "remove_seats",
    PlanChanged: "change_plan",
}


@st.composite
def scenario_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A raynet scenario document (SCENARIOS.md) built from :func:`tenant_histories`."""
    history = draw(tenant_histories())
    created = history[0]
    events: list[dict[str, Any]] = []
    for event in history[1:]:
        item: dict[str, Any] = {"at": event.at.isoformat(), "do": _VERBS[type(event)]}
        if isinstance(event, Activated):
            item |= {
                "plan": event.plan,
                "cycle": event.cycle.value,
                "seats": event.seats,
                "payment": event.payment.value,
            }
        elif isinstance(event, SeatsAdded | SeatsRemoved):
            item["count"] = event.count
        elif isinstance(event, PlanChanged):
            item["plan"] = event.plan
        events.append(item)
    until = history[-1].at.astimezone(PRAGUE).date() + timedelta(days=draw(st.integers(0, 400)))
    return {
        "preset": "raynet",
        "currency": "CZK",
        "vat_rate": "0.21",
        "fees": {"transfer": "50.00"},
        "plans": [
            {"code": "standard", "rank": 1, "price": {"monthly": "500.00", "annual": "5000.00"}},
            {"code": "premium", "rank": 2, "price": {"monthly": "800.00", "annual": "8000.00"}},
        ],
        "tenant": {"id": "t", "created": created.at.isoformat()},
        "events": events,
        "until": until.isoformat(),
    }
