"""Events out (issue 15, section 4): every invoice issued, status change, limit warning,
refusal and SLA credit is an event written in the transaction of the change it reports, with
ids in commit order; a re-run writes none twice; ``crmcore events`` lists them; 4 concurrent
billing workers neither lose nor duplicate one. The repository contract (ids, keys,
acknowledgements) is in :mod:`crmcore.testing.storage_outbox`, run on every engine."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor, tenant_terms
from crmcore.app.evaluation import evaluate_tenant
from crmcore.app.events import acknowledge, pending
from crmcore.app.simulation import scenario_vendor
from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.dates import vendor_date
from crmcore.errors import CommandRefused, CrmError
from crmcore.events import Activated, RecordsCreated, TenantCreated
from crmcore.memory import InMemoryStorage
from crmcore.outbox import OutboxEvent, evaluation_events, invoice_events
from crmcore.ports import UnitOfWork
from crmcore.scenario.runner import parse
from crmcore.testing.billing import life_scenario_documents
from crmcore.vendors import vendor_from_preset
from crmcore_sql.demo import _seed
from crmcore_sql.jobs import bill_up_to, bill_worker
from crmcore_sql.testing import temporary_database
from crmcore_sql.workers import bill_together
from stored_paths import crmcore

PRAGUE = ZoneInfo("Europe/Prague")
SPAWN = multiprocessing.get_context("spawn")
# The pool's workers fork from a fork server (a fresh interpreter) that imported the job once:
# separate processes with their own connections, without a second of imports each.
FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER.set_forkserver_preload(["crmcore_sql.jobs"])


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=PRAGUE).replace(hour=hour)


def _vendor_with_limits(uow: UnitOfWork) -> None:
    plans = Catalog(
        [Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")], Limits(records=100))]
    )
    vendor = vendor_from_preset(
        "raynet", name="acme", effective=date(2026, 1, 1), catalog=plans, vat_rates={"CZ": "0.21"}
    )
    save_vendor(uow, vendor)


def _keyed(events: list[OutboxEvent]) -> list[tuple[str, str, str | None]]:
    return [(e.tenant_id, e.type, e.key) for e in events]


def _all(uow: UnitOfWork) -> list[OutboxEvent]:
    with uow:
        return uow.outbox.read()


# --- the application layer (memory storage) -------------------------------------------------------


def test_commands_and_billing_write_their_events_once() -> None:
    """An activation writes ``activated`` with it; bill_tenant writes ``invoice_issued`` per
    invoice stored (its final number, totals) in the same transaction; running it again
    writes nothing; a REC-2 warning is an event of the command that caused it; a refused
    command (REC-3) stores nothing of itself but its ``command_refused`` event."""
    storage = InMemoryStorage()
    uow = storage.unit_of_work
    _vendor_with_limits(uow())
    register_tenant(uow(), "t1", "acme", _at(date(2026, 1, 5)))
    record(uow(), "t1", Activated(_at(date(2026, 1, 20)), "standard", seats=2))
    assert [e.type for e in _all(uow())] == ["activated"]
    billed = bill_tenant(uow(), "t1", date(2026, 2, 1))
    events = _all(uow())
    issued = [e for e in events if e.type == "invoice_issued"]
    assert [e.data["number"] for e in issued] == [i.number for i in billed.issued]
    assert issued[0].data["gross"] == str(billed.issued[0].gross.amount)
    assert issued[0].at == _at(date(2026, 1, 20), 0)  # the issue day's start, vendor zone
    bill_tenant(uow(), "t1", date(2026, 2, 1))
    assert _all(uow()) == events  # idempotent: nothing written twice
    record(uow(), "t1", RecordsCreated(_at(date(2026, 2, 3)), "client", 95))
    warning = _all(uow())[-1]
    assert (warning.type, warning.data["rule"]) == ("limit_warning", "REC-2")
    with pytest.raises(CommandRefused):
        record(uow(), "t1", RecordsCreated(_at(date(2026, 2, 4)), "client", 10))
    refused = _all(uow())[-1]
    assert (refused.type, refused.data["rule"], refused.key) == ("command_refused", "REC-3", None)
    with uow() as unit:
        assert len(unit.tenants.history("t1")) == 3  # the refused creation is not stored


def test_pending_and_acknowledge_deliver_at_least_once() -> None:
    """A consumer that handles a batch and stops before acknowledging gets it again; one
    that acknowledges gets only the later events; another consumer has its own position."""
    storage = InMemoryStorage()
    with storage.unit_of_work() as uow:
        uow.outbox.append(
            [OutboxEvent("blocked", f"t{n}", _at(date(2026, 3, 1))) for n in range(5)]
        )
        uow.commit()
    first = pending(storage.unit_of_work(), "webhooks", limit=2)
    assert pending(storage.unit_of_work(), "webhooks", limit=2) == first  # not acknowledged
    acknowledge(storage.unit_of_work(), "webhooks", first[-1].id)
    rest = pending(storage.unit_of_work(), "webhooks")
    assert [e.id for e in rest] == [first[-1].id + 1, first[-1].id + 2, first[-1].id + 3]
    assert len(pending(storage.unit_of_work(), "mailer")) == 5


def _expected(uow: UnitOfWork, tenant: str, up_to: date) -> Counter[tuple[Any, ...]]:
    """The events that a run up to ``up_to`` must have written for ``tenant``: those its
    whole history's evaluation derives up to that day, and those of its stored invoices."""
    with uow:
        history = uow.tenants.history(tenant)
        terms = tenant_terms(uow, tenant, up_to)
        stored = uow.invoices.for_tenant(tenant)
    evaluation = evaluate_tenant(terms, history, up_to)
    tz = terms.policy.timezone
    derived = evaluation_events(evaluation, tz, up_to)
    derived += [e for invoice in stored for e in invoice_events(invoice, tz)]
    return Counter(
        (e.tenant_id, e.type, e.key, json.dumps(dict(e.data), sort_keys=True)) for e in derived
    )


