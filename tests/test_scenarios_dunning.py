"""The PAY, SLA and REC example scenarios of docs/scenarios/, against hand arithmetic.

Dunning examples: a transfer invoice issued 1 Feb 2026 is due 14 days later, 15 Feb (BILL-4);
"more than N days overdue" counts from that due date in vendor time (PAY-1).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from crmcore.scenario.runner import run

SCENARIOS = Path(__file__).resolve().parents[1] / "docs" / "scenarios"
DUE = date(2026, 2, 1) + timedelta(days=14)  # BILL-4: 15 Feb 2026


def result(name: str) -> dict[str, Any]:
    document = json.loads((SCENARIOS / f"{name}.json").read_text(encoding="utf-8"))
    output: dict[str, Any] = run(document)
    return output


def statuses(name: str) -> list[tuple[str, str]]:
    return [(s["on"], s["status"]) for s in result(name)["statuses"]]


def cents(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_pay_2_blocked_on_day_4_not_day_3() -> None:
    """PAY-2: 3 days overdue (18 Feb) is still active; more than 3 (19 Feb) is blocked."""
    seen = statuses("dunning_blocked_on_day_4")
    assert ((DUE + timedelta(days=4)).isoformat(), "blocked") in seen
    assert ((DUE + timedelta(days=3)).isoformat(), "blocked") not in seen
    assert seen[-1] == ("2026-02-19", "blocked")


def test_pay_2_paying_everything_unblocks_at_once() -> None:
    """PAY-2: blocked 19 Feb, everything paid 25 Feb: active again that day."""
    assert statuses("dunning_unblocked_by_payment")[-2:] == [
        ("2026-02-19", "blocked"),
        ("2026-02-25", "active"),
    ]


def test_pay_3_cancelled_on_day_61_and_a_late_payment_does_not_restore() -> None:
    """PAY-3: 15 Feb + 61 days = 17 Apr; paying on 20 Apr leaves the instance cancelled."""
    cancelled = DUE + timedelta(days=61)
    assert cancelled == date(2026, 4, 17)
    seen = statuses("dunning_cancelled_day_61_late_payment")
    assert seen[-1] == (cancelled.isoformat(), "cancelled")
    # the contract ended: no invoice is issued after the cancellation (1 Feb, 1 Mar, 1 Apr only)
    issued = [i["issued"] for i in result("dunning_cancelled_day_61_late_payment")["invoices"]]
    assert issued == ["2026-02-01", "2026-03-01", "2026-04-01"]


def test_pay_3_only_a_recorded_reinstatement_restores() -> None:
    """PAY-3: after paying (20 Apr) the vendor reinstates on 25 Apr: active; billing resumes."""
    assert statuses("dunning_reinstatement")[-2:] == [
        ("2026-04-17", "cancelled"),
        ("2026-04-25", "active"),
    ]
    issued = [i["issued"] for i in result("dunning_reinstatement")["invoices"]]
    assert issued[-1] == "2026-05-01"
    assert [i["number"] for i in result("dunning_reinstatement")["invoices"]] == [
        "2026/0001",
        "2026/0002",
        "2026/0003",
        "2026/0004",
    ]  # BILL-6: gapless


def test_pay_4_purged_on_day_151() -> None:
    """PAY-4: 15 Feb + 151 days = 16 Jul 2026: purged, and nothing comes after a purge."""
    purged = DUE + timedelta(days=151)
    assert purged == date(2026, 7, 16)
    assert statuses("dunning_purge_day_151")[-1] == (purged.isoformat(), "purged")


def credit_invoice(name: str) -> dict[str, Any]:
    invoice: dict[str, Any] = result(name)["invoices"][-1]
    return invoice


def test_sla_2_credit_35_percent_at_99_2() -> None:
    """SLA-2/SLA-3/SLA-6: April has 30 × 1440 = 43,200 minutes; 345 down → 99.20 %, below
    99.50 and not below 98.00: 35 % of April's fee 5 × 500.00 = 2500.00 → 875.00 off May."""
    availability = Fraction(43200 - 345, 43200) * 100
    assert Decimal("98.00") <= availability < Decimal("99.50")
    credit = cents(Fraction(2500) * Fraction(35, 100))
    may = credit_invoice("sla_credit_99_2")
    assert may["issued"] == "2026-05-01"
    assert [(x["kind"], x["net"]) for x in may["lines"]] == [
        ("subscription", "2500.00"),
        ("sla_credit", f"-{credit}"),
    ]
    assert Decimal(may["net"]) == Decimal("2500.00") - credit == Decimal("1625.00")


