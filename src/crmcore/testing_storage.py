"""The storage contract: one test suite for every implementation of :mod:`crmcore.ports`.

Subclass :class:`StorageContract` in a test module, set ``__test__ = True`` and implement
:meth:`StorageContract.unit_of_work` (a fresh unit of work on the storage under test) and
:meth:`StorageContract.stored_records` (the rows ``records.create`` stored, read back)::

    class TestMyStorage(StorageContract):
        __test__ = True

        def unit_of_work(self) -> UnitOfWork:
            return MyUnitOfWork(...)

        def stored_records(self, uow: UnitOfWork, tenant_id: str) -> list[dict[str, Any]]:
            return ...  # the tenant's rows of self.record_table(), oldest first

Every test works on tenants with a fresh unique prefix, so the storage may be shared between
tests (and between parallel runs on one database). Needs pytest and hypothesis.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.errors import (
    ConcurrencyError,
    DuplicateInvoice,
    NotFound,
    OutOfOrderError,
    SeatError,
    UnknownPreset,
    ValidationError,
)
from crmcore.events import (
    MAX_PREPAID_MONTHS,
    MAX_SEATS,
    Activated,
    Event,
    OutageRecorded,
    PaymentMethod,
    Prepaid,
    SeatsAdded,
    TenantCreated,
)
from crmcore.invoices import Invoice, InvoiceLine, LineKind, Payment
from crmcore.money import Money
from crmcore.ports import RecordTable, UnitOfWork, User

__all__ = ["StorageContract", "sample_invoice"]

PRAGUE = ZoneInfo("Europe/Prague")


def _unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sample_invoice(
    tenant_id: str, key: str, number: str = "1", series: str | None = None
) -> Invoice:
    """An invoice with a prorated line (19/28 of 2 seats at 500.00) and a transfer fee."""
    prorated = Money(Decimal("500.00") * 2 * 19 / 28, "PLN").rounded()  # 678.571... -> 678.57
    return Invoice(
        tenant_id=tenant_id,
        number=number,
        series=series or f"S-{tenant_id}",
        issued=date(2026, 2, 10),
        due=date(2026, 2, 24),
        currency="PLN",
        vat_rate=Decimal("0.23"),
        lines=(  # type: ignore[arg-type]  # attrs converter=tuple
            InvoiceLine(
                LineKind.SUBSCRIPTION,
                "PRO-1",
                prorated,
                plan="business",
                seats=2,
                first_day=date(2026, 2, 10),
                last_day=date(2026, 2, 28),
                fraction=Fraction(19, 28),
                description="rest of February",
            ),
            InvoiceLine(LineKind.TRANSFER_FEE, "BILL-4", Money.of("15.00", "PLN")),
        ),
        billing_email="billing@example.com",
        period_first_day=date(2026, 2, 1),
        period_last_day=date(2026, 2, 28),
        key=key,
    )


@attrs.frozen
class _NamedTable:
    name: str


class StorageContract:
    """Abstract contract; subclasses provide :meth:`unit_of_work` and :meth:`stored_records`."""

    __test__ = False

    def unit_of_work(self) -> UnitOfWork:
        raise NotImplementedError

    def record_table(self) -> RecordTable:
        """The application table ``records.create`` stores rows in during the tests: columns
        ``tenant_id`` and ``kind`` (both strings). Override where it must be a real table."""
        return _NamedTable("demo_records")

    def stored_records(self, uow: UnitOfWork, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's rows of :meth:`record_table` (``tenant_id`` and ``kind`` only), oldest
        first, read in ``uow``."""
        raise NotImplementedError

    def _contact_rows(self, tenant_id: str, count: int, kind: str = "contact") -> list[Any]:
        return [{"tenant_id": tenant_id, "kind": kind} for _ in range(count)]

    # --- tenants -----------------------------------------------------------------------------

    def test_tenant_history_round_trips_with_zone(self) -> None:
        """TIME-1: instants come back equal and in the zone they were stored in."""
        tenant = _unique()
        created = TenantCreated(datetime(2026, 1, 5, 9, 0, tzinfo=PRAGUE), tenant, "acme.cz")
        activated = Activated(
            datetime(2026, 1, 20, 23, 30, tzinfo=timezone(timedelta(hours=2))),
            "business",
            Cycle.ANNUAL,
            seats=3,
            payment=PaymentMethod.TRANSFER,
        )
        with self.unit_of_work() as uow:
            uow.tenants.add(tenant, "raynet", [created])
            assert uow.tenants.append(tenant, [activated], expected_version=1) == 2
            uow.commit()
        with self.unit_of_work() as uow:
            history = uow.tenants.history(tenant)
            assert history == (created, activated)
            assert isinstance(history[1], Activated)
            assert type(history[1].payment) is PaymentMethod  # not a bare str
            assert type(history[1].cycle) is Cycle
            assert history[0].at.utcoffset() == timedelta(hours=1)  # CET in January
            assert str(history[0].at.tzinfo) == "Europe/Prague"
            assert uow.tenants.version(tenant) == 2
            assert uow.tenants.vendor(tenant) == "raynet"

    def test_append_with_stale_version_is_refused(self) -> None:
        """Optimistic concurrency: a writer that read version 1 cannot append after version 2."""
        tenant = _unique()
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        with self.unit_of_work() as uow:
            uow.tenants.add(tenant, "raynet", [TenantCreated(at, tenant)])
            uow.tenants.append(tenant, [SeatsAdded(at, 1)], expected_version=1)
            uow.commit()
        with self.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.tenants.append(tenant, [SeatsAdded(at, 2)], expected_version=1)
        with self.unit_of_work() as uow:
            assert uow.tenants.history(tenant) == (TenantCreated(at, tenant), SeatsAdded(at, 1))

    def test_ten_1_a_history_that_replay_refuses_is_not_stored(self) -> None:
        """TEN-1: a new tenant's history starts with its own TenantCreated and its vendor
        exists; a refused ``add`` stores nothing and the unit of work stays usable."""
        tenant = _unique()
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        refused: list[tuple[str, list[Any], type[Exception], str]] = [
            ("raynet", [], ValidationError, "events"),
            ("raynet", [SeatsAdded(at, 1)], ValidationError, "events[0]"),
            ("raynet", [TenantCreated(at, "someone-else")], ValidationError, "events[0].tenant_id"),
            (
                "raynet",
                [TenantCreated(at, tenant), TenantCreated(at, tenant)],
                ValidationError,
                "events[1]",
            ),
            (
                "raynet",
                [TenantCreated(at, tenant), SeatsAdded(at - timedelta(seconds=1), 1)],
                OutOfOrderError,
                "events[1].at",
            ),
            ("no-such-vendor", [TenantCreated(at, tenant)], UnknownPreset, "vendor"),
        ]
        with self.unit_of_work() as uow:
            for vendor, events, error, field in refused:
                with pytest.raises(error) as caught:
                    uow.tenants.add(tenant, vendor, events)
                assert getattr(caught.value, "field", None) == field
                with pytest.raises(NotFound):
                    uow.tenants.history(tenant)
            uow.tenants.add(tenant, "raynet", [TenantCreated(at, tenant)])  # still usable
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.tenants.history(tenant) == (TenantCreated(at, tenant),)

    def test_ten_1_an_append_that_replay_refuses_is_not_stored(self) -> None:
        """TEN-1: appended events follow the last stored one in time and never create the
        tenant again; a refused ``append`` stores nothing, the version stays, and the unit of
        work goes on."""
        tenant = _unique()
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        later = at + timedelta(days=1)
        with self.unit_of_work() as uow:
            uow.tenants.add(tenant, "raynet", [TenantCreated(at, tenant)])
            uow.tenants.append(tenant, [SeatsAdded(later, 1)], expected_version=1)
            uow.commit()
        with self.unit_of_work() as uow:
            with pytest.raises(OutOfOrderError) as early:
                uow.tenants.append(tenant, [SeatsAdded(at, 1)], expected_version=2)
            assert early.value.field == "events[0].at"
            with pytest.raises(OutOfOrderError):
                uow.tenants.append(
                    tenant, [SeatsAdded(later, 1), SeatsAdded(at, 1)], expected_version=2
                )
            with pytest.raises(ValidationError) as again:
                uow.tenants.append(tenant, [TenantCreated(later, tenant)], expected_version=2)
            assert (again.value.field, again.value.rule) == ("events[0]", "TEN-1")
            assert uow.tenants.version(tenant) == 2
            with pytest.raises(ConcurrencyError):  # stale first: the writer must re-read
                uow.tenants.append(tenant, [SeatsAdded(at, 1)], expected_version=1)
            assert uow.tenants.append(tenant, [SeatsAdded(later, 2)], expected_version=2) == 3
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.tenants.history(tenant) == (
                TenantCreated(at, tenant),
                SeatsAdded(later, 1),
                SeatsAdded(later, 2),
            )

    def test_seat_1_the_maximum_counts_round_trip_and_one_more_is_refused(self) -> None:
        """SEAT-1, TERM-1: ``MAX_SEATS`` seats and ``MAX_PREPAID_MONTHS`` months are stored
        and read back on every engine; one more is refused when the event is built, so the
        stored history is unchanged."""
        tenant = _unique()
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        most: list[Event] = [
            TenantCreated(at, tenant),
            Activated(at, "business", seats=MAX_SEATS),
            SeatsAdded(at, MAX_SEATS),
            Prepaid(at, "business", MAX_PREPAID_MONTHS, seats=MAX_SEATS),
        ]
        with self.unit_of_work() as uow:
            uow.tenants.add(tenant, "raynet", most)
            with pytest.raises(ValidationError) as seats:
                uow.tenants.append(
                    tenant, [Activated(at, "business", seats=MAX_SEATS + 1)], expected_version=4
                )
            assert (seats.value.field, seats.value.rule) == ("seats", "SEAT-1")
            with pytest.raises(ValidationError) as months:
                uow.tenants.append(
                    tenant, [Prepaid(at, "business", MAX_PREPAID_MONTHS + 1)], expected_version=4
                )
            assert (months.value.field, months.value.rule) == ("months", "TERM-1")
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.tenants.history(tenant) == tuple(most)

    def test_unknown_tenant_is_not_found(self) -> None:
        with self.unit_of_work() as uow, pytest.raises(NotFound):
            uow.tenants.history(_unique())

    def test_uncommitted_work_is_rolled_back(self) -> None:
        """Nothing is persisted unless committed."""
        tenant = _unique()
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        with self.unit_of_work() as uow:
            uow.tenants.add(tenant, "raynet", [TenantCreated(at, tenant)])
            uow.invoices.add(sample_invoice(tenant, "2026-02"))
            uow.seats.set_bought(tenant, 3)
        with self.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.tenants.history(tenant)
            assert uow.invoices.for_tenant(tenant) == []
            assert uow.seats.bought(tenant) == 0

    def test_ids_are_listed_in_batches(self) -> None:
        prefix = _unique("batch")
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        names = [f"{prefix}-{index}" for index in range(5)]
        with self.unit_of_work() as uow:
            for name in names:
                uow.tenants.add(name, "raynet", [TenantCreated(at, name)])
            uow.commit()
        with self.unit_of_work() as uow:
            first = uow.tenants.ids(after=prefix, limit=2)
            assert first == names[:2]
            assert uow.tenants.ids(after=first[-1], limit=2) == names[2:4]

    # --- catalogues --------------------------------------------------------------------------

    def test_catalog_round_trips(self) -> None:
        monthly = [Price("PLN", Cycle.MONTHLY, Decimal("29.90"))]
        annual = [Price("PLN", Cycle.ANNUAL, Decimal("4990.00"))]
        start = Plan("start", 1, monthly, Limits(2000))  # type: ignore[arg-type]
        business = Plan("business", 2, annual)  # type: ignore[arg-type]
        catalog = Catalog([start, business])
        name = _unique("vendor")
        with self.unit_of_work() as uow:
            uow.catalogs.save(name, catalog)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.catalogs.get(name) == catalog
            with pytest.raises(NotFound):
                uow.catalogs.get(_unique("vendor"))

    # --- invoices (BILL-6) -------------------------------------------------------------------

    def test_invoice_round_trips_exactly(self) -> None:
        """BILL-7: line nets come back as the same exact decimals, fraction kept."""
        tenant = _unique()
        invoice = sample_invoice(tenant, "2026-02")
        with self.unit_of_work() as uow:
            uow.invoices.add(invoice)
            uow.commit()
        with self.unit_of_work() as uow:
            loaded = uow.invoices.get(tenant, "2026-02")
            assert loaded == invoice
            assert loaded is not None
            assert loaded.net == Money.of("693.57", "PLN")  # 678.57 + 15.00
            assert loaded.lines[0].fraction == Fraction(19, 28)
            assert uow.invoices.for_tenant(tenant) == [invoice]
            assert uow.invoices.get(tenant, "2026-03") is None

    def test_second_invoice_with_same_key_is_refused(self) -> None:
        """BILL-6: one invoice per (tenant, key)."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            uow.invoices.add(sample_invoice(tenant, "2026-02", number="1"))
            uow.commit()
        with self.unit_of_work() as uow, pytest.raises(DuplicateInvoice):
            uow.invoices.add(sample_invoice(tenant, "2026-02", number="2"))
        with self.unit_of_work() as uow:
            assert [i.number for i in uow.invoices.for_tenant(tenant)] == ["1"]

    def test_numbering_is_gapless_across_rollback(self) -> None:
        """BILL-6: a rolled-back transaction gives its number back."""
        series = _unique("series")
        with self.unit_of_work() as uow:
            assert [uow.invoices.next_number(series) for _ in range(3)] == [1, 2, 3]
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.invoices.next_number(series) == 4
        with self.unit_of_work() as uow:
            assert uow.invoices.next_number(series) == 4
            assert uow.invoices.next_number(_unique("series")) == 1

    # --- payments and outages ----------------------------------------------------------------

    def test_payments_and_outages_round_trip(self) -> None:
        tenant = _unique()
        payment = Payment(
            tenant, datetime(2026, 3, 1, 12, 0, tzinfo=PRAGUE), Money.of("123.45", "PLN"), "ref"
        )
        outage = OutageRecorded(
            datetime(2026, 3, 2, 1, 0, tzinfo=PRAGUE), datetime(2026, 3, 2, 4, 0, tzinfo=PRAGUE)
        )
        with self.unit_of_work() as uow:
            uow.payments.add(payment)
            uow.outages.add(tenant, outage)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.payments.for_tenant(tenant) == [payment]
            assert uow.outages.for_tenant(tenant) == [outage]
            assert uow.payments.for_tenant(_unique()) == []

    # --- records (REC-3, REC-6) --------------------------------------------------------------

    def test_record_limit_refuses_what_would_exceed_it(self) -> None:
        """REC-3: 3 + 2 > 4 is refused and counts nothing; 3 + 1 = 4 is allowed."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            assert uow.records.try_create(tenant, "contact", 3, limit=4).allowed
            refused = uow.records.try_create(tenant, "lead", 2, limit=4)
            assert (refused.allowed, refused.total) == (False, 3)
            allowed = uow.records.try_create(tenant, "lead", 1, limit=4)
            assert (allowed.allowed, allowed.total) == (True, 4)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"contact": 3, "lead": 1}
            uow.records.delete(tenant, "contact", 2)
            assert uow.records.total(tenant) == 2
            assert uow.records.try_create(tenant, "deal", 10**6, limit=None).allowed

    def test_rec3_create_stores_and_counts_rows_within_the_limit(self) -> None:
        """REC-3, REC-6: ``create`` stores 3 rows (limit 4); 3 + 2 > 4 is refused and stores
        and counts nothing; 3 + 1 = 4 is allowed."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            first = uow.records.create(tenant, "contact", 4, table, self._contact_rows(tenant, 3))
            assert (first.allowed, first.total, first.requested) == (True, 3, 3)
            refused = uow.records.create(tenant, "lead", 4, table, self._contact_rows(tenant, 2))
            assert (refused.allowed, refused.total, refused.requested) == (False, 3, 2)
            assert uow.records.by_kind(tenant) == {"contact": 3}
            assert len(self.stored_records(uow, tenant)) == 3
            last = uow.records.create(tenant, "lead", 4, table, self._contact_rows(tenant, 1))
            assert (last.allowed, last.total) == (True, 4)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"contact": 3, "lead": 1}
            assert uow.records.total(tenant) == 4
            assert self.stored_records(uow, tenant) == self._contact_rows(tenant, 4)

    def test_rec3_create_refused_at_the_limit_stores_nothing(self) -> None:
        """REC-3: at exactly the limit (2 of 2) one more row is refused; a request larger than
        the limit itself is refused before anything is tried; nothing is stored or counted."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            full = uow.records.create(tenant, "lead", 2, table, self._contact_rows(tenant, 2))
            assert (full.allowed, full.total) == (True, 2)
            uow.commit()
        with self.unit_of_work() as uow:
            at_limit = uow.records.create(tenant, "lead", 2, table, self._contact_rows(tenant, 1))
            assert (at_limit.allowed, at_limit.total) == (False, 2)
            other = _unique()
            too_many = uow.records.create(other, "lead", 2, table, self._contact_rows(other, 3))
            assert (too_many.allowed, too_many.total) == (False, 0)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"lead": 2}
            assert len(self.stored_records(uow, tenant)) == 2
            assert (uow.records.total(other), self.stored_records(uow, other)) == (0, [])

    def test_rec6_create_without_commit_leaves_nothing(self) -> None:
        """REC-6: the rows and the count are one transaction: rolled back together."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            decision = uow.records.create(
                tenant, "contact", None, table, self._contact_rows(tenant, 5)
            )
            assert (decision.allowed, decision.total, decision.limit) == (True, 5, None)
        with self.unit_of_work() as uow:
            assert uow.records.total(tenant) == 0
            assert self.stored_records(uow, tenant) == []

    def test_create_refuses_malformed_rows(self) -> None:
        """No rows, or rows with different columns, are input errors; nothing is counted."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            with pytest.raises(ValidationError, match="rows"):
                uow.records.create(tenant, "contact", 10, table, [])
            with pytest.raises(ValidationError, match=r"rows\[1\]"):
                uow.records.create(
                    tenant,
                    "contact",
                    10,
                    table,
                    [{"tenant_id": tenant, "kind": "c"}, {"kind": "c"}],
                )
            assert uow.records.total(tenant) == 0

    # --- seats (SEAT-5) ----------------------------------------------------------------------

    def test_assignment_needs_a_free_seat(self) -> None:
        """SEAT-5: with 2 seats, a third person is refused; seats never drop below used."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            uow.seats.set_bought(tenant, 2)
            uow.seats.assign(tenant, "anna")
            uow.seats.assign(tenant, "jan")
            with pytest.raises(SeatError):
                uow.seats.assign(tenant, "ewa")
            with pytest.raises(SeatError):
                uow.seats.set_bought(tenant, 1)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.seats.assigned(tenant) == {"anna", "jan"}
            uow.seats.unassign(tenant, "jan")
            uow.seats.assign(tenant, "ewa")
            assert uow.seats.assigned(tenant) == {"anna", "ewa"}
            assert uow.seats.bought(tenant) == 2

    def test_users_round_trip(self) -> None:
        tenant = _unique()
        owner = User(tenant, "owner", "owner")
        employee = User(tenant, "emp", "user", supervisor="owner")
        with self.unit_of_work() as uow:
            uow.users.add(owner)
            uow.users.add(employee)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.users.get(tenant, "emp") == employee
            assert uow.users.for_tenant(tenant) == [employee, owner]
            with pytest.raises(NotFound):
                uow.users.get(_unique(), "emp")

    # --- VIS-1 -------------------------------------------------------------------------------

    @settings(max_examples=10)
    @given(
        st.lists(
            st.tuples(
                st.integers(0, 2),
                st.sampled_from(["records", "created", "seat", "invoice", "payment"]),
                st.integers(1, 3),
            ),
            max_size=12,
        )
    )
    def test_tenant_isolation(self, operations: list[tuple[int, str, int]]) -> None:
        """VIS-1: what one tenant does is invisible to the others, method by method."""
        tenants = [_unique() for _ in range(3)]
        expected: dict[str, dict[str, int]] = {
            t: {"records": 0, "created": 0, "seat": 0, "invoice": 0, "payment": 0} for t in tenants
        }
        table = self.record_table()
        with self.unit_of_work() as uow:
            for index, (who, what, n) in enumerate(operations):
                tenant = tenants[who]
                if what == "records":
                    uow.records.try_create(tenant, "contact", n, limit=None)
                    expected[tenant]["records"] += n
                elif what == "created":
                    rows = self._contact_rows(tenant, n, kind="lead")
                    assert uow.records.create(tenant, "lead", None, table, rows).allowed
                    expected[tenant]["records"] += n
                    expected[tenant]["created"] += n
                elif what == "seat":
                    uow.seats.set_bought(tenant, uow.seats.bought(tenant) + 1)
                    uow.seats.assign(tenant, f"person-{index}")
                    expected[tenant]["seat"] += 1
                elif what == "invoice":
                    uow.invoices.add(sample_invoice(tenant, f"k{index}", number=f"{index}"))
                    expected[tenant]["invoice"] += 1
                else:
                    at = datetime(2026, 3, 1, tzinfo=UTC)
                    uow.payments.add(Payment(tenant, at, Money.of(str(n), "PLN")))
                    expected[tenant]["payment"] += 1
            uow.commit()
        with self.unit_of_work() as uow:
            for tenant in tenants:
                assert uow.records.total(tenant) == expected[tenant]["records"]
                stored = self.stored_records(uow, tenant)
                assert stored == self._contact_rows(tenant, expected[tenant]["created"], "lead")
                assert len(uow.seats.assigned(tenant)) == expected[tenant]["seat"]
                assert uow.seats.bought(tenant) == expected[tenant]["seat"]
                found = uow.invoices.for_tenant(tenant)
                assert len(found) == expected[tenant]["invoice"]
                assert all(invoice.tenant_id == tenant for invoice in found)
                paid = uow.payments.for_tenant(tenant)
                assert len(paid) == expected[tenant]["payment"]
                assert all(payment.tenant_id == tenant for payment in paid)
