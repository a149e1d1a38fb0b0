"""Engine differences, in one object per engine: :class:`PostgreSQL`, :class:`SQLite` and
:class:`MariaDB` (MariaDB and MySQL), each a :class:`SqlDialect`.

Everything crmcore_sql does differently on one engine is a method or attribute here, and
nowhere else branches on the engine's name: :func:`dialect_for` chooses the object once per
SQLAlchemy dialect (one per engine) and the repositories, the unit of work, the billing job
and the transaction checks call it. The statements are the ones each engine runs fastest or
at all (arrays on PostgreSQL, one JSON parameter on SQLite, one parameter set per row on
MariaDB; ``ON CONFLICT`` upserts with ``RETURNING`` on PostgreSQL and SQLite, ``ON DUPLICATE
KEY UPDATE`` then a read on MariaDB); callers translate errors (:func:`translate_errors`).

A new engine is one more class implementing :class:`SqlDialect` (mixing in
:class:`_OnConflict` and/or :class:`_Server` where it shares their statements) and one more
entry in :data:`_BY_NAME`.

Long because every statement that differs by engine lives here, in one object per engine, by
design.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar, Protocol

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Engine,
    Integer,
    Row,
    Select,
    Table,
    bindparam,
    case,
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
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from crmcore.errors import ConfigurationError
from crmcore_sql.tables import (
    billing_checkpoints,
    billing_failures,
    billing_marks,
    invoices,
    record_counts,
    record_totals,
    tenant_events,
    tenants,
)

__all__ = [
    "MYSQL_DEADLOCK",
    "MYSQL_LOCK_WAIT_TIMEOUT",
    "ONE_STATEMENT_ROWS",
    "CheckpointRow",
    "CounterOutcome",
    "FailureRow",
    "MariaDB",
    "PostgreSQL",
    "SQLite",
    "SqlDialect",
    "dialect_for",
    "first_line",
    "locked_total",
    "seen_decision",
]

#: A ``billing_checkpoints`` row: (tenant_id, basis, events, day, payload).
CheckpointRow = tuple[str, str, int, date, str]
#: A ``billing_failures`` row: (tenant_id, period, error, rule).
FailureRow = tuple[str, str, str, str | None]
#: A REC-6 counter step's outcome: (allowed, the total decided on), the total ``None`` when
#: the caller must read it (the statement saw no row it could report).
CounterOutcome = tuple[bool, int | None]

MYSQL_DEADLOCK = 1213  # InnoDB rolls back the whole transaction
MYSQL_LOCK_WAIT_TIMEOUT = 1205  # only the statement, unless innodb_rollback_on_timeout
_POSTGRESQL_IN_ERROR = (
    3  # psycopg's TransactionStatus.INERROR (psycopg2: TRANSACTION_STATUS_INERROR)
)
_POSTGRESQL_UNKNOWN = 4  # the connection is bad

# Above this many rows, ``create`` on PostgreSQL is the guard then the insert (two statements):
# the round trip saved no longer matters, and the statement (one SELECT per row) and its
# parameters (rows x columns) would grow without bound.
ONE_STATEMENT_ROWS = 100


def first_line(error: BaseException) -> str:
    """The first line of a driver error's message (of the error itself otherwise)."""
    original = error.orig if isinstance(error, DBAPIError) else error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


