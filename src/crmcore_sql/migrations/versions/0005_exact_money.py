"""money as integer minor units (BILL-7)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00.000000

``invoices.net``, ``invoice_lines.net`` and ``payments.amount`` were ``NUMERIC(19, 4)``, which
SQLite stores as a binary float (``2427.1``) and which holds 15 integer digits at most. They
become ``BIGINT`` counts of the row currency's minor units (``2427.10`` PLN: ``242710``),
exact on every engine. Existing amounts are converted exactly: each stored value is read as
the decimal it was written as (on SQLite the shortest decimal of its float, which is the
amount written, for the 15 significant digits a float keeps) and quantised to the minor unit
as the adapter did on reading (half-even), so every amount reads back as before.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from crmcore.money import minor_units

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# table, amount column, primary key columns
AMOUNTS = (
    ("invoices", "net", ("id",)),
    ("invoice_lines", "net", ("invoice_id", "position")),
    ("payments", "amount", ("id",)),
)
BATCH = 5_000


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest decimal that is this float
    return Decimal(str(value))


def to_minor_units(value: Any, currency: str) -> int:
    """A stored NUMERIC amount (Decimal, float or int) in integer minor units of
    ``currency``, quantised half-even as the adapter read it before."""
    places = minor_units(currency)
    return int(_decimal(value).quantize(Decimal(1).scaleb(-places)).scaleb(places))


def from_minor_units(units: int, currency: str) -> Decimal:
    return Decimal(int(units)).scaleb(-minor_units(currency))


def _convert(
    table: str,
    source: str,
    target: sa.ColumnClause[Any],
    keys: tuple[str, ...],
    up: bool,
) -> None:
    bind = op.get_bind()
    columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in (*keys, source, "currency")]
    rows = bind.execute(sa.select(*columns).select_from(sa.table(table))).all()
    statement = (
        sa.table(table, *(sa.column(name) for name in keys), target)
        .update()
        .where(*(sa.column(name) == sa.bindparam(f"k_{name}") for name in keys))
        .values({target.name: sa.bindparam("v", type_=target.type)})
    )
    convert = to_minor_units if up else from_minor_units
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        bind.execute(
            statement,
            [
                {
                    **{f"k_{name}": row._mapping[name] for name in keys},
                    "v": convert(row._mapping[source], row._mapping["currency"]),
                }
                for row in chunk
            ],
        )


def _swap(new_type: sa.types.TypeEngine[Any], up: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, keys in AMOUNTS:
        staging = f"{column}_new"
        # NOT NULL needs a default to be added to existing rows; dropped again below
        op.add_column(
            table, sa.Column(staging, new_type, nullable=False, server_default=sa.text("0"))
        )
        _convert(table, column, sa.column(staging, new_type), keys, up)
        op.drop_column(table, column)
        op.alter_column(
            table,
            staging,
            new_column_name=column,
            existing_type=new_type,
            existing_nullable=False,
            **({} if sqlite else {"server_default": None}),  # SQLite cannot drop a default
        )


def upgrade() -> None:
    _swap(sa.BigInteger(), up=True)


def downgrade() -> None:
    _swap(sa.Numeric(19, 4), up=False)
