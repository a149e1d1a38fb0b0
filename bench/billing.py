"""Billing benchmark (issue 7): the billing run against a plain-SQL floor, workers, memory.

    PYTHONPATH=src python bench/billing.py [TENANTS] [--engines sqlite,postgresql]
        [--rounds 3] [--rss 10000,100000]

Tenants: 5-50 seats, 10% annual, 20% buy seats mid-February, 5% upgrade in February. January
is billed first (untimed); the timed run bills February, then the floor writes the same
rows; the two alternate ``--rounds`` times on the same data and the median ratio is printed.
The floor reads the same rows (the tenants, their checkpoints, the events after them and the
issued keys: the job's own statements, in the same batches) and writes the same invoice rows
and events out (``outbox_events``, the counter moved once per batch) with plain SQL and no
domain logic; the checkpoints and marks the job writes count as its own work. Between rounds
February's invoices and events out are taken away again, so that every round writes them.
Each round starts from January's checkpoints. Before each timed phase the database is
vacuumed and checkpointed (PostgreSQL) or its WAL checkpointed (SQLite). PostgreSQL: 2
workers against 1 (the URL from $CRMCORE_TEST_POSTGRES_URL). ``--rss`` runs the billing of
each size in a fresh process on SQLite and prints peak RSS.
``--vendor-as-data``: the tenants belong to a vendor stored as data (``bench-cz``: the demo
plans, VAT CZ 21 %, a transfer fee), so the job bills them with the whole pipeline
(:func:`crmcore.app.evaluation.evaluate_tenant`: payments, outages, VAT and fees read and
applied, no checkpoint); a tenant in ten pays by transfer and pays in January, one in twenty
has an outage in January (an SLA-6 credit line in February). The floor then reads every
tenant's whole history (no checkpoints) and the issued keys, and writes the same rows.
Needs crmcore.billing.engine (the billing engine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update

import crmcore_sql
from crmcore.catalog import Cycle
from crmcore.events import (
    Activated,
    Event,
    OutageRecorded,
    PaymentMethod,
    PaymentReceived,
    PlanChanged,
    SeatsAdded,
    TenantCreated,
)
from crmcore.periods import Period
from crmcore.vendors import vendor_from_preset
from crmcore_sql.demo import demo_catalog
from crmcore_sql.jobs import (
    BATCH,
    bill_period,
    bill_worker,
    checkpoints_statement,
    read_events,
)
from crmcore_sql.tables import (
    billing_checkpoints,
    billing_marks,
    invoice_lines,
    invoice_series,
    invoices,
    outbox_counter,
    outbox_events,
    tenants,
)
from crmcore_sql.testing import temporary_database

PRAGUE = ZoneInfo("Europe/Prague")
JANUARY = Period.calendar_month(2026, 1)
SERIES = ["raynet/2026"]  # the numbering series February's invoices are in
FEBRUARY = Period.calendar_month(2026, 2)


def history(index: int) -> list[Event]:
    tenant = f"b{index:07d}"
    created = datetime(2025, 12, 1, 9, tzinfo=PRAGUE) + timedelta(days=index % 20)
    cycle = Cycle.ANNUAL if index % 10 == 0 else Cycle.MONTHLY
    plan = "start" if index % 2 else "business"
    events: list[Event] = [
        TenantCreated(created, tenant),
        Activated(created + timedelta(days=5), plan, cycle, seats=5 + index % 46),
    ]
    if index % 5 == 1:
        events.append(SeatsAdded(datetime(2026, 2, 12, 10, tzinfo=PRAGUE), 3))
    if index % 20 == 2:
        events.append(PlanChanged(datetime(2026, 2, 16, 10, tzinfo=PRAGUE), "enterprise"))
    return events


VENDOR_AS_DATA = False  # --vendor-as-data
BENCH_VENDOR = "bench-cz"


def life(index: int) -> list[Event]:
    """:func:`history` with the rest of the pipeline for a vendor stored as data."""
    events = history(index)
    if index % 10 == 3:  # pays by transfer (BILL-4 fee line), everything on 20 January
        first = events[1]
        assert isinstance(first, Activated)
        events[1] = Activated(
            first.at, first.plan, first.cycle, first.seats, PaymentMethod.TRANSFER
        )
        events.append(PaymentReceived(datetime(2026, 1, 20, 10, tzinfo=PRAGUE)))
    if index % 20 == 7:  # 10 hours down in January: an SLA-6 credit on the February invoice
        start = datetime(2026, 1, 14, 2, tzinfo=PRAGUE)
        events.append(OutageRecorded(start, start + timedelta(hours=10), "unplanned"))
    return sorted(events, key=lambda event: event.at)


def seed(engine: Any, count: int) -> None:
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", demo_catalog())
        if VENDOR_AS_DATA:
            uow.vendors.add(
                vendor_from_preset(
                    "raynet",
                    name=BENCH_VENDOR,
                    effective=date(2025, 1, 1),
                    catalog=demo_catalog(),
                    vat_rates={"CZ": "0.21", "SK": "0.23"},
                    fees={"transfer": "50.00"},
                )
            )
        uow.commit()
    vendor = BENCH_VENDOR if VENDOR_AS_DATA else "raynet"
    make = life if VENDOR_AS_DATA else history
    for start in range(0, count, 1000):
        with crmcore_sql.unit_of_work(engine) as uow:
            for index in range(start, min(start + 1000, count)):
                uow.tenants.add(f"b{index:07d}", vendor, make(index))
            uow.commit()


JANUARY_EVENTS = [0]  # the last event out January's run wrote (its id)


def take_february(
    engine: Any, january: list[Any]
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Remove February's invoices and events out (keeping their rows), rewind the numbering
    and the events' counter and put back the checkpoints January's run left (``january``);
    February's checkpoint rows are returned too. Every round then writes the same rows (an
    event out already stored is not written again: without this, only the first round's job
    would write its events)."""
    with engine.begin() as connection:
        events = connection.execute(
            select(outbox_events)
            .where(outbox_events.c.id > JANUARY_EVENTS[0])
            .order_by(outbox_events.c.id)
        ).all()
        connection.execute(delete(outbox_events).where(outbox_events.c.id > JANUARY_EVENTS[0]))
        connection.execute(update(outbox_counter).values(last_id=JANUARY_EVENTS[0]))
        heads = connection.execute(
            select(invoices).where(invoices.c.issued >= FEBRUARY.first_day)
        ).all()
        ids = [head.id for head in heads]
        lines = []
        for chunk in range(0, len(ids), 5000):
            lines += connection.execute(
                select(invoice_lines).where(
                    invoice_lines.c.invoice_id.in_(ids[chunk : chunk + 5000])
                )
            ).all()
            connection.execute(
                delete(invoice_lines).where(
                    invoice_lines.c.invoice_id.in_(ids[chunk : chunk + 5000])
                )
            )
            connection.execute(delete(invoices).where(invoices.c.id.in_(ids[chunk : chunk + 5000])))
        last = (
            connection.execute(select(invoices.c.number).where(invoices.c.series == SERIES[0]))
            .scalars()
            .all()
        )
        numbers = max((int(n.split("/")[-1]) for n in last), default=0)
        connection.execute(
            delete(billing_marks).where(billing_marks.c.period == FEBRUARY.last_day.isoformat())
        )
        connection.execute(
            update(invoice_series)
            .where(invoice_series.c.series == SERIES[0])
            .values(last_number=numbers)
        )
        checkpoints = connection.execute(
            select(billing_checkpoints).where(billing_checkpoints.c.day == FEBRUARY.last_day)
        ).all()
        restore_checkpoints(connection, january)
    return heads, lines, checkpoints, events


