"""A token per stored vendor version: which stored versions a vendor's cache holds (issue 14)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 14:40:00.000000

``vendors.token`` is a random token written when a version is stored. A command reads its
tenant's row with the stamp of its vendor's versions (how many, the latest day, the greatest
token): versions are only added after the latest and never change, and versions deleted and
stored again get new tokens, so the stamp names the versions an engine read before
(``crmcore_sql.reads``). A version stored before this revision has none (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vendors", sa.Column("token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("vendors", "token")
