"""The storage contract (crmcore.testing_storage) against the in-memory adapter."""

from __future__ import annotations

from crmcore.memory import InMemoryStorage, InMemoryUnitOfWork
from crmcore.testing_storage import StorageContract


class TestInMemoryStorage(StorageContract):
    __test__ = True
    storage = InMemoryStorage()

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return self.storage.unit_of_work()
