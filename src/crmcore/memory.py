"""In-memory adapters: the default storage, needing no configuration.

:class:`InMemoryStorage` holds the data; each :class:`InMemoryUnitOfWork` works on a copy under
the storage's lock and swaps it in on commit, so transactions are serialised (thread-safe, the
REC-6 and SEAT-5 guarantees hold between threads) and a rollback leaves nothing behind.

>>> from crmcore.memory import InMemoryStorage
>>> storage = InMemoryStorage()
>>> with storage.unit_of_work() as uow:
...     uow.records.try_create("t1", "clients", 2, limit=3).allowed
...     uow.commit()
True
>>> with storage.unit_of_work() as uow:
...     uow.records.try_create("t1", "lead", 2, limit=3).allowed
False

Long because every repository of crmcore.ports in memory, one class per port (as
crmcore_sql.repositories is in SQL), with the storage and its unit of work.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import date
from types import TracebackType
from typing import Any

import attrs

from crmcore.catalog import Catalog
from crmcore.dates import require_day
from crmcore.errors import (
    N_,
    ConcurrencyError,
    NotFound,
    SeatError,
    StorageError,
    ValidationError,
)
from crmcore.events import MAX_SEATS, Event, OutageRecorded, TenantCreated
from crmcore.invoices import Invoice, Payment
from crmcore.limits import check_record_deletion, check_record_total, checked_record_call
from crmcore.outbox import OutboxEvent, checked_outbox_events
from crmcore.ports import (
    MAX_API_LIMIT,
    MAX_STORAGE_LIMIT,
    ApiCallCount,
    RecordCount,
    RecordTable,
    StorageCount,
    User,
    check_expected_version,
    checked_consumer,
    checked_file,
    checked_history,
    checked_limit,
    checked_record_rows,
    key_taken,
    number_taken,
)
from crmcore.tenancy.trials import normalise_identity
from crmcore.vendors import Vendor, check_vendor_version, is_vendor_name, version_in_force


def check_bought(seats: int) -> None:
    """SEAT-1: a bought seat count is a whole number from 0 to ``MAX_SEATS``; every seat
    repository refuses any other before it stores anything."""
    if isinstance(seats, bool) or not isinstance(seats, int) or not 0 <= seats <= MAX_SEATS:
        raise ValidationError(
            f"seats must be a whole number from 0 to {MAX_SEATS}, got {seats!r}",
            field="seats",
            rule="SEAT-1",
        )


__all__ = ["InMemoryStorage", "InMemoryUnitOfWork"]

_TABLES = (
    "tenants",  # tenant_id -> (vendor, events tuple)
    "catalogs",  # name -> Catalog
    "invoices",  # (tenant_id, key) -> Invoice
    "series",  # series -> last number
    "payments",  # tenant_id -> tuple[Payment]
    "outages",  # tenant_id -> tuple[OutageRecorded]
    "records",  # (tenant_id, kind) -> count
    "record_rows",  # (table name, tenant_id) -> tuple of the rows stored by records.create
    "bought",  # tenant_id -> seats
    "assigned",  # tenant_id -> frozenset[str]
    "users",  # (tenant_id, user_id) -> User
    "vendors",  # name -> tuple[Vendor] ordered by effective day
    "identities",  # (vendor, normalised identity) -> tenants created with it (TRIAL-6)
    "api_calls",  # (tenant_id, vendor day) -> calls counted (API-1)
    "files",  # (tenant_id, name) -> size in bytes (STOR-1)
    "file_usage",  # tenant_id -> stored bytes (STOR-1)
    "outbox",  # id -> OutboxEvent (ids 1, 2, ... in commit order)
    "outbox_keys",  # (tenant_id, key) -> id
    "invoice_numbers",  # (series, number) -> (tenant_id, key): BILL-6, unique in a series
    "outbox_consumers",  # consumer -> id acknowledged
)


class InMemoryStorage:
    """The data of every in-memory unit of work made from it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in _TABLES}

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class _Repository:
    def __init__(self, uow: InMemoryUnitOfWork, table: str) -> None:
        self._uow = uow
        self._table = table

    @property
    def rows(self) -> dict[Any, Any]:
        return self._uow.table(self._table)


