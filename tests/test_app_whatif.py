"""What-if (issue 17): preview a change, reprice the book; the same engine as billing.

- preview = reality: for random lives, the invoices a preview of the next events shows are
  the ones recording those events and billing to the same day issues, line for line;
- reprice with the very vendor the book was billed under changes nothing, exactly;
- hand-computed: +1 seat previewed; the standard plan at 600.00 instead of 500.00.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.app.simulation import scenario_vendor, simulate_stored
from crmcore.app.whatif import preview, reprice
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.cli import main
from crmcore.dates import vendor_date
from crmcore.errors import CommandRefused, CrmError
from crmcore.events import Activated, SeatsAdded, TenantCreated
from crmcore.memory import InMemoryStorage
from crmcore.scenario.runner import parse
from crmcore.testing.billing import life_scenario_documents
from crmcore.vendors import Vendor, vendor_from_preset

PRAGUE = ZoneInfo("Europe/Prague")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=PRAGUE)


def acme(standard: str = "500.00", effective: date = date(2026, 1, 1)) -> Vendor:
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, standard)])])
    return vendor_from_preset(
        "raynet", name="acme", effective=effective, catalog=plans, vat_rates={"CZ": "0.21"}
    )


def shape(invoice: Any) -> tuple[Any, ...]:
    """An invoice without its number (a preview's is given when it is issued)."""
    return (invoice.key, invoice.issued, invoice.due, invoice.vat_rate, invoice.lines)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(document=life_scenario_documents(), split=st.integers(0, 20), extra=st.integers(1, 3))
def test_preview_is_what_recording_and_billing_then_issue(
    document: dict[str, Any], split: int, extra: int
) -> None:
    """The first ``split`` events are recorded and billed; the next ``extra`` are previewed,
    then recorded and billed up to the preview's last day: the same invoices."""
    try:
        scenario = parse(document)
    except CrmError:
        return
    events = list(scenario.history[1 : 1 + split + extra])
    if len(events) <= split:
        return
    storage = InMemoryStorage()
    vendor = scenario_vendor(scenario)
    save_vendor(storage.unit_of_work(), vendor)
    created = scenario.history[0]
    assert isinstance(created, TenantCreated)
    register_tenant(storage.unit_of_work(), "t", vendor.name, created.at)
    for event in events[:split]:
        with contextlib.suppress(CommandRefused):  # a refused event is stored nowhere
            record(storage.unit_of_work(), "t", event)
    proposed = events[split:]
    billed_to = vendor_date(proposed[0].at, vendor.policy.timezone) - timedelta(days=1)
    if billed_to >= scenario.created_day:  # what was billed before the change is proposed
        bill_tenant(storage.unit_of_work(), "t", billed_to)
    seen = preview(storage.unit_of_work(), "t", proposed)
    refused = []
    for event in proposed:
        try:
            record(storage.unit_of_work(), "t", event)
        except CommandRefused as refusal:
            refused.append(refusal.rule)
    billed = bill_tenant(storage.unit_of_work(), "t", seen.until)
    assert [shape(i) for i in billed.issued] == [shape(i) for i in seen.invoices]
    assert [r.rule for r in seen.refusals] == refused
    # what is paid of each by then, a card invoice at issue (BILL-4), the same
    paid = billed.evaluation.paid
    really = {i.key: paid.get(i.number) for i in billed.evaluation.invoices}
    assert {i.key: seen.paid[i.key] for i in seen.invoices} == {
        i.key: really[i.key] for i in billed.issued
    }


def test_preview_one_more_seat_hand_computed() -> None:
    """PRO-2: 1 seat more on 10 Feb at 500.00: 500.00 x 19/28 = 339.29 (10..28 Feb) on the
    1 Mar invoice with March at 3 seats, 1500.00 (BILL-2): net 1839.29; VAT 21 % 386.25
    (386.2509 half-up), gross 2225.54. Nothing is stored."""
    storage = InMemoryStorage()
    save_vendor(storage.unit_of_work(), acme())
    register_tenant(storage.unit_of_work(), "t1", "acme", at("2026-01-05"))
    record(storage.unit_of_work(), "t1", Activated(at("2026-02-01"), "standard", seats=2))
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 2, 28))
    seen = preview(storage.unit_of_work(), "t1", [SeatsAdded(at("2026-02-10"), 1)])
    assert seen.until == date(2026, 3, 31)
    (march,) = seen.invoices
    prorated = (Decimal("500.00") * 19 / 28).quantize(Decimal("0.01"))
    assert [line.net.amount for line in march.lines] == [Decimal("1500.00"), prorated]
    assert march.net.amount == Decimal("1839.29")
    assert march.vat.amount == Decimal("386.25") and march.gross.amount == Decimal("2225.54")
    with storage.unit_of_work() as uow:
        assert uow.tenants.version("t1") == 2  # the seat was not stored


