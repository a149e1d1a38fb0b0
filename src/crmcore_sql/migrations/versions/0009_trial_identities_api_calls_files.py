"""trial identities, API call counters, stored files (issue 14)

- TRIAL-6: ``trial_identities``, the tenants of a vendor created with an identity
  (normalised, :func:`crmcore.tenancy.trials.normalise_identity`), one counter row per vendor and
  identity, so ``trials_of`` reads no history. Filled from the ``TenantCreated`` events of the
  tenants already stored.
- API-1: ``api_call_counts``, one counter row per tenant and vendor day.
- STOR-1: ``file_usage`` (the tenant's stored bytes) and ``stored_files`` (one row per file).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:30:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from crmcore.tenancy.trials import normalise_identity

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    # exact collation on MariaDB/MySQL: crmcore_sql.metadata gives it to every crmcore table
    op.create_table(
        "trial_identities",
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("vendor", "identity", name=op.f("pk_trial_identities")),
    )
    _count_stored_trials()
    op.create_table(
        "api_call_counts",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_api_call_counts")),
    )
    op.create_table(
        "file_usage",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_file_usage")),
    )
    op.create_table(
        "stored_files",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_stored_files")),
    )


def _count_stored_trials() -> None:
    """Count each stored tenant's identity, from the payload of its first event (its
    ``TenantCreated``), normalised as the repository counts it; tenant by tenant in batches."""
    connection = op.get_bind()
    tenants = sa.table("tenants", sa.column("tenant_id"), sa.column("vendor"))
    events = sa.table(
        "tenant_events", sa.column("tenant_id"), sa.column("version"), sa.column("payload")
    )
    counted: dict[tuple[str, str], int] = {}
    after = ""
    while True:
        rows = connection.execute(
            sa.select(tenants.c.tenant_id, tenants.c.vendor, events.c.payload)
            .join(events, events.c.tenant_id == tenants.c.tenant_id)
            .where(events.c.version == 1, tenants.c.tenant_id > after)
            .order_by(tenants.c.tenant_id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for _, vendor, payload in rows:
            identity = json.loads(payload).get("identity")
            key = normalise_identity(identity) if isinstance(identity, str) else ""
            if key:
                counted[(vendor, key[:255])] = counted.get((vendor, key[:255]), 0) + 1
        after = rows[-1][0]
    if counted:
        op.bulk_insert(
            sa.table(
                "trial_identities",
                sa.column("vendor"),
                sa.column("identity"),
                sa.column("trials"),
            ),
            [
                {"vendor": vendor, "identity": identity, "trials": trials}
                for (vendor, identity), trials in sorted(counted.items())
            ],
        )


def downgrade() -> None:
    op.drop_table("stored_files")
    op.drop_table("file_usage")
    op.drop_table("api_call_counts")
    op.drop_table("trial_identities")
