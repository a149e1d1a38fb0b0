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
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Integer,
    NestedTransaction,
    Table,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from crmcore.catalog import Catalog
from crmcore.errors import (
    ConcurrencyError,
    DuplicateInvoice,
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
    checked_file,
    checked_history,
    checked_limit,
    checked_record_rows,
)
from crmcore.trials import normalise_identity
from crmcore.vendors import is_vendor_name
from crmcore_sql import convert
from crmcore_sql.engine import translate_errors
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
    tenant_users,
    tenants,
    trial_identities,
)
from crmcore_sql.tables_vendors import vendors
from crmcore_sql.transactions import TransactionState, server_ended_transaction

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
    "creates_in_one_statement",
]


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

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

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
        if autocommit == "AUTOCOMMIT" or (statements == 1 and self.dialect != "postgresql"):
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
        if self.dialect == "postgresql":
            self.connection.execute(
                postgresql.insert(table).values(values).on_conflict_do_nothing()
            )
        elif self.dialect == "sqlite":
            self.connection.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
        else:
            first = next(iter(values))
            statement = mysql.insert(table).values(values)
            self.connection.execute(
                statement.on_duplicate_key_update({first: statement.inserted[first]})
            )


class SqlTenantRepository(_SqlRepository):
    def add(self, tenant_id: str, vendor: str, events: Sequence[Event]) -> None:
        stored = isinstance(vendor, str) and is_vendor_name(vendor) and self._vendor_stored(vendor)
        events = checked_history(tenant_id, events, vendor=vendor, vendor_stored=stored)
        created = events[0]  # a TenantCreated: checked_history
        identity = getattr(created, "identity", None)
        with self._translating("adding tenant"), self._atomic():
            try:
                self.connection.execute(
                    insert(tenants).values(tenant_id=tenant_id, vendor=vendor, version=len(events))
                )
            except IntegrityError as exc:
                raise StorageError(
                    f"tenant {tenant_id!r} already exists", field="tenant_id"
                ) from exc
            if identity is not None:
                self._count_trial(vendor, normalise_identity(identity))
            self._insert_events(tenant_id, 0, events)

    def _count_trial(self, vendor: str, identity: str) -> None:
        """TRIAL-6: one more tenant of ``vendor`` created with ``identity``; the upsert locks
        the identity's row until the transaction ends."""
        values = {"vendor": vendor, "identity": identity, "trials": 1}
        increment = {"trials": trial_identities.c.trials + 1}
        if self.dialect in ("postgresql", "sqlite"):
            module: Any = postgresql if self.dialect == "postgresql" else sqlite
            statement = module.insert(trial_identities).values(values)
            self.connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["vendor", "identity"], set_=increment
                )
            )
        else:
            self.connection.execute(
                mysql.insert(trial_identities).values(values).on_duplicate_key_update(increment)
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
        new_version = expected_version + len(events)
        with self._translating("appending events"), self._atomic():
            # Checked before any write, after the event it follows (a refused append leaves
            # the transaction as it was: the unit of work stays usable). That event is
            # committed and never changes; a writer appending in between fails the update.
            current = self.version(tenant_id)
            if current != expected_version:
                raise self._stale(tenant_id, current, expected_version)
            checked = checked_history(
                tenant_id, events, after=self._event(tenant_id, expected_version)
            )
            result = self.connection.execute(
                update(tenants)
                .where(tenants.c.tenant_id == tenant_id, tenants.c.version == expected_version)
                .values(version=new_version)
            )
            if result.rowcount != 1:
                raise self._stale(tenant_id, self.version(tenant_id), expected_version)
            self._insert_events(tenant_id, expected_version, checked)
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
        self.version(tenant_id)
        with self._translating("reading history"):
            rows = self.connection.execute(
                select(tenant_events)
                .where(tenant_events.c.tenant_id == tenant_id)
                .order_by(tenant_events.c.version)
            ).all()
        return tuple(convert.event_from_row(row) for row in rows)

    def _row(self, tenant_id: str) -> Any:
        with self._translating("reading tenant"):
            row = self.connection.execute(
                select(tenants).where(tenants.c.tenant_id == tenant_id)
            ).first()
        if row is None:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id")
        return row

    def version(self, tenant_id: str) -> int:
        version: int = self._row(tenant_id).version
        return version

    def vendor(self, tenant_id: str) -> str:
        vendor: str = self._row(tenant_id).vendor
        return vendor

    def ids(self, after: str = "", limit: int | None = None) -> list[str]:
        statement = (
            select(tenants.c.tenant_id)
            .where(tenants.c.tenant_id > after)
            .order_by(tenants.c.tenant_id)
        )
        if limit is not None:
            statement = statement.limit(limit)
        with self._translating("listing tenants"):
            return list(self.connection.execute(statement).scalars())

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


class SqlInvoiceRepository(_SqlRepository):
    def add(self, invoice: Invoice) -> None:
        head, lines = convert.invoice_to_rows(invoice)
        with self._translating("adding invoice"), self._atomic():
            try:
                result = self.connection.execute(insert(invoices).values(head))
            except IntegrityError as exc:
                text = str(exc.orig)
                if "tenant_key" in text or "invoices.tenant_id, invoices.key" in text:
                    raise DuplicateInvoice(
                        f"tenant {invoice.tenant_id!r} already has invoice {invoice.key!r}",
                        field="key",
                        rule="BILL-6",
                    ) from exc
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
                .order_by(invoices.c.issued, invoices.c.series, invoices.c.id)
            ).all()
            return self._load(heads)

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
        if self.dialect not in ("postgresql", "sqlite"):
            return None
        if self.dialect == "postgresql":
            return list(self.connection.execute(_POSTGRESQL_INVOICE_IDS, {"n": count}).scalars())
        # SQLite: the unit of work began with BEGIN IMMEDIATE, so no one else writes now.
        last = self.connection.execute(select(func.max(invoices.c.id))).scalar()
        first = (last or 0) + 1
        return list(range(first, first + count))

    def reserve_numbers(self, series: str, count: int) -> int:
        """Reserve ``count`` consecutive numbers of ``series``; the first. Locked like
        :meth:`next_number` until the transaction ends (BILL-6). One change (a savepoint on
        PostgreSQL, where a failed statement would abort the whole transaction)."""
        values = {"series": series, "last_number": count}
        increment = {"last_number": invoice_series.c.last_number + count}
        with self._translating("numbering"), self._atomic(statements=1):
            if self.dialect in ("postgresql", "sqlite"):
                module: Any = postgresql if self.dialect == "postgresql" else sqlite
                statement = (
                    module.insert(invoice_series)
                    .values(values)
                    .on_conflict_do_update(index_elements=["series"], set_=increment)
                    .returning(invoice_series.c.last_number)
                )
                last: int = self.connection.execute(statement).scalar_one()
            else:
                self.connection.execute(
                    mysql.insert(invoice_series).values(values).on_duplicate_key_update(increment)
                )
                last = self.connection.execute(
                    select(invoice_series.c.last_number).where(invoice_series.c.series == series)
                ).scalar_one()
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


