"""The billing job: issue every invoice due up to a day, idempotently, shared by workers.

Workers (processes, possibly on several machines) share the work through the database only:
each claims the next batch of tenants not yet marked in ``billing_marks`` for the day with
``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB/MySQL) and commits the marks with
the invoices, so two workers never bill the same tenant, and even a tenant billed twice would
be harmless because invoices are keyed by ``(tenant_id, key)`` (BILL-6). SQLite has one
writer at a time; there one worker does the job.

Draft invoices are computed before the numbering row is locked; the lock (BILL-6) is only held
for the numbering and the inserts at the end of each batch's transaction.

One tenant whose stored history cannot be billed (an unknown plan, a catalogue without a plan
in use, an unreadable or out-of-order event) never stops the run: it is evaluated on its own,
its error is recorded in ``billing_failures`` in the batch's transaction instead of a mark, and
the other tenants of its batch are billed. The next run tries it again.

Events out (:mod:`crmcore.outbox`) are written in the batch's transaction, after its invoices:
an ``invoice_issued`` (and ``sla_credit``) per invoice stored, and, for tenants of a vendor
stored as data, the status changes, limit warnings and refusals the evaluation derives up to
the day (keyed, so a re-run or another worker writes none twice). The outbox's counter row is
locked last, after the invoice series, until the commit: ids in commit order.

Long because the billing job's batching, claims, locks and numbering around the core's use
cases: one transaction story.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Engine

import crmcore
from crmcore.app.billing import unstored
from crmcore.app.commands import terms_of
from crmcore.app.evaluation import evaluate_tenant
from crmcore.billing.checkpoint import (
    CHECKPOINT_FORMAT,
    BillingCheckpoint,
    checkpoint_fits,
    checkpoint_from_data,
    checkpoint_to_data,
)
from crmcore.billing.engine import BillingTerms, InvoiceDraft, billing_run
from crmcore.billing.numbering import document_number, issue
from crmcore.catalog import Catalog
from crmcore.dates import vendor_date
from crmcore.dunning.status import DunningTransition, dunning_log, status_on
from crmcore.errors import (
    ConcurrencyError,
    ConfigurationError,
    CrmError,
    NotFound,
    StorageError,
    ValidationError,
)
from crmcore.events import Event, entered
from crmcore.invoices import Invoice, check_vat_rate
from crmcore.outbox import OutboxEvent, evaluation_events, invoice_events, next_change_after
from crmcore.periods import Period
from crmcore.policies import VendorPolicy
from crmcore.presets import preset
from crmcore.vendors import Vendor
from crmcore_sql import convert
from crmcore_sql.cli_options import LAST_OPTION_DAY
from crmcore_sql.dialects import CheckpointRow, dialect_for
from crmcore_sql.engine import translate_errors
from crmcore_sql.tables import (
    billing_checkpoints,
    billing_failures,
    billing_marks,
    catalogs,
    invoices,
    tenants,
)
from crmcore_sql.tables_vendors import vendors as vendor_versions
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["BillingFailure", "BillingReport", "bill_period", "bill_up_to", "failures"]

BATCH = 200

# A tenant's checkpoint is rewritten once this many events were recorded after it, or once it
# is this many days old. In between, a run starts from the older checkpoint: it replays the few
# events since and walks over the periods in between (their invoices are issued, so nothing is
# priced), which costs less than writing one more row per tenant on every run
# (docs/performance.md has the measured costs).
CHECKPOINT_REFRESH_EVENTS = 8
CHECKPOINT_REFRESH_DAYS = 92

# A tenant of a vendor stored as data is evaluated this many days past the day billed, with
# the events up to that day: the first invoice after it (or the next event, or the end of the
# horizon) is the next day anything can be due, stored in its ``billing_checkpoints`` row.
# Until that day a run skips the tenant (the "nothing due" check) while its history (the
# tenant's version) and its vendor's versions are unchanged.
DUE_HORIZON_DAYS = 31  # covers the next monthly invoice from any day
DUE_FORMAT = 2  # 2: the next due day is also the next status change's (events out)


@attrs.frozen
class BillingFailure:
    """A tenant the job could not bill: the day it billed up to, the error's one line and the
    rule it names (None for an input error without one, such as an unreadable event)."""

    tenant_id: str
    period: str
    error: str
    rule: str | None = None

    def line(self) -> str:
        """The one line an operator reads: ``tenant ID: ERROR``."""
        return f"tenant {self.tenant_id}: {self.error}"


@attrs.frozen
class BillingReport:
    """Tenants billed, invoices issued and the tenants that failed (not marked, retried by
    the next run)."""

    tenants: int = 0
    invoices: int = 0
    failed: tuple[BillingFailure, ...] = ()

    def __add__(self, other: BillingReport) -> BillingReport:
        return BillingReport(
            self.tenants + other.tenants,
            self.invoices + other.invoices,
            self.failed + other.failed,
        )


# Errors of the database or its connection are not a tenant's: they stop the run, loudly.
_NOT_THE_TENANTS = (StorageError, ConfigurationError)


def _failure(tenant_id: str, mark: str, error: CrmError) -> BillingFailure:
    return BillingFailure(tenant_id, mark, " ".join(str(error).split()), error.rule)


def _unreadable(error: Exception) -> CrmError:
    """An event row that does not decode, as a typed error (JSON or a zone name that does
    not parse is not one of crmcore's own errors)."""
    if isinstance(error, CrmError):
        return error
    return ValidationError(f"a stored event cannot be read: {error}", field="tenant_events")


def _claim(
    uow: SqlUnitOfWork, after: str, batch: int, mark: str, inclusive: bool = False
) -> tuple[str | None, dict[str, str]]:
    """The next tenants not yet billed for ``mark``, locked: (the last id looked at, the ones
    to bill with their vendors). Rows another worker holds are skipped (SKIP LOCKED); rows it
    has committed are marked and left out by the second, per-batch query.

    The claim itself has no ``NOT EXISTS billing_marks``: PostgreSQL planned that anti-join as
    a sort of every mark of the period per batch (quadratic in the number of tenants); the
    per-batch lookup (:meth:`~crmcore_sql.dialects.SqlDialect.claim`) is an index probe per
    claimed tenant."""
    start = tenants.c.tenant_id >= after if inclusive else tenants.c.tenant_id > after
    statement = (
        select(tenants.c.tenant_id, tenants.c.vendor)
        .where(start)
        .order_by(tenants.c.tenant_id)
        .limit(batch)
    )
    with translate_errors("claiming tenants"):
        return dialect_for(uow.connection).claim(uow.connection, statement, mark)


def _batches(
    engine: Engine, batch: int, mark: str, failed: Mapping[str, object]
) -> Iterator[tuple[SqlUnitOfWork, dict[str, str]]]:
    """Batches from the first tenant to the last; then, while some tenant is still not marked
    (another worker rolled back behind this one's cursor, or holds it right now), one more pass
    from the first such tenant. A pass that finds nothing to bill ends the job. The tenants
    this run already ``failed`` (never marked) are not claimed again."""
    after, inclusive = "", False
    while True:
        found = False
        cursor: str | None = after
        while cursor is not None:
            uow = SqlUnitOfWork(engine)
            with uow:
                last, todo = _claim(uow, cursor, batch, mark, inclusive)
                if failed:
                    todo = {t: v for t, v in todo.items() if t not in failed}
                if todo:
                    found = True
                    yield uow, todo
            cursor, inclusive = last, False
        if not found:
            return
        left = _first_unmarked(engine, mark)
        if left is None:
            return
        after, inclusive = left, True


def _first_unmarked(engine: Engine, mark: str) -> str | None:
    """The smallest tenant id without a mark for ``mark`` and not failed for it (a tenant a
    run of the day could not bill has a failure row of the day instead of a mark): one
    anti-join per pass (not per batch), without locks."""
    marked = select(billing_marks.c.tenant_id).where(
        billing_marks.c.period == mark, billing_marks.c.tenant_id == tenants.c.tenant_id
    )
    failed = select(billing_failures.c.tenant_id).where(
        billing_failures.c.tenant_id == tenants.c.tenant_id, billing_failures.c.period == mark
    )
    statement = select(func.min(tenants.c.tenant_id)).where(~marked.exists(), ~failed.exists())
    with translate_errors("claiming tenants"), engine.connect() as connection:
        first: str | None = connection.execute(statement).scalar()
    return first


def _basis(vendor: str, document: str, vat_rate: Decimal, currency: str) -> str:
    """What a checkpoint depends on besides the history: the checkpoint format, the engine's
    version, the vendor (its policy), its catalogue and the invoicing terms."""
    text = "\n".join(
        [str(CHECKPOINT_FORMAT), crmcore.__version__, vendor, str(vat_rate), currency, document]
    )
    return hashlib.sha256(text.encode()).hexdigest()


@attrs.frozen
class _Vendor:
    """What billing a vendor's tenants needs, read once per job."""

    catalog: Catalog
    policy: VendorPolicy
    terms: BillingTerms
    basis: str


def _vendor(uow: SqlUnitOfWork, name: str, vat_rate: Decimal) -> _Vendor:
    with translate_errors("reading the catalogue"):
        document = uow.connection.execute(
            select(catalogs.c.document).where(catalogs.c.name == name)
        ).scalar()
    catalog = uow.catalogs.get(name)  # NotFound when there is none
    policy = preset(name)
    terms = BillingTerms(policy.currency, vat_rate)
    return _Vendor(catalog, policy, terms, _basis(name, document or "", vat_rate, policy.currency))


def checkpoints_statement(claimed: list[str], bases: list[str], up_to: date) -> Any:
    """The checkpoints of ``claimed`` a run up to ``up_to`` can start from: of a basis in
    use, from an earlier day. (Public for the benchmark's floor, which reads the same rows.)"""
    return select(
        billing_checkpoints.c.tenant_id, billing_checkpoints.c.events, billing_checkpoints.c.payload
    ).where(
        billing_checkpoints.c.tenant_id.in_(claimed),
        billing_checkpoints.c.basis.in_(bases),
        billing_checkpoints.c.day < up_to,
    )


def read_events(connection: Connection, after: dict[str, int]) -> Iterable[Sequence[Any]]:
    """The events ``(tenant_id, payload, at_zone)`` of the tenants of ``after`` with a version
    above theirs (0: the whole history), by tenant in the order of ``after``, then by version
    (:meth:`~crmcore_sql.dialects.SqlDialect.read_events`). (Public for the benchmark's floor,
    which reads the same rows.)"""
    return dialect_for(connection).read_events(connection, after)


def _load_batch(
    uow: SqlUnitOfWork,
    claimed: list[str],
    bases: list[str],
    up_to: date,
    policies: dict[str, VendorPolicy],
    errors: dict[str, CrmError],
) -> tuple[dict[str, list[Event]], dict[str, BillingCheckpoint], dict[str, set[str]]]:
    """Per tenant of the batch: the events to replay, the checkpoint to start from (none: the
    events are the whole history) and the issued keys, in three queries; a fourth reads the
    whole history of the rare tenant whose checkpoint is unreadable or overtaken by an event
    recorded late with an earlier date. A tenant with an event that cannot be read gets its
    error in ``errors``."""
    if not claimed:  # a batch of stored-vendor tenants only: no query
        return {}, {}, {}
    connection = uow.connection
    with translate_errors("reading tenants"):
        checkpoints: dict[str, BillingCheckpoint] = {}
        after = dict.fromkeys(claimed, 0)
        for tenant_id, consumed, payload in connection.execute(
            checkpoints_statement(claimed, bases, up_to)
        ):
            try:
                checkpoint = checkpoint_from_data(json.loads(payload), policies[tenant_id])
            except (ValueError, ValidationError):  # unreadable: it is a cache, replay instead
                continue
            if checkpoint.events == consumed:
                checkpoints[tenant_id] = checkpoint
                after[tenant_id] = consumed
        events: dict[str, list[Any]] = {tenant_id: [] for tenant_id in claimed}
        _decode_into(events, read_events(connection, after), errors)
        keys: dict[str, set[str]] = {tenant_id: set() for tenant_id in claimed}
        for tenant_id, key in connection.execute(
            select(invoices.c.tenant_id, invoices.c.key).where(invoices.c.tenant_id.in_(claimed))
        ):
            keys[tenant_id].add(key)
        late = {
            tenant_id: 0
            for tenant_id, checkpoint in checkpoints.items()
            if not checkpoint_fits(checkpoint, events[tenant_id], policies[tenant_id], up_to)
        }
        if late:  # an event recorded after the checkpoint, dated on or before its day
            for tenant_id in late:
                del checkpoints[tenant_id]
                events[tenant_id] = []
            _decode_into(events, read_events(connection, late), errors)
    return events, checkpoints, keys


def _decode_into(
    events: dict[str, list[Any]], rows: Iterable[Sequence[Any]], errors: dict[str, CrmError]
) -> None:
    """Append the events of ``rows`` (tenant id, payload, zone, ...), grouped by tenant, to
    each tenant's list. A tenant with a row that cannot be read gets the error in ``errors``
    and no more of its rows are decoded; the others are read on."""
    decode = convert.event_from_columns
    history: list[Any] = []
    current = None
    broken = False
    for row in rows:
        if row[0] != current:  # rows come grouped by tenant
            current = row[0]
            history = events[row[0]]
            broken = row[0] in errors
        if broken:
            continue
        try:
            history.append(decode(row[1], row[2]))
        except (CrmError, ValueError, LookupError) as exc:  # JSON, zone names: ValueError, KeyError
            errors[row[0]] = _unreadable(exc)
            broken = True


def bill_period(
    engine: Engine,
    period: Period,
    vat_rate: Decimal = Decimal("0.23"),
    batch: int = BATCH,
    progress: Callable[[BillingReport], None] | None = None,
) -> BillingReport:
    """:func:`bill_up_to` the period's last day (``crmcore bill --period YYYY-MM``)."""
    return bill_up_to(engine, period.last_day, vat_rate, batch, progress)


def bill_up_to(
    engine: Engine,
    up_to: date,
    vat_rate: Decimal = Decimal("0.23"),
    batch: int = BATCH,
    progress: Callable[[BillingReport], None] | None = None,
) -> BillingReport:
    """Issue every invoice due up to ``up_to`` for every tenant (idempotent): run daily, an
    invoice due at once (PRO-3/PRO-4 on an annual plan, TERM-3) goes out on its day.

    A tenant of a vendor stored as data (``crmcore vendor import``, :mod:`crmcore.vendors`) is
    billed with :func:`crmcore.app.evaluation.evaluate_tenant`, the engine of
    ``crmcore simulate``: the vendor's version in force on ``up_to``, its VAT rate
    (PLAN-2) and transfer fee (BILL-4), SLA-6 credits, nothing issued while the contract has
    ended for payment delay (PAY-3/PAY-4). ``vat_rate`` then plays no part.

    A tenant stored under a preset's name with a catalogue of that name (the earlier way) is
    billed by the lifecycle and charges alone (:func:`crmcore.billing.engine.billing_run`) at
    ``vat_rate``, from a stored :class:`~crmcore.billing.checkpoint.BillingCheckpoint` so that the
    next run replays only the events recorded since.

    Tenants are marked per day (``billing_marks.period`` is ``up_to``): a second run for the
    same day claims nobody, the next day's run claims everybody again, and the invoice keys
    (BILL-6) keep any tenant billed twice from being invoiced twice. A tenant whose history
    cannot be billed (a :class:`~crmcore.errors.CrmError` of its own: an unknown plan, a
    vendor or catalogue without a plan in use, an unreadable event) is left unmarked, its
    failure is stored in ``billing_failures`` with the batch and returned in
    :attr:`BillingReport.failed`; the rest of its batch is billed. A failure of the batch's
    writes (a :class:`~crmcore.errors.StorageError`) still raises."""
    check_vat_rate(vat_rate)  # PLAN-2, even when no tenant is billed
    convert.vat_rate_to_column(vat_rate)  # PLAN-2: storable exactly, checked before any work
    known: dict[str, _Vendor | CrmError] = {}
    report = BillingReport()
    mark = up_to.isoformat()
    stored_vendors: dict[str, Vendor | CrmError | None] = {}
    due_bases: dict[str, str] = {}  # per stored vendor: what a "next due" day depends on
    versions: dict[str, Sequence[Vendor]] = {}  # per stored vendor, NOTICE-2: prices by period
    failed: dict[str, BillingFailure] = {}
    stored_failures = {f.tenant_id for f in failures(engine)}  # to clear once billed
    for uow, vendors in _batches(engine, batch, mark, failed):
        errors: dict[str, CrmError] = {}
        for name in set(vendors.values()) - stored_vendors.keys():
            stored_vendors[name] = _isolated(_stored_vendor, uow, name, up_to)
            in_force = stored_vendors[name]
            if isinstance(in_force, Vendor):
                every = _isolated(uow.vendors.versions, name)
                if isinstance(every, CrmError):
                    stored_vendors[name] = every
                else:
                    versions[name] = every
                    due_bases[name] = _due_basis(uow, in_force)
        for tenant_id, name in vendors.items():
            unusable = stored_vendors[name]
            if isinstance(unusable, CrmError):
                errors[tenant_id] = unusable
        evaluated: dict[str, Vendor] = {}
        for tenant_id, name in vendors.items():
            stored = stored_vendors[name]
            if isinstance(stored, Vendor):
                evaluated[tenant_id] = stored
        claimed = [t for t in vendors if stored_vendors[vendors[t]] is None]
        for name in {vendors[t] for t in claimed} - known.keys():
            known[name] = _isolated(_vendor, uow, name, vat_rate)
        usable: dict[str, _Vendor] = {}
        for tenant_id in claimed:
            found = known[vendors[tenant_id]]
            if isinstance(found, CrmError):
                errors[tenant_id] = found
            else:
                usable[tenant_id] = found
        claimed = list(usable)
        bases = sorted({vendor.basis for vendor in usable.values()})
        events, checkpoints, keys = _load_batch(
            uow, claimed, bases, up_to, {t: usable[t].policy for t in claimed}, errors
        )
        drafts: list[tuple[str, VendorPolicy, list[InvoiceDraft]]] = []
        saved: list[tuple[str, str, BillingCheckpoint]] = []
        for tenant_id in claimed:
            if tenant_id in errors:
                continue
            vendor = usable[tenant_id]
            previous = checkpoints.get(tenant_id)
            try:
                drafted, checkpoint = billing_run(
                    events[tenant_id],
                    vendor.catalog,
                    vendor.policy,
                    vendor.terms,
                    up_to,
                    already_issued=keys[tenant_id],
                    checkpoint=previous,
                )
            except _NOT_THE_TENANTS:
                raise
            except CrmError as exc:  # this tenant's history: the others are billed
                errors[tenant_id] = exc
                continue
            if (
                previous is None
                or checkpoint.events - previous.events >= CHECKPOINT_REFRESH_EVENTS
                or (up_to - previous.day).days >= CHECKPOINT_REFRESH_DAYS
            ):
                saved.append((tenant_id, vendor.basis, checkpoint))
            if drafted:
                drafts.append((tenant_id, vendor.policy, drafted))
        ready, due, derived = _evaluated_invoices(
            uow, evaluated, {t: due_bases[vendors[t]] for t in evaluated}, versions, up_to, errors
        )
        saved_due = [row for row in due if row[0] not in errors]
        billed = [t for t in vendors if t not in errors]
        batch_failed = [_failure(t, mark, errors[t]) for t in vendors if t in errors]
        # Marks, failures and checkpoints before the numbering lock: it is held until commit.
        _mark(uow, mark, billed)
        _record_failures(uow, [t for t in billed if t in stored_failures], batch_failed)
        _save_checkpoints(uow, saved)
        save_checkpoint_rows(uow.connection, saved_due)
        issued = _issue(uow, drafts, ready, [e for e in derived if e.tenant_id not in errors])
        uow.commit()
        failed.update((f.tenant_id, f) for f in batch_failed)
        report = report + BillingReport(len(billed), issued, tuple(batch_failed))
        if progress is not None:
            progress(report)
    return report


def _isolated(read: Callable[..., Any], *args: Any) -> Any:
    """``read(*args)``, or the CrmError it raised that is not the database's (a vendor or
    catalogue that cannot be used fails its tenants, not the run)."""
    try:
        return read(*args)
    except _NOT_THE_TENANTS:
        raise
    except CrmError as exc:
        return exc


def _record_failures(uow: SqlUnitOfWork, cleared: list[str], failed: list[BillingFailure]) -> None:
    """In the batch's transaction: the failures of the batch stored (one row per tenant, the
    latest), the rows of the tenants it billed deleted (``cleared``: the billed tenants that
    had a row when the run began, so a day without failures costs no statement)."""
    connection = uow.connection
    with translate_errors("recording billing failures"):
        if cleared:
            connection.execute(
                delete(billing_failures).where(billing_failures.c.tenant_id.in_(cleared))
            )
        if not failed:
            return
        rows = [(f.tenant_id, f.period, f.error, f.rule) for f in failed]
        dialect_for(connection).save_failures(connection, rows)


def failures(engine: Engine) -> list[BillingFailure]:
    """The tenants the billing job could not bill, by tenant id (``crmcore bill --failures``):
    each with the day of the run that failed, its error and rule."""
    with translate_errors("reading billing failures"), engine.connect() as connection:
        rows = connection.execute(
            select(
                billing_failures.c.tenant_id,
                billing_failures.c.period,
                billing_failures.c.error,
                billing_failures.c.rule,
            ).order_by(billing_failures.c.tenant_id)
        ).all()
    return [BillingFailure(*row) for row in rows]


def _stored_vendor(uow: SqlUnitOfWork, name: str, on: date) -> Vendor | None:
    """The version of vendor ``name`` in force on ``on``; None when the vendor is not stored
    (a tenant of a preset) or has no version in force yet."""
    try:
        return uow.vendors.get(name, on=on)
    except NotFound:
        return None


def _due_basis(uow: SqlUnitOfWork, in_force: Vendor) -> str:
    """What a stored "next due" day of the vendor's tenants depends on besides the history:
    the format, the engine's version, the version in force and every stored version."""
    with translate_errors("reading the vendor"):
        rows = uow.connection.execute(
            select(vendor_versions.c.effective, vendor_versions.c.document)
            .where(vendor_versions.c.name == in_force.name)
            .order_by(vendor_versions.c.effective)
        ).all()
    parts = ["due", str(DUE_FORMAT), crmcore.__version__, in_force.name, str(in_force.effective)]
    parts += [f"{effective}:{document}" for effective, document in rows]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def next_due_statement(ids: list[str]) -> Any:
    """``(tenant_id, version, basis, events, day, payload)`` of the tenants of ``ids`` that
    have a ``billing_checkpoints`` row: one query, a primary-key probe per tenant. (Public
    for the daily benchmark's floor, which reads the same rows.)"""
    return (
        select(
            tenants.c.tenant_id,
            tenants.c.version,
            billing_checkpoints.c.basis,
            billing_checkpoints.c.events,
            billing_checkpoints.c.day,
            billing_checkpoints.c.payload,
        )
        .select_from(
            tenants.join(
                billing_checkpoints, billing_checkpoints.c.tenant_id == tenants.c.tenant_id
            )
        )
        .where(tenants.c.tenant_id.in_(ids))
    )


def _nothing_due(uow: SqlUnitOfWork, bases: Mapping[str, str], up_to: date) -> set[str]:
    """The tenants of ``bases`` with nothing due up to ``up_to``: a stored next due day after
    it (the row's payload, ``YYYY-MM-DD``), computed for the same history (the tenant's
    version) and vendor versions (the basis) by a run up to ``up_to`` or before. One query;
    no history read."""
    with translate_errors("reading tenants"):
        rows = uow.connection.execute(next_due_statement(list(bases))).all()
    skipped: set[str] = set()
    parse = date.fromisoformat
    for tenant_id, version, basis, events, day, payload in rows:
        if basis != bases[tenant_id] or events != version or day > up_to:
            continue
        try:
            next_due = parse(payload)
        except (ValueError, TypeError):  # unreadable: it is a cache, evaluate
            continue
        if next_due > up_to:
            skipped.add(tenant_id)
    return skipped


def _evaluated_invoices(
    uow: SqlUnitOfWork,
    tenants_: Mapping[str, Vendor],
    bases: Mapping[str, str],
    versions: Mapping[str, Sequence[Vendor]],
    up_to: date,
    errors: dict[str, CrmError],
) -> tuple[
    list[tuple[Invoice, VendorPolicy]], list[tuple[str, str, int, date, str]], list[OutboxEvent]
]:
    """The invoices the evaluation of each tenant's whole history issues up to ``up_to`` and
    that are not stored yet (their numbers are provisional), oldest first per tenant, the
    tenants' next due days as checkpoint rows, and the events out the evaluation derives up
    to ``up_to`` (status changes, warnings, refusals; the outbox leaves out those stored).
    A tenant with nothing due (:func:`_nothing_due`)
    is not read nor evaluated. A tenant whose history cannot be read or evaluated gets its
    error in ``errors`` and no invoice.

    The evaluation runs :data:`DUE_HORIZON_DAYS` past ``up_to`` with the events up to
    ``up_to`` (an evaluation up to a day is the prefix of one up to a later day with the same
    events): what it issues up to ``up_to`` is what an evaluation up to ``up_to`` issues, and
    the first invoice after it, the first event after it or the end of the horizon is the next
    day anything can be due; so is the first status change after ``up_to`` (a trial expiring,
    a block for payment delay), whose event the run of that day writes."""
    if not tenants_:
        return [], [], []
    skipped = _nothing_due(uow, bases, up_to)
    todo = [t for t in tenants_ if t not in skipped]
    if not todo:
        return [], [], []
    histories: dict[str, list[Any]] = {tenant_id: [] for tenant_id in todo}
    with translate_errors("reading tenants"):
        _decode_into(histories, read_events(uow.connection, dict.fromkeys(todo, 0)), errors)
        keys: dict[str, dict[str, str]] = {tenant_id: {} for tenant_id in todo}
        for tenant_id, key, number in uow.connection.execute(
            select(invoices.c.tenant_id, invoices.c.key, invoices.c.number).where(
                invoices.c.tenant_id.in_(todo)
            )
        ):
            keys[tenant_id][key] = number
    horizon = min(up_to + timedelta(days=DUE_HORIZON_DAYS), LAST_OPTION_DAY)
    ready: list[tuple[Invoice, VendorPolicy]] = []
    due: list[tuple[str, str, int, date, str]] = []
    events: list[OutboxEvent] = []
    for tenant_id in todo:
        if tenant_id in errors:
            continue
        vendor = tenants_[tenant_id]
        history = histories[tenant_id]
        tz = vendor.policy.timezone
        known = history[:1]
        later: list[date] = []  # the first day an event not known yet changes anything
        for event in history[1:]:  # known: entered and in effect by up_to (BILL-6)
            day = max(vendor_date(event.at, tz), vendor_date(entered(event), tz))
            if day > up_to:
                later.append(day)
            else:
                known.append(event)
        later = [min(later)] if later else []
        try:
            terms = terms_of(vendor, tenant_id, versions[vendor.name])
            evaluation = evaluate_tenant(terms, known, horizon)
        except _NOT_THE_TENANTS:
            raise
        except CrmError as exc:  # this tenant's history: the others are billed
            errors[tenant_id] = exc
            continue
        after = [horizon + timedelta(days=1), *later]
        change = next_change_after(evaluation, up_to)
        if change is not None:
            after.append(change)
        events += evaluation_events(evaluation, tz, up_to)
        numbers = keys[tenant_id]
        for invoice in unstored(evaluation.invoices, numbers):
            if invoice.issued > up_to:
                after.append(invoice.issued)
                continue
            if invoice.corrects in numbers:  # it corrects a stored invoice: its number
                invoice = attrs.evolve(invoice, corrects=numbers[invoice.corrects])
            ready.append((invoice, vendor.policy))  # else one of this batch's (see _issue)
        due.append((tenant_id, bases[tenant_id], len(history), up_to, min(after).isoformat()))
    return ready, due, events


_COMPACT = json.JSONEncoder(separators=(",", ":"))


def save_checkpoint_rows(connection: Connection, rows: list[CheckpointRow]) -> None:
    """Insert or replace checkpoint rows ``(tenant_id, basis, events, day, payload)`` in one
    statement (:meth:`~crmcore_sql.dialects.SqlDialect.save_checkpoints`)."""
    if not rows:
        return
    with translate_errors("saving billing checkpoints"):
        dialect_for(connection).save_checkpoints(connection, rows)


def _save_checkpoints(uow: SqlUnitOfWork, saved: list[tuple[str, str, BillingCheckpoint]]) -> None:
    save_checkpoint_rows(
        uow.connection,
        [
            (
                tenant_id,
                basis,
                checkpoint.events,
                checkpoint.day,
                _COMPACT.encode(checkpoint_to_data(checkpoint)),
            )
            for tenant_id, basis, checkpoint in saved
        ],
    )


def _mark(uow: SqlUnitOfWork, mark: str, claimed: list[str]) -> None:
    """Mark the batch billed for the period: one statement
    (:meth:`~crmcore_sql.dialects.SqlDialect.mark`). Nothing when the batch's tenants
    all failed (an empty parameter list would insert one row of defaults on MariaDB)."""
    if not claimed:
        return
    with translate_errors("marking tenants"):
        dialect_for(uow.connection).mark(uow.connection, mark, claimed)


class _ProvisionalNumbering:
    """Numbers 1, 2, ... in each series, in the order asked for, each one recorded: the
    offsets of the final numbers, which are known only once the series are locked."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.issued: list[tuple[str, int]] = []

    def next_number(self, series: str) -> int:
        number = self.counts[series] = self.counts.get(series, 0) + 1
        self.issued.append((series, number))
        return number


def _issue(
    uow: SqlUnitOfWork,
    drafts: list[tuple[str, VendorPolicy, list[InvoiceDraft]]],
    ready: Sequence[tuple[Invoice, VendorPolicy]] = (),
    derived: Sequence[OutboxEvent] = (),
) -> int:
    """Number and store the batch's drafts and ``ready`` invoices (BILL-6), then the events
    out: the invoices' and the ``derived`` ones (the outbox's counter is locked last); the
    number of invoices stored.

    Everything but the numbers is done before any series row is locked: the invoices are
    issued under a provisional numbering (1, 2, ... in each series, in the order of the final
    numbers) and turned into rows with their ids. Then one reservation per series, in one
    lock order for every worker, gives each series its first number; the rows get their final
    numbers and are inserted. A series row stays locked until commit, so another worker waits
    only for the reservation, the inserts and the commit, not for this one's Python work."""
    provisional = _ProvisionalNumbering()
    built: list[tuple[Invoice, VendorPolicy]] = []
    for tenant_id, policy, due in drafts:
        for invoice in issue(due, provisional, tenant_id=tenant_id, policy=policy):
            built.append((invoice, policy))
    for invoice, policy in ready:
        provisional.next_number(invoice.series)
        built.append((invoice, policy))
    if not built:
        if derived:
            uow.outbox.append(derived)
        return 0
    with translate_errors("adding invoices"):
        ids = uow.invoices.new_ids(len(built))
    rows = [
        convert.invoice_to_rows(invoice, None if ids is None else ids[index])
        for index, (invoice, _) in enumerate(built)
    ]
    before = {
        series: uow.invoices.reserve_numbers(series, count) - 1
        for series, count in sorted(provisional.counts.items())  # one lock order for all
    }
    numbers: dict[tuple[str, str], str] = {}  # (tenant, key) -> the number just given
    for (head, _), (invoice, policy), (series, offset) in zip(
        rows, built, provisional.issued, strict=True
    ):
        head["number"] = document_number(
            policy, series, invoice.issued.year, before[series] + offset
        )
        numbers[invoice.tenant_id, invoice.key] = head["number"]
        corrects = invoice.corrects
        if corrects is not None and (invoice.tenant_id, corrects) in numbers:
            head["corrects"] = numbers[invoice.tenant_id, corrects]  # corrects one just issued
    uow.invoices.add_rows(rows)
    events = [
        event
        for (head, _), (invoice, policy) in zip(rows, built, strict=True)
        for event in invoice_events(
            attrs.evolve(invoice, number=head["number"], corrects=head.get("corrects")),
            policy.timezone,
        )
    ]
    uow.outbox.append([*events, *derived])
    return len(rows)


