"""The tables visibility needs (VIS-1..8): users and their permission levels, tasks and their
assignees, documents, message notes and REC-1's CRM records.

Every table carries ``tenant_id`` (VIS-1) and the indexes the compiled filters use: the scan
plan's newest page of a tenant's tasks walks ``(tenant_id, created_at, id)``, the "viewer is an
assignee" EXISTS probes the primary key ``(task_id, user_id)``; the index plan starts from the
reverse index ``(user_id, task_id)`` (the viewer's assignments) and from
``(tenant_id, creator_id | supervisor_id, created_at, id)`` (the viewer's tasks, in page
order). ``users`` is the one users table of :mod:`crmcore_sql.tables` (accounts and
principals alike), re-exported here: the very object.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from crmcore_sql.metadata import metadata
from crmcore_sql.tables import users  # the one users table (issue 16): accounts and principals

__all__ = [
    "crm_records",
    "documents",
    "message_notes",
    "task_assignees",
    "tasks",
    "user_permissions",
    "users",
]

TENANT_ID = 64
ROLE = 32

user_permissions = Table(
    "user_permissions",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("module", String(ROLE), primary_key=True),
    Column("tenant_id", String(TENANT_ID), nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", String(TENANT_ID), nullable=False),
    Column("title", String(200), nullable=False, default=""),
    Column("creator_id", Integer, nullable=True),
    Column("creator_role", String(ROLE), nullable=True),  # the creator's role at creation
    Column("supervisor_id", Integer, nullable=True),  # the controlling supervisor (VIS-2)
    Column("created_at", DateTime(timezone=True), nullable=False),
    # a page newest first, ties broken by id (both plans); the index plan's creator and
    # supervisor branches read a viewer's tasks already in page order (migration 0005)
    Index("ix_tasks_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    Index(
        "ix_tasks_tenant_id_creator_id_created_at", "tenant_id", "creator_id", "created_at", "id"
    ),
    Index(
        "ix_tasks_tenant_id_supervisor_id_created_at",
        "tenant_id",
        "supervisor_id",
        "created_at",
        "id",
    ),
)

task_assignees = Table(
    "task_assignees",
    metadata,
    Column("task_id", Integer, ForeignKey("tasks.id"), primary_key=True),
    Column("user_id", Integer, primary_key=True),
    Column("tenant_id", String(TENANT_ID), nullable=False),
    Index("ix_task_assignees_user_id_task_id", "user_id", "task_id"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", String(TENANT_ID), nullable=False),
    Column("uploader_id", Integer, nullable=True),
    Column("visible_to_all", Boolean, nullable=True),
    Column("file_name", String(255), nullable=False, default=""),
    Index("ix_documents_tenant_id_uploader_id", "tenant_id", "uploader_id"),
)

message_notes = Table(
    "message_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", String(TENANT_ID), nullable=False),
    Column("author_id", Integer, nullable=True),
    Column("internal", Boolean, nullable=True),
    Column("body", String(2000), nullable=False, default=""),
    Index("ix_message_notes_tenant_id_internal", "tenant_id", "internal"),
)

crm_records = Table(
    "crm_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", String(TENANT_ID), nullable=False),
    Column("kind", String(ROLE), nullable=False),
    Column("owner_id", Integer, nullable=True),
    Index("ix_crm_records_tenant_id_kind", "tenant_id", "kind"),
)