# BILL-6 ids for add_many on PostgreSQL: n values of the invoices' id sequence at once.
_POSTGRESQL_INVOICE_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('invoices', 'id')) FROM generate_series(1, :n)"
)

# REC-6 on PostgreSQL in one round trip: the conditional upsert of the tenant's counter row and,
# only when it changed a row, the per-kind breakdown. Refused, the upsert still locks the row;
# ``seen`` then reads it with FOR UPDATE, which in READ COMMITTED returns the row's latest
# version (the one the upsert's WHERE saw, not the statement's older snapshot), so a refusal
# reports the total it was decided on. Lock order: record_totals, then record_counts.
_POSTGRESQL_TRY_CREATE = text(
    """
    WITH total AS (
        INSERT INTO record_totals (tenant_id, total) VALUES (:tenant_id, :count)
        ON CONFLICT (tenant_id) DO UPDATE SET total = record_totals.total + :count
        WHERE record_totals.total + :count <= CAST(:limit AS INTEGER)
        RETURNING total
    ), kind AS (
        INSERT INTO record_counts (tenant_id, kind, count)
        SELECT :tenant_id, :kind, :count FROM total
        ON CONFLICT (tenant_id, kind) DO UPDATE SET count = record_counts.count + :count
    ), seen AS (
        SELECT total FROM record_totals
        WHERE tenant_id = :tenant_id AND NOT EXISTS (SELECT FROM total)
        FOR UPDATE
    )
    SELECT total, TRUE AS allowed FROM total
    UNION ALL
    SELECT total, FALSE FROM seen
    """
)


# Above this many rows, ``create`` on PostgreSQL is the guard then the insert (two statements):
# the round trip saved no longer matters, and the statement (one SELECT per row) and its
# parameters (rows x columns) would grow without bound.
ONE_STATEMENT_ROWS = 100


def creates_in_one_statement(dialect: str, count: int) -> bool:
    """Whether ``records.create`` of ``count`` rows is a single statement, atomic by itself
    (on PostgreSQL, up to :data:`ONE_STATEMENT_ROWS` rows)."""
    return dialect == "postgresql" and count <= ONE_STATEMENT_ROWS


