"""SQL implementations of the :mod:`crmcore.ports` repositories (SQLAlchemy 2.0 Core).

Each repository works on the unit of work's connection, inside its transaction. Races are
decided by the database, never by a read followed by a write in Python:

- REC-6: ``record_totals`` has one row per tenant, changed by
  ``UPDATE ... SET total = total + n WHERE tenant_id = ? AND total + n <= limit``; a refused
  request changes nothing. No COUNT over record tables. ``create`` inserts the application's
  rows in the same transaction (on PostgreSQL in the same statement). One lock order for
  every counter change: ``record_totals``, then ``record_counts`` (no deadlock between
  creating and deleting). Without a plan limit (REC-5) the bound is ``MAX_RECORD_LIMIT``, a
  ``LimitError`` past it (REC-3), so no total passes the 32-bit ``INTEGER`` column.
- Every operation that writes is one step: a refusal or failure rolls back to a savepoint
  taken before it, so the unit of work is exactly as it was (:meth:`_SqlRepository._atomic`).
- SEAT-5: ``UPDATE seat_counts SET used = used + 1 WHERE tenant_id = ? AND used < bought``.
- API-1: ``UPDATE api_call_counts SET calls = calls + 1 WHERE tenant_id = ? AND day = ? AND
  calls < limit`` on the day's row (created at 0 first).
- STOR-1: ``UPDATE file_usage SET used = used + size WHERE tenant_id = ? AND used + size <=
  limit``, then the file's row; lock order ``file_usage``, then ``stored_files``.
- BILL-6: the numbering row is incremented by an upsert that locks it until the invoice insert
  commits or rolls back (no gap, no duplicate); ``(tenant_id, key)`` is a unique key.

Long because every repository of crmcore.ports in SQL, one class per port.
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    NestedTransaction,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from crmcore.catalog import Catalog
from crmcore.dates import require_day
from crmcore.errors import (
    N_,
    ConcurrencyError,
    NotFound,
    SeatError,
    StorageError,
    ValidationError,
)
from crmcore.events import Event, OutageRecorded
from crmcore.invoices import Invoice, Payment
from crmcore.limits import (
    MAX_RECORD_LIMIT,
    check_record_deletion,
    check_record_total,
    checked_record_call,
)
from crmcore.memory import check_bought
from crmcore.ports import (
    MAX_API_LIMIT,
    MAX_STORAGE_LIMIT,
    ApiCallCount,
    RecordCount,
    RecordTable,
    StorageCount,
    User,
    check_expected_version,
    checked_file,
    checked_history,
    checked_limit,
    checked_record_rows,
    key_taken,
    number_taken,
)
from crmcore.tenancy.trials import normalise_identity
from crmcore.vendors import is_vendor_name
from crmcore_sql import convert
from crmcore_sql.dialects import (
    ONE_STATEMENT_ROWS,
    CounterOutcome,
    SqlDialect,
    dialect_for,
    locked_total,
    seen_decision,
)
from crmcore_sql.engine import translate_errors
from crmcore_sql.histories import history_cache
from crmcore_sql.reads import TenantRead
from crmcore_sql.tables import (
    api_call_counts,
    catalogs,
    file_usage,
    invoice_lines,
    invoice_series,
    invoices,
    outages,
    payments,
    record_counts,
    record_totals,
    seat_assignments,
    seat_counts,
    stored_files,
    tenant_events,
    tenants,
    trial_identities,
    users,
    users_counter,
)
from crmcore_sql.tables_vendors import vendors
from crmcore_sql.transactions import (
    TransactionState,
    postgresql_aborted,
    server_ended_transaction,
)

__all__ = [
    "ONE_STATEMENT_ROWS",
    "SqlApiCallCounterRepository",
    "SqlCatalogRepository",
    "SqlFileRepository",
    "SqlInvoiceRepository",
    "SqlOutageRepository",
    "SqlPaymentRepository",
    "SqlRecordCounterRepository",
    "SqlSeatRepository",
    "SqlTenantRepository",
    "SqlUserRepository",
]


def _command_row() -> Select[Any]:
    """A tenant's row with, each by its index, the stamp of its vendor's versions
    (:data:`crmcore_sql.reads.VendorStamp`), its invoice issued last (as ``last_issued``
    orders them) and its last event's columns."""
    tenant = tenants.c
    mine = vendors.c.name == tenant.vendor
    last_invoice = (
        select(invoices.c.number, invoices.c.issued)
        .where(invoices.c.tenant_id == tenant.tenant_id)
        .order_by(invoices.c.issued.desc(), invoices.c.series, invoices.c.id)
        .limit(1)
    )
    last_event = tenant_events.c
    is_last = (last_event.tenant_id == tenant.tenant_id, last_event.version == tenant.version)
    return select(
        tenant.vendor,
        tenant.version,
        tenant.incarnation,
        select(func.count()).select_from(vendors).where(mine).scalar_subquery().label("vendors"),
        select(func.max(vendors.c.effective)).where(mine).scalar_subquery().label("latest_vendor"),
        select(func.max(vendors.c.token)).where(mine).scalar_subquery().label("vendor_token"),
        last_invoice.with_only_columns(invoices.c.number).scalar_subquery().label("last_number"),
        last_invoice.with_only_columns(invoices.c.issued).scalar_subquery().label("last_issued"),
        select(last_event.payload).where(*is_last).scalar_subquery().label("last_payload"),
        select(last_event.at_zone).where(*is_last).scalar_subquery().label("last_zone"),
    ).where(tenant.tenant_id == bindparam("tenant_id"))


_COMMAND_ROW = _command_row()


def _is_stored(event: Event, row: Any) -> bool:
    """Whether ``event`` is the last event of the tenant's row read by ``_command_row``."""
    if row.last_payload is None:
        return False
    return convert.decoded(row.last_payload, row.last_zone) == event


