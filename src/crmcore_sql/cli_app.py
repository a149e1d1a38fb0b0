"""The application-layer doors of ``crmcore``: ``simulate --db``, ``record``, ``status``,
``invoices`` (issue 14), ``preview`` and ``reprice`` (issue 17). Each runs the use cases of
:mod:`crmcore.app` on the database of ``--db`` (SQLite by default:
``sqlite:///crmcore.sqlite``), the same code as in memory.

Exit status: 0 done; 2 bad input or a refused command (one line on stderr naming the field
or JSON path, the value and the rule); 1 an unreachable or unmigrated database.

Long because it holds every application-layer door on a database, each with its options,
its checks before anything is stored and its output, around one engine's handling.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from sqlalchemy.engine import Engine

from crmcore.app.commands import record
from crmcore.app.evaluation import evaluate_tenant, verb_of
from crmcore.app.queries import tenant_status
from crmcore.app.simulation import simulate_stored
from crmcore.app.whatif import RepriceReport, combine, preview, reprice
from crmcore.cli import read_scenario_file
from crmcore.dates import vendor_date
from crmcore.errors import (
    CommandRefused,
    CrmError,
    NotFound,
    OutOfOrderError,
    ValidationError,
)
from crmcore.events import entered
from crmcore.invoices import Invoice
from crmcore.memory import InMemoryStorage
from crmcore.scenario.input import parse_event
from crmcore.scenario.runner import dumps, invoice_json
from crmcore.serialization import read_json
from crmcore.vendors import Vendor, check_written_decimals
from crmcore_sql import convert
from crmcore_sql.cli_options import DEFAULT_DB, engine_for, parse_day
from crmcore_sql.engine import translate_errors
from crmcore_sql.migrate import current_revision, migrate, require_migrated
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["register_app"]


def _now() -> datetime:
    return datetime.now(UTC)


def register_app(
    subparsers: Any, one_line_errors: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add ``record``, ``status``, ``invoices`` and ``simulate --db`` to the parser."""
    simulate = subparsers.choices["simulate"]
    simulate.add_argument(
        "--db", default=None, help="run it through the application layer on this database"
    )
    plain = simulate.get_default("handler")
    simulate.set_defaults(handler=_bad_input_exits_2(lambda args: _simulate(args, plain)))

    command = subparsers.add_parser("record", help="record one change of a tenant (a command)")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--tenant", required=True, help="the tenant id")
    command.add_argument("--event", required=True, help="the event as scenario JSON")
    command.set_defaults(handler=_bad_input_exits_2(_record, tenant_id="--tenant", name="--event"))
    one_line_errors(command)

    command = subparsers.add_parser("status", help="a tenant's status, access and what is next")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--tenant", required=True, help="the tenant id")
    command.add_argument("--as-of", default=None, help="the vendor day, YYYY-MM-DD (default today)")
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(
        handler=_bad_input_exits_2(_status, tenant_id="--tenant", as_of="--as-of", name="--as-of")
    )
    one_line_errors(command)

    command = subparsers.add_parser("preview", help="the invoices proposed changes would cause")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--tenant", required=True, help="the tenant id")
    command.add_argument(
        "--event", required=True, action="append", help="a proposed event (scenario JSON)"
    )
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(handler=_bad_input_exits_2(_preview, tenant_id="--tenant", name="--event"))
    one_line_errors(command)

    command = subparsers.add_parser("reprice", help="the book under another vendor document")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--vendor", required=True, help="a vendor document (vendor export)")
    command.add_argument("--from", dest="first", required=True, help="first issue day")
    command.add_argument("--to", dest="last", required=True, help="last issue day")
    command.add_argument("--workers", default="1", help="processes sharing the work (1..64)")
    command.add_argument(
        "--top", default="20", help="the table's rows: the biggest changes (default 20)"
    )
    command.add_argument("--json", action="store_true", help="print JSON (every tenant)")
    command.set_defaults(handler=_bad_input_exits_2(_reprice, last_day="--to"))
    one_line_errors(command)

    command = subparsers.add_parser("invoices", help="the invoices stored, as in a scenario result")
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--tenant", default=None, help="only this tenant")
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(handler=_bad_input_exits_2(_invoices, tenant_id="--tenant"))
    one_line_errors(command)


