"""Benchmark: pages of the 50 newest visible tasks, sparse and dense viewers (VIS-2, VIS-3).

    PYTHONPATH=src python bench/visibility.py --tasks 1000000 --users 10000 \
        --viewers 200 --pages 3 --explain --databases sqlite,postgresql

Compares, in one run and on the same data, per kind of viewer and per page (the first, then
the later ones by keyset after the previous page's last ``(created_at, id)``):
  (a) crmcore: ``crmcore_sql.visibility_pages.fetch_visible_page``, the plan chosen per viewer
      (the relations UNION for an employee, the scan of the newest tasks for the owner);
  (b) the best hand-written SQL for that kind of viewer: for a sparse viewer (employee) a
      UNION of the creator, supervisor and assignee indexes, each ordered and limited; for a
      dense viewer (the owner) the walk of ``(tenant_id, created_at, id)``.
Each request is timed alone, (a) and (b) alternately first; the report gives the median and
the 99th percentile. Both ways must return the same rows (the bench asserts it).

With ``--slow-viewers N`` it also times, on N employees' first page:
  (c) loading the tenant's tasks (with assignees) and filtering them with
      ``crmcore.visibility.policy``
  (d) a peer: casbin (sqlalchemy-oso needs the ``oso`` wheel, which does not install here)
      checking each of the tenant's rows with an ABAC model equivalent to VIS-2/VIS-3.

PostgreSQL: ``--postgres-url`` (default: the CRMCORE_TEST_POSTGRES_URL server); a temporary
database is created and dropped. Bench-only dependency: casbin (for --slow-viewers).
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
from typing import TypeVar

from sqlalchemy import Engine, Row, bindparam, create_engine, insert, select, text

from crmcore.visibility.policy import (
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
from crmcore_sql.visibility_pages import (
    PageKey,
    choose_plan,
    fetch_visible_page,
    page_key_of,
    visible_page,
)

TENANT = "bench"
NOISE_TENANT = "noise"  # a second tenant, so the tenant condition does real work
PAGE = 50
T = TypeVar("T")
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
    # fresh statistics for every planner; on PostgreSQL also the visibility map that index-only
    # scans need, as autovacuum keeps it on a database in use
    command = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(command))


# --- (a) compiled: crmcore_sql.visibility.visible_page, the plan chosen per viewer ------------


def page_compiled(engine: Engine, viewer: Principal, after: PageKey | None = None) -> list[Row]:
    with engine.connect() as connection:
        page = fetch_visible_page(
            connection, DEFAULT_POLICY, viewer, RecordKind.TASK, limit=PAGE, after=after
        )
        return list(page.rows)


# --- (b) the best hand-written SQL for each kind of viewer -------------------------------------
# VIS-7 is checked on the viewer (every bench viewer holds the activities module).

EMPLOYER = "('owner', 'administrator')"
AFTER = "AND t.created_at <= :at AND (t.created_at < :at OR t.id < :id)"

# dense (the owner): walk (tenant_id, created_at, id) newest first, test each row
HAND_DENSE = f"""
SELECT t.id, t.tenant_id, t.title, t.creator_id, t.creator_role, t.supervisor_id, t.created_at
FROM tasks t
WHERE t.tenant_id = :tenant AND (
  (t.creator_role IN {EMPLOYER} AND (
     t.creator_id = :viewer OR t.supervisor_id = :viewer
     OR EXISTS (SELECT 1 FROM task_assignees a WHERE a.task_id = t.id AND a.user_id = :viewer)))
  OR t.creator_role IS NULL OR t.creator_role NOT IN {EMPLOYER}) {{after}}
