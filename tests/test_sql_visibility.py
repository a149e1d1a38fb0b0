"""VIS-8: the compiled SQL filter selects exactly the records the in-memory evaluator allows,
on SQLite, PostgreSQL and MariaDB, on hostile data (NULLs, no assignees, foreign assignees,
empty permission levels); and VIS-1: no filter ever reveals another tenant's record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, insert, select

from crmcore.testing.visibility import World, conditions, worlds
from crmcore.visibility.policy import (
    DEFAULT_POLICY,
    Action,
    Always,
    Clause,
    Condition,
    Document,
    Module,
    Principal,
    RecordKind,
    Role,
    Task,
    VisibilityPolicy,
    decide,
)
from crmcore_sql.metadata import metadata
from crmcore_sql.tables_visibility import (
    crm_records,
    documents,
    message_notes,
    task_assignees,
    tasks,
    user_permissions,
    users,
)
from crmcore_sql.visibility import DEFAULT_MAPPINGS, load_principal, visibility_filter
from crmcore_sql.visibility_pages import (
    PageKey,
    PagePlan,
    choose_plan,
    fetch_visible_page,
    visible_page,
)

MOMENT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TASK = RecordKind.TASK
KINDS = (RecordKind.TASK, RecordKind.DOCUMENT, RecordKind.NOTE, RecordKind.CLIENT, RecordKind.OFFER)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    metadata.create_all(
        engine,
        tables=[
            users,
            user_permissions,
            tasks,
            task_assignees,
            documents,
            message_notes,
            crm_records,
        ],
    )
    yield engine
    engine.dispose()


def created_at(task_id: int) -> datetime:
    """Few distinct instants, so pages meet ties on created_at (broken by id)."""
    return MOMENT + timedelta(minutes=task_id % 3)


def store(engine: Engine, world: World) -> None:
    """Replace the tables' rows by the world's (each hypothesis example starts clean)."""
    with engine.begin() as connection:
        connection.execute(users.update().values(supervisor_id=None))  # self-referencing FK
        for table in (
            task_assignees,
            user_permissions,
            tasks,
            documents,
            message_notes,
            crm_records,
            users,
        ):
            connection.execute(delete(table))
        if world.users:
            # insert without supervisors first: the foreign key needs the supervisor's row
            connection.execute(
                insert(users),
                [
                    {
                        "id": u.user_id,
                        "tenant_id": u.tenant_id,
                        "role": u.role.value,
                        "supervisor_id": None,
                    }
                    for u in world.users
                ],
            )
            for u in world.users:
                if u.supervisor_id is not None:
                    connection.execute(
                        users.update()
                        .where(users.c.id == u.user_id)
                        .values(supervisor_id=u.supervisor_id)
                    )
        permissions = [
            {"user_id": u.user_id, "module": m.value, "tenant_id": u.tenant_id}
            for u in world.users
            for m in u.permissions
        ]
        if permissions:
            connection.execute(insert(user_permissions), permissions)
        if world.tasks:
            connection.execute(
                insert(tasks),
                [
                    {
                        "id": t.id,
                        "tenant_id": t.tenant_id,
                        "title": "",
                        "creator_id": t.creator_id,
                        "creator_role": None if t.creator_role is None else t.creator_role.value,
                        "supervisor_id": t.supervisor_id,
                        "created_at": created_at(t.id),
                    }
                    for t in world.tasks
                ],
            )
        assignees = [
            {"task_id": t.id, "user_id": a, "tenant_id": t.tenant_id}
            for t in world.tasks
            for a in t.assignees
        ]
        if assignees:
            connection.execute(insert(task_assignees), assignees)
        if world.documents:
            connection.execute(
                insert(documents),
                [
                    {
                        "id": d.id,
                        "tenant_id": d.tenant_id,
                        "uploader_id": d.uploader_id,
                        "visible_to_all": d.visible_to_all,
                        "file_name": "",
                    }
                    for d in world.documents
                ],
            )
        if world.notes:
            connection.execute(
                insert(message_notes),
                [
                    {
                        "id": n.id,
                        "tenant_id": n.tenant_id,
                        "author_id": n.author_id,
                        "internal": n.internal,
                        "body": "",
                    }
                    for n in world.notes
                ],
            )
        if world.crm_records:
            connection.execute(
                insert(crm_records),
                [
                    {
                        "id": r.id,
                        "tenant_id": r.tenant_id,
                        "kind": r.kind.value,
                        "owner_id": r.owner_id,
                    }
                    for r in world.crm_records
                ],
            )


def sql_visible(
    engine: Engine, policy: VisibilityPolicy, viewer: Principal, kind: RecordKind, action: Action
) -> set[int]:
    table = DEFAULT_MAPPINGS[kind].table
    query = select(table.c.id).where(visibility_filter(policy, viewer, kind, action))
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())


def memory_visible(
    world: World, policy: VisibilityPolicy, viewer: Principal, kind: RecordKind, action: Action
) -> set[int]:
    return {
        r.id
        for r in world.records()
        if r.kind is kind and decide(policy, viewer, action, r).allowed
    }


# Suite budget: each example stores a world and runs a few dozen filtered queries, on three
# engines (about 0.1 s an example on MariaDB): a quarter of the profile's examples per engine
# (50 in ci, 10 in dev) for every property here; the in-memory visibility properties
# (tests/test_visibility.py) run the full profile.
SQL_EXAMPLES = settings(max_examples=max(10, settings().max_examples // 4))


def viewers(world: World) -> list[Principal]:
    # every user, plus a stranger with every right in a tenant that holds nothing, plus
    # viewers without a user id in a tenant that holds records (VIS-3/4: they match no creator)
    ghosts = [
        Principal(world.users[0].tenant_id, None, role, frozenset(Module))  # type: ignore[arg-type]
        for role in (Role.EMPLOYEE, Role.OWNER)
    ]
    return [*world.users, Principal("tenant-x", 9_999, Role.OWNER, frozenset()), *ghosts]


def test_VIS_8_VIS_4_VIS_3_viewer_without_user_id_sees_no_private_record_of_unknown_owner(
    engine: Engine,
) -> None:
    """VIS-3 / VIS-4 / VIS-8: a viewer without a user id is not the unknown uploader or creator:
    the SQL filter (never ``uploader_id IS NULL``), the pages and memory all refuse."""
    ghost = Principal("acme", None, Role.EMPLOYEE, frozenset(Module))  # type: ignore[arg-type]
    world = World(
        users=(Principal("acme", 1, Role.OWNER, frozenset(Module)),),
        tasks=(Task("acme", 101, creator_id=None, creator_role=Role.EMPLOYEE),),
        documents=(Document("acme", 200, uploader_id=None, visible_to_all=False),),
        notes=(),
        crm_records=(),
    )
    store(engine, world)
    assert sql_visible(engine, DEFAULT_POLICY, ghost, RecordKind.DOCUMENT, Action.VIEW) == set()
    assert sql_visible(engine, DEFAULT_POLICY, ghost, TASK, Action.VIEW) == set()
    for plan in plans_for(DEFAULT_POLICY, ghost):
        assert paged_ids(engine, DEFAULT_POLICY, ghost, plan, 5) == [], plan
    assert memory_visible(world, DEFAULT_POLICY, ghost, RecordKind.DOCUMENT, Action.VIEW) == set()


@SQL_EXAMPLES
@given(world=worlds(), action=st.sampled_from(Action))
def test_vis8_default_policy_sql_equals_memory(
    engine: Engine, world: World, action: Action
) -> None:
    """VIS-8: the default policy gives the same visible set in SQL and in memory, per viewer."""
    store(engine, world)
    for viewer in viewers(world):
        for kind in KINDS:
            assert sql_visible(engine, DEFAULT_POLICY, viewer, kind, action) == memory_visible(
                world, DEFAULT_POLICY, viewer, kind, action
            ), (viewer, kind, action)


@st.composite
def kind_and_condition(draw: st.DrawFn) -> tuple[RecordKind, Condition]:
    kind = draw(st.sampled_from([RecordKind.TASK, RecordKind.DOCUMENT, RecordKind.NOTE]))
    return kind, draw(conditions(kind))


@SQL_EXAMPLES
@given(world=worlds(), rule=kind_and_condition())
def test_vis8_random_rules_sql_equals_memory(
    engine: Engine, world: World, rule: tuple[RecordKind, Condition]
) -> None:
    """VIS-8 for any rule of the language (NOT over NULL columns, empty AND/OR, EXISTS)."""
    kind, condition = rule
    policy = VisibilityPolicy([Clause("ACME-1", "vendor rule", condition, {kind}, {Action.VIEW})])
    store(engine, world)
    for viewer in viewers(world):
        assert sql_visible(engine, policy, viewer, kind, Action.VIEW) == memory_visible(
            world, policy, viewer, kind, Action.VIEW
        ), (viewer, condition)


@SQL_EXAMPLES
@given(world=worlds())
def test_vis1_always_policy_never_crosses_tenants(engine: Engine, world: World) -> None:
    """VIS-1: even a policy of `always` shows a viewer only their own tenant's records."""
    policy = VisibilityPolicy(
        [Clause("OPEN", "everything", Always(), set(RecordKind), set(Action))]
    )
    store(engine, world)
    tenant_of = {(r.kind, r.id): r.tenant_id for r in world.records()}
    for viewer in viewers(world):
        for kind in KINDS:
            seen = sql_visible(engine, policy, viewer, kind, Action.VIEW)
            assert all(tenant_of[(kind, i)] == viewer.tenant_id for i in seen)
            assert seen == {
                i for (k, i), t in tenant_of.items() if k is kind and t == viewer.tenant_id
            }