class SqlDialect(Protocol):
    """What crmcore_sql does differently per engine."""

    #: The engine's name, as in a URL (``postgresql``, ``sqlite``, ``mysql``).
    name: ClassVar[str]
    #: One writer at a time (SQLite): the billing job runs one worker.
    one_writer: ClassVar[bool]
    #: A failed statement aborts the whole transaction (PostgreSQL), so even an operation of
    #: one statement needs a savepoint to leave the unit of work usable.
    failed_statement_aborts: ClassVar[bool]

    # --- upserts (counters, numbering, the outbox) ---------------------------------------

    def insert_if_missing(
        self, connection: Connection, table: Table, values: Mapping[str, object]
    ) -> None:
        """Create a counter row unless it exists, without failing the transaction."""

    def upsert(
        self,
        connection: Connection,
        table: Table,
        key: Sequence[str],
        values: Mapping[str, object],
        changes: Mapping[str, ColumnElement[Any]],
    ) -> None:
        """Insert ``values``, or apply ``changes`` to the row of the same ``key``."""

    def upsert_returning(
        self,
        connection: Connection,
        table: Table,
        key: str,
        values: Mapping[str, object],
        changes: Mapping[str, ColumnElement[Any]],
        column: str,
        lock: bool = False,
    ) -> int:
        """:meth:`upsert` on a one-column ``key``, then ``column`` of the row (its new value),
        the row locked until the transaction ends (``lock``: read with FOR UPDATE where the
        upsert does not answer it)."""

    def upsert_greater(
        self,
        connection: Connection,
        table: Table,
        key: str,
        values: Mapping[str, object],
        column: str,
    ) -> None:
        """Insert ``values``, or raise the row's ``column`` to the new value if it is greater."""

    # --- invoices (BILL-6) and records (REC-6) --------------------------------------------

    def new_invoice_ids(self, connection: Connection, count: int) -> list[int] | None:
        """``count`` new invoice ids in this transaction; ``None`` when inserts take ids."""

    def creates_in_one_statement(self, count: int) -> bool:
        """Whether ``records.create`` of ``count`` rows is a single statement."""

    def record_create_statement(
        self, table: Table, columns: tuple[str, ...], count: int
    ) -> CompoundSelect[Any] | None:
        """The one statement that counts and inserts ``count`` rows of ``columns``
        (:meth:`creates_in_one_statement`), else ``None``."""

    def add_records(
        self, connection: Connection, tenant_id: str, kind: str, count: int, limit: int
    ) -> CounterOutcome:
        """REC-6 as one atomic step: add ``count`` to the tenant's total if ``limit`` allows,
        then to the kind's count (the tenant's row locked first)."""

    # --- the billing job ---------------------------------------------------------------

    def claim(
        self, connection: Connection, statement: Select[Any], mark: str
    ) -> tuple[str | None, dict[str, str]]:
        """Run the claim ``statement`` (tenant ids and vendors, in id order): the last id
        looked at and the tenants not yet marked for ``mark``, locked."""

    def read_events(
        self, connection: Connection, after: Mapping[str, int]
    ) -> Iterable[Sequence[Any]]:
        """``(tenant_id, payload, at_zone)`` of the events after each tenant's version."""

    def save_checkpoints(self, connection: Connection, rows: Sequence[CheckpointRow]) -> None:
        """Insert or replace checkpoint rows in one statement (``rows`` not empty)."""

    def save_failures(self, connection: Connection, rows: Sequence[FailureRow]) -> None:
        """Insert or replace failure rows in one statement (``rows`` not empty)."""

    def mark(self, connection: Connection, period: str, ids: Sequence[str]) -> None:
        """Mark ``ids`` billed for ``period`` in one statement (``ids`` not empty)."""

    # --- transactions (issue 13) --------------------------------------------------------

    def aborted(self, connection: Connection) -> bool:
        """Whether a failed statement left the transaction aborted (no round trip)."""

    def ended_transaction(self, connection: Connection, cause: DBAPIError) -> str | None:
        """Why the server ended the transaction after ``cause``, if it did."""


def _greater(table: Table, column: str, new: ColumnElement[Any]) -> ColumnElement[Any]:
    """``new`` where it is greater than ``column`` of the row, else the row's value."""
    return case((new > table.c[column], new), else_=table.c[column])


# --- the shared statements --------------------------------------------------------------


class _OnConflict:
    """Upserts with ``INSERT ... ON CONFLICT`` and ``RETURNING`` (PostgreSQL, SQLite)."""

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        raise NotImplementedError  # pragma: no cover - each engine's own

    def insert_if_missing(
        self, connection: Connection, table: Table, values: Mapping[str, object]
    ) -> None:
        connection.execute(self._insert(table).values(values).on_conflict_do_nothing())

    def upsert(
        self,
        connection: Connection,
        table: Table,
        key: Sequence[str],
        values: Mapping[str, object],
        changes: Mapping[str, ColumnElement[Any]],
    ) -> None:
        statement = self._insert(table).values(values)
        connection.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes))

    def upsert_returning(
        self,
        connection: Connection,
        table: Table,
        key: str,
        values: Mapping[str, object],
        changes: Mapping[str, ColumnElement[Any]],
        column: str,
        lock: bool = False,
    ) -> int:
        statement = (
            self._insert(table)
            .values(values)
            .on_conflict_do_update(index_elements=[key], set_=changes)
            .returning(table.c[column])
        )
        value: int = connection.execute(statement).scalar_one()
        return value

    def upsert_greater(
        self,
        connection: Connection,
        table: Table,
        key: str,
        values: Mapping[str, object],
        column: str,
    ) -> None:
        statement = self._insert(table).values(values)
        greater = _greater(table, column, statement.excluded[column])
        connection.execute(
            statement.on_conflict_do_update(index_elements=[key], set_={column: greater})
        )


