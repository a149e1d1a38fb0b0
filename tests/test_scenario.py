"""The scenario runner's input validation and CLI (SCENARIOS.md): exit 2, one line, JSON path."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.presets import preset
from crmcore.scenario.runner import ScenarioContext, dumps, run
from crmcore.testing.billing import scenario_documents

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "docs/scenarios/mid_month_activation.json").read_text())


def with_change(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["events", 0, "seats"],
            -2,
            "events[0].seats: must be a positive integer, got -2 (SEAT-1)",
        ),
        (["events", 0, "plan"], "gold", "events[0].plan: unknown plan 'gold'"),
        (["events", 0, "do"], "explode", "events[0].do: must be one of"),
        (["events", 0, "on"], "2026-02-30", "events[0].on: must be a YYYY-MM-DD date"),
        (["events", 0, "colour"], "red", "events[0].colour: unknown field"),
        (["events", 0, "cycle"], "weekly", "events[0].cycle: must be one of monthly, annual"),
        (["tenant", "created"], "2026-01-05T09:00:00", "tenant.created: must be timezone-aware"),
        (["vat_rate"], 0.21, "vat_rate: must be a decimal string"),
        (["fees", "transfer"], "50.001", "fees.transfer: has more decimals than CZK"),
        (["plans", 0, "price", "monthly"], "-1.00", "plans[0].price.monthly: must be >= 0"),
        (
            ["plans", 1, "code"],
            "standard",
            'plans[1].code: duplicate plan code "standard" (also plans[0]) (PLAN-1)',
        ),
        (
            ["preset"],
            "acme",
            "preset: must be one of raynet, livespace, chmiuro, smartmail, optimasales",
        ),
        (["until"], KeyError, "until: is required"),
        (["surprise"], 1, "surprise: unknown field"),
        (
            ["overrides"],
            {"billing": {"nope": 1}},
            "overrides.billing.nope: unknown policy parameter",
        ),
        (["events", 1, "everything"], False, "events[1].everything: must be true"),
    ],
)
def test_bad_input_names_the_json_path(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        run(with_change(path, value))
    assert str(caught.value).startswith(message)


def test_events_out_of_order_are_refused() -> None:
    doc = copy.deepcopy(EXAMPLE)
    doc["events"].append({"on": "2026-01-10", "do": "add_seats", "count": 1})
    with pytest.raises(ValidationError, match=r"^events\[2\]\.on: is before events\[1\]"):
        run(doc)


def test_event_before_tenant_creation_is_refused() -> None:
    doc = with_change(["events", 0, "on"], "2026-01-01")
    with pytest.raises(ValidationError, match=r"^events\[0\]\.on: is before tenant creation"):
        run(doc)


def test_outage_and_records_verbs_are_validated_and_recorded() -> None:
    doc = copy.deepcopy(EXAMPLE)
    doc["events"] += [
        {
            "at": "2026-01-27T10:00:00+01:00",
            "do": "outage",
            "until": "2026-01-27T12:00:00+01:00",
            "kind": "unplanned",
        },
        {"on": "2026-01-28", "do": "create_records", "kind": "client", "count": 5},
        {"on": "2026-01-29", "do": "delete_records", "kind": "client", "count": 2},
        {"on": "2026-01-30", "do": "reinstate"},
    ]
    seen: list[str] = []

    def extension(context: ScenarioContext) -> None:
        seen.extend(type(event).__name__ for event in context.history[3:])

    assert run(doc, extensions=[extension])["invoices"] == run(EXAMPLE)["invoices"]
    assert seen == ["OutageRecorded", "RecordsCreated", "RecordsDeleted", "Reinstated"]
    bad = copy.deepcopy(doc)
    bad["events"][2]["kind"] = "meteor"
    with pytest.raises(ValidationError, match=r"^events\[2\]\.kind: must be one of"):
        run(bad)


def test_replaying_twice_is_byte_identical() -> None:
    assert dumps(run(EXAMPLE)) == dumps(run(copy.deepcopy(EXAMPLE)))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "crmcore", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


def test_cli_simulate_prints_the_result() -> None:
    done = cli("simulate", "docs/scenarios/mid_month_activation.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "docs/scenarios/mid_month_activation.expected.json").read_text()


def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_change(["events", 0, "seats"], -2)))
    done = cli("simulate", str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "events[0].seats: must be a positive integer, got -2 (SEAT-1)\n"


@given(scenario_documents())
def test_random_scenarios_replay_byte_identically_and_bill_only_paid_days(
    document: dict[str, Any],
) -> None:
    """Determinism (SCENARIOS.md) and BILL-7: invoice net = sum of line nets, gross = net + vat."""
    first = dumps(run(document))
    assert dumps(run(copy.deepcopy(document))) == first
    for invoice in json.loads(first)["invoices"]:
        nets = sum(Decimal(line["net"]) for line in invoice["lines"])
        assert Decimal(invoice["net"]) == nets
        assert Decimal(invoice["gross"]) == Decimal(invoice["net"]) + Decimal(invoice["vat"])
        assert all(Decimal(line["net"]) >= 0 for line in invoice["lines"])


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaves(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in leaves(item, (*path, index))]
    return [path]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["2026-02-30", "2026-01-10", "2026-01-10T10:00:00", "-1", "0.001", "premium"]
    ),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=4,
)


@given(st.sampled_from(leaves(EXAMPLE)), JSON_VALUES)
def test_any_mangled_value_is_accepted_or_refused_with_a_validation_error(
    path: tuple[Any, ...], value: Any
) -> None:
    """No crash and no other error type: bad input is always a ValidationError (exit 2)."""
    try:
        run(with_change(list(path), value))
    except ValidationError as error:
        assert "\n" not in str(error)


def test_a_plan_without_a_price_for_the_cycle_is_refused_plan_1() -> None:
    doc = copy.deepcopy(EXAMPLE)
    del doc["plans"][0]["price"]["monthly"]
    with pytest.raises(
        ValidationError, match=r"^events\[0\]\.plan: plan 'standard' has no monthly"
    ):
        run(doc)


VERB_EVENTS = st.one_of(
    st.builds(
        lambda plan, cycle, seats, payment: {
            "do": "activate",
            "plan": plan,
            "cycle": cycle,
            "seats": seats,
            "payment": payment,
        },
        st.sampled_from(["standard", "premium"]),
        st.sampled_from(["monthly", "annual"]),
        st.integers(1, 4),
        st.sampled_from(["card", "transfer"]),
    ),
    st.builds(
        lambda plan, months, seats: {
            "do": "prepay",
            "plan": plan,
            "months": months,
            "seats": seats,
        },
        st.sampled_from(["standard", "premium"]),
        st.integers(1, 14),
        st.integers(1, 4),
    ),
    st.builds(lambda n: {"do": "add_seats", "count": n}, st.integers(1, 3)),
    st.builds(lambda n: {"do": "remove_seats", "count": n}, st.integers(1, 3)),
    st.builds(lambda p: {"do": "assign", "person": p}, st.sampled_from(["ann", "bob", "cid"])),
    st.builds(lambda p: {"do": "unassign", "person": p}, st.sampled_from(["ann", "bob", "cid"])),
    st.builds(lambda p: {"do": "change_plan", "plan": p}, st.sampled_from(["standard", "premium"])),
    st.just({"do": "pay", "everything": True}),
    st.just({"do": "pay", "amount": "700.00"}),
    st.just({"do": "cancel"}),
    st.just({"do": "reinstate"}),
    st.builds(
        lambda n: {"do": "create_records", "kind": "client", "count": n}, st.integers(1, 12000)
    ),
    st.builds(lambda n: {"do": "delete_records", "kind": "client", "count": n}, st.integers(1, 9)),
)


@given(
    st.sampled_from(["raynet", "livespace", "chmiuro"]),
    st.lists(st.tuples(st.integers(0, 45), VERB_EVENTS), max_size=8),
)
def test_every_verb_sequence_replays_without_crashing(
    preset_name: str, steps: list[tuple[int, dict[str, Any]]]
) -> None:
    """Refusals, not crashes: any order of verbs gives a result with only known statuses."""
    doc = copy.deepcopy(EXAMPLE)
    doc["preset"] = preset_name
    doc["plans"].insert(0, {"code": "free", "rank": 0, "price": {"monthly": "0.00"}})
    if not preset(preset_name).limits.counted_record_kinds:  # REC-5: no record limit to state
        for plan in doc["plans"]:
            plan.pop("records", None)
    day = date(2026, 1, 6)
    doc["events"] = []
    for gap, event in steps:
        day += timedelta(days=gap)
        doc["events"].append({"on": day.isoformat(), **event})
    doc["until"] = (day + timedelta(days=400)).isoformat()
    output = run(doc)
    known = {"trial", "trial_expired", "active", "free", "blocked", "cancelled", "purged"}
    assert {s["status"] for s in output["statuses"]} <= known
    numbers = [i["number"] for i in output["invoices"]]
    assert len(set(numbers)) == len(numbers)


def test_extensions_add_to_the_output_and_can_change_invoices() -> None:
    """The extension point the PAY/SLA/REC families plug into."""
    import attrs

    from crmcore.invoices import InvoiceLine, LineKind
    from crmcore.money import Money
    from crmcore.outcomes import LimitWarning

    def credit(context: ScenarioContext) -> None:
        first = context.invoices[0]
        line = InvoiceLine(LineKind.SLA_CREDIT, "SLA-6", Money.of("-17.74", "CZK"))
        context.invoices[0] = attrs.evolve(first, lines=[*first.lines, line])
        context.refresh_payments()
        context.warnings.append(LimitWarning(date(2026, 1, 28), "REC-2", 9, 10))

    output = run(EXAMPLE, extensions=[credit])
    first = output["invoices"][0]
    assert first["net"] == "1000.00"  # 1017.74 − 17.74
    assert first["paid"] == first["gross"] == "1210.00"  # everything = the new gross
    assert output["warnings"] == [{"on": "2026-01-28", "rule": "REC-2", "records": 9, "limit": 10}]


# --- issue 13: bad scenario input ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["raynet", "livespace", "chmiuro", "smartmail", "optimasales"])
def test_every_preset_can_be_replayed(name: str) -> None:
    """All five presets are complete VendorPolicy values. smartmail and optimasales state no
    trial (TRIAL-1 is not theirs): a new tenant has no access until it buys."""
    doc = {**copy.deepcopy(EXAMPLE), "preset": name}
    if not preset(name).limits.counted_record_kinds:  # REC-5: no record limit to state
        for plan in doc["plans"]:
            plan.pop("records", None)
    output = run(doc)
    first = "trial" if name in ("raynet", "livespace", "chmiuro") else "trial_expired"
    assert output["statuses"][0] == {"on": "2026-01-05", "status": first}


def test_a_naive_datetime_is_shown_as_the_text_given_TIME_1() -> None:
    with pytest.raises(ValidationError) as caught:
        run(with_change(["tenant", "created"], "2026-01-05T09:00:00"))
    assert str(caught.value) == (
        "tenant.created: must be timezone-aware, got naive '2026-01-05T09:00:00' (TIME-1)"
    )
    assert "datetime.datetime" not in str(caught.value)


@given(
    st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)),
    st.sampled_from(["+14:00", "+01:00", "-12:00"]),
)
def test_dates_inside_the_bounds_replay_and_outside_are_refused_by_path(
    day: date, offset: str
) -> None:
    """No OverflowError at either end of the calendar: 1900-01-01..2999-12-31 replay, the
    rest is a ValidationError at ``tenant.created``."""
    from crmcore.scenario.input import FIRST_DAY, LAST_DAY

    document = copy.deepcopy(EXAMPLE)
    document["tenant"]["created"] = f"{day.isoformat()}T00:00:00{offset}"
    document["events"] = []
    document["until"] = min(day + timedelta(days=1), LAST_DAY).isoformat()
    if FIRST_DAY <= day <= LAST_DAY:
        run(document)
    else:
        with pytest.raises(ValidationError) as caught:
            run(document)
        assert caught.value.field == "tenant.created"


def test_until_is_at_most_200_years_after_creation() -> None:
    with pytest.raises(ValidationError, match=r"^until: must be at most 200 years after"):
        run(with_change(["until"], "2226-01-06"))


@pytest.mark.parametrize("amount", ["1e999999999", "1E+2", "5e-1", "1_000.00", " 5.00", "+5.00"])
def test_amounts_are_plain_decimals_and_refused_at_once_BILL_7(amount: str) -> None:
    """No exponent (``"1e999999999"`` used to run for minutes building a billion digits)."""
    import time

    started = time.perf_counter()
    with pytest.raises(ValidationError) as caught:
        run(with_change(["fees", "transfer"], amount))
    assert time.perf_counter() - started < 1
    assert caught.value.field == "fees.transfer" and caught.value.rule == "BILL-7"


def test_counts_name_their_rule_and_maximum_SEAT_1_TERM_1_REC_3() -> None:
    from crmcore.scenario.input import MAX_MONTHS, MAX_RECORDS, MAX_SEATS

    cases = [
        ({"do": "add_seats", "count": MAX_SEATS + 1}, "count", "SEAT-1"),
        ({"do": "remove_seats", "count": 0}, "count", "SEAT-1"),
        (
            {"do": "prepay", "plan": "standard", "months": MAX_MONTHS + 1, "seats": 1},
            "months",
            "TERM-1",
        ),
        ({"do": "create_records", "kind": "client", "count": MAX_RECORDS + 1}, "count", "REC-3"),
    ]
    for event, field, rule in cases:
        document = copy.deepcopy(EXAMPLE)
        document["events"][1] = {"on": "2026-02-01", **event}
        with pytest.raises(ValidationError) as caught:
            run(document)
        assert (caught.value.field, caught.value.rule) == (f"events[1].{field}", rule)
    document = copy.deepcopy(EXAMPLE)
    document["events"][1] = {"on": "2026-02-01", "do": "add_seats", "count": MAX_SEATS}
    run(document)  # the maximum itself is accepted


def test_overrides_errors_keep_the_overrides_prefix_and_the_rule() -> None:
    with pytest.raises(ValidationError) as caught:
        run(with_change(["overrides"], {"sla": {"tiers": [{"below": "99.5", "credit": "11"}]}}))
    assert caught.value.field == "overrides.sla.tiers[0].credit"
    assert caught.value.rule == "SLA-2"


@pytest.mark.parametrize("name", ["livespace", "chmiuro", "smartmail", "optimasales"])
def test_rec1_a_plan_limit_the_vendor_never_counts_is_refused(name: str) -> None:
    """REC-1/REC-5: these vendors count no record kinds, so a plan's ``records`` limit could
    never apply (the core would allow 500 clients against a limit of 100 while storage
    counters refused them); the scenario is refused naming the plan's limit."""
    doc = {**copy.deepcopy(EXAMPLE), "preset": name}
    doc["plans"][0]["records"] = 100
    with pytest.raises(ValidationError) as caught:
        run(doc)
    assert (caught.value.field, caught.value.rule) == ("plans[0].records", "REC-1")


