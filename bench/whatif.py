"""What-if benchmark (issue 17): reprice the book against its floor; preview latency.

    PYTHONPATH=src python bench/whatif.py [TENANTS] [--engines sqlite,postgresql]

The tenants of ``bench/billing.py --vendor-as-data`` (a vendor stored as data, 5-50 seats,
10 % annual, payments and outages) are billed January to June by the job (untimed). Then:
- reprice: ``crmcore.app.whatif.reprice`` of every tenant under the very vendor document,
  January to June (the difference must be 0.00), against the floor that reads the same rows
  (each batch of tenants, their histories and their stored invoices) and computes nothing;
  on PostgreSQL also with 2 processes against 1;
- preview: ``preview`` of one more seat for 100 tenants, median and 99th percentile, against
  reading the tenant's history alone in a unit of work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import billing as book

import crmcore_sql
from crmcore.app.whatif import preview, reprice
from crmcore.events import SeatsAdded
from crmcore.periods import Period
from crmcore_sql.cli_app import _reprice_in_processes
from crmcore_sql.jobs import bill_period
from crmcore_sql.testing import temporary_database

PRAGUE = ZoneInfo("Europe/Prague")
FIRST, LAST = date(2026, 1, 1), date(2026, 6, 30)


def floor(engine: Any) -> float:
    """Read what reprice reads: the tenants in batches, each one's history and invoices."""
    began = time.perf_counter()
    after = ""
    while True:
        with crmcore_sql.unit_of_work(engine) as uow:
            ids = uow.tenants.ids(after=after, limit=500)
            for tenant_id in ids:
                uow.tenants.vendor(tenant_id)
                uow.tenants.history(tenant_id)
                uow.invoices.for_tenant(tenant_id)
        if len(ids) < 500:
            return time.perf_counter() - began
        after = ids[-1]


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(server: str, count: int) -> None:
    with temporary_database(server, prefix="crmcore_whatif") as url:
        text = url.render_as_string(hide_password=False)
        engine = crmcore_sql.create_engine(text)
        crmcore_sql.migrate(engine)
        book.seed(engine, count)
        for month in range(1, 7):
            bill_period(engine, Period.calendar_month(2026, month))
        kind = engine.dialect.name
        with crmcore_sql.unit_of_work(engine) as uow:
            vendor = uow.vendors.get(book.BENCH_VENDOR)
        ratios = []
        for _ in range(3):
            began = time.perf_counter()
            report = reprice(lambda: crmcore_sql.unit_of_work(engine), vendor, FIRST, LAST)
            spent = time.perf_counter() - began
            assert report.difference.to_json()["gross"] == "0.00", report.difference
            plain = floor(engine)
            ratios.append(spent / plain)
            print(
                f"{kind}: reprice {count} tenants x 6 months {spent:.2f}s, floor {plain:.2f}s,"
                f" ratio {spent / plain:.2f}"
            )
        print(f"{kind}: reprice median ratio {statistics.median(ratios):.2f} over 3 rounds")
        if kind == "postgresql":
            for _ in range(2):
                began = time.perf_counter()
                reprice(lambda: crmcore_sql.unit_of_work(engine), vendor, FIRST, LAST)
                one = time.perf_counter() - began
                began = time.perf_counter()
                _reprice_in_processes(text, vendor, FIRST, LAST, 2)
                two = time.perf_counter() - began
                print(
                    f"postgresql: reprice 1 process {one:.2f}s, 2 processes {two:.2f}s,"
                    f" speed-up {one / two:.2f}"
                )
        with crmcore_sql.unit_of_work(engine) as uow:
            tenants = uow.tenants.ids(limit=100)
        seen: list[float] = []
        read: list[float] = []
        seat = [SeatsAdded(datetime(2026, 6, 20, 10, tzinfo=PRAGUE), 1)]
        for tenant_id in tenants:
            began = time.perf_counter()
            preview(crmcore_sql.unit_of_work(engine), tenant_id, seat)
            seen.append(time.perf_counter() - began)
            began = time.perf_counter()
            with crmcore_sql.unit_of_work(engine) as uow:
                uow.tenants.history(tenant_id)
            read.append(time.perf_counter() - began)
        sm, rm = statistics.median(seen), statistics.median(read)
        print(
            f"{kind}: preview median {sm * 1000:.2f} ms p99 {p99(seen) * 1000:.2f} ms;"
            f" history read median {rm * 1000:.2f} ms p99 {p99(read) * 1000:.2f} ms;"
            f" ratio median {sm / rm:.2f}"
        )
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tenants", type=int, nargs="?", default=10_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    book.VENDOR_AS_DATA = True
    book.SERIES[0] = f"{book.BENCH_VENDOR}/2026"
    for kind in args.engines.split(","):
        if kind == "sqlite":
            run("sqlite://", args.tenants)
        elif os.environ.get("CRMCORE_TEST_POSTGRES_URL"):
            run(os.environ["CRMCORE_TEST_POSTGRES_URL"], args.tenants)
        else:
            print("postgresql: skipped, CRMCORE_TEST_POSTGRES_URL is unset")


if __name__ == "__main__":
    main()
