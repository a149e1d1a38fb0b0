"""Whether the server ended a unit of work's transaction, and the state that then refuses to go
on (issue 13).

A server may end a transaction on its own: InnoDB (MariaDB/MySQL) rolls the WHOLE transaction
back, savepoints included, when one of its statements loses a deadlock (error 1213), and on a
lock wait timeout (1205) when the server runs with ``innodb_rollback_on_timeout``; PostgreSQL
aborts it when a statement fails outside a savepoint (every later statement is refused and
``COMMIT`` silently rolls back); a lost connection ends it everywhere. The next statement then
runs in a new transaction, so a caller that took the error for "retry this operation" and went
on would commit only its later work. :class:`TransactionState` remembers the loss: every later
statement of the repositories and ``commit()`` raise the same ``ConcurrencyError``, until
``rollback()`` ends the transaction for the caller too.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from crmcore.errors import ConcurrencyError

__all__ = ["TransactionState", "postgresql_aborted", "server_ended_transaction"]

MYSQL_DEADLOCK = 1213  # InnoDB rolls back the whole transaction
MYSQL_LOCK_WAIT_TIMEOUT = 1205  # only the statement, unless innodb_rollback_on_timeout
_POSTGRESQL_IN_ERROR = (
    3  # psycopg's TransactionStatus.INERROR (psycopg2: TRANSACTION_STATUS_INERROR)
)
_POSTGRESQL_UNKNOWN = 4  # the connection is bad


class TransactionState:
    """Shared by a unit of work and its repositories: ``None`` while the transaction is alive,
    else why the server ended it."""

    __slots__ = ("reason",)

    def __init__(self) -> None:
        self.reason: str | None = None

    def error(self) -> ConcurrencyError:
        """The error every call after the loss raises (a new one each time, same message)."""
        return ConcurrencyError(
            f"the transaction was rolled back by the server ({self.reason}): nothing more "
            "goes into it and nothing of it is committed; roll back and retry the whole unit "
            "of work",
            field="uow",
        )

    def lose(self, reason: str) -> ConcurrencyError:
        """Remember that the server ended the transaction; the error to raise."""
        if self.reason is None:
            self.reason = reason
        return self.error()

    def check(self) -> None:
        """Raise if the server ended the transaction."""
        if self.reason is not None:
            raise self.error()

    def reset(self) -> None:
        """The caller rolled back: the next statement starts a transaction of its own."""
        self.reason = None


def _first_line(error: BaseException) -> str:
    original = error.orig if isinstance(error, DBAPIError) else error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def _mysql_code(error: DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def server_ended_transaction(connection: Connection, error: BaseException) -> str | None:
    """Why the server ended ``connection``'s transaction when ``error`` was raised in it
    (``None`` if it did not): a lost connection, a MariaDB/MySQL deadlock (or a lock wait
    timeout on a server with ``innodb_rollback_on_timeout``), a PostgreSQL transaction left
    aborted by a statement that failed outside a savepoint, a SQLite transaction that SQLite
    rolled back. ``error`` is a driver error or a crmcore error caused by one."""
    if connection.closed or connection.invalidated:
        return f"connection lost: {_first_line(error)}"
    cause = error if isinstance(error, DBAPIError) else error.__cause__
    if not isinstance(cause, DBAPIError):
        return None
    if cause.connection_invalidated:
        return f"connection lost: {_first_line(cause)}"
    if not connection.in_transaction():  # autocommit: each statement its own transaction
        return None
    dialect = connection.dialect.name
    if dialect == "mysql":
        return _mysql_ended(connection, cause)
    if dialect == "postgresql":
        return (
            f"PostgreSQL aborted it after {_first_line(cause)}"
            if postgresql_aborted(connection)
            else None
        )
    dbapi_connection = connection.connection.dbapi_connection
    if dialect == "sqlite" and getattr(dbapi_connection, "in_transaction", True) is False:
        return f"SQLite rolled it back after {_first_line(cause)}"
    return None


def _mysql_ended(connection: Connection, error: DBAPIError) -> str | None:
    code = _mysql_code(error)
    if code == MYSQL_DEADLOCK:
        return f"deadlock, MySQL error {code}"
    if code != MYSQL_LOCK_WAIT_TIMEOUT:
        return None
    # innodb_rollback_on_timeout is a startup option: asked only after a timeout (rare)
    try:
        whole = connection.exec_driver_sql("SELECT @@innodb_rollback_on_timeout").scalar()
    except SQLAlchemyError as failure:
        return f"lock wait timeout, MySQL error {code}; then {_first_line(failure)}"
    if whole:
        return f"lock wait timeout with innodb_rollback_on_timeout, MySQL error {code}"
    return None


def postgresql_aborted(connection: Connection) -> bool:
    """Whether ``connection`` is a PostgreSQL one whose transaction a failed statement aborted
    (read from the driver, no round trip): every later statement is refused, and ``COMMIT``
    answers ``ROLLBACK`` without an error."""
    if connection.dialect.name != "postgresql" or connection.invalidated or connection.closed:
        return False
    dbapi_connection = connection.connection.dbapi_connection
    info = getattr(dbapi_connection, "info", None)  # psycopg 3
    status = getattr(info, "transaction_status", None)
    if status is None:
        get_status = getattr(dbapi_connection, "get_transaction_status", None)  # psycopg2
        status = get_status() if callable(get_status) else None
    return status is not None and int(status) in (_POSTGRESQL_IN_ERROR, _POSTGRESQL_UNKNOWN)
