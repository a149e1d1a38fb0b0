"""The storage sub-commands of ``crmcore``: ``migrate``, ``bill``, ``dunning``, ``demo``
(and, from their own modules, ``vendor``, the application's doors, ``explain``, ``events``).

Registered through the ``crmcore.commands`` entry point. Errors are one line on stderr: exit 2
for bad input (a malformed URL, period, day, VAT rate or worker count), 1 for the rest
(unreachable server, database not migrated, and ``bill`` when a tenant could not be billed:
one line per such tenant, the others billed). Every option is checked before any work, so a
refused command opens no database.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from crmcore.errors import ValidationError
from crmcore.invoices import check_vat_rate
from crmcore.periods import Period
from crmcore_sql.cli_app import register_app
from crmcore_sql.cli_events import register_events
from crmcore_sql.cli_explain import register_explain
from crmcore_sql.cli_options import FIRST_OPTION_DAY, LAST_OPTION_DAY, engine_for, parse_day
from crmcore_sql.cli_vendors import register_vendor
from crmcore_sql.dialects import dialect_for
from crmcore_sql.engine import describe_url, translate_errors
from crmcore_sql.jobs import (
    BillingFailure,
    BillingReport,
    bill_up_to,
    bill_worker,
    dunning_as_of,
    failures,
)
from crmcore_sql.migrate import migrate, require_migrated

__all__ = ["MAX_WORKERS", "register"]

MAX_WORKERS = 64  # worker processes of one `bill` (more only adds contention)


def register(subparsers: Any) -> None:
    """Add the storage jobs to the ``crmcore`` parser."""
    command = subparsers.add_parser("migrate", help="bring a database to the latest schema")
    command.add_argument(
        "--db", required=True, help="database URL (sqlite:///file, postgresql://...)"
    )
    command.set_defaults(handler=_migrate)
    _one_line_errors(command)

    command = subparsers.add_parser("bill", help="issue every invoice due up to a day")
    command.add_argument("--db", required=True, help="database URL")
    command.add_argument("--up-to", help="the day, YYYY-MM-DD: everything due up to it")
    command.add_argument("--period", help="the month, YYYY-MM: --up-to its last day")
    command.add_argument(
        "--failures", action="store_true", help="list the tenants the last runs could not bill"
    )
    command.add_argument(
        "--workers", default="1", help=f"worker processes, 1..{MAX_WORKERS} (default 1)"
    )
    command.add_argument(
        "--vat-rate",
        default="0.23",
        help="VAT rate (PLAN-2), a ratio in [0, 1), default 0.23, for tenants stored under a"
        " preset's name; a vendor stored as data bills at its own VAT rates by country",
    )
    command.set_defaults(handler=_bill)
    _one_line_errors(command)

    command = subparsers.add_parser("dunning", help="apply payment-delay transitions (PAY)")
    command.add_argument("--db", required=True, help="database URL")
    command.add_argument("--as-of", required=True, help="the day, YYYY-MM-DD")
    command.set_defaults(handler=_dunning)
    _one_line_errors(command)

    command = subparsers.add_parser("demo", help="a demo vendor with ~50 tenants and 6 months")
    command.add_argument("--db", default="sqlite:///crmcore-demo.sqlite", help="database URL")
    command.set_defaults(handler=_demo)
    _one_line_errors(command)

    register_vendor(subparsers)  # crmcore vendor export|import|list (crmcore_sql.cli_vendors)
    register_app(subparsers, _one_line_errors)  # simulate --db, record, status, invoices
    register_explain(subparsers, _one_line_errors)  # explain (crmcore_sql.cli_explain)
    register_events(subparsers, _one_line_errors)  # events (crmcore_sql.cli_events)


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """A missing or unknown option is one line on stderr and exit 2, like every bad input."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: {message}\n")

    parser.error = error  # type: ignore[method-assign]


def _migrate(args: argparse.Namespace) -> int:
    engine = engine_for(args.db)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    print(f"{describe_url(args.db)}: at the latest schema")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from crmcore_sql.demo import run_demo

    engine = engine_for(args.db)
    try:
        run_demo(engine, sys.stdout)
    finally:
        engine.dispose()
    print(f"\ndata kept in {describe_url(args.db)}")
    return 0


