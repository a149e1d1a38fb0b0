"""VAT rates as their exact decimal text (PLAN-2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00.000000

``invoices.vat_rate`` was ``NUMERIC(7, 4)``, which SQLite stores as a binary float (``0.0512``
is 0.05119999999999999...), which PostgreSQL and MariaDB give back at scale 4 (``0.23`` as
``0.2300``) and which rounds a fifth decimal away, so a rate did not read back as the Decimal
written. It becomes ``VARCHAR(24)``, the rate's exact decimal text (``0.2300``, ``0.0512``,
``0.123456``), read back digit for digit on every engine
(``crmcore_sql.convert.vat_rate_to_column``). Existing rates are converted to what the adapter
read before (the stored value at 4 decimals, without trailing zeros: ``0.23``), so every
invoice reads back as before; the downgrade stores them as NUMERIC again (rounded to 4).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 5_000
NUMERIC = sa.Numeric(7, 4)
TEXT = sa.String(24)  # crmcore_sql.tables.VAT_RATE_LENGTH when written


def rate_text(value: Any) -> str:
    """A stored NUMERIC(7, 4) rate (Decimal, float or int) as the text of the Decimal the
    adapter read it as: 4 decimals, trailing zeros dropped (``0.2300``: ``0.23``)."""
    rate = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return str(rate.quantize(Decimal("0.0001")).normalize())


def _swap(new_type: sa.types.TypeEngine[Any], convert: Any) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # NOT NULL needs a default to be added to existing rows; dropped again below
    op.add_column(
        "invoices",
        sa.Column("vat_rate_new", new_type, nullable=False, server_default=sa.text("'0'")),
    )
    columns: list[sa.ColumnClause[Any]] = [sa.column("id"), sa.column("vat_rate")]
    rows = bind.execute(sa.select(*columns).select_from(sa.table("invoices"))).all()
    statement = (
        sa.table("invoices", sa.column("id"), sa.column("vat_rate_new", new_type))
        .update()
        .where(sa.column("id") == sa.bindparam("k_id"))
        .values(vat_rate_new=sa.bindparam("v", type_=new_type))
    )
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        bind.execute(statement, [{"k_id": row.id, "v": convert(row.vat_rate)} for row in chunk])
    op.drop_column("invoices", "vat_rate")
    op.alter_column(
        "invoices",
        "vat_rate_new",
        new_column_name="vat_rate",
        existing_type=new_type,
        existing_nullable=False,
        **({} if sqlite else {"server_default": None}),  # SQLite cannot drop a default
    )


def upgrade() -> None:
    _swap(TEXT, rate_text)


def downgrade() -> None:
    _swap(NUMERIC, lambda text: Decimal(str(text)))
