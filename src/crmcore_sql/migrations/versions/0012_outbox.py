"""events out: the transactional outbox

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:00:00.000000

``outbox_events`` holds the events crmcore reports (issue 15, ``crmcore events``), each written
in the transaction of the change it reports; ``outbox_counter`` gives their ids in commit order
(one row, locked by the writer until its commit); ``outbox_consumers`` the id each consumer
acknowledged last.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        # exact collation on MariaDB/MySQL: crmcore_sql.metadata gives it to every crmcore table
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("at", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("tenant_id", "key", name="uq_outbox_events_tenant_id_key"),
    )
    op.create_table(
        "outbox_counter",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbox_counter")),
    )
    op.create_table(
        "outbox_consumers",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_outbox_consumers")),
    )


def downgrade() -> None:
    op.drop_table("outbox_consumers")
    op.drop_table("outbox_counter")
    op.drop_table("outbox_events")
