"""Engines and the boundary where driver errors become crmcore errors.

:func:`create_engine` configures each backend for the guarantees: SQLite in WAL mode with a
busy timeout and ``BEGIN IMMEDIATE`` (a writer takes the write lock at the start of its
transaction, so read-then-write races cannot happen); PostgreSQL through psycopg 3 and
MariaDB/MySQL through PyMySQL at READ COMMITTED, where conditional UPDATEs and row locks
decide the races.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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

from crmcore.errors import (
    ConcurrencyError,
    ConfigurationError,
    StorageError,
    ValidationError,
    short_repr,
)

__all__ = [
    "create_engine",
    "describe_url",
    "missing_sqlite_file",
    "sqlite_file",
    "translate_errors",
]

DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}
BUSY_TIMEOUT_MS = 30_000

#: The query arguments SQLite reads from a URI filename (https://sqlite.org/uri.html).
#: SQLAlchemy hands them to SQLite only with ``uri=true``; without it, it ignores them with a
#: warning, so ``?mode=ro`` would silently open the file read-write: :func:`parse_url` makes
#: such a URL a URI filename instead.
SQLITE_URI_ARGUMENTS = frozenset({"cache", "immutable", "mode", "modeof", "nolock", "psow", "vfs"})
#: The query arguments SQLAlchemy's pysqlite dialect passes to ``sqlite3.connect``.
PYSQLITE_ARGUMENTS = frozenset(
    {"uri", "timeout", "isolation_level", "detect_types", "check_same_thread", "cached_statements"}
)


def parse_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise ConfigurationError(f"not a database URL: {describe_url(url)}", field="--db") from exc
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
    port = parsed.port
    if port is not None and not 0 < port < 65536:
        raise ConfigurationError(
            f"{describe_url(parsed)}: port {port} is not in 1..65535", field="--db"
        )
    if backend != "sqlite" and not parsed.database:
        raise ConfigurationError(
            f"{describe_url(parsed)} names no database (.../DATABASE at its end)", field="--db"
        )
    return _sqlite_url(parsed) if backend == "sqlite" else parsed


def _is_uri(url: URL) -> bool:
    """Whether SQLAlchemy opens ``url`` with ``uri=True`` (its ``asbool`` spellings)."""
    value = url.query.get("uri", "")
    return isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "y", "t", "1")


def _sqlite_url(url: URL) -> URL:
    """A SQLite URL checked: a path without control characters (they would end up in a file
    name: ``a\nb.db``, or fail inside the driver: NUL) and only query arguments that take
    effect. SQLite's own arguments (``?mode=ro``) without ``uri=true`` make the URL a URI
    filename (``file:PATH?mode=ro&uri=true``), as they take effect only there; a plain path with
    ``uri=true`` becomes ``file:PATH`` too, since SQLAlchemy would otherwise append the
    arguments to the file's name (``x.db?mode=ro``)."""
    database = url.database or ""
    if any(unicodedata.category(character) in ("Cc", "Zl", "Zp") for character in database):
        raise ConfigurationError(
            f"the SQLite path must not contain control characters, got {short_repr(database)}",
            field="--db",
        )
    unknown = sorted(set(url.query) - SQLITE_URI_ARGUMENTS - PYSQLITE_ARGUMENTS)
    if unknown:
        raise ConfigurationError(
            f"unknown SQLite URL argument(s) {', '.join(unknown)} in {describe_url(url)} "
            f"(SQLite's: {', '.join(sorted(SQLITE_URI_ARGUMENTS))})",
            field="--db",
        )
    if not (SQLITE_URI_ARGUMENTS & set(url.query) or _is_uri(url)):
        return url
    if database.startswith("file:"):
        return url if _is_uri(url) else url.update_query_dict({"uri": "true"})
    # SQLite decodes %XX in a URI filename and ends the path at ? or #: escape those.
    path = database or ":memory:"
    for character, escape in (("%", "%25"), ("?", "%3F"), ("#", "%23")):
        path = path.replace(character, escape)
    return url.set(database=f"file:{path}").update_query_dict({"uri": "true"})