def _bad_input_exits_2(handler: Callable[[argparse.Namespace], int], **options: str) -> Any:
    """An unknown tenant or vendor (``NotFound``) or a refused command is bad input: one line
    on stderr, exit 2. ``options``: an error about a use case's parameter (``tenant_id``)
    names the door's option for it instead (``--tenant``)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (NotFound, CommandRefused) as exc:
            print(str(_named(exc, options)), file=sys.stderr)
            return 2
        except CrmError as exc:
            raise _named(exc, options) from exc

    return run


def _named(error: CrmError, options: Mapping[str, str]) -> CrmError:
    field = error.field
    return error if field is None or field not in options else error.naming(options[field])


def _simulate(args: argparse.Namespace, plain: Callable[[argparse.Namespace], int]) -> int:
    """``crmcore simulate --db URL FILE``: migrated if empty; the same JSON, byte for byte."""
    if args.db is None:
        return plain(args)
    document = read_scenario_file(args.file)
    _storable(document)
    engine = engine_for(args.db)
    try:
        with translate_errors("opening the database"), engine.connect() as connection:
            empty = current_revision(connection) is None
        if empty:
            migrate(engine)
        require_migrated(engine)
        result = simulate_stored(document, lambda: SqlUnitOfWork(engine))
    finally:
        engine.dispose()
    sys.stdout.write(dumps(result))
    return 0


def _storable(document: object) -> None:
    """Refuse, before a database is created or anything stored in it, a scenario the storage
    could not hold: it is run through the same layer in memory first and every invoice
    turned into its rows (amounts in 64-bit minor units, BILL-7). A scenario refused by its
    input is refused here too, with the same message."""
    storage = InMemoryStorage()
    simulate_stored(document, storage.unit_of_work)
    with storage.unit_of_work() as uow:
        for tenant_id in uow.tenants.ids():
            for invoice in uow.invoices.for_tenant(tenant_id):
                convert.invoice_to_rows(invoice, None)


def _record(args: argparse.Namespace) -> int:
    raw = read_json(args.event.encode("utf-8"), root="--event")
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        with SqlUnitOfWork(engine) as uow:
            vendor = uow.vendors.get(uow.tenants.vendor(args.tenant))
        event = parse_event(raw, vendor.catalog, vendor.currency, vendor.policy, "--event")
        try:
            done = record(SqlUnitOfWork(engine), args.tenant, event)
        except OutOfOrderError as exc:  # its field names the option the event came in
            if exc.field is None or not exc.field.startswith("event."):
                raise
            raise exc.naming(f"--{exc.field}") from exc
    finally:
        engine.dispose()
    day = vendor_date(event.at, vendor.policy.timezone)
    print(f"{day} {args.tenant}: {verb_of(event)} recorded (version {done.version})")
    for line in done.charges:
        print(f"  charge {line.kind.value} {line.rule}: {line.net.rounded()}")
    for line in done.replaced:
        print(f"  instead of {line.kind.value} {line.rule}: {line.net.rounded()}")
    for warning in done.warnings:
        print(f"  warning {warning.rule}: {warning.records} of {warning.limit} records")
    return 0


def _as_of(text: str | None, engine: Engine, tenant: str) -> date:
    if text is not None:
        return parse_day(text, "--as-of")
    with SqlUnitOfWork(engine) as uow:
        timezone = uow.vendors.get(uow.tenants.vendor(tenant)).policy.timezone
    return vendor_date(_now(), timezone)


def _status(args: argparse.Namespace) -> int:
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        day = _as_of(args.as_of, engine, args.tenant)
        view = tenant_status(SqlUnitOfWork(engine), args.tenant, day)
    finally:
        engine.dispose()
    if args.json:
        sys.stdout.write(json.dumps(view.to_json(), indent=2, sort_keys=True) + "\n")
        return 0
    print(f"{view.tenant_id} on {view.as_of}: {view.status.value}, access {view.access.value}")
    for change in view.statuses:
        print(f"  {change.on} {change.status}")
    for upcoming in view.next:
        print(f"  next: {upcoming.on} {upcoming.status} ({upcoming.rule})")
    return 0


def _invoices(args: argparse.Namespace) -> int:
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        documents = _invoice_documents(engine, args.tenant)
    finally:
        engine.dispose()
    if args.json:
        sys.stdout.write(json.dumps(documents, indent=2, sort_keys=True) + "\n")
        return 0
    for document in documents:
        print(
            f"{document['number']:>14} {document['issued']} due {document['due']}"
            f" {document['gross']:>12} {document['currency']} paid {document['paid']:>12}"
            f"  {document['tenant']}"
        )
    print(f"{len(documents)} invoices")
    return 0


def _invoice_documents(engine: Engine, only: str | None) -> list[dict[str, Any]]:
    """Every stored invoice as in a scenario result, with ``tenant`` and ``currency``; paid as
    the tenant's evaluation allocates its payments (PAY-1)."""
    with SqlUnitOfWork(engine) as uow:
        if only is not None:
            uow.tenants.version(only)  # NotFound for an unknown tenant
            ids = [only]
        else:
            ids = uow.tenants.ids()
    documents: list[dict[str, Any]] = []
    for tenant_id in ids:
        with SqlUnitOfWork(engine) as uow:
            stored: list[Invoice] = uow.invoices.for_tenant(tenant_id)  # in issue order
            if not stored:
                continue
            paid = _paid(uow, tenant_id, stored)
        for invoice in stored:
            document = invoice_json(invoice, paid)
            documents.append(document | {"tenant": tenant_id, "currency": invoice.currency})
    return documents


