"""Ports: what crmcore needs to store, as ``typing.Protocol`` repositories and a unit of work.

Services take a :class:`UnitOfWork` and use its repositories; ``with uow:`` rolls everything
back unless :meth:`UnitOfWork.commit` was called, so nothing from a refused operation is
persisted. Every tenant-owned row is reached through a ``tenant_id`` argument (VIS-1): no
method reads or writes another tenant's rows. Adapters: :mod:`crmcore.memory` (the default,
no configuration) and ``crmcore_sql`` (SQLite, PostgreSQL, MariaDB/MySQL).

The guarantees an adapter must keep (checked by :mod:`crmcore.testing.storage`):

- tenant histories are checked by :func:`checked_history` before anything is stored, so a
  stored history always replays: it starts with the tenant's own ``TenantCreated``, its
  events are in time order, and its vendor exists;
- tenant histories are append-only with an expected version (optimistic concurrency,
  :class:`~crmcore.errors.ConcurrencyError` when another writer appended first);
- ``InvoiceRepository.add`` refuses a second invoice with the same ``(tenant_id, key)``
  (:class:`~crmcore.errors.DuplicateInvoice`, BILL-6 idempotency), and ``next_number`` is
  gapless per series when its transaction is rolled back (BILL-6);
- ``RecordCounterRepository.try_create`` decides and counts in one atomic step, and
  ``RecordCounterRepository.create`` also stores the records' rows in that step (REC-6);
- ``SeatRepository.assign`` never lets assignments exceed the seats bought (SEAT-5);
- ``ApiCallCounterRepository.try_count`` and ``FileRepository.try_store`` decide and count in
  one atomic step, so no interleaving of callers passes the day's API calls (API-1) or the
  tenant's storage pool (STOR-1); a refusal counts and stores nothing;
- ``TenantRepository.trials_of`` counts a vendor's tenants created with an identity from a
  stored count, not by reading histories; ``add`` counts the new tenant at once and, on a
  server database, keeps that count locked until the transaction ends, so a registration that
  reads it after its ``add`` is decided after every earlier one (TRIAL-6);
- ``OutboxRepository.append`` stores events in the transaction of the change they report,
  with ids that grow in commit order (a reader never finds a committed event below an id it
  has read), and stores an event whose ``(tenant_id, key)`` is already stored not again;
- ``VendorRepository.add`` stores versions of a vendor in the order of their effective days,
  so the terms in force on a day, once a later version exists, never change (NOTICE-2).

Long because every storage seam in one module, by design (one place an adapter author reads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from types import TracebackType
from typing import Protocol

import attrs

from crmcore.catalog import Catalog
from crmcore.errors import (
    DuplicateInvoice,
    OutOfOrderError,
    UnknownPreset,
    ValidationError,
    short_repr,
)
from crmcore.events import EVENT_TYPES, Event, OutageRecorded, TenantCreated, entry_order_problem
from crmcore.invoices import Invoice, Payment
from crmcore.outbox import OutboxEvent
from crmcore.presets import PRESETS
from crmcore.roles import Role
from crmcore.tenancy.trials import normalise_identity
from crmcore.vendors import Vendor

__all__ = [
    "MAX_API_LIMIT",
    "MAX_FILE_BYTES",
    "MAX_FILE_NAME",
    "MAX_IDENTITY",
    "MAX_STORAGE_LIMIT",
    "ApiCallCount",
    "ApiCallCounterRepository",
    "CatalogRepository",
    "FileRepository",
    "InvoiceRepository",
    "OutageRepository",
    "OutboxRepository",
    "PaymentRepository",
    "RecordCount",
    "RecordCounterRepository",
    "RecordTable",
    "SeatRepository",
    "StorageCount",
    "TenantRepository",
    "UnitOfWork",
    "User",
    "UserRepository",
    "VendorRepository",
    "checked_consumer",
    "checked_file",
    "checked_history",
    "checked_limit",
    "checked_record_rows",
]


@attrs.frozen
class RecordCount:
    """The answer of :meth:`RecordCounterRepository.try_create` and ``create`` (REC-3, REC-6).

    ``total`` is the tenant's counted records after the call (unchanged when refused). The
    counter's answer, not the rule's: :class:`crmcore.limits.RecordDecision` is REC-1..5's
    decision with its suggested plan.
    """

    allowed: bool
    total: int
    requested: int
    limit: int | None


@attrs.frozen
class ApiCallCount:
    """The answer of :meth:`ApiCallCounterRepository.try_count` (API-1): whether the call was
    counted, and the day's calls it was decided on (``used`` before it), out of ``limit``."""

    allowed: bool
    used: int
    limit: int | None


