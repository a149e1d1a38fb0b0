"""correction documents (BILL-6)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:30:00.000000

A correction document is a row of ``invoices`` in its own series (``<vendor>/corrections/<year>``):
``corrects`` is the number of the invoice it corrects, ``corrected_net`` that invoice's net
before it (with the corrections issued before it), in minor units (its VAT is the difference
of the VAT on the net after and before). Both are NULL on an invoice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# Plain ALTER TABLE ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy of ``invoices``
# would break the foreign key of ``invoice_lines`` on SQLite.


def upgrade() -> None:
    op.add_column("invoices", sa.Column("corrects", sa.String(length=64), nullable=True))
    op.add_column("invoices", sa.Column("corrected_net", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("invoices", "corrected_net")
    op.drop_column("invoices", "corrects")
