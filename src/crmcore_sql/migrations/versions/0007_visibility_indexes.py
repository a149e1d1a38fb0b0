"""visibility indexes for pages in both plans (issue 18)

The scan plan pages newest first with ties broken by id: ``(tenant_id, created_at)`` becomes
``(tenant_id, created_at, id)``. The index plan reads the tasks a viewer created or supervises
in page order: ``(tenant_id, creator_id)`` and ``(tenant_id, supervisor_id)`` gain
``(created_at, id)``. The assignee branch uses the existing ``(user_id, task_id)``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_REPLACED = [
    # (old name, old columns, new name, new columns)
    (
        "ix_tasks_tenant_id_created_at",
        ["tenant_id", "created_at"],
        "ix_tasks_tenant_id_created_at_id",
        ["tenant_id", "created_at", "id"],
    ),
    (
        "ix_tasks_tenant_id_creator_id",
        ["tenant_id", "creator_id"],
        "ix_tasks_tenant_id_creator_id_created_at",
        ["tenant_id", "creator_id", "created_at", "id"],
    ),
    (
        "ix_tasks_tenant_id_supervisor_id",
        ["tenant_id", "supervisor_id"],
        "ix_tasks_tenant_id_supervisor_id_created_at",
        ["tenant_id", "supervisor_id", "created_at", "id"],
    ),
]


def upgrade() -> None:
    for old, _, new, columns in _REPLACED:
        op.create_index(new, "tasks", columns, unique=False)
        op.drop_index(old, table_name="tasks")


def downgrade() -> None:
    for old, columns, new, _ in _REPLACED:
        op.create_index(old, "tasks", columns, unique=False)
        op.drop_index(new, table_name="tasks")