def _dunning(args: argparse.Namespace) -> int:
    day = parse_day(args.as_of, "--as-of")
    engine = engine_for(args.db)
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
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValidationError(f"must be YYYY-MM, got {text!r}", field="--period", rule="BILL-1")
    first = date(int(match.group(1)), int(match.group(2)), 1) if int(match.group(1)) else None
    if first is None or not FIRST_OPTION_DAY <= first <= LAST_OPTION_DAY:
        raise ValidationError(
            f"must be a month from {FIRST_OPTION_DAY:%Y-%m} to {LAST_OPTION_DAY:%Y-%m}, "
            f"got {text!r}",
            field="--period",
            rule="BILL-1",
        )
    return Period.calendar_month(first.year, first.month)


def _vat_rate(text: str) -> Decimal:
    """Plain decimal notation only (``0.23``; not ``0,23``, ``2.3e-1``, ``NaN``), in [0, 1)."""
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,6})?", text) is None:
        raise ValidationError(
            f"must be a decimal ratio such as 0.23, got {text!r}", field="--vat-rate", rule="PLAN-2"
        )
    return check_vat_rate(Decimal(text), "--vat-rate")


def _workers(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,3}", text) is None or not 1 <= int(text) <= MAX_WORKERS:
        raise ValidationError(f"must be 1..{MAX_WORKERS}, got {text!r}", field="--workers")
    return int(text)


def _up_to(args: argparse.Namespace) -> date:
    """``--up-to DAY``, or ``--period YYYY-MM`` as the month's last day: exactly one."""
    if args.up_to is not None and args.period is not None:
        raise ValidationError("give --up-to or --period, not both", field="--up-to")
    if args.up_to is not None:
        return parse_day(args.up_to, "--up-to")
    if args.period is not None:
        return _period(args.period).last_day
    raise ValidationError(
        "required: the day (--up-to YYYY-MM-DD) or the month (--period YYYY-MM)",
        field="--up-to",
    )


def _bill(args: argparse.Namespace) -> int:
    if args.failures:
        if args.up_to is not None or args.period is not None:
            raise ValidationError("lists the failures of every run; no day", field="--failures")
        return _list_failures(args)
    up_to = _up_to(args)
    vat_rate = _vat_rate(args.vat_rate)
    requested = _workers(args.workers)
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        total_tenants = _count_tenants(engine)
        workers = 1 if dialect_for(engine).one_writer else requested
        if workers != requested:
            print("note: SQLite has one writer at a time; billing with 1 worker", file=sys.stderr)
        if workers == 1:
            report = bill_up_to(engine, up_to, vat_rate, progress=_progress(total_tenants))
        else:
            report = _bill_in_processes(args, up_to, workers)
    finally:
        engine.dispose()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    # Each failed tenant once (with workers, each may have tried it), by tenant id.
    failed = sorted({f.tenant_id: f for f in report.failed}.values(), key=lambda f: f.tenant_id)
    for failure in failed:
        print(f"crmcore bill: {failure.line()}", file=sys.stderr)
    label = args.period if args.period is not None else up_to.isoformat()
    summary = f"{label}: {report.invoices} invoices issued for {report.tenants} tenants"
    if failed:
        print(f"{summary}; {len(failed)} tenants failed (crmcore bill --failures)")
        return 1
    print(summary)
    return 0


def _list_failures(args: argparse.Namespace) -> int:
    """``crmcore bill --failures``: one line per tenant the last runs could not bill."""
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        listed = failures(engine)
    finally:
        engine.dispose()
    for failure in listed:
        print(f"{failure.period} {failure.tenant_id} ({failure.rule or '-'}): {failure.error}")
    print(f"{len(listed)} tenants failed")
    return 0


def _bill_in_processes(args: argparse.Namespace, up_to: date, workers: int) -> BillingReport:
    context = multiprocessing.get_context("spawn")
    job = (args.db, up_to, args.vat_rate)
    with context.Pool(workers) as pool:
        results = pool.starmap(bill_worker, [job] * workers)
    return BillingReport(
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        tuple(BillingFailure(*failure) for r in results for failure in r[2]),
    )


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
