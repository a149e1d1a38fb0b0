"""Hand-written examples for each visibility rule (VIS-1..7) and the decision values."""

from __future__ import annotations

import pytest
from hypothesis import given

from crmcore.errors import PolicyCompileError, VisibilityError
from crmcore.testing.visibility import World, conditions, worlds
from crmcore.visibility.policy import (
    DEFAULT_POLICY,
    Action,
    AllOf,
    Always,
    AnyOf,
    AttributeIsViewer,
    Clause,
    Condition,
    CrmRecord,
    Document,
    Module,
    Never,
    Not,
    Note,
    Principal,
    RecordKind,
    Role,
    Task,
    ViewerHasModule,
    ViewerIn,
    ViewerRole,
    VisibilityPolicy,
    decide,
    enforce,
    evaluate,
    partially_evaluate,
    visible,
)

EVERY_MODULE = frozenset(Module)
owner = Principal("acme", 1, Role.OWNER)
admin = Principal("acme", 2, Role.ADMINISTRATOR, EVERY_MODULE)
boss = Principal("acme", 3, Role.SUPERVISOR, EVERY_MODULE, supervisor_id=1)
anna = Principal("acme", 4, Role.EMPLOYEE, EVERY_MODULE, supervisor_id=3)
bartek = Principal("acme", 5, Role.EMPLOYEE, EVERY_MODULE, supervisor_id=3)
customer = Principal("acme", 6, Role.EXTERNAL, EVERY_MODULE)
stranger = Principal("other", 7, Role.OWNER, EVERY_MODULE)


def sees(viewer: Principal, record: Task | Document | Note | CrmRecord) -> bool:
    return decide(DEFAULT_POLICY, viewer, Action.VIEW, record).allowed


def test_vis2_employer_task_seen_by_assignee_supervisor_creator_not_other_employee() -> None:
    """VIS-2: the admin's task for Anna, controlled by the supervisor."""
    task = Task(
        "acme", 100, creator_id=2, creator_role=Role.ADMINISTRATOR, assignees={4}, supervisor_id=3
    )
    assert [sees(u, task) for u in (admin, anna, boss, bartek)] == [True, True, True, False]
    refusal = decide(DEFAULT_POLICY, bartek, Action.VIEW, task)
    assert refusal.refused_by == ("VIS-2", "VIS-3")
    assert "assignees" in refusal.reason


def test_vis3_employee_task_seen_by_owner_not_by_supervisor() -> None:
    """VIS-3: Anna's own task is hers and the owner's only."""
    task = Task(
        "acme", 101, creator_id=4, creator_role=Role.EMPLOYEE, assignees={5}, supervisor_id=3
    )
    assert [sees(u, task) for u in (anna, owner, boss, bartek, admin)] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_vis4_private_document_only_for_uploader() -> None:
    """VIS-4: a public document is everyone's; a private one its uploader's."""
    public = Document("acme", 200, uploader_id=4, visible_to_all=True)
    private = Document("acme", 201, uploader_id=4, visible_to_all=False)
    assert all(sees(u, public) for u in (owner, admin, boss, anna, bartek))
    assert [sees(u, private) for u in (anna, bartek, owner)] == [True, False, False]
    assert decide(DEFAULT_POLICY, bartek, Action.VIEW, private).refused_by == ("VIS-4",)


def test_VIS_4_VIS_3_viewer_without_user_id_does_not_match_records_with_unknown_creator() -> None:
    """VIS-3 / VIS-4: a missing value compares false on both sides: a viewer without a user
    id is not the unknown uploader of a private document nor the unknown creator of a task."""
    ghost = Principal("acme", None, Role.EMPLOYEE, EVERY_MODULE)  # type: ignore[arg-type]
    hidden = Document("acme", 200, uploader_id=None, visible_to_all=False)
    orphan = Task("acme", 101, creator_id=None, creator_role=Role.EMPLOYEE)
    assert not sees(ghost, hidden)
    assert not sees(ghost, orphan)
    assert not evaluate(AttributeIsViewer("uploader_id"), ghost, hidden)
    assert evaluate(Not(AttributeIsViewer("uploader_id")), ghost, hidden)
    # the rules that do not depend on ownership still apply: the owner sees the orphan task
    assert sees(owner, orphan)


