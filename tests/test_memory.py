"""The storage contract (crmcore.testing.storage) against the in-memory adapter."""

from __future__ import annotations

from typing import Any

from crmcore.memory import InMemoryStorage, InMemoryUnitOfWork
from crmcore.ports import UnitOfWork
from crmcore.testing.storage import StorageContract


class TestInMemoryStorage(StorageContract):
    __test__ = True
    storage = InMemoryStorage()

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return self.storage.unit_of_work()

    def stored_records(self, uow: UnitOfWork, tenant_id: str) -> list[dict[str, Any]]:
        assert isinstance(uow, InMemoryUnitOfWork)
        return uow.records.stored_rows(tenant_id, self.record_table())
