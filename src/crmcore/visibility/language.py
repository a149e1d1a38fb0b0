"""The vocabulary of visibility (VIS-1..8): roles, modules, principals, records and the rule
language, with its in-memory evaluation. Policies, decisions and the default policy are in
:mod:`crmcore.visibility.policy`, which re-exports everything here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Union

import attrs

from crmcore.errors import PolicyCompileError
from crmcore.roles import Role

__all__ = [
    "CRM_KINDS",
    "EMPLOYER_ROLES",
    "Action",
    "AllOf",
    "Always",
    "Anchor",
    "AnyOf",
    "AttributeEquals",
    "AttributeIn",
    "AttributeIsNull",
    "AttributeIsViewer",
    "Condition",
    "CrmRecord",
    "Document",
    "Module",
    "Never",
    "Not",
    "Note",
    "Principal",
    "Record",
    "RecordKind",
    "Role",
    "Task",
    "ViewerHasModule",
    "ViewerIn",
    "ViewerRole",
    "ViewerSupervises",
    "assume",
    "evaluate",
    "module_of",
    "partially_evaluate",
    "relation_cover",
]


#: The employer's roles (VIS-2): tasks they create follow VIS-2, every other creator's VIS-3.
EMPLOYER_ROLES = frozenset({Role.OWNER, Role.ADMINISTRATOR})


class Module(enum.StrEnum):
    """A function area a permission level may grant (VIS-7); REC-1's three plus two more."""

    CONTACTS = "contacts"
    SALES = "sales"
    ACTIVITIES = "activities"
    DOCUMENTS = "documents"
    MAILBOX = "mailbox"


class Action(enum.StrEnum):
    VIEW = "view"
    EDIT = "edit"
    DELETE = "delete"
    EXPORT = "export"


class RecordKind(enum.StrEnum):
    """Kinds of record: tasks, documents, message notes and the counted records of REC-1."""

    TASK = "task"
    DOCUMENT = "document"
    NOTE = "note"
    CLIENT = "client"
    CONTACT_PERSON = "contact_person"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"
    PRODUCT = "product"
    OFFER = "offer"
    ORDER = "order"
    INVOICE = "invoice"
    PROJECT = "project"
    MEETING = "meeting"
    EVENT = "event"
    EMAIL = "email"
    PHONE_CALL = "phone_call"
    LETTER = "letter"


_MODULES: dict[RecordKind, Module] = {
    RecordKind.TASK: Module.ACTIVITIES,
    RecordKind.DOCUMENT: Module.DOCUMENTS,
    RecordKind.NOTE: Module.MAILBOX,
    **{k: Module.CONTACTS for k in (RecordKind.CLIENT, RecordKind.CONTACT_PERSON, RecordKind.LEAD)},
    **{
        k: Module.SALES
        for k in (
            RecordKind.OPPORTUNITY,
            RecordKind.PRODUCT,
            RecordKind.OFFER,
            RecordKind.ORDER,
            RecordKind.INVOICE,
            RecordKind.PROJECT,
        )
    },
    **{
        k: Module.ACTIVITIES
        for k in (
            RecordKind.MEETING,
            RecordKind.EVENT,
            RecordKind.EMAIL,
            RecordKind.PHONE_CALL,
            RecordKind.LETTER,
        )
    },
}

#: The record kinds of REC-1 other than tasks, stored as generic CRM records.
CRM_KINDS = frozenset(_MODULES) - {RecordKind.TASK, RecordKind.DOCUMENT, RecordKind.NOTE}


def module_of(kind: RecordKind) -> Module:
    """The module a record kind belongs to (REC-1, VIS-7).

    >>> module_of(RecordKind.OFFER)
    <Module.SALES: 'sales'>
    """
    return _MODULES[kind]


def _modules(value: Iterable[Module]) -> frozenset[Module]:
    return frozenset(value)


