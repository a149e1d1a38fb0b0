"""A visibility policy compiled to a SQLAlchemy 2.0 WHERE clause (VIS-1, VIS-8).

:func:`visibility_filter` turns the policy of :mod:`crmcore.visibility` for one viewer, record
kind and action into a boolean SQL expression over the kind's table:

- viewer-only tests (role, permission level) are decided first, so the SQL holds only what
  depends on the row;
- "viewer is among the <relation>" becomes a correlated ``EXISTS`` on the association table's
  primary key;
- every comparison is two-valued (a NULL column compares false, even under ``NOT``), which is
  what the in-memory evaluator does;
- the tenant condition (VIS-1) is always added, whatever the policy says.

    select(tasks.c.id).where(visibility_filter(DEFAULT_POLICY, viewer, RecordKind.TASK))

:func:`visible_page` builds a whole page (newest first, keyset-paginated after a
:class:`PageKey`) and chooses between two plans (:func:`choose_plan`): a viewer whose visible
set is bounded by relations (assignee, creator, supervisor) gets a UNION of index lookups, one
per relation; a viewer who sees most of the tenant (the owner) gets the walk of the
``(tenant_id, created_at, id)`` index. Both plans select the same rows.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
    union,
)

from crmcore.dates import require_aware
from crmcore.errors import NotFound, PolicyCompileError, ValidationError
from crmcore.visibility import (
    CRM_KINDS,
    Action,
    AllOf,
    Always,
    Anchor,
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
    assume,
    partially_evaluate,
    relation_cover,
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

__all__ = [
    "DEFAULT_MAPPINGS",
    "KindMapping",
    "PageKey",
    "Plan",
    "RelationMapping",
    "VisiblePage",
    "choose_plan",
    "compile_condition",
    "fetch_visible_page",
    "load_principal",
    "page_key_of",
    "visibility_filter",
    "visible_page",
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
    viewer's tenant (VIS-1, always) and the policy, as :func:`crmcore.visibility.decide`."""
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


# --- pages: two plans, one answer ----------------------------------------------------------------


class Plan(enum.StrEnum):
    """How :func:`visible_page` reads a page (both give the same rows, VIS-8)."""

    #: walk ``(tenant, created, id)`` newest first and test each row: for a viewer who sees
    #: most of the tenant (the owner), whose page fills within the first rows
    SCAN = "scan"
    #: a UNION of one index lookup per relation that bounds the visible set (the viewer's
    #: assignments, the tasks they created, those they supervise), each ordered and limited
    RELATIONS = "relations"


@attrs.frozen
class PageKey:
    """Where the next page starts: after the record ``(created_at, id)`` (newest first; ties on
    ``created_at`` broken by the id). ``created_at`` must be aware (TIME-1)."""

    created_at: datetime
    id: int

    def __attrs_post_init__(self) -> None:
        require_aware(self.created_at, "after.created_at")
        if isinstance(self.id, bool) or not isinstance(self.id, int):
            raise ValidationError(f"must be a record id, got {self.id!r}", field="after.id")


@attrs.frozen
class VisiblePage:
    """One page of visible rows, and the key of the next page (``None`` after the last)."""

    rows: tuple[Row[Any], ...]
    next: PageKey | None


def _residual(
    policy: VisibilityPolicy, viewer: Principal, kind: RecordKind, action: Action
) -> Condition:
    return partially_evaluate(policy.condition(kind, action), viewer)


def _usable(mapping: KindMapping) -> Callable[[Anchor], bool]:
    def usable(anchor: Anchor) -> bool:
        match anchor:
            case ViewerIn(relation):
                link = mapping.relations.get(relation)
                return link is not None and link.indexed_by_member
            case AttributeIsViewer(name) | ViewerSupervises(name):
                return name in mapping.indexed
        return False

    return usable


def _cover(residual: Condition, mapping: KindMapping) -> frozenset[Anchor] | None:
    return relation_cover(residual, _usable(mapping))


def choose_plan(
    policy: VisibilityPolicy,
    viewer: Principal,
    kind: RecordKind,
    action: Action = Action.VIEW,
    mappings: Mapping[RecordKind, KindMapping] = DEFAULT_MAPPINGS,
) -> Plan:
    """:attr:`Plan.RELATIONS` when, for this viewer, the policy only shows records tied to the
    viewer by indexed relations (a non-empty :func:`crmcore.visibility.relation_cover`);
    :attr:`Plan.SCAN` otherwise (the owner sees every employee's task: VIS-3)."""
    residual = _residual(policy, viewer, kind, action)
    cover = _cover(residual, mappings[kind])
    return Plan.RELATIONS if cover else Plan.SCAN


def _page_mapping(kind: RecordKind, mappings: Mapping[RecordKind, KindMapping]) -> KindMapping:
    mapping = mappings[kind]
    if mapping.created_column is None:
        raise PolicyCompileError(
            f"{mapping.table.name} has no creation-time column to page {kind} by",
            field="kind",
        )
    return mapping


