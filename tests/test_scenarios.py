"""The example scenarios of docs/scenarios/, each against hand-computed amounts.

Every amount below is written as the arithmetic a person does on paper (price × seats ×
days/days_in_period, rounded once half-up, BILL-7), never copied from the runner's output. The
``.expected.json`` files are then checked byte for byte (deterministic output).
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from crmcore.scenario.runner import dumps, run

SCENARIOS = Path(__file__).resolve().parents[1] / "docs" / "scenarios"
CENT = Decimal("0.01")


def money(value: Decimal | Fraction) -> str:
    """Round an exact amount once, half-up, to cents (BILL-7)."""
    exact = Fraction(value)
    return str(
        (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, ROUND_HALF_UP)
    )


def result(name: str) -> dict[str, Any]:
    document = json.loads((SCENARIOS / f"{name}.json").read_text(encoding="utf-8"))
    output: dict[str, Any] = run(document)
    return output


def lines(invoice: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (x["kind"], x["rule"], x.get("seats"), x.get("fraction"), x["net"])
        for x in invoice["lines"]
    ]


NAMES = sorted(p.name[: -len(".expected.json")] for p in SCENARIOS.glob("*.expected.json"))


def test_there_are_at_least_twelve_examples() -> None:
    assert len(NAMES) >= 12


@pytest.mark.parametrize("name", NAMES)
def test_expected_output_is_reproduced_byte_for_byte(name: str) -> None:
    expected = (SCENARIOS / f"{name}.expected.json").read_text(encoding="utf-8")
    assert dumps(result(name)) == expected


def test_mid_month_activation_bill_1_example_of_scenarios_md() -> None:
    """BILL-1, PRO-1, BILL-4, BILL-7: 20 Jan, 5 seats × 500 CZK × 12/31 + transfer fee 50."""
    first, second = result("mid_month_activation")["invoices"]
    prorated = Fraction("500.00") * 5 * Fraction(12, 31)
    assert money(prorated) == "967.74"
    assert lines(first) == [
        ("subscription", "BILL-1", 5, "12/31", money(prorated)),
        ("transfer_fee", "BILL-4", None, None, "50.00"),
    ]
    net = Fraction("967.74") + Fraction("50.00")
    vat = net * Fraction("0.21")  # 213.7254
    assert (first["net"], first["vat"], first["gross"]) == (money(net), money(vat), "1231.47")
    assert (first["issued"], first["due"]) == ("2026-01-20", "2026-02-03")  # BILL-4: +14 days
    assert first["paid"] == "1231.47"  # pay everything on 25 Jan
    assert lines(second)[0] == ("subscription", "BILL-2", 5, None, money(Fraction("500.00") * 5))


def test_monthly_seat_addition_pro_2_on_the_next_invoice() -> None:
    """PRO-2: 2 seats bought 10 March are charged on the April invoice (22/31), no extra one."""
    march, april = result("monthly_seat_addition")["invoices"]
    assert lines(march) == [("subscription", "BILL-2", 3, None, money(Fraction("500.00") * 3))]
    # BILL-4: a card is charged at issue, so card invoices are paid in full
    assert [(i["due"], i["paid"]) for i in (march, april)] == [
        (march["issued"], march["gross"]),
        (april["issued"], april["gross"]),
    ]
    assert lines(april) == [
        ("subscription", "BILL-2", 5, None, money(Fraction("500.00") * 5)),
        ("seats", "PRO-2", 2, "22/31", money(Fraction("500.00") * 2 * Fraction(22, 31))),
    ]


def test_annual_seat_addition_in_month_3_is_invoiced_at_once_pro_3() -> None:
    """PRO-3: annual period 15 Jan 2026 - 14 Jan 2027; 10 April is month 3 → separate invoice
    for 10 Apr..14 Jan = 21+31+30+31+31+30+31+30+31+14 = 280 days of 365."""
    first, seats = result("annual_seat_addition_month3")["invoices"]
    assert lines(first) == [("subscription", "BILL-2", 2, None, money(Fraction("5000.00") * 2))]
    assert seats["issued"] == "2026-04-10"
    assert lines(seats) == [
        ("seats", "PRO-3", 1, "280/365", money(Fraction("5000.00") * 1 * Fraction(280, 365)))
    ]


def test_annual_seat_addition_in_month_12_goes_on_the_next_invoice_pro_3() -> None:
    """PRO-3 exception: 20 Dec 2026 is in the 12th month → next (renewal) invoice,
    20 Dec..14 Jan = 12 + 14 = 26 days of 365."""
    _first, renewal = result("annual_seat_addition_month12")["invoices"]
    assert renewal["issued"] == "2027-01-15"
    assert lines(renewal) == [
        ("subscription", "BILL-2", 3, None, money(Fraction("5000.00") * 3)),
        ("seats", "PRO-3", 1, "26/365", money(Fraction("5000.00") * 1 * Fraction(26, 365))),
    ]


def test_upgrade_then_downgrade_still_pays_the_upgrade_pro_5() -> None:
    """PRO-4/PRO-5: premium from 10 March (22/31) for 4 seats, back to standard on 13 March:
    the difference stays charged; April is billed on standard (PRO-6)."""
    _, april = result("upgrade_then_downgrade")["invoices"]
    difference = Fraction("800.00") - Fraction("500.00")
    assert lines(april) == [
        ("subscription", "BILL-2", 4, None, money(Fraction("500.00") * 4)),
        ("upgrade", "PRO-4", 4, "22/31", money(difference * 4 * Fraction(22, 31))),
    ]


def test_several_changes_in_one_period_compose_pro_7() -> None:
    """PRO-7 in February 2026 (28 days): +1 seat on the 8th (21/28), premium on the 15th for
    the 3 seats then held (14/28), +2 premium seats on the 22nd (7/28)."""
    _, march = result("several_changes_one_period")["invoices"]
    assert lines(march) == [
        ("subscription", "BILL-2", 5, None, money(Fraction("800.00") * 5)),
        ("seats", "PRO-2", 1, "21/28", money(Fraction("500.00") * 1 * Fraction(21, 28))),
        ("upgrade", "PRO-4", 3, "14/28", money((Fraction("800.00") - 500) * 3 * Fraction(14, 28))),
        ("seats", "PRO-2", 2, "7/28", money(Fraction("800.00") * 2 * Fraction(7, 28))),
    ]
    assert march["net"] == money(
        Fraction("4000.00") + Fraction("375.00") + Fraction("450.00") + Fraction("400.00")
    )


def test_seat_removal_no_credit_and_seat_5_refusal() -> None:
    """BILL-3: 2 of 5 seats released on 15 March: no credit; April bills 3 seats. SEAT-5: with
    3 seats all used, a 4th person is refused."""
    output = result("seat_removal")
    march, april = output["invoices"]
    assert lines(march) == [("subscription", "BILL-2", 5, None, money(Fraction("500.00") * 5))]
    assert lines(april) == [("subscription", "BILL-2", 3, None, money(Fraction("500.00") * 3))]
    assert [(r["on"], r["do"], r["rule"]) for r in output["refusals"]] == [
        ("2026-03-16", "assign", "SEAT-5")
    ]


def test_transfer_fee_on_every_invoice_bill_4_and_partial_payment() -> None:
    """BILL-4: every invoice paid by transfer carries the 50 CZK fee and is due 14 days later;
    PAY-1: a 1000.00 payment covers part of the oldest invoice."""
    may, june = result("transfer_fee")["invoices"]
    for invoice in (may, june):
        assert lines(invoice) == [
            ("subscription", "BILL-2", 2, None, money(Fraction("500.00") * 2)),
            ("transfer_fee", "BILL-4", None, None, "50.00"),
        ]
        assert invoice["vat"] == money(Fraction("1050.00") * Fraction("0.21"))
    assert (may["due"], june["due"]) == ("2026-05-15", "2026-06-15")
    assert (may["paid"], june["paid"]) == ("1000.00", "0.00")


def test_trial_expiry_without_conversion_trial_4_raynet() -> None:
    """TRIAL-1/4/5: created 5 Jan 09:00 → trial ends 4 Feb; conversion closes 19 Feb 09:00
    (TRIAL-3), so activating 25 Feb is refused; purged 90 days after the trial end (5 May)."""
    output = result("trial_expiry_without_conversion")
    assert output["invoices"] == []
    assert [(s["on"], s["status"]) for s in output["statuses"]] == [
        ("2026-01-05", "trial"),
        ("2026-02-04", "trial_expired"),
        ("2026-05-05", "purged"),
    ]
    assert [(r["on"], r["rule"]) for r in output["refusals"]] == [("2026-02-25", "TRIAL-3")]


def test_conversion_inside_the_15_day_grace_trial_3() -> None:
    """TRIAL-3: converted 12 Feb (trial ended 4 Feb); rest of February: 2 × 500 × 17/28."""
    output = result("conversion_in_grace")
    first, _march = output["invoices"]
    assert lines(first) == [
        ("subscription", "BILL-1", 2, "17/28", money(Fraction("500.00") * 2 * Fraction(17, 28)))
    ]
    assert [s["status"] for s in output["statuses"]] == ["trial", "trial_expired", "active"]


def test_chmiuro_fallback_to_free_trial_4_then_conversion() -> None:
    """TRIAL-1 (1 month, clamped: 31 Jan → 28 Feb, TIME-4), TRIAL-4 chmiuro: free plan, then a
    conversion on 10 March: 49.00 × 22/31."""
    output = result("chmiuro_fallback_to_free")
    assert [(s["on"], s["status"]) for s in output["statuses"]] == [
        ("2026-01-31", "trial"),
        ("2026-02-28", "free"),
        ("2026-03-10", "active"),
    ]
    first, _april = output["invoices"]
    assert lines(first) == [
        ("subscription", "BILL-1", 1, "22/31", money(Fraction("49.00") * Fraction(22, 31)))
    ]
    assert first["vat"] == money(
        Fraction(money(Fraction("49.00") * Fraction(22, 31))) * Fraction("0.23")
    )


def test_prepaid_term_with_upgrade_term_1_term_3() -> None:
    """TERM-1: 12 months × 49.00 × 2 seats; TERM-3 on 1 Aug: (99 − 49) × 12 × 2 × 184/365
    (1 Aug 2026 .. 31 Jan 2027 = 184 days of the 365-day term); TERM-2: then the free plan."""
    output = result("prepaid_term_with_upgrade")
    term, upgrade = output["invoices"]
    assert lines(term) == [("subscription", "TERM-1", 2, None, money(Fraction("49.00") * 12 * 2))]
    assert upgrade["issued"] == "2026-08-01"
    assert lines(upgrade) == [
        (
            "upgrade",
            "TERM-3",
            2,
            "184/365",
            money((Fraction("99.00") - Fraction("49.00")) * 12 * 2 * Fraction(184, 365)),
        )
    ]
    assert output["statuses"][-1] == {"on": "2027-02-01", "status": "free"}


_EXTENDED = {  # livespace: crm 100.00, sales 150.00 a seat and month; 2 seats prepaid
    "preset": "livespace",
    "currency": "PLN",
    "vat_rate": "0.23",
    "plans": [
        {"code": "crm", "rank": 1, "price": {"monthly": "100.00"}},
        {"code": "sales", "rank": 2, "price": {"monthly": "150.00"}},
    ],
    "tenant": {"id": "t", "created": "2026-01-20T12:00:00+01:00"},
    "until": "2026-08-15",
}


@pytest.mark.parametrize(
    ("downgrade", "upgrades"),
    [
        # TERM-3 on 1 Apr: the term, (150 - 100) x 3 x 2 x 30/89 (1..30 Apr of 1 Feb..30 Apr);
        # the extension bought on 10 Mar (1 May..31 Jul), all of it: (150 - 100) x 3 x 2 x 92/92
        (False, [("30/89", Fraction(50 * 3 * 2 * 30, 89)), ("92/92", Fraction(50 * 3 * 2))]),
        # down to crm on 5 Apr and up again on 6 Apr: no credit (BILL-3), and nothing charged
        # twice, neither for the term (PRO-5) nor for the extension, paid at sales already
        (True, [("30/89", Fraction(50 * 3 * 2 * 30, 89)), ("92/92", Fraction(50 * 3 * 2))]),
    ],
)
def test_term_3_an_upgrade_in_a_term_also_upgrades_the_extension_bought(
    downgrade: bool, upgrades: list[tuple[str, Fraction]]
) -> None:
    """TERM-1: an extension keeps the term's plan, so the tenant that upgrades in its term
    uses the new plan in the extension too, and pays the difference for it as well, at once
    (TERM-3: the whole extension is time left)."""
    events: list[dict[str, Any]] = [
        {"on": "2026-02-01", "do": "prepay", "plan": "crm", "months": 3, "seats": 2},
        {"on": "2026-03-10", "do": "prepay", "plan": "crm", "months": 3, "seats": 2},
        {"on": "2026-04-01", "do": "change_plan", "plan": "sales"},
    ]
    if downgrade:
        events.append({"on": "2026-04-05", "do": "change_plan", "plan": "crm"})
        events.append({"on": "2026-04-06", "do": "change_plan", "plan": "sales"})
    output = run({**_EXTENDED, "events": events})
    charged = [
        (line["fraction"], line["net"])
        for invoice in output["invoices"]
        for line in invoice["lines"]
        if line["rule"] == "TERM-3"
    ]
    assert charged == [(fraction, money(net)) for fraction, net in upgrades]


def test_end_1_after_a_prepaid_term_ran_out_access_ends_by_end_1_not_end_4() -> None:
    """raynet: a 3-month term prepaid on 1 Feb runs out on 30 Apr (TERM-2, no free plan):
    cancelled from 1 May, and records created on 10 Jun are refused naming END-1 (the fixed
    term ended), not END-4 (a customer's cancellation, which never happened)."""
    document = {
        **_EXTENDED,
        "preset": "raynet",
        "currency": "CZK",
        "vat_rate": "0.21",
        "plans": [{"code": "standard", "rank": 1, "price": {"monthly": "500.00"}}],
        "tenant": {"id": "t", "created": "2026-01-20T12:00:00+01:00"},
        "events": [
            {"on": "2026-02-01", "do": "prepay", "plan": "standard", "months": 3, "seats": 1},
            {"on": "2026-06-10", "do": "create_records", "kind": "client", "count": 1},
        ],
    }
    output = run(document)
    assert {"on": "2026-05-01", "status": "cancelled"} in output["statuses"]
    assert [(r["on"], r["do"], r["rule"]) for r in output["refusals"]] == [
        ("2026-06-10", "create_records", "END-1")
    ]


def test_customer_cancellation_end_4_closing_invoice() -> None:
    """END-4 / BILL-3: cancelled 20 March; nothing refunded; the seat bought 10 March is still
    owed (1 × 500 × 22/31) on a closing invoice on 1 April; no April subscription."""
    output = result("customer_cancellation")
    _march, closing = output["invoices"]
    assert lines(closing) == [
        ("seats", "PRO-2", 1, "22/31", money(Fraction("500.00") * Fraction(22, 31)))
    ]
    assert output["statuses"][-1] == {"on": "2026-03-20", "status": "cancelled"}


def test_the_full_example_of_scenarios_md() -> None:
    """BILL-1, PRO-2, PRO-4/PRO-7, BILL-4, PAY-1 on the input example of SCENARIOS.md: the
    March invoice carries 2 seats from 10 Feb (19/28) and the premium difference for all
    7 seats from 15 Feb (14/28); ``pay everything`` on 20 March pays the first three."""
    output = result("scenarios_md_example")
    invoices = output["invoices"]
    assert [i["issued"] for i in invoices] == [
        "2026-01-20",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
    ]
    march = invoices[2]
    assert lines(march) == [
        ("subscription", "BILL-2", 7, None, money(Fraction("800.00") * 7)),
        ("seats", "PRO-2", 2, "19/28", money(Fraction("500.00") * 2 * Fraction(19, 28))),
        ("upgrade", "PRO-4", 7, "14/28", money((Fraction("800.00") - 500) * 7 * Fraction(14, 28))),
        ("transfer_fee", "BILL-4", None, None, "50.00"),
    ]
    march_net = Fraction("5600.00") + Fraction("678.57") + Fraction("1050.00") + 50
    assert march["gross"] == money(march_net + Fraction(money(march_net * Fraction("0.21"))))
    assert [i["paid"] == i["gross"] for i in invoices] == [True, True, True, False, False, False]


def test_livespace_trial_is_blocked_at_its_end_and_purged_30_days_later_trial_4() -> None:
    """TRIAL-1: 14 days from 1 March 10:00 → 15 March 10:00 (an assignment at 09:59 is still in
    the trial); TRIAL-3: livespace has no grace, so the 20 March conversion is refused;
    TRIAL-4 decision: purged 30 days after the trial end, 14 April."""
    output = result("livespace_trial_blocked_then_purged")
    assert [(s["on"], s["status"]) for s in output["statuses"]] == [
        ("2026-03-01", "trial"),
        ("2026-03-15", "trial_expired"),
        ("2026-04-14", "purged"),
    ]
    assert [(r["on"], r["do"], r["rule"]) for r in output["refusals"]] == [
        ("2026-03-20", "activate", "TRIAL-3")
    ]
    assert output["invoices"] == []


def _livespace_extension(extension: dict[str, Any], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "preset": "livespace",
        "currency": "PLN",
        "vat_rate": "0.23",
        "overrides": {"billing": {"term_discounts": [[6, "0.10"]]}},
        "plans": [{"code": "crm", "rank": 1, "price": {"monthly": "100.00"}}],
        "tenant": {"id": "firma", "created": "2026-01-05T09:00:00+01:00"},
        "events": [
            {"on": "2026-01-10", "do": "prepay", "plan": "crm", "months": 6, "seats": 2},
            {"on": "2026-03-01", "do": "prepay", "plan": "crm", "months": 6, **extension},
        ],
        "until": "2026-08-01",
    }
    doc.update(extra)
    return doc


@pytest.mark.parametrize(
    ("seats", "net", "vat", "gross"),
    [
        # 100.00 x 6 months x 3 seats x (1 - 0.10) = 1620.00; VAT 0.23 x 1620.00 = 372.60
        (3, "1620.00", "372.60", "1992.60"),
        # 100.00 x 6 x 1 x 0.90 = 540.00; VAT 0.23 x 540.00 = 124.20
        (1, "540.00", "124.20", "664.20"),
    ],
)
def test_term_1_extension_prepay_bills_the_seats_it_names(
    seats: int, net: str, vat: str, gross: str
) -> None:
    result = run(_livespace_extension({"seats": seats}))
    assert result["refusals"] == []
    first, extension = result["invoices"]
    # the running term: 100.00 x 6 x 2 x 0.90 = 1080.00
    assert first["net"] == "1080.00"
    assert extension["issued"] == "2026-03-01"
    (line,) = extension["lines"]
    assert (line["seats"], line["net"]) == (seats, net)
    assert (extension["net"], extension["vat"], extension["gross"]) == (net, vat, gross)


def test_term_1_extension_prepay_gives_its_seats_from_its_start() -> None:
    # extension 10 Jul 2026 .. 9 Jan 2027 for 3 seats: a third person fits from 10 Jul
    doc = _livespace_extension({"seats": 3})
    doc["events"] = [
        {"on": "2026-01-10", "do": "prepay", "plan": "crm", "months": 6, "seats": 2},
        {"on": "2026-03-01", "do": "prepay", "plan": "crm", "months": 6, "seats": 3},
        {"on": "2026-07-11", "do": "assign", "person": "a"},
        {"on": "2026-07-11", "do": "assign", "person": "b"},
        {"on": "2026-07-11", "do": "assign", "person": "c"},
    ]
    result = run(doc)
    assert result["refusals"] == []
    assert len(result["invoices"]) == 2  # no seat is bought at the extension's start


def test_term_1_bill_4_extension_prepay_is_paid_by_the_method_it_names() -> None:
    doc = _livespace_extension(
        {"seats": 2, "payment": "transfer"}, fees={"transfer": "10.00"}, until="2026-03-02"
    )
    extension = next(i for i in run(doc)["invoices"] if i["issued"] == "2026-03-01")
    assert extension["due"] == "2026-03-15"  # BILL-4: transfer, 1 Mar + 14 days
    assert [line["kind"] for line in extension["lines"]] == ["subscription", "transfer_fee"]
    # 100.00 x 6 x 2 x 0.90 = 1080.00 + 10.00 fee = 1090.00; VAT 0.23 x 1090.00 = 250.70
    assert (extension["net"], extension["vat"], extension["gross"]) == (
        "1090.00",
        "250.70",
        "1340.70",
    )
