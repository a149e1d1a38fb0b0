"""The billing job: issue every invoice due in a period, idempotently, shared by workers.

Workers (processes, possibly on several machines) share the work through the database only:
each claims the next batch of tenants not yet marked in ``billing_marks`` for the period with
``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB/MySQL) and commits the marks with
the invoices, so two workers never bill the same tenant, and even a tenant billed twice would
be harmless because invoices are keyed by ``(tenant_id, key)`` (BILL-6). SQLite has one
writer at a time; there one worker does the job.

Draft invoices are computed before the numbering row is locked; the lock (BILL-6) is only held
for the numbering and the inserts at the end of each batch's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from importlib import import_module
from typing import Any

import attrs
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

from crmcore.catalog import Catalog
from crmcore.errors import ConcurrencyError, ConfigurationError
from crmcore.invoices import Invoice
from crmcore.periods import Period
from crmcore.policies import VendorPolicy
from crmcore.presets import preset
from crmcore_sql import convert
from crmcore_sql.engine import translate_errors
from crmcore_sql.tables import billing_marks, invoices, tenant_events, tenants
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["BillingReport", "bill_period"]

BATCH = 200


@attrs.frozen
class BillingReport:
    tenants: int = 0
    invoices: int = 0

    def __add__(self, other: BillingReport) -> BillingReport:
        return BillingReport(self.tenants + other.tenants, self.invoices + other.invoices)


def _billing() -> Any:
    try:
        return import_module("crmcore.billing")
    except ImportError as exc:  # pragma: no cover - the billing engine ships with crmcore
        raise ConfigurationError(
            "the billing engine (crmcore.billing) is not installed", field="bill"
        ) from exc


def _claim(
    uow: SqlUnitOfWork, after: str, batch: int, mark: str, inclusive: bool = False
) -> tuple[str | None, dict[str, str]]:
    """The next tenants not yet billed for ``mark``, locked: (the last id looked at, the ones
    to bill with their vendors). Rows another worker holds are skipped (SKIP LOCKED); rows it
    has committed are marked and left out by the second, per-batch query.

    The claim itself has no ``NOT EXISTS billing_marks``: PostgreSQL planned that anti-join as
    a sort of every mark of the period per batch (quadratic in the number of tenants); the
    per-batch lookup (:func:`_marked`) is an index probe per claimed tenant."""
    start = tenants.c.tenant_id >= after if inclusive else tenants.c.tenant_id > after
    statement = (
        select(tenants.c.tenant_id, tenants.c.vendor)
        .where(start)
        .order_by(tenants.c.tenant_id)
        .limit(batch)
    )
    if uow.connection.dialect.name != "sqlite":
        statement = statement.with_for_update(skip_locked=True)
    with translate_errors("claiming tenants"):
        claimed = {row[0]: row[1] for row in uow.connection.execute(statement)}
        if not claimed:
            return None, {}
        done = _marked(uow, mark, list(claimed))
    last = next(reversed(claimed))
    return last, {tenant: vendor for tenant, vendor in claimed.items() if tenant not in done}


# One primary-key probe per claimed tenant, whatever the statistics say: as a filter
# (``period = ? AND tenant_id = ANY(?)``) PostgreSQL chose a sequential scan of every mark once
# a period's marks were a large share of the table, so each batch read them all (quadratic).
# A scalar subquery around the correlated EXISTS is never turned into a join: it stays a
# probe per id, on both columns of the primary key.
_POSTGRESQL_MARKED = text(
    "SELECT t.id FROM unnest(CAST(:ids AS VARCHAR[])) AS t(id) WHERE (SELECT EXISTS ("
    "SELECT 1 FROM billing_marks m WHERE m.period = :period AND m.tenant_id = t.id))"
)


def _marked(uow: SqlUnitOfWork, mark: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` have a committed mark for ``mark`` (a fresh statement: READ COMMITTED
    shows the marks other workers committed up to now)."""
    if uow.connection.dialect.name == "postgresql":
        rows = uow.connection.execute(_POSTGRESQL_MARKED, {"ids": ids, "period": mark})
    else:
        rows = uow.connection.execute(
            select(billing_marks.c.tenant_id).where(
                billing_marks.c.period == mark, billing_marks.c.tenant_id.in_(ids)
            )
        )
    return set(rows.scalars())