class _Server:
    """A server with row locks: claims ``FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB)."""

    one_writer: ClassVar[bool] = False

    def _marked(self, connection: Connection, mark: str, ids: list[str]) -> set[str]:
        """Which of ``ids`` have a committed mark for ``mark`` (a fresh statement: READ
        COMMITTED shows the marks other workers committed up to now)."""
        rows = connection.execute(
            select(billing_marks.c.tenant_id).where(
                billing_marks.c.period == mark, billing_marks.c.tenant_id.in_(ids)
            )
        )
        return set(rows.scalars())

    def claim(
        self, connection: Connection, statement: Select[Any], mark: str
    ) -> tuple[str | None, dict[str, str]]:
        """Rows another worker holds are skipped (SKIP LOCKED); rows it has committed are
        marked and left out by the second, per-batch query."""
        claimed = {
            row[0]: row[1]
            for row in connection.execute(statement.with_for_update(skip_locked=True))
        }
        if not claimed:
            return None, {}
        done = self._marked(connection, mark, list(claimed))
        last = next(reversed(claimed))
        return last, {tenant: vendor for tenant, vendor in claimed.items() if tenant not in done}


# --- PostgreSQL -------------------------------------------------------------------------

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


@functools.lru_cache(maxsize=256)
def _postgresql_create(table: Table, columns: tuple[str, ...], count: int) -> CompoundSelect[Any]:
    """REC-6 and the application's insert in one statement: ``_POSTGRESQL_TRY_CREATE`` plus a
    third data-modifying CTE that inserts the rows only when the counter row was changed.
    Built once per table, column set and row count; the limit (never null) and the row values
    are binds, ``r<row>_<column>`` typed by the table's columns."""
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


def seen_decision(seen: Row[Any] | None) -> CounterOutcome:
    """The decision of a PostgreSQL statement answering ``(total, allowed)``; no row only
    when a concurrent first creation of the tenant's counter row is newer than the
    statement's snapshot (then the caller reads the row, locked by the statement, again)."""
    if seen is None:
        return False, None
    return bool(seen.allowed), int(seen.total)


# One primary-key probe per claimed tenant, whatever the statistics say: as a filter
# (``period = ? AND tenant_id = ANY(?)``) PostgreSQL chose a sequential scan of every mark once
# a period's marks were a large share of the table, so each batch read them all (quadratic).
# A scalar subquery around the correlated EXISTS is never turned into a join: it stays a
# probe per id, on both columns of the primary key.
_POSTGRESQL_MARKED = text(
    "SELECT t.id FROM unnest(CAST(:ids AS VARCHAR[])) AS t(id) WHERE (SELECT EXISTS ("
    "SELECT 1 FROM billing_marks m WHERE m.period = :period AND m.tenant_id = t.id))"
)

# The events after each tenant's checkpoint: one index probe per tenant (PostgreSQL plans a
# plain join of the events with the checkpoints as sequential scans of both; a LATERAL
# subquery stays a probe per tenant).
_POSTGRESQL_EVENTS_AFTER = text(
    "SELECT e.tenant_id, e.payload, e.at_zone FROM unnest(CAST(:ids AS VARCHAR[]),"
    " CAST(:after AS INTEGER[])) WITH ORDINALITY AS t(id, after, n) CROSS JOIN LATERAL"
    " (SELECT tenant_id, payload, at_zone, version FROM tenant_events"
    " WHERE tenant_id = t.id AND version > t.after ORDER BY version) AS e"
    " ORDER BY t.n, e.version"
)

_POSTGRESQL_SAVE_CHECKPOINTS = text(
    "INSERT INTO billing_checkpoints (tenant_id, basis, events, day, payload)"
    " SELECT * FROM unnest(CAST(:tenant_ids AS VARCHAR[]), CAST(:bases AS VARCHAR[]),"
    " CAST(:events AS INTEGER[]), CAST(:days AS DATE[]), CAST(:payloads AS TEXT[]))"
    " ON CONFLICT (tenant_id) DO UPDATE SET basis = excluded.basis,"
    " events = excluded.events, day = excluded.day, payload = excluded.payload"
)