@functools.lru_cache(maxsize=256)
def _postgresql_create(table: Table, columns: tuple[str, ...], count: int) -> CompoundSelect[Any]:
    """REC-6 and the application's insert in one statement: ``_POSTGRESQL_TRY_CREATE`` plus a
    third data-modifying CTE that inserts the rows only when the counter row was changed.
    Built once per table, column set and row count; the limit (:func:`_bound`, never null) and
    the row values are binds, ``r<row>_<column>`` typed by the table's columns."""
    tenant_id = bindparam("tenant_id", type_=record_totals.c.tenant_id.type)
    added = bindparam("count", type_=Integer())
    within = record_totals.c.total + added <= bindparam("limit", type_=Integer())
    total = (
        postgresql.insert(record_totals)
        .values(tenant_id=tenant_id, total=added)
        .on_conflict_do_update(
            index_elements=[record_totals.c.tenant_id],
            set_={"total": record_totals.c.total + added},
            where=within,
        )
        .returning(record_totals.c.total)
        .cte("total")
    )
    by_kind = (
        postgresql.insert(record_counts)
        .from_select(
            ["tenant_id", "kind", "count"],
            select(
                tenant_id, bindparam("kind", type_=record_counts.c.kind.type), added
            ).select_from(total),
        )
        .on_conflict_do_update(
            index_elements=[record_counts.c.tenant_id, record_counts.c.kind],
            set_={"count": record_counts.c.count + added},
        )
        .cte("by_kind")
    )
    new_rows = [
        select(
            *(
                bindparam(f"r{row}_{position}", type_=table.c[name].type)
                for position, name in enumerate(columns)
            )
        ).select_from(total)
        for row in range(count)
    ]
    created = (
        insert(table)
        .from_select(list(columns), new_rows[0] if count == 1 else union_all(*new_rows))
        .cte("created")
    )
    seen = (
        select(record_totals.c.total)
        .where(record_totals.c.tenant_id == tenant_id, ~exists().select_from(total))
        .with_for_update()
        .cte("seen")
    )
    return union_all(
        select(total.c.total, true().label("allowed")),
        select(seen.c.total, false()),
    ).add_cte(by_kind, created)