def test_sla_2_credit_50_percent_at_97_9() -> None:
    """SLA-2: 908 minutes down → 97.90 % < 98.00: 50 % of 2500.00 = 1250.00."""
    assert Fraction(43200 - 908, 43200) * 100 < 98
    may = credit_invoice("sla_credit_97_9")
    assert may["lines"][-1]["net"] == f"-{cents(Fraction(2500, 2))}"
    assert may["net"] == "1250.00"


def test_sla_3_annual_plan_credit_is_a_twelfth_of_the_annual_fee() -> None:
    """SLA-3: annual fee 5 × 5000.00 = 25000.00; 35 % of 25000/12 = 729.17, on the next invoice:
    the PRO-3 seat invoice of 10 May, 5000.00 × 295/365 = 4041.10 (10 May..28 Feb 2027)."""
    credit = cents(Fraction(25000, 12) * Fraction(35, 100))
    seats = cents(Fraction(5000) * Fraction(295, 365))
    invoice = credit_invoice("sla_credit_annual")
    assert (credit, seats) == (Decimal("729.17"), Decimal("4041.10"))
    assert [(x["kind"], x["net"]) for x in invoice["lines"]] == [
        ("seats", str(seats)),
        ("sla_credit", f"-{credit}"),
    ]
    assert Decimal(invoice["net"]) == seats - credit


def test_rec_2_warning_at_90_percent() -> None:
    """REC-2: 89 clients + 2 leads = 91 of 100 ≥ 90 %: a warning with the numbers."""
    assert result("records_warning")["warnings"] == [
        {"on": "2026-03-03", "rule": "REC-2", "records": 89 + 2, "limit": 100}
    ]


def test_rec_3_refusal_suggests_the_cheapest_fitting_plan_and_deleting_frees_room() -> None:
    """REC-3/REC-4: 95 + 10 > 100 on standard: refused, premium (1000) fits; after deleting
    10 clients, the same 10 tasks fit (85 + 10 = 95, a REC-2 warning)."""
    output = result("records_refusal_suggested_plan")
    assert output["refusals"] == [
        {"on": "2026-03-03", "do": "create_records", "rule": "REC-3", "suggested_plan": "premium"}
    ]
    assert output["warnings"][-1] == {
        "on": "2026-03-05",
        "rule": "REC-2",
        "records": 95 - 10 + 10,
        "limit": 100,
    }


def test_rec_4_refusal_on_the_top_plan_names_no_plan() -> None:
    """REC-4: on the top plan (premium, 1000) 995 + 10 is refused with no plan to suggest."""
    assert result("records_refusal_top_plan")["refusals"] == [
        {"on": "2026-03-03", "do": "create_records", "rule": "REC-3", "suggested_plan": None}
    ]


def _after_pay_3(*later: dict[str, Any]) -> dict[str, Any]:
    """A 3-month prepaid term from 1 Feb, never paid: due 15 Feb, cancelled on day 61, 17 Apr
    (PAY-3); the term itself runs out on 30 Apr (TERM-2). Then the ``later`` events."""
    document: dict[str, Any] = json.loads(
        (SCENARIOS / "prepaid_terms_sla_credit_and_renewal.json").read_text(encoding="utf-8")
    )
    first = {
        "on": "2026-02-01",
        "do": "prepay",
        "plan": "standard",
        "months": 3,
        "seats": 5,
        "payment": "transfer",
    }
    document["events"] = [first, *later]
    document["until"] = "2026-08-01"
    output: dict[str, Any] = run(document)
    return output


def _with_events(name: str, *later: dict[str, Any], until: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCENARIOS / f"{name}.json").read_text("utf-8"))
    document["events"] = [*document["events"], *later]
    if until is not None:
        document["until"] = until
    output: dict[str, Any] = run(document)
    return output


