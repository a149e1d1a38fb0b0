"""The storage contract (crmcore.testing.storage) against SQLite, PostgreSQL and MariaDB.

The server variants run when CRMCORE_TEST_POSTGRES_URL / CRMCORE_TEST_MYSQL_URL are set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.errors import StorageError, ValidationError
from crmcore.ports import RecordCount, RecordTable, UnitOfWork
from crmcore.testing.storage import StorageContract
from crmcore_sql import SqlUnitOfWork
from crmcore_sql.repositories import ONE_STATEMENT_ROWS
from crmcore_sql.testing import record_rows, scratch


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = crmcore_sql.create_engine(database_url)
    crmcore_sql.migrate(engine)
    scratch.create_all(engine)
    yield engine
    engine.dispose()


class TestSqlStorage(StorageContract):
    __test__ = True

    @pytest.fixture(autouse=True)
    def _engine(self, migrated_engine: Engine) -> None:
        self.engine = migrated_engine

    def unit_of_work(self) -> SqlUnitOfWork:
        return crmcore_sql.unit_of_work(self.engine)

    def record_table(self) -> RecordTable:
        return record_rows

    def stored_records(self, uow: UnitOfWork, tenant_id: str) -> list[dict[str, Any]]:
        assert isinstance(uow, SqlUnitOfWork)
        found = uow.connection.execute(
            select(record_rows.c.tenant_id, record_rows.c.kind)
            .where(record_rows.c.tenant_id == tenant_id)
            .order_by(record_rows.c.id)
        )
        return [dict(row._mapping) for row in found]


def test_rec6_create_whose_insert_fails_counts_nothing(migrated_engine: Engine) -> None:
    """REC-6: a row the application table refuses (``kind`` is NOT NULL, second of two) fails
    the whole creation and loses the transaction on every engine, so even a caller that
    catches the error and commits stores no row and counts nothing."""
    tenant = "rec6-insert-fails"
    rows: list[dict[str, Any]] = [
        {"tenant_id": tenant, "kind": "contact"},
        {"tenant_id": tenant, "kind": None},
    ]
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        with pytest.raises(StorageError):
            uow.records.create(tenant, "client", 10, record_rows, rows)
        uow.commit()
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        assert uow.records.total(tenant) == 0
        assert uow.records.by_kind(tenant) == {}
        found = uow.connection.execute(select(record_rows).where(record_rows.c.tenant_id == tenant))
        assert found.all() == []


def test_create_needs_a_table_with_the_rows_columns(migrated_engine: Engine) -> None:
    """The SQL adapter inserts into a SQLAlchemy ``Table``; a column it lacks is an input
    error raised before anything is counted."""
    tenant = "rec-table-check"
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        with pytest.raises(ValidationError, match="table"):
            uow.records.create(tenant, "client", 10, _Named("demo_records"), [{"kind": "c"}])
        with pytest.raises(ValidationError, match="colour"):
            uow.records.create(tenant, "client", 10, record_rows, [{"colour": "red"}])
        assert uow.records.total(tenant) == 0


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name


def test_rec3_create_records_commits_what_it_allows(migrated_engine: Engine) -> None:
    """REC-3, REC-6: ``crmcore_sql.create_records`` is a transaction of its own: allowed rows
    and their count are committed (2 of limit 3); 2 + 2 > 3 is refused and leaves nothing."""
    tenant = "rec3-create-records"
    rows: list[dict[str, Any]] = [{"tenant_id": tenant, "kind": "lead"}] * 2
    allowed = crmcore_sql.create_records(migrated_engine, tenant, "lead", 3, record_rows, rows)
    assert (allowed.allowed, allowed.total, allowed.requested) == (True, 2, 2)
    refused = crmcore_sql.create_records(migrated_engine, tenant, "lead", 3, record_rows, rows)
    assert (refused.allowed, refused.total, refused.requested) == (False, 2, 2)
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        assert uow.records.by_kind(tenant) == {"lead": 2}
        found = uow.connection.execute(select(record_rows).where(record_rows.c.tenant_id == tenant))
        assert len(found.all()) == 2


def test_rec6_create_records_whose_insert_fails_counts_nothing(migrated_engine: Engine) -> None:
    """REC-6: a refused row (``kind`` is NOT NULL) in the second position fails the whole
    creation: nothing counted, not even the first row stored."""
    tenant = "rec6-create-records-fails"
    rows: list[dict[str, Any]] = [
        {"tenant_id": tenant, "kind": "lead"},
        {"tenant_id": tenant, "kind": None},
    ]
    with pytest.raises(StorageError):
        crmcore_sql.create_records(migrated_engine, tenant, "lead", 10, record_rows, rows)
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        assert uow.records.total(tenant) == 0
        found = uow.connection.execute(select(record_rows).where(record_rows.c.tenant_id == tenant))
        assert found.all() == []


def _create_in_unit_of_work(
    engine: Engine, tenant_id: str, limit: int, rows: list[dict[str, Any]]
) -> RecordCount:
    with crmcore_sql.unit_of_work(engine) as uow:
        decision = uow.records.create(tenant_id, "task", limit, record_rows, rows)
        uow.commit()
    return decision


def _create_alone(
    engine: Engine, tenant_id: str, limit: int, rows: list[dict[str, Any]]
) -> RecordCount:
    return crmcore_sql.create_records(engine, tenant_id, "task", limit, record_rows, rows)


@pytest.mark.parametrize("create", [_create_in_unit_of_work, _create_alone])
def test_rec3_create_of_more_rows_than_one_statement_takes(
    migrated_engine: Engine,
    create: Callable[[Engine, str, int, list[dict[str, Any]]], RecordCount],
) -> None:
    """REC-3, REC-6: above ONE_STATEMENT_ROWS rows the guard and the insert are two statements
    in one transaction (also for ``create_records`` on PostgreSQL): 101 of limit 150 are
    stored and counted, another 50 (101 + 50 > 150) are refused and leave nothing."""
    tenant = f"rec3-many-{create.__name__}"
    many = ONE_STATEMENT_ROWS + 1
    rows: list[dict[str, Any]] = [{"tenant_id": tenant, "kind": "task"}] * many
    allowed = create(migrated_engine, tenant, 150, rows)
    assert (allowed.allowed, allowed.total, allowed.requested) == (True, 101, 101)
    refused = create(migrated_engine, tenant, 150, rows[:50])
    assert (refused.allowed, refused.total, refused.requested) == (False, 101, 50)
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        assert uow.records.by_kind(tenant) == {"task": 101}
        found = uow.connection.execute(select(record_rows).where(record_rows.c.tenant_id == tenant))
        assert len(found.all()) == 101


def test_add_many_with_ids_taken_earlier_round_trips_bill_6(migrated_engine: Engine) -> None:
    """The billing job takes invoice ids before the numbering lock and passes them to
    add_many; the invoices read back equal; a wrong number of ids stores nothing."""
    import uuid

    from crmcore.testing.storage import sample_invoice

    tenant = f"ids-{uuid.uuid4().hex[:8]}"
    batch = [sample_invoice(tenant, f"k{n}", number=str(n)) for n in range(1, 4)]
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        ids = uow.invoices.new_ids(len(batch))
        if migrated_engine.dialect.name == "mysql":
            assert ids is None  # AUTO_INCREMENT: add_many inserts one by one
        else:
            assert ids is not None and len(set(ids)) == 3
            with pytest.raises(StorageError, match="2 ids for 3 invoices"):
                uow.invoices.add_many(batch, ids[:2])
        uow.invoices.add_many(batch, ids)
        uow.commit()
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        assert uow.invoices.for_tenant(tenant) == batch


def test_add_rows_refuses_a_mix_of_rows_with_and_without_ids(migrated_engine: Engine) -> None:
    """add_rows stores rows built beforehand (the billing job builds them before it locks a
    series); rows with ids and rows without together are refused and nothing is stored."""
    import uuid

    from crmcore.testing.storage import sample_invoice
    from crmcore_sql.convert import invoice_to_rows

    tenant = f"rows-{uuid.uuid4().hex[:8]}"
    first, second = (sample_invoice(tenant, f"k{n}", number=str(n)) for n in (1, 2))
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        mixed = [invoice_to_rows(first, 10**9), invoice_to_rows(second)]
        with pytest.raises(StorageError, match="1 of 2 invoice rows carry an id") as refused:
            uow.invoices.add_rows(mixed)
        assert refused.value.field == "rows"
        assert uow.invoices.for_tenant(tenant) == []
        ids = uow.invoices.new_ids(2)
        rows = [invoice_to_rows(first), invoice_to_rows(second)]
        if ids is not None:
            rows = [invoice_to_rows(first, ids[0]), invoice_to_rows(second, ids[1])]
        uow.invoices.add_rows(rows)
        uow.commit()
    with crmcore_sql.unit_of_work(migrated_engine) as uow:
        assert uow.invoices.for_tenant(tenant) == [first, second]


@pytest.mark.parametrize(
    ("role", "module", "column", "value"),
    [
        ("OWNER", "contacts", "users.role", "'OWNER'"),
        ("owner", "Contacts", "user_permissions.module", "'Contacts'"),
    ],
)
def test_load_principal_refuses_a_stored_value_outside_the_enums_vis_1(
    migrated_engine: Engine, role: str, module: str, column: str, value: str
) -> None:
    """A role or module written outside crmcore (``'OWNER'``, ``'Contacts'``: the enums are
    lower case) is a StorageError naming the column and the value, not a plain ValueError."""
    import uuid

    from sqlalchemy import insert

    from crmcore_sql.tables_visibility import user_permissions, users
    from crmcore_sql.visibility import load_principal

    tenant, user_id = f"vis-{uuid.uuid4().hex[:8]}", uuid.uuid4().int % 2**30
    with migrated_engine.begin() as connection:
        connection.execute(insert(users).values(id=user_id, tenant_id=tenant, role=role))
        connection.execute(
            insert(user_permissions).values(user_id=user_id, module=module, tenant_id=tenant)
        )
    with migrated_engine.connect() as connection, pytest.raises(StorageError) as refused:
        load_principal(connection, tenant, user_id)
    assert refused.value.field == column
    assert value in str(refused.value)
