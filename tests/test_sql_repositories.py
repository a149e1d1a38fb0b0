"""The storage contract (crmcore.testing_storage) against SQLite, PostgreSQL and MariaDB.

The server variants run when CRMCORE_TEST_POSTGRES_URL / CRMCORE_TEST_MYSQL_URL are set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.testing_storage import StorageContract
from crmcore_sql import SqlUnitOfWork


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = crmcore_sql.create_engine(database_url)
    crmcore_sql.migrate(engine)
    yield engine
    engine.dispose()


class TestSqlStorage(StorageContract):
    __test__ = True

    @pytest.fixture(autouse=True)
    def _engine(self, migrated_engine: Engine) -> None:
        self.engine = migrated_engine

    def unit_of_work(self) -> SqlUnitOfWork:
        return crmcore_sql.unit_of_work(self.engine)