@attrs.frozen
class StorageCount:
    """The answer of :meth:`FileRepository.try_store` (STOR-1): whether the file was stored,
    and the tenant's stored bytes it was decided on (``used`` before it), out of ``limit``."""

    allowed: bool
    used: int
    requested: int
    limit: int | None


def _account_role(value: object) -> Role:
    return Role.parse(value, field="user.role", rule="VIS-7")


@attrs.frozen
class User:
    """A user account of a tenant (SEAT-3, SEAT-4, VIS-7).

    ``role`` is a :class:`~crmcore.visibility.language.Role`, the one role vocabulary of
    accounts and visibility; its text is accepted (``"owner"``, ``"administrator"``,
    ``"supervisor"``, ``"employee"`` or the former accounts' ``"user"``, ``"external"``) and
    anything else refused when the account is made (``ValidationError`` on ``user.role``,
    VIS-7). ``supervisor`` is the ``user_id`` of the tenant's account supervising it (VIS-2).
    """

    tenant_id: str = attrs.field(validator=lambda _i, _a, value: _check_user_id(value, "tenant_id"))
    user_id: str = attrs.field(validator=lambda _i, _a, value: _check_user_id(value, "user_id"))
    role: Role = attrs.field(default=Role.EMPLOYEE, converter=_account_role)
    supervisor: str | None = None


def _check_user_id(value: object, field: str) -> None:
    """An account's ids (SEAT-4): 1..64 printable characters, the same on every engine."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > 64
        or not value.isprintable()
    ):
        raise ValidationError(
            f"must be 1..64 printable characters, got {short_repr(value)}",
            field=f"user.{field}",
            rule="SEAT-4",
        )


class TenantRepository(Protocol):
    """Tenants and their append-only event histories (TEN-1)."""

    def add(self, tenant_id: str, vendor: str, events: Sequence[Event]) -> None:
        """A new tenant with its first events (version = ``len(events)``), checked by
        :func:`checked_history` (nothing stored when refused); its creation's identity, if
        any, is counted for :meth:`trials_of` (TRIAL-6)."""

    def append(self, tenant_id: str, events: Sequence[Event], expected_version: int) -> int:
        """Append after ``expected_version`` events; the new version. ConcurrencyError if stale;
        the events are checked by :func:`checked_history` after the stored last one."""

    def history(self, tenant_id: str) -> tuple[Event, ...]:
        """Every event of the tenant, oldest first. NotFound if there is no such tenant."""

    def version(self, tenant_id: str) -> int:
        """The number of events stored for the tenant."""

    def vendor(self, tenant_id: str) -> str:
        """The vendor (policy/catalogue name) the tenant belongs to."""

    def ids(
        self, after: str = "", limit: int | None = None, vendor: str | None = None
    ) -> list[str]:
        """Tenant ids in order, strictly after ``after`` (for streaming in batches); with
        ``vendor``, only that vendor's tenants (filtered by the storage, not by the caller)."""

    def count(self, vendor: str | None = None) -> int:
        """How many tenants are stored (with ``vendor``, of that vendor): ``len(ids(vendor=))``
        without reading the ids (one ``COUNT`` in SQL; a progress bar's total)."""

    def histories(self, tenant_ids: Sequence[str]) -> dict[str, tuple[Event, ...]]:
        """Every event of each of ``tenant_ids``, oldest first (by version), read at once (one
        statement in SQL): :meth:`history` of many tenants. An id not stored is absent."""

    def trials_of(self, vendor: str, identity: str) -> int:
        """How many tenants of ``vendor`` were created with ``identity`` (TRIAL-6), both
        compared normalised (:func:`crmcore.tenancy.trials.normalise_identity`), including those
        this transaction added; one stored count per vendor and identity, no history read."""


