"""billing failures; billing marks per day

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00.000000

``billing_failures`` holds the tenants the billing job could not bill (one row per tenant: the
day of the run, the error, its rule). ``billing_marks.period`` becomes the day a run billed up
to (``YYYY-MM-DD``, ``crmcore bill --up-to``); the marks of older runs, per month
(``YYYY-MM``), become the month's last day, which is what ``--period YYYY-MM`` now stands for.
The downgrade turns the marks of a month's last day back into months and drops the others
(a re-run of a month then issues nothing twice: invoices are keyed, BILL-6).
"""

from __future__ import annotations

import calendar

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MARKS = sa.table("billing_marks", sa.column("period", sa.String()))


def _period_length(old: int, new: int) -> None:
    """``billing_marks.period`` as VARCHAR(new) (SQLite: the table copied, in a batch)."""
    with op.batch_alter_table("billing_marks") as table:
        table.alter_column(
            "period",
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=False,
        )


def upgrade() -> None:
    op.create_table(
        "billing_failures",
        # exact collation on MariaDB/MySQL: crmcore_sql.metadata gives it to every crmcore table
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_billing_failures")),
    )
    bind = op.get_bind()
    _period_length(7, 10)
    months = bind.execute(
        sa.select(MARKS.c.period).distinct().where(sa.func.length(MARKS.c.period) == 7)
    ).scalars()
    for month in list(months):
        year, number = int(month[:4]), int(month[5:7])
        last = f"{month}-{calendar.monthrange(year, number)[1]:02d}"
        bind.execute(MARKS.update().where(MARKS.c.period == month).values(period=last))


def downgrade() -> None:
    bind = op.get_bind()
    days = bind.execute(
        sa.select(MARKS.c.period).distinct().where(sa.func.length(MARKS.c.period) == 10)
    ).scalars()
    for day in list(days):
        year, number = int(day[:4]), int(day[5:7])
        if int(day[8:]) == calendar.monthrange(year, number)[1]:  # a month's run
            bind.execute(MARKS.update().where(MARKS.c.period == day).values(period=day[:7]))
        else:  # a daily run: no month's mark (a re-run of the month bills nothing twice)
            bind.execute(MARKS.delete().where(MARKS.c.period == day))
    _period_length(10, 7)
    op.drop_table("billing_failures")
