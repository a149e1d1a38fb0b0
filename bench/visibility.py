"""Benchmark: the first page of the 50 newest visible tasks for random viewers (VIS-2, VIS-3).

    PYTHONPATH=src /work/venv/bin/python bench/visibility.py --tasks 1000000 --users 10000 \
        --viewers 200 --databases sqlite,postgresql

Compares, in one run and on the same data:
  (a) crmcore's compiled filter  ``select(...).where(visibility_filter(...))``
  (b) a hand-written SQL query for the same rules (the floor)
  (c) loading the tenant's tasks (with assignees) and filtering them with ``crmcore.visibility``
  (d) a peer: casbin (sqlalchemy-oso needs the ``oso`` wheel, which does not install here)
      checking each of the tenant's rows with an ABAC model equivalent to VIS-2/VIS-3.
(c) and (d) read the whole tenant per request; they are timed on ``--slow-viewers`` viewers and
reported per viewer, like (a) and (b).

PostgreSQL: ``--postgres-url`` (default: the CRMCORE_TEST_POSTGRES_URL server); a temporary
database is created and dropped. Bench-only dependency: casbin.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, select, text

from crmcore.visibility import (
    DEFAULT_POLICY,
    EMPLOYER_ROLES,
    Action,
    Module,
    Principal,
    RecordKind,
    Role,
    Task,
    decide,
)
from crmcore_sql.metadata import metadata
from crmcore_sql.tables_visibility import task_assignees, tasks, user_permissions, users
from crmcore_sql.testing import temporary_database
from crmcore_sql.visibility import visibility_filter

TENANT = "bench"
NOISE_TENANT = "noise"  # a second tenant, so the tenant condition does real work
PAGE = 50
START = datetime(2020, 1, 1, tzinfo=UTC)


def build_people(user_count: int, rng: random.Random) -> list[Principal]:
    people = [Principal(TENANT, 1, Role.OWNER, frozenset(Module))]
    admins = max(1, user_count // 1000)
    supervisors = max(1, user_count // 50)
    for user_id in range(2, user_count + 1):
        if user_id <= 1 + admins:
            role = Role.ADMINISTRATOR
        elif user_id <= 1 + admins + supervisors:
            role = Role.SUPERVISOR
        else:
            role = Role.EMPLOYEE
        boss = rng.randint(2 + admins, 1 + admins + supervisors) if role is Role.EMPLOYEE else 1
        people.append(Principal(TENANT, user_id, role, frozenset({Module.ACTIVITIES}), boss))
    return people


def build_tasks(
    people: Sequence[Principal], task_count: int, rng: random.Random, tenant: str, first_id: int
) -> list[tuple[Task, datetime]]:
    employers = [p for p in people if p.role in EMPLOYER_ROLES]
    supervisors = [p.user_id for p in people if p.role is Role.SUPERVISOR]
    everyone = [p.user_id for p in people]
    result = []
    for number in range(task_count):
        creator = rng.choice(employers) if rng.random() < 0.5 else rng.choice(people)
        assignees = frozenset(rng.sample(everyone, min(len(everyone), rng.randint(2, 4))))
        task = Task(
            tenant,
            first_id + number,
            creator.user_id,
            creator.role,
            assignees,
            rng.choice(supervisors) if supervisors and rng.random() < 0.8 else None,
        )
        result.append((task, START + timedelta(seconds=number)))
    return result


def load(
    engine: Engine, people: Sequence[Principal], rows: Sequence[tuple[Task, datetime]]
) -> None:
    metadata.create_all(engine, tables=[users, user_permissions, tasks, task_assignees])
    with engine.begin() as connection:
        connection.execute(
            insert(users),
            [
                {
                    "id": p.user_id,
                    "tenant_id": p.tenant_id,
                    "role": p.role.value,
                    "supervisor_id": p.supervisor_id,
                }
                for p in people
            ],
        )
        connection.execute(
            insert(user_permissions),
            [
                {"user_id": p.user_id, "module": m.value, "tenant_id": p.tenant_id}
                for p in people
                for m in p.permissions
            ],
        )
    batch = 50_000
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        with engine.begin() as connection:
            connection.execute(
                insert(tasks),
                [
                    {
                        "id": t.id,
                        "tenant_id": t.tenant_id,
                        "title": f"task {t.id}",
                        "creator_id": t.creator_id,
                        "creator_role": t.creator_role,
                        "supervisor_id": t.supervisor_id,
                        "created_at": at,
                    }
                    for t, at in chunk
                ],
            )
            connection.execute(
                insert(task_assignees),
                [
                    {"task_id": t.id, "user_id": a, "tenant_id": t.tenant_id}
                    for t, _ in chunk
                    for a in t.assignees
                ],
            )
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))  # fresh statistics for both planners


# --- (a) compiled filter ----------------------------------------------------------------------


def page_compiled(engine: Engine, viewer: Principal) -> list[int]:
    query = (
        select(tasks.c.id, tasks.c.title, tasks.c.created_at)
        .where(visibility_filter(DEFAULT_POLICY, viewer, RecordKind.TASK, Action.VIEW))
        .order_by(tasks.c.created_at.desc())
        .limit(PAGE)
    )
    with engine.connect() as connection:
        return [row.id for row in connection.execute(query)]


# --- (b) hand-written SQL: VIS-2 or VIS-3, VIS-7 checked on the viewer ------------------------

HAND_WRITTEN = """
SELECT t.id, t.title, t.created_at FROM tasks t
WHERE t.tenant_id = :tenant AND (
  (t.creator_role IN ('owner', 'administrator') AND (
     t.creator_id = :viewer OR t.supervisor_id = :viewer
     OR EXISTS (SELECT 1 FROM task_assignees a WHERE a.task_id = t.id AND a.user_id = :viewer)))
  OR ((t.creator_role IS NULL OR t.creator_role NOT IN ('owner', 'administrator'))
      AND {employee_clause}))