def _ids(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


def _values(value: Iterable[str | int]) -> frozenset[str | int]:
    return frozenset(value)


def _roles(value: Iterable[Role]) -> frozenset[Role]:
    return frozenset(value)


def _conditions(value: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(value)


# --- principals and records -------------------------------------------------------------------


@attrs.frozen
class Principal:
    """A user of one tenant: role, permission level (the modules they may use, VIS-7) and the
    user who supervises them (``None`` at the top of the org chart)."""

    tenant_id: str
    user_id: int
    role: Role
    permissions: frozenset[Module] = attrs.field(default=frozenset(), converter=_modules)
    supervisor_id: int | None = None
    # the users this one supervises directly (the other end of the supervisor links)
    subordinates: frozenset[int] = attrs.field(default=frozenset(), converter=_ids)


@attrs.frozen
class Task:
    """A task; ``creator_role`` is the creator's role when the task was created (VIS-2/3)."""

    tenant_id: str
    id: int
    creator_id: int | None
    creator_role: Role | None
    assignees: frozenset[int] = attrs.field(default=frozenset(), converter=_ids)
    supervisor_id: int | None = None  # the supervisor who controls the task (VIS-2)
    kind: RecordKind = attrs.field(default=RecordKind.TASK, init=False)


@attrs.frozen
class Document:
    """An uploaded document; ``visible_to_all`` False means only its uploader sees it (VIS-4)."""

    tenant_id: str
    id: int
    uploader_id: int | None
    visible_to_all: bool | None = True
    kind: RecordKind = attrs.field(default=RecordKind.DOCUMENT, init=False)


@attrs.frozen
class Note:
    """A note on a mailbox message; internal notes never reach a customer (MAIL-6, VIS-6)."""

    tenant_id: str
    id: int
    author_id: int | None
    internal: bool | None = True
    kind: RecordKind = attrs.field(default=RecordKind.NOTE, init=False)


@attrs.frozen
class CrmRecord:
    """One of REC-1's counted records (client, lead, offer, meeting, ...)."""

    tenant_id: str
    id: int
    kind: RecordKind
    owner_id: int | None = None


Record = Task | Document | Note | CrmRecord


# --- the rule language ------------------------------------------------------------------------
# Conditions about the record (attributes, relations) become SQL; conditions about the viewer
# alone (role, permission level) are decided before any SQL is built. Every comparison with a
# missing value (None / NULL) is false, in memory and in SQL alike (VIS-8).


@attrs.frozen
class Always:
    """True for every record."""


@attrs.frozen
class Never:
    """False for every record."""


@attrs.frozen
class AttributeEquals:
    """``record.<attribute> == value`` (false when the attribute is missing)."""

    attribute: str
    value: str | int | bool


@attrs.frozen
class AttributeIn:
    """``record.<attribute>`` is one of ``values`` (false when missing)."""

    attribute: str
    values: frozenset[str | int] = attrs.field(converter=_values)


@attrs.frozen
class AttributeIsNull:
    """``record.<attribute>`` is missing."""

    attribute: str


@attrs.frozen
class AttributeIsViewer:
    """``record.<attribute>`` is the viewer's user id (creator, uploader, supervisor...)."""

    attribute: str


@attrs.frozen
class ViewerIn:
    """The viewer is among ``record.<relation>`` (e.g. the task's assignees)."""

    relation: str


@attrs.frozen
class ViewerSupervises:
    """``record.<attribute>`` is a user the viewer supervises directly (supervisor links)."""

    attribute: str


@attrs.frozen
class ViewerRole:
    """The viewer's role is one of ``roles``."""

    roles: frozenset[Role] = attrs.field(converter=_roles)


@attrs.frozen
class ViewerHasModule:
    """The viewer's permission level includes ``module`` (VIS-7)."""

    module: Module


@attrs.frozen
class AllOf:
    items: tuple[Condition, ...] = attrs.field(converter=_conditions)


@attrs.frozen
class AnyOf:
    items: tuple[Condition, ...] = attrs.field(converter=_conditions)


@attrs.frozen
class Not:
    item: Condition


Condition = Union[  # noqa: UP007 - a forward-referencing alias needs Union
    Always,
    Never,
    AttributeEquals,
    AttributeIn,
    AttributeIsNull,
    AttributeIsViewer,
    ViewerIn,
    ViewerRole,
    ViewerSupervises,
    ViewerHasModule,
    AllOf,
    AnyOf,
    Not,
]


def _has_complement(parts: list[Condition]) -> bool:
    return any(isinstance(p, Not) and p.item in parts for p in parts)


def _rewrite(condition: Condition, leaf: Callable[[Condition], Condition]) -> Condition:
    """The condition with every leaf replaced by ``leaf(it)`` and the Always/Never that result
    folded away (an empty AllOf is Always, an empty AnyOf Never)."""
    match condition:
        case AllOf(items):
            parts = [_rewrite(i, leaf) for i in items]
            if any(isinstance(p, Never) for p in parts):
                return Never()
            kept: list[Condition] = [p for p in parts if not isinstance(p, Always)]
            if _has_complement(kept):  # p and not p: the logic is two-valued
                return Never()
            return kept[0] if len(kept) == 1 else (AllOf(kept) if kept else Always())
        case AnyOf(items):
            parts = [_rewrite(i, leaf) for i in items]
            if any(isinstance(p, Always) for p in parts):
                return Always()
            kept_any: list[Condition] = [p for p in parts if not isinstance(p, Never)]
            if _has_complement(kept_any):  # p or not p
                return Always()
            if len(kept_any) == 1:
                return kept_any[0]
            return AnyOf(kept_any) if kept_any else Never()
        case Not(item):
            inner = _rewrite(item, leaf)
            if isinstance(inner, Always):
                return Never()
            if isinstance(inner, Never):
                return Always()
            return Not(inner)
    return leaf(condition)


def partially_evaluate(condition: Condition, viewer: Principal) -> Condition:
    """The condition with every viewer-only test replaced by Always/Never and simplified, so
    what is left is about the record only (what the SQL compiler translates)."""

    def decide_viewer_only(leaf: Condition) -> Condition:
        match leaf:
            case ViewerRole(roles):
                return Always() if viewer.role in roles else Never()
            case ViewerHasModule(module):
                return Always() if module in viewer.permissions else Never()
            case ViewerSupervises() if not viewer.subordinates:
                return Never()
        return leaf

    return _rewrite(condition, decide_viewer_only)


#: The leaves that tie a record to the viewer through a relation (creator, assignee,
#: supervisor...): the visible set of a viewer bounded by them is small and indexed.
Anchor = Union[AttributeIsViewer, ViewerIn, ViewerSupervises]  # noqa: UP007 - like Condition


def _always_usable(anchor: Anchor) -> bool:
    return True


def relation_cover(
    condition: Condition, usable: Callable[[Anchor], bool] = _always_usable
) -> frozenset[Anchor] | None:
    """Relation leaves of which at least one holds on every record the condition allows (VIS-8
    is preserved: ``condition`` implies the OR of the cover), or ``None`` when the condition
    is not bounded by usable relations (``Always``, a negation, an attribute test alone).

    An AND is bounded by its most selective bounded part, an OR by the union of its parts'
    covers (only when every part is bounded); ``Never`` by the empty cover. The SQL compiler
    turns a cover into a UNION of index lookups, one per anchor.

    >>> relation_cover(AnyOf([AttributeIsViewer("creator_id"), ViewerIn("assignees")])) == {
    ...     AttributeIsViewer("creator_id"), ViewerIn("assignees")}
    True
    >>> relation_cover(AnyOf([AttributeIsViewer("creator_id"), Always()])) is None
    True
    """
    match condition:
        case Never():
            return frozenset()
        case AttributeIsViewer() | ViewerIn() | ViewerSupervises():
            return frozenset({condition}) if usable(condition) else None
        case AllOf(items):
            covers = [c for c in (relation_cover(i, usable) for i in items) if c is not None]
            return min(covers, key=len) if covers else None
        case AnyOf(items):
            union: set[Anchor] = set()
            for item in items:
                cover = relation_cover(item, usable)
                if cover is None:
                    return None
                union |= cover
            return frozenset(union)
    return None


def assume(condition: Condition, known: Anchor) -> Condition:
    """The condition on the records where ``known`` holds: every occurrence of ``known``
    replaced by ``Always`` and simplified. ``assume(c, a)`` and ``c`` agree on every record
    where ``a`` is true, which is all a branch of the index plan reads.

    >>> assume(AnyOf([AttributeIsViewer("creator_id"), ViewerIn("assignees")]),
    ...        ViewerIn("assignees"))
    Always()
    """
    return _rewrite(condition, lambda leaf: Always() if leaf == known else leaf)


def _attribute(record: Record, name: str) -> object:
    if not hasattr(record, name) or name in {"tenant_id", "kind"}:
        raise PolicyCompileError(f"{record.kind} has no attribute {name!r}", field=name)
    return getattr(record, name)


def evaluate(condition: Condition, viewer: Principal, record: Record) -> bool:
    """The condition's truth for one record (two-valued: a missing value compares false)."""
    match condition:
        case Always():
            return True
        case Never():
            return False
        case AttributeEquals(name, value):
            found = _attribute(record, name)
            return found is not None and found == value
        case AttributeIn(name, values):
            found = _attribute(record, name)
            return found is not None and found in values
        case AttributeIsNull(name):
            return _attribute(record, name) is None
        case AttributeIsViewer(name):
            # a missing value on either side compares false: a viewer without a user id is
            # not the unknown creator of a record (VIS-3, VIS-4)
            found = _attribute(record, name)
            return found is not None and viewer.user_id is not None and found == viewer.user_id
        case ViewerSupervises(name):
            found = _attribute(record, name)
            return found is not None and found in viewer.subordinates
        case ViewerIn(relation):
            members = _attribute(record, relation)
            if not isinstance(members, frozenset):
                raise PolicyCompileError(f"{relation!r} is not a relation", field=relation)
            return viewer.user_id in members
        case ViewerRole(roles):
            return viewer.role in roles
        case ViewerHasModule(module):
            return module in viewer.permissions
        case AllOf(items):
            return all(evaluate(i, viewer, record) for i in items)
        case AnyOf(items):
            return any(evaluate(i, viewer, record) for i in items)
        case Not(item):
            return not evaluate(item, viewer, record)
    raise PolicyCompileError(f"not a rule-language condition: {condition!r}")