class InMemoryTenantRepository(_Repository):
    def add(self, tenant_id: str, vendor: str, events: Sequence[Event]) -> None:
        stored = isinstance(vendor, str) and bool(self._uow.vendors.versions(vendor))
        checked = checked_history(tenant_id, events, vendor=vendor, vendor_stored=stored)
        if tenant_id in self.rows:
            raise StorageError(
                f"tenant {tenant_id!r} already exists", field="tenant_id", rule="TEN-1"
            )
        self.rows[tenant_id] = (vendor, checked)
        created = checked[0]  # a TenantCreated: checked_history
        if isinstance(created, TenantCreated) and created.identity is not None:
            key = (vendor, normalise_identity(created.identity))
            identities = self._uow.table("identities")
            identities[key] = identities.get(key, 0) + 1

    def append(self, tenant_id: str, events: Sequence[Event], expected_version: int) -> int:
        check_expected_version(expected_version)
        vendor, history = self._get(tenant_id)
        if len(history) != expected_version:
            raise ConcurrencyError(
                f"tenant {tenant_id!r} is at version {len(history)}, expected {expected_version}",
                field="expected_version",
            )
        checked = checked_history(tenant_id, events, after=history[-1] if history else None)
        self.rows[tenant_id] = (vendor, history + checked)
        return len(history) + len(events)

    def _get(self, tenant_id: str) -> tuple[str, tuple[Event, ...]]:
        try:
            found: tuple[str, tuple[Event, ...]] = self.rows[tenant_id]
        except KeyError:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id") from None
        return found

    def history(self, tenant_id: str) -> tuple[Event, ...]:
        return self._get(tenant_id)[1]

    def version(self, tenant_id: str) -> int:
        return len(self._get(tenant_id)[1])

    def vendor(self, tenant_id: str) -> str:
        return self._get(tenant_id)[0]

    def ids(
        self, after: str = "", limit: int | None = None, vendor: str | None = None
    ) -> list[str]:
        found = sorted(
            tenant_id
            for tenant_id, (owner, _) in self.rows.items()
            if tenant_id > after and (vendor is None or owner == vendor)
        )
        return found if limit is None else found[:limit]

    def count(self, vendor: str | None = None) -> int:
        return sum(1 for owner, _ in self.rows.values() if vendor is None or owner == vendor)

    def histories(self, tenant_ids: Sequence[str]) -> dict[str, tuple[Event, ...]]:
        return {
            tenant_id: self.rows[tenant_id][1] for tenant_id in tenant_ids if tenant_id in self.rows
        }

    def trials_of(self, vendor: str, identity: str) -> int:
        used: int = self._uow.table("identities").get((vendor, normalise_identity(identity)), 0)
        return used


class InMemoryCatalogRepository(_Repository):
    def save(self, name: str, catalog: Catalog) -> None:
        self.rows[name] = catalog

    def get(self, name: str) -> Catalog:
        try:
            found: Catalog = self.rows[name]
        except KeyError:
            raise NotFound(f"no catalogue {name!r}", field="name") from None
        return found


def _issue_day(invoice: Invoice) -> date:
    """The sort key of issue order: the day, then (a stable sort) the order stored in, which
    is the order the evaluation issued them in (a day's corrections before its invoices)."""
    return invoice.issued


class InMemoryInvoiceRepository(_Repository):
    def add(self, invoice: Invoice) -> None:
        if (invoice.tenant_id, invoice.key) in self.rows:
            raise key_taken(invoice)
        numbers = self._uow.table("invoice_numbers")
        if (invoice.series, invoice.number) in numbers:
            raise number_taken(invoice)
        numbers[invoice.series, invoice.number] = (invoice.tenant_id, invoice.key)
        self.rows[(invoice.tenant_id, invoice.key)] = invoice

    def get(self, tenant_id: str, key: str) -> Invoice | None:
        found: Invoice | None = self.rows.get((tenant_id, key))
        return found

    def for_tenant(self, tenant_id: str) -> list[Invoice]:
        found = [invoice for (owner, _), invoice in self.rows.items() if owner == tenant_id]
        return sorted(found, key=_issue_day)  # stable: the order stored in, within a day

    def issued_between(
        self, tenant_ids: Sequence[str], first: date, last: date
    ) -> dict[str, list[Invoice]]:
        wanted = set(tenant_ids)
        found: dict[str, list[Invoice]] = {}
        for (owner, _), invoice in self.rows.items():
            if owner in wanted and first <= invoice.issued <= last:
                found.setdefault(owner, []).append(invoice)
        for invoices in found.values():
            invoices.sort(key=_issue_day)
        return found

    def last_issued(self, tenant_id: str) -> tuple[str, date] | None:
        mine = [invoice for (owner, _), invoice in self.rows.items() if owner == tenant_id]
        if not mine:
            return None
        latest = max(invoice.issued for invoice in mine)
        first = min(
            (invoice for invoice in mine if invoice.issued == latest),
            key=lambda invoice: (invoice.series, invoice.number),
        )
        return first.number, first.issued

    def by_number(self, number: str) -> list[Invoice]:
        found = [invoice for invoice in self.rows.values() if invoice.number == number]
        return sorted(found, key=lambda invoice: invoice.series)

    def next_number(self, series: str) -> int:
        numbers = self._uow.table("series")
        numbers[series] = numbers.get(series, 0) + 1
        number: int = numbers[series]
        return number


