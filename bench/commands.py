"""Command latency (issue 14): one command through the application layer against the bare
transaction that appends the same event.

    PYTHONPATH=src python bench/commands.py [--commands 200] [--engines sqlite,postgresql]

A tenant of a vendor stored as data (raynet's terms, one plan at 500.00) is activated with
1 seat; then, alternately, (a) ``crmcore.app.commands.record(uow, tenant, SeatsAdded(...))``
(read the history and the vendor, evaluate the history with the event up to 32 days on,
twice for a priced change to report its charge, append with the version read, commit) and
(b) the floor: a unit of work that reads the version and appends the same kind of event with
it, nothing else. Each alternation adds one seat a day later than the one before, so the
history grows as a real tenant's does (``--commands`` of each). Prints the median and 99th
percentile of each and their ratios (target: <= 2.0 both, on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import crmcore_sql
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.events import Activated, SeatsAdded
from crmcore.vendors import vendor_from_preset
from crmcore_sql.testing import temporary_database

PRAGUE = ZoneInfo("Europe/Prague")


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(server: str, count: int) -> None:
    with temporary_database(server, prefix="crmcore_cmd") as url:
        engine = crmcore_sql.create_engine(url.render_as_string(hide_password=False))
        crmcore_sql.migrate(engine)

        def uow() -> crmcore_sql.SqlUnitOfWork:
            return crmcore_sql.unit_of_work(engine)

        plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
        save_vendor(
            uow(),
            vendor_from_preset(
                "raynet",
                name="acme",
                effective=date(2020, 1, 1),
                catalog=plans,
                vat_rates={"CZ": "0.21"},
            ),
        )
        start = datetime(2020, 1, 5, 9, tzinfo=PRAGUE)
        for tenant in ("app", "bare"):
            register_tenant(uow(), tenant, "acme", start)
            record(uow(), tenant, Activated(start + timedelta(days=1), "standard", seats=1))
        app: list[float] = []
        bare: list[float] = []
        for n in range(count):
            event = SeatsAdded(start + timedelta(days=2 + n, hours=1), 1)
            began = time.perf_counter()
            record(uow(), "app", event)
            app.append(time.perf_counter() - began)
            began = time.perf_counter()
            with uow() as unit:
                version = unit.tenants.version("bare")
                unit.tenants.append("bare", [event], expected_version=version)
                unit.commit()
            bare.append(time.perf_counter() - began)
        engine.dispose()
    kind = server.split(":")[0].split("+")[0] or "sqlite"
    am, bm = statistics.median(app), statistics.median(bare)
    print(
        f"{kind}: {count} commands, history up to {count + 2} events:"
        f" app median {am * 1000:.2f} ms p99 {p99(app) * 1000:.2f} ms;"
        f" bare median {bm * 1000:.2f} ms p99 {p99(bare) * 1000:.2f} ms;"
        f" ratio median {am / bm:.2f} p99 {p99(app) / p99(bare):.2f} (target <= 2.0)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    for kind in args.engines.split(","):
        if kind == "sqlite":
            run("sqlite://", args.commands)
        elif os.environ.get("CRMCORE_TEST_POSTGRES_URL"):
            run(os.environ["CRMCORE_TEST_POSTGRES_URL"], args.commands)
        else:
            print("postgresql: skipped, CRMCORE_TEST_POSTGRES_URL is unset")


if __name__ == "__main__":
    main()