def test_vis5_export_by_owner_only() -> None:
    """VIS-5: the administrator's export is refused, naming VIS-5; the owner's is allowed."""
    offer = CrmRecord("acme", 300, RecordKind.OFFER)
    assert decide(DEFAULT_POLICY, owner, Action.EXPORT, offer).allowed
    with pytest.raises(VisibilityError, match=r"VIS-5") as caught:
        enforce(DEFAULT_POLICY, admin, Action.EXPORT, offer)
    assert caught.value.rule == "VIS-5"
    assert isinstance(caught.value, PermissionError)


def test_vis6_internal_note_never_reaches_external_contact() -> None:
    """VIS-6 / MAIL-6: internal notes hidden from the customer, even when unmarked (None)."""
    internal = Note("acme", 400, author_id=4, internal=True)
    public = Note("acme", 401, author_id=4, internal=False)
    unknown = Note("acme", 402, author_id=4, internal=None)
    assert [sees(customer, n) for n in (internal, public, unknown)] == [False, True, False]
    assert all(sees(anna, n) for n in (internal, public, unknown))
    assert decide(DEFAULT_POLICY, customer, Action.VIEW, internal).refused_by == ("VIS-6",)


def test_vis7_permission_level_restricts_modules() -> None:
    """VIS-7: without the sales module no offer; with an empty permission level nothing; the
    owner is never restricted."""
    offer = CrmRecord("acme", 300, RecordKind.OFFER)
    lead = CrmRecord("acme", 301, RecordKind.LEAD)
    seller = Principal("acme", 8, Role.EMPLOYEE, {Module.SALES})
    nobody = Principal("acme", 9, Role.EMPLOYEE, frozenset())
    assert [sees(seller, offer), sees(seller, lead)] == [True, False]
    assert decide(DEFAULT_POLICY, seller, Action.VIEW, lead).refused_by == ("VIS-7",)
    assert not any(sees(nobody, r) for r in (offer, lead))
    assert sees(owner, offer)


def test_vis1_other_tenant_refused_first() -> None:
    """VIS-1: another tenant's owner sees nothing, even under a policy of `always`."""
    document = Document("acme", 200, uploader_id=7, visible_to_all=True)
    assert decide(DEFAULT_POLICY, stranger, Action.VIEW, document).refused_by == ("VIS-1",)
    everything = VisibilityPolicy([Clause("OPEN", "all", Always(), set(RecordKind), set(Action))])
    assert not decide(everything, stranger, Action.VIEW, document).allowed


@given(world=worlds())
def test_vis1_property_no_record_of_another_tenant(world: World) -> None:
    """VIS-1 property: whatever the policy, only the viewer's tenant's records are visible."""
    everything = VisibilityPolicy([Clause("OPEN", "all", Always(), set(RecordKind), set(Action))])
    for viewer in world.users:
        for policy in (everything, DEFAULT_POLICY):
            shown = visible(policy, viewer, world.records())
            assert all(r.tenant_id == viewer.tenant_id for r in shown)


def test_vendor_rule_gets_evaluation_and_sql_for_free() -> None:
    """A vendor's own rule: supervisors see every task they control, whoever created it."""
    rule = Clause(
        "ACME-1",
        "a supervisor sees the tasks they control",
        AllOf([ViewerRole({Role.SUPERVISOR}), AttributeIsViewer("supervisor_id")]),
        {RecordKind.TASK},
        {Action.VIEW},
    )
    policy = DEFAULT_POLICY.with_grant(rule)
    task = Task("acme", 101, creator_id=4, creator_role=Role.EMPLOYEE, supervisor_id=3)
    assert not sees(boss, task)
    assert decide(policy, boss, Action.VIEW, task).allowed


def test_partial_evaluation_leaves_only_record_tests() -> None:
    """Viewer-only tests disappear before SQL is built."""
    condition = AnyOf(
        [
            AllOf([ViewerRole({Role.OWNER}), ViewerIn("assignees")]),
            Not(ViewerHasModule(Module.SALES)),
        ]
    )
    assert partially_evaluate(condition, owner) == Always()  # owner holds no module here
    assert partially_evaluate(condition, admin) == Never()
    assert partially_evaluate(condition, Principal("acme", 1, Role.OWNER, EVERY_MODULE)) == (
        ViewerIn("assignees")
    )


def test_unknown_attribute_is_a_policy_error() -> None:
    with pytest.raises(PolicyCompileError, match="colour"):
        evaluate(AttributeIsViewer("colour"), anna, Document("acme", 1, 4))
    with pytest.raises(PolicyCompileError, match="tenant_id"):
        evaluate(AttributeIsViewer("tenant_id"), anna, Document("acme", 1, 4))