class InMemoryPaymentRepository(_Repository):
    def add(self, payment: Payment) -> None:
        self.rows[payment.tenant_id] = (*self.rows.get(payment.tenant_id, ()), payment)

    def for_tenant(self, tenant_id: str) -> list[Payment]:
        return sorted(self.rows.get(tenant_id, ()), key=lambda payment: payment.at)


class InMemoryOutageRepository(_Repository):
    def add(self, tenant_id: str, outage: OutageRecorded) -> None:
        self.rows[tenant_id] = (*self.rows.get(tenant_id, ()), outage)

    def for_tenant(self, tenant_id: str) -> list[OutageRecorded]:
        return sorted(self.rows.get(tenant_id, ()), key=lambda outage: outage.at)


class InMemoryRecordCounterRepository(_Repository):
    def try_create(self, tenant_id: str, kind: str, count: int, limit: int | None) -> RecordCount:
        kind = checked_record_call(kind, count, limit)  # REC-1, REC-3: before anything is read
        total = self.total(tenant_id)
        if limit is not None and total + count > limit:
            return RecordCount(allowed=False, total=total, requested=count, limit=limit)
        check_record_total(total, count)  # REC-3: no plan limit still stops at MAX_RECORD_LIMIT
        self.rows[(tenant_id, kind)] = self.rows.get((tenant_id, kind), 0) + count
        return RecordCount(allowed=True, total=total + count, requested=count, limit=limit)

    def create(
        self,
        tenant_id: str,
        kind: str,
        limit: int | None,
        table: RecordTable,
        rows: Sequence[Mapping[str, object]],
    ) -> RecordCount:
        """The rows are kept under ``table.name`` for the tenant (read them with
        :meth:`stored_rows`); the transaction is serialised, so deciding then storing is
        atomic (REC-6)."""
        kind = checked_record_call(kind, limit=limit)
        new_rows = checked_record_rows(rows)
        decision = self.try_create(tenant_id, kind, len(new_rows), limit)
        if decision.allowed:
            stored = self._uow.table("record_rows")
            key = (table.name, tenant_id)
            stored[key] = (*stored.get(key, ()), *new_rows)
        return decision

    def stored_rows(self, tenant_id: str, table: RecordTable) -> list[dict[str, object]]:
        """Copies of the rows :meth:`create` stored in ``table`` for the tenant, oldest first."""
        stored = self._uow.table("record_rows").get((table.name, tenant_id), ())
        return [dict(row) for row in stored]

    def delete(self, tenant_id: str, kind: str, count: int) -> None:
        """Refused (``LimitError``, REC-3) when fewer than ``count`` are held: nothing deleted."""
        kind = checked_record_call(kind, count)
        current = self.rows.get((tenant_id, kind), 0)
        check_record_deletion(kind, count, current)
        self.rows[(tenant_id, kind)] = current - count

    def total(self, tenant_id: str) -> int:
        return sum(self.by_kind(tenant_id).values())

    def by_kind(self, tenant_id: str) -> dict[str, int]:
        return {kind: n for (owner, kind), n in self.rows.items() if owner == tenant_id and n}


