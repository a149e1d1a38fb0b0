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
from sqlalchemy.exc import DBAPIError

from crmcore.errors import ConcurrencyError
from crmcore_sql.dialects import dialect_for, first_line
from crmcore_sql.reads import TransactionReads

__all__ = ["TransactionState", "postgresql_aborted", "server_ended_transaction"]


class TransactionState:
    """Shared by a unit of work and its repositories: ``reason`` is ``None`` while the
    transaction is alive, else why the server ended it; ``reads`` is what the transaction
    read that its later statements need not read again (:mod:`crmcore_sql.reads`)."""

    __slots__ = ("reads", "reason")

    def __init__(self) -> None:
        self.reason: str | None = None
        self.reads = TransactionReads()

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
        """The caller rolled back: the next statement starts a transaction of its own, and
        nothing read or written before it is known any more."""
        self.reason = None
        self.reads = TransactionReads()


def server_ended_transaction(connection: Connection, error: BaseException) -> str | None:
    """Why the server ended ``connection``'s transaction when ``error`` was raised in it
    (``None`` if it did not): a lost connection, a MariaDB/MySQL deadlock (or a lock wait
    timeout on a server with ``innodb_rollback_on_timeout``), a PostgreSQL transaction left
    aborted by a statement that failed outside a savepoint, a SQLite transaction that SQLite
    rolled back. ``error`` is a driver error or a crmcore error caused by one."""
    if connection.closed or connection.invalidated:
        return f"connection lost: {first_line(error)}"
    cause = error if isinstance(error, DBAPIError) else error.__cause__
    if not isinstance(cause, DBAPIError):
        return None
    if cause.connection_invalidated:
        return f"connection lost: {first_line(cause)}"
    if not connection.in_transaction():  # autocommit: each statement its own transaction
        return None
    return dialect_for(connection).ended_transaction(connection, cause)


def postgresql_aborted(connection: Connection) -> bool:
    """Whether ``connection`` is a PostgreSQL one whose transaction a failed statement aborted
    (read from the driver, no round trip): every later statement is refused, and ``COMMIT``
    answers ``ROLLBACK`` without an error."""
    return dialect_for(connection).aborted(connection)