def restore_checkpoints(connection: Any, rows: list[Any]) -> None:
    connection.execute(delete(billing_checkpoints))
    for chunk in range(0, len(rows), 5000):
        connection.execute(
            insert(billing_checkpoints), [r._asdict() for r in rows[chunk : chunk + 5000]]
        )


def floor(
    engine: Any, heads: list[Any], lines: list[Any], checkpoints: list[Any], events: list[Any]
) -> float:
    """Read what the billing job reads (tenants, checkpoints, the events after them, issued
    keys: the same statements, in the same batches) and write the same invoice rows and
    events out (the counter row moved on once per batch, as the job's): plain SQL, no domain
    logic. The checkpoints and marks the job writes count as the job's own work."""
    settle(engine)
    start = time.perf_counter()
    by_invoice: dict[int, list[Any]] = {}
    for line in lines:
        by_invoice.setdefault(line.invoice_id, []).append(line)
    heads_by_tenant: dict[str, list[Any]] = {}
    for head in heads:
        heads_by_tenant.setdefault(head.tenant_id, []).append(head)
    events_by_tenant: dict[str, list[Any]] = {}
    for event in events:
        events_by_tenant.setdefault(event.tenant_id, []).append(event)
    bases = sorted({row.basis for row in checkpoints})
    after = ""
    while True:
        with engine.begin() as connection:
            ids = (
                connection.execute(
                    select(tenants.c.tenant_id, tenants.c.vendor)
                    .where(tenants.c.tenant_id > after)
                    .order_by(tenants.c.tenant_id)
                    .limit(BATCH)
                )
                .scalars()  # the tenant ids (the job reads the vendor too)
                .all()
            )
            if not ids:
                break
            after = dict.fromkeys(ids, 0)
            if not VENDOR_AS_DATA:  # the whole histories otherwise, as the job reads them
                for tenant_id, consumed, _payload in connection.execute(
                    checkpoints_statement(ids, bases, FEBRUARY.last_day)
                ):
                    after[tenant_id] = consumed
            list(read_events(connection, after))
            connection.execute(
                select(invoices.c.tenant_id, invoices.c.key).where(invoices.c.tenant_id.in_(ids))
            ).all()
            batch = [h for t in ids for h in heads_by_tenant.get(t, [])]
            if batch:
                connection.execute(insert(invoices), [h._asdict() for h in batch])
                rows = [line._asdict() for h in batch for line in by_invoice.get(h.id, [])]
                if rows:
                    connection.execute(insert(invoice_lines), rows)
            out = [e._asdict() for t in ids for e in events_by_tenant.get(t, [])]
            if out:
                connection.execute(update(outbox_counter).values(last_id=max(e["id"] for e in out)))
                connection.execute(insert(outbox_events), out)
            after = ids[-1]
    return time.perf_counter() - start