_AFTER_AT = "crmcore_after_created"
_AFTER_ID = "crmcore_after_id"


def _after(mapping: KindMapping, after: bool) -> list[ColumnElement[bool]]:
    if not after:
        return []
    assert mapping.created_column is not None
    table = mapping.table
    created, row_id = table.c[mapping.created_column], table.c[mapping.id_column]
    at = bindparam(_AFTER_AT, type_=created.type)
    # the first term bounds the index range; the second breaks ties by id
    return [created <= at, or_(created < at, row_id < bindparam(_AFTER_ID, type_=Integer))]


def _check_page_arguments(limit: object, after: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError(f"must be a positive number of rows, got {limit!r}", field="limit")
    if after is not None and not isinstance(after, PageKey):
        raise ValidationError(f"must be a PageKey, got {after!r}", field="after")


def _values(viewer: Principal, after: PageKey | None) -> dict[str, object]:
    values: dict[str, object] = {
        "crmcore_viewer_id": viewer.user_id,
        "crmcore_tenant_id": viewer.tenant_id,
    }
    if viewer.subordinates:
        values["crmcore_subordinates"] = sorted(viewer.subordinates)
    if after is not None:
        # stored in UTC (naive on SQLite and MariaDB): compared in UTC
        values[_AFTER_AT] = after.created_at.astimezone(UTC)
        values[_AFTER_ID] = after.id
    return values


_TEMPLATES: dict[tuple[object, ...], tuple[object, Select[Any]]] = {}


def _template(
    policy: VisibilityPolicy,
    viewer: Principal,
    kind: RecordKind,
    action: Action,
    plan: Plan | None,
    limit: int,
    after: bool,
    mappings: Mapping[RecordKind, KindMapping],
) -> Select[Any]:
    """The page statement with the viewer's values as parameters, built once per policy and
    viewer shape: what partial evaluation reads (role, permission level, whether they
    supervise anyone). Building it costs more than an index plan's query runs."""
    shape = (viewer.role, viewer.permissions, bool(viewer.subordinates))
    key = (policy, kind, action, plan, limit, after, shape, id(mappings))
    cached = _TEMPLATES.get(key)
    if cached is not None and cached[0] is mappings:
        return cached[1]
    statement = _build(policy, viewer, kind, action, plan, limit, after, mappings)
    if len(_TEMPLATES) >= 512:
        _TEMPLATES.clear()
    _TEMPLATES[key] = (mappings, statement)  # the mappings kept alive: their id stays theirs
    return statement


def _build(
    policy: VisibilityPolicy,
    viewer: Principal,
    kind: RecordKind,
    action: Action,
    plan: Plan | None,
    limit: int,
    after: bool,
    mappings: Mapping[RecordKind, KindMapping],
) -> Select[Any]:
    mapping = _page_mapping(kind, mappings)
    table = mapping.table
    assert mapping.created_column is not None
    created, row_id = table.c[mapping.created_column], table.c[mapping.id_column]
    residual = _residual(policy, viewer, kind, action)
    cover = _cover(residual, mapping)
    chosen = plan if plan is not None else (Plan.RELATIONS if cover else Plan.SCAN)
    if chosen is Plan.RELATIONS and cover is None:
        raise PolicyCompileError(
            f"{chosen!s}: the policy for {kind} {action} is not bounded by indexed "
            f"relations for user {viewer.user_id}; only the scan plan can read it",
            field="plan",
            rule="VIS-8",
        )
    if chosen is Plan.SCAN or not cover:
        return (
            select(table)
            .where(
                _filter(policy, viewer, kind, action, mapping, _PARAMETERS),
                *_after(mapping, after),
            )
            .order_by(created.desc(), row_id.desc())
            .limit(limit)
        )
    branches = []
    for anchor in sorted(cover, key=repr):  # a stable statement for a stable plan cache
        condition = partially_evaluate(assume(residual, anchor), viewer)
        if not isinstance(condition, Never):
            branch = _branch(anchor, condition, viewer, kind, mapping, after, limit)
            branches.append(branch.subquery())
    if not branches:
        return select(table).where(false()).limit(limit)
    keys = (
        branches[0]
        if len(branches) == 1
        else union(*(select(b.c.id, b.c.created) for b in branches)).subquery("visible")
    )
    return (
        select(table)
        .join(keys, row_id == keys.c.id)
        .order_by(keys.c.created.desc(), keys.c.id.desc())
        .limit(limit)
    )


def _branch(
    anchor: Anchor,
    condition: Condition,
    viewer: Principal,
    kind: RecordKind,
    mapping: KindMapping,
    after: bool,
    limit: int,
) -> Select[Any]:
    """The newest ``limit`` rows tied to the viewer by ``anchor`` that pass ``condition``."""
    table = mapping.table
    assert mapping.created_column is not None
    created, row_id = table.c[mapping.created_column], table.c[mapping.id_column]
    tenant = table.c[mapping.tenant_column]
    where: list[ColumnElement[bool]] = []
    if mapping.kind_column is not None:
        where.append(table.c[mapping.kind_column] == kind.value)
    query = select(row_id.label("id"), created.label("created"))
    if isinstance(anchor, ViewerIn):
        link = mapping.relations[anchor.relation]
        association = link.table
        query = query.select_from(
            association.join(table, association.c[link.record_column] == row_id)
        )
        where.append(association.c[link.member_column] == _PARAMETERS.user_id)
        # VIS-1 still, but as an expression no index serves: without statistics (SQLite
        # before ANALYZE) a planner would otherwise walk (tenant, created, id) to skip the
        # sort, row after row, instead of reading the viewer's few assignments
        where.append(func.coalesce(tenant, tenant) == _PARAMETERS.tenant_id)
    else:
        where.append(tenant == _PARAMETERS.tenant_id)
        where.append(compile_condition(anchor, viewer, mapping, binds=_PARAMETERS))
    if not isinstance(condition, Always):
        where.append(compile_condition(condition, viewer, mapping, binds=_PARAMETERS))
    return (
        query.where(*where, *_after(mapping, after))
        .order_by(created.desc(), row_id.desc())
        .limit(limit)
    )


def visible_page(
    policy: VisibilityPolicy,
    viewer: Principal,
    kind: RecordKind,
    action: Action = Action.VIEW,
    *,
    limit: int = 50,
    after: PageKey | None = None,
    plan: Plan | None = None,
    mappings: Mapping[RecordKind, KindMapping] = DEFAULT_MAPPINGS,
) -> Select[Any]:
    """The statement for one page of the records of ``kind`` the viewer may act on, newest
    first (``created``, then id, descending), after ``after`` when given; every column of the
    kind's table. ``plan`` defaults to :func:`choose_plan`; both plans select the same rows.

    The index plan reads, per relation of the cover, at most ``limit`` rows through that
    relation's index, each branch filtered by the policy with its own relation assumed true,
    and keeps the newest ``limit`` of their UNION. The statement carries the viewer's values
    as parameters named ``crmcore_*``."""
    _check_page_arguments(limit, after)
    template = _template(policy, viewer, kind, action, plan, limit, after is not None, mappings)
    return template.params(_values(viewer, after))


def page_key_of(row: Row[Any], mapping: KindMapping = _TASKS) -> PageKey:
    """The key of the page after ``row`` (a row of :func:`visible_page`). A naive
    ``created_at`` read back from SQLite or MariaDB is UTC, as it was stored."""
    assert mapping.created_column is not None
    at = row._mapping[mapping.table.c[mapping.created_column]]
    if not isinstance(at, datetime):
        raise ValidationError(f"must be a datetime, got {at!r}", field=mapping.created_column)
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return PageKey(at, row._mapping[mapping.table.c[mapping.id_column]])


def fetch_visible_page(
    connection: Connection,
    policy: VisibilityPolicy,
    viewer: Principal,
    kind: RecordKind,
    action: Action = Action.VIEW,
    *,
    limit: int = 50,
    after: PageKey | None = None,
    plan: Plan | None = None,
    mappings: Mapping[RecordKind, KindMapping] = DEFAULT_MAPPINGS,
) -> VisiblePage:
    """Run :func:`visible_page`; the page's ``next`` key is ``None`` when it is not full."""
    _check_page_arguments(limit, after)
    template = _template(policy, viewer, kind, action, plan, limit, after is not None, mappings)
    rows: Sequence[Row[Any]] = connection.execute(template, _values(viewer, after)).all()
    full = len(rows) == limit
    return VisiblePage(tuple(rows), page_key_of(rows[-1], mappings[kind]) if full else None)


def load_principal(connection: Connection, tenant_id: str, user_id: int) -> Principal:
    """The principal stored for a user of a tenant (role, permission level, supervisor)."""
    row = connection.execute(
        select(users.c.role, users.c.supervisor_id).where(
            users.c.tenant_id == tenant_id, users.c.id == user_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no user {user_id} in tenant {tenant_id!r}", field="user_id", rule="VIS-1")
    modules = connection.execute(
        select(user_permissions.c.module).where(
            user_permissions.c.tenant_id == tenant_id, user_permissions.c.user_id == user_id
        )
    ).scalars()
    subordinates = connection.execute(
        select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.supervisor_id == user_id)
    ).scalars()
    return Principal(
        tenant_id,
        user_id,
        Role(row.role),
        frozenset(Module(m) for m in modules),
        row.supervisor_id,
        frozenset(subordinates),
    )
