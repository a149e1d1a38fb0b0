"""exact collation on MariaDB/MySQL (VIS-1)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:50:00.000000

MariaDB/MySQL created the tables with the server's default collation (``utf8mb4_general_ci``),
under which tenant ids, keys and codes that differ only in letter case, accents or trailing
spaces (``ACME``, ``acme``, ``acme ``, ``ácme``) are equal: tenants shared each other's seats,
records and counters. Every table is converted to the exact collation of
:func:`crmcore_sql.metadata.exact_collation`. Rows cannot collide in the conversion (the old
keys were coarser). Nothing changes on SQLite and PostgreSQL, which compare exactly already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmcore_sql.metadata import exact_collation

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The tables of revision 0003; a later migration's tables are created exact (metadata.py).
TABLES = (
    "billing_checkpoints",
    "billing_marks",
    "catalogs",
    "crm_records",
    "documents",
    "invoice_lines",
    "invoice_series",
    "invoices",
    "message_notes",
    "outages",
    "payments",
    "record_counts",
    "record_totals",
    "seat_assignments",
    "seat_counts",
    "task_assignees",
    "tasks",
    "tenant_events",
    "tenant_users",
    "tenants",
    "user_permissions",
    "users",
)


def _convert(collation: str | None) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "mysql":
        return
    convert_tables(bind, collation)


def convert_tables(bind: sa.Connection, collation: str | None) -> None:
    """Convert the tables of :data:`TABLES` that exist to ``collation`` (``None``: the
    character set's default). MariaDB refuses to change a column of a foreign key, even with
    the checks off, so ``tenant_events``' key to ``tenants`` is dropped and made again."""
    clause = f" COLLATE {collation}" if collation else ""
    existing = set(sa.inspect(bind).get_table_names())
    keyed = {"tenant_events", "tenants"} <= existing
    if keyed:
        bind.exec_driver_sql(f"ALTER TABLE tenant_events DROP FOREIGN KEY {_EVENTS_KEY}")
    for table in TABLES:
        if table in existing:
            bind.exec_driver_sql(f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4{clause}")
    if keyed:
        bind.exec_driver_sql(
            f"ALTER TABLE tenant_events ADD CONSTRAINT {_EVENTS_KEY} "
            "FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)"
        )


_EVENTS_KEY = "fk_tenant_events_tenant_id_tenants"


def upgrade() -> None:
    _convert(exact_collation(op.get_bind().dialect))


def downgrade() -> None:
    _convert(None)  # back to the character set's default collation