def _batches(
    engine: Engine, batch: int, mark: str
) -> Iterator[tuple[SqlUnitOfWork, dict[str, str]]]:
    """Batches from the first tenant to the last; then, while some tenant is still not marked
    (another worker rolled back behind this one's cursor, or holds it right now), one more pass
    from the first such tenant. A pass that finds nothing to bill ends the job."""
    after, inclusive = "", False
    while True:
        found = False
        cursor: str | None = after
        while cursor is not None:
            uow = SqlUnitOfWork(engine)
            with uow:
                last, todo = _claim(uow, cursor, batch, mark, inclusive)
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
    """The smallest tenant id without a mark for ``mark``: one anti-join per pass (not per
    batch), without locks."""
    marked = select(billing_marks.c.tenant_id).where(
        billing_marks.c.period == mark, billing_marks.c.tenant_id == tenants.c.tenant_id
    )
    with translate_errors("claiming tenants"), engine.connect() as connection:
        first: str | None = connection.execute(
            select(func.min(tenants.c.tenant_id)).where(~marked.exists())
        ).scalar()
    return first


def _load_batch(
    uow: SqlUnitOfWork, claimed: list[str]
) -> tuple[dict[str, list[Any]], dict[str, set[str]]]:
    """Histories and issued keys of a batch of tenants in two queries."""
    connection = uow.connection
    with translate_errors("reading tenants"):
        histories: dict[str, list[Any]] = {tenant_id: [] for tenant_id in claimed}
        decode = convert.event_from_columns
        history: list[Any] = []
        current = None
        for tenant_id, payload, zone in connection.execute(
            select(tenant_events.c.tenant_id, tenant_events.c.payload, tenant_events.c.at_zone)
            .where(tenant_events.c.tenant_id.in_(claimed))
            .order_by(tenant_events.c.tenant_id, tenant_events.c.version)
        ):
            if tenant_id != current:  # rows come grouped by tenant
                history = histories[tenant_id]
                current = tenant_id
            history.append(decode(payload, zone))
        keys: dict[str, set[str]] = {tenant_id: set() for tenant_id in claimed}
        for tenant_id, key in connection.execute(
            select(invoices.c.tenant_id, invoices.c.key).where(invoices.c.tenant_id.in_(claimed))
        ):
            keys[tenant_id].add(key)
    return histories, keys


def bill_period(
    engine: Engine,
    period: Period,
    vat_rate: Decimal = Decimal("0.23"),
    batch: int = BATCH,
    progress: Callable[[BillingReport], None] | None = None,
) -> BillingReport:
    """Issue every invoice due up to the period's last day for every tenant (idempotent)."""
    billing = _billing()
    catalogs: dict[str, Catalog] = {}
    policies: dict[str, VendorPolicy] = {}
    terms_of: dict[str, Any] = {}
    report = BillingReport()
    mark = f"{period.first_day:%Y-%m}"
    for uow, vendors in _batches(engine, batch, mark):
        claimed = list(vendors)
        histories, keys = _load_batch(uow, claimed)
        drafts: list[tuple[str, VendorPolicy, list[Any]]] = []
        for tenant_id in claimed:
            vendor = vendors[tenant_id]
            if vendor not in catalogs:
                catalogs[vendor] = uow.catalogs.get(vendor)
                policies[vendor] = preset(vendor)
                terms_of[vendor] = billing.BillingTerms(policies[vendor].currency, vat_rate)
            policy = policies[vendor]
            terms = terms_of[vendor]
            due = billing.invoices_due(
                histories[tenant_id],
                catalogs[vendor],
                policy,
                terms,
                period.last_day,
                already_issued=keys[tenant_id],
            )
            if due:
                drafts.append((tenant_id, policy, due))
        # Marks and ids before the numbering lock: that lock is held until commit.
        _mark(uow, mark, claimed)
        with translate_errors("adding invoices"):
            ids = uow.invoices.new_ids(sum(len(due) for _, _, due in drafts))
        issued = _number(uow, billing, drafts)
        uow.invoices.add_many(issued, ids)
        uow.commit()
        report = report + BillingReport(len(claimed), len(issued))
        if progress is not None:
            progress(report)
    return report