def test_supervisor_links_rule_uses_direct_subordinates() -> None:
    """A vendor rule over the org chart: a supervisor sees their direct reports' tasks."""
    from crmcore.visibility.policy import ViewerSupervises

    rule = Clause(
        "ACME-2",
        "a supervisor sees the tasks their reports create",
        ViewerSupervises("creator_id"),
        {RecordKind.TASK},
        {Action.VIEW},
    )
    policy = DEFAULT_POLICY.with_grant(rule)
    chief = Principal("acme", 3, Role.SUPERVISOR, EVERY_MODULE, subordinates={4})
    annas = Task("acme", 101, creator_id=4, creator_role=Role.EMPLOYEE)
    barteks = Task("acme", 102, creator_id=5, creator_role=Role.EMPLOYEE)
    orphan = Task("acme", 103, creator_id=None, creator_role=Role.EMPLOYEE)
    assert [decide(policy, chief, Action.VIEW, t).allowed for t in (annas, barteks, orphan)] == [
        True,
        False,
        False,
    ]
    assert partially_evaluate(rule.condition, boss) == Never()  # boss has no reports listed


# --- the relation cover the index plan starts from (issue 18, VIS-8) ----------------------------


def test_vis2_vis3_employee_cover_is_creator_assignees_supervisor_owner_has_none() -> None:
    """VIS-2/VIS-3 for an employee are bounded by three relations: the tasks Anna created
    (VIS-2 and VIS-3), is assigned to or supervises (VIS-2). The owner sees every employee's
    task (VIS-3): no relation bounds that, so no cover."""
    from crmcore.visibility.policy import relation_cover

    def cover(viewer: Principal) -> object:
        return relation_cover(
            partially_evaluate(DEFAULT_POLICY.condition(RecordKind.TASK, Action.VIEW), viewer)
        )

    assert cover(anna) == {
        AttributeIsViewer("creator_id"),
        ViewerIn("assignees"),
        AttributeIsViewer("supervisor_id"),
    }
    assert cover(admin) == cover(anna)  # the administrator is bounded the same way
    assert cover(owner) is None  # owner without modules: VIS-7 never restricts the owner
    assert cover(Principal("acme", 9, Role.EMPLOYEE)) == frozenset()  # no module: Never


def test_vis8_partial_evaluation_folds_a_test_and_its_negation() -> None:
    """Two-valued logic (VIS-8): ``p or not p`` is Always, ``p and not p`` Never, so the SQL
    of a branch carries no tautology (VIS-2's employer test beside VIS-3's negation of it)."""
    employer = AttributeIsViewer("creator_id")
    assert partially_evaluate(AnyOf([employer, Not(employer)]), anna) == Always()
    assert partially_evaluate(AllOf([Not(employer), employer]), anna) == Never()


def test_cover_and_of_bounded_parts_takes_the_smallest_or_needs_every_part() -> None:
    """AND: any bounded part bounds the whole (the smallest is kept); OR: every part must be."""
    from crmcore.visibility.policy import relation_cover

    creator, assigned = AttributeIsViewer("creator_id"), ViewerIn("assignees")
    either = AnyOf([creator, AttributeIsViewer("supervisor_id")])
    assert relation_cover(AllOf([either, assigned])) == {assigned}
    assert relation_cover(AnyOf([either, Not(assigned)])) is None
    assert relation_cover(Not(Not(creator))) is None  # negation is never used as a bound
    assert relation_cover(assigned, usable=lambda anchor: anchor != assigned) is None


@given(world=worlds(), condition=conditions(RecordKind.TASK))
def test_vis8_cover_bounds_and_assume_agrees_where_the_anchor_holds(
    world: World, condition: Condition
) -> None:
    """VIS-8 for the index plan: every task the (partially evaluated) rule allows satisfies an
    anchor of its cover, and on the tasks where an anchor holds ``assume(rule, anchor)`` gives
    the rule's own answer, so the UNION of the branches is the rule's visible set."""
    from crmcore.visibility.policy import assume, relation_cover

    for viewer in world.users:
        residual = partially_evaluate(condition, viewer)
        cover = relation_cover(residual)
        if cover is None:
            continue
        for task in world.tasks:
            allowed = evaluate(condition, viewer, task)
            held = [a for a in cover if evaluate(a, viewer, task)]
            assert not allowed or held, (condition, viewer, task)
            for anchor in held:
                assumed = partially_evaluate(assume(residual, anchor), viewer)
                assert evaluate(assumed, viewer, task) == allowed, (condition, anchor, task)