class _SqlRepository:
    """A repository on a unit of work's connection. ``state`` is the unit of work's (shared by
    all its repositories): once the server ended the transaction, every statement raises."""

    def __init__(self, connection: Connection, state: TransactionState | None = None) -> None:
        self._connection = connection
        self._state = TransactionState() if state is None else state

    @property
    def connection(self) -> Connection:
        """The connection, refused (``ConcurrencyError``) once the server ended the
        transaction: a statement now would run in a new transaction (issue 13)."""
        self._state.check()
        return self._connection

    def _alive(self) -> bool:
        """Raise ``ConcurrencyError`` if the server ended the transaction (also a PostgreSQL
        transaction a failed statement aborted, read from the driver without a round trip),
        as a statement would: for an answer from what the transaction read before."""
        if postgresql_aborted(self.connection):
            raise self._state.lose("PostgreSQL aborted it after a failed statement")
        return True

    @property
    def _sql(self) -> SqlDialect:
        """This engine's differences (:mod:`crmcore_sql.dialects`), chosen once per engine."""
        return dialect_for(self._connection)

    @contextlib.contextmanager
    def _translating(self, what: str) -> Iterator[None]:
        """:func:`translate_errors`, and when the failed statement ended the transaction on
        the server (outside a savepoint: a MariaDB deadlock, a PostgreSQL error, a lost
        connection), the unit of work refuses to go on (:class:`TransactionState`)."""
        try:
            with translate_errors(what):
                yield
        except Exception as exc:
            if self._state.reason is None:
                reason = server_ended_transaction(self._connection, exc)
                if reason is not None:
                    raise self._state.lose(reason) from exc
            raise

    @contextlib.contextmanager
    def _atomic(self, statements: int = 2) -> Iterator[None]:
        """One repository operation as one step of the unit of work: a savepoint before it,
        rolled back to when it raises, so a refused operation leaves the unit of work exactly
        as it was (counters included) and usable on every engine (PostgreSQL aborts the whole
        transaction on any error in it). An operation of one statement needs no savepoint
        where a failed statement undoes only itself (SQLite, MariaDB/MySQL), nor does a
        connection in autocommit mode (each statement its own transaction).

        When the savepoint cannot be rolled back to, the server already ended the whole
        transaction (a MariaDB/MySQL deadlock rolls it all back, savepoints included; a lost
        connection): the operation raises ``ConcurrencyError`` and so does everything after
        it in the unit of work, never a commit of only its later work (issue 13)."""
        connection = self.connection
        autocommit = connection.get_execution_options().get("isolation_level")
        if autocommit == "AUTOCOMMIT" or (
            statements == 1 and not self._sql.failed_statement_aborts
        ):
            yield
            return
        with translate_errors("taking a savepoint"):
            savepoint = connection.begin_nested()
        try:
            yield
        except BaseException as exc:
            reason = self._undo(savepoint, exc)
            if reason is not None:
                raise self._state.lose(reason) from exc
            raise
        with translate_errors("releasing a savepoint"):
            savepoint.commit()

    def _undo(self, savepoint: NestedTransaction, error: BaseException) -> str | None:
        """Roll back to ``savepoint`` after ``error``: ``None`` when that worked (the
        transaction goes on), else why the transaction is gone."""
        if not savepoint.is_active:
            return server_ended_transaction(self._connection, error) or (
                "the savepoint of the failed operation is gone"
            )
        try:
            savepoint.rollback()
        except SQLAlchemyError as failure:
            # e.g. MariaDB's "SAVEPOINT ... does not exist" after its deadlock rollback
            return server_ended_transaction(self._connection, error) or (
                f"rolling back to the savepoint failed: {str(failure).splitlines()[0]}"
            )
        return None

    def _insert_if_missing(self, table: Table, values: dict[str, Any]) -> None:
        """Create a counter row unless it exists, without failing the transaction."""
        self._sql.insert_if_missing(self.connection, table, values)


