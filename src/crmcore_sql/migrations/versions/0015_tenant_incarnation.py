"""A tenant's incarnation: which stored tenant of that id a history belongs to (issue 14)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 11:40:00.000000

``tenants.incarnation`` is a random token written when the tenant is added. A tenant's events
are appended and never change, so its first events, once committed, are known by the tenant
id, the incarnation and their count: a command reads only the events it has not read before
(``SqlTenantRepository.history``). A tenant stored before this revision has none (NULL) and
its history is read in full, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("incarnation", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "incarnation")
