"""Who sees what (VIS-1..8): one policy, evaluated in memory here and compiled to SQL elsewhere.

A policy is written in a small typed rule language (frozen attrs nodes). :func:`decide` evaluates
it on one record in memory; ``crmcore_sql.visibility.visibility_filter`` compiles the same
policy into a SQLAlchemy WHERE clause, and both give the same answer on every record (VIS-8).

Tenant scope (VIS-1) is never part of a rule: the evaluator refuses every record of another
tenant before it looks at the policy, and the compiler adds the tenant condition to every
filter, so no rule - not even :class:`Always` - can reveal another tenant's record.

>>> owner = Principal("t1", 1, Role.OWNER)
>>> anna = Principal("t1", 2, Role.EMPLOYEE, frozenset({Module.ACTIVITIES}))
>>> task = Task("t1", 10, creator_id=3, creator_role=Role.EMPLOYEE)
>>> decide(DEFAULT_POLICY, owner, Action.VIEW, task).allowed
True
>>> decide(DEFAULT_POLICY, anna, Action.VIEW, task).refused_by
('VIS-2', 'VIS-3')
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Union

import attrs

from crmcore.errors import PolicyCompileError, VisibilityError

__all__ = [
    "DEFAULT_POLICY",
    "EMPLOYER_ROLES",
    "Action",
    "AllOf",
    "Always",
    "AnyOf",
    "AttributeEquals",
    "AttributeIn",
    "AttributeIsNull",
    "AttributeIsViewer",
    "Clause",
    "Condition",
    "CrmRecord",
    "Decision",
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
    "VisibilityPolicy",
    "decide",
    "enforce",
    "evaluate",
    "module_of",
    "partially_evaluate",
    "visible",
]


class Role(enum.StrEnum):
    """A tenant user's role."""

    OWNER = "owner"
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    EMPLOYEE = "employee"
    EXTERNAL = "external"  # a customer contact (VIS-6)


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


def _kinds(value: Iterable[RecordKind]) -> frozenset[RecordKind]:
    return frozenset(value)


def _actions(value: Iterable[Action]) -> frozenset[Action]:
    return frozenset(value)


def _conditions(value: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(value)


def _clauses(value: Iterable[Clause]) -> tuple[Clause, ...]:
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
    ViewerHasModule,
    AllOf,
    AnyOf,
    Not,
]


def partially_evaluate(condition: Condition, viewer: Principal) -> Condition:
    """The condition with every viewer-only test replaced by Always/Never and simplified, so
    what is left is about the record only (what the SQL compiler translates)."""
    match condition:
        case ViewerRole(roles):
            return Always() if viewer.role in roles else Never()
        case ViewerHasModule(module):
            return Always() if module in viewer.permissions else Never()
        case AllOf(items):
            parts = [partially_evaluate(i, viewer) for i in items]
            if any(isinstance(p, Never) for p in parts):
                return Never()
            kept: list[Condition] = [p for p in parts if not isinstance(p, Always)]
            return kept[0] if len(kept) == 1 else (AllOf(kept) if kept else Always())
        case AnyOf(items):
            parts = [partially_evaluate(i, viewer) for i in items]
            if any(isinstance(p, Always) for p in parts):
                return Always()
            kept_any: list[Condition] = [p for p in parts if not isinstance(p, Never)]
            if len(kept_any) == 1:
                return kept_any[0]
            return AnyOf(kept_any) if kept_any else Never()
        case Not(item):
            inner = partially_evaluate(item, viewer)
            if isinstance(inner, Always):
                return Never()
            if isinstance(inner, Never):
                return Always()
            return Not(inner)
        case _:
            return condition


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
            return _attribute(record, name) == viewer.user_id
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


# --- policies and decisions -------------------------------------------------------------------


@attrs.frozen
class Clause:
    """A named condition of a policy, applying to some record kinds and actions."""

    rule: str  # the rule ID a refusal names, e.g. "VIS-2" or a vendor's own "ACME-1"
    description: str
    condition: Condition
    kinds: frozenset[RecordKind] = attrs.field(converter=_kinds)
    actions: frozenset[Action] = attrs.field(converter=_actions)

    def applies(self, kind: RecordKind, action: Action) -> bool:
        return kind in self.kinds and action in self.actions


@attrs.frozen
class VisibilityPolicy:
    """Access is allowed when every applicable restriction holds and at least one applicable
    grant holds (deny by default). The tenant scope (VIS-1) is implicit, not a clause."""

    grants: tuple[Clause, ...] = attrs.field(converter=_clauses)
    restrictions: tuple[Clause, ...] = attrs.field(converter=_clauses, default=())

    def with_grant(self, clause: Clause) -> VisibilityPolicy:
        return attrs.evolve(self, grants=(*self.grants, clause))

    def with_restriction(self, clause: Clause) -> VisibilityPolicy:
        return attrs.evolve(self, restrictions=(*self.restrictions, clause))

    def condition(self, kind: RecordKind, action: Action) -> Condition:
        """The whole policy for one kind and action as one condition (without VIS-1)."""
        grants = [c.condition for c in self.grants if c.applies(kind, action)]
        checks = [c.condition for c in self.restrictions if c.applies(kind, action)]
        return AllOf([*checks, AnyOf(grants)])