def describe_url(url: str | URL) -> str:
    """``url`` for a message, without its password; a SQLite path as written (SQLAlchemy
    renders the ``:`` of ``file:/tmp/x.db`` as ``file%3A/tmp/x.db``)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not a URL: its password (``//user:pw@``) masked
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", str(url))
    rendered = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        query = rendered.partition("?")[2]
        rendered = f"{parsed.drivername}:///{parsed.database}" + (f"?{query}" if query else "")
    return rendered


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
    except (NoSuchModuleError, ImportError) as exc:  # ImportError: a driver not installed
        raise ConfigurationError(
            f"no driver for {describe_url(parsed)}; install crmcore[sql] (drivers: "
            f"{', '.join(sorted(set(DRIVERS.values())))})",
            field="--db",
        ) from exc
    except (ValueError, TypeError) as exc:  # a query argument the dialect cannot read
        raise ConfigurationError(f"cannot use {describe_url(parsed)}: {exc}", field="--db") from exc
    _refuse_bad_connect_arguments(engine)
    return engine


def _refuse_bad_connect_arguments(engine: Engine) -> None:
    """A connection argument of the URL that its driver cannot take (``?timeout=abc``,
    ``?charset=nonsense``) fails inside the driver's ``connect`` with a ValueError, TypeError,
    AttributeError or LookupError: a ConfigurationError naming ``--db`` instead."""
    shown = describe_url(engine.url)

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        dbapi = dialect.loaded_dbapi
        try:
            return dbapi.connect(*cargs, **cparams)
        except dbapi.ProgrammingError as exc:  # psycopg: an option it does not know or read
            raise ValidationError(
                f"cannot connect with {shown}: {str(exc).strip().splitlines()[0]}", field="--db"
            ) from exc
        except (ValueError, TypeError, AttributeError, LookupError) as exc:
            raise ValidationError(
                f"cannot connect with {shown}: {type(exc).__name__}: {exc}", field="--db"
            ) from exc


def _configure_sqlite(engine: Engine) -> None:
    query = engine.url.query
    read_only = query.get("mode") == "ro" or query.get("immutable") in ("1", "true")
    wal = sqlite_file(engine.url) is not None and not read_only

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if wal:  # a file opened read-write (a read-only one cannot switch its journal)
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


def sqlite_file(url: str | URL) -> str | None:
    """The path of the file a SQLite ``url`` opens, as SQLite reads it: a plain path, or the
    path of a URI filename (``sqlite:///file:/tmp/x.db?mode=ro&uri=true``: ``/tmp/x.db``;
    ``file://localhost/tmp/x.db``, ``%20`` decoded, ``#...`` dropped). ``None`` for an
    in-memory or temporary database (``:memory:``, ``mode=memory``, ``vfs=memdb``, no path) and
    for another engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if _is_uri(parsed) and database.startswith("file:"):
        if parsed.query.get("mode") == "memory" or parsed.query.get("vfs") == "memdb":
            return None
        path = database.removeprefix("file:").split("#", 1)[0]
        if path.startswith("//"):  # file://HOST/PATH: SQLite accepts only "" or localhost
            path = "/" + path[2:].partition("/")[2]
        database = unquote(path)
    return None if database in ("", ":memory:") else database


def missing_sqlite_file(url: str | URL) -> str | None:
    """The path of the file a SQLite ``url`` names (:func:`sqlite_file`) when that file does
    not exist, whatever the ``mode``: opening it would create it, empty (``rwc``, the default)
    or fail (``ro``, ``rw``); ``None`` for an existing file, an in-memory database or another
    engine."""
    path = sqlite_file(url)
    return None if path is None or Path(path).exists() else path
