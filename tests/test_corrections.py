"""BILL-6: late entries become correction documents (issue 15, section 1).

An event entered after the day it takes effect (``recorded`` later than ``at``) never changes an
invoice already issued: what the invoice lacked, or charged too much, goes on a correction
document issued on the day the late entry was recorded, in its own gapless series, naming the
invoice it corrects, with the difference per line kind and its VAT (BILL-7).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.app.simulation import scenario_vendor, simulate_stored
from crmcore.dates import vendor_date, zone
from crmcore.errors import CommandRefused, CrmError, OutOfOrderError, ValidationError
from crmcore.events import SeatsAdded, TenantCreated, entered, event_from_dict, event_to_dict
from crmcore.memory import InMemoryStorage
from crmcore.scenario.runner import parse, run
from crmcore.testing.billing import late_entry_documents
from stored_paths import crmcore, emptied, same_as_runner

ROOT = Path(__file__).resolve().parents[1]
LATE_SEATS = json.loads((ROOT / "docs/scenarios/late_seat_addition.json").read_text())
PRAGUE_TZ = zone("Europe/Prague")


def _kinds(result: dict[str, Any]) -> dict[str, Decimal]:
    """The net of every document's lines per line kind (kinds summing to zero left out)."""
    totals: dict[str, Decimal] = {}
    for document in result["invoices"]:
        for line in document["lines"]:
            totals[line["kind"]] = totals.get(line["kind"], Decimal(0)) + Decimal(line["net"])
    return {kind: total for kind, total in totals.items() if total}


def _on_time(document: dict[str, Any]) -> dict[str, Any]:
    """The same life with every event known when it happened: no ``recorded``, events in
    effective order (the replay that knew every event from the start)."""
    known = copy.deepcopy(document)
    for event in known["events"]:
        event.pop("recorded", None)
    known["events"].sort(key=lambda e: e.get("on") or e["at"][:10])
    return known


# --- hand-computed examples -----------------------------------------------------------------------


def test_bill_6_seats_bought_on_10_march_entered_on_5_april_are_a_correction() -> None:
    """2 seats of standard (500.00 CZK a seat a month, VAT 21 %, transfer fee 50.00); 1 seat
    bought on 10 March, entered on 5 April, after the April invoice went out:
    - the April invoice (1 April) stays: 2 x 500.00 + 50.00 = 1050.00 net, VAT 220.50;
    - the full replay's April invoice: 3 x 500.00 = 1500.00 prepaid, plus the seat in arrears
      for 10..31 March, PRO-2: 500.00 x 22/31 = 354.838... -> 354.84, plus the fee 50.00;
    - so the correction of 5 April: subscription +500.00, seats +354.84 = 854.84 net;
      VAT = VAT(1050.00 + 854.84) - VAT(1050.00) = 400.02 - 220.50 = 179.52
      (1904.84 x 0.21 = 400.0164 -> 400.02); gross 1034.36, due 14 days later (BILL-4)."""
    result = run(LATE_SEATS)
    april, correction = result["invoices"][3], result["invoices"][4]
    assert (april["type"], april["number"], april["net"], april["vat"]) == (
        "invoice",
        "2026/0004",
        "1050.00",
        "220.50",
    )
    assert correction["type"] == "correction"
    assert correction["corrects"] == "2026/0004"
    assert correction["number"] == "KOR/2026/0001"  # its own series (BILL-6)
    assert (correction["issued"], correction["due"]) == ("2026-04-05", "2026-04-19")
    assert [(line["kind"], line["net"], line["rule"]) for line in correction["lines"]] == [
        ("subscription", "500.00", "BILL-6"),
        ("seats", "354.84", "BILL-6"),
    ]
    assert (correction["net"], correction["vat"], correction["gross"]) == (
        "854.84",
        "179.52",
        "1034.36",
    )
    # the May invoice knows the seat: 3 x 500.00 + 50.00
    assert result["invoices"][5]["net"] == "1550.00"
    # what the replay that knew the seat from the start invoices, per kind, exactly
    assert _kinds(result) == _kinds(run(_on_time(LATE_SEATS)))
    full = run(_on_time(LATE_SEATS))["invoices"][3]
    assert [line["net"] for line in full["lines"]] == ["1500.00", "354.84", "50.00"]