def test_pay_3_new_term_after_cancellation_needs_reinstatement() -> None:
    """PAY-3/PAY-5 vs TERM-2: never paid, due 15 Feb, cancelled 15 Feb + 61 = 17 Apr; a
    ``prepay`` on 1 Jun without ``reinstate`` is refused (PAY-3) and the tenant stays
    cancelled; it is not accepted as an uninvoiced 'active' term."""
    out = _after_pay_3(
        {"on": "2026-06-01", "do": "prepay", "plan": "standard", "months": 3, "seats": 5}
    )
    assert [(r["on"], r["rule"]) for r in out["refusals"]] == [("2026-06-01", "PAY-3")]
    assert ("2026-06-01", "active") not in [(s["on"], s["status"]) for s in out["statuses"]]


def test_pay_3_activate_after_cancellation_needs_reinstatement() -> None:
    """PAY-3/PAY-5: ``activate`` monthly on 1 Jun after the 17 Apr cancellation is refused."""
    out = _after_pay_3(
        {
            "on": "2026-06-01",
            "do": "activate",
            "plan": "standard",
            "cycle": "monthly",
            "seats": 5,
            "payment": "card",
        }
    )
    assert [(r["on"], r["rule"]) for r in out["refusals"]] == [("2026-06-01", "PAY-3")]


def test_pay_3_a_recorded_reinstatement_allows_a_new_term() -> None:
    """PAY-3: paid on 20 May, reinstated on 25 May; the ``prepay`` of 1 Jun is then accepted
    and invoiced at once (TERM-1): 3 months x 5 seats x 500.00 = 7500.00 net."""
    out = _after_pay_3(
        {"on": "2026-05-20", "do": "pay", "everything": True},
        {"on": "2026-05-25", "do": "reinstate"},
        {"on": "2026-06-01", "do": "prepay", "plan": "standard", "months": 3, "seats": 5},
    )
    assert out["refusals"] == []
    june = [i for i in out["invoices"] if i["issued"] == "2026-06-01"]
    assert [i["net"] for i in june] == [str(Decimal("500.00") * 5 * 3)]


# The monthly tenant of dunning_cancelled_day_61_late_payment is cancelled on 17 Apr (PAY-3);
# each of these needs a running contract and is refused with PAY-3, changing nothing else.
_CONTRACT_CHANGES = [
    {"on": "2026-04-22", "do": "add_seats", "count": 3},
    {"on": "2026-04-22", "do": "remove_seats", "count": 1},
    {"on": "2026-04-22", "do": "change_plan", "plan": "premium"},
    {"on": "2026-04-22", "do": "assign", "person": "eva"},
    {"on": "2026-04-22", "do": "cancel"},
    {
        "on": "2026-04-22",
        "do": "activate",
        "plan": "premium",
        "cycle": "monthly",
        "seats": 2,
        "payment": "card",
    },
    {"on": "2026-04-22", "do": "prepay", "plan": "premium", "months": 6, "seats": 2},
]


@pytest.mark.parametrize("change", _CONTRACT_CHANGES, ids=lambda c: str(c["do"]))
def test_pay_3_no_contract_change_after_cancellation(change: dict[str, Any]) -> None:
    """PAY-3: the contract ended on 17 Apr; a change on 22 Apr is refused (PAY-3) and the
    invoices and statuses are those of the scenario without it (differential)."""
    base = _with_events("dunning_cancelled_day_61_late_payment", until="2026-07-31")
    out = _with_events("dunning_cancelled_day_61_late_payment", change, until="2026-07-31")
    assert [(r["on"], r["do"], r["rule"]) for r in out["refusals"]] == [
        ("2026-04-22", change["do"], "PAY-3")
    ]
    assert out["invoices"] == base["invoices"]
    assert out["statuses"] == base["statuses"]


