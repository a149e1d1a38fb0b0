"""Engines and the boundary where driver errors become crmcore errors.

:func:`create_engine` configures each backend for the guarantees: SQLite in WAL mode with a
busy timeout and ``BEGIN IMMEDIATE`` (a writer takes the write lock at the start of its
transaction, so read-then-write races cannot happen); PostgreSQL through psycopg 3 and
MariaDB/MySQL through PyMySQL at READ COMMITTED, where conditional UPDATEs and row locks
decide the races.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
)

from crmcore.errors import ConcurrencyError, ConfigurationError, StorageError

__all__ = ["create_engine", "describe_url", "translate_errors"]

DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}
BUSY_TIMEOUT_MS = 30_000


def parse_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {url!s}", field="--db") from exc
    backend = parsed.get_backend_name()
    if backend == "mariadb":
        parsed = parsed.set(drivername="mysql+pymysql")
        backend = "mysql"
    if backend not in DRIVERS:
        raise ConfigurationError(
            f"unsupported database {backend!r} in {describe_url(parsed)} "
            "(use sqlite, postgresql or mysql/mariadb)",
            field="--db",
        )
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=DRIVERS[backend])
    return parsed


def describe_url(url: str | URL) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)


def create_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url`` (sqlite, postgresql, mysql/mariadb) set up for crmcore."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = sqlalchemy.create_engine(parsed, **options)
            _configure_sqlite(engine)
        else:
            options.setdefault("isolation_level", "READ COMMITTED")
            options.setdefault("pool_pre_ping", True)
            engine = sqlalchemy.create_engine(parsed, **options)
    except NoSuchModuleError as exc:
        raise ConfigurationError(
            f"no driver for {describe_url(parsed)}; install crmcore[sql]", field="--db"
        ) from exc
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_RETRYABLE_CODES = {
    "40001",  # PostgreSQL serialization_failure
    "40P01",  # PostgreSQL deadlock_detected
    "55P03",  # PostgreSQL lock_not_available
}
_RETRYABLE_MYSQL = {1205, 1213}  # lock wait timeout, deadlock


def is_retryable(exc: DBAPIError) -> bool:
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code in _RETRYABLE_CODES:
        return True
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in _RETRYABLE_MYSQL:
        return True
    return "database is locked" in str(original)


def is_unreachable(exc: DBAPIError) -> bool:
    if not exc.connection_invalidated and not isinstance(exc, sqlalchemy.exc.OperationalError):
        return False
    text = str(exc.orig).lower()
    return any(
        marker in text
        for marker in (
            "connection refused",
            "can't connect",
            "could not connect",
            "unable to open database",
            "name or service not known",
            "connection failed",
            "unknown database",
            "does not exist",
        )
    )


@contextmanager
def translate_errors(what: str = "storage") -> Iterator[None]:
    """Turn driver errors into crmcore errors at the adapter boundary."""
    try:
        yield
    except IntegrityError as exc:
        raise StorageError(f"{what}: constraint violated ({exc.orig})") from exc
    except DBAPIError as exc:
        if is_retryable(exc):
            raise ConcurrencyError(f"{what}: concurrent update, retry ({exc.orig})") from exc
        if is_unreachable(exc):
            raise ConfigurationError(
                f"database unreachable: {str(exc.orig).strip().splitlines()[0]}", field="--db"
            ) from exc
        raise StorageError(f"{what}: {str(exc.orig).strip().splitlines()[0]}") from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"{what}: {exc}") from exc


def missing_sqlite_file(url: str | URL) -> str | None:
    """The path of the file a SQLite ``url`` names when that file does not exist (opening it
    would create it, empty); ``None`` for an existing file, an in-memory database, a URI
    filename (``?uri=true``, left to SQLite) or another engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if database in (None, "", ":memory:") or parsed.query.get("uri") in ("true", "1"):
        return None
    return None if Path(database).exists() else database