def _paid(uow: SqlUnitOfWork, tenant_id: str, stored: list[Invoice]) -> dict[str, Any]:
    from crmcore.app.commands import tenant_terms

    try:
        timezone = uow.vendors.get(uow.tenants.vendor(tenant_id)).policy.timezone
        history = uow.tenants.history(tenant_id)
        # every payment recorded counts, also one dated after today (PAY-1): up to the
        # day the last event was entered (events are stored in entry order)
        last = max(
            vendor_date(_now(), timezone),
            vendor_date(entered(history[-1]), timezone),
            *(invoice.issued for invoice in stored),
        )
        terms = tenant_terms(uow, tenant_id, last)
    except NotFound:  # a tenant of a preset, billed by the legacy job: nothing to allocate
        return {}
    evaluation = evaluate_tenant(terms, history, last)
    by_key = {i.key: evaluation.paid.get(i.number) for i in evaluation.invoices}
    return {i.number: amount for i in stored if (amount := by_key.get(i.key)) is not None}


def _preview(args: argparse.Namespace) -> int:
    """``crmcore preview``: the invoices and refusals the proposed events would cause."""
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        with SqlUnitOfWork(engine) as uow:
            vendor = uow.vendors.get(uow.tenants.vendor(args.tenant))
        events = [
            parse_event(
                read_json(text.encode("utf-8"), root=f"--event[{index}]"),
                vendor.catalog,
                vendor.currency,
                vendor.policy,
                f"--event[{index}]",
            )
            for index, text in enumerate(args.event)
        ]
        answer = preview(SqlUnitOfWork(engine), args.tenant, events, "--event")
    finally:
        engine.dispose()
    invoices = [
        invoice_json(invoice, {invoice.number: answer.paid[invoice.key]})
        for invoice in answer.invoices
    ]
    if args.json:
        document = {
            "tenant": answer.tenant_id,
            "until": answer.until.isoformat(),
            "invoices": invoices,
            "refusals": [r.to_json() for r in answer.refusals],
        }
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return 0
    print(f"{answer.tenant_id}: what the change would invoice up to {answer.until}")
    for refusal in answer.refusals:
        print(f"  refused: {refusal.do} on {refusal.on} ({refusal.rule})")
    for document in invoices:
        print(
            f"  {document['issued']}: net {document['net']}, VAT {document['vat']},"
            f" gross {document['gross']}"
        )
        lines: Any = document["lines"]
        for line in lines:
            print(f"    {line['kind']} {line['rule']} {line.get('fraction', '')} {line['net']}")
    return 0


def _reprice(args: argparse.Namespace) -> int:
    """``crmcore reprice``: the vendor's tenants under FILE against what was invoiced. With
    ``--json`` every tenant's totals (``by_tenant``); without, only the ``--top`` biggest
    changes are kept (memory flat in the number of tenants)."""
    first, last = parse_day(args.first, "--from"), parse_day(args.last, "--to")
    top = 0 if args.json else _top(args.top)
    vendor = _vendor_document(args.vendor)
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        with SqlUnitOfWork(engine) as uow:
            if not uow.vendors.versions(vendor.name):
                raise NotFound(
                    f"the document is of vendor {vendor.name!r}, which is not stored"
                    " (crmcore vendor list)",
                    field="--vendor",
                )
            tenants = uow.tenants.count(vendor.name)
        workers = _workers(args.workers)
        progress = _reprice_progress(tenants)
        if workers == 1:
            report = reprice(
                lambda: SqlUnitOfWork(engine),
                vendor,
                first,
                last,
                progress,
                by_tenant=args.json,
                top=top,
            )
        else:
            report = _reprice_in_processes(
                args.db,
                vendor,
                first,
                last,
                workers,
                by_tenant=args.json,
                top=top,
                progress=progress,
            )
    finally:
        engine.dispose()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
        return 0
    shown = f"the {len(report.biggest)} biggest changes of {report.tenants} tenants"
    print(f"{'tenant':<20} {'before':>14} {'after':>14} {'difference':>14}  (gross; {shown})")
    for tenant, before, after in report.biggest:
        change = after - before
        print(
            f"{tenant:<20} {before.to_json()['gross']:>14} {after.to_json()['gross']:>14}"
            f" {change.to_json()['gross']:>14}"
        )
    total = report.difference.to_json()
    print(
        f"{report.tenants} tenants of {report.vendor}, {report.first_day}..{report.last_day}:"
        f" before {report.before.to_json()['gross']}, after {report.after.to_json()['gross']},"
        f" difference {total['gross']} {vendor.currency} gross"
        f" ({total['net']} net, {total['vat']} VAT)"
    )
    return 0