class InMemorySeatRepository(_Repository):
    def set_bought(self, tenant_id: str, seats: int) -> None:
        check_bought(seats)
        used = len(self.assigned(tenant_id))
        if seats < used:
            raise SeatError(
                N_("cannot keep {seats} seats: {used} are assigned"),
                {"seats": seats, "used": used},
                field="seats",
                rule="SEAT-5",
            )
        self.rows[tenant_id] = seats

    def bought(self, tenant_id: str) -> int:
        seats: int = self.rows.get(tenant_id, 0)
        return seats

    def assign(self, tenant_id: str, person: str) -> None:
        people = self.assigned(tenant_id)
        if person in people:
            raise SeatError(
                N_("{person} already has an account"),
                {"person": repr(person)},
                field="person",
                rule="SEAT-2",
            )
        if len(people) >= self.bought(tenant_id):
            raise SeatError(
                N_("no free account for {person}: all {seats} seats are used"),
                {"person": repr(person), "seats": self.bought(tenant_id)},
                field="person",
                rule="SEAT-5",
            )
        self._uow.table("assigned")[tenant_id] = people | {person}

    def unassign(self, tenant_id: str, person: str) -> None:
        people = self.assigned(tenant_id)
        if person not in people:
            raise NotFound(f"{person!r} has no account", field="person")
        self._uow.table("assigned")[tenant_id] = people - {person}

    def assigned(self, tenant_id: str) -> frozenset[str]:
        people: frozenset[str] = self._uow.table("assigned").get(tenant_id, frozenset())
        return people


class InMemoryUserRepository(_Repository):
    def add(self, user: User) -> None:
        if (user.tenant_id, user.user_id) in self.rows:
            raise StorageError(f"user {user.user_id!r} already exists", field="user_id")
        if user.supervisor is not None and (user.tenant_id, user.supervisor) not in self.rows:
            raise ValidationError(  # as SQL's supervisor link, a row of the tenant (VIS-2)
                f"no user {user.supervisor!r} in tenant {user.tenant_id!r}",
                field="user.supervisor",
                rule="VIS-2",
            )
        self.rows[(user.tenant_id, user.user_id)] = user

    def get(self, tenant_id: str, user_id: str) -> User:
        try:
            found: User = self.rows[(tenant_id, user_id)]
        except KeyError:
            raise NotFound(f"no user {user_id!r}", field="user_id") from None
        return found

    def for_tenant(self, tenant_id: str) -> list[User]:
        return sorted(
            (user for (owner, _), user in self.rows.items() if owner == tenant_id),
            key=lambda user: user.user_id,
        )


class InMemoryApiCallCounterRepository(_Repository):
    """API-1: the transaction is serialised, so deciding then counting is atomic."""

    def try_count(self, tenant_id: str, day: date, limit: int | None) -> ApiCallCount:
        require_day(day, "day")  # API-1: one counter per vendor day
        limit = checked_limit(limit, "API-1", MAX_API_LIMIT)
        used = self.calls(tenant_id, day)
        if limit is not None and used >= limit:
            return ApiCallCount(allowed=False, used=used, limit=limit)
        self.rows[(tenant_id, day)] = used + 1
        return ApiCallCount(allowed=True, used=used, limit=limit)

    def calls(self, tenant_id: str, day: date) -> int:
        require_day(day, "day")
        calls: int = self.rows.get((tenant_id, day), 0)
        return calls


class InMemoryFileRepository(_Repository):
    """STOR-1: the transaction is serialised, so deciding then storing is atomic."""

    def try_store(self, tenant_id: str, name: str, size: int, limit: int | None) -> StorageCount:
        name, size = checked_file(name, size)
        limit = checked_limit(limit, "STOR-1", MAX_STORAGE_LIMIT)
        used = self.used(tenant_id)
        if limit is not None and used + size > limit:
            return StorageCount(allowed=False, used=used, requested=size, limit=limit)
        if (tenant_id, name) in self.rows:
            raise StorageError(f"file {name!r} is already stored", field="name")
        self.rows[(tenant_id, name)] = size
        self._uow.table("file_usage")[tenant_id] = used + size
        return StorageCount(allowed=True, used=used, requested=size, limit=limit)

    def remove(self, tenant_id: str, name: str) -> int:
        size: int | None = self.rows.pop((tenant_id, name), None)
        if size is None:
            raise NotFound(f"no file {name!r}", field="name")
        self._uow.table("file_usage")[tenant_id] = self.used(tenant_id) - size
        return size

    def used(self, tenant_id: str) -> int:
        used: int = self._uow.table("file_usage").get(tenant_id, 0)
        return used

    def sizes(self, tenant_id: str) -> dict[str, int]:
        return {name: size for (owner, name), size in self.rows.items() if owner == tenant_id}