class CatalogRepository(Protocol):
    """Vendors' plan catalogues by name (PLAN-1)."""

    def save(self, name: str, catalog: Catalog) -> None: ...

    def get(self, name: str) -> Catalog:
        """NotFound when no catalogue has that name."""


class InvoiceRepository(Protocol):
    """Issued invoices (immutable, BILL-6) and numbering series."""

    def add(self, invoice: Invoice) -> None:
        """Store an invoice; DuplicateInvoice if the tenant already has one with its key."""

    def get(self, tenant_id: str, key: str) -> Invoice | None: ...

    def for_tenant(self, tenant_id: str) -> list[Invoice]:
        """The tenant's invoices in issue order."""

    def issued_between(
        self, tenant_ids: Sequence[str], first: date, last: date
    ) -> dict[str, list[Invoice]]:
        """The stored invoices and corrections of each of ``tenant_ids`` issued from ``first``
        to ``last`` (both included), with their lines, in issue order as :meth:`for_tenant`;
        read at once (one statement in SQL). A tenant without any is absent."""

    def last_issued(self, tenant_id: str) -> tuple[str, date] | None:
        """The number and issue day of the tenant's first document (invoice or correction) of
        its latest issue day, in issue order as :meth:`for_tenant`; None without any (one
        light statement in SQL: what a command checks, BILL-6)."""

    def by_number(self, number: str) -> list[Invoice]:
        """The invoices numbered ``number``, of every tenant (one per series, BILL-6: two
        vendors' series may give the same text), by series."""

    def next_number(self, series: str) -> int:
        """The next number of ``series`` (1, 2, ...), locked until the transaction ends."""


class PaymentRepository(Protocol):
    def add(self, payment: Payment) -> None: ...

    def for_tenant(self, tenant_id: str) -> list[Payment]:
        """The tenant's payments, oldest first."""


class OutageRepository(Protocol):
    """Outages as they affected a tenant (SLA-4, SLA-5)."""

    def add(self, tenant_id: str, outage: OutageRecorded) -> None: ...

    def for_tenant(self, tenant_id: str) -> list[OutageRecorded]: ...


class RecordTable(Protocol):
    """The application's table that holds records of a counted kind (REC-1).

    Anything with a ``name``: for ``crmcore_sql`` it is the application's SQLAlchemy ``Table``
    (which has one); the in-memory adapter keeps the rows under that name.
    """

    @property
    def name(self) -> str: ...


class RecordCounterRepository(Protocol):
    """Counted records per tenant and kind (REC-1, REC-3, REC-6)."""

    def try_create(self, tenant_id: str, kind: str, count: int, limit: int | None) -> RecordCount:
        """Count ``count`` new records of ``kind`` if the tenant's total stays within ``limit``
        (``None`` = unlimited), atomically with respect to concurrent callers (REC-6)."""

    def create(
        self,
        tenant_id: str,
        kind: str,
        limit: int | None,
        table: RecordTable,
        rows: Sequence[Mapping[str, object]],
    ) -> RecordCount:
        """Store ``rows`` (one per new record of ``kind``) in ``table`` and count them, only if
        the tenant's total stays within ``limit`` (REC-3), atomically with respect to
        concurrent callers (REC-6). Refused: nothing stored, nothing counted. A failed insert
        leaves nothing either, even if the caller commits afterwards (the SQL adapter loses
        the whole transaction, as PostgreSQL does after a failed statement).

        ``requested`` of the decision is ``len(rows)``. Call it as the last statement before
        the commit: on a server database the tenant's counter row stays locked until then.
        """

    def delete(self, tenant_id: str, kind: str, count: int) -> None: ...

    def total(self, tenant_id: str) -> int: ...

    def by_kind(self, tenant_id: str) -> dict[str, int]: ...