@attrs.frozen
class Decision:
    """The answer to "may this viewer do this to this record?" and, when not, which rules
    refused: the failing restriction, or every grant considered when none matched."""

    allowed: bool
    action: Action
    kind: RecordKind
    record_id: int
    refused_by: tuple[str, ...] = ()
    reason: str = ""


def decide(policy: VisibilityPolicy, viewer: Principal, action: Action, record: Record) -> Decision:
    """Evaluate the policy on one record, tenant scope (VIS-1) first."""

    def refuse(rules: tuple[str, ...], reason: str) -> Decision:
        return Decision(False, action, record.kind, record.id, rules, reason)

    if record.tenant_id != viewer.tenant_id:
        return refuse(("VIS-1",), "the record belongs to another tenant")
    for clause in policy.restrictions:
        if clause.applies(record.kind, action) and not evaluate(clause.condition, viewer, record):
            return refuse((clause.rule,), clause.description)
    grants = [c for c in policy.grants if c.applies(record.kind, action)]
    if any(evaluate(c.condition, viewer, record) for c in grants):
        return Decision(True, action, record.kind, record.id)
    rules = tuple(dict.fromkeys(c.rule for c in grants))
    reasons = "; ".join(c.description for c in grants) or f"no rule grants {action} on it"
    return refuse(rules, f"no grant matched: {reasons}")


def enforce(
    policy: VisibilityPolicy, viewer: Principal, action: Action, record: Record
) -> Decision:
    """Like :func:`decide` but raises :class:`VisibilityError` naming the refusing rule."""
    decision = decide(policy, viewer, action, record)
    if not decision.allowed:
        raise VisibilityError(
            f"user {viewer.user_id} may not {action} {record.kind} {record.id}: {decision.reason}",
            field=f"{record.kind}[{record.id}]",
            rule=", ".join(decision.refused_by),
        )
    return decision


def visible(
    policy: VisibilityPolicy,
    viewer: Principal,
    records: Iterable[Record],
    action: Action = Action.VIEW,
) -> list[Record]:
    """The records the viewer may act on, in memory."""
    allowed: Callable[[Record], bool] = lambda r: decide(policy, viewer, action, r).allowed  # noqa: E731
    return [r for r in records if allowed(r)]


# --- the default policy (chmiuro, smartmail, raynet) ------------------------------------------

_ALL_KINDS = frozenset(RecordKind)
_READ_WRITE = frozenset({Action.VIEW, Action.EDIT, Action.DELETE})


def _module_clauses() -> list[Clause]:
    # VIS-7: one restriction per module; the owner holds every right and is never restricted.
    return [
        Clause(
            "VIS-7",
            f"the viewer's permission level does not include the {module} module",
            AnyOf([ViewerRole({Role.OWNER}), ViewerHasModule(module)]),
            {k for k in _ALL_KINDS if module_of(k) is module},
            frozenset(Action),
        )
        for module in Module
    ]


DEFAULT_POLICY = VisibilityPolicy(
    grants=[
        Clause(
            "VIS-2",
            "a task created by the employer is seen by its creator, assignees and supervisor",
            AllOf(
                [
                    AttributeIn("creator_role", EMPLOYER_ROLES),
                    AnyOf(
                        [
                            AttributeIsViewer("creator_id"),
                            ViewerIn("assignees"),
                            AttributeIsViewer("supervisor_id"),
                        ]
                    ),
                ]
            ),
            {RecordKind.TASK},
            _READ_WRITE,
        ),
        Clause(
            "VIS-3",
            "a task created by an employee is seen only by that employee and the owner",
            AllOf(
                [
                    Not(AttributeIn("creator_role", EMPLOYER_ROLES)),
                    AnyOf([AttributeIsViewer("creator_id"), ViewerRole({Role.OWNER})]),
                ]
            ),
            {RecordKind.TASK},
            _READ_WRITE,
        ),
        Clause(
            "VIS-4",
            "a document is seen by everyone unless marked invisible, then only by its uploader",
            AnyOf([AttributeEquals("visible_to_all", True), AttributeIsViewer("uploader_id")]),
            {RecordKind.DOCUMENT},
            _READ_WRITE,
        ),
        Clause(
            "VIS-1",
            "a message note is seen within its tenant",
            Always(),
            {RecordKind.NOTE},
            _READ_WRITE,
        ),
        Clause(
            "REC-1",
            "a CRM record is seen within its tenant",
            Always(),
            CRM_KINDS,
            _READ_WRITE,
        ),
        Clause(
            "VIS-5",
            "the owner may export every record",
            ViewerRole({Role.OWNER}),
            _ALL_KINDS,
            {Action.EXPORT},
        ),
    ],
    restrictions=[
        Clause(
            "VIS-5",
            "only the owner may export data",
            ViewerRole({Role.OWNER}),
            _ALL_KINDS,
            {Action.EXPORT},
        ),
        Clause(
            "VIS-6",
            "an internal note is never shown to an external contact",
            AnyOf([Not(ViewerRole({Role.EXTERNAL})), AttributeEquals("internal", False)]),
            {RecordKind.NOTE},
            frozenset(Action),
        ),
        *_module_clauses(),
    ],
)
