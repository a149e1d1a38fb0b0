"""The storage sub-commands of ``crmcore``: ``migrate``, ``bill``, ``dunning``, ``demo``.

Registered through the ``crmcore.commands`` entry point. Errors are one line on stderr: exit 2
for bad input (a malformed URL or period), 1 for the rest (unreachable server, database not
migrated).
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
from decimal import Decimal
from typing import Any

from crmcore.errors import ConfigurationError, ValidationError
from crmcore.periods import Period
from crmcore_sql.cli_vendors import register_vendor
from crmcore_sql.engine import create_engine, describe_url, require_migrated, translate_errors
from crmcore_sql.jobs import BillingReport, bill_period, bill_worker, dunning_as_of
from crmcore_sql.migrate import migrate

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the storage jobs to the ``crmcore`` parser."""
    command = subparsers.add_parser("migrate", help="bring a database to the latest schema")
    command.add_argument(
        "--db", required=True, help="database URL (sqlite:///file, postgresql://...)"
    )
    command.set_defaults(handler=_migrate)

    command = subparsers.add_parser("bill", help="issue every invoice due in a period")
    command.add_argument("--db", required=True, help="database URL")
    command.add_argument("--period", required=True, help="the month, YYYY-MM")
    command.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    command.add_argument("--vat-rate", default="0.23", help="VAT rate (PLAN-2), default 0.23")
    command.set_defaults(handler=_bill)

    command = subparsers.add_parser("dunning", help="apply payment-delay transitions (PAY)")
    command.add_argument("--db", required=True, help="database URL")
    command.add_argument("--as-of", required=True, help="the day, YYYY-MM-DD")
    command.set_defaults(handler=_dunning)

    command = subparsers.add_parser("demo", help="a demo vendor with ~50 tenants and 6 months")
    command.add_argument("--db", default="sqlite:///crmcore-demo.sqlite", help="database URL")
    command.set_defaults(handler=_demo)

    register_vendor(subparsers)  # crmcore vendor export|import|list (crmcore_sql.cli_vendors)


def _not_yet(name: str, needs: str) -> Any:
    def handler(_args: argparse.Namespace) -> int:
        print(
            f"error: 'crmcore {name}' is not available in this build (needs {needs})",
            file=sys.stderr,
        )
        return 1

    return handler


def _engine(url: str) -> Any:
    try:
        return create_engine(url)
    except ConfigurationError as exc:
        raise ValidationError(str(exc).removeprefix("--db: "), field="--db") from exc


def _migrate(args: argparse.Namespace) -> int:
    engine = _engine(args.db)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    print(f"{describe_url(args.db)}: at the latest schema")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from crmcore_sql.demo import run_demo

    engine = _engine(args.db)
    try:
        run_demo(engine, sys.stdout)
    finally:
        engine.dispose()
    print(f"\ndata kept in {describe_url(args.db)}")
    return 0


def _dunning(args: argparse.Namespace) -> int:
    from crmcore.dates import parse_date

    day = parse_date(args.as_of, "--as-of")
    engine = _engine(args.db)
    try:
        require_migrated(engine)
        changes, statuses = dunning_as_of(engine, day)
    finally:
        engine.dispose()
    for change in changes:
        print(
            f"{day} {change.tenant_id}: {change.previous} -> {change.status} "
            f"({change.rule}, {change.days_overdue} days overdue)"
        )
    summary = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    print(f"{day}: {len(changes)} transitions; tenants: {summary or 'none'}")
    return 0


def _period(text: str) -> Period:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValidationError(f"must be YYYY-MM, got {text!r}", field="--period", rule="BILL-1")
    return Period.calendar_month(int(match.group(1)), int(match.group(2)))


def _bill(args: argparse.Namespace) -> int:
    period = _period(args.period)
    if args.workers < 1:
        raise ValidationError(f"must be >= 1, got {args.workers}", field="--workers")
    engine = _engine(args.db)
    try:
        require_migrated(engine)
        total_tenants = _count_tenants(engine)
        workers = 1 if engine.dialect.name == "sqlite" else args.workers
        if workers != args.workers:
            print("note: SQLite has one writer at a time; billing with 1 worker", file=sys.stderr)
        if workers == 1:
            report = bill_period(
                engine, period, Decimal(args.vat_rate), progress=_progress(total_tenants)
            )
        else:
            report = _bill_in_processes(args, period, workers)
    finally:
        engine.dispose()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"{args.period}: {report.invoices} invoices issued for {report.tenants} tenants")
    return 0


def _bill_in_processes(args: argparse.Namespace, period: Period, workers: int) -> BillingReport:
    context = multiprocessing.get_context("spawn")
    job = (args.db, period.first_day, period.last_day, args.vat_rate)
    with context.Pool(workers) as pool:
        results = pool.starmap(bill_worker, [job] * workers)
    return BillingReport(sum(r[0] for r in results), sum(r[1] for r in results))


def _count_tenants(engine: Any) -> int:
    from sqlalchemy import func, select

    from crmcore_sql.tables import tenants

    with translate_errors("counting tenants"), engine.connect() as connection:
        count: int = connection.execute(select(func.count()).select_from(tenants)).scalar_one()
        return count


def _progress(total: int) -> Any:
    tty = sys.stderr.isatty()

    def show(report: BillingReport) -> None:
        if tty:
            width = 30
            done = width * report.tenants // max(total, 1)
            bar = "#" * done + "." * (width - done)
            print(
                f"\r[{bar}] {report.tenants}/{total} tenants, {report.invoices} invoices",
                end="",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(
                f"billed {report.tenants}/{total} tenants, {report.invoices} invoices",
                file=sys.stderr,
            )

    return show