def _written(events: list[OutboxEvent], tenant: str) -> Counter[tuple[Any, ...]]:
    return Counter(
        (e.tenant_id, e.type, e.key, json.dumps(dict(e.data), sort_keys=True))
        for e in events
        if e.tenant_id == tenant and e.key is not None
    )


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(document=life_scenario_documents(), runs=st.sets(st.integers(0, 400), max_size=8))
def test_events_do_not_depend_on_when_the_runs_happened(
    document: dict[str, Any], runs: set[int]
) -> None:
    """Invariant: for a random life recorded through the commands and billed on random days,
    the keyed events written are exactly those the final history's evaluation derives up to
    the last day plus those of the invoices stored: each once, none missing, none extra,
    whenever the commands and runs happened."""
    try:
        scenario = parse(document)
    except CrmError:
        return
    storage = InMemoryStorage()
    uow = storage.unit_of_work
    vendor = scenario_vendor(scenario)
    save_vendor(uow(), vendor)
    created = scenario.history[0]
    assert isinstance(created, TenantCreated)
    tenant = scenario.tenant_id
    register_tenant(uow(), tenant, vendor.name, created.at, created.identity)
    days = sorted(scenario.created_day + timedelta(days=n) for n in runs)
    days = [d for d in days if d <= scenario.until]
    tz = scenario.policy.timezone
    for event in scenario.history[1:]:
        day = vendor_date(event.at, tz)
        if day > scenario.until:
            break
        while days and days[0] < day:
            bill_tenant(uow(), tenant, days.pop(0))
        with contextlib.suppress(CommandRefused):
            record(uow(), tenant, event)
    for day in [*days, scenario.until]:
        bill_tenant(uow(), tenant, day)
    events = _all(uow())
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert _written(events, tenant) == _expected(uow(), tenant, scenario.until)


