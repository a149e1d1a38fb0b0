"""Daily billing benchmark (issue 15): a day with nothing due against the floor.

    PYTHONPATH=src python bench/daily.py [TENANTS] [--engines sqlite,postgresql]
        [--rounds 3] [--vendor-as-data]

The tenants of bench/billing.py (5-50 seats, 10% annual, seats bought on 12 February,
upgrades on 16 February) are billed up to 31 January, then daily up to 2 February (untimed:
February's invoices go out on the 1st). The timed run is ``bill_up_to`` 3 February, a day on
which nothing is due for anybody: the job claims every tenant, reads its checkpoint, the
events after it and its issued keys, walks to the day, issues nothing and marks it for the
day. The floor reads the same rows (the job's own statements, in the same batches: tenants,
checkpoints, events after them, issued keys; with ``--vendor-as-data`` the tenants' versions
and their ``billing_checkpoints`` rows, the stored next due days: a tenant with nothing due
is not read further) with plain SQL and no domain logic, and writes nothing: the marks the
job writes (one row per tenant per day) count as the job's own work.
The two alternate ``--rounds`` times (the day's marks removed after each job run) and the
median ratio is printed. Before each timed phase the database is vacuumed and checkpointed
(PostgreSQL) or its WAL checkpointed (SQLite).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

import crmcore_sql
from crmcore_sql.jobs import (
    BATCH,
    bill_up_to,
    checkpoints_statement,
    next_due_statement,
    read_events,
)
from crmcore_sql.tables import billing_checkpoints, billing_marks, invoices, tenants
from crmcore_sql.testing import temporary_database

_spec = importlib.util.spec_from_file_location(
    "bench_billing", Path(__file__).with_name("billing.py")
)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

NOTHING_DUE = date(2026, 2, 3)


def floor(engine: Any, up_to: date) -> float:
    """Read what the daily job reads, in the same batches: plain SQL, no domain logic."""
    bench.settle(engine)
    start = time.perf_counter()
    with engine.connect() as connection:
        bases = sorted(set(connection.execute(select(billing_checkpoints.c.basis)).scalars()))
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
                .scalars()
                .all()
            )
            if not ids:
                break
            after = ids[-1]
            if bench.VENDOR_AS_DATA:  # the versions and the next due days, as the job reads
                connection.execute(next_due_statement(ids)).all()
                continue
            consumed = dict.fromkeys(ids, 0)
            for tenant_id, events, _payload in connection.execute(
                checkpoints_statement(ids, bases, up_to)
            ):
                consumed[tenant_id] = events
            list(read_events(connection, consumed))
            connection.execute(
                select(invoices.c.tenant_id, invoices.c.key).where(invoices.c.tenant_id.in_(ids))
            ).all()
    return time.perf_counter() - start


def job(engine: Any, up_to: date) -> float:
    bench.settle(engine)
    start = time.perf_counter()
    report = bill_up_to(engine, up_to)
    elapsed = time.perf_counter() - start
    assert report.invoices == 0 and not report.failed, report
    return elapsed


def run_engine(server: str, count: int, rounds: int) -> None:
    with temporary_database(server, prefix="crmcore_bench") as url:
        engine = crmcore_sql.create_engine(url.render_as_string(hide_password=False))
        crmcore_sql.migrate(engine)
        began = time.perf_counter()
        bench.seed(engine, count)
        for day in (date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2)):
            bill_up_to(engine, day)
        if engine.dialect.name == "postgresql":  # fresh bulk load: give the planner statistics
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
        prepared = time.perf_counter() - began
        kind = engine.dialect.name
        ratios = []
        for _ in range(rounds):
            daily = job(engine, NOTHING_DUE)
            with engine.begin() as connection:
                connection.execute(
                    delete(billing_marks).where(billing_marks.c.period == NOTHING_DUE.isoformat())
                )
            plain = floor(engine, NOTHING_DUE)
            ratios.append(daily / plain)
            print(
                f"{kind}: {count} tenants, a day with nothing due: job {daily:.2f}s "
                f"({daily / count * 1e6:.0f} us per tenant), floor {plain:.2f}s, "
                f"ratio {daily / plain:.2f}"
            )
        print(
            f"{kind}: {count} tenants (set-up {prepared:.1f}s): median ratio "
            f"{statistics.median(ratios):.2f} over {rounds} rounds"
        )
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tenants", type=int, nargs="?", default=10_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3, help="job/floor alternations")
    parser.add_argument("--vendor-as-data", action="store_true", help="the whole pipeline")
    args = parser.parse_args()
    bench.VENDOR_AS_DATA = args.vendor_as_data
    for kind in args.engines.split(","):
        if kind == "sqlite":
            run_engine("sqlite://", args.tenants, args.rounds)
        elif os.environ.get("CRMCORE_TEST_POSTGRES_URL"):
            run_engine(os.environ["CRMCORE_TEST_POSTGRES_URL"], args.tenants, args.rounds)
        else:
            print("postgresql: skipped, CRMCORE_TEST_POSTGRES_URL is unset")


if __name__ == "__main__":
    main()
