"""The one ``users`` table (issue 16) on SQLite, PostgreSQL and MariaDB: accounts
(``crmcore.ports.User``, SEAT-4, VIS-7) and the visibility filters' principals (VIS-2) are its
rows; an account's integer id comes from ``users_counter``; migration 0013 merged
``tenant_users`` into it.

The server variants run when CRMCORE_TEST_POSTGRES_URL / CRMCORE_TEST_MYSQL_URL are set.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, column, func, insert, inspect, select, table

import crmcore_sql
from crmcore.errors import ConcurrencyError, StorageError, ValidationError
from crmcore.ports import User
from crmcore.roles import Role
from crmcore_sql.migrate import current_revision
from crmcore_sql.tables import users, users_counter
from crmcore_sql.tables_visibility import user_permissions
from crmcore_sql.testing import temporary_database
from crmcore_sql.visibility import load_principal


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database of this module's own: the id tests read ``max(users.id)``."""
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        crmcore_sql.migrate(engine)
        yield engine
        engine.dispose()


def _tenant() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


def _ids(engine: Engine, tenant: str) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(users.c.account, users.c.id).where(users.c.tenant_id == tenant)
        ).all()
    return {account: user_id for account, user_id in rows}


def _largest(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.max(users.c.id))).scalar() or 0)


def test_vis7_an_account_is_one_row_the_visibility_filters_read_as_a_principal(
    engine: Engine,
) -> None:
    """VIS-7, VIS-2 (differential): an account stored by the users repository is the row
    ``load_principal`` reads: the same role (stored as ``employee`` for ``"user"``) and the
    supervisor link (the supervisor account's id); the boss sees ann as a subordinate."""
    tenant = _tenant()
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.users.add(User(tenant, "boss", "supervisor"))
        uow.users.add(User(tenant, "ann", "user", supervisor="boss"))
        uow.commit()
    ids = _ids(engine, tenant)
    with engine.connect() as connection:
        stored = connection.execute(
            select(users.c.account, users.c.role, users.c.supervisor_id)
            .where(users.c.tenant_id == tenant)
            .order_by(users.c.account)
        ).all()
        ann = load_principal(connection, tenant, ids["ann"])
        boss = load_principal(connection, tenant, ids["boss"])
    assert [tuple(row) for row in stored] == [
        ("ann", "employee", ids["boss"]),
        ("boss", "supervisor", None),
    ]
    assert (ann.role, ann.supervisor_id) == (Role.EMPLOYEE, ids["boss"])
    assert (boss.role, boss.subordinates) == (Role.SUPERVISOR, frozenset({ids["ann"]}))


def test_an_account_id_is_above_every_row_a_loader_inserted_with_its_own_id(
    engine: Engine,
) -> None:
    """Rows inserted with explicit ids (a visibility loader, a benchmark) are never collided
    with: after a principal of id largest + 1000, the next account's id is largest + 1001,
    and the counter row remembers it (a later account never goes below it either)."""
    tenant = _tenant()
    explicit = _largest(engine) + 1000
    with engine.begin() as connection:
        connection.execute(insert(users).values(id=explicit, tenant_id=tenant, role="owner"))
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.users.add(User(tenant, "ann"))
        uow.commit()
    assert _ids(engine, tenant) == {None: explicit, "ann": explicit + 1}  # type: ignore[dict-item]
    with engine.connect() as connection:
        last = connection.execute(
            select(users_counter.c.last_id).where(users_counter.c.name == "users")
        ).scalar()
    assert last == explicit + 1
    with crmcore_sql.unit_of_work(engine) as uow:
        assert uow.users.for_tenant(tenant) == [User(tenant, "ann")]  # the principal: no account