ORDER BY t.created_at DESC, t.id DESC LIMIT 50
"""

# sparse (an employee): the newest 50 of each relation the employee is tied by (VIS-2: creator,
# supervisor, assignee of an employer's task; VIS-3: creator of their own), each from its
# index, then the keys of the newest 50 of their union, then those 50 rows
HAND_SPARSE = f"""
SELECT t.id, t.tenant_id, t.title, t.creator_id, t.creator_role, t.supervisor_id, t.created_at
FROM tasks t JOIN (SELECT id, created_at FROM (
  SELECT id, created_at FROM (
    SELECT t.id, t.created_at FROM tasks t
    WHERE t.tenant_id = :tenant AND t.creator_id = :viewer {{after}}
    ORDER BY t.created_at DESC, t.id DESC LIMIT 50) created
  UNION
  SELECT id, created_at FROM (
    SELECT t.id, t.created_at FROM tasks t
    WHERE t.tenant_id = :tenant AND t.supervisor_id = :viewer AND t.creator_role IN {EMPLOYER}
    {{after}}
    ORDER BY t.created_at DESC, t.id DESC LIMIT 50) supervised
  UNION
  SELECT id, created_at FROM (
    SELECT t.id, t.created_at FROM task_assignees a {{cross}} JOIN tasks t ON t.id = a.task_id
    WHERE a.user_id = :viewer AND t.tenant_id = :tenant AND t.creator_role IN {EMPLOYER}
    {{after}}
    ORDER BY t.created_at DESC, t.id DESC LIMIT 50) assigned
  ) u ORDER BY created_at DESC, id DESC LIMIT 50
) v ON t.id = v.id
ORDER BY v.created_at DESC, v.id DESC LIMIT 50
"""


def page_hand_written(engine: Engine, viewer: Principal, after: PageKey | None = None) -> list[Row]:
    template = HAND_DENSE if viewer.role is Role.OWNER else HAND_SPARSE
    # SQLite: CROSS JOIN fixes the join order (assignments first), the best plan by hand
    cross = "CROSS" if engine.dialect.name == "sqlite" else ""
    sql = text(template.format(after=AFTER if after else "", cross=cross)).columns(*tasks.c)
    if after is not None:  # bound as the column binds it (SQLite: the same text format)
        sql = sql.bindparams(bindparam("at", type_=tasks.c.created_at.type))
    parameters: dict[str, object] = {"tenant": viewer.tenant_id, "viewer": viewer.user_id}
    if after is not None:
        parameters |= {"at": after.created_at, "id": after.id}
    with engine.connect() as connection:
        return list(connection.execute(sql, parameters))


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

PageFunction = Callable[[Engine, Principal, PageKey | None], list[Row]]


def median_p99(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


Spent = dict[tuple[str, bool, bool], list[float]]


def paged_interleaved(viewers: Sequence[Principal], engine: Engine, pages: int) -> Spent:
    """Every viewer's first ``pages`` pages, compiled and hand-written one after the other
    (alternately first), each request timed alone; keyed by (way, first page?, ran first?):
    the way that runs second finds the pages the first one read in the cache, so each way is
    compared with the other in the same position. The two ways must return the same rows."""
    spent: Spent = {
        (way, first, cold): []
        for way in ("compiled", "hand")
        for first in (True, False)
        for cold in (True, False)
    }
    ways: tuple[tuple[str, PageFunction], ...] = (
        ("compiled", page_compiled),
        ("hand", page_hand_written),
    )
    for number, viewer in enumerate(viewers):
        after: PageKey | None = None
        for page_number in range(pages):
            results = {}
            order = ways if (number + page_number) % 2 == 0 else ways[::-1]
            for position, (name, function) in enumerate(order):
                started = time.perf_counter()
                results[name] = function(engine, viewer, after)
                elapsed = time.perf_counter() - started
                spent[(name, page_number == 0, position == 0)].append(elapsed)
            ids = [[row.id for row in rows] for rows in results.values()]
            assert ids[0] == ids[1], f"compiled and hand-written disagree for {viewer}"
            if len(results["compiled"]) < PAGE:
                break
            after = page_key_of(results["compiled"][-1])
    return spent


def report(label: str, spent: Spent) -> None:
    for first in (True, False):
        for cold in (True, False):
            compiled, hand = spent[("compiled", first, cold)], spent[("hand", first, cold)]
            if not compiled or not hand:
                continue
            (cm, cp), (hm, hp) = median_p99(compiled), median_p99(hand)
            which = ("first page " if first else "later pages") + (
                " ran 1st" if cold else " ran 2nd"
            )
            print(
                f"  {label:6} {which} n={len(compiled):3}  compiled {cm * 1000:7.2f} median"
                f" {cp * 1000:7.2f} p99 | hand-written {hm * 1000:7.2f} / {hp * 1000:7.2f} ms"
                f" | ratio {cm / hm:.2f} / {cp / hp:.2f}"
            )


def explain(engine: Engine, viewer: Principal) -> None:
    statement = visible_page(DEFAULT_POLICY, viewer, RecordKind.TASK, limit=PAGE)
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = (
        "EXPLAIN QUERY PLAN "
        if engine.dialect.name == "sqlite"
        else "EXPLAIN (ANALYZE, COSTS OFF) "
    )
    plan = choose_plan(DEFAULT_POLICY, viewer, RecordKind.TASK)
    print(f"  EXPLAIN, {viewer.role} {viewer.user_id} ({plan} plan):")
    with engine.connect() as connection:
        for row in connection.exec_driver_sql(f"{prefix}{compiled}"):
            print(f"    {row[-1]}")


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
    employees = [p for p in people if p.role is Role.EMPLOYEE]
    sparse = rng.sample(employees, min(arguments.viewers, len(employees)))
    dense = [people[0]] * arguments.dense_repeats  # the owner (one per tenant)
    # warm the caches (pages, statements, plans) so that neither way pays for them
    paged_interleaved(sparse[:10], engine, arguments.pages)
    paged_interleaved(dense[:2], engine, arguments.pages)
    sparse_spent = paged_interleaved(sparse, engine, arguments.pages)
    dense_spent = paged_interleaved(dense, engine, arguments.pages)
    print(
        f"  sparse: {len(sparse)} employees, dense: the owner x {len(dense)},"
        f" up to {arguments.pages} pages of {PAGE} each"
    )
    report("sparse", sparse_spent)
    report("dense", dense_spent)
    if arguments.explain:
        explain(engine, sparse[0])
        explain(engine, people[0])
    slow_viewers = sparse[: arguments.slow_viewers]
    if slow_viewers:
        a, pages_a = timed(page_compiled, engine, slow_viewers)
        c, pages_c = timed(page_in_python, engine, slow_viewers)
        assert pages_c == [[r.id for r in p] for p in pages_a], "in-memory filter disagrees"
        d, pages_d = timed(casbin_page_function(engine), engine, slow_viewers)
        assert pages_d == pages_c, "casbin disagrees"
        print(f"  (c) Python filtering    {c * 1000:10.2f} ms/viewer   c/a = {c / a:.1f}")
        print(f"  (d) casbin per row      {d * 1000:10.2f} ms/viewer   d/a = {d / a:.1f}")
    engine.dispose()


def timed(
    function: Callable[[Engine, Principal], list[T]], engine: Engine, viewers: Sequence[Principal]
) -> tuple[float, list[list[T]]]:
    pages = []
    start = time.perf_counter()
    for viewer in viewers:
        pages.append(function(engine, viewer))
    return (time.perf_counter() - start) / len(viewers), pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--viewers", type=int, default=200, help="sparse viewers (employees)")
    parser.add_argument("--dense-repeats", type=int, default=50, help="owner page loads")
    parser.add_argument("--pages", type=int, default=3, help="pages per viewer (keyset)")
    parser.add_argument("--explain", action="store_true", help="print the EXPLAIN plans")
    parser.add_argument("--slow-viewers", type=int, default=0, help="(c) and (d) viewers")
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