def test_bill_6_a_cancellation_entered_late_credits_what_was_invoiced_after_it() -> None:
    """Cancelled on 16 March (END-4), entered on 5 April: the April invoice (1000.00 + 50.00,
    VAT 220.50) should not have been issued (BILL-3 refunds nothing of March, but April was
    never owed): a credit of -1000.00 and -50.00, VAT 0.00 - 220.50 = -220.50, gross -1270.50;
    no May invoice."""
    document = copy.deepcopy(LATE_SEATS)
    document["events"] = [
        *LATE_SEATS["events"][:4],
        {"on": "2026-03-16", "do": "cancel", "recorded": "2026-04-05"},
    ]
    result = run(document)
    credit = result["invoices"][-1]
    assert credit["type"] == "correction" and credit["corrects"] == "2026/0004"
    assert [(line["kind"], line["net"]) for line in credit["lines"]] == [
        ("subscription", "-1000.00"),
        ("transfer_fee", "-50.00"),
    ]
    assert (credit["net"], credit["vat"], credit["gross"]) == ("-1050.00", "-220.50", "-1270.50")
    assert [i["issued"] for i in result["invoices"] if i["type"] == "invoice"][-1] == "2026-04-01"
    assert _kinds(result) == _kinds(run(_on_time(document)))


def test_bill_6_sla_6_an_outage_reported_late_credits_the_invoice_it_should_have_been_on() -> None:
    """A 2-day unplanned outage in March (SLA-2 credit on the March fee, SLA-6: on the first
    invoice after March, the April one), reported on 10 April: a correction of the April
    invoice with the same ``sla_credit`` the full replay puts on it, negative."""
    document = copy.deepcopy(LATE_SEATS)
    document["events"] = [
        *LATE_SEATS["events"][:5],
        {
            "at": "2026-03-03T08:00:00+01:00",
            "do": "outage",
            "until": "2026-03-05T08:00:00+01:00",
            "kind": "unplanned",
            "recorded": "2026-04-10",
        },
    ]
    document["until"] = "2026-04-30"
    result = run(document)
    full = run(_on_time(document))
    credit = [line for i in full["invoices"] for line in i["lines"] if line["kind"] == "sla_credit"]
    assert len(credit) == 1 and Decimal(credit[0]["net"]) < 0
    correction = result["invoices"][-1]
    assert correction["type"] == "correction" and correction["issued"] == "2026-04-10"
    assert correction["corrects"] == "2026/0004"
    assert [(line["kind"], line["net"]) for line in correction["lines"]] == [
        ("sla_credit", credit[0]["net"])
    ]
    assert _kinds(result) == _kinds(full)


def test_bill_6_an_activation_entered_late_is_invoiced_on_the_day_it_is_entered() -> None:
    """Activated on 20 January, entered on 3 February: nothing was invoiced before; the
    prorated January invoice (BILL-1: 2 x 500.00 x 12/31 = 387.10) and the February one are
    issued on 3 February, due 14 days later (a late invoice is not a correction)."""
    document = copy.deepcopy(LATE_SEATS)
    document["events"] = [
        {**LATE_SEATS["events"][0], "recorded": "2026-02-03"},
        {"on": "2026-02-04", "do": "pay", "everything": True},
    ]
    document["until"] = "2026-02-28"
    invoices = run(document)["invoices"]
    assert [(i["type"], i["number"], i["issued"], i["due"]) for i in invoices] == [
        ("invoice", "2026/0001", "2026-02-03", "2026-02-17"),
        ("invoice", "2026/0002", "2026-02-03", "2026-02-17"),
    ]
    assert invoices[0]["lines"][0]["net"] == "387.10"
    assert all(i["paid"] == i["gross"] for i in invoices)