class SeatRepository(Protocol):
    """Seats bought and the persons assigned to them (SEAT-1, SEAT-5)."""

    def set_bought(self, tenant_id: str, seats: int) -> None:
        """Set the seats bought; SeatError (SEAT-5) if fewer than the assigned accounts."""

    def bought(self, tenant_id: str) -> int: ...

    def assign(self, tenant_id: str, person: str) -> None:
        """Give a free seat to ``person``; SeatError (SEAT-5) when none is free, atomically."""

    def unassign(self, tenant_id: str, person: str) -> None: ...

    def assigned(self, tenant_id: str) -> frozenset[str]: ...


class ApiCallCounterRepository(Protocol):
    """API calls per tenant and vendor day (API-1)."""

    def try_count(self, tenant_id: str, day: date, limit: int | None) -> ApiCallCount:
        """Count one call on ``day`` if fewer than ``limit`` were counted (``None`` =
        unlimited), atomically with respect to concurrent callers; refused, nothing changes.
        On a server database the day's counter row stays locked until the commit."""

    def calls(self, tenant_id: str, day: date) -> int:
        """The calls counted on ``day``."""


class FileRepository(Protocol):
    """Stored files and the tenant's pooled storage use in bytes (STOR-1)."""

    def try_store(self, tenant_id: str, name: str, size: int, limit: int | None) -> StorageCount:
        """Store file ``name`` of ``size`` bytes if the tenant's stored bytes stay within
        ``limit`` (``None`` = unlimited), atomically with respect to concurrent callers;
        refused, nothing stored. ``StorageError`` when the tenant already has a file of that
        name (nothing stored either). Checked by :func:`checked_file` first."""

    def remove(self, tenant_id: str, name: str) -> int:
        """Remove file ``name``, freeing its bytes; its size. ``NotFound`` when not stored."""

    def used(self, tenant_id: str) -> int:
        """The tenant's stored bytes."""

    def sizes(self, tenant_id: str) -> dict[str, int]:
        """The tenant's files and their sizes in bytes."""


class UserRepository(Protocol):
    """User accounts and their supervisor relation (VIS-2, VIS-7)."""

    def add(self, user: User) -> None:
        """Store a new account. ``StorageError`` when the tenant has an account of that
        ``user_id``; ``ValidationError`` (``user.supervisor``, VIS-2) when its supervisor is no
        account of the tenant; either way nothing is stored and the unit of work goes on."""

    def get(self, tenant_id: str, user_id: str) -> User:
        """NotFound when the tenant has no such user."""

    def for_tenant(self, tenant_id: str) -> list[User]:
        """The tenant's accounts by ``user_id``."""


class VendorRepository(Protocol):
    """Vendors and their versions by the day each takes effect (PLAN-1..4, NOTICE-2/3).

    Versions of one vendor are added in order: :meth:`add` refuses (``ValidationError`` on
    ``effective``) a version that does not take effect after every stored version of that
    name, so a day's terms are never rewritten once a later version exists. Announcing a
    change in time (NOTICE-1..3) is checked by the use case that adds it, not here.
    """

    def add(self, vendor: Vendor) -> None:
        """Store a new version; refused unless it takes effect after the latest stored one."""

    def get(self, name: str, on: date | None = None) -> Vendor:
        """The version in force on ``on`` (the latest one taking effect on or before it), or
        the latest version when ``on`` is ``None``. NotFound when there is none."""

    def versions(self, name: str) -> list[Vendor]:
        """Every version of ``name``, oldest first (empty for an unknown name)."""

    def names(self) -> list[str]:
        """The names of the stored vendors, sorted."""


