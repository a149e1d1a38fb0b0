"""Alembic environment: runs on the connection passed in ``config.attributes``."""

from __future__ import annotations

from alembic import context

import crmcore_sql.tables
import crmcore_sql.tables_vendors
import crmcore_sql.tables_visibility  # noqa: F401
from crmcore_sql.metadata import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the programmatic path is supported
    raise RuntimeError("run migrations through crmcore_sql.migrate(engine)")
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