ORDER BY t.created_at DESC LIMIT 50
"""
HAND_OWNER = HAND_WRITTEN.format(employee_clause="1 = 1")
HAND_OTHER = HAND_WRITTEN.format(employee_clause="t.creator_id = :viewer")


def page_hand_written(engine: Engine, viewer: Principal) -> list[int]:
    if viewer.role is not Role.OWNER and Module.ACTIVITIES not in viewer.permissions:
        return []
    sql = text(HAND_OWNER if viewer.role is Role.OWNER else HAND_OTHER).columns(
        tasks.c.id, tasks.c.title, tasks.c.created_at
    )  # the same typed result rows as (a)
    with engine.connect() as connection:
        rows = connection.execute(sql, {"tenant": viewer.tenant_id, "viewer": viewer.user_id})
        return [row.id for row in rows]


# --- (c) load the tenant's tasks and filter in Python -----------------------------------------


def tenant_tasks(engine: Engine, tenant: str) -> list[tuple[Task, datetime]]:
    with engine.connect() as connection:
        members: dict[int, list[int]] = {}
        for task_id, user_id in connection.execute(
            select(task_assignees.c.task_id, task_assignees.c.user_id).where(
                task_assignees.c.tenant_id == tenant
            )
        ):
            members.setdefault(task_id, []).append(user_id)
        return [
            (
                Task(
                    tenant,
                    r.id,
                    r.creator_id,
                    None if r.creator_role is None else Role(r.creator_role),
                    frozenset(members.get(r.id, ())),
                    r.supervisor_id,
                ),
                r.created_at,
            )
            for r in connection.execute(
                select(
                    tasks.c.id,
                    tasks.c.creator_id,
                    tasks.c.creator_role,
                    tasks.c.supervisor_id,
                    tasks.c.created_at,
                ).where(tasks.c.tenant_id == tenant)
            )
        ]


def page_in_python(engine: Engine, viewer: Principal) -> list[int]:
    rows = tenant_tasks(engine, viewer.tenant_id)
    shown = [(at, t.id) for t, at in rows if decide(DEFAULT_POLICY, viewer, Action.VIEW, t).allowed]
    shown.sort(reverse=True)
    return [task_id for _, task_id in shown[:PAGE]]


# --- (d) casbin, one enforce() per row --------------------------------------------------------

CASBIN_MODEL = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && r.sub.tenant == r.obj.tenant && \
 (r.sub.activities || r.sub.role == "owner") && \
 ((r.obj.employer && (r.obj.creator == r.sub.id || r.obj.supervisor == r.sub.id || \
 r.sub.id in r.obj.assignees)) || (!r.obj.employer && (r.obj.creator == r.sub.id || \
 r.sub.role == "owner")))
"""


class _Attributes:
    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


