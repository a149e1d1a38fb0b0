"""A visibility policy compiled to a SQLAlchemy 2.0 WHERE clause (VIS-1, VIS-8).

:func:`visibility_filter` turns the policy of :mod:`crmcore.visibility.policy` for one viewer,
record kind and action into a boolean SQL expression over the kind's table:

- viewer-only tests (role, permission level) are decided first, so the SQL holds only what
  depends on the row;
- "viewer is among the <relation>" becomes a correlated ``EXISTS`` on the association table's
  primary key;
- every comparison is two-valued (a NULL column compares false, even under ``NOT``), which is
  what the in-memory evaluator does;
- the tenant condition (VIS-1) is always added, whatever the policy says.

    select(tasks.c.id).where(visibility_filter(DEFAULT_POLICY, viewer, RecordKind.TASK))

Pages of visible records, newest first, with the plan chosen per viewer, are in
:mod:`crmcore_sql.visibility_pages`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)

from crmcore.errors import NotFound, PolicyCompileError, StorageError
from crmcore.visibility.policy import (
    CRM_KINDS,
    Action,
    AllOf,
    Always,
    AnyOf,
    AttributeEquals,
    AttributeIn,
    AttributeIsNull,
    AttributeIsViewer,
    Condition,
    Module,
    Never,
    Not,
    Principal,
    RecordKind,
    Role,
    ViewerIn,
    ViewerSupervises,
    VisibilityPolicy,
    partially_evaluate,
)
from crmcore_sql.tables_visibility import (
    crm_records,
    documents,
    message_notes,
    task_assignees,
    tasks,
    user_permissions,
    users,
)

_E = TypeVar("_E", bound=enum.Enum)

__all__ = [
    "DEFAULT_MAPPINGS",
    "KindMapping",
    "RelationMapping",
    "compile_condition",
    "load_principal",
    "visibility_filter",
]


@attrs.frozen
class RelationMapping:
    """A relation stored as an association table: ``record_column`` points at the record's id,
    ``member_column`` holds the member user's id."""

    table: Table
    record_column: str
    member_column: str
    # an index leads with member_column, so "the viewer's rows" is a lookup (the index plan)
    indexed_by_member: bool = False


@attrs.frozen
class KindMapping:
    """Where a record kind lives: its table, the rule attribute → column names, its relations,
    and (for tables shared by several kinds) the column holding the kind.

    Pages (:func:`visible_page`) need ``created_column``, newest first, ties broken by the id,
    with an index ``(tenant, created, id)``; ``indexed`` names the person attributes with an
    index ``(tenant, attribute, created, id)``, which the index plan may start from."""

    table: Table
    attributes: Mapping[str, str]
    relations: Mapping[str, RelationMapping] = attrs.field(factory=dict)
    kind_column: str | None = None
    id_column: str = "id"
    tenant_column: str = "tenant_id"
    created_column: str | None = None
    indexed: frozenset[str] = frozenset()


_TASKS = KindMapping(
    tasks,
    {a: a for a in ("id", "creator_id", "creator_role", "supervisor_id")},
    {"assignees": RelationMapping(task_assignees, "task_id", "user_id", indexed_by_member=True)},
    created_column="created_at",
    indexed=frozenset({"creator_id", "supervisor_id"}),
)
_DOCUMENTS = KindMapping(documents, {a: a for a in ("id", "uploader_id", "visible_to_all")})
_NOTES = KindMapping(message_notes, {a: a for a in ("id", "author_id", "internal")})
_CRM = KindMapping(crm_records, {a: a for a in ("id", "owner_id")}, kind_column="kind")

#: The mapping of every record kind onto the tables of :mod:`crmcore_sql.tables_visibility`.
DEFAULT_MAPPINGS: Mapping[RecordKind, KindMapping] = {
    RecordKind.TASK: _TASKS,
    RecordKind.DOCUMENT: _DOCUMENTS,
    RecordKind.NOTE: _NOTES,
    **{kind: _CRM for kind in CRM_KINDS},
}