def _top(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise ValidationError(f"must be 1..10000, got {text!r}", field="--top")
    return int(text)


def _vendor_document(name: str) -> Vendor:
    from pathlib import Path

    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read ({exc.strerror or exc})", field="--vendor") from None
    document = read_json(data, root="--vendor")
    check_written_decimals(document)  # as `crmcore vendor import` and a scenario (BILL-7)
    return Vendor.from_document(document)


def _reprice_progress(total: int) -> Callable[[int], None]:
    """On stderr: a bar redrawn in place on a terminal, a plain line otherwise (each batch;
    with ``--workers N``, each change of the count the processes share)."""
    tty = sys.stderr.isatty()

    def show(done: int) -> None:
        if tty:
            print(f"\r{progress_bar(done, total)}", end="", file=sys.stderr, flush=True)
        else:
            print(f"repriced {done} of {total} tenants", file=sys.stderr, flush=True)

    return show


def progress_bar(done: int, total: int, width: int = 30) -> str:
    """``[#########.....................]  30% 3000/10000 tenants``: ``done`` of ``total`` in
    ``width`` characters (rounded down; a total of 0 is complete)."""
    filled = width * done // total if total else width
    percent = 100 * done // total if total else 100
    return f"[{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total} tenants"


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ValidationError(f"must be 1..64, got {text!r}", field="--workers")
    return int(text)


def _reprice_in_processes(
    url: str,
    vendor: Vendor,
    first: date,
    last: date,
    workers: int,
    by_tenant: bool = True,
    top: int = 0,
    progress: Callable[[int], None] | None = None,
) -> RepriceReport:
    """``--workers N``: N spawned processes, each repricing the tenants of its part
    (:func:`crmcore.app.whatif.in_part`: a stable hash of the id), combined. The processes
    add the tenants they have done to one shared count, which ``progress`` is shown every
    half second it changes, and once at the end."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    jobs = [
        (url, vendor.dumps_json(), first, last, k, workers, by_tenant, top) for k in range(workers)
    ]
    done = context.Value("q", 0)
    shown = -1
    with context.Pool(workers, initializer=_share_count, initargs=(done,)) as pool:
        pending = pool.starmap_async(reprice_worker, jobs)
        while not pending.ready():
            pending.wait(0.5)
            if progress is not None and done.value != shown and not pending.ready():
                shown = done.value
                progress(shown)
        parts = pending.get()
    if progress is not None:
        progress(done.value)
    return combine(parts)


_DONE: Synchronized[int] | None = None  # a worker's share of the count (``_share_count``)


def _share_count(done: Synchronized[int]) -> None:
    """A worker process's initializer: the count of tenants done, shared by the processes."""
    global _DONE
    _DONE = done


def _add_to_shared_count() -> Callable[[int], None]:
    """``reprice``'s progress in a worker: what it did since last called, added to the count."""
    previous = 0

    def add(done: int) -> None:
        nonlocal previous
        if _DONE is not None:
            with _DONE.get_lock():
                _DONE.value += done - previous
        previous = done

    return add


def reprice_worker(
    url: str,
    document: str,
    first: date,
    last: date,
    index: int,
    parts: int,
    by_tenant: bool = True,
    top: int = 0,
) -> RepriceReport:
    """One process of ``crmcore reprice --workers N`` (spawned)."""
    engine = engine_for(url)
    try:
        vendor = Vendor.loads_json(document)
        return reprice(
            lambda: SqlUnitOfWork(engine),
            vendor,
            first,
            last,
            _add_to_shared_count(),
            (index, parts),
            by_tenant=by_tenant,
            top=top,
        )
    finally:
        engine.dispose()
