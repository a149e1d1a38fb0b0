"""The SQL unit of work: one connection, one transaction, every repository; and
:func:`create_records`, a REC-6 record creation that is a transaction of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import event as sql_event
from sqlalchemy.engine import Engine

from crmcore.errors import StorageError
from crmcore.ports import RecordCount, RecordTable, checked_record_rows
from crmcore_sql.dialects import dialect_for
from crmcore_sql.engine import translate_errors
from crmcore_sql.histories import history_cache
from crmcore_sql.outbox import SqlOutboxRepository
from crmcore_sql.reads import TransactionReads
from crmcore_sql.repositories import (
    SqlApiCallCounterRepository,
    SqlCatalogRepository,
    SqlFileRepository,
    SqlInvoiceRepository,
    SqlOutageRepository,
    SqlPaymentRepository,
    SqlRecordCounterRepository,
    SqlSeatRepository,
    SqlTenantRepository,
    SqlUserRepository,
)
from crmcore_sql.transactions import TransactionState, postgresql_aborted
from crmcore_sql.vendors import SqlVendorRepository

__all__ = ["SqlUnitOfWork", "create_records"]


class SqlUnitOfWork:
    """``with uow:`` opens a connection; the transaction starts at the first statement (on
    SQLite with ``BEGIN IMMEDIATE``) and is rolled back on exit unless committed.

    When the server ends the transaction itself (a MariaDB/MySQL deadlock rolls back the whole
    transaction; a lost connection; a PostgreSQL transaction aborted by a statement that failed
    outside a savepoint), the failed call and every later repository call, ``connection`` and
    ``commit()`` raise ``ConcurrencyError`` (``field == "uow"``): retry the whole unit of
    work. ``rollback()`` and leaving ``with`` still work; after ``rollback()`` the unit of work
    starts afresh (issue 13)."""

    tenants: SqlTenantRepository
    catalogs: SqlCatalogRepository
    invoices: SqlInvoiceRepository
    payments: SqlPaymentRepository
    outages: SqlOutageRepository
    records: SqlRecordCounterRepository
    seats: SqlSeatRepository
    users: SqlUserRepository
    vendors: SqlVendorRepository
    api_calls: SqlApiCallCounterRepository
    files: SqlFileRepository
    outbox: SqlOutboxRepository

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._state = TransactionState()

    def _open(self) -> Connection:
        if self._connection is None:
            raise StorageError("use the unit of work inside 'with uow:'", field="uow")
        return self._connection

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for the caller's own statements in the same
        transaction (e.g. inserting the records a REC-6 decision allowed). Refused with
        ``ConcurrencyError`` once the server ended the transaction."""
        connection = self._open()
        self._state.check()
        return connection

    def __enter__(self) -> SqlUnitOfWork:
        with translate_errors("connecting"):
            connection = self.engine.connect()
        self._connection = connection
        self._state = state = TransactionState()

        # a rollback the caller makes through the connection (to its own savepoint, or of the
        # whole transaction) may undo what the transaction read and wrote: forget it
        def forget(*_args: object) -> None:
            state.reads.forget()

        sql_event.listen(connection, "rollback_savepoint", forget)
        sql_event.listen(connection, "rollback", forget)
        self.tenants = SqlTenantRepository(connection, state)
        self.catalogs = SqlCatalogRepository(connection, state)
        self.invoices = SqlInvoiceRepository(connection, state)
        self.payments = SqlPaymentRepository(connection, state)
        self.outages = SqlOutageRepository(connection, state)
        self.records = SqlRecordCounterRepository(connection, state)
        self.seats = SqlSeatRepository(connection, state)
        self.users = SqlUserRepository(connection, state)
        self.vendors = SqlVendorRepository(connection, state)
        self.api_calls = SqlApiCallCounterRepository(connection, state)
        self.files = SqlFileRepository(connection, state)
        self.outbox = SqlOutboxRepository(connection, state)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            with translate_errors("rolling back"):
                connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        """Commit, unless the server already ended the transaction: then ``ConcurrencyError``
        and nothing is committed (a ``COMMIT`` now would store only the work done since)."""
        connection = self.connection
        if postgresql_aborted(connection):  # COMMIT would answer ROLLBACK, silently
            raise self._state.lose("PostgreSQL aborted it after a failed statement")
        try:
            with translate_errors("committing"):
                connection.commit()
        except Exception as exc:
            # the transaction is over whatever the outcome: nothing more may go into it
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self._state.lose(f"COMMIT failed: {first_line}")
            raise
        reads, self._state.reads = self._state.reads, TransactionReads()
        cache = history_cache(self.engine)
        for key, events in reads.committed.items():  # stored as this transaction wrote them
            cache.put(key, events)

    def rollback(self) -> None:
        """Roll back; also after the server ended the transaction, which starts afresh."""
        with translate_errors("rolling back"):
            self._open().rollback()
        self._state.reset()


def create_records(
    engine: Engine,
    tenant_id: str,
    kind: str,
    limit: int | None,
    table: RecordTable,
    rows: Sequence[Mapping[str, Any]],
) -> RecordCount:
    """``records.create`` as a transaction of its own, committed when allowed (REC-3, REC-6).

    For a creation that needs nothing else in its transaction. On PostgreSQL the one statement
    of :meth:`~crmcore_sql.repositories.SqlRecordCounterRepository.create` runs in autocommit
    mode: no ``BEGIN`` and ``COMMIT`` round trips, and the tenant's counter row is locked only
    while that statement runs and its commit is flushed, not while the answer travels back to
    the application and the ``COMMIT`` travels to the server. That is what limits the rate
    when many writers create records for one tenant. On SQLite and MariaDB/MySQL, and for
    more than :data:`crmcore_sql.repositories.ONE_STATEMENT_ROWS` rows, it is a unit of
    work: ``records.create``, then commit.
    """
    new_rows = checked_record_rows(rows)
    if not dialect_for(engine).creates_in_one_statement(len(new_rows)):
        with SqlUnitOfWork(engine) as uow:
            decision = uow.records.create(tenant_id, kind, limit, table, new_rows)
            uow.commit()
        return decision
    with translate_errors("connecting"):
        connection = engine.connect()
    with connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        records = SqlRecordCounterRepository(connection)
        return records.create(tenant_id, kind, limit, table, new_rows)