def test_reprice_with_the_same_vendor_changes_nothing_and_a_new_price_is_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The book of dunning_reinstatement (4 monthly invoices of 2 seats, Feb..May) repriced
    under its own vendor: difference 0.00 exactly; with the standard plan at 600.00 instead of
    500.00: 2 seats x 100.00 x 4 months = 800.00 net more, 168.00 VAT (21 %), 968.00 gross."""
    scenario_file = (
        Path(__file__).resolve().parents[1] / "docs/scenarios/dunning_reinstatement.json"
    )
    document = json.loads(scenario_file.read_text(encoding="utf-8"))
    url = f"sqlite:///{tmp_path / 'book.db'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    simulate_stored(document, lambda: crmcore_sql.unit_of_work(engine))
    vendor = scenario_vendor(parse(document))
    until = date.fromisoformat(document["until"])  # billed up to that day
    same = reprice(lambda: crmcore_sql.unit_of_work(engine), vendor, date(2026, 1, 1), until)
    assert same.tenants == 1
    assert same.difference.to_json() == {"net": "0.00", "vat": "0.00", "gross": "0.00"}
    assert same.before.gross.amount == Decimal("1210.00") * 4
    plans = vendor.catalog.to_dict()
    for plan in plans["plans"]:
        for price in plan["prices"]:
            if plan["code"] == "standard" and price["cycle"] == "monthly":
                price["amount"] = "600.00"
    dearer = attrs.evolve(vendor, catalog=Catalog.from_dict(plans))
    path = tmp_path / "dearer.json"
    path.write_text(dearer.dumps_json(), encoding="utf-8")
    code = main(
        [
            "reprice",
            "--db",
            url,
            "--vendor",
            str(path),
            "--from",
            "2026-01-01",
            "--to",
            str(until),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["difference"] == {"net": "800.00", "vat": "168.00", "gross": "968.00"}
    assert report["by_tenant"]["acme"]["difference"]["gross"] == "968.00"
    assert report["before"]["gross"] == "4840.00"
    engine.dispose()


def stored_scenario(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``crmcore simulate --db`` of docs/scenarios/NAME.json on a new SQLite file: its URL."""
    scenario_file = Path(__file__).resolve().parents[1] / f"docs/scenarios/{name}.json"
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    assert main(["simulate", "--db", url, str(scenario_file)]) == 0
    capsys.readouterr()
    return url


def test_preview_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = stored_scenario("dunning_reinstatement", tmp_path, capsys)
    seat = json.dumps({"on": "2026-05-20", "do": "add_seats", "count": 2})
    bad = json.dumps({"on": "2026-05-21", "do": "remove_seats", "count": 20})
    code = main(
        ["preview", "--db", url, "--tenant", "acme", "--event", seat, "--event", bad, "--json"]
    )
    answer = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(answer) == {"tenant", "until", "invoices", "refusals"}
    assert answer["until"] == "2026-06-30"
    assert [r["rule"] for r in answer["refusals"]] == ["SEAT-5"]
    assert [i["issued"] for i in answer["invoices"]] == ["2026-06-01"]
    with crmcore_sql.unit_of_work(crmcore_sql.create_engine(url)) as uow:
        assert uow.tenants.version("acme") == 4  # nothing stored


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(document=life_scenario_documents())
def test_reprice_with_the_same_terms_is_exactly_zero(document: dict[str, Any]) -> None:
    """Any life billed through the application layer, repriced under the very terms it was
    billed under over the window it was billed in: before == after, to the grosz."""
    try:
        scenario = parse(document)
    except CrmError:
        return
    storage = InMemoryStorage()
    simulate_stored(document, storage.unit_of_work)
    report = reprice(
        storage.unit_of_work, scenario_vendor(scenario), scenario.created_day, scenario.until
    )
    assert report.before == report.after
    assert report.difference.to_json() == {"net": "0.00", "vat": "0.00", "gross": "0.00"}


def test_reprice_the_demo_book_in_two_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's 50 tenants, January to June: under its own terms the difference is 0.00;
    with every price 10 % higher, two processes give the same report as one."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--db", url]) == 0
    assert main(["vendor", "export", "demo-cz", "--db", url]) == 0
    out = capsys.readouterr().out
    document = json.loads(out[out.index("{") :])
    own = tmp_path / "own.json"
    own.write_text(json.dumps(document), encoding="utf-8")
    window = ["--from", "2026-01-01", "--to", "2026-06-30", "--json"]
    assert main(["reprice", "--db", url, "--vendor", str(own), *window]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["tenants"] == 50
    assert same["difference"] == {"net": "0.00", "vat": "0.00", "gross": "0.00"}
    for plan in document["catalog"]["plans"]:
        for price in plan["prices"]:
            price["amount"] = str(
                (Decimal(price["amount"]) * Decimal("1.1")).quantize(Decimal("0.01"))
            )
    dearer = tmp_path / "dearer.json"
    dearer.write_text(json.dumps(document), encoding="utf-8")
    assert main(["reprice", "--db", url, "--vendor", str(dearer), *window]) == 0
    one = capsys.readouterr().out
    assert main(["reprice", "--db", url, "--vendor", str(dearer), *window, "--workers", "2"]) == 0
    two = capsys.readouterr().out
    assert one == two
    assert Decimal(json.loads(one)["difference"]["net"]) > 0


def test_preview_command_line_shows_a_card_invoice_paid_at_issue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """BILL-4: a card is charged at issue, so the invoice a preview shows for a card tenant is
    paid in full, as the one billing then stores (it showed 0.00 paid). monthly_seat_addition:
    3 seats of standard by card from 1 Mar, 2 more on 10 Mar, billed to 1 Apr; one more seat
    on 10 Apr: the 1 May invoice, 6 seats × 500.00 = 3000.00 for May + 500.00 × 21/30 =
    350.00 for 10..30 Apr (PRO-2) = 3350.00 net, VAT 21 % 703.50, 4053.50 gross, all paid."""
    url = stored_scenario("monthly_seat_addition", tmp_path, capsys)
    seat = json.dumps({"on": "2026-04-10", "do": "add_seats", "count": 1})
    assert main(["preview", "--db", url, "--tenant", "acme", "--event", seat, "--json"]) == 0
    (may,) = json.loads(capsys.readouterr().out)["invoices"]
    assert (may["issued"], may["net"], may["vat"], may["gross"]) == (
        "2026-05-01",
        "3350.00",
        "703.50",
        "4053.50",
    )
    assert may["paid"] == may["gross"]