def bill_worker(
    url: str, up_to: date, vat_rate: str, batch: int = BATCH, pause: float = 0.0
) -> tuple[int, int, list[tuple[str, str, str, str | None]]]:
    """One worker process of ``crmcore bill --workers N`` (spawned; returns plain values:
    tenants billed, invoices issued, the failures as tuples). ``batch``: tenants per
    transaction and ``pause``: seconds to wait after each committed batch (small batches and
    a pause in tests, so that workers interleave whatever else the machine runs)."""
    from crmcore_sql.engine import create_engine

    def paced(_report: BillingReport) -> None:
        time.sleep(pause)

    engine = create_engine(url)
    try:
        for _attempt in range(5):
            try:
                report = bill_up_to(
                    engine, up_to, Decimal(vat_rate), batch, paced if pause > 0 else None
                )
                failed = [(f.tenant_id, f.period, f.error, f.rule) for f in report.failed]
                return report.tenants, report.invoices, failed
            except ConcurrencyError:
                continue  # a deadlock victim: the batch rolled back; run again (idempotent)
        raise ConcurrencyError("billing worker kept losing to concurrent writers", field="bill")
    finally:
        engine.dispose()


@attrs.frozen
class DunningChange:
    """A payment-delay transition taking effect on the job's day (PAY-2..4)."""

    tenant_id: str
    previous: str
    status: str
    rule: str
    days_overdue: int

    @classmethod
    def of(cls, tenant_id: str, transition: DunningTransition) -> DunningChange:
        return cls(
            tenant_id,
            str(transition.previous),
            str(transition.status),
            transition.rule,
            transition.days_overdue,
        )