@SQL_EXAMPLES
@given(world=worlds())
def test_load_principal_round_trips(engine: Engine, world: World) -> None:
    """A stored user loads back as the same principal (role, permission level, supervisor)."""
    store(engine, world)
    with engine.connect() as connection:
        for user in world.users:
            assert load_principal(connection, user.tenant_id, user.user_id) == user


def test_vendor_rule_compiles_to_sql(engine: Engine) -> None:
    """The vendor rule of test_visibility gets SQL for free: the same answer from the table."""
    from crmcore.visibility.policy import AllOf, AttributeIsViewer, Module, Task, ViewerRole

    rule = Clause(
        "ACME-1",
        "a supervisor sees the tasks they control",
        AllOf([ViewerRole({Role.SUPERVISOR}), AttributeIsViewer("supervisor_id")]),
        {RecordKind.TASK},
        {Action.VIEW},
    )
    policy = DEFAULT_POLICY.with_grant(rule)
    boss = Principal("acme", 3, Role.SUPERVISOR, {Module.ACTIVITIES})
    world = World(
        (boss,),
        (Task("acme", 101, 4, Role.EMPLOYEE, (), 3), Task("acme", 102, 4, Role.EMPLOYEE, (), None)),
        (),
        (),
        (),
    )
    store(engine, world)
    assert sql_visible(engine, DEFAULT_POLICY, boss, RecordKind.TASK, Action.VIEW) == set()
    assert sql_visible(engine, policy, boss, RecordKind.TASK, Action.VIEW) == {101}