def test_pay_4_nothing_restarts_a_purged_instance() -> None:
    """PAY-4/PAY-5: purged on 16 Jul (15 Feb + 151 days); an ``activate`` on 1 Aug is refused
    with PAY-4, and nothing is invoiced after the purge."""
    change = {
        "on": "2026-08-01",
        "do": "activate",
        "plan": "standard",
        "cycle": "monthly",
        "seats": 2,
        "payment": "card",
    }
    out = _with_events("dunning_purge_day_151", change, until="2026-09-30")
    assert [(r["on"], r["rule"]) for r in out["refusals"]] == [("2026-08-01", "PAY-4")]
    assert all(i["issued"] < "2026-07-16" for i in out["invoices"])
    assert out["statuses"][-1] == {"on": "2026-07-16", "status": "purged"}


def test_pay_5_an_event_is_refused_once() -> None:
    """A trial cancelled on 2 Jan (TRIAL-2) is purged 90 days after the trial's end (TRIAL-4);
    a ``reinstate`` after that is refused once, by the lifecycle (PAY-5: a purge is final),
    not a second time by the dunning rules (PAY-3)."""
    document: dict[str, Any] = json.loads(
        (SCENARIOS / "dunning_reinstatement.json").read_text(encoding="utf-8")
    )
    document["events"] = [
        {"on": "2026-01-06", "do": "cancel"},
        {"on": "2026-06-01", "do": "reinstate"},
    ]
    document["until"] = "2026-06-30"
    refusals = run(document)["refusals"]
    assert [(r["on"], r["do"], r["rule"]) for r in refusals] == [
        ("2026-06-01", "reinstate", "PAY-5")
    ]


def test_events_after_until_are_not_evaluated() -> None:
    """SCENARIOS.md: ``until`` is the last day replayed; an event after it is neither applied
    nor refused (a ``reinstate`` of this active tenant after ``until`` was refused, PAY-3)."""
    document: dict[str, Any] = json.loads(
        (SCENARIOS / "mid_month_activation.json").read_text(encoding="utf-8")
    )
    day_after = date.fromisoformat(document["until"]) + timedelta(days=1)
    document["events"].append({"on": day_after.isoformat(), "do": "reinstate"})
    assert run(document)["refusals"] == []
    document["until"] = day_after.isoformat()
    assert [r["rule"] for r in run(document)["refusals"]] == ["PAY-3"]  # now it is replayed


def test_pay_3_each_reinstatement_is_checked_against_the_invoices_kept() -> None:
    """Found by the reprice property: a transfer tenant due 15 Jan is blocked on 19 Jan
    (PAY-2), cancelled on 17 Mar (15 Jan + 61, PAY-3; paying that day restores nothing),
    reinstated on 2 Apr; the 1 Apr invoice is dropped, the 1 May one is due 15 May, so the
    tenant is blocked on 19 May and a ``reinstate`` on 15 Jun is refused (it is blocked, not
    cancelled). Checked against every invoice (the dropped one included) that reinstatement
    looked valid, and the run failed with a DunningError instead of refusing it."""
    document: dict[str, Any] = json.loads(
        (SCENARIOS / "dunning_reinstatement.json").read_text(encoding="utf-8")
    )
    document["fees"] = {"transfer": "50.00"}
    document["tenant"]["created"] = "2026-01-01T08:00:00+01:00"
    document["events"] = [
        {"at": "2026-01-01T08:01:00+01:00", "do": "activate", "plan": "standard",
         "cycle": "monthly", "seats": 1, "payment": "transfer"},
        {"at": "2026-01-01T08:02:00+01:00", "do": "change_plan", "plan": "premium"},
        {"at": "2026-03-17T12:02:00+01:00", "do": "pay", "everything": True},
        {"at": "2026-04-02T12:06:00+02:00", "do": "reinstate"},
        {"at": "2026-06-15T12:00:00+02:00", "do": "reinstate"},
    ]  # fmt: skip
    document["until"] = "2026-06-15"
    out = run(document)
    assert [(s["on"], s["status"]) for s in out["statuses"]][2:] == [
        ("2026-01-19", "blocked"),
        ("2026-03-17", "cancelled"),
        ("2026-04-02", "active"),
        ("2026-05-19", "blocked"),
    ]
    assert [(r["on"], r["rule"]) for r in out["refusals"]] == [("2026-06-15", "PAY-3")]
    assert "2026-04-01" not in [i["issued"] for i in out["invoices"]]
