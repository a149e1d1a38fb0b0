"""What-if benchmark (issue 17): reprice the book against its floor; preview latency.

    PYTHONPATH=src python bench/whatif.py [TENANTS] [--engines sqlite,postgresql] [--rounds N]

The tenants of ``bench/billing.py --vendor-as-data`` (a vendor stored as data, 5-50 seats,
10 % annual, payments and outages) are billed January to June by the job (untimed). Then:
- reprice: ``crmcore.app.whatif.reprice`` of every tenant under the very vendor document,
  January to June, ``by_tenant=False`` with the 20 biggest changes (the difference must be
  0.00), against the floor that reads the same rows the same way (per batch of 500 tenant
  ids of the vendor, their histories and their documents of the window: three statements)
  and computes nothing; the peak RSS after each round; on PostgreSQL (and with
  ``--workers-on-sqlite`` on SQLite) 2 processes against 1, three rounds, median;
- preview: ``preview`` of one more seat for 100 tenants, median and 99th percentile, against
  reading the tenant's history alone in a unit of work.
"""

from __future__ import annotations

import argparse
import os
import resource
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
from crmcore.app.whatif import REPRICE_BATCH, preview, reprice
from crmcore.events import SeatsAdded
from crmcore.periods import Period
from crmcore_sql.cli_app import _reprice_in_processes
from crmcore_sql.jobs import bill_period
from crmcore_sql.testing import temporary_database

PRAGUE = ZoneInfo("Europe/Prague")
FIRST, LAST = date(2026, 1, 1), date(2026, 6, 30)


def floor(engine: Any) -> float:
    """Read what reprice reads, the same way: per batch of 500 of the vendor's tenant ids,
    their histories and their documents issued in the window (three statements)."""
    began = time.perf_counter()
    after = ""
    while True:
        with crmcore_sql.unit_of_work(engine) as uow:
            ids = uow.tenants.ids(after=after, limit=REPRICE_BATCH, vendor=book.BENCH_VENDOR)
            uow.tenants.histories(ids)
            uow.invoices.issued_between(ids, FIRST, LAST)
        if len(ids) < REPRICE_BATCH:
            return time.perf_counter() - began
        after = ids[-1]


def peak_rss_mb() -> float:
    """The process's peak resident set so far (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(server: str, count: int, workers_on_sqlite: bool = False, rounds: int = 3) -> None:
    with temporary_database(server, prefix="crmcore_whatif_reprice") as url:
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
        for _ in range(rounds):
            began = time.perf_counter()
            report = reprice(
                lambda: crmcore_sql.unit_of_work(engine),
                vendor,
                FIRST,
                LAST,
                by_tenant=False,
                top=20,
            )
            spent = time.perf_counter() - began
            assert report.tenants == count, report.tenants
            assert report.difference.to_json()["gross"] == "0.00", report.difference
            plain = floor(engine)
            ratios.append(spent / plain)
            print(
                f"{kind}: reprice {count} tenants x 6 months {spent:.2f}s, floor {plain:.2f}s,"
                f" ratio {spent / plain:.2f}, peak RSS {peak_rss_mb():.0f} MB",
                flush=True,
            )
        print(f"{kind}: reprice median ratio {statistics.median(ratios):.2f} over {rounds} rounds")
        if kind == "postgresql" or workers_on_sqlite:
            speedups = []
            for _ in range(rounds):
                began = time.perf_counter()
                _reprice_in_processes(text, vendor, FIRST, LAST, 1, by_tenant=False, top=20)
                one = time.perf_counter() - began
                began = time.perf_counter()
                _reprice_in_processes(text, vendor, FIRST, LAST, 2, by_tenant=False, top=20)
                two = time.perf_counter() - began
                speedups.append(one / two)
                print(
                    f"{kind}: reprice 1 process {one:.2f}s, 2 processes {two:.2f}s,"
                    f" speed-up {one / two:.2f}",
                    flush=True,
                )
            print(f"{kind}: 2 over 1 median speed-up {statistics.median(speedups):.2f}")
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
    parser.add_argument(
        "--workers-on-sqlite", action="store_true", help="also 2 processes against 1 on SQLite"
    )
    parser.add_argument("--rounds", type=int, default=3, help="reprice/floor alternations")
    args = parser.parse_args()
    book.VENDOR_AS_DATA = True
    book.SERIES[0] = f"{book.BENCH_VENDOR}/2026"
    for kind in args.engines.split(","):
        if kind == "sqlite":
            run("sqlite://", args.tenants, args.workers_on_sqlite, args.rounds)
        elif os.environ.get("CRMCORE_TEST_POSTGRES_URL"):
            run(os.environ["CRMCORE_TEST_POSTGRES_URL"], args.tenants, rounds=args.rounds)
        else:
            print("postgresql: skipped, CRMCORE_TEST_POSTGRES_URL is unset")


if __name__ == "__main__":
    main()