class SqlTenantRepository(_SqlRepository):
    def add(self, tenant_id: str, vendor: str, events: Sequence[Event]) -> None:
        stored = isinstance(vendor, str) and is_vendor_name(vendor) and self._vendor_stored(vendor)
        events = checked_history(tenant_id, events, vendor=vendor, vendor_stored=stored)
        created = events[0]  # a TenantCreated: checked_history
        identity = getattr(created, "identity", None)
        self._written.add(tenant_id)
        incarnation = uuid.uuid4().hex
        with self._translating("adding tenant"), self._atomic():
            try:
                self.connection.execute(
                    insert(tenants).values(
                        tenant_id=tenant_id,
                        vendor=vendor,
                        version=len(events),
                        incarnation=incarnation,
                    )
                )
            except IntegrityError as exc:
                raise StorageError(
                    f"tenant {tenant_id!r} already exists", field="tenant_id", rule="TEN-1"
                ) from exc
            if identity is not None:
                self._count_trial(vendor, normalise_identity(identity))
            self._insert_events(tenant_id, 0, events)
        self._state.reads.added(tenant_id, incarnation, tuple(events))

    def _count_trial(self, vendor: str, identity: str) -> None:
        """TRIAL-6: one more tenant of ``vendor`` created with ``identity``; the upsert locks
        the identity's row until the transaction ends."""
        values = {"vendor": vendor, "identity": identity, "trials": 1}
        increment = {"trials": trial_identities.c.trials + 1}
        self._sql.upsert(
            self.connection, trial_identities, ["vendor", "identity"], values, increment
        )

    def _vendor_stored(self, name: str) -> bool:
        with self._translating("reading the vendor"):
            found = self.connection.execute(
                select(vendors.c.name).where(vendors.c.name == name).limit(1)
            ).first()
        return found is not None

    def _insert_events(self, tenant_id: str, start: int, events: Sequence[Event]) -> None:
        if events:
            rows = [
                convert.event_to_row(tenant_id, start + offset + 1, event)
                for offset, event in enumerate(events)
            ]
            self.connection.execute(insert(tenant_events), rows)

    def append(self, tenant_id: str, events: Sequence[Event], expected_version: int) -> int:
        check_expected_version(expected_version)
        if not isinstance(events, list | tuple):
            checked_history(tenant_id, events, after=None)  # raises the typed error
        new_version = expected_version + len(events)
        self._written.add(tenant_id)  # its history read in this transaction is not cached
        known = self._state.reads.histories.get(tenant_id)
        with self._translating("appending events"), self._atomic():
            # Checked before any write, after the event it follows (a refused append leaves
            # the transaction as it was: the unit of work stays usable). That event is
            # committed and never changes; a writer appending in between fails the update.
            if known is not None and len(known) == expected_version:  # read just before
                try:
                    after = known[-1] if known else None
                    checked = checked_history(tenant_id, events, after=after)
                except ValidationError:
                    current = self.version(tenant_id)  # a stale version first, as ever
                    if current != expected_version:
                        raise self._stale(tenant_id, current, expected_version) from None
                    raise
            else:
                current = self.version(tenant_id)
                if current != expected_version:
                    raise self._stale(tenant_id, current, expected_version)
                after = self._event(tenant_id, expected_version)
                checked = checked_history(tenant_id, events, after=after)
            result = self.connection.execute(
                update(tenants)
                .where(tenants.c.tenant_id == tenant_id, tenants.c.version == expected_version)
                .values(version=new_version)
            )
            if result.rowcount != 1:
                raise self._stale(tenant_id, self.version(tenant_id), expected_version)
            self._insert_events(tenant_id, expected_version, checked)
        self._state.reads.appended(tenant_id, expected_version, tuple(checked))
        return new_version

    @staticmethod
    def _stale(tenant_id: str, current: int, expected_version: int) -> ConcurrencyError:
        return ConcurrencyError(
            f"tenant {tenant_id!r} is at version {current}, expected {expected_version}",
            field="expected_version",
        )

    def _event(self, tenant_id: str, version: int) -> Event | None:
        """The tenant's event number ``version`` (1 = the first), ``None`` if not stored."""
        if version < 1:
            return None
        row = self.connection.execute(
            select(tenant_events.c.payload, tenant_events.c.at_zone).where(
                tenant_events.c.tenant_id == tenant_id, tenant_events.c.version == version
            )
        ).first()
        return None if row is None else convert.event_from_row(row)

    def history(self, tenant_id: str) -> tuple[Event, ...]:
        """Read in full, or only the events after those already read of this incarnation of
        the tenant (:mod:`crmcore_sql.histories`), or none when the tenant's row (read with
        what a command needs next, :mod:`crmcore_sql.reads`) shows that its last event is the
        last one already read."""
        row = self._command_row(tenant_id)
        if row.incarnation is None:  # stored before migration 0015
            events = self._history_after(tenant_id, ())
        else:
            cache = history_cache(self.connection.engine)
            key = (tenant_id, row.incarnation)
            known = cache.get(key) or ()
            if known and len(known) == row.version and _is_stored(known[-1], row):
                events = known
            else:
                events = self._history_after(tenant_id, known)
            if tenant_id not in self._written:  # committed events only
                cache.put(key, events)
        self._state.reads.histories[tenant_id] = events
        return events

    def _command_row(self, tenant_id: str) -> Any:
        """The tenant's row, with the stamp of its vendor's versions, its invoice issued last
        and its last event: one statement (:mod:`crmcore_sql.reads`)."""
        with self._translating("reading tenant"):
            row = self.connection.execute(_COMMAND_ROW, {"tenant_id": tenant_id}).first()
        if row is None:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id")
        self._vendors[tenant_id] = row.vendor
        issued = None if row.last_number is None else (row.last_number, row.last_issued)
        stamp = (row.vendors, row.latest_vendor, row.vendor_token)
        read = TenantRead(row.vendor, row.incarnation, stamp, issued)
        self._state.reads.tenants[tenant_id] = read
        return row

    def _history_after(self, tenant_id: str, known: tuple[Event, ...]) -> tuple[Event, ...]:
        """``known`` (the first events read before) and the events after them; the whole
        history when the last of ``known`` is not stored as it was."""
        columns = (tenant_events.c.version, tenant_events.c.payload, tenant_events.c.at_zone)
        mine = tenant_events.c.tenant_id == tenant_id
        with self._translating("reading history"):
            if known:
                rows = self.connection.execute(
                    select(*columns)
                    .where(mine, tenant_events.c.version >= len(known))
                    .order_by(tenant_events.c.version)
                ).all()
                if rows and rows[0].version == len(known):
                    last = convert.event_from_columns(rows[0].payload, rows[0].at_zone)
                    if last == known[-1]:
                        return convert.events_from_rows(rows[1:], known)
            rows = self.connection.execute(
                select(*columns).where(mine).order_by(tenant_events.c.version)
            ).all()
        return convert.events_from_rows(rows)

    def histories(self, tenant_ids: Sequence[str]) -> dict[str, tuple[Event, ...]]:
        """One statement: the events of ``tenant_ids`` by tenant and version (the primary
        key's order)."""
        if not tenant_ids:
            return {}
        found: dict[str, list[Event]] = {}
        with self._translating("reading histories"):
            rows = self.connection.execute(
                select(tenant_events.c.tenant_id, tenant_events.c.payload, tenant_events.c.at_zone)
                .where(tenant_events.c.tenant_id.in_(sorted(set(tenant_ids))))
                .order_by(tenant_events.c.tenant_id, tenant_events.c.version)
            )
            for row in rows:
                found.setdefault(row.tenant_id, []).append(convert.event_from_row(row))
        return {tenant_id: tuple(events) for tenant_id, events in found.items()}

    def _row(self, tenant_id: str) -> Any:
        with self._translating("reading tenant"):
            row = self.connection.execute(
                select(tenants).where(tenants.c.tenant_id == tenant_id)
            ).first()
        if row is None:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id")
        self._vendors[tenant_id] = row.vendor
        return row

    @functools.cached_property
    def _written(self) -> set[str]:
        """The tenants this transaction added or appended to."""
        return set()

    @functools.cached_property
    def _vendors(self) -> dict[str, str]:
        """The vendor of each tenant read in this transaction (a tenant's vendor never
        changes): a command reads its tenant's row once."""
        return {}

    def version(self, tenant_id: str) -> int:
        version: int = self._row(tenant_id).version
        return version

    def vendor(self, tenant_id: str) -> str:
        known = self._vendors.get(tenant_id)
        if known is not None:
            return known
        vendor: str = self._row(tenant_id).vendor
        return vendor

    def ids(
        self, after: str = "", limit: int | None = None, vendor: str | None = None
    ) -> list[str]:
        statement = (
            select(tenants.c.tenant_id)
            .where(tenants.c.tenant_id > after)
            .order_by(tenants.c.tenant_id)
        )
        if vendor is not None:
            statement = statement.where(tenants.c.vendor == vendor)
        if limit is not None:
            statement = statement.limit(limit)
        with self._translating("listing tenants"):
            return list(self.connection.execute(statement).scalars())

    def count(self, vendor: str | None = None) -> int:
        statement = select(func.count()).select_from(tenants)
        if vendor is not None:
            statement = statement.where(tenants.c.vendor == vendor)
        with self._translating("counting tenants"):
            counted: int = self.connection.execute(statement).scalar_one()
        return counted

    def trials_of(self, vendor: str, identity: str) -> int:
        """TRIAL-6: the identity's row of ``trial_identities`` (one row, no history)."""
        with self._translating("counting trials"):
            used = self.connection.execute(
                select(trial_identities.c.trials).where(
                    trial_identities.c.vendor == vendor,
                    trial_identities.c.identity == normalise_identity(identity),
                )
            ).scalar()
        return int(used or 0)