# --- pages: both plans, keyset pagination (issue 18) --------------------------------------------


def paged_ids(
    engine: Engine, policy: VisibilityPolicy, viewer: Principal, plan: PagePlan, limit: int
) -> list[int]:
    """Every page after the other, each starting after the previous page's key."""
    shown: list[int] = []
    after: PageKey | None = None
    with engine.connect() as connection:
        for _ in range(1_000):
            page = fetch_visible_page(
                connection, policy, viewer, RecordKind.TASK, limit=limit, after=after, plan=plan
            )
            assert len(page.rows) <= limit
            shown += [row.id for row in page.rows]
            if page.next is None:
                return shown
            after = page.next
    raise AssertionError("pages never ended")


def newest_first(world: World, policy: VisibilityPolicy, viewer: Principal) -> list[int]:
    ids = memory_visible(world, policy, viewer, RecordKind.TASK, Action.VIEW)
    return sorted(ids, key=lambda i: (created_at(i), i), reverse=True)


def plans_for(policy: VisibilityPolicy, viewer: Principal) -> list[PagePlan]:
    chosen = choose_plan(policy, viewer, RecordKind.TASK)
    return [PagePlan.SCAN, PagePlan.RELATIONS] if chosen is PagePlan.RELATIONS else [PagePlan.SCAN]


def check_pages(engine: Engine, world: World, policy: VisibilityPolicy, limit: int) -> None:
    for viewer in viewers(world):
        expected = newest_first(world, policy, viewer)
        for plan in plans_for(policy, viewer):
            assert paged_ids(engine, policy, viewer, plan, limit) == expected, (viewer, plan)


@SQL_EXAMPLES
@given(world=worlds(), limit=st.integers(1, 4))
def test_vis8_pages_of_both_plans_equal_memory_newest_first(
    engine: Engine, world: World, limit: int
) -> None:
    """VIS-8 / VIS-1 for pages: under the default policy, the scan plan and (where the viewer
    is bounded by relations) the index plan both return, page after page, exactly the tasks
    the in-memory evaluator allows, newest first, ties on created_at broken by id, no task
    lost or repeated (hostile data: NULL creators and roles, no assignees, foreign ones)."""
    store(engine, world)
    check_pages(engine, world, DEFAULT_POLICY, limit)