def settle(engine: Any) -> None:
    """Before each timed phase: vacuum what the last phase deleted and checkpoint, so that
    neither phase runs beside an autovacuum or a checkpoint the other one caused."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
            connection.exec_driver_sql("CHECKPOINT")
    elif engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside a transaction (the engine begins IMMEDIATE)
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def bill_timed(engine: Any) -> float:
    settle(engine)
    start = time.perf_counter()
    bill_period(engine, FEBRUARY)
    return time.perf_counter() - start


def bill_with_workers(engine: Any, url: str, workers: int) -> float:
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        pool.starmap(_start_up, [(url,)] * workers)  # start-up outside the timing
        settle(engine)
        start = time.perf_counter()
        pool.starmap(bill_worker, [(url, FEBRUARY.last_day, "0.23")] * workers)
        return time.perf_counter() - start


def _start_up(url: str) -> None:
    """A worker process's start-up, outside the timing: the imports, the database driver's
    among them (an engine made without connecting loads it: 65 ms on PostgreSQL, as much as
    a tenth of a 10,000-tenant run with two workers)."""
    import crmcore.billing.engine  # noqa: F401

    crmcore_sql.create_engine(url).dispose()


def run_engine(server: str, count: int, rounds: int) -> None:
    """Billing and floor alternately ``rounds`` times on the same data (the floor's rows are
    removed again after each floor), then, on PostgreSQL, 1 and 2 workers alternately; the
    medians and every round's figures are printed."""
    with temporary_database(server, prefix="crmcore_bench") as url:
        text = url.render_as_string(hide_password=False)
        engine = crmcore_sql.create_engine(text)
        crmcore_sql.migrate(engine)
        began = time.perf_counter()
        seed(engine, count)
        bill_period(engine, JANUARY)
        with engine.connect() as connection:
            january = connection.execute(select(billing_checkpoints)).all()
            JANUARY_EVENTS[0] = connection.execute(select(outbox_counter.c.last_id)).scalar() or 0
        if engine.dialect.name == "postgresql":  # fresh bulk load: give the planner statistics
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
        prepared = time.perf_counter() - began
        kind = engine.dialect.name
        ratios = []
        for _ in range(rounds):
            billing = bill_timed(engine)
            heads, lines, checkpoints, events = take_february(engine, january)
            plain = floor(engine, heads, lines, checkpoints, events)
            take_february(engine, january)
            ratios.append(billing / plain)
            print(
                f"{kind}: {count} tenants, {len(heads)} February invoices, {len(events)} events "
                f"out: billing "
                f"{billing:.2f}s, floor {plain:.2f}s, ratio {billing / plain:.2f}"
            )
        print(
            f"{kind}: {count} tenants (set-up {prepared:.1f}s): median ratio "
            f"{statistics.median(ratios):.2f} over {rounds} rounds (target <= 1.5)"
        )
        if kind == "postgresql":
            speedups = []
            for _ in range(rounds):
                one = bill_with_workers(engine, text, 1)
                take_february(engine, january)
                two = bill_with_workers(engine, text, 2)
                take_february(engine, january)
                speedups.append(one / two)
                print(
                    f"postgresql: 1 worker {one:.2f}s, 2 workers {two:.2f}s, "
                    f"speed-up {one / two:.2f}"
                )
            print(
                f"postgresql: median speed-up {statistics.median(speedups):.2f} over {rounds} "
                f"rounds (target >= 1.7)"
            )
        engine.dispose()