class SqlCatalogRepository(_SqlRepository):
    def save(self, name: str, catalog: Catalog) -> None:
        document = json.dumps(catalog.to_dict(), sort_keys=True)
        with self._translating("saving catalogue"), self._atomic():
            self.connection.execute(delete(catalogs).where(catalogs.c.name == name))
            self.connection.execute(insert(catalogs).values(name=name, document=document))

    def get(self, name: str) -> Catalog:
        with self._translating("reading catalogue"):
            document = self.connection.execute(
                select(catalogs.c.document).where(catalogs.c.name == name)
            ).scalar()
        if document is None:
            raise NotFound(f"no catalogue {name!r}", field="name")
        return Catalog.from_dict(json.loads(document))


class _LineRow:
    """The ``line_*`` columns of a joined invoice row, under the line table's own names."""

    def __init__(self, row: Any) -> None:
        for column in invoice_lines.c:
            setattr(self, column.name, getattr(row, f"line_{column.name}"))


class SqlInvoiceRepository(_SqlRepository):
    def add(self, invoice: Invoice) -> None:
        head, lines = convert.invoice_to_rows(invoice)
        self._state.reads.invoices_written = True
        with self._translating("adding invoice"), self._atomic():
            # the key first (as in memory): the same invoice again breaks the series' unique
            # number too, and PostgreSQL may report that constraint first
            stored = self.connection.execute(
                select(invoices.c.id).where(
                    invoices.c.tenant_id == invoice.tenant_id, invoices.c.key == invoice.key
                )
            ).first()
            if stored is not None:
                raise key_taken(invoice)
            try:
                result = self.connection.execute(insert(invoices).values(head))
            except IntegrityError as exc:
                text = str(exc.orig)
                if "tenant_key" in text or "invoices.tenant_id, invoices.key" in text:
                    raise key_taken(invoice) from exc
                if "series_number" in text or "invoices.series, invoices.number" in text:
                    raise number_taken(invoice) from exc
                raise
            primary_key = result.inserted_primary_key
            assert primary_key is not None
            invoice_id = primary_key[0]
            if lines:
                self.connection.execute(
                    insert(invoice_lines), [dict(line, invoice_id=invoice_id) for line in lines]
                )

    def _load(self, heads: Sequence[Any]) -> list[Invoice]:
        if not heads:
            return []
        ids = [head.id for head in heads]
        rows = self.connection.execute(
            select(invoice_lines)
            .where(invoice_lines.c.invoice_id.in_(ids))
            .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
        ).all()
        by_invoice: dict[int, list[Any]] = {}
        for row in rows:
            by_invoice.setdefault(row.invoice_id, []).append(row)
        return [convert.invoice_from_rows(head, by_invoice.get(head.id, [])) for head in heads]

    def get(self, tenant_id: str, key: str) -> Invoice | None:
        with self._translating("reading invoice"):
            heads = self.connection.execute(
                select(invoices).where(invoices.c.tenant_id == tenant_id, invoices.c.key == key)
            ).all()
            found = self._load(heads)
        return found[0] if found else None

    def for_tenant(self, tenant_id: str) -> list[Invoice]:
        with self._translating("reading invoices"):
            heads = self.connection.execute(
                select(invoices)
                .where(invoices.c.tenant_id == tenant_id)
                .order_by(invoices.c.issued, invoices.c.id)
            ).all()
            return self._load(heads)

    def last_issued(self, tenant_id: str) -> tuple[str, date] | None:
        read = self._state.reads.last_issued(tenant_id)
        if read is not None and self._alive():  # read with the tenant's row in this transaction
            return read.last_issued
        with self._translating("reading invoices"):
            row = self.connection.execute(
                select(invoices.c.number, invoices.c.issued)
                .where(invoices.c.tenant_id == tenant_id)
                .order_by(invoices.c.issued.desc(), invoices.c.series, invoices.c.id)
                .limit(1)
            ).first()
        return None if row is None else (row.number, row.issued)

    def issued_between(
        self, tenant_ids: Sequence[str], first: date, last: date
    ) -> dict[str, list[Invoice]]:
        """One statement: the heads joined with their lines (an outer join: a document may
        have none), by tenant, issue day, id (the order stored in) and line position."""
        if not tenant_ids:
            return {}
        line_columns = [column.label(f"line_{column.name}") for column in invoice_lines.c]
        statement = (
            select(invoices, *line_columns)
            .select_from(
                invoices.outerjoin(invoice_lines, invoice_lines.c.invoice_id == invoices.c.id)
            )
            .where(
                invoices.c.tenant_id.in_(sorted(set(tenant_ids))),
                invoices.c.issued >= first,
                invoices.c.issued <= last,
            )
            .order_by(
                invoices.c.tenant_id,
                invoices.c.issued,
                invoices.c.id,
                invoice_lines.c.position,
            )
        )
        found: dict[str, list[Invoice]] = {}
        with self._translating("reading invoices"):
            head: Any = None
            lines: list[Any] = []
            for row in self.connection.execute(statement):
                if head is None or row.id != head.id:
                    if head is not None:
                        found.setdefault(head.tenant_id, []).append(
                            convert.invoice_from_rows(head, lines)
                        )
                    head, lines = row, []
                if row.line_invoice_id is not None:
                    lines.append(_LineRow(row))
            if head is not None:
                found.setdefault(head.tenant_id, []).append(convert.invoice_from_rows(head, lines))
        return found

    def by_number(self, number: str) -> list[Invoice]:
        # uq_invoices_series_number leads with the series: a scan of the invoices by number
        # (a support person's lookup, not a job's), no index of its own yet
        with self._translating("reading invoices"):
            heads = self.connection.execute(
                select(invoices).where(invoices.c.number == number).order_by(invoices.c.series)
            ).all()
            return self._load(heads)

    def add_many(
        self, invoices_to_add: Sequence[Invoice], ids: Sequence[int] | None = None
    ) -> None:
        """Store several invoices with two or three statements (the billing job's batch
        insert). On PostgreSQL and SQLite the ids are taken first (:meth:`new_ids`, or the
        ``ids`` the caller took earlier in the same transaction) and both inserts are plain
        multi-row inserts, without ``RETURNING``; on MariaDB one insert per invoice."""
        if not invoices_to_add:
            return
        with self._translating("adding invoices"):
            taken = list(ids) if ids is not None else self.new_ids(len(invoices_to_add))
        if taken is None:
            self.add_rows([convert.invoice_to_rows(invoice) for invoice in invoices_to_add])
            return
        if len(taken) != len(invoices_to_add):
            raise StorageError(f"{len(taken)} ids for {len(invoices_to_add)} invoices", field="ids")
        self.add_rows(
            [
                convert.invoice_to_rows(invoice, invoice_id)
                for invoice_id, invoice in zip(taken, invoices_to_add, strict=True)
            ]
        )

    def add_rows(self, rows: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        """Store invoices already turned into rows (:func:`convert.invoice_to_rows`), so that
        a caller can build them before it locks anything. Rows built with their ids (from
        :meth:`new_ids`): two multi-row inserts; without (MariaDB's AUTO_INCREMENT): one
        insert per head, then the lines. A mix of both is refused."""
        if not rows:
            return
        self._state.reads.invoices_written = True
        with_ids = sum("id" in head for head, _ in rows)
        if with_ids not in (0, len(rows)):
            raise StorageError(
                f"{with_ids} of {len(rows)} invoice rows carry an id; all or none must",
                field="rows",
            )
        with self._translating("adding invoices"), self._atomic():
            if with_ids:
                self.connection.execute(insert(invoices), [head for head, _ in rows])
                lines = [line for _, head_lines in rows for line in head_lines]
            else:
                lines = []
                for head, head_lines in rows:
                    key = self.connection.execute(
                        insert(invoices).values(head)
                    ).inserted_primary_key
                    assert key is not None
                    lines += [dict(line, invoice_id=key[0]) for line in head_lines]
            if lines:
                self.connection.execute(insert(invoice_lines), lines)

    def new_ids(self, count: int) -> list[int] | None:
        """``count`` new invoice ids for :meth:`add_many` in this transaction: PostgreSQL's
        sequence (``nextval`` over ``generate_series``), or ``max(id)`` + 1 ... on SQLite, whose
        unit of work holds the write lock from its start. ``None`` on MariaDB (its inserts
        take AUTO_INCREMENT ids)."""
        return self._sql.new_invoice_ids(self.connection, count)

    def reserve_numbers(self, series: str, count: int) -> int:
        """Reserve ``count`` consecutive numbers of ``series``; the first. Locked like
        :meth:`next_number` until the transaction ends (BILL-6). One change (a savepoint on
        PostgreSQL, where a failed statement would abort the whole transaction)."""
        values = {"series": series, "last_number": count}
        increment = {"last_number": invoice_series.c.last_number + count}
        with self._translating("numbering"), self._atomic(statements=1):
            last = self._sql.upsert_returning(
                self.connection, invoice_series, "series", values, increment, "last_number"
            )
        return last - count + 1

    def next_number(self, series: str) -> int:
        return self.reserve_numbers(series, 1)


class SqlPaymentRepository(_SqlRepository):
    def add(self, payment: Payment) -> None:
        with self._translating("adding payment"), self._atomic(statements=1):
            self.connection.execute(insert(payments).values(convert.payment_to_row(payment)))

    def for_tenant(self, tenant_id: str) -> list[Payment]:
        with self._translating("reading payments"):
            rows = self.connection.execute(
                select(payments)
                .where(payments.c.tenant_id == tenant_id)
                .order_by(payments.c.at_utc, payments.c.id)
            ).all()
        return [convert.payment_from_row(row) for row in rows]


class SqlOutageRepository(_SqlRepository):
    def add(self, tenant_id: str, outage: OutageRecorded) -> None:
        with self._translating("adding outage"), self._atomic(statements=1):
            self.connection.execute(
                insert(outages).values(convert.outage_to_row(tenant_id, outage))
            )

    def for_tenant(self, tenant_id: str) -> list[OutageRecorded]:
        with self._translating("reading outages"):
            rows = self.connection.execute(
                select(outages)
                .where(outages.c.tenant_id == tenant_id)
                .order_by(outages.c.at_utc, outages.c.id)
            ).all()
        return [convert.outage_from_row(row) for row in rows]


def _require_table(table: RecordTable, rows: Sequence[Mapping[str, object]]) -> Table:
    if not isinstance(table, Table):
        raise ValidationError(f"must be a SQLAlchemy Table, got {table!r}", field="table")
    unknown = sorted(set(rows[0]) - set(table.c.keys()))
    if unknown:
        raise ValidationError(f"{table.name} has no column(s) {unknown}", field="rows[0]")
    return table


def _bound(limit: int | None) -> int:
    """The bound a counter statement applies: the plan's limit, or without one (REC-5) the
    most a tenant can hold, :data:`MAX_RECORD_LIMIT` (REC-3), so that no total passes the
    32-bit INTEGER of the ``total`` and ``count`` columns on PostgreSQL and MariaDB."""
    return MAX_RECORD_LIMIT if limit is None else limit


def _as_asked(decision: RecordCount, limit: int | None) -> RecordCount:
    """The decision of a statement bounded by :func:`_bound` for the ``limit`` asked: without
    a limit, passing :data:`MAX_RECORD_LIMIT` is a ``LimitError`` as on every engine
    (:func:`crmcore.limits.check_record_total`), never a refusal."""
    if limit is not None:
        return decision
    if not decision.allowed:
        check_record_total(decision.total, decision.requested)
        raise AssertionError("refused within the bound")  # pragma: no cover
    return RecordCount(True, decision.total, decision.requested, None)


class SqlRecordCounterRepository(_SqlRepository):
    def try_create(self, tenant_id: str, kind: str, count: int, limit: int | None) -> RecordCount:
        kind = checked_record_call(kind, count, limit)  # REC-1, REC-3: before any statement
        if limit is not None and count > limit:
            return RecordCount(False, self.total(tenant_id), count, limit)
        with self._translating("counting records"), self._atomic():
            decision = self._try_create(tenant_id, kind, count, _bound(limit))
        return _as_asked(decision, limit)

    def _try_create(self, tenant_id: str, kind: str, count: int, limit: int) -> RecordCount:
        """REC-6 as one atomic step: the tenant's counter row is locked first (then the kind's
        count, the order of every counter change), and a refusal reports the total this step
        decided on, never one read afterwards. ``limit`` is always a number (:func:`_bound`)."""
        decision = self._sql.add_records(self.connection, tenant_id, kind, count, limit)
        return self._counted(tenant_id, decision, count, limit)

    def _counted(
        self, tenant_id: str, decision: CounterOutcome, count: int, limit: int
    ) -> RecordCount:
        """The engine's decision as a count; a decision without a total (PostgreSQL: a
        concurrent first creation of the tenant's counter row is newer than the statement's
        snapshot; SQLite: refused) reads the row, locked by the statement, again."""
        allowed, total = decision
        if total is None:
            return RecordCount(False, self.total(tenant_id), count, limit)
        return RecordCount(allowed, total, count, limit)

    def create(
        self,
        tenant_id: str,
        kind: str,
        limit: int | None,
        table: RecordTable,
        rows: Sequence[Mapping[str, object]],
    ) -> RecordCount:
        """``table`` must be a SQLAlchemy ``Table``. On PostgreSQL one statement counts and
        inserts up to :data:`ONE_STATEMENT_ROWS` rows (one round trip, like the insert alone);
        on SQLite and MariaDB/MySQL, and for more rows, the guard of :meth:`try_create` and
        then the insert, in the same transaction (REC-6). Either way one atomic step (a
        savepoint inside a unit of work): if the insert fails, its count is undone with it
        and the rest of the unit of work stays, on every engine. A refusal reports the total
        the step decided on."""
        kind = checked_record_call(kind, limit=limit)  # REC-1, REC-3: before any statement
        new_rows = checked_record_rows(rows)
        target = _require_table(table, new_rows)
        count = len(new_rows)
        columns = tuple(new_rows[0])
        statement = None
        if limit is None or count <= limit:
            statement = self._sql.record_create_statement(target, columns, count)
        if statement is None:
            # the guard and the insert in one savepoint: a failed insert undoes its count
            with self._translating(f"creating records in {target.name}"), self._atomic():
                if limit is not None and count > limit:
                    return RecordCount(False, self.total(tenant_id), count, limit)
                decision = self._try_create(tenant_id, kind, count, _bound(limit))
                if decision.allowed:
                    self.connection.execute(insert(target), list(new_rows))
            return _as_asked(decision, limit)
        parameters: dict[str, Any] = {
            "tenant_id": tenant_id,
            "kind": kind,
            "count": count,
            "limit": _bound(limit),
        }
        for index, row in enumerate(new_rows):
            for position, name in enumerate(columns):
                parameters[f"r{index}_{position}"] = row[name]
        with self._translating(f"creating records in {target.name}"), self._atomic(statements=1):
            seen = self.connection.execute(statement, parameters).first()
            decision = self._counted(tenant_id, seen_decision(seen), count, _bound(limit))
        return _as_asked(decision, limit)

    def delete(self, tenant_id: str, kind: str, count: int) -> None:
        kind = checked_record_call(kind, count)  # REC-1, REC-3: before any statement
        with self._translating("counting records"), self._atomic():
            self._delete(tenant_id, kind, count)

    def _delete(self, tenant_id: str, kind: str, count: int) -> None:
        """REC-6: one atomic step in the lock order of creation (the tenant's total, then the
        kind's count); deleting more than the kind holds is refused, never clamped (REC-3)."""
        current = 0
        if locked_total(self.connection, tenant_id) is not None:
            current = int(
                self.connection.execute(
                    select(record_counts.c.count)
                    .where(record_counts.c.tenant_id == tenant_id, record_counts.c.kind == kind)
                    .with_for_update()
                ).scalar()
                or 0
            )
        check_record_deletion(kind, count, current)  # REC-3: refused, never clamped
        removed = count
        if removed == 0:
            return
        self.connection.execute(
            update(record_totals)
            .where(record_totals.c.tenant_id == tenant_id)
            .values(total=record_totals.c.total - removed)
        )
        self.connection.execute(
            update(record_counts)
            .where(record_counts.c.tenant_id == tenant_id, record_counts.c.kind == kind)
            .values(count=record_counts.c.count - removed)
        )

    def total(self, tenant_id: str) -> int:
        with self._translating("counting records"):
            total = self.connection.execute(
                select(record_totals.c.total).where(record_totals.c.tenant_id == tenant_id)
            ).scalar()
        return int(total or 0)

    def by_kind(self, tenant_id: str) -> dict[str, int]:
        with self._translating("counting records"):
            rows = self.connection.execute(
                select(record_counts.c.kind, record_counts.c.count.label("n")).where(
                    record_counts.c.tenant_id == tenant_id, record_counts.c.count > 0
                )
            ).all()
        return {row.kind: int(row.n) for row in rows}


class SqlSeatRepository(_SqlRepository):
    def set_bought(self, tenant_id: str, seats: int) -> None:
        check_bought(seats)  # SEAT-1, before any statement
        with self._translating("changing seats"), self._atomic():
            self._insert_if_missing(seat_counts, {"tenant_id": tenant_id, "bought": 0, "used": 0})
            changed = self.connection.execute(
                update(seat_counts)
                .where(seat_counts.c.tenant_id == tenant_id, seat_counts.c.used <= seats)
                .values(bought=seats)
            ).rowcount
            if changed != 1:
                used = len(self.assigned(tenant_id))
                raise SeatError(  # the words of the memory adapter's, so translated (I18N-1)
                    N_("cannot keep {seats} seats: {used} are assigned"),
                    {"seats": seats, "used": used},
                    field="seats",
                    rule="SEAT-5",
                )

    def bought(self, tenant_id: str) -> int:
        with self._translating("reading seats"):
            seats = self.connection.execute(
                select(seat_counts.c.bought).where(seat_counts.c.tenant_id == tenant_id)
            ).scalar()
        return int(seats or 0)

    def assign(self, tenant_id: str, person: str) -> None:
        """SEAT-2, SEAT-5 in one step (a savepoint): the assignment row first (its unique key
        decides a race for the same person: the second writer waits for the first and is
        refused), then the counter, by a conditional UPDATE. Either refusal rolls both back.
        Lock order: ``seat_assignments``, then ``seat_counts`` (as :meth:`unassign`)."""
        with self._translating("assigning seat"), self._atomic():
            try:
                self.connection.execute(
                    insert(seat_assignments).values(tenant_id=tenant_id, person=person)
                )
            except IntegrityError as exc:
                raise SeatError(
                    N_("{person} already has an account"),
                    {"person": repr(person)},
                    field="person",
                    rule="SEAT-2",
                ) from exc
            changed = self.connection.execute(
                update(seat_counts)
                .where(
                    seat_counts.c.tenant_id == tenant_id,
                    seat_counts.c.used < seat_counts.c.bought,
                )
                .values(used=seat_counts.c.used + 1)
            ).rowcount
            if changed != 1:
                raise SeatError(
                    N_("no free account for {person}: all {seats} seats are used"),
                    {"person": repr(person), "seats": self.bought(tenant_id)},
                    field="person",
                    rule="SEAT-5",
                )

    def unassign(self, tenant_id: str, person: str) -> None:
        """SEAT-2 in one step (a savepoint), so a refusal or a lost lock leaves the unit of
        work as it was. Lock order as :meth:`assign`."""
        with self._translating("unassigning seat"), self._atomic():
            removed = self.connection.execute(
                delete(seat_assignments).where(
                    seat_assignments.c.tenant_id == tenant_id, seat_assignments.c.person == person
                )
            ).rowcount
            if removed != 1:
                raise NotFound(f"{person!r} has no account", field="person")
            self.connection.execute(
                update(seat_counts)
                .where(seat_counts.c.tenant_id == tenant_id)
                .values(used=seat_counts.c.used - 1)
            )

    def assigned(self, tenant_id: str) -> frozenset[str]:
        with self._translating("reading seats"):
            people = self.connection.execute(
                select(seat_assignments.c.person).where(seat_assignments.c.tenant_id == tenant_id)
            ).scalars()
            return frozenset(people)


class SqlUserRepository(_SqlRepository):
    """Accounts in the one ``users`` table (issue 16): ``account`` is the user id, unique per
    tenant; ``supervisor_id`` the supervisor account's row. Rows without an account (the
    visibility filters' principals only) are no accounts: never read here.

    A new account's integer ``id`` comes from ``users_counter``: its one row is locked (an
    upsert that changes nothing, held until the transaction ends; SQLite's unit of work holds
    the write lock already), then the id is one above both the last id given and every stored
    id, so two account creators never take one id (the second waits for the first's commit and
    reads it) and rows inserted with ids of their own (the visibility loaders, the benchmarks)
    are never collided with once committed. A row of that id inserted meanwhile by such a
    loader, still uncommitted, makes the insert fail once it commits: the id is taken again
    (:data:`_ID_ATTEMPTS` times). The counter is the last lock an account creation takes."""

    def add(self, user: User) -> None:
        with self._translating("adding user"), self._atomic():
            if self._row_id(user.tenant_id, user.user_id) is not None:
                raise _taken(user)
            supervisor_id = None
            if user.supervisor is not None:
                supervisor_id = self._row_id(user.tenant_id, user.supervisor)
                if supervisor_id is None:
                    raise _no_supervisor(user)
            values = {
                "tenant_id": user.tenant_id,
                "account": user.user_id,
                "role": user.role.value,
                "supervisor_id": supervisor_id,
            }
            last = self._lock_counter()
            for _ in range(_ID_ATTEMPTS):
                new_id = max(last, self._max_id()) + 1
                if new_id > _MAX_USER_ID:
                    raise StorageError(
                        f"no user id is left above {last} (the largest is {_MAX_USER_ID})",
                        field="users.id",
                    )
                try:
                    with self.connection.begin_nested():
                        self.connection.execute(insert(users).values(id=new_id, **values))
                except IntegrityError as exc:
                    if self._row_id(user.tenant_id, user.user_id) is not None:
                        raise _taken(user) from exc  # a concurrent creation of the same account
                    last = new_id  # the id was taken meanwhile by a row of its own id
                    continue
                self.connection.execute(
                    update(users_counter)
                    .where(users_counter.c.name == _USERS_COUNTER)
                    .values(last_id=new_id)
                )
                return
            raise StorageError(
                f"user {user.user_id!r}: no free id after {_ID_ATTEMPTS} attempts",
                field="users.id",
            )

    def _lock_counter(self) -> int:
        """Lock the counter row (created at 0 the first time); the last id given."""
        values = {"name": _USERS_COUNTER, "last_id": 0}
        unchanged = {"last_id": users_counter.c.last_id + 0}
        return self._sql.upsert_returning(
            self.connection, users_counter, "name", values, unchanged, "last_id", lock=True
        )

    def _max_id(self) -> int:
        largest: int | None = self.connection.execute(select(func.max(users.c.id))).scalar()
        return int(largest or 0)

    def _row_id(self, tenant_id: str, account: str) -> int | None:
        found: int | None = self.connection.execute(
            select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.account == account)
        ).scalar()
        return found

    def _accounts(self, tenant_id: str, account: str | None = None) -> list[User]:
        supervisor = users.alias("supervisor")
        statement = (
            select(
                users.c.tenant_id,
                users.c.account,
                users.c.role,
                users.c.supervisor_id,
                supervisor.c.account.label("supervisor"),
            )
            .select_from(
                users.outerjoin(
                    supervisor,
                    (supervisor.c.id == users.c.supervisor_id)
                    & (supervisor.c.tenant_id == users.c.tenant_id),  # VIS-1
                )
            )
            .where(users.c.tenant_id == tenant_id, users.c.account.is_not(None))
            .order_by(users.c.account)
        )
        if account is not None:
            statement = statement.where(users.c.account == account)
        with self._translating("reading users"):
            rows = self.connection.execute(statement).all()
        return [_account(row) for row in rows]

    def get(self, tenant_id: str, user_id: str) -> User:
        found = self._accounts(tenant_id, user_id)
        if not found:
            raise NotFound(f"no user {user_id!r}", field="user_id")
        return found[0]

    def for_tenant(self, tenant_id: str) -> list[User]:
        return self._accounts(tenant_id)


