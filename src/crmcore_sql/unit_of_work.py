"""The SQL unit of work: one connection, one transaction, every repository."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from crmcore.errors import StorageError
from crmcore_sql.engine import translate_errors
from crmcore_sql.repositories import (
    SqlCatalogRepository,
    SqlInvoiceRepository,
    SqlOutageRepository,
    SqlPaymentRepository,
    SqlRecordCounterRepository,
    SqlSeatRepository,
    SqlTenantRepository,
    SqlUserRepository,
)

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """``with uow:`` opens a connection; the transaction starts at the first statement (on
    SQLite with ``BEGIN IMMEDIATE``) and is rolled back on exit unless committed."""

    tenants: SqlTenantRepository
    catalogs: SqlCatalogRepository
    invoices: SqlInvoiceRepository
    payments: SqlPaymentRepository
    outages: SqlOutageRepository
    records: SqlRecordCounterRepository
    seats: SqlSeatRepository
    users: SqlUserRepository

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for the caller's own statements in the same
        transaction (e.g. inserting the records a REC-6 decision allowed)."""
        if self._connection is None:
            raise StorageError("use the unit of work inside 'with uow:'", field="uow")
        return self._connection

    def __enter__(self) -> SqlUnitOfWork:
        with translate_errors("connecting"):
            connection = self.engine.connect()
        self._connection = connection
        self.tenants = SqlTenantRepository(connection)
        self.catalogs = SqlCatalogRepository(connection)
        self.invoices = SqlInvoiceRepository(connection)
        self.payments = SqlPaymentRepository(connection)
        self.outages = SqlOutageRepository(connection)
        self.records = SqlRecordCounterRepository(connection)
        self.seats = SqlSeatRepository(connection)
        self.users = SqlUserRepository(connection)
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
        with translate_errors("committing"):
            self.connection.commit()

    def rollback(self) -> None:
        with translate_errors("rolling back"):
            self.connection.rollback()