_POSTGRESQL_SAVE_FAILURES = text(
    "INSERT INTO billing_failures (tenant_id, period, error, rule)"
    " SELECT * FROM unnest(CAST(:tenant_ids AS VARCHAR[]), CAST(:periods AS VARCHAR[]),"
    " CAST(:errors AS TEXT[]), CAST(:rules AS VARCHAR[]))"
    " ON CONFLICT (tenant_id) DO UPDATE SET period = excluded.period,"
    " error = excluded.error, rule = excluded.rule"
)

_POSTGRESQL_MARK = text(
    "INSERT INTO billing_marks (period, tenant_id) SELECT :period, unnest(CAST(:ids AS VARCHAR[]))"
)


class PostgreSQL(_OnConflict, _Server):
    """PostgreSQL: arrays as parameters, one statement per REC-6 step, SKIP LOCKED claims."""

    name: ClassVar[str] = "postgresql"
    failed_statement_aborts: ClassVar[bool] = True

    def _insert(self, table: Table) -> postgresql.Insert:
        return postgresql.insert(table)

    def new_invoice_ids(self, connection: Connection, count: int) -> list[int] | None:
        """The invoices' sequence (``nextval`` over ``generate_series``)."""
        return list(connection.execute(_POSTGRESQL_INVOICE_IDS, {"n": count}).scalars())

    def creates_in_one_statement(self, count: int) -> bool:
        """Up to :data:`ONE_STATEMENT_ROWS` rows."""
        return count <= ONE_STATEMENT_ROWS

    def record_create_statement(
        self, table: Table, columns: tuple[str, ...], count: int
    ) -> CompoundSelect[Any] | None:
        return (
            _postgresql_create(table, columns, count)
            if self.creates_in_one_statement(count)
            else None
        )

    def add_records(
        self, connection: Connection, tenant_id: str, kind: str, count: int, limit: int
    ) -> CounterOutcome:
        seen = connection.execute(
            _POSTGRESQL_TRY_CREATE,
            {"tenant_id": tenant_id, "kind": kind, "count": count, "limit": limit},
        ).first()
        return seen_decision(seen)

    def _marked(self, connection: Connection, mark: str, ids: list[str]) -> set[str]:
        rows = connection.execute(_POSTGRESQL_MARKED, {"ids": ids, "period": mark})
        return set(rows.scalars())

    def read_events(
        self, connection: Connection, after: Mapping[str, int]
    ) -> Iterable[Sequence[Any]]:
        return connection.execute(
            _POSTGRESQL_EVENTS_AFTER, {"ids": list(after), "after": list(after.values())}
        )

    def save_checkpoints(self, connection: Connection, rows: Sequence[CheckpointRow]) -> None:
        columns = list(zip(*rows, strict=True))
        connection.execute(
            _POSTGRESQL_SAVE_CHECKPOINTS,
            {
                "tenant_ids": list(columns[0]),
                "bases": list(columns[1]),
                "events": list(columns[2]),
                "days": list(columns[3]),
                "payloads": list(columns[4]),
            },
        )

    def save_failures(self, connection: Connection, rows: Sequence[FailureRow]) -> None:
        columns = list(zip(*rows, strict=True))
        connection.execute(
            _POSTGRESQL_SAVE_FAILURES,
            {
                "tenant_ids": list(columns[0]),
                "periods": list(columns[1]),
                "errors": list(columns[2]),
                "rules": list(columns[3]),
            },
        )

    def mark(self, connection: Connection, period: str, ids: Sequence[str]) -> None:
        connection.execute(_POSTGRESQL_MARK, {"period": period, "ids": list(ids)})

    def aborted(self, connection: Connection) -> bool:
        """Read from the driver: every later statement is refused, and ``COMMIT`` answers
        ``ROLLBACK`` without an error."""
        if connection.invalidated or connection.closed:
            return False
        dbapi_connection = connection.connection.dbapi_connection
        info = getattr(dbapi_connection, "info", None)  # psycopg 3
        status = getattr(info, "transaction_status", None)
        if status is None:
            get_status = getattr(dbapi_connection, "get_transaction_status", None)  # psycopg2
            status = get_status() if callable(get_status) else None
        return status is not None and int(status) in (_POSTGRESQL_IN_ERROR, _POSTGRESQL_UNKNOWN)

    def ended_transaction(self, connection: Connection, cause: DBAPIError) -> str | None:
        if self.aborted(connection):
            return f"PostgreSQL aborted it after {first_line(cause)}"
        return None


