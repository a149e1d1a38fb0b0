"""TRIAL-6 identity keys without whitespace and hyphens (issue 14 audit)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 08:00:00.000000

``crmcore.tenancy.trials.normalise_identity`` now drops the whitespace of a key that is no
e-mail address, and its hyphens unless it has a dot (a domain): "CZ 1234 5678" and
"CZ12345678" are one identity. The counts of ``trial_identities`` stored under the former
keys are re-keyed and, where two former keys are now one, added up, so that the allowance
counts every trial of the identity. Nothing changes when no stored key changes.

The downgrade keeps the merged keys (the former spellings are not stored anywhere): a
count is never split again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmcore.tenancy.trials import normalise_identity

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_IDENTITIES = sa.table(
    "trial_identities", sa.column("vendor"), sa.column("identity"), sa.column("trials")
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_IDENTITIES.c.vendor, _IDENTITIES.c.identity, _IDENTITIES.c.trials)
    ).all()
    merged: dict[tuple[str, str], int] = {}
    for vendor, identity, trials in rows:
        key = (vendor, normalise_identity(identity))
        merged[key] = merged.get(key, 0) + trials
    if len(merged) == len(rows) and all(
        (vendor, identity) in merged for vendor, identity, _ in rows
    ):
        return  # every key already in the new form
    connection.execute(sa.delete(_IDENTITIES))
    connection.execute(
        sa.insert(_IDENTITIES),
        [{"vendor": v, "identity": i, "trials": n} for (v, i), n in sorted(merged.items())],
    )


def downgrade() -> None:
    """The merged keys stay (see the module docstring)."""