def peak_rss(count: int) -> None:
    """Child mode: bill ``count`` tenants on SQLite and print the peak RSS in MiB."""
    with temporary_database("sqlite://", prefix="crmcore_rss") as url:
        engine = crmcore_sql.create_engine(url)
        crmcore_sql.migrate(engine)
        seed(engine, count)
        bill_period(engine, JANUARY)
        bill_period(engine, FEBRUARY)
        engine.dispose()
    print(_peak_rss_mib())


def _peak_rss_mib() -> float:
    """This process's peak RSS. On Linux ``VmHWM`` of the process's own memory map: the
    ``ru_maxrss`` of a child started after the parent grew starts at the parent's RSS."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tenants", type=int, nargs="?", default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3, help="billing/floor alternations")
    parser.add_argument("--rss", default="", help="sizes, e.g. 10000,100000")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--vendor-as-data", action="store_true", help="the whole pipeline")
    args = parser.parse_args()
    global VENDOR_AS_DATA
    VENDOR_AS_DATA = args.vendor_as_data
    if VENDOR_AS_DATA:
        SERIES[0] = f"{BENCH_VENDOR}/2026"
    if args.rss_child:
        peak_rss(args.rss_child)
        return
    for kind in args.engines.split(","):
        if kind == "sqlite":
            run_engine("sqlite://", args.tenants, args.rounds)
        elif os.environ.get("CRMCORE_TEST_POSTGRES_URL"):
            run_engine(os.environ["CRMCORE_TEST_POSTGRES_URL"], args.tenants, args.rounds)
        else:
            print("postgresql: skipped, CRMCORE_TEST_POSTGRES_URL is unset")
    sizes = [int(size) for size in args.rss.split(",") if size]
    results = []
    for size in sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(size)]
            + (["--vendor-as-data"] if VENDOR_AS_DATA else []),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.append(float(output.strip().splitlines()[-1]))
        print(f"peak RSS billing {size} tenants: {results[-1]:.0f} MiB")
    if len(results) >= 2:
        print(f"peak RSS ratio {results[-1] / results[0]:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