_USERS_COUNTER = "users"  # the one row of users_counter (migration 0013)
_ID_ATTEMPTS = 5
_MAX_USER_ID = 2**31 - 1  # users.id is a 32-bit INTEGER on every engine


def _taken(user: User) -> StorageError:
    return StorageError(f"user {user.user_id!r} already exists", field="user_id")


def _no_supervisor(user: User) -> ValidationError:
    return ValidationError(
        f"no user {user.supervisor!r} in tenant {user.tenant_id!r}",
        field="user.supervisor",
        rule="VIS-2",
    )


def _account(row: Any) -> User:
    """The account of a ``users`` row; a StorageError for a row written outside crmcore (a
    role no :class:`~crmcore.roles.Role` spells, a supervisor that is no account of the
    tenant)."""
    if row.supervisor_id is not None and row.supervisor is None:
        raise StorageError(
            f"the supervisor (id {row.supervisor_id}) of {row.account!r} is no account of"
            f" tenant {row.tenant_id!r}",
            field="users.supervisor_id",
        )
    try:
        return User(row.tenant_id, row.account, row.role, row.supervisor)
    except ValidationError:
        raise StorageError(
            f"stored value {row.role!r} of {row.account!r} is no role", field="users.role"
        ) from None


class SqlApiCallCounterRepository(_SqlRepository):
    def try_count(self, tenant_id: str, day: date, limit: int | None) -> ApiCallCount:
        require_day(day, "day")  # API-1: one counter per vendor day
        """API-1 in one step (a savepoint): the day's row is created at 0 unless it exists,
        then a conditional UPDATE counts the call only while ``calls < limit``; the database
        decides a race (the second writer waits for the row and sees the first one's count).
        The count reported is read with the row locked, so it is the one decided on."""
        limit = checked_limit(limit, "API-1", MAX_API_LIMIT)  # before any statement
        key = (api_call_counts.c.tenant_id == tenant_id, api_call_counts.c.day == day)
        condition = key if limit is None else (*key, api_call_counts.c.calls < limit)
        with self._translating("counting API calls"), self._atomic():
            self._insert_if_missing(
                api_call_counts, {"tenant_id": tenant_id, "day": day, "calls": 0}
            )
            changed = self.connection.execute(
                update(api_call_counts).where(*condition).values(calls=api_call_counts.c.calls + 1)
            ).rowcount
            calls = int(
                self.connection.execute(
                    select(api_call_counts.c.calls).where(*key).with_for_update()
                ).scalar_one()
            )
        if changed == 1:
            return ApiCallCount(allowed=True, used=calls - 1, limit=limit)
        return ApiCallCount(allowed=False, used=calls, limit=limit)

    def calls(self, tenant_id: str, day: date) -> int:
        require_day(day, "day")
        with self._translating("reading API calls"):
            calls = self.connection.execute(
                select(api_call_counts.c.calls).where(
                    api_call_counts.c.tenant_id == tenant_id, api_call_counts.c.day == day
                )
            ).scalar()
        return int(calls or 0)


