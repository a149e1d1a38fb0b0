"""Pages of visible records, newest first, in one of two plans (issue 18; VIS-1, VIS-8).

:func:`visible_page` builds a page (newest first, ties broken by id, keyset-paginated after a
:class:`PageKey`) and :func:`choose_plan` picks its plan from the rule and the viewer: a viewer
whose visible set is bounded by relations (assignee, creator, supervisor) gets a UNION of index
lookups, one per relation, each ordered and limited; a viewer who sees most of the tenant (the
owner) gets the walk of the ``(tenant_id, created_at, id)`` index with the compiled filter of
:mod:`crmcore_sql.visibility`. Both plans select the same rows.
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
    bindparam,
    false,
    func,
    or_,
    select,
    union,
)

from crmcore.dates import require_aware
from crmcore.errors import PolicyCompileError, ValidationError
from crmcore.visibility.policy import (
    Action,
    Always,
    Anchor,
    AttributeIsViewer,
    Condition,
    Never,
    Principal,
    RecordKind,
    ViewerIn,
    ViewerSupervises,
    VisibilityPolicy,
    assume,
    partially_evaluate,
    relation_cover,
)
from crmcore_sql.visibility import (
    _PARAMETERS,
    _TASKS,
    DEFAULT_MAPPINGS,
    KindMapping,
    _filter,
    compile_condition,
)

__all__ = [
    "PageKey",
    "PagePlan",
    "VisiblePage",
    "choose_plan",
    "fetch_visible_page",
    "page_key_of",
    "visible_page",
]


class PagePlan(enum.StrEnum):
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
) -> PagePlan:
    """:attr:`PagePlan.RELATIONS` when, for this viewer, the policy only shows records tied to the
    viewer by indexed relations (a non-empty :func:`crmcore.visibility.policy.relation_cover`);
    :attr:`PagePlan.SCAN` otherwise (the owner sees every employee's task: VIS-3)."""
    residual = _residual(policy, viewer, kind, action)
    cover = _cover(residual, mappings[kind])
    return PagePlan.RELATIONS if cover else PagePlan.SCAN


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
    plan: PagePlan | None,
    limit: int,
    after: bool,
    mappings: Mapping[RecordKind, KindMapping],
) -> Select[Any]:
    """The page statement with the viewer's values as parameters, built once per policy and
    viewer shape: what partial evaluation reads (role, permission level, whether they
    supervise anyone). Building it costs more than an index plan's query runs."""
    # a viewer without a user id compiles to other SQL (matches no creator, VIS-3/4)
    shape = (viewer.role, viewer.permissions, bool(viewer.subordinates), viewer.user_id is None)
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
    plan: PagePlan | None,
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
    chosen = plan if plan is not None else (PagePlan.RELATIONS if cover else PagePlan.SCAN)
    if chosen is PagePlan.RELATIONS and cover is None:
        raise PolicyCompileError(
            f"{chosen!s}: the policy for {kind} {action} is not bounded by indexed "
            f"relations for user {viewer.user_id}; only the scan plan can read it",
            field="plan",
            rule="VIS-8",
        )
    if chosen is PagePlan.SCAN or not cover:
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
    if len(branches) == 1:
        keys = branches[0]
    else:
        # the page's keys first, then its rows: only the rows shown are read by id
        merged = union(*(select(b.c.id, b.c.created) for b in branches)).subquery("visible")
        keys = (
            select(merged.c.id, merged.c.created)
            .order_by(merged.c.created.desc(), merged.c.id.desc())
            .limit(limit)
            .subquery("page")
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
    plan: PagePlan | None = None,
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
    plan: PagePlan | None = None,
    mappings: Mapping[RecordKind, KindMapping] = DEFAULT_MAPPINGS,
) -> VisiblePage:
    """Run :func:`visible_page`; the page's ``next`` key is ``None`` when it is not full."""
    _check_page_arguments(limit, after)
    template = _template(policy, viewer, kind, action, plan, limit, after is not None, mappings)
    rows: Sequence[Row[Any]] = connection.execute(template, _values(viewer, after)).all()
    full = len(rows) == limit
    return VisiblePage(tuple(rows), page_key_of(rows[-1], mappings[kind]) if full else None)
