"""Alembic migrations: upgrade from empty works on every engine and yields exactly the
metadata the code uses (no drift)."""

from __future__ import annotations

import importlib

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, text

import crmcore_sql
import crmcore_sql.tables
import crmcore_sql.tables_visibility
from crmcore_sql.metadata import exact_collation, metadata
from crmcore_sql.migrate import current_revision, head_revision
from crmcore_sql.tables import seat_assignments, seat_counts, tenants
from crmcore_sql.testing import temporary_database

# the conversion of migration 0004, to give a database the collations it had before it
convert_tables = importlib.import_module(
    "crmcore_sql.migrations.versions.0004_exact_collation"
).convert_tables


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


def _string_collations(engine: Engine) -> dict[tuple[str, str], str | None]:
    """MariaDB/MySQL: the collation of every string column of the crmcore tables."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                " WHERE table_schema = DATABASE() AND collation_name IS NOT NULL"
            )
        ).all()
    return {(t, c): collation for t, c, collation in rows if t in metadata.tables}


def test_vis1_upgrade_to_0004_makes_ids_compare_exactly(database_url: str) -> None:
    """VIS-1: a 0003 database whose tables have MariaDB's default collation (case-, accent-
    and trailing-space-insensitive) is converted by 0004: every string column of every crmcore
    table is exact, the rows are kept, and ``ACME``/``acme``/``acme ``/``ácme`` are four
    tenants on every engine."""
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0003")
            if engine.dialect.name == "mysql":  # as 0001..0003 created them before 0004
                with engine.begin() as connection:
                    convert_tables(connection, None)
                assert "utf8mb4_general_ci" in _string_collations(engine).values()
            with engine.begin() as connection:
                connection.execute(insert(tenants).values(tenant_id="ACME", vendor="v", version=0))
                connection.execute(insert(seat_counts).values(tenant_id="ACME", bought=2, used=1))
                connection.execute(insert(seat_assignments).values(tenant_id="ACME", person="ann"))
            crmcore_sql.migrate(engine)
            if engine.dialect.name == "mysql":
                exact = exact_collation(engine.dialect)
                collations = _string_collations(engine)
                assert collations and set(collations.values()) == {exact}, collations
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.seats.assigned("ACME") == {"ann"}
                for twin in ("acme", "acme ", "ácme"):
                    uow.tenants.add(twin, "v", [])
                    assert uow.seats.assigned(twin) == frozenset()
                    uow.seats.set_bought(twin, 1)
                    uow.seats.assign(twin, "ann")
                uow.commit()
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.tenants.ids() == sorted(["ACME", "acme", "acme ", "ácme"])
                assert [uow.seats.bought(t) for t in ("ACME", "acme", "acme ", "ácme")] == [
                    2,
                    1,
                    1,
                    1,
                ]
        finally:
            engine.dispose()