@SQL_EXAMPLES
@given(world=worlds(), condition=conditions(RecordKind.TASK), limit=st.integers(1, 3))
def test_vis8_pages_of_random_rules_equal_memory_in_both_plans(
    engine: Engine, world: World, condition: Condition, limit: int
) -> None:
    """VIS-8 for any task rule of the language, in both plans (NOT over NULLs, empty AND/OR,
    EXISTS, supervisor links), page after page."""
    policy = VisibilityPolicy(
        [Clause("ACME-1", "vendor rule", condition, {RecordKind.TASK}, {Action.VIEW})]
    )
    store(engine, world)
    check_pages(engine, world, policy, limit)


def test_vis2_both_plans_are_exercised_by_the_default_policy() -> None:
    """The plan follows the viewer (VIS-2/VIS-3): the owner sees every employee's task (scan),
    employees, supervisors and administrators are bounded by their relations (index plan)."""
    kinds = {
        role: choose_plan(DEFAULT_POLICY, Principal("acme", 1, role, {Module.ACTIVITIES}), TASK)
        for role in Role
    }
    assert kinds == {
        Role.OWNER: PagePlan.SCAN,
        Role.ADMINISTRATOR: PagePlan.RELATIONS,
        Role.SUPERVISOR: PagePlan.RELATIONS,
        Role.EMPLOYEE: PagePlan.RELATIONS,
        Role.EXTERNAL: PagePlan.RELATIONS,
    }


def test_keyset_pages_break_ties_on_created_at_by_id(engine: Engine) -> None:
    """Seven tasks created at the same instant, pages of 3: ids 7,6,5 | 4,3,2 | 1 (newest
    first, then by id descending); the last page is not full, so it has no next key."""
    owner = Principal("acme", 1, Role.OWNER, {Module.ACTIVITIES})
    anna = Principal("acme", 2, Role.EMPLOYEE, {Module.ACTIVITIES})
    tasks_ = tuple(Task("acme", i, 1, Role.OWNER, {2}) for i in range(1, 8))
    store(engine, World((owner, anna), tasks_, (), (), ()))
    with engine.begin() as connection:
        connection.execute(tasks.update().values(created_at=MOMENT))
    with engine.connect() as connection:
        for viewer in (owner, anna):
            pages, after = [], None
            for _ in range(3):
                page = fetch_visible_page(
                    connection, DEFAULT_POLICY, viewer, TASK, limit=3, after=after
                )
                pages.append([row.id for row in page.rows])
                after = page.next
            assert pages == [[7, 6, 5], [4, 3, 2], [1]], viewer
            # the public statement carries the same values as parameters
            second = visible_page(DEFAULT_POLICY, viewer, TASK, limit=3, after=PageKey(MOMENT, 5))
            assert list(connection.execute(second).scalars()) == [4, 3, 2]
            assert after is None
            assert page.rows[0].created_at.replace(tzinfo=UTC) == MOMENT
        # a key in another zone is the same instant: 13:00+01:00 is 12:00 UTC
        from zoneinfo import ZoneInfo

        key = PageKey(MOMENT.astimezone(ZoneInfo("Europe/Warsaw")), 5)
        page = fetch_visible_page(connection, DEFAULT_POLICY, anna, TASK, limit=3, after=key)
        assert [row.id for row in page.rows] == [4, 3, 2]


def test_sparse_viewer_plan_starts_from_the_relation_indexes_sqlite() -> None:
    """Issue 18: an employee's page reads the assignee, creator and supervisor indexes, never
    the walk of the tenant's tasks by creation time; the owner's page walks it."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=[tasks, task_assignees])
    anna = Principal("acme", 2, Role.EMPLOYEE, {Module.ACTIVITIES})
    owner = Principal("acme", 1, Role.OWNER)

    def plan_text(viewer: Principal) -> str:
        statement = visible_page(DEFAULT_POLICY, viewer, TASK, after=PageKey(MOMENT, 10))
        compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
        return "\n".join(str(row[-1]) for row in rows)

    sparse = plan_text(anna)
    assert "ix_task_assignees_user_id_task_id" in sparse
    assert "ix_tasks_tenant_id_creator_id_created_at" in sparse
    assert "ix_tasks_tenant_id_supervisor_id_created_at" in sparse
    assert "ix_tasks_tenant_id_created_at_id" not in sparse
    assert "ix_tasks_tenant_id_created_at_id" in plan_text(owner)
    engine.dispose()