# --- properties -----------------------------------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(late_entry_documents())
def test_bill_6_invoices_and_corrections_sum_per_kind_to_the_replay_that_knew_everything(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """For random lives with random late entries: per line kind, the invoices and corrections
    sum to what the replay that knew every event from the start invoices. Compared where the
    statuses and refusals agree: when a document goes out later, payment delay (PAY-2..4)
    counts from its own due day, so a life may be blocked or cancelled on other days, which
    changes what is owed; and a command is checked against what was known when it was
    entered, so one refused then was never recorded."""
    on_time, late = pair
    try:
        expected = run(on_time)
    except CrmError:
        return  # a document the runner refuses is no life to compare
    result = run(late)
    if (result["statuses"], result["refusals"]) != (expected["statuses"], expected["refusals"]):
        return
    if any(s["status"] in ("cancelled", "purged") for s in result["statuses"]):
        return  # once the contract ended nothing more is asked (PAY-3/PAY-4): a late charge lapses
    assert _kinds(result) == _kinds(expected)
    if not any("recorded" in event for event in late["events"]):
        assert result == expected  # no late entry: nothing to correct


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(late_entry_documents())
def test_bill_6_corrections_are_gapless_name_an_earlier_invoice_and_never_over_credit(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Every correction names an invoice issued before it (or the same day); corrections are
    numbered 1, 2, ... per year in their own series, apart from the invoices'; per kind, an
    invoice with its corrections never goes below zero (a credit never exceeds the charge),
    SLA-6 credits aside; an invoice's VAT with its corrections is the VAT on its corrected net
    (BILL-7)."""
    try:
        result = run(pair[1])
    except CrmError:
        return
    by_number = {i["number"]: i for i in result["invoices"]}
    counters: dict[tuple[str, str], int] = {}
    totals: dict[str, dict[str, Decimal]] = {}
    vat: dict[str, Decimal] = {}
    net: dict[str, Decimal] = {}
    for document in result["invoices"]:
        kind = document["type"]
        series = (kind, document["issued"][:4])
        counters[series] = counters.get(series, 0) + 1
        if kind == "correction":
            assert document["number"] == f"KOR/{series[1]}/{counters[series]:04d}"
            original = by_number[document["corrects"]]
            assert original["type"] == "invoice" and original["issued"] <= document["issued"]
            target = document["corrects"]
        else:
            assert document["number"] == f"{series[1]}/{counters[series]:04d}"
            assert "corrects" not in document
            target = document["number"]
        kinds = totals.setdefault(target, {})
        for line in document["lines"]:
            kinds[line["kind"]] = kinds.get(line["kind"], Decimal(0)) + Decimal(line["net"])
        vat[target] = vat.get(target, Decimal(0)) + Decimal(document["vat"])
        net[target] = net.get(target, Decimal(0)) + Decimal(document["net"])
    rate = Decimal(pair[1]["vat_rate"])
    for number, kinds in totals.items():
        assert all(total >= 0 for kind, total in kinds.items() if kind != "sla_credit"), number
        corrected = (net[number] * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert vat[number] == corrected, number


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])  # suite budget
@given(late_entry_documents())
def test_bill_6_the_stored_path_issues_the_runners_corrections_in_memory(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """``crmcore simulate --db``: each event sent as its command on the day it was entered,
    billing run day by day: the stored invoices and corrections are the runner's, byte for
    byte (in memory; the SQL engines below)."""
    same_as_runner(pair[1], InMemoryStorage().unit_of_work)


def billing_runs(document: dict[str, Any]) -> list[tuple[date, date, list[date]]]:
    """``document`` through the commands in memory, billed the day before each entry day and
    up to ``until`` (as ``simulate_stored``): per run, the day billed before it, the day it
    bills up to, and the issue days of the documents it stored."""
    scenario = parse(document)
    storage = InMemoryStorage()
    vendor = scenario_vendor(scenario)
    save_vendor(storage.unit_of_work(), vendor)
    created = scenario.history[0]
    assert isinstance(created, TenantCreated)
    tenant = scenario.tenant_id
    register_tenant(storage.unit_of_work(), tenant, vendor.name, created.at, created.identity)
    tz = scenario.policy.timezone
    runs: list[tuple[date, date, list[date]]] = []
    billed = scenario.created_day - timedelta(days=1)

    def bill(up_to: date) -> None:
        nonlocal billed
        if up_to > billed:
            stored = bill_tenant(storage.unit_of_work(), tenant, up_to).issued
            runs.append((billed, up_to, [i.issued for i in stored]))
            billed = up_to

    for event in scenario.history[1:]:
        day = vendor_date(entered(event), tz)
        if vendor_date(event.at, tz) > scenario.until or day > scenario.until:
            continue
        bill(day - timedelta(days=1))
        with contextlib.suppress(CommandRefused):  # a refused command stores nothing
            record(storage.unit_of_work(), tenant, event)
    bill(scenario.until)
    return runs


def test_bill_6_a_late_reinstatement_backdates_nothing() -> None:
    """The life of ``REINSTATED_LATE`` (below) through the stored path: the run up to 31 Aug
    (after the reinstatement of 1 Jun was entered on 2 Jul, the run before it billed up to
    1 Jul) stores the June and July invoices dated 2 Jul, inside the days it bills, not
    1 Jun and 1 Jul,
    days already billed (an issued past never changes, BILL-6)."""
    runs = billing_runs(REINSTATED_LATE)
    assert (date(2026, 7, 1), date(2026, 8, 31), [date(2026, 7, 2)] * 2) in runs
    for previous, up_to, issued in runs:
        assert all(previous < day <= up_to for day in issued), (previous, up_to, issued)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])  # suite budget
@given(late_entry_documents())
def test_bill_6_a_billing_run_stores_no_document_dated_a_day_already_billed(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """BILL-6: what was issued never changes, and nothing is issued in the past. For random
    lives with late entries through the stored path, every document a billing run stores is
    dated after the day the run before it billed up to: a late entry's corrections, and an
    invoice it made due in the past, are issued on the day it was entered."""
    try:
        runs = billing_runs(pair[1])
    except CrmError:
        return
    for previous, up_to, issued in runs:
        assert all(previous < day <= up_to for day in issued), (previous, up_to, issued)


def test_bill_6_the_late_seats_through_sql_equal_the_runner(engine: Engine) -> None:
    same_as_runner(LATE_SEATS, emptied(engine))


@settings(
    max_examples=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(pair=late_entry_documents())
def test_bill_6_random_late_entries_through_sql_equal_the_runner(
    pair: tuple[dict[str, Any], dict[str, Any]], engine: Engine
) -> None:
    """The same through SQL storage."""
    same_as_runner(pair[1], emptied(engine))


def test_bill_6_a_stored_correction_keeps_its_number_reference_and_exact_vat(
    engine: Engine,
) -> None:
    """The correction read back from SQL is the one stored: ``corrects``, the corrected net
    and so its VAT (179.52, not VAT(854.84) computed alone: here the same, 179.5164 -> 179.52,
    so check the stored corrected net itself)."""
    simulate_stored(LATE_SEATS, emptied(engine))
    with crmcore_sql.unit_of_work(engine) as uow:
        stored = [i for i in uow.invoices.for_tenant("acme") if i.corrects is not None]
    assert len(stored) == 1
    (correction,) = stored
    assert correction.corrects == "2026/0004"
    assert correction.corrected_net is not None
    assert str(correction.corrected_net.amount) == "1050.00"
    assert str(correction.vat.amount) == "179.52"
    assert correction.type == "correction"


# --- the command and the job ----------------------------------------------------------------------


def _stored_tenant(storage: InMemoryStorage) -> None:
    scenario = parse(LATE_SEATS)
    vendor = scenario_vendor(scenario)
    save_vendor(storage.unit_of_work(), vendor)
    created = scenario.history[0]
    assert isinstance(created, TenantCreated)
    register_tenant(storage.unit_of_work(), "acme", vendor.name, created.at)
    for event in scenario.history[1:5]:  # activation and payments up to 5 March
        record(storage.unit_of_work(), "acme", event)
    bill_tenant(storage.unit_of_work(), "acme", date(2026, 4, 4))


def test_bill_6_an_event_before_an_issued_invoice_must_say_when_it_was_recorded() -> None:
    """Without ``recorded`` the seat of 10 March would rewrite the April invoice already
    issued: refused, naming the field and the rule, nothing stored; with it, accepted, and the
    next billing run issues the correction."""
    storage = InMemoryStorage()
    _stored_tenant(storage)
    at = datetime(2026, 3, 10, tzinfo=PRAGUE_TZ)
    with pytest.raises(ValidationError, match=r"^event\.recorded: .*2026/0004.*\(BILL-6\)$"):
        record(storage.unit_of_work(), "acme", SeatsAdded(at, 1))
    with storage.unit_of_work() as uow:
        assert len(uow.tenants.history("acme")) == 5  # nothing stored
    late = SeatsAdded(at, 1, recorded=datetime(2026, 4, 5, 10, tzinfo=PRAGUE_TZ))
    record(storage.unit_of_work(), "acme", late)
    billed = bill_tenant(storage.unit_of_work(), "acme", date(2026, 4, 5))
    assert [(i.type, i.number, i.corrects, str(i.net.amount)) for i in billed.issued] == [
        ("correction", "KOR/2026/0001", "2026/0004", "854.84")
    ]
    again = bill_tenant(storage.unit_of_work(), "acme", date(2026, 4, 30))
    assert again.issued == ()  # idempotent: a correction is issued once


def test_bill_6_a_late_entry_is_recorded_before_its_day_is_billed() -> None:
    """Billing ran for 1 May (the May invoice is stored): a late entry recorded on 1 May would
    leave that invoice uncorrected (the run did not know it), so it is refused naming BILL-6;
    recorded on 2 May it is accepted and corrects both the April and the May invoice."""
    storage = InMemoryStorage()
    _stored_tenant(storage)
    bill_tenant(storage.unit_of_work(), "acme", date(2026, 5, 1))
    at = datetime(2026, 3, 10, tzinfo=PRAGUE_TZ)
    on_may_1 = SeatsAdded(at, 1, recorded=datetime(2026, 5, 1, 10, tzinfo=PRAGUE_TZ))
    with pytest.raises(
        ValidationError, match=r"^event\.recorded: entered on 2026-05-01.*2026/0005"
    ):
        record(storage.unit_of_work(), "acme", on_may_1)
    on_may_2 = SeatsAdded(at, 1, recorded=datetime(2026, 5, 2, 10, tzinfo=PRAGUE_TZ))
    record(storage.unit_of_work(), "acme", on_may_2)
    billed = bill_tenant(storage.unit_of_work(), "acme", date(2026, 5, 2))
    assert [(i.type, i.corrects) for i in billed.issued] == [
        ("correction", "2026/0004"),
        ("correction", "2026/0005"),
    ]


def test_bill_6_the_billing_job_issues_corrections_with_the_stored_numbers(engine: Engine) -> None:
    """``crmcore bill --up-to``: the job evaluates the stored history (late entry included)
    and stores the correction in the corrections series, naming the stored number of the
    invoice it corrects."""
    from crmcore_sql.jobs import bill_up_to

    uow = emptied(engine)
    scenario = parse(LATE_SEATS)
    vendor = scenario_vendor(scenario)
    save_vendor(uow(), vendor)
    created = scenario.history[0]
    assert isinstance(created, TenantCreated)
    register_tenant(uow(), "acme", vendor.name, created.at)
    for event in scenario.history[1:6]:  # activation and payments up to 2 April
        record(uow(), "acme", event)
    bill_up_to(engine, date(2026, 4, 4))
    record(uow(), "acme", scenario.history[6])  # the late seat, recorded 5 April
    day = date(2026, 4, 5)
    while day <= date(2026, 5, 10):
        bill_up_to(engine, day)
        day += timedelta(days=1)
    with uow() as unit:
        stored = sorted(unit.invoices.for_tenant("acme"), key=lambda i: (i.issued, i.number))
    assert [(i.type, i.number, i.corrects, str(i.gross.amount)) for i in stored][-2:] == [
        ("correction", "KOR/2026/0001", "2026/0004", "1034.36"),
        ("invoice", "2026/0005", None, "1875.50"),
    ]


# --- bad input ------------------------------------------------------------------------------------


def test_bill_6_events_are_listed_in_recorded_order() -> None:
    document = copy.deepcopy(LATE_SEATS)
    document["events"].append({"on": "2026-03-20", "do": "add_seats", "count": 1})
    with pytest.raises(OutOfOrderError, match=r"^events\[8\]\.on: is before events\[7\]"):
        run(document)
    document["events"][-1]["recorded"] = "2026-04-01"  # late, but entered before events[7]
    with pytest.raises(OutOfOrderError, match=r"^events\[8\]\.recorded: .*\(BILL-6\)$"):
        run(document)
    document["events"][-1]["recorded"] = "2026-05-06"
    assert run(document)["invoices"][-1]["type"] == "correction"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-04-05T10:00:00", r"events\[5\]\.recorded"),
        ("yesterday", r"events\[5\]\.recorded"),
        (20260405, r"events\[5\]\.recorded"),
        ("2026-13-01", r"events\[5\]\.recorded"),
    ],
)
def test_bill_6_a_malformed_recorded_is_refused_with_its_path(value: object, message: str) -> None:
    document = copy.deepcopy(LATE_SEATS)
    document["events"][5]["recorded"] = value
    with pytest.raises(ValidationError, match=message):
        run(document)


def test_bill_6_recorded_round_trips_through_the_event_codec() -> None:
    event = SeatsAdded(
        datetime(2026, 3, 10, tzinfo=PRAGUE_TZ),
        2,
        recorded=datetime(2026, 4, 5, 10, tzinfo=PRAGUE_TZ),
    )
    assert event_from_dict(event_to_dict(event)) == event
    assert "recorded" not in event_to_dict(SeatsAdded(event.at, 2))  # on time: as before
    with pytest.raises(ValidationError, match="recorded"):
        SeatsAdded(event.at, 2, recorded=datetime(2026, 4, 5))  # naive


def test_the_correction_series_must_differ_from_the_invoice_series() -> None:
    from crmcore.policies import BillingPolicy

    with pytest.raises(ValidationError, match=r"^correction_series: .*\(BILL-6\)$"):
        BillingPolicy(invoice_series="{year}/{number}", correction_series="{year}/{number}")
    assert re.fullmatch(r"KOR/\{year\}/\{number:04d\}", BillingPolicy().correction_series)


REINSTATED = json.loads(
    (ROOT / "tests/data/bill_6_reinstated_after_a_refused_late_entry.json").read_text()
)


def test_bill_6_an_invoice_withheld_while_cancelled_is_not_issued_late_after_reinstatement() -> (
    None
):
    """Found by the property above (stored path ``2026/0004``, runner ``2026/0005``).
    Cancelled on 18 March (PAY-3), reinstated on 2 April; an ``add_seats`` of 1 April entered
    on 2 April is refused (PAY-3: the contract had ended on 1 April). The April invoice
    (issued 1 April) was withheld: the contract had ended. The replay that knew every event
    on time issues no April invoice either (the next one is May's). The refused late entry
    must not start an epoch that issues the withheld April invoice "late" on 2 April:
    invoices 2026/0001..0003 (January..March), then 2026/0004 for May, gapless (BILL-6)."""
    document = copy.deepcopy(REINSTATED)
    document["until"] = "2026-05-15"
    invoices = run(document)["invoices"]
    assert [(i["number"], i["key"], i["issued"]) for i in invoices] == [
        ("2026/0001", "period:2026-01-01", "2026-01-02"),
        ("2026/0002", "period:2026-02-01", "2026-02-01"),
        ("2026/0003", "period:2026-03-01", "2026-03-01"),
        ("2026/0004", "period:2026-05-01", "2026-05-01"),  # no April: never owed (PAY-3)
    ]
    # the same as the replay without the refused late entry (what the stored path stores)
    without = copy.deepcopy(document)
    without["events"] = [e for e in document["events"] if e["at"][:10] != "2026-04-01"]
    assert run(without)["invoices"] == invoices
    same_as_runner(REINSTATED, InMemoryStorage().unit_of_work)
    same_as_runner(document, InMemoryStorage().unit_of_work)


LATE_REINSTATEMENT = json.loads((ROOT / "tests/data/bill_6_late_reinstatement.json").read_text())


def test_bill_6_a_refused_late_entry_starts_no_epoch_stored_path_equals_the_runner() -> None:
    """Found by the property below. Cancelled for payment delay on 9 Nov 2026 (PAY-3); a
    customer ``cancel`` of 18 Nov is refused (PAY-3: the contract had ended); purged on 7 Feb
    2027 (PAY-4: the oldest unpaid invoice was due 9 Sep 2026, 151 days before); a
    reinstatement of 21 Jan 2027 entered on 16 Mar, after the purge, is refused (PAY-5: a
    purge is final), and so are the reinstatements of 19 Mar and 6 Apr (PAY-4: purged). The
    stored path never stores the refused events, so no knowledge epoch may know them: the
    runner used to price the epoch before 16 Mar with the refused cancellation. The two agree
    byte for byte, and the documents are gapless: 2026/0001..0005, nothing after the purge."""
    result = run(LATE_REINSTATEMENT)
    assert [i["number"] for i in result["invoices"]] == [f"2026/000{n}" for n in range(1, 6)]
    assert result["statuses"][-2:] == [
        {"on": "2026-11-09", "status": "cancelled"},
        {"on": "2027-02-07", "status": "purged"},
    ]
    assert [(r["on"], r["do"], r["rule"]) for r in result["refusals"]][2:] == [
        ("2026-11-18", "cancel", "PAY-3"),
        ("2027-01-21", "reinstate", "PAY-5"),
        ("2027-03-19", "reinstate", "PAY-4"),
        ("2027-04-06", "reinstate", "PAY-4"),
    ]
    same_as_runner(LATE_REINSTATEMENT, InMemoryStorage().unit_of_work)


def test_bill_6_a_late_entry_refused_on_entry_prices_no_epoch() -> None:
    """Found by the property below. Cancelled for payment delay on 18 Apr (PAY-3), reinstated
    on 19 Apr at 12:00; a ``change_plan`` to standard of 19 Apr 08:04, entered on 20 Apr, is
    refused (PAY-3: the contract had ended at 08:04). The runner used to price the epoch from
    20 Apr with it (May invoiced on standard, 1000.00, then a +600.00 correction); the stored
    path, which never stored it, invoices May on premium: 1600.00 + 50.00 transfer fee."""
    document = json.loads((ROOT / "tests/data/bill_6_refused_late_change_plan.json").read_text())
    may = next(i for i in run(document)["invoices"] if i["issued"] == "2026-05-01")
    assert (may["net"], may["number"]) == ("1650.00", "2026/0004")
    assert not [i for i in run(document)["invoices"] if i["type"] == "correction"]
    same_as_runner(document, InMemoryStorage().unit_of_work)


REINSTATED_LATE = json.loads(
    (ROOT / "tests/data/bill_6_late_reinstatement_before_the_purge.json").read_text()
)


def test_bill_6_an_invoice_a_late_reinstatement_made_due_is_issued_on_its_entry_day() -> None:
    """Activated 20 Jan 2026, 2 seats of standard by transfer, never paid: due 3 Feb, blocked
    7 Feb (PAY-2), cancelled 5 Apr (PAY-3: 61 days). A reinstatement of 1 Jun is entered on
    2 Jul, before the purge would come (4 Jul, PAY-4). On 1 Jun and 1 Jul nobody knew of it,
    so the contract had ended as far as anyone knew and nothing was issued; on 2 Jul the June
    and July invoices become due and are issued that day (BILL-6: an invoice a late entry
    made due in the past is issued on the entry's day), due 14 days later (BILL-4, transfer:
    16 Jul), numbered next. May stays unissued: the contract had ended on 1 May even knowing
    the reinstatement. Each: 2 seats × 500.00 = 1000.00 (BILL-2) + the 50.00 transfer fee
    (BILL-4) = 1050.00 net; VAT 1050.00 × 0.21 = 220.50; 1270.50 gross."""
    result = run(REINSTATED_LATE)
    assert [
        (i["number"], i["key"], i["issued"], i["due"], i["net"], i["gross"])
        for i in result["invoices"][4:]
    ] == [
        ("2026/0005", "period:2026-06-01", "2026-07-02", "2026-07-16", "1050.00", "1270.50"),
        ("2026/0006", "period:2026-07-01", "2026-07-02", "2026-07-16", "1050.00", "1270.50"),
    ]
    assert [i["key"] for i in result["invoices"][:4]] == [
        "period:2026-01-20",
        "period:2026-02-01",
        "period:2026-03-01",
        "period:2026-04-01",
    ]
    assert {"on": "2026-06-01", "status": "active"} in result["statuses"]
    same_as_runner(REINSTATED_LATE, InMemoryStorage().unit_of_work)


# --- PAY-5: a purge is final, whatever is entered late ------------------------------------------

PURGED = json.loads(
    (ROOT / "tests/data/pay_5_a_late_reinstatement_after_the_purge.json").read_text()
)


def test_pay_5_a_reinstatement_entered_after_the_purge_is_refused() -> None:
    """The life of ``REINSTATED_LATE`` with its reinstatement of 1 Jun entered on 20 Jul
    instead of 2 Jul: by then the tenant was purged (4 Jul: the invoice due 3 Feb unpaid 151
    days, PAY-4; 3 Feb + 151 days = 4 Jul) and a purge is final (PAY-5): the reinstatement is
    refused, naming PAY-5, though it takes effect on a day the instance was only cancelled.
    Nothing after the purge: no June or July invoice, the purge the last status. The stored
    path refuses it the same, byte for byte."""
    result = run(PURGED)
    assert result["statuses"][-2:] == [
        {"on": "2026-04-05", "status": "cancelled"},
        {"on": "2026-07-04", "status": "purged"},
    ]
    assert [(r["on"], r["do"], r["rule"]) for r in result["refusals"]] == [
        ("2026-06-01", "reinstate", "PAY-5")
    ]
    assert "purged on 2026-07-04" in result["refusals"][0]["message"]
    assert [i["key"] for i in result["invoices"]][-1] == "period:2026-04-01"
    same_as_runner(PURGED, InMemoryStorage().unit_of_work)


def test_pay_5_the_stored_path_refuses_a_reinstatement_entered_after_the_purge(
    engine: Engine, tmp_path: Path
) -> None:
    """The same on SQLite, PostgreSQL and MariaDB; then ``crmcore record`` of that
    reinstatement on the stored tenant (purged on 4 Jul, billed to 31 Aug) exits 2 with one
    line naming PAY-5, and stores nothing."""
    same_as_runner(PURGED, emptied(engine))
    url = engine.url.render_as_string(hide_password=False)
    before = crmcore("invoices", "--db", url, "--tenant", "acme", "--json")
    late = '{"on": "2026-06-01", "do": "reinstate", "recorded": "2026-09-01T10:00:00+02:00"}'
    refused = crmcore("record", "--db", url, "--tenant", "acme", "--event", late)
    assert refused.returncode == 2, refused
    assert refused.stdout == "" and len(refused.stderr.splitlines()) == 1
    assert "(PAY-5)" in refused.stderr and "purged on 2026-07-04" in refused.stderr
    with crmcore_sql.unit_of_work(engine) as uow:
        assert [type(e).__name__ for e in uow.tenants.history("acme")][-1] != "Reinstated"
    assert crmcore("invoices", "--db", url, "--tenant", "acme", "--json").stdout == before.stdout


@settings(
    max_examples=max(20, settings().max_examples // 4), suppress_health_check=[HealthCheck.too_slow]
)
@given(late_entry_documents())
def test_pay_5_a_purge_once_known_is_never_undone(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """For random lives with late entries: on each day a late entry was recorded, the life as
    known that day (the events entered by then, up to that day); if it had the tenant purged,
    the whole life has it purged on the same day (PAY-4, PAY-5: nothing entered later undoes
    a purge)."""
    late = pair[1]
    try:
        final = run(late)
    except CrmError:
        return
    purged = [s["on"] for s in final["statuses"] if s["status"] == "purged"]

    def entry_day(event: dict[str, Any]) -> str:
        return str(event.get("recorded") or event.get("at") or event["on"])[:10]

    for day in sorted({entry_day(e) for e in late["events"] if "recorded" in e}):
        known = dict(late, events=[e for e in late["events"] if entry_day(e) <= day], until=day)
        try:
            then = [s["on"] for s in run(known)["statuses"] if s["status"] == "purged"]
        except CrmError:
            continue
        if then:
            assert purged[:1] == then[:1], (day, then, purged)