# --- the SQL billing job -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_url(database_url: str) -> Iterator[str]:
    """The demo's 50 tenants recorded through the commands (their events written), not billed."""
    with temporary_database(database_url) as url:
        text = url.render_as_string(hide_password=False)
        engine = crmcore_sql.create_engine(text)
        crmcore_sql.migrate(engine)
        _seed(engine)
        engine.dispose()
        yield text


def _sql_events(engine: Engine) -> list[OutboxEvent]:
    return _all(crmcore_sql.unit_of_work(engine))


def _check_complete(engine: Engine, up_to: date) -> list[OutboxEvent]:
    """No keyed event twice, none missing or extra per tenant, every stored invoice once."""
    events = _sql_events(engine)
    keyed = [(e.tenant_id, e.key) for e in events if e.key is not None]
    assert len(keyed) == len(set(keyed))
    with crmcore_sql.unit_of_work(engine) as uow:
        tenants = uow.tenants.ids()
        numbers = sorted(i.number for t in tenants for i in uow.invoices.for_tenant(t))
    issued = sorted(str(e.data["number"]) for e in events if e.type == "invoice_issued")
    assert issued == numbers
    for tenant in tenants:
        assert _written(events, tenant) == _expected(
            crmcore_sql.unit_of_work(engine), tenant, up_to
        ), tenant
    return events


def test_the_daily_job_writes_each_event_once_on_its_day(demo_url: str) -> None:
    """The job every other day: each run writes the invoices it issues and the status
    changes since the previous run's day (a trial that expires with nothing due that day: the
    tenant is evaluated again on its next status change's day, not skipped); a re-run writes
    nothing; in the end the events are exactly the derived ones. (The demo's commands wrote
    their own changes when they were recorded.)"""
    engine = crmcore_sql.create_engine(demo_url)
    try:
        previous = date(2026, 1, 4)
        seen = {e.id for e in _sql_events(engine)}
        written: Counter[str] = Counter()
        for _ in range(30):
            day = previous + timedelta(days=2)
            bill_up_to(engine, day)
            events = _sql_events(engine)
            new = [e for e in events if e.id not in seen]
            for event in new:
                written[event.type] += 1
                if "on" in event.data and event.type != "command_refused":
                    assert previous < date.fromisoformat(event.data["on"]) <= day, event
            bill_up_to(engine, day)
            assert _sql_events(engine) == events
            seen |= {e.id for e in new}
            previous = day
        assert written["trial_expired"] >= 1 and written["invoice_issued"] >= 50
        bill_up_to(engine, date(2026, 6, 30))
        events = _check_complete(engine, date(2026, 6, 30))
        assert {"invoice_issued", "activated", "blocked", "cancelled", "purged"} <= {
            e.type for e in events
        }
    finally:
        engine.dispose()