# --- SQLite -----------------------------------------------------------------------------

# SQLite's CROSS JOIN keeps json_each as the outer loop: one index probe per tenant.
_SQLITE_EVENTS_AFTER = text(
    "SELECT e.tenant_id, e.payload, e.at_zone FROM json_each(:rows) AS t"
    " CROSS JOIN tenant_events AS e"
    " WHERE e.tenant_id = t.value ->> 0 AND e.version > t.value ->> 1"
    " ORDER BY t.key, e.version"
)

_SQLITE_SAVE_CHECKPOINTS = text(
    "INSERT INTO billing_checkpoints (tenant_id, basis, events, day, payload)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4"
    " FROM json_each(:rows) WHERE true"
    " ON CONFLICT (tenant_id) DO UPDATE SET basis = excluded.basis,"
    " events = excluded.events, day = excluded.day, payload = excluded.payload"
)

_SQLITE_SAVE_FAILURES = text(
    "INSERT INTO billing_failures (tenant_id, period, error, rule)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3"
    " FROM json_each(:rows) WHERE true"
    " ON CONFLICT (tenant_id) DO UPDATE SET period = excluded.period,"
    " error = excluded.error, rule = excluded.rule"
)

_SQLITE_MARK = text(
    "INSERT INTO billing_marks (period, tenant_id) SELECT :period, value FROM json_each(:ids)"
)


class SQLite(_OnConflict):
    """SQLite: one writer at a time (the unit of work begins IMMEDIATE), rows as one JSON
    parameter."""

    name: ClassVar[str] = "sqlite"
    one_writer: ClassVar[bool] = True
    failed_statement_aborts: ClassVar[bool] = False

    def _insert(self, table: Table) -> sqlite.Insert:
        return sqlite.insert(table)

    def new_invoice_ids(self, connection: Connection, count: int) -> list[int] | None:
        """``max(id)`` + 1 ...: the unit of work began with BEGIN IMMEDIATE, so no one else
        writes now."""
        last = connection.execute(select(func.max(invoices.c.id))).scalar()
        first = (last or 0) + 1
        return list(range(first, first + count))

    def creates_in_one_statement(self, count: int) -> bool:
        return False

    def record_create_statement(
        self, table: Table, columns: tuple[str, ...], count: int
    ) -> CompoundSelect[Any] | None:
        return None

    def add_records(
        self, connection: Connection, tenant_id: str, kind: str, count: int, limit: int
    ) -> CounterOutcome:
        """One statement: create the counter row or add to it if the limit allows; refused,
        the caller reads the total (BEGIN IMMEDIATE: no other writer since)."""
        statement = (
            (sqlite.insert(record_totals).values(tenant_id=tenant_id, total=count))
            .on_conflict_do_update(
                index_elements=["tenant_id"],
                set_={"total": record_totals.c.total + count},
                where=record_totals.c.total + count <= limit,
            )
            .returning(record_totals.c.total)
        )
        total: int | None = connection.execute(statement).scalar()
        if total is None:
            return False, None
        _add_to_kind(self, connection, tenant_id, kind, count)
        return True, total

    def claim(
        self, connection: Connection, statement: Select[Any], mark: str
    ) -> tuple[str | None, dict[str, str]]:
        """One writer at a time (the unit of work began IMMEDIATE) and SQLite always runs a
        correlated NOT EXISTS as a primary-key probe per row: the marks in the same query."""
        marked = select(billing_marks.c.tenant_id).where(
            billing_marks.c.period == mark, billing_marks.c.tenant_id == tenants.c.tenant_id
        )
        rows = connection.execute(statement.where(~marked.exists())).all()
        if not rows:
            return None, {}
        return rows[-1][0], {tenant: vendor for tenant, vendor in rows}

    def read_events(
        self, connection: Connection, after: Mapping[str, int]
    ) -> Iterable[Sequence[Any]]:
        rows = json.dumps([[tenant_id, version] for tenant_id, version in after.items()])
        return connection.execute(_SQLITE_EVENTS_AFTER, {"rows": rows})

    def save_checkpoints(self, connection: Connection, rows: Sequence[CheckpointRow]) -> None:
        data = [[t, b, n, d.isoformat(), p] for t, b, n, d, p in rows]
        connection.execute(_SQLITE_SAVE_CHECKPOINTS, {"rows": json.dumps(data)})

    def save_failures(self, connection: Connection, rows: Sequence[FailureRow]) -> None:
        connection.execute(_SQLITE_SAVE_FAILURES, {"rows": json.dumps(list(rows))})

    def mark(self, connection: Connection, period: str, ids: Sequence[str]) -> None:
        connection.execute(_SQLITE_MARK, {"period": period, "ids": json.dumps(list(ids))})

    def aborted(self, connection: Connection) -> bool:
        return False

    def ended_transaction(self, connection: Connection, cause: DBAPIError) -> str | None:
        dbapi_connection = connection.connection.dbapi_connection
        if getattr(dbapi_connection, "in_transaction", True) is False:
            return f"SQLite rolled it back after {first_line(cause)}"
        return None


