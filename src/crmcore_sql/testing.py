"""Helpers for testing against real database servers.

:func:`temporary_database` creates a uniquely named database on a PostgreSQL or MariaDB/MySQL
server, yields its URL and drops it afterwards, so test runs (and parallel developers) never
share tables. SQLite URLs get a file in a temporary directory.

:data:`record_rows` (in the metadata :data:`scratch`) is a stand-in for an application's own
record table, for tests and benchmarks of ``records.create`` (REC-6).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, text
from sqlalchemy.engine import URL, Engine, make_url

from crmcore_sql.histories import forget
from crmcore_sql.metadata import EXACT

__all__ = ["empty_tables", "record_rows", "scratch", "temporary_database"]

# The records themselves belong to the application (contacts, leads, ...); this stand-in
# table lets the REC-6 tests compare the counter with the real number of rows.
scratch = MetaData()
record_rows = Table(
    "demo_records",
    scratch,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    info={EXACT: True},  # tenant ids compare exactly on MariaDB/MySQL too (VIS-1)
)


@contextmanager
def temporary_database(server_url: str | URL, prefix: str = "crmcore_t") -> Iterator[URL]:
    """A fresh, empty database on the server of ``server_url``; dropped on exit."""
    url = make_url(server_url)
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=prefix) as directory:
            yield url.set(database=str(Path(directory) / "test.sqlite3"))
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    quote = '"' if url.get_backend_name() == "postgresql" else "`"
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {quote}{name}{quote}"))
        yield url.set(database=name)
    finally:
        try:
            with admin.connect() as connection:
                if url.get_backend_name() == "postgresql":
                    connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    )
                connection.execute(text(f"DROP DATABASE IF EXISTS {quote}{name}{quote}"))
        finally:
            admin.dispose()


def empty_tables(engine: Engine) -> None:
    """Delete every row of crmcore's tables (the schema and its version stay): a fresh store
    for the next example of a property test, much cheaper than a new database."""
    from crmcore_sql import tables, tables_vendors, tables_visibility  # noqa: F401 (registers)
    from crmcore_sql.metadata import metadata

    with engine.begin() as connection:
        for table in metadata.sorted_tables:  # links within a table first (users.supervisor_id)
            for key in table.foreign_keys:
                if key.column.table is table:
                    connection.execute(table.update().values({key.parent.name: None}))
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    forget(engine)  # the engine's caches knew rows that are gone
