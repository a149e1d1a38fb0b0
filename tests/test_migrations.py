"""Alembic migrations: upgrade from empty works on every engine and yields exactly the
metadata the code uses (no drift)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import crmcore_sql
import crmcore_sql.tables
import crmcore_sql.tables_visibility
from crmcore_sql.metadata import metadata
from crmcore_sql.migrate import current_revision, head_revision
from crmcore_sql.testing import temporary_database


def test_upgrade_from_empty_matches_the_metadata(database_url: str) -> None:
    # a fresh database of its own: the session one is shared with other modules
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine)
            crmcore_sql.migrate(engine)  # idempotent
            with engine.connect() as connection:
                assert current_revision(connection) == head_revision()
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                assert compare_metadata(context, metadata) == []
            names = set(inspect(engine).get_table_names())
            assert set(metadata.tables) <= names
            crmcore_sql.require_migrated(engine)
        finally:
            engine.dispose()