def _require_table(table: RecordTable, rows: Sequence[Mapping[str, Any]]) -> Table:
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
        if self.dialect == "postgresql":
            seen = self.connection.execute(
                _POSTGRESQL_TRY_CREATE,
                {"tenant_id": tenant_id, "kind": kind, "count": count, "limit": limit},
            ).first()
            return self._decision(tenant_id, seen, count, limit)
        if self.dialect == "sqlite":
            total = self._add_if_within(tenant_id, count, limit)
            if total is None:  # BEGIN IMMEDIATE: no other writer since
                return RecordCount(False, self.total(tenant_id), count, limit)
        else:
            allowed, total = self._add_if_within_mysql(tenant_id, count, limit)
            if not allowed:
                return RecordCount(False, total, count, limit)
        self._add_to_kind(tenant_id, kind, count)
        return RecordCount(True, total, count, limit)

    def _decision(self, tenant_id: str, seen: Any, count: int, limit: int | None) -> RecordCount:
        """The decision of a PostgreSQL statement answering ``(total, allowed)``; no row only
        when a concurrent first creation of the tenant's counter row is newer than the
        statement's snapshot (then the row, locked by the statement, is read again)."""
        if seen is None:
            return RecordCount(False, self.total(tenant_id), count, limit)
        return RecordCount(bool(seen.allowed), int(seen.total), count, limit)

    def create(
        self,
        tenant_id: str,
        kind: str,
        limit: int | None,
        table: RecordTable,
        rows: Sequence[Mapping[str, Any]],
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
        if not creates_in_one_statement(self.dialect, count) or (
            limit is not None and count > limit
        ):
            # the guard and the insert in one savepoint: a failed insert undoes its count
            with self._translating(f"creating records in {target.name}"), self._atomic():
                if limit is not None and count > limit:
                    return RecordCount(False, self.total(tenant_id), count, limit)
                decision = self._try_create(tenant_id, kind, count, _bound(limit))
                if decision.allowed:
                    self.connection.execute(insert(target), list(new_rows))
            return _as_asked(decision, limit)
        columns = tuple(new_rows[0])
        parameters: dict[str, Any] = {
            "tenant_id": tenant_id,
            "kind": kind,
            "count": count,
            "limit": _bound(limit),
        }
        for index, row in enumerate(new_rows):
            for position, name in enumerate(columns):
                parameters[f"r{index}_{position}"] = row[name]
        statement = _postgresql_create(target, columns, count)
        with self._translating(f"creating records in {target.name}"), self._atomic(statements=1):
            seen = self.connection.execute(statement, parameters).first()
            decision = self._decision(tenant_id, seen, count, _bound(limit))
        return _as_asked(decision, limit)

    def _add_if_within(self, tenant_id: str, count: int, limit: int) -> int | None:
        """One statement on SQLite: create the counter row or add to it if the limit allows;
        the new total, or None when refused (REC-6). ``limit`` is a number (:func:`_bound`)."""
        statement = (
            (sqlite.insert(record_totals).values(tenant_id=tenant_id, total=count))
            .on_conflict_do_update(
                index_elements=["tenant_id"],
                set_={"total": record_totals.c.total + count},
                where=record_totals.c.total + count <= limit,
            )
            .returning(record_totals.c.total)
        )
        total: int | None = self.connection.execute(statement).scalar()
        return total

    def _add_if_within_mysql(self, tenant_id: str, count: int, limit: int) -> tuple[bool, int]:
        """Lock the tenant's counter row (creating it at 0), read it, and add ``count`` if the
        limit allows: whether it did, and the total it decided on (the new total if so)."""
        self._insert_if_missing(record_totals, {"tenant_id": tenant_id, "total": 0})
        total = int(self._locked_total(tenant_id) or 0)
        if total + count > limit:
            return False, total
        self.connection.execute(
            update(record_totals)
            .where(record_totals.c.tenant_id == tenant_id)
            .values(total=record_totals.c.total + count)
        )
        return True, total + count

    def _locked_total(self, tenant_id: str) -> int | None:
        """The tenant's total, its row locked until the transaction ends (FOR UPDATE on the
        servers; SQLite's BEGIN IMMEDIATE already excludes other writers)."""
        total: int | None = self.connection.execute(
            select(record_totals.c.total)
            .where(record_totals.c.tenant_id == tenant_id)
            .with_for_update()
        ).scalar()
        return total

    def _add_to_kind(self, tenant_id: str, kind: str, delta: int) -> None:
        values = {"tenant_id": tenant_id, "kind": kind, "count": delta}
        increment = {"count": record_counts.c.count + delta}
        if self.dialect in ("postgresql", "sqlite"):
            module: Any = postgresql if self.dialect == "postgresql" else sqlite
            statement = module.insert(record_counts).values(values)
            self.connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["tenant_id", "kind"], set_=increment
                )
            )
        else:
            self.connection.execute(
                mysql.insert(record_counts).values(values).on_duplicate_key_update(increment)
            )

    def delete(self, tenant_id: str, kind: str, count: int) -> None:
        kind = checked_record_call(kind, count)  # REC-1, REC-3: before any statement
        with self._translating("counting records"), self._atomic():
            self._delete(tenant_id, kind, count)

    def _delete(self, tenant_id: str, kind: str, count: int) -> None:
        """REC-6: one atomic step in the lock order of creation (the tenant's total, then the
        kind's count); deleting more than the kind holds is refused, never clamped (REC-3)."""
        current = 0
        if self._locked_total(tenant_id) is not None:
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
                raise SeatError(
                    f"cannot keep {seats} seats: {used} are assigned", field="seats", rule="SEAT-5"
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
                    f"{person!r} already has an account", field="person", rule="SEAT-2"
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
                    f"no free account for {person!r}: all {self.bought(tenant_id)} seats are used",
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
    def add(self, user: User) -> None:
        with self._translating("adding user"), self._atomic(statements=1):
            try:
                self.connection.execute(
                    insert(tenant_users).values(
                        tenant_id=user.tenant_id,
                        user_id=user.user_id,
                        role=user.role,
                        supervisor=user.supervisor,
                    )
                )
            except IntegrityError as exc:
                raise StorageError(
                    f"user {user.user_id!r} already exists", field="user_id"
                ) from exc

    def get(self, tenant_id: str, user_id: str) -> User:
        with self._translating("reading user"):
            row = self.connection.execute(
                select(tenant_users).where(
                    tenant_users.c.tenant_id == tenant_id, tenant_users.c.user_id == user_id
                )
            ).first()
        if row is None:
            raise NotFound(f"no user {user_id!r}", field="user_id")
        return User(row.tenant_id, row.user_id, row.role, row.supervisor)

    def for_tenant(self, tenant_id: str) -> list[User]:
        with self._translating("reading users"):
            rows = self.connection.execute(
                select(tenant_users)
                .where(tenant_users.c.tenant_id == tenant_id)
                .order_by(tenant_users.c.user_id)
            ).all()
        return [User(row.tenant_id, row.user_id, row.role, row.supervisor) for row in rows]


class SqlApiCallCounterRepository(_SqlRepository):
    def try_count(self, tenant_id: str, day: date, limit: int | None) -> ApiCallCount:
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
