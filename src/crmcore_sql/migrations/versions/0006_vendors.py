"""vendors

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        # exact collation on MariaDB/MySQL: crmcore_sql.metadata gives it to every crmcore table
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", "effective", name=op.f("pk_vendors")),
    )


def downgrade() -> None:
    op.drop_table("vendors")
