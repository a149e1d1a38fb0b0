"""``crmcore vendor export|import|list|refuse``: a vendor as a JSON document (crmcore.vendors);
a tenant refusing a new version (NOTICE-4, :func:`crmcore.app.commands.refuse_terms`).

Registered by :func:`crmcore_sql.cli.register`. Bad input (a bad document, an unknown name, a
version not after the stored ones) is one line on stderr naming the JSON path or argument,
exit 2, nothing stored; an unreachable or unmigrated database is exit 1.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from crmcore.app.commands import refuse_terms, save_vendor
from crmcore.dates import parse_aware_datetime, parse_date, zone
from crmcore.errors import (
    CommandRefused,
    ConfigurationError,
    NotFound,
    NoticeRefused,
    ValidationError,
)
from crmcore.presets import PRESETS
from crmcore.vendors import Vendor, is_vendor_name, vendor_from_preset
from crmcore_sql.cli_options import DEFAULT_DB, parse_day
from crmcore_sql.engine import create_engine, describe_url, missing_sqlite_file, translate_errors
from crmcore_sql.migrate import require_migrated
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["register_vendor"]

#: The database the vendor commands use without ``--db``: a SQLite file in the current folder.


def register_vendor(subparsers: Any) -> None:
    """Add ``crmcore vendor`` and its sub-commands to the ``crmcore`` parser."""
    vendor = subparsers.add_parser(
        "vendor", help="a vendor's terms as a JSON document: export, import, list"
    )
    commands = vendor.add_subparsers(dest="vendor_command", metavar="COMMAND")

    command = commands.add_parser(
        "export",
        help="print a vendor's JSON document",
        description="Print the stored vendor NAME as a JSON document (policy, catalogue, "
        "currency, VAT rates, fees): the version in force on --on DAY, or the latest one. "
        "If NAME is not stored but is a preset ("
        + ", ".join(sorted(PRESETS))
        + "), print that preset's starting point instead (empty catalogue, starting VAT "
        "rates, no fees, taking effect on --on DAY or today), to edit and import.",
    )
    command.add_argument("name", metavar="NAME", help="the vendor's name")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--on", metavar="DAY", help="the version in force on DAY (YYYY-MM-DD)")
    command.set_defaults(handler=_export)

    command = commands.add_parser(
        "import",
        help="validate a vendor JSON document and store it as a new version",
        description="Validate FILE (the format of 'crmcore vendor export') and store it as a "
        "new version of its vendor, taking effect on its 'effective' day, which must be after "
        "every stored version's. A bad document stores nothing. A new version of a stored "
        "vendor with --announced DAY is refused when announced too late: 30 days for a change "
        "of prices or fees (NOTICE-2), 15 for any other change (NOTICE-1, NOTICE-3).",
    )
    command.add_argument("file", metavar="FILE", help="path to the vendor JSON document")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument(
        "--announced", metavar="DAY", help="the day the change was announced (NOTICE-1..3)"
    )
    command.add_argument(
        "--effective", metavar="DAY", help="the day it takes effect (default: the document's)"
    )
    command.set_defaults(handler=_import)

    command = commands.add_parser("list", help="the stored vendors and their versions")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.set_defaults(handler=_list)

    command = commands.add_parser(
        "refuse",
        help="a tenant refuses the vendor version taking effect on a day (NOTICE-4)",
        description="Record that tenant ID refuses its vendor's version taking effect on "
        "--effective DAY: the instance is cancelled effective that day (at the last moment "
        "before it begins, so nothing of the new version binds it: what was invoiced under it "
        "is credited by a correction; nothing before it is refunded, END-4, BILL-3). Refused "
        "(exit 2, one line) when no new version takes effect that day, before that day, when "
        "the tenant has used the service since (NOTICE-4: use accepts the change), or when an "
        "invoice was issued on the refusal's own day (BILL-6: refuse the next day).",
    )
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--tenant", required=True, metavar="ID", help="the tenant id")
    command.add_argument(
        "--effective", required=True, metavar="DAY", help="the version's effective day"
    )
    command.add_argument(
        "--at", metavar="TIME", help="when the tenant refused, ISO 8601 with offset (default now)"
    )
    command.set_defaults(handler=_refuse)

    vendor.set_defaults(handler=lambda _args: _usage(vendor))


def _usage(_parser: argparse.ArgumentParser) -> int:
    raise ValidationError("choose one of export, import, list, refuse", field="crmcore vendor")


def _engine(url: str) -> Engine:
    try:
        return create_engine(url)
    except ConfigurationError as exc:
        raise ValidationError(str(exc).removeprefix("--db: "), field="--db") from exc


def _no_database(engine: Engine) -> bool:
    """Whether nothing can be stored there yet: a SQLite file that does not exist (so an
    export of a preset creates no file) or a database without tables."""
    if missing_sqlite_file(engine.url) is not None:  # a plain path or a file: URI
        return True
    with translate_errors("inspecting"):
        return not inspect(engine).get_table_names()


def _export(args: argparse.Namespace) -> int:
    name: str = args.name
    if not is_vendor_name(name):
        raise ValidationError(f"not a vendor name: {name!r}", field="NAME")
    day = parse_date(args.on, "--on") if args.on else None
    engine = _engine(args.db)
    try:
        vendor = _stored(engine, name, day)
    finally:
        engine.dispose()
    if vendor is None:
        vendor = _starting_point(name, day)
    print(vendor.dumps_json(), end="")
    return 0


def _stored(engine: Engine, name: str, day: date | None) -> Vendor | None:
    if _no_database(engine) and name in PRESETS:
        return None
    require_migrated(engine)
    try:
        with SqlUnitOfWork(engine) as uow:
            return uow.vendors.get(name, on=day)
    except NotFound as exc:
        if name in PRESETS:
            return None
        raise ValidationError(f"{exc.problem} and no preset of that name", field="NAME") from exc


def _starting_point(name: str, day: date | None) -> Vendor:
    policy = PRESETS[name]
    effective = day or datetime.now(zone(policy.timezone)).date()  # the vendor's today
    return vendor_from_preset(name, effective=effective)


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror or exc}", field=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text: {exc.reason}", field=str(path)) from exc
    vendor = Vendor.loads_json(text)  # VendorError names every bad JSON path
    announced = None if args.announced is None else parse_day(args.announced, "--announced")
    if args.effective is not None:
        vendor = attrs.evolve(vendor, effective=parse_day(args.effective, "--effective"))
    engine = _engine(args.db)
    try:
        require_migrated(engine)
        try:
            save_vendor(SqlUnitOfWork(engine), vendor, announced)
        except NoticeRefused as exc:  # announced too late: NOTICE-1..3
            raise ValidationError(exc.problem, field="--effective", rule=exc.rule) from exc
        except ValidationError as exc:  # a version not after the stored ones
            raise ValidationError(exc.problem, field=f"$.{exc.field}", rule=exc.rule) from exc
    finally:
        engine.dispose()
    print(f"{vendor.name}: version taking effect on {vendor.effective} stored")
    return 0


def _list(args: argparse.Namespace) -> int:
    engine = _engine(args.db)
    try:
        require_migrated(engine)
        with SqlUnitOfWork(engine) as uow:
            found = {name: uow.vendors.versions(name) for name in uow.vendors.names()}
    finally:
        engine.dispose()
    for name, versions in found.items():
        days = ", ".join(v.effective.isoformat() for v in versions)
        print(f"{name} ({versions[-1].currency}): versions taking effect on {days}")
    if not found:
        print(f"no vendors stored in {describe_url(engine.url)}")
    return 0


def _refuse(args: argparse.Namespace) -> int:
    effective = parse_day(args.effective, "--effective")
    at = datetime.now(UTC) if args.at is None else parse_aware_datetime(args.at, "--at")
    engine = _engine(args.db)
    try:
        require_migrated(engine)
        try:
            with SqlUnitOfWork(engine) as uow:
                name = uow.tenants.vendor(args.tenant)
            refuse_terms(SqlUnitOfWork(engine), args.tenant, effective, at)
        except NotFound as exc:
            raise ValidationError(exc.problem, field="--tenant") from exc
        except CommandRefused as exc:  # NOTICE-4, BILL-6, or the cancellation's own rules
            raise ValidationError(exc.problem, field="--effective", rule=exc.rule) from exc
    finally:
        engine.dispose()
    print(
        f"{args.tenant}: refused the terms of {name} taking effect on {effective};"
        " cancelled from that day (NOTICE-4)"
    )
    return 0