# --- MariaDB / MySQL --------------------------------------------------------------------


def _mysql_code(error: DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class MariaDB(_Server):
    """MariaDB and MySQL: ``ON DUPLICATE KEY UPDATE`` then a read, one parameter set per row,
    AUTO_INCREMENT invoice ids, SKIP LOCKED claims."""

    name: ClassVar[str] = "mysql"
    failed_statement_aborts: ClassVar[bool] = False

    def insert_if_missing(
        self, connection: Connection, table: Table, values: Mapping[str, object]
    ) -> None:
        first = next(iter(values))
        statement = mysql.insert(table).values(values)
        connection.execute(statement.on_duplicate_key_update({first: statement.inserted[first]}))

    def upsert(
        self,
        connection: Connection,
        table: Table,
        key: Sequence[str],
        values: Mapping[str, object],
        changes: Mapping[str, ColumnElement[Any]],
    ) -> None:
        connection.execute(mysql.insert(table).values(values).on_duplicate_key_update(changes))

    def upsert_returning(
        self,
        connection: Connection,
        table: Table,
        key: str,
        values: Mapping[str, object],
        changes: Mapping[str, ColumnElement[Any]],
        column: str,
        lock: bool = False,
    ) -> int:
        self.upsert(connection, table, [key], values, changes)
        statement = select(table.c[column]).where(table.c[key] == values[key])
        value: int = connection.execute(
            statement.with_for_update() if lock else statement
        ).scalar_one()
        return value

    def upsert_greater(
        self,
        connection: Connection,
        table: Table,
        key: str,
        values: Mapping[str, object],
        column: str,
    ) -> None:
        statement = mysql.insert(table).values(values)
        greater = _greater(table, column, statement.inserted[column])
        connection.execute(statement.on_duplicate_key_update({column: greater}))

    def new_invoice_ids(self, connection: Connection, count: int) -> list[int] | None:
        """None: the inserts take AUTO_INCREMENT ids."""
        return None

    def creates_in_one_statement(self, count: int) -> bool:
        return False

    def record_create_statement(
        self, table: Table, columns: tuple[str, ...], count: int
    ) -> CompoundSelect[Any] | None:
        return None

    def add_records(
        self, connection: Connection, tenant_id: str, kind: str, count: int, limit: int
    ) -> CounterOutcome:
        """Lock the tenant's counter row (creating it at 0), read it, and add ``count`` if the
        limit allows: whether it did, and the total it decided on (the new total if so)."""
        self.insert_if_missing(connection, record_totals, {"tenant_id": tenant_id, "total": 0})
        total = int(locked_total(connection, tenant_id) or 0)
        if total + count > limit:
            return False, total
        connection.execute(
            update(record_totals)
            .where(record_totals.c.tenant_id == tenant_id)
            .values(total=record_totals.c.total + count)
        )
        _add_to_kind(self, connection, tenant_id, kind, count)
        return True, total + count

    def read_events(
        self, connection: Connection, after: Mapping[str, int]
    ) -> Iterable[Sequence[Any]]:
        """The whole histories, the consumed events left out here."""
        return (
            row
            for row in connection.execute(
                select(
                    tenant_events.c.tenant_id,
                    tenant_events.c.payload,
                    tenant_events.c.at_zone,
                    tenant_events.c.version,
                )
                .where(tenant_events.c.tenant_id.in_(list(after)))
                .order_by(tenant_events.c.tenant_id, tenant_events.c.version)
            )
            if row[3] > after[row[0]]
        )

    def save_checkpoints(self, connection: Connection, rows: Sequence[CheckpointRow]) -> None:
        statement = mysql.insert(billing_checkpoints)
        connection.execute(
            statement.on_duplicate_key_update(
                basis=statement.inserted.basis,
                events=statement.inserted.events,
                day=statement.inserted.day,
                payload=statement.inserted.payload,
            ),
            [
                {"tenant_id": t, "basis": b, "events": n, "day": d, "payload": p}
                for t, b, n, d, p in rows
            ],
        )

    def save_failures(self, connection: Connection, rows: Sequence[FailureRow]) -> None:
        statement = mysql.insert(billing_failures)
        connection.execute(
            statement.on_duplicate_key_update(
                period=statement.inserted.period,
                error=statement.inserted.error,
                rule=statement.inserted.rule,
            ),
            [{"tenant_id": t, "period": p, "error": e, "rule": r} for t, p, e, r in rows],
        )

    def mark(self, connection: Connection, period: str, ids: Sequence[str]) -> None:
        connection.execute(insert(billing_marks), [{"period": period, "tenant_id": t} for t in ids])

    def aborted(self, connection: Connection) -> bool:
        return False

    def ended_transaction(self, connection: Connection, cause: DBAPIError) -> str | None:
        """A deadlock rolls the whole transaction back; a lock wait timeout only with
        ``innodb_rollback_on_timeout``."""
        code = _mysql_code(cause)
        if code == MYSQL_DEADLOCK:
            return f"deadlock, MySQL error {code}"
        if code != MYSQL_LOCK_WAIT_TIMEOUT:
            return None
        # innodb_rollback_on_timeout is a startup option: asked only after a timeout (rare)
        try:
            whole = connection.exec_driver_sql("SELECT @@innodb_rollback_on_timeout").scalar()
        except SQLAlchemyError as failure:
            return f"lock wait timeout, MySQL error {code}; then {first_line(failure)}"
        if whole:
            return f"lock wait timeout with innodb_rollback_on_timeout, MySQL error {code}"
        return None


# --- shared by the engines without a one-statement REC-6 step -----------------------------


def locked_total(connection: Connection, tenant_id: str) -> int | None:
    """The tenant's total, its row locked until the transaction ends (FOR UPDATE on the
    servers; SQLite's BEGIN IMMEDIATE already excludes other writers)."""
    total: int | None = connection.execute(
        select(record_totals.c.total)
        .where(record_totals.c.tenant_id == tenant_id)
        .with_for_update()
    ).scalar()
    return total


def _add_to_kind(
    dialect: SqlDialect, connection: Connection, tenant_id: str, kind: str, delta: int
) -> None:
    """Add ``delta`` to the tenant's count of ``kind`` (created at ``delta``)."""
    dialect.upsert(
        connection,
        record_counts,
        ["tenant_id", "kind"],
        {"tenant_id": tenant_id, "kind": kind, "count": delta},
        {"count": record_counts.c.count + delta},
    )


# --- the chooser ------------------------------------------------------------------------

_BY_NAME: dict[str, SqlDialect] = {
    "postgresql": PostgreSQL(),
    "sqlite": SQLite(),
    "mysql": MariaDB(),
    "mariadb": MariaDB(),
}

_CHOSEN: weakref.WeakKeyDictionary[Dialect, SqlDialect] = weakref.WeakKeyDictionary()


def dialect_for(bind: Connection | Engine) -> SqlDialect:
    """The engine differences of ``bind``'s engine, chosen once per SQLAlchemy dialect (an
    engine and all its connections share one); ``ConfigurationError`` for an engine crmcore
    does not run on."""
    dialect = bind.dialect
    chosen = _CHOSEN.get(dialect)
    if chosen is None:
        found = _BY_NAME.get(dialect.name)
        if found is None:
            raise ConfigurationError(
                f"crmcore does not run on {dialect.name!r} (use sqlite, postgresql or "
                "mysql/mariadb)",
                field="dialect",
            )
        chosen = _CHOSEN[dialect] = found
    return chosen