class SqlFileRepository(_SqlRepository):
    def try_store(self, tenant_id: str, name: str, size: int, limit: int | None) -> StorageCount:
        """STOR-1 in one step (a savepoint): the tenant's usage row grows by a conditional
        UPDATE (``used + size <= limit``), then the file's row is inserted; a name already
        stored fails the insert and the savepoint undoes the usage with it."""
        name, size = checked_file(name, size)  # before any statement
        limit = checked_limit(limit, "STOR-1", MAX_STORAGE_LIMIT)
        key = file_usage.c.tenant_id == tenant_id
        within = file_usage.c.used + size <= limit if limit is not None else None
        with self._translating("storing a file"), self._atomic():
            self._insert_if_missing(file_usage, {"tenant_id": tenant_id, "used": 0})
            changed = self.connection.execute(
                update(file_usage)
                .where(key if within is None else key & within)
                .values(used=file_usage.c.used + size)
            ).rowcount
            used = int(
                self.connection.execute(
                    select(file_usage.c.used).where(key).with_for_update()
                ).scalar_one()
            )
            if changed != 1:
                return StorageCount(allowed=False, used=used, requested=size, limit=limit)
            try:
                self.connection.execute(
                    insert(stored_files).values(tenant_id=tenant_id, name=name, size=size)
                )
            except IntegrityError as exc:
                raise StorageError(f"file {name!r} is already stored", field="name") from exc
        return StorageCount(allowed=True, used=used - size, requested=size, limit=limit)

    def remove(self, tenant_id: str, name: str) -> int:
        """In the lock order of :meth:`try_store`: the usage row, then the file's row."""
        with self._translating("removing a file"), self._atomic():
            self.connection.execute(
                select(file_usage.c.used)
                .where(file_usage.c.tenant_id == tenant_id)
                .with_for_update()
            ).first()
            size = self.connection.execute(
                select(stored_files.c.size)
                .where(stored_files.c.tenant_id == tenant_id, stored_files.c.name == name)
                .with_for_update()
            ).scalar()
            if size is None:
                raise NotFound(f"no file {name!r}", field="name")
            self.connection.execute(
                delete(stored_files).where(
                    stored_files.c.tenant_id == tenant_id, stored_files.c.name == name
                )
            )
            self.connection.execute(
                update(file_usage)
                .where(file_usage.c.tenant_id == tenant_id)
                .values(used=file_usage.c.used - size)
            )
        return int(size)

    def used(self, tenant_id: str) -> int:
        with self._translating("reading storage"):
            used = self.connection.execute(
                select(file_usage.c.used).where(file_usage.c.tenant_id == tenant_id)
            ).scalar()
        return int(used or 0)

    def sizes(self, tenant_id: str) -> dict[str, int]:
        with self._translating("reading files"):
            rows = self.connection.execute(
                select(stored_files.c.name, stored_files.c.size).where(
                    stored_files.c.tenant_id == tenant_id
                )
            ).all()
        return {row.name: int(row.size) for row in rows}