class OutboxRepository(Protocol):
    """Events out (issue 15): a transactional outbox with monotonic ids, read in order and
    acknowledged per consumer. Reading is across tenants (the operator's feed, like
    :meth:`TenantRepository.ids`); every event names its tenant."""

    def append(self, events: Sequence[OutboxEvent]) -> list[OutboxEvent]:
        """Store ``events`` (checked by :func:`crmcore.outbox.checked_outbox_events`) in this
        transaction, in order, each with the next id; an event whose ``(tenant_id, key)`` is
        stored already is left out. The events stored, with their ids. On a server database
        the outbox's counter row stays locked until the transaction ends, so ids grow in
        commit order: call it last before the commit."""

    def read(
        self, after: int = 0, limit: int | None = None, tenant_id: str | None = None
    ) -> list[OutboxEvent]:
        """The committed events with an id above ``after``, by id (at most ``limit``; only
        ``tenant_id``'s when given)."""

    def last_id(self) -> int:
        """The highest id stored (0 when the outbox is empty)."""

    def acknowledge(self, consumer: str, up_to: int) -> None:
        """``consumer`` has handled every event up to id ``up_to``; a position never moves
        back (an older acknowledgement changes nothing). ``ValidationError`` for an id above
        :meth:`last_id` or a consumer name that :func:`checked_consumer` refuses."""

    def position(self, consumer: str) -> int:
        """The id ``consumer`` acknowledged last (0: none)."""


