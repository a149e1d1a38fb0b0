"""Scenarios for the rule defects of issue 13, section 4: SLA-2/SLA-5 months wholly inside an
outage, SLA-3 fees of prepaid terms, TERM-2 a new term after a lapse (docs/scenarios/).

Every amount is the arithmetic done on paper, rounded once half-up (BILL-7); the
``.expected.json`` files are checked byte for byte by tests/test_scenarios.py.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from crmcore.scenario.runner import run

SCENARIOS = Path(__file__).resolve().parents[1] / "docs" / "scenarios"


def money(value: Fraction) -> str:
    """Round an exact amount once, half-up, to cents (BILL-7)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.01"), ROUND_HALF_UP))


def result(name: str) -> dict[str, Any]:
    output: dict[str, Any] = run(json.loads((SCENARIOS / f"{name}.json").read_text("utf-8")))
    return output


def lines(invoice: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (x["kind"], x["rule"], x.get("seats"), x.get("fraction"), x["net"])
        for x in invoice["lines"]
    ]


def statuses(output: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["on"], s["status"]) for s in output["statuses"]]


def test_sla2_sla5_outage_over_all_of_april_credits_april_at_50_percent() -> None:
    """SLA-2/SLA-5/SLA-6: outage 31 Mar 22:00 → 1 May 02:00 (Prague, CEST). March: 120 of
    44580 min down (99.73 %), May: 120 of 44640 (99.73 %): no credit. April lies wholly inside
    the outage: 0 % < 98.00 % → 50 % of its fee 5 × 500.00, credited on the 1 May invoice."""
    invoices = result("sla_outage_spanning_a_month")["invoices"]
    assert [i["issued"] for i in invoices] == [
        "2026-03-01",
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
    ]
    fee = Fraction("500.00") * 5
    credit = fee * Fraction(50, 100)
    assert money(credit) == "1250.00"
    may = invoices[2]
    assert lines(may) == [
        ("subscription", "BILL-2", 5, None, money(fee)),
        ("sla_credit", "SLA-6", None, None, "-" + money(credit)),
    ]
    net = fee - credit
    assert (may["net"], may["vat"]) == (money(net), money(net * Fraction("0.21")))  # 262.50
    for other in (invoices[0], invoices[1], invoices[3]):  # March and May earn nothing
        assert [x["kind"] for x in other["lines"]] == ["subscription"]


def test_sla3_and_term2_raynet_terms_credit_per_month_and_renew_after_lapse() -> None:
    """SLA-3: the 3-month term 1 Feb → 30 Apr (5 × 500.00 × 3 = 7500.00) pays 7500.00 / 3 a
    month; April at 99.2 % earns 2500.00 × 0.35 = 875.00. TERM-2: the term lapses on 1 May
    (cancelled, END-1), and the new 6-month prepay of 10 May is accepted: 3 × 500.00 × 6 =
    9000.00, with the April credit on it. June at 97.9 % (907.2 of 43200 min down) earns
    9000.00 / 6 × 0.50 = 750.00, on the 1 July seat invoice: 1 × 500.00 × 6 × 132/184
    (1 Jul → 9 Nov of the 184-day term 10 May → 9 Nov)."""
    output = result("prepaid_terms_sla_credit_and_renewal")
    first, renewal, seat = output["invoices"]
    assert lines(first) == [("subscription", "TERM-1", 5, None, money(Fraction(500) * 5 * 3))]
    april = Fraction(7500, 3) * Fraction(35, 100)
    assert money(april) == "875.00"
    assert renewal["issued"] == "2026-05-10"
    assert lines(renewal) == [
        ("subscription", "TERM-1", 3, None, money(Fraction(500) * 3 * 6)),
        ("sla_credit", "SLA-6", None, None, "-" + money(april)),
    ]
    assert renewal["net"] == money(Fraction(9000) - april)  # 8125.00
    june = Fraction(9000, 6) * Fraction(50, 100)
    assert 31 + 31 + 30 + 31 + 9 == 132  # 1 Jul .. 9 Nov
    assert 22 + 30 + 31 + 31 + 30 + 31 + 9 == 184  # 10 May .. 9 Nov
    seats = Fraction(500) * 6 * 1 * Fraction(132, 184)
    assert lines(seat) == [
        ("seats", "TERM-1", 1, "132/184", money(seats)),  # 2152.17
        ("sla_credit", "SLA-6", None, None, "-" + money(june)),  # 750.00
    ]
    assert statuses(output) == [
        ("2026-01-05", "trial"),
        ("2026-02-01", "active"),
        ("2026-05-01", "cancelled"),  # TERM-2 / END-1: the term ran out
        ("2026-05-10", "active"),  # a new term bought
        ("2026-11-10", "cancelled"),
    ]
    assert output["refusals"] == []


def test_term2_livespace_new_term_and_activation_after_lapse() -> None:
    """TERM-2: livespace's 3-month term 10 Jan → 9 Apr (2 × 100.00 × 3 = 600.00) lapses on
    10 Apr; a 6-month term on crm_sales from 4 May is accepted (3 × 150.00 × 6 = 2700.00, a
    seat 1 Jun: 150.00 × 6 × 156/184); after that term lapses (4 Nov), a monthly activation on
    10 Nov is accepted too: 2 × 100.00 × 21/30 (BILL-1), then 2 × 100.00 on 1 Dec."""
    output = result("livespace_new_term_after_lapse")
    assert output["refusals"] == []
    assert [lines(i) for i in output["invoices"]] == [
        [("subscription", "TERM-1", 2, None, money(Fraction(100) * 2 * 3))],
        [("subscription", "TERM-1", 3, None, money(Fraction(150) * 3 * 6))],
        [("seats", "TERM-1", 1, "156/184", money(Fraction(150) * 6 * Fraction(156, 184)))],
        [("subscription", "BILL-1", 2, "21/30", money(Fraction(100) * 2 * Fraction(21, 30)))],
        [("subscription", "BILL-2", 2, None, money(Fraction(100) * 2))],
    ]
    assert statuses(output) == [
        ("2026-01-05", "trial"),
        ("2026-01-10", "active"),
        ("2026-04-10", "cancelled"),
        ("2026-05-04", "active"),
        ("2026-11-04", "cancelled"),
        ("2026-11-10", "active"),
    ]


def test_pay_livespace_states_no_payment_delay_terms_so_nothing_blocks() -> None:
    """PAY-1..6 are raynet's: livespace (``dunning=None``) is never blocked, cancelled or
    purged for an unpaid invoice; a ``reinstate`` is refused (nothing to reinstate, PAY-3)."""
    document = json.loads((SCENARIOS / "livespace_new_term_after_lapse.json").read_text("utf-8"))
    document["events"] = [
        {
            "on": "2026-01-10",
            "do": "activate",
            "plan": "crm",
            "cycle": "monthly",
            "seats": 2,
            "payment": "transfer",
        },
        {"on": "2026-09-01", "do": "reinstate"},
    ]
    document["until"] = "2026-12-31"
    output: dict[str, Any] = run(document)
    assert all(i["paid"] == "0.00" for i in output["invoices"])  # nothing ever paid
    assert statuses(output) == [("2026-01-05", "trial"), ("2026-01-10", "active")]
    assert [(r["do"], r["rule"]) for r in output["refusals"]] == [("reinstate", "PAY-3")]
