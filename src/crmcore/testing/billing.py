"""Hypothesis strategies for the tenancy and billing family (TEN, SEAT, BILL, PRO).

Public so users can property-test their own code on random tenant histories. (Kept apart from
``crmcore.testing.strategies`` until that module exists on main; merge it there.)
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from crmcore.billing.engine import BillingTerms
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
    "late_entry_documents",
    "life_scenario_documents",
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
                "payment": (event.payment or PaymentMethod.CARD).value,
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


_PEOPLE = ("ada", "bo", "cy", "di")


@st.composite
def _life_event(draw: st.DrawFn) -> dict[str, Any]:
    """One event of the rest of a tenant's life (its time is set by the caller)."""
    verb = draw(
        st.sampled_from(
            [
                "pay",
                "pay",
                "reinstate",
                "cancel",
                "outage",
                "create_records",
                "delete_records",
                "assign",
                "unassign",
                "prepay",
            ]
        )
    )
    event: dict[str, Any] = {"do": verb}
    if verb == "pay":
        if draw(st.booleans()):
            event["everything"] = True
        else:
            event["amount"] = f"{draw(st.integers(1, 3000))}.{draw(st.integers(0, 99)):02d}"
    elif verb == "create_records" or verb == "delete_records":
        event["kind"] = draw(st.sampled_from(["client", "lead"]))
        event["count"] = draw(st.integers(1, 70 if verb == "create_records" else 20))
    elif verb in ("assign", "unassign"):
        event["person"] = draw(st.sampled_from(_PEOPLE))
    elif verb == "prepay":
        event |= {
            "plan": draw(st.sampled_from(["standard", "premium"])),
            "months": draw(st.integers(1, 12)),
            "seats": draw(st.integers(1, 5)),
            "payment": draw(st.sampled_from(["card", "transfer"])),
        }
    return event


@st.composite
def life_scenario_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A :func:`scenario_documents` document with the rest of a life mixed in: payments (some
    partial), reinstatements, cancellations, outages (SLA), records against plan limits
    (standard 100, premium 1000; REC), persons assigned (SEAT) and prepaid terms (TERM), at
    random times between creation and ``until``. Many are refused: that is part of the test."""
    document = draw(scenario_documents())
    document["plans"][0]["records"] = 100
    document["plans"][1]["records"] = 1000
    created = datetime.fromisoformat(document["tenant"]["created"])
    until = date.fromisoformat(document["until"])
    span = max((until - created.date()).days, 1)
    events = list(document["events"])
    for index in range(draw(st.integers(0, 10))):
        day = created.date() + timedelta(days=draw(st.integers(1, span)))
        at = datetime.combine(day, time(12, 0), tzinfo=PRAGUE) + timedelta(minutes=index)
        event = draw(_life_event())
        event["at"] = at.isoformat()
        if event["do"] == "outage":
            minutes = draw(st.integers(1, 2000))
            event["until"] = (at + timedelta(minutes=minutes)).isoformat()
            event["kind"] = draw(st.sampled_from(["unplanned", "maintenance"]))
        events.append(event)
    events.sort(key=lambda e: datetime.fromisoformat(e["at"]))
    document["events"] = events
    return document


@st.composite
def late_entry_documents(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A :func:`life_scenario_documents` document, and the same life with some of its events
    entered late (BILL-6): each such event gets ``recorded``, 1 to 60 days after it took
    effect (at most ``until``), and the events are listed in recorded order. The first knows
    every event when it happens; the second issues what was known on each day, then
    corrections."""
    document = draw(life_scenario_documents())
    until = date.fromisoformat(document["until"])
    last = datetime.combine(until, time(18, 0), tzinfo=PRAGUE)
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for index, event in enumerate(document["events"]):
        at = datetime.fromisoformat(event["at"])
        item = dict(event)
        if draw(st.integers(0, 3)) == 0 and at < last:
            delay = timedelta(days=draw(st.integers(1, 60)), hours=draw(st.integers(0, 5)))
            entered = min(at + delay, last)
            if entered > at:
                item["recorded"] = entered.isoformat()
                at = entered
        entries.append((at, index, item))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    late = dict(document, events=[item for _at, _index, item in entries])
    return document, late