def casbin_page_function(engine: Engine) -> Callable[[Engine, Principal], list[int]]:
    import casbin  # bench-only dependency

    directory = Path(tempfile.mkdtemp(prefix="casbin"))
    (directory / "model.conf").write_text(CASBIN_MODEL)
    (directory / "policy.csv").write_text("p, any, view\n")
    enforcer = casbin.Enforcer(str(directory / "model.conf"), str(directory / "policy.csv"))

    def page(engine: Engine, viewer: Principal) -> list[int]:
        subject = _Attributes(
            tenant=viewer.tenant_id,
            id=viewer.user_id,
            role=viewer.role.value,
            activities=Module.ACTIVITIES in viewer.permissions,
        )
        shown = []
        for task, at in tenant_tasks(engine, viewer.tenant_id):
            item = _Attributes(
                tenant=task.tenant_id,
                creator=task.creator_id,
                supervisor=task.supervisor_id,
                assignees=tuple(task.assignees),
                employer=task.creator_role in EMPLOYER_ROLES,
            )
            if enforcer.enforce(subject, item, "view"):
                shown.append((at, task.id))
        shown.sort(reverse=True)
        return [task_id for _, task_id in shown[:PAGE]]

    return page


# --- the run ----------------------------------------------------------------------------------


def timed(
    function: Callable[[Engine, Principal], list[int]], engine: Engine, viewers: Sequence[Principal]
) -> tuple[float, list[list[int]]]:
    pages = []
    start = time.perf_counter()
    for viewer in viewers:
        pages.append(function(engine, viewer))
    return (time.perf_counter() - start) / len(viewers), pages


def timed_interleaved(
    first: Callable[[Engine, Principal], list[int]],
    second: Callable[[Engine, Principal], list[int]],
    engine: Engine,
    viewers: Sequence[Principal],
) -> tuple[float, float, list[list[int]], list[list[int]]]:
    """Both functions per viewer, alternating which goes first, so neither inherits the
    other's warm pages more often."""
    spent = [0.0, 0.0]
    pages: tuple[list[list[int]], list[list[int]]] = ([], [])
    for number, viewer in enumerate(viewers):
        order = (0, 1) if number % 2 == 0 else (1, 0)
        for which in order:
            function = (first, second)[which]
            start = time.perf_counter()
            pages[which].append(function(engine, viewer))
            spent[which] += time.perf_counter() - start
    return spent[0] / len(viewers), spent[1] / len(viewers), pages[0], pages[1]


def run(url: str, arguments: argparse.Namespace) -> None:
    rng = random.Random(arguments.seed)
    people = build_people(arguments.users, rng)
    noise_people = [Principal(NOISE_TENANT, arguments.users + 1, Role.OWNER, frozenset(Module))]
    rows = build_tasks(people, arguments.tasks, rng, TENANT, 1)
    rows += build_tasks(
        noise_people, max(1, arguments.tasks // 100), rng, NOISE_TENANT, arguments.tasks + 1
    )
    engine = create_engine(url)
    started = time.perf_counter()
    load(engine, [*people, *noise_people], rows)
    print(f"  loaded {len(rows):,} tasks in {time.perf_counter() - started:.1f} s")
    viewers = rng.sample(people, min(arguments.viewers, len(people)))
    slow_viewers = viewers[: arguments.slow_viewers]
    timed(page_hand_written, engine, viewers[:10])  # warm caches so (a) does not pay for them
    a, b, pages_a, pages_b = timed_interleaved(page_compiled, page_hand_written, engine, viewers)
    assert pages_a == pages_b, "compiled filter and hand-written SQL disagree"
    c, pages_c = timed(page_in_python, engine, slow_viewers)
    assert pages_c == pages_a[: len(slow_viewers)], "in-memory filter disagrees"
    d, pages_d = timed(casbin_page_function(engine), engine, slow_viewers)
    assert pages_d == pages_a[: len(slow_viewers)], "casbin disagrees"
    shown = statistics.mean(len(p) for p in pages_a)
    print(f"  viewers {len(viewers)} (slow paths: {len(slow_viewers)}), mean page {shown:.1f}")
    print(f"  (a) compiled filter     {a * 1000:10.2f} ms/viewer")
    print(f"  (b) hand-written SQL    {b * 1000:10.2f} ms/viewer")
    print(f"  (c) Python filtering    {c * 1000:10.2f} ms/viewer")
    print(f"  (d) casbin per row      {d * 1000:10.2f} ms/viewer")
    print(f"  a/b = {a / b:.2f}   c/a = {c / a:.1f}   d/a = {d / a:.1f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--slow-viewers", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "CRMCORE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--seed", type=int, default=6)
    arguments = parser.parse_args()
    print(f"visibility bench: {arguments.tasks:,} tasks, {arguments.users:,} users")
    for database in arguments.databases.split(","):
        print(database)
        server = "sqlite://" if database == "sqlite" else arguments.postgres_url
        with temporary_database(server, prefix="crmcore_bench") as url:
            run(url.render_as_string(hide_password=False), arguments)


if __name__ == "__main__":
    main()