_MARK = {
    "postgresql": text(
        "INSERT INTO billing_marks (period, tenant_id)"
        " SELECT :period, unnest(CAST(:ids AS VARCHAR[]))"
    ),
    "sqlite": text(
        "INSERT INTO billing_marks (period, tenant_id) SELECT :period, value FROM json_each(:ids)"
    ),
}


def _mark(uow: SqlUnitOfWork, mark: str, claimed: list[str]) -> None:
    """Mark the batch billed for the period: one statement with the ids as one array (JSON on
    SQLite) parameter, not one parameter set per tenant."""
    dialect = uow.connection.dialect.name
    with translate_errors("marking tenants"):
        if dialect == "postgresql":
            uow.connection.execute(_MARK[dialect], {"period": mark, "ids": claimed})
        elif dialect == "sqlite":
            uow.connection.execute(_MARK[dialect], {"period": mark, "ids": json.dumps(claimed)})
        else:
            uow.connection.execute(
                insert(billing_marks), [{"period": mark, "tenant_id": t} for t in claimed]
            )


def _number(
    uow: SqlUnitOfWork, billing: Any, drafts: list[tuple[str, VendorPolicy, list[Any]]]
) -> list[Invoice]:
    """Number the batch's drafts with one reservation per series (BILL-6): count the numbers
    each series needs, reserve them (the series row stays locked until commit), then issue."""
    needed: dict[str, int] = {}
    for _tenant_id, policy, due in drafts:
        for draft in due:
            series = billing.series_of(draft, policy)
            needed[series] = needed.get(series, 0) + 1
    start = {
        series: uow.invoices.reserve_numbers(series, count) - 1
        for series, count in sorted(needed.items())  # one lock order for every worker
    }
    numbering = billing.InMemoryInvoiceNumbering(start)
    issued: list[Invoice] = []
    for tenant_id, policy, due in drafts:
        issued += billing.issue(due, numbering, tenant_id=tenant_id, policy=policy)
    return issued


def bill_worker(url: str, first_day: date, last_day: date, vat_rate: str) -> tuple[int, int]:
    """One worker process of ``crmcore bill --workers N`` (spawned; returns plain values)."""
    from crmcore_sql.engine import create_engine

    engine = create_engine(url)
    try:
        for _attempt in range(5):
            try:
                report = bill_period(engine, Period(first_day, last_day), Decimal(vat_rate))
                return report.tenants, report.invoices
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


def dunning_as_of(
    engine: Engine, day: date, batch: int = BATCH
) -> tuple[list[Any], dict[str, int]]:
    """The PAY transitions taking effect on ``day`` and the count of tenants per status.

    Statuses are derived by replaying invoices and payments (nothing is overwritten), so the
    job is idempotent: run it daily, or again for a missed day.
    """
    try:
        dunning: Any = import_module("crmcore.dunning")
    except ImportError as exc:  # pragma: no cover - ships with crmcore
        raise ConfigurationError("the dunning rules (crmcore.dunning) are not installed") from exc
    changes: list[DunningChange] = []
    statuses: dict[str, int] = {}
    after = ""
    while True:
        with SqlUnitOfWork(engine) as uow:
            claimed = uow.tenants.ids(after=after, limit=batch)
            if not claimed:
                break
            for tenant_id in claimed:
                policy = preset(uow.tenants.vendor(tenant_id))
                invoices = uow.invoices.for_tenant(tenant_id)
                payments = uow.payments.for_tenant(tenant_id)
                for transition in dunning.dunning_log(invoices, payments, policy, day):
                    if transition.on == day:
                        changes.append(
                            DunningChange(
                                tenant_id,
                                str(transition.previous),
                                str(transition.status),
                                transition.rule,
                                transition.days_overdue,
                            )
                        )
                state = dunning.status_on(invoices, payments, policy, day)
                statuses[str(state.status)] = statuses.get(str(state.status), 0) + 1
        after = claimed[-1]
    return changes, statuses