class UnitOfWork(Protocol):
    """One transaction over every repository: ``with uow: ...; uow.commit()``."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def catalogs(self) -> CatalogRepository: ...

    @property
    def invoices(self) -> InvoiceRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def outages(self) -> OutageRepository: ...

    @property
    def records(self) -> RecordCounterRepository: ...

    @property
    def seats(self) -> SeatRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def api_calls(self) -> ApiCallCounterRepository: ...

    @property
    def files(self) -> FileRepository: ...

    @property
    def vendors(self) -> VendorRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


_MAX_ID = 64  # the id columns of every SQL engine (crmcore_sql.tables)
#: The longest TRIAL-6 identity stored, normalised (a domain name has at most 253 characters).
MAX_IDENTITY = 255
#: The longest file name stored (STOR-1), and the largest file: 1 PiB, so a pool's sum of
#: sizes stays far inside a signed 64-bit column.
MAX_FILE_NAME = 255
MAX_FILE_BYTES = 1024**5


def checked_history(
    tenant_id: str,
    events: Sequence[Event],
    *,
    vendor: str | None = None,
    vendor_stored: bool = False,
    after: Event | None = None,
) -> tuple[Event, ...]:
    """``events`` as a tuple, if storing them keeps the tenant's history replayable (TEN-1).

    For a new tenant (``after`` is ``None``) the first event is the tenant's own
    :class:`~crmcore.events.TenantCreated` and ``vendor`` a stored vendor (``vendor_stored``,
    which the repository looks up) or a known preset; when appending,
    ``after`` is the last event stored and no event may create the tenant again. Every event is
    at or after the one before it (:func:`crmcore.tenancy.aggregate` refuses an earlier one).
    Raises :class:`~crmcore.errors.ValidationError` (``OutOfOrderError`` for the order,
    ``UnknownPreset`` for the vendor) naming ``events[i]``; repositories call it before they
    store anything.

    >>> from datetime import datetime, timezone
    >>> created = TenantCreated(datetime(2026, 1, 5, tzinfo=timezone.utc), "t1")
    >>> checked_history("t1", [created], vendor="raynet") == (created,)
    True
    """
    _check_tenant_id(tenant_id)
    if vendor is not None and vendor not in PRESETS and not vendor_stored:
        raise UnknownPreset(
            f"unknown vendor {vendor!r}: neither stored nor a preset"
            f" ({', '.join(sorted(PRESETS))})",
            field="vendor",
            rule="TEN-1",
        )
    if not isinstance(events, list | tuple):
        raise ValidationError(
            f"must be a list of events, got {short_repr(events)}", field="events", rule="TEN-1"
        )
    checked = tuple(events)
    previous = after
    for index, event in enumerate(checked):
        if type(event) not in EVENT_TYPES.values():
            raise ValidationError(
                f"must be an event of crmcore.events, got {event!r}", field=f"events[{index}]"
            )
        if isinstance(event, TenantCreated):
            _check_identity(event.identity, index)
            if index > 0 or after is not None:
                raise ValidationError(
                    f"the tenant {tenant_id!r} is already created",
                    field=f"events[{index}]",
                    rule="TEN-1",
                )
            if event.tenant_id != tenant_id:
                raise ValidationError(
                    f"creates tenant {event.tenant_id!r}, stored as {tenant_id!r}",
                    field=f"events[{index}].tenant_id",
                    rule="TEN-1",
                )
        elif index == 0 and after is None:
            raise ValidationError(
                f"a history must start with TenantCreated, got {type(event).__name__}",
                field="events[0]",
                rule="TEN-1",
            )
        if previous is not None:
            _check_order(previous, event, index)
        previous = event
    if after is None and not checked:
        raise ValidationError(
            "a history must start with TenantCreated, got no events", field="events", rule="TEN-1"
        )
    return checked


def _check_order(previous: Event, event: Event, index: int) -> None:
    problem = entry_order_problem(previous, event)
    if problem is not None:
        raise OutOfOrderError(problem[1], field=f"events[{index}].{problem[0]}", rule="BILL-6")


def _check_identity(identity: object, index: int) -> None:
    """TRIAL-6: an identity is stored normalised
    (:func:`~crmcore.tenancy.trials.normalise_identity`), in 1..:data:`MAX_IDENTITY` printable
    characters."""
    if identity is None:
        return
    key = normalise_identity(identity) if isinstance(identity, str) else ""
    if not key or len(key) > MAX_IDENTITY or not key.isprintable():
        raise ValidationError(
            f"must be 1..{MAX_IDENTITY} printable characters once normalised, got {identity!r}",
            field=f"events[{index}].identity",
            rule="TRIAL-6",
        )


MAX_CONSUMER = 64


def checked_consumer(consumer: object, up_to: object = 0) -> tuple[str, int]:
    """An outbox consumer's name (1..64 printable characters) and an id it acknowledges (a
    whole number from 0), else ``ValidationError``.

    >>> checked_consumer("webhooks", 12)
    ('webhooks', 12)
    """
    if (
        not isinstance(consumer, str)
        or not consumer.strip()
        or len(consumer) > MAX_CONSUMER
        or not consumer.isprintable()
    ):
        raise ValidationError(
            f"must be 1..{MAX_CONSUMER} printable characters, got {consumer!r}", field="consumer"
        )
    if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to < 0:
        raise ValidationError(f"must be a whole number from 0, got {up_to!r}", field="up_to")
    return consumer, up_to


def checked_limit(limit: object, rule: str, most: int) -> int | None:
    """A counter's ``limit`` for ``try_count``/``try_store``: ``None`` (unlimited) or a whole
    number from 0 to ``most`` (what the engines' counter columns hold), else ``ValidationError``
    naming ``rule``.

    >>> checked_limit(1000, "API-1", 2**31 - 1), checked_limit(None, "API-1", 10)
    (1000, None)
    """
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= most:
        raise ValidationError(
            f"must be None or a whole number from 0 to {most}, got {limit!r}",
            field="limit",
            rule=rule,
        )
    return limit


#: The largest API-1 limit a counter holds (a 32-bit INTEGER column) and STOR-1 pool in bytes
#: (a signed 64-bit column, with room for one more :data:`MAX_FILE_BYTES` file).
MAX_API_LIMIT = 2**31 - 1
MAX_STORAGE_LIMIT = 2**62


def checked_file(name: object, size: object) -> tuple[str, int]:
    """A file's ``name`` and ``size`` for :meth:`FileRepository.try_store`, checked the same on
    every engine (STOR-1): 1..:data:`MAX_FILE_NAME` printable characters, no surrounding
    blanks, and a whole number of bytes from 0 to :data:`MAX_FILE_BYTES`.

    >>> checked_file("offer.pdf", 1024)
    ('offer.pdf', 1024)
    """
    if (
        not isinstance(name, str)
        or not name
        or name != name.strip()
        or len(name) > MAX_FILE_NAME
        or not name.isprintable()
    ):
        raise ValidationError(
            f"must be 1..{MAX_FILE_NAME} printable characters without surrounding blanks,"
            f" got {name!r}",
            field="name",
            rule="STOR-1",
        )
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_FILE_BYTES:
        raise ValidationError(
            f"must be a whole number of bytes from 0 to {MAX_FILE_BYTES}, got {size!r}",
            field="size",
            rule="STOR-1",
        )
    return name, size


def key_taken(invoice: Invoice) -> DuplicateInvoice:
    """The refusal of an invoice whose key its tenant has already (BILL-6: one invoice per
    tenant and key), alike on every engine."""
    return DuplicateInvoice(
        f"tenant {invoice.tenant_id!r} already has invoice {invoice.key!r}",
        field="key",
        rule="BILL-6",
    )


def number_taken(invoice: Invoice) -> DuplicateInvoice:
    """The refusal of an invoice whose number another invoice of its series has (BILL-6:
    numbers are unique in a series), alike on every engine."""
    return DuplicateInvoice(
        f"invoice number {invoice.number!r} is taken in series {invoice.series!r}",
        field="number",
        rule="BILL-6",
    )


def check_expected_version(value: object) -> int:
    """The ``expected_version`` of an append: a whole number of events (``int``, not below
    0); a ValidationError otherwise, before anything is read or written (not a
    ConcurrencyError: retrying would never help)."""
    if type(value) is not int or value < 0:
        raise ValidationError(
            f"must be the number of events stored (an int >= 0), got {value!r}",
            field="expected_version",
            rule="TEN-1",
        )
    return value


def _check_tenant_id(tenant_id: object) -> None:
    if (
        not isinstance(tenant_id, str)
        or not tenant_id.strip()
        or len(tenant_id) > _MAX_ID
        or not tenant_id.isprintable()
    ):
        raise ValidationError(
            f"must be 1..{_MAX_ID} printable characters, got {tenant_id!r}",
            field="tenant_id",
            rule="TEN-1",
        )


def checked_record_rows(rows: Sequence[Mapping[str, object]]) -> tuple[dict[str, object], ...]:
    """``rows`` for :meth:`RecordCounterRepository.create` checked and copied: at least one row,
    every row a mapping with the same column names (so one insert stores them all).

    >>> checked_record_rows([{"tenant_id": "t1", "kind": "lead"}])
    ({'tenant_id': 't1', 'kind': 'lead'},)
    """
    if isinstance(rows, Mapping | str | bytes) or not isinstance(rows, Sequence) or not rows:
        raise ValidationError(f"must be a non-empty list of rows, got {rows!r}", field="rows")
    checked: list[dict[str, object]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or not row:
            raise ValidationError(
                f"must be a non-empty mapping, got {row!r}", field=f"rows[{index}]"
            )
        if checked and row.keys() != checked[0].keys():
            raise ValidationError(
                f"has columns {sorted(row)}, rows[0] has {sorted(checked[0])}",
                field=f"rows[{index}]",
            )
        checked.append(dict(row))
    return tuple(checked)
