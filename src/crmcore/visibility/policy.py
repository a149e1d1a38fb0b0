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

from collections.abc import Iterable

import attrs

from crmcore.errors import VisibilityError
from crmcore.visibility.language import (
    CRM_KINDS,
    EMPLOYER_ROLES,
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
    CrmRecord,
    Document,
    Module,
    Never,
    Not,
    Note,
    Principal,
    Record,
    RecordKind,
    Role,
    Task,
    ViewerHasModule,
    ViewerIn,
    ViewerRole,
    ViewerSupervises,
    assume,
    evaluate,
    module_of,
    partially_evaluate,
    relation_cover,
)

__all__ = [
    "CRM_KINDS",
    "DEFAULT_POLICY",
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
    "ViewerSupervises",
    "VisibilityPolicy",
    "assume",
    "decide",
    "enforce",
    "evaluate",
    "module_of",
    "partially_evaluate",
    "relation_cover",
    "visible",
]


def _kinds(value: Iterable[RecordKind]) -> frozenset[RecordKind]:
    return frozenset(value)


def _actions(value: Iterable[Action]) -> frozenset[Action]:
    return frozenset(value)


def _clauses(value: Iterable[Clause]) -> tuple[Clause, ...]:
    return tuple(value)


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
    return [r for r in records if decide(policy, viewer, action, r).allowed]


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