def test_four_concurrent_workers_neither_lose_nor_duplicate_an_event(database_url: str) -> None:
    """4 billing worker processes over the demo's 50 tenants up to one day, a reader polling
    ``read(after=last id seen)`` meanwhile: every event once, ids strictly increasing in read
    order, the reader missed none, and the events are exactly the derived ones."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: concurrent workers are serialised anyway")
    up_to = date(2026, 6, 30)
    with temporary_database(database_url) as url:
        text = url.render_as_string(hide_password=False)
        engine = crmcore_sql.create_engine(text)
        crmcore_sql.migrate(engine)
        _seed(engine)
        start = _sql_events(engine)
        seen: list[OutboxEvent] = []
        done = threading.Event()

        def read() -> None:
            last = start[-1].id if start else 0
            while True:
                finished = done.is_set()
                with crmcore_sql.unit_of_work(engine) as uow:
                    batch = uow.outbox.read(after=last)
                if batch:
                    last = batch[-1].id
                    seen.extend(batch)
                if finished:
                    return

        reader = threading.Thread(target=read)
        reader.start()
        try:
            with FORKSERVER.Manager() as manager, FORKSERVER.Pool(4) as pool:
                together = manager.Barrier(4, timeout=120)  # all four bill from one moment
                job = (together, text, up_to, "0.23", 3)  # batches of 3: the workers interleave
                results = pool.starmap_async(bill_together, [job] * 4).get(timeout=300)
        finally:
            done.set()
            reader.join()
        assert sum(r[0] for r in results) == 50
        assert sum(1 for r in results if r[0] > 0) >= 2  # the work was shared
        events = _check_complete(engine, up_to)
        ids = [e.id for e in [*start, *seen]]
        assert ids == sorted(set(ids))  # strictly increasing in read order
        assert [*start, *seen] == events  # the reader missed nothing
        engine.dispose()


def test_crmcore_events_lists_json_and_after(demo_url: str) -> None:
    """``crmcore events --json``: id, type, tenant, at, data, in id order; ``--after ID``
    the later ones only; ``--consumer`` starts at the acknowledged position; bad input is
    one line, exit 2."""
    engine = crmcore_sql.create_engine(demo_url)
    try:
        bill_up_to(engine, date(2026, 2, 1))
        stored = _sql_events(engine)
    finally:
        engine.dispose()
    result = crmcore("events", "--db", demo_url, "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed == [e.to_json() for e in stored]
    assert set(listed[0]) == {"id", "type", "tenant", "at", "data"}
    middle = stored[len(stored) // 2].id
    after = json.loads(crmcore("events", "--db", demo_url, "--json", "--after", str(middle)).stdout)
    assert [e["id"] for e in after] == [e.id for e in stored if e.id > middle]
    acked = crmcore("events", "--db", demo_url, "--consumer", "hooks", "--ack", str(middle))
    assert acked.returncode == 0, acked.stderr
    text = crmcore("events", "--db", demo_url, "--consumer", "hooks", "--limit", "1")
    assert text.stdout.split(" ", 1)[0] == str(middle + 1)
    bad = crmcore("events", "--db", demo_url, "--after", "-1")
    assert bad.returncode == 2 and "--after" in bad.stderr
    assert bad.stderr.strip().count("\n") == 0


def test_kill_9_during_a_run_leaves_no_invoice_without_its_event(database_url: str) -> None:
    """Crash safety: a billing worker killed with SIGKILL at a random moment leaves every
    stored invoice with its ``invoice_issued`` event and no event without its invoice (one
    transaction); the re-run ends with exactly the events of an uninterrupted run."""
    up_to = date(2026, 6, 30)
    with temporary_database(database_url) as url:
        text = url.render_as_string(hide_password=False)
        engine = crmcore_sql.create_engine(text)
        crmcore_sql.migrate(engine)
        _seed(engine)
        worker = SPAWN.Process(target=bill_worker, args=(text, up_to, "0.23", 1))
        worker.start()
        time.sleep(random.uniform(1.0, 3.0))  # spawn start-up is ~1 s: kill mid-run
        if worker.pid is not None:
            os.kill(worker.pid, signal.SIGKILL)
        worker.join()
        events = _sql_events(engine)
        with crmcore_sql.unit_of_work(engine) as uow:
            stored = sorted(i.number for t in uow.tenants.ids() for i in uow.invoices.for_tenant(t))
        assert sorted(str(e.data["number"]) for e in events if e.type == "invoice_issued") == stored
        bill_up_to(engine, up_to)
        _check_complete(engine, up_to)
        engine.dispose()


def test_api_1_and_stor_1_refusals_are_events_without_flooding() -> None:
    """API-1: the day's first refused call writes ``limit_reached`` (keyed by the day; the
    later refusals of that day write nothing, the next day's first does). STOR-1: a refused
    file writes ``command_refused``; nothing is counted or stored either way."""
    from crmcore.app.services import count_api_call, store_file

    storage = InMemoryStorage()
    uow = storage.unit_of_work
    price = [Price("CZK", Cycle.MONTHLY, "500.00")]
    plans = Catalog([Plan("crm", 1, price, Limits(api_calls_per_day=1, storage_per_seat_gb=1))])
    vendor = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1), catalog=plans)
    save_vendor(uow(), vendor)
    register_tenant(uow(), "t1", "acme", _at(date(2026, 1, 5)))
    record(uow(), "t1", Activated(_at(date(2026, 1, 6)), "crm", seats=1))
    count_api_call(uow(), "t1", _at(date(2026, 1, 7), 10))
    for hour in (11, 12, 13):
        with pytest.raises(CommandRefused):
            count_api_call(uow(), "t1", _at(date(2026, 1, 7), hour))
    count_api_call(uow(), "t1", _at(date(2026, 1, 8), 10))  # a new day's allowance
    with pytest.raises(CommandRefused):
        count_api_call(uow(), "t1", _at(date(2026, 1, 8), 11))  # the day's first refusal
    with pytest.raises(CommandRefused):
        store_file(uow(), "t1", _at(date(2026, 1, 8), 12), "big.pdf", 2 * 1024**3)
    events = [e for e in _all(uow()) if e.type != "activated"]
    assert [(e.type, e.data["on"], e.data["rule"]) for e in events] == [
        ("limit_reached", "2026-01-07", "API-1"),
        ("limit_reached", "2026-01-08", "API-1"),
        ("command_refused", "2026-01-08", "STOR-1"),
    ]
    with uow() as unit:
        assert unit.api_calls.calls("t1", date(2026, 1, 7)) == 1
        assert unit.files.used("t1") == 0


def test_bill_6_a_correction_document_is_a_correction_issued_event() -> None:
    """BILL-6: seats bought on 25 January entered on 5 February, after the February invoice
    went out: the run of 5 February issues a correction document, reported as
    ``correction_issued`` naming the number it corrects, once."""
    from crmcore.events import SeatsAdded

    storage = InMemoryStorage()
    uow = storage.unit_of_work
    _vendor_with_limits(uow())
    register_tenant(uow(), "t1", "acme", _at(date(2026, 1, 5)))
    record(uow(), "t1", Activated(_at(date(2026, 1, 20)), "standard", seats=2))
    bill_tenant(uow(), "t1", date(2026, 2, 1))
    late = SeatsAdded(_at(date(2026, 1, 25)), 1, recorded=_at(date(2026, 2, 5)))
    record(uow(), "t1", late)
    billed = bill_tenant(uow(), "t1", date(2026, 2, 5))
    bill_tenant(uow(), "t1", date(2026, 2, 5))
    corrections = [e for e in _all(uow()) if e.type == "correction_issued"]
    assert [e.data["number"] for e in corrections] == [
        i.number for i in billed.issued if i.corrects is not None
    ]
    assert corrections and all(e.data["corrects"] for e in corrections)


def test_trial_6_a_refused_registration_is_an_event_and_no_tenant() -> None:
    """TRIAL-6: a second trial of one identity is refused, no tenant is stored, and its
    ``command_refused`` event (rule TRIAL-6, the refused tenant id) is."""
    storage = InMemoryStorage()
    uow = storage.unit_of_work
    price = [Price("PLN", Cycle.MONTHLY, "49.00")]
    vendor = vendor_from_preset(
        "livespace", name="ls", effective=date(2026, 1, 1), catalog=Catalog([Plan("crm", 1, price)])
    )
    save_vendor(uow(), vendor)
    register_tenant(uow(), "t1", "ls", _at(date(2026, 1, 5)), "ann@acme.cz")
    with pytest.raises(CommandRefused):
        register_tenant(uow(), "t2", "ls", _at(date(2026, 1, 6)), "bob@acme.cz")
    refused = _all(uow())[-1]
    assert (refused.type, refused.tenant_id, refused.data["rule"]) == (
        "command_refused",
        "t2",
        "TRIAL-6",
    )
    with uow() as unit:
        assert unit.tenants.ids() == ["t1"]