def _sql_value(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _relation_count(condition: Condition) -> int:
    match condition:
        case ViewerIn():
            return 1
        case AllOf(items) | AnyOf(items):
            return sum(_relation_count(i) for i in items)
        case Not(item):
            return _relation_count(item)
    return 0


@attrs.frozen
class _Binds:
    """The viewer's values as named parameters, so that one page statement serves every
    viewer of the same role and permission level (built once, executed with their values)."""

    user_id: Any
    tenant_id: Any
    subordinates: Any


_PARAMETERS = _Binds(
    bindparam("crmcore_viewer_id", type_=Integer),
    bindparam("crmcore_tenant_id", type_=String),
    bindparam("crmcore_subordinates", type_=Integer, expanding=True),
)


def _cheap_first(items: tuple[Condition, ...]) -> tuple[Condition, ...]:
    # Column tests before EXISTS probes: the answer is the same (every term is two-valued or
    # in a positive position) but a row settled by a column never pays for a sub-query.
    return tuple(sorted(items, key=_relation_count))


def compile_condition(
    condition: Condition,
    viewer: Principal,
    mapping: KindMapping,
    *,
    negated: bool = False,
    binds: _Binds | None = None,
) -> ColumnElement[bool]:
    """One record-only condition as SQL. Under a ``NOT`` (``negated``) a comparison with a
    nullable column gets an ``IS NOT NULL`` guard so that SQL's unknown never flips into true;
    outside one, unknown already excludes the row like false does. The viewer's values are
    literals, or ``binds`` (named parameters of a cached page statement)."""
    table = mapping.table
    user_id = viewer.user_id if binds is None else binds.user_id
    subordinates = sorted(viewer.subordinates) if binds is None else binds.subordinates

    def column(name: str) -> ColumnElement[object]:
        if name not in mapping.attributes:
            raise PolicyCompileError(
                f"{table.name} has no column for rule attribute {name!r}", field=name
            )
        return table.c[mapping.attributes[name]]

    def guarded(col: ColumnElement[object], test: ColumnElement[bool]) -> ColumnElement[bool]:
        nullable = getattr(col, "nullable", True)
        return and_(col.is_not(None), test) if negated and nullable else test

    def each(items: tuple[Condition, ...]) -> list[ColumnElement[bool]]:
        return [
            compile_condition(i, viewer, mapping, negated=negated, binds=binds)
            for i in _cheap_first(items)
        ]

    match condition:
        case Always():
            return true()
        case Never():
            return false()
        case AttributeEquals(name, value):
            col = column(name)
            return guarded(col, col == _sql_value(value))
        case AttributeIn(name, values):
            col = column(name)
            return guarded(col, col.in_(sorted((_sql_value(v) for v in values), key=str)))
        case AttributeIsNull(name):
            return column(name).is_(None)
        case AttributeIsViewer(name):
            if viewer.user_id is None:
                # never ``col IS NULL``: a viewer without a user id matches no one (VIS-3/4)
                return false()
            col = column(name)
            return guarded(col, col == user_id)
        case ViewerSupervises(name):
            if not viewer.subordinates:
                return false()
            col = column(name)
            return guarded(col, col.in_(subordinates))
        case ViewerIn(relation):
            if relation not in mapping.relations:
                raise PolicyCompileError(
                    f"{table.name} has no relation {relation!r}", field=relation
                )
            if viewer.user_id is None:
                return false()
            link = mapping.relations[relation]
            association = link.table
            return exists(
                select(1)
                .select_from(association)
                .where(
                    association.c[link.record_column] == table.c[mapping.id_column],
                    association.c[link.member_column] == user_id,
                )
            )
        case AllOf(items):
            items = _cheap_first(items)
            return and_(
                true(),
                *(
                    compile_condition(i, viewer, mapping, negated=negated, binds=binds)
                    for i in items
                ),
            )
        case AnyOf(items):
            items = _cheap_first(items)
            return or_(
                false(),
                *(
                    compile_condition(i, viewer, mapping, negated=negated, binds=binds)
                    for i in items
                ),
            )
        case Not(item):
            return not_(compile_condition(item, viewer, mapping, negated=True, binds=binds))
    raise PolicyCompileError(f"cannot compile {condition!r} (partially evaluate it first)")


def visibility_filter(
    policy: VisibilityPolicy,
    viewer: Principal,
    kind: RecordKind,
    action: Action = Action.VIEW,
    mappings: Mapping[RecordKind, KindMapping] = DEFAULT_MAPPINGS,
) -> ColumnElement[bool]:
    """The WHERE clause selecting exactly the rows of ``kind`` the viewer may act on: the
    viewer's tenant (VIS-1, always) and the policy, as :func:`crmcore.visibility.policy.decide`."""
    return _filter(policy, viewer, kind, action, mappings[kind], None)


def _filter(
    policy: VisibilityPolicy,
    viewer: Principal,
    kind: RecordKind,
    action: Action,
    mapping: KindMapping,
    binds: _Binds | None,
) -> ColumnElement[bool]:
    table = mapping.table
    tenant_id = viewer.tenant_id if binds is None else binds.tenant_id
    scope: list[ColumnElement[bool]] = [table.c[mapping.tenant_column] == tenant_id]
    if mapping.kind_column is not None:
        scope.append(table.c[mapping.kind_column] == kind.value)
    residual = partially_evaluate(policy.condition(kind, action), viewer)
    if isinstance(residual, Never):
        return and_(*scope, false())
    if isinstance(residual, Always):
        return and_(*scope)
    return and_(*scope, compile_condition(residual, viewer, mapping, binds=binds))


def load_principal(connection: Connection, tenant_id: str, user_id: int) -> Principal:
    """The principal stored for a user of a tenant (role, permission level, supervisor)."""
    row = connection.execute(
        select(users.c.role, users.c.supervisor_id).where(
            users.c.tenant_id == tenant_id, users.c.id == user_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no user {user_id} in tenant {tenant_id!r}", field="user_id", rule="VIS-1")
    modules = (
        connection.execute(
            select(user_permissions.c.module).where(
                user_permissions.c.tenant_id == tenant_id, user_permissions.c.user_id == user_id
            )
        )
        .scalars()
        .all()
    )  # read whole: a refusal below must leave no cursor open (SQLite locks)
    subordinates = (
        connection.execute(
            select(users.c.id).where(
                users.c.tenant_id == tenant_id, users.c.supervisor_id == user_id
            )
        )
        .scalars()
        .all()
    )
    return Principal(
        tenant_id,
        user_id,
        _stored(Role, row.role, "users.role"),
        frozenset(_stored(Module, m, "user_permissions.module") for m in modules),
        row.supervisor_id,
        frozenset(subordinates),
    )


def _stored(kind: type[_E], value: object, column: str) -> _E:
    """The member of ``kind`` a stored value names; a StorageError naming the column and
    the value for anything else (a row written outside crmcore)."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        raise StorageError(
            f"stored value {value!r} is not one of {allowed}", field=column
        ) from None