def test_seat4_two_units_of_work_creating_accounts_at_once_get_distinct_ids(
    engine: Engine,
) -> None:
    """SEAT-4 storage: four threads create five accounts each at once (one tenant per thread);
    every account is stored with its own id, the ids are 20 consecutive ones above the largest
    before, and the counter ends at the largest."""
    before = _largest(engine)
    tenants = [_tenant() for _ in range(4)]
    start = threading.Barrier(len(tenants), timeout=30)
    failures: list[BaseException] = []

    def creator(tenant: str) -> None:
        try:
            start.wait()
            for n in range(5):
                while True:
                    try:
                        with crmcore_sql.unit_of_work(engine) as uow:
                            uow.users.add(User(tenant, f"user{n}"))
                            uow.commit()
                    except ConcurrencyError:  # a deadlock the database broke: retry
                        continue
                    break
        except BaseException as exc:  # the assertion below names it
            failures.append(exc.with_traceback(None))

    threads = [threading.Thread(target=creator, args=(tenant,)) for tenant in tenants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    given = [user_id for tenant in tenants for user_id in _ids(engine, tenant).values()]
    assert sorted(given) == list(range(before + 1, before + 21))
    with engine.connect() as connection:
        last = connection.execute(select(users_counter.c.last_id)).scalar()
    assert last == before + 20


def test_an_id_taken_meanwhile_by_an_uncommitted_loader_row_is_taken_again(
    engine: Engine,
) -> None:
    """A loader inserts a principal with the very id the next account would get and commits
    only later: the account's creation waits for it (the row lock on the servers, the write
    lock on SQLite), then takes the id above it; nothing fails."""
    tenant = _tenant()
    taken = _largest(engine) + 1
    outcome: list[object] = []

    def create() -> None:
        try:
            with crmcore_sql.unit_of_work(engine) as uow:
                uow.users.add(User(tenant, "ann"))
                uow.commit()
            outcome.append("stored")
        except Exception as exc:  # the assertion below names it
            outcome.append(exc.with_traceback(None))

    with engine.connect() as loader:
        with loader.begin():
            loader.execute(insert(users).values(id=taken, tenant_id=tenant, role="employee"))
            creating = threading.Thread(target=create)
            creating.start()
            time.sleep(0.5)  # the creation is waiting for the loader
        creating.join(60)
    assert outcome == ["stored"]
    assert _ids(engine, tenant) == {None: taken, "ann": taken + 1}  # type: ignore[dict-item]


def test_a_refused_account_leaves_the_unit_of_work_usable_and_stores_nothing(
    engine: Engine,
) -> None:
    """SEAT-2/VIS-2 refusals (a taken name, a supervisor of no account) in the middle of a unit
    of work: typed errors, no row and no id used by them, what comes after is committed."""
    tenant = _tenant()
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.users.add(User(tenant, "ann"))
        uow.commit()
    before = _largest(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        with pytest.raises(StorageError, match="already exists"):
            uow.users.add(User(tenant, "ann", Role.OWNER))
        with pytest.raises(ValidationError) as refused:
            uow.users.add(User(tenant, "eve", supervisor="nobody"))
        assert refused.value.field == "user.supervisor"
        uow.users.add(User(tenant, "bob", supervisor="ann"))
        uow.commit()
    ids = _ids(engine, tenant)
    assert sorted(ids) == ["ann", "bob"] and ids["bob"] == before + 1


def test_a_stored_role_or_supervisor_written_outside_crmcore_is_a_storage_error(
    engine: Engine,
) -> None:
    """A row crmcore did not write (role ``OWNER``; a supervisor that is a principal without
    account, or another tenant's account: VIS-1) is a StorageError naming the column."""
    cases = [("OWNER", False, "users.role"), ("owner", True, "users.supervisor_id")]
    for role, foreign_supervisor, named in cases:
        tenant, other = _tenant(), _tenant()
        largest = _largest(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(users).values(id=largest + 1, tenant_id=other, role="owner", account="x")
            )
            connection.execute(
                insert(users).values(
                    id=largest + 2,
                    tenant_id=tenant,
                    role=role,
                    account="ann",
                    supervisor_id=largest + 1 if foreign_supervisor else None,
                )
            )
        with crmcore_sql.unit_of_work(engine) as uow, pytest.raises(StorageError) as refused:
            uow.users.for_tenant(tenant)
        assert refused.value.field == named


# --- migration 0013 ------------------------------------------------------------------------

# the two tables as 0012 left them
OLD_TENANT_USERS = table(
    "tenant_users", *(column(c) for c in ("tenant_id", "user_id", "role", "supervisor"))
)
OLD_USERS = table("users", *(column(c) for c in ("id", "tenant_id", "role", "supervisor_id")))


def _tenant_users_rows() -> list[dict[str, object]]:
    # "t1": boss (the owner) over ann (a "user") over zed; zed sorts after, ann before boss
    return [
        {"tenant_id": "t1", "user_id": "zed", "role": "user", "supervisor": "ann"},
        {"tenant_id": "t1", "user_id": "ann", "role": "user", "supervisor": "boss"},
        {"tenant_id": "t1", "user_id": "boss", "role": "owner", "supervisor": None},
        {"tenant_id": "T1", "user_id": "ann", "role": "external", "supervisor": None},
    ]


def test_vis7_upgrade_to_0013_merges_tenant_users_into_users(database_url: str) -> None:
    """Issue 16: a 0012 database with accounts in ``tenant_users`` and principals in ``users``
    (ids 7 and 9, 9 supervised by 7) keeps both: the principals as they were, each account a
    row above them (ids 10..13 in (tenant, user) order: T1/ann, t1/ann, t1/boss, t1/zed),
    ``user`` stored as ``employee``, supervisors linked by id; the repository reads the
    accounts back as before, a new account gets 14; the downgrade gives ``tenant_users``
    back, ``user`` included."""
    from alembic import command

    from crmcore_sql.migrate import alembic_config

    old_users, principals = OLD_TENANT_USERS, OLD_USERS
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0012")
            with engine.begin() as connection:
                connection.execute(insert(old_users), _tenant_users_rows())
                connection.execute(
                    insert(principals),
                    [
                        {"id": 7, "tenant_id": "t1", "role": "owner", "supervisor_id": None},
                        {"id": 9, "tenant_id": "t1", "role": "employee", "supervisor_id": 7},
                    ],
                )
            crmcore_sql.migrate(engine, "0013")
            with engine.connect() as connection:
                assert current_revision(connection) == "0013"
                assert "tenant_users" not in inspect(connection).get_table_names()
                rows = connection.execute(
                    select(
                        users.c.id,
                        users.c.tenant_id,
                        users.c.account,
                        users.c.role,
                        users.c.supervisor_id,
                    ).order_by(users.c.id)
                ).all()
                assert [tuple(row) for row in rows] == [
                    (7, "t1", None, "owner", None),
                    (9, "t1", None, "employee", 7),
                    (10, "T1", "ann", "external", None),
                    (11, "t1", "ann", "employee", 12),
                    (12, "t1", "boss", "owner", None),
                    (13, "t1", "zed", "employee", 11),
                ]
                assert load_principal(connection, "t1", 12).subordinates == frozenset({11})
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.users.for_tenant("t1") == [
                    User("t1", "ann", "user", supervisor="boss"),
                    User("t1", "boss", "owner"),
                    User("t1", "zed", "user", supervisor="ann"),
                ]
                assert uow.users.get("T1", "ann") == User("T1", "ann", "external")
                uow.users.add(User("t1", "new", supervisor="zed"))
                uow.commit()
            assert _ids(engine, "t1")["new"] == 14
            with engine.begin() as connection:  # a permission of an account goes with it
                connection.execute(
                    insert(user_permissions).values(user_id=14, module="sales", tenant_id="t1")
                )
            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "0012")
            with engine.connect() as connection:
                back = connection.execute(
                    select(old_users).order_by(old_users.c.tenant_id, old_users.c.user_id)
                ).all()
                left = connection.execute(select(principals).order_by(principals.c.id)).all()
            expected = sorted(
                (r["tenant_id"], r["user_id"], r["role"], r["supervisor"])
                for r in _tenant_users_rows()
            )
            expected.append(("t1", "new", "user", "zed"))
            assert sorted(tuple(row) for row in back) == sorted(expected)
            assert [tuple(row) for row in left] == [
                (7, "t1", "owner", None),
                (9, "t1", "employee", 7),
            ]
        finally:
            engine.dispose()


def test_upgrade_to_0013_stops_on_a_supervisor_that_is_no_account(database_url: str) -> None:
    """VIS-2: an account of ``tenant_users`` supervised by a name that is no account of its
    tenant (another tenant's ``boss``) cannot be linked by id: the upgrade stops naming it,
    before changing anything (still 0012, ``tenant_users`` as it was)."""
    old_users = OLD_TENANT_USERS
    rows = [
        {"tenant_id": "t1", "user_id": "ann", "role": "user", "supervisor": "boss"},
        {"tenant_id": "t2", "user_id": "boss", "role": "owner", "supervisor": None},
    ]
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0012")
            with engine.begin() as connection:
                connection.execute(insert(old_users), rows)
            with pytest.raises(RuntimeError, match="'t1'/'ann' \\(supervisor 'boss'\\)"):
                crmcore_sql.migrate(engine)
            with engine.connect() as connection:
                assert current_revision(connection) == "0012"
                assert len(connection.execute(select(old_users)).all()) == 2
                assert "users_counter" not in inspect(connection).get_table_names()
        finally:
            engine.dispose()