def dunning_as_of(
    engine: Engine, day: date, batch: int = BATCH
) -> tuple[list[DunningChange], dict[str, int]]:
    """The PAY transitions taking effect on ``day`` and the count of tenants per status (of
    a stored vendor's tenant: its status as ``crmcore status`` gives it, the lifecycle and the
    payment delay merged; of a tenant stored under a preset's name: its payment delay).

    Statuses are derived by replaying invoices and payments (nothing is overwritten), so the
    job is idempotent: run it daily, or again for a missed day.
    """
    changes: list[DunningChange] = []
    statuses: dict[str, int] = {}
    after = ""
    while True:
        with SqlUnitOfWork(engine) as uow:
            claimed = uow.tenants.ids(after=after, limit=batch)
            if not claimed:
                break
            for tenant_id in claimed:
                name = uow.tenants.vendor(tenant_id)
                stored = _stored_vendor(uow, name, day)
                if stored is not None:  # the engine of crmcore simulate (see bill_period)
                    _evaluated_dunning(uow, stored, tenant_id, day, changes, statuses)
                    continue
                policy = preset(name)
                invoices = uow.invoices.for_tenant(tenant_id)
                payments = uow.payments.for_tenant(tenant_id)
                for transition in dunning_log(invoices, payments, policy, day):
                    if transition.on == day:
                        changes.append(DunningChange.of(tenant_id, transition))
                state = status_on(invoices, payments, policy, day)
                statuses[str(state.status)] = statuses.get(str(state.status), 0) + 1
        after = claimed[-1]
    return changes, statuses


def _evaluated_dunning(
    uow: SqlUnitOfWork,
    vendor: Vendor,
    tenant_id: str,
    day: date,
    changes: list[DunningChange],
    statuses: dict[str, int],
) -> None:
    """The PAY transitions of ``day`` of a tenant of a stored vendor, from the evaluation of
    its history (its ``pay`` events, card charges at issue, reinstatements and the invoices
    it is issued: PAY-1..6), and its status on ``day``: the lifecycle and the payment delay
    merged, as ``crmcore status`` says it (a customer's cancellation, END-4, or a trial's
    purge, TRIAL-4, count as such, not as active)."""
    terms = terms_of(vendor, tenant_id, uow.vendors.versions(vendor.name))
    evaluation = evaluate_tenant(terms, uow.tenants.history(tenant_id), day)
    for transition in evaluation.dunning_in_force:  # PAY-5: none after the lifecycle ended
        if transition.on == day:
            changes.append(DunningChange.of(tenant_id, transition))
    status = [s.status for s in evaluation.statuses if s.on <= day][-1]
    statuses[status] = statuses.get(status, 0) + 1