class InMemoryVendorRepository(_Repository):
    def add(self, vendor: Vendor) -> None:
        versions: tuple[Vendor, ...] = self.rows.get(vendor.name, ())
        check_vendor_version(vendor, versions[-1].effective if versions else None)
        self.rows[vendor.name] = (*versions, vendor)

    def get(self, name: str, on: date | None = None) -> Vendor:
        if on is not None:
            require_day(on, "on")
        versions: tuple[Vendor, ...] = self.rows.get(name, ()) if is_vendor_name(name) else ()
        return version_in_force(versions, name, on)

    def versions(self, name: str) -> list[Vendor]:
        return list(self.rows.get(name, ()))

    def names(self) -> list[str]:
        return sorted(self.rows)


class InMemoryOutboxRepository(_Repository):
    """Transactions are serialised, so ids taken from the highest stored one grow in commit
    order."""

    def append(self, events: Sequence[OutboxEvent]) -> list[OutboxEvent]:
        checked = checked_outbox_events(events)
        keys = self._uow.table("outbox_keys")
        stored: list[OutboxEvent] = []
        last = self.last_id()
        for event in checked:
            if event.key is not None and (event.tenant_id, event.key) in keys:
                continue
            last += 1
            kept = attrs.evolve(event, id=last, data=dict(event.data))
            self.rows[last] = kept
            if event.key is not None:
                keys[(event.tenant_id, event.key)] = last
            stored.append(kept)
        return stored

    def read(
        self, after: int = 0, limit: int | None = None, tenant_id: str | None = None
    ) -> list[OutboxEvent]:
        found = [
            event
            for number, event in sorted(self.rows.items())
            if number > after and (tenant_id is None or event.tenant_id == tenant_id)
        ]
        return found if limit is None else found[: max(limit, 0)]

    def last_id(self) -> int:
        return max(self.rows, default=0)

    def acknowledge(self, consumer: str, up_to: int) -> None:
        name, position = checked_consumer(consumer, up_to)
        if position > self.last_id():
            raise ValidationError(
                f"no event {position} is stored (the last is {self.last_id()})", field="up_to"
            )
        consumers = self._uow.table("outbox_consumers")
        consumers[name] = max(consumers.get(name, 0), position)

    def position(self, consumer: str) -> int:
        name, _ = checked_consumer(consumer)
        found: int = self._uow.table("outbox_consumers").get(name, 0)
        return found


class InMemoryUnitOfWork:
    """A serialised transaction over an :class:`InMemoryStorage`."""

    def __init__(self, storage: InMemoryStorage | None = None) -> None:
        self.storage = storage or InMemoryStorage()
        self._working: dict[str, dict[Any, Any]] | None = None
        self.tenants = InMemoryTenantRepository(self, "tenants")
        self.catalogs = InMemoryCatalogRepository(self, "catalogs")
        self.invoices = InMemoryInvoiceRepository(self, "invoices")
        self.payments = InMemoryPaymentRepository(self, "payments")
        self.outages = InMemoryOutageRepository(self, "outages")
        self.records = InMemoryRecordCounterRepository(self, "records")
        self.seats = InMemorySeatRepository(self, "bought")
        self.users = InMemoryUserRepository(self, "users")
        self.vendors = InMemoryVendorRepository(self, "vendors")
        self.api_calls = InMemoryApiCallCounterRepository(self, "api_calls")
        self.files = InMemoryFileRepository(self, "files")
        self.outbox = InMemoryOutboxRepository(self, "outbox")

    def table(self, name: str) -> dict[Any, Any]:
        if self._working is None:
            raise StorageError("use the unit of work inside 'with uow:'", field="uow")
        return self._working[name]

    def __enter__(self) -> InMemoryUnitOfWork:
        self.storage.lock.acquire()
        self._begin()
        return self

    def _begin(self) -> None:
        # Values are immutable, so copying each table's dict is a full snapshot.
        self._working = {name: dict(rows) for name, rows in self.storage.tables.items()}

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._working = None
        self.storage.lock.release()

    def commit(self) -> None:
        if self._working is None:
            raise StorageError("commit outside 'with uow:'", field="uow")
        self.storage.tables = self._working
        self._begin()

    def rollback(self) -> None:
        self._begin()