def _records_life(events: list[dict[str, Any]], until: str) -> dict[str, Any]:
    """Standard (100 records) and premium; created 20 Feb 09:00 (trial to 22 Mar 09:00)."""
    return {
        "preset": "raynet",
        "currency": "CZK",
        "vat_rate": "0.21",
        "plans": [
            {"code": "standard", "rank": 1, "price": {"monthly": "500.00"}, "records": 100},
            {"code": "premium", "rank": 2, "price": {"monthly": "800.00"}, "records": 1000},
        ],
        "tenant": {"id": "acme", "created": "2026-02-20T09:00:00+01:00"},
        "events": events,
        "until": until,
    }


ACTIVATED = {"on": "2026-03-01", "do": "activate", "plan": "standard", "seats": 2}
CLIENTS = {"on": "2026-03-02", "do": "create_records", "kind": "client", "count": 50}


@pytest.mark.parametrize(
    ("events", "rule"),
    [
        # transfer, due 15 Mar, unpaid: more than 3 days overdue from 19 Mar (PAY-2)
        ([ACTIVATED | {"payment": "transfer"}, CLIENTS], "PAY-2"),
        # no activation: the trial ends 22 Mar 09:00 (TRIAL-5)
        ([CLIENTS | {"on": "2026-02-21"}], "TRIAL-5"),
        # cancelled on 10 Mar, paid (by card) to 31 Mar: no access from 1 Apr (END-4)
        ([ACTIVATED, CLIENTS, {"on": "2026-03-10", "do": "cancel"}], "END-4"),
    ],
)
def test_a_tenant_without_access_deletes_no_records_as_it_creates_none_PAY_2_TRIAL_5_END_4(
    events: list[dict[str, Any]], rule: str
) -> None:
    """Deleting records is a change of the tenant's data: refused while it has no access, with
    the rule a creation the same day is refused with (it was applied, and a later creation
    then fitted a limit the deleted records still filled)."""
    day = "2026-04-02"
    late = [
        {"on": day, "do": "delete_records", "kind": "client", "count": 10},
        {"on": day, "do": "create_records", "kind": "client", "count": 1},
    ]
    result = run(_records_life([*events, *late], "2026-04-03"))
    assert [(r["on"], r["do"], r["rule"]) for r in result["refusals"]] == [
        (day, "delete_records", rule),
        (day, "create_records", rule),
    ]
