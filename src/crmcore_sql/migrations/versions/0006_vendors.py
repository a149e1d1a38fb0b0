"""vendors

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0003"  # rechained after 0004/0005 at merge
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column(
            "name",
            sa.String(length=64).with_variant(
                mysql.VARCHAR(length=64, charset="utf8mb4", collation="utf8mb4_bin"),
                "mysql",
                "mariadb",
            ),
            nullable=False,
        ),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", "effective", name=op.f("pk_vendors")),
    )


def downgrade() -> None:
    op.drop_table("vendors")
