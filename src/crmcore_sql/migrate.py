"""Alembic migrations shipped in the package, run programmatically (no alembic.ini), and the
check that a database is at their head (:func:`require_migrated`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from crmcore.errors import ConfigurationError
from crmcore_sql.engine import describe_url, missing_sqlite_file, translate_errors

__all__ = [
    "alembic_config",
    "current_revision",
    "head_revision",
    "migrate",
    "require_migrated",
]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database of ``engine`` to ``revision`` (default: the latest)."""
    config = alembic_config()
    with translate_errors("migrating"), engine.begin() as connection:
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, revision)
        except CommandError as exc:  # e.g. a database written by a newer crmcore
            current = current_revision(connection)
            raise ConfigurationError(
                f"cannot migrate {describe_url(engine.url)} (at revision {current}) to "
                f"{revision}: {str(exc).strip().splitlines()[0]}",
                field="--db",
            ) from exc


def new_revision(engine: Engine, message: str, revision_id: str) -> None:
    """For maintainers: write a migration for the difference between the database of
    ``engine`` (at head) and the metadata (every ``crmcore_sql.tables*`` module imported by
    ``migrations/env.py``)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True, rev_id=revision_id)


def require_migrated(engine: Engine) -> None:
    """ConfigurationError unless the database is at the migrations' head."""
    missing = missing_sqlite_file(engine.url)
    if missing is not None:
        # Connecting would create an empty file: refuse before that, leaving nothing behind.
        raise ConfigurationError(
            f"database {describe_url(engine.url)} is not migrated (no file {missing}); "
            f"run: crmcore migrate --db URL",
            field="--db",
        )
    with translate_errors("checking the schema"), engine.connect() as connection:
        current = current_revision(connection)
    if current != head_revision():
        state = "empty" if current is None else f"at revision {current}"
        raise ConfigurationError(
            f"database {describe_url(engine.url)} is not migrated ({state}); "
            f"run: crmcore migrate --db URL",
            field="--db",
        )
