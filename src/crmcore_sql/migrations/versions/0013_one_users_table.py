"""one users table: tenant_users merged into users (issue 16)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:00:00.000000

The accounts of ``crmcore.ports.User`` (``tenant_users``: ``tenant_id``, ``user_id``, ``role``,
``supervisor`` by user id) become rows of the visibility tables' ``users`` (integer ``id``,
``tenant_id``, ``role``, ``supervisor_id``, whose ids tasks, assignees and permissions refer
to): ``users.account`` is the account's user id (unique per tenant with ``tenant_id``;
NULL for a principal that has no account), ``supervisor_id`` the supervisor account's row.
Each account gets an id above every stored one, in ``(tenant_id, user_id)`` order;
``users_counter`` keeps the last id given (the users repository locks it to give the next).
The accounts' role ``user`` is stored as ``employee``, the one spelling of ``crmcore.roles.Role``
(issue 16); other roles are copied as they are.

An account whose supervisor is no account of its tenant (possible only through the
repository, never through ``create_user``, VIS-2) cannot be linked: the upgrade then stops
before changing anything, naming such accounts, to be fixed (or their supervisor cleared)
first.

The downgrade gives ``tenant_users`` back from the rows with an account (``employee`` as
``user``) and deletes those rows from ``users``, with their permissions and the supervisor
links to them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from crmcore_sql.metadata import exact_collation

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_BATCH = 1000
_COUNTER = "users"  # the one row of users_counter (crmcore_sql.repositories)

_tenant_users = sa.table(
    "tenant_users",
    sa.column("tenant_id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("role", sa.String),
    sa.column("supervisor", sa.String),
)
_users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.String),
    sa.column("role", sa.String),
    sa.column("supervisor_id", sa.Integer),
    sa.column("account", sa.String),
)
_counter = sa.table("users_counter", sa.column("name", sa.String), sa.column("last_id"))
_permissions = sa.table("user_permissions", sa.column("user_id", sa.Integer))


def _in_batches(bind: sa.Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        bind.execute(statement, rows[start : start + _BATCH])


def upgrade() -> None:
    bind = op.get_bind()
    accounts = bind.execute(
        sa.select(_tenant_users).order_by(_tenant_users.c.tenant_id, _tenant_users.c.user_id)
    ).all()
    names = {(row.tenant_id, row.user_id) for row in accounts}
    dangling = [
        f"{row.tenant_id!r}/{row.user_id!r} (supervisor {row.supervisor!r})"
        for row in accounts
        if row.supervisor is not None and (row.tenant_id, row.supervisor) not in names
    ]
    if dangling:
        raise RuntimeError(
            f"{len(dangling)} account(s) of tenant_users name a supervisor that is no account of"
            f" their tenant (VIS-2): {', '.join(dangling[:5])}; fix or clear their supervisor"
            " before upgrading to 0013"
        )
    op.create_table(
        "users_counter",
        # exact collation on MariaDB/MySQL: crmcore_sql.metadata gives it to every crmcore table
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_users_counter")),
    )
    op.add_column("users", sa.Column("account", sa.String(length=64), nullable=True))
    op.create_index("ix_users_tenant_id_account", "users", ["tenant_id", "account"], unique=True)
    last = int(bind.execute(sa.select(sa.func.max(_users.c.id))).scalar() or 0)
    ids = {(row.tenant_id, row.user_id): last + n for n, row in enumerate(accounts, 1)}
    rows = [
        {
            "id": ids[(row.tenant_id, row.user_id)],
            "tenant_id": row.tenant_id,
            "role": "employee" if row.role == "user" else row.role,
            "supervisor_id": None,  # linked below: the supervisor's row must exist first
            "account": row.user_id,
        }
        for row in accounts
    ]
    _in_batches(bind, sa.insert(_users), rows)
    links = [
        {"k_id": ids[(row.tenant_id, row.user_id)], "v": ids[(row.tenant_id, row.supervisor)]}
        for row in accounts
        if row.supervisor is not None
    ]
    link = (
        sa.update(_users)
        .where(_users.c.id == sa.bindparam("k_id"))
        .values(supervisor_id=sa.bindparam("v"))
    )
    _in_batches(bind, link, links)
    bind.execute(sa.insert(_counter).values(name=_COUNTER, last_id=last + len(accounts)))
    op.drop_table("tenant_users")


def downgrade() -> None:
    bind = op.get_bind()
    collation = exact_collation(bind.dialect)
    mysql: dict[str, Any] = (
        {"mysql_charset": "utf8mb4", "mysql_collate": collation} if collation else {}
    )
    supervisor = _users.alias("supervisor")
    accounts = bind.execute(
        sa.select(_users.c.id, _users.c.tenant_id, _users.c.account, _users.c.role)
        .add_columns(supervisor.c.account.label("supervisor"))
        .select_from(
            _users.outerjoin(
                supervisor,
                sa.and_(
                    supervisor.c.id == _users.c.supervisor_id,
                    supervisor.c.tenant_id == _users.c.tenant_id,
                ),
            )
        )
        .where(_users.c.account.is_not(None))
        .order_by(_users.c.id)
    ).all()
    op.create_table(
        "tenant_users",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("supervisor", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_tenant_users")),
        # no longer a table of crmcore_sql.metadata: its exact collation given here (VIS-1)
        **mysql,
    )
    rows = [
        {
            "tenant_id": row.tenant_id,
            "user_id": row.account,
            "role": "user" if row.role == "employee" else row.role,
            "supervisor": row.supervisor,
        }
        for row in accounts
    ]
    _in_batches(bind, sa.insert(_tenant_users), rows)
    ids = [row.id for row in accounts]
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        bind.execute(sa.delete(_permissions).where(_permissions.c.user_id.in_(chunk)))
        bind.execute(
            sa.update(_users).where(_users.c.supervisor_id.in_(chunk)).values(supervisor_id=None)
        )
    for start in range(0, len(ids), _BATCH):
        bind.execute(sa.delete(_users).where(_users.c.id.in_(ids[start : start + _BATCH])))
    op.drop_index("ix_users_tenant_id_account", table_name="users")
    op.drop_column("users", "account")
    op.drop_table("users_counter")
