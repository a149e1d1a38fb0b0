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

Long because the storage contract: one test class per port, declarative tests an adapter
inherits.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
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
    LimitError,
    NotFound,
    OutOfOrderError,
    SeatError,
    StorageError,
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
from crmcore.limits import MAX_RECORD_LIMIT, MAX_RECORDS_PER_CALL
from crmcore.money import Money
from crmcore.ports import RecordTable, UnitOfWork, User
from crmcore.presets import preset
from crmcore.roles import Role
from crmcore.testing.storage_batch import BatchReadContract
from crmcore.testing.storage_outbox import OutboxContract
from crmcore.testing.storage_usage import UsageContract
from crmcore.vendors import Vendor

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


class StorageContract(UsageContract, OutboxContract, BatchReadContract):
    """Abstract contract; subclasses provide :meth:`unit_of_work` and :meth:`stored_records`.
    The tests of trial identities, API call counters and stored files (TRIAL-6, API-1,
    STOR-1) are inherited from :class:`crmcore.testing.storage_usage.UsageContract`, those
    of events out from :class:`crmcore.testing.storage_outbox.OutboxContract`, those of the
    batch reads from :class:`crmcore.testing.storage_batch.BatchReadContract`."""

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

    def _contact_rows(self, tenant_id: str, count: int, kind: str = "client") -> list[Any]:
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

    def test_invoices_found_by_number_in_every_series(self) -> None:
        """BILL-6: a number is unique in its series only; ``by_number`` finds it in each
        series that has it (of any tenant), by series, and nothing for an unknown number."""
        first, second = _unique(), _unique()
        number = _unique("n")
        with self.unit_of_work() as uow:
            uow.invoices.add(sample_invoice(first, "2026-02", number=number, series="b-vendor"))
            uow.invoices.add(sample_invoice(second, "2026-02", number=number, series="a-vendor"))
            uow.invoices.add(sample_invoice(second, "2026-03", number=_unique("n")))
            uow.commit()
        with self.unit_of_work() as uow:
            found = uow.invoices.by_number(number)
            assert [(i.series, i.tenant_id) for i in found] == [
                ("a-vendor", second),
                ("b-vendor", first),
            ]
            assert found[1] == sample_invoice(first, "2026-02", number=number, series="b-vendor")
            assert uow.invoices.by_number(_unique("n")) == []

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

    @settings(max_examples=25)
    @given(
        st.sampled_from(["PLN", "JPY", "KWD", "EUR"]),
        st.integers(10**17, 10**18 - 1),
        st.booleans(),
    )
    def test_bill7_amounts_of_18_significant_digits_round_trip(
        self, currency: str, digits: int, credit: bool
    ) -> None:
        """BILL-7: an amount of 18 significant digits in the currency's minor unit
        (``1234567890123456.78`` PLN, ``123456789012345678`` JPY, ``123456789012345.678`` KWD)
        comes back digit for digit, as a payment and as an invoice line (a credit negative)."""
        places = {"PLN": 2, "JPY": 0, "KWD": 3, "EUR": 2}[currency]
        amount = Money(Decimal(digits).scaleb(-places), currency)
        tenant = _unique()
        line = (
            InvoiceLine(LineKind.SLA_CREDIT, "SLA-6", -amount)
            if credit
            else InvoiceLine(LineKind.TRANSFER_FEE, "BILL-4", amount)
        )
        invoice = attrs.evolve(
            sample_invoice(tenant, "k"),
            currency=currency,
            lines=[line],  # type: ignore[list-item]  # attrs converter=tuple
            vat_rate=Decimal("0"),
        )
        payment = Payment(tenant, datetime(2026, 3, 1, tzinfo=UTC), amount, "big")
        with self.unit_of_work() as uow:
            uow.invoices.add(invoice)
            uow.payments.add(payment)
            uow.commit()
        with self.unit_of_work() as uow:
            [loaded] = uow.invoices.for_tenant(tenant)
            assert loaded == invoice
            assert loaded.lines[0].net.amount.as_tuple() == line.net.amount.as_tuple()
            [paid] = uow.payments.for_tenant(tenant)
            assert paid == payment
            assert paid.amount.amount.as_tuple() == amount.amount.as_tuple()

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

    def test_plan2_vat_rate_round_trips_exactly(self) -> None:
        """PLAN-2: an invoice's VAT rate reads back as the very Decimal stored, digits and
        exponent, on every engine: 0.2300 (not 0.23), 0.0512 (not a float's 0.05119999...),
        0.123456 (not rounded to 0.1235), 20 decimals, 0.23, 0.9999, 0 and 0.0000."""
        tenant = _unique()
        rates = ["0.2300", "0.0512", "0.123456", "0." + "1" * 20, "0.23", "0.9999", "0"]
        rates.append("0.0000")
        with self.unit_of_work() as uow:
            for index, rate in enumerate(rates):
                invoice = sample_invoice(tenant, f"k{index}", number=str(index))
                uow.invoices.add(attrs.evolve(invoice, vat_rate=Decimal(rate)))
            uow.commit()
        with self.unit_of_work() as uow:
            loaded = sorted(uow.invoices.for_tenant(tenant), key=lambda invoice: invoice.key)
        assert [type(invoice.vat_rate) for invoice in loaded] == [Decimal] * len(rates)
        assert [str(invoice.vat_rate) for invoice in loaded] == rates

    # --- records (REC-3, REC-6) --------------------------------------------------------------

    def test_record_limit_refuses_what_would_exceed_it(self) -> None:
        """REC-3: 3 + 2 > 4 is refused and counts nothing; 3 + 1 = 4 is allowed."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            assert uow.records.try_create(tenant, "client", 3, limit=4).allowed
            refused = uow.records.try_create(tenant, "lead", 2, limit=4)
            assert (refused.allowed, refused.total) == (False, 3)
            allowed = uow.records.try_create(tenant, "lead", 1, limit=4)
            assert (allowed.allowed, allowed.total) == (True, 4)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"client": 3, "lead": 1}
            uow.records.delete(tenant, "client", 2)
            assert uow.records.total(tenant) == 2
            assert uow.records.try_create(tenant, "task", 10**6, limit=None).allowed

    def test_rec3_total_without_a_limit_stops_at_the_maximum(self) -> None:
        """REC-3, REC-5: without a plan limit a tenant still holds at most MAX_RECORD_LIMIT
        records, on every engine (the counters are 32-bit INTEGER on PostgreSQL and MariaDB):
        2_000_000_000 / 1_000_000 = 2000 creations of MAX_RECORDS_PER_CALL reach it exactly;
        one more record is a LimitError naming ``count``, the totals and REC-3, and nothing is
        counted or stored; deleting one makes room for one."""
        tenant, table = _unique(), self.record_table()
        calls = MAX_RECORD_LIMIT // MAX_RECORDS_PER_CALL
        assert calls * MAX_RECORDS_PER_CALL == MAX_RECORD_LIMIT == 2000 * 1_000_000
        with self.unit_of_work() as uow:
            for _ in range(calls):
                uow.records.try_create(tenant, "client", MAX_RECORDS_PER_CALL, limit=None)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.total(tenant) == MAX_RECORD_LIMIT
            with pytest.raises(LimitError) as caught:
                uow.records.try_create(tenant, "lead", 1, limit=None)
            assert (caught.value.field, caught.value.rule) == ("count", "REC-3")
            assert f"from {MAX_RECORD_LIMIT} to {MAX_RECORD_LIMIT + 1}" in str(caught.value)
            with pytest.raises(LimitError):
                uow.records.create(tenant, "lead", None, table, self._contact_rows(tenant, 1))
            refused = uow.records.try_create(tenant, "lead", 1, limit=MAX_RECORD_LIMIT)
            assert (refused.allowed, refused.total) == (False, MAX_RECORD_LIMIT)
            assert uow.records.by_kind(tenant) == {"client": MAX_RECORD_LIMIT}
            assert self.stored_records(uow, tenant) == []
            uow.records.delete(tenant, "client", 1)
            last = uow.records.try_create(tenant, "lead", 1, limit=None)
            assert (last.allowed, last.total, last.limit) == (True, MAX_RECORD_LIMIT, None)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"client": MAX_RECORD_LIMIT - 1, "lead": 1}

    def test_rec3_create_stores_and_counts_rows_within_the_limit(self) -> None:
        """REC-3, REC-6: ``create`` stores 3 rows (limit 4); 3 + 2 > 4 is refused and stores
        and counts nothing; 3 + 1 = 4 is allowed."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            first = uow.records.create(tenant, "client", 4, table, self._contact_rows(tenant, 3))
            assert (first.allowed, first.total, first.requested) == (True, 3, 3)
            refused = uow.records.create(tenant, "lead", 4, table, self._contact_rows(tenant, 2))
            assert (refused.allowed, refused.total, refused.requested) == (False, 3, 2)
            assert uow.records.by_kind(tenant) == {"client": 3}
            assert len(self.stored_records(uow, tenant)) == 3
            last = uow.records.create(tenant, "lead", 4, table, self._contact_rows(tenant, 1))
            assert (last.allowed, last.total) == (True, 4)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"client": 3, "lead": 1}
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
                tenant, "client", None, table, self._contact_rows(tenant, 5)
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
                uow.records.create(tenant, "client", 10, table, [])
            with pytest.raises(ValidationError, match=r"rows\[1\]"):
                uow.records.create(
                    tenant,
                    "client",
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

    def test_seat_1_bought_count_outside_0_to_max_seats_is_refused(self) -> None:
        """SEAT-1: ``set_bought`` takes 0..``MAX_SEATS``; -1 and ``MAX_SEATS + 1`` are refused
        with a ValidationError naming ``seats``, nothing is stored and the unit of work goes on."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            uow.seats.set_bought(tenant, 3)
            for bad in (-1, MAX_SEATS + 1):
                with pytest.raises(ValidationError) as info:
                    uow.seats.set_bought(tenant, bad)
                assert info.value.field == "seats"
                assert info.value.rule == "SEAT-1"
            uow.seats.set_bought(tenant, MAX_SEATS)
            uow.seats.set_bought(tenant, 0)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.seats.bought(tenant) == 0

    def test_seat_2_refused_unassign_leaves_the_unit_of_work_usable(self) -> None:
        """SEAT-2: unassigning a person without an account is refused (NotFound) in a savepoint,
        so the next call and the commit work (PostgreSQL: no "transaction is aborted")."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            uow.seats.set_bought(tenant, 2)
            uow.seats.assign(tenant, "anna")
            with pytest.raises(NotFound):
                uow.seats.unassign(tenant, "nobody")
            uow.seats.assign(tenant, "jan")
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.seats.assigned(tenant) == {"anna", "jan"}

    def test_refused_operations_leave_the_unit_of_work_as_it_was(self) -> None:
        """SEAT-2, SEAT-5, BILL-6: operations refused in the middle of a unit of work change
        nothing (the seat counter included) and the unit of work goes on: what it did before
        and after the refusals is committed, and exactly that."""
        tenant = _unique()
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        with self.unit_of_work() as uow:
            uow.tenants.add(tenant, "raynet", [TenantCreated(at, tenant)])
            uow.seats.set_bought(tenant, 2)
            uow.seats.assign(tenant, "anna")
            uow.invoices.add(sample_invoice(tenant, "2026-02", number="1"))
            uow.users.add(User(tenant, "owner", "owner"))
            with pytest.raises(SeatError) as shared:
                uow.seats.assign(tenant, "anna")  # SEAT-2: one account per person
            assert shared.value.rule == "SEAT-2"
            with pytest.raises(DuplicateInvoice):
                uow.invoices.add(sample_invoice(tenant, "2026-02", number="2"))
            with pytest.raises(
                StorageError, match=rf"tenant_id: tenant '{tenant}' already"
            ) as twice:
                uow.tenants.add(tenant, "raynet", [TenantCreated(at, tenant)])
            assert twice.value.rule == "TEN-1"  # one tenant, one registration
            with pytest.raises(StorageError):
                uow.users.add(User(tenant, "owner", Role.ADMINISTRATOR))
            with pytest.raises(ConcurrencyError):
                uow.tenants.append(tenant, [SeatsAdded(at, 1)], expected_version=0)
            with pytest.raises(SeatError):
                uow.seats.set_bought(tenant, 0)  # SEAT-5: below the 1 used
            uow.seats.assign(tenant, "jan")  # the second seat is still free
            with pytest.raises(SeatError) as full:
                uow.seats.assign(tenant, "ewa")  # SEAT-5: 2 of 2 used
            assert full.value.rule == "SEAT-5"
            uow.invoices.add(sample_invoice(tenant, "2026-03", number="3"))
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.seats.assigned(tenant) == {"anna", "jan"}
            uow.seats.set_bought(tenant, 2)  # used is 2, not 3: no seat counted twice
            uow.seats.unassign(tenant, "jan")
            uow.seats.set_bought(tenant, 1)  # 1 used after the unassignment
            assert [i.number for i in uow.invoices.for_tenant(tenant)] == ["1", "3"]
            assert uow.tenants.history(tenant) == (TenantCreated(at, tenant),)
            assert uow.users.for_tenant(tenant) == [User(tenant, "owner", "owner")]
            uow.commit()

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

    def test_vis7_every_role_round_trips_as_the_one_enum(self) -> None:
        """VIS-7 (issue 16): an account of each Role, and one made with the accounts' former
        ``"user"``, reads back as that Role (``"user"`` as ``Role.EMPLOYEE``)."""
        tenant = _unique()
        made = [User(tenant, f"u-{role.value}", role) for role in Role]
        made.append(User(tenant, "u-user", "user"))
        with self.unit_of_work() as uow:
            for user in made:
                uow.users.add(user)
            uow.commit()
        with self.unit_of_work() as uow:
            stored = {user.user_id: user.role for user in uow.users.for_tenant(tenant)}
        assert stored == {user.user_id: user.role for user in made}
        assert stored["u-user"] is Role.EMPLOYEE
        assert all(type(role) is Role for role in stored.values())

    def test_vis2_an_account_supervised_by_no_account_of_its_tenant_is_refused(self) -> None:
        """VIS-2: a supervisor is one of the tenant's accounts (another tenant's ``boss`` is
        not); the refusal names ``user.supervisor``, stores nothing and the unit of work goes
        on (the duplicate account after it is refused too, the one after that stored)."""
        tenant, other = _unique(), _unique()
        with self.unit_of_work() as uow:
            uow.users.add(User(other, "boss", Role.SUPERVISOR))
            uow.users.add(User(tenant, "ann"))
            with pytest.raises(ValidationError) as refused:
                uow.users.add(User(tenant, "eve", supervisor="boss"))
            assert (refused.value.field, refused.value.rule) == ("user.supervisor", "VIS-2")
            with pytest.raises(StorageError):
                uow.users.add(User(tenant, "ann", Role.OWNER))
            uow.users.add(User(tenant, "bob", supervisor="ann"))
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.users.for_tenant(tenant) == [
                User(tenant, "ann"),
                User(tenant, "bob", supervisor="ann"),
            ]

    def test_concurrent_account_creations_are_both_stored(self) -> None:
        """SEAT-4 storage: units of work creating accounts at once (two threads, two accounts
        each, one tenant) all commit; none is lost and the same name is never stored twice."""
        tenant = _unique()
        failures: list[BaseException] = []
        start = threading.Barrier(2, timeout=30)

        def creator(name: str) -> None:
            try:
                start.wait()
                for n in range(2):
                    while True:
                        try:
                            with self.unit_of_work() as uow:
                                uow.users.add(User(tenant, f"{name}{n}"))
                                uow.commit()
                        except ConcurrencyError:  # a deadlock the database broke: retry
                            continue
                        break
            except BaseException as exc:  # the assertion below names it
                failures.append(exc.with_traceback(None))

        threads = [threading.Thread(target=creator, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []
        with self.unit_of_work() as uow:
            names = [user.user_id for user in uow.users.for_tenant(tenant)]
        assert names == ["a0", "a1", "b0", "b1"]

    # --- VIS-1 -------------------------------------------------------------------------------

    def test_vis1_ids_differing_in_case_accents_or_trailing_spaces_are_apart(self) -> None:
        """VIS-1: tenant ids (and keys, codes, names) that differ only in letter case, accents
        or trailing spaces (``ACME``, ``acme``, ``acme ``, ``ácme``) are different tenants:
        none sees or changes another's history, seats, records, counters, invoices, payments
        or users; catalogue names and invoice series are apart in the same way."""
        prefix = _unique("vis1")
        twins = [f"{prefix}-ACME", f"{prefix}-acme", f"{prefix}-acme ", f"{prefix}-ácme"]
        vendors = ["raynet", "livespace", "chmiuro", "smartmail"]  # known vendors (TEN-1)
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        table = self.record_table()
        with self.unit_of_work() as uow:
            for index, tenant in enumerate(twins, start=1):
                uow.tenants.add(tenant, vendors[index - 1], [TenantCreated(at, tenant)])
                uow.tenants.append(tenant, [SeatsAdded(at, index)] * index, expected_version=1)
                uow.seats.set_bought(tenant, index)
                uow.seats.assign(tenant, "Ann")  # the same person in each: four seats
                uow.records.try_create(tenant, "client", index, limit=index)
                rows = self._contact_rows(tenant, index, kind="lead")
                assert uow.records.create(tenant, "lead", 2 * index, table, rows).allowed
                uow.invoices.add(sample_invoice(tenant, "2026-02", number=str(index)))
                uow.payments.add(Payment(tenant, at, Money.of(str(index), "PLN")))
                uow.users.add(User(tenant, "owner", "owner"))
                uow.catalogs.save(tenant, Catalog([Plan("start", 1, [], Limits(index))]))
                assert uow.invoices.next_number(f"FV-{tenant}") == 1
            uow.commit()
        with self.unit_of_work() as uow:
            # ``acme`` can neither unassign ``ACME``'s person twice nor see ``ACME``'s count
            uow.seats.unassign(twins[1], "Ann")
            with pytest.raises(NotFound):
                uow.seats.unassign(twins[1], "Ann")
            uow.records.delete(twins[1], "client", 2)
            uow.commit()
        with self.unit_of_work() as uow:
            assert sorted(uow.tenants.ids(after=prefix)) == sorted(twins)
            for index, tenant in enumerate(twins, start=1):
                assert uow.tenants.vendor(tenant) == vendors[index - 1]
                assert uow.tenants.version(tenant) == 1 + index
                assert uow.tenants.history(tenant)[0] == TenantCreated(at, tenant)
                assert uow.seats.bought(tenant) == index
                assert uow.seats.assigned(tenant) == (set() if index == 2 else {"Ann"})
                contacts = 0 if index == 2 else index  # acme's 2 contacts were deleted
                assert uow.records.by_kind(tenant) == {
                    kind: n for kind, n in (("client", contacts), ("lead", index)) if n
                }
                assert uow.records.total(tenant) == contacts + index
                assert self.stored_records(uow, tenant) == self._contact_rows(
                    tenant, index, kind="lead"
                )
                invoices = uow.invoices.for_tenant(tenant)
                assert [(i.tenant_id, i.number) for i in invoices] == [(tenant, str(index))]
                paid = uow.payments.for_tenant(tenant)
                assert [(p.tenant_id, p.amount) for p in paid] == [
                    (tenant, Money.of(str(index), "PLN"))
                ]
                assert uow.users.for_tenant(tenant) == [User(tenant, "owner", "owner")]
                assert uow.catalogs.get(tenant).get("start").limits.records == index
                assert uow.invoices.next_number(f"FV-{tenant}") == 2

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
        """VIS-1: what one tenant does is invisible to the others, method by method, also when
        their ids differ only in letter case, an accent or a trailing space."""
        base = _unique()
        tenants = [f"{base}-acme", f"{base}-ACME", f"{base}-ácme "]
        expected: dict[str, dict[str, int]] = {
            t: {"records": 0, "created": 0, "seat": 0, "invoice": 0, "payment": 0} for t in tenants
        }
        table = self.record_table()
        with self.unit_of_work() as uow:
            for index, (who, what, n) in enumerate(operations):
                tenant = tenants[who]
                if what == "records":
                    uow.records.try_create(tenant, "client", n, limit=None)
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

    # --- records: kinds and bounds (REC-1, REC-3) --------------------------------------------

    def test_rec1_record_kinds_are_stored_in_their_canonical_spelling(self) -> None:
        """REC-1: 'leads' and 'lead' are one kind (2 + 1 = 3); 'phone calls' is 'phone_call'."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            assert uow.records.try_create(tenant, "leads", 2, limit=10).allowed
            assert uow.records.try_create(tenant, "lead", 1, limit=10).allowed
            rows = self._contact_rows(tenant, 2, kind="phone_call")
            assert uow.records.create(tenant, "phone calls", 10, table, rows).allowed
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"lead": 2 + 1, "phone_call": 2}
            uow.records.delete(tenant, "leads", 1)
            uow.records.delete(tenant, "phone_call", 2)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"lead": 3 - 1}
            assert uow.records.total(tenant) == 2

    @pytest.mark.parametrize("kind", ["contact", "", "note", "Lead", "lead\x00", None, 7])
    def test_rec1_a_kind_outside_the_vocabulary_is_refused_and_nothing_stored(
        self, kind: Any
    ) -> None:
        """REC-1: the counters accept the REC-1 kinds only (they used to count any string):
        a ValidationError naming the kinds, before anything is counted or stored."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            calls: list[Callable[[], object]] = [
                lambda: uow.records.try_create(tenant, kind, 1, limit=10),
                lambda: uow.records.create(tenant, kind, 10, table, self._contact_rows(tenant, 1)),
                lambda: uow.records.delete(tenant, kind, 1),
            ]
            for call in calls:
                with pytest.raises(ValidationError) as caught:
                    call()
                assert (caught.value.field, caught.value.rule) == ("kind", "REC-1")
                assert "contact_person" in str(caught.value)
            uow.commit()
        with self.unit_of_work() as uow:
            assert (uow.records.total(tenant), uow.records.by_kind(tenant)) == (0, {})
            assert self.stored_records(uow, tenant) == []

    @pytest.mark.parametrize(
        ("count", "limit", "field"),
        [
            (1, -5, "limit"),
            (1, True, "limit"),
            (1, 2.5, "limit"),
            (1, MAX_RECORD_LIMIT + 1, "limit"),
            (0, 10, "count"),
            (-2, 10, "count"),
            (True, 10, "count"),
            (MAX_RECORDS_PER_CALL + 1, None, "count"),
            (MAX_RECORDS_PER_CALL + 1, MAX_RECORD_LIMIT, "count"),
        ],
    )
    def test_rec3_counts_and_limits_beyond_the_maximums_are_refused(
        self, count: Any, limit: Any, field: str
    ) -> None:
        """REC-3: a count from 1 to MAX_RECORDS_PER_CALL, a limit None or from 0 to
        MAX_RECORD_LIMIT, the same on every engine; nothing stored from a refused call."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            with pytest.raises(ValidationError) as caught:
                uow.records.try_create(tenant, "lead", count, limit)
            assert (caught.value.field, caught.value.rule) == (field, "REC-3")
            if field == "limit":
                rows = self._contact_rows(tenant, 1)
                with pytest.raises(ValidationError) as caught:
                    uow.records.create(tenant, "lead", limit, table, rows)
                assert (caught.value.field, caught.value.rule) == ("limit", "REC-3")
            else:
                with pytest.raises(ValidationError) as caught:
                    uow.records.delete(tenant, "lead", count)
                assert (caught.value.field, caught.value.rule) == ("count", "REC-3")
            uow.commit()
        with self.unit_of_work() as uow:
            assert (uow.records.total(tenant), uow.records.by_kind(tenant)) == (0, {})
            assert self.stored_records(uow, tenant) == []

    def test_rec3_the_maximum_count_and_limit_are_accepted(self) -> None:
        """REC-3: MAX_RECORDS_PER_CALL records against MAX_RECORD_LIMIT are counted, twice
        (2 × 1,000,000 = 2,000,000); deleting all of them at once is allowed too."""
        tenant, table = _unique(), self.record_table()
        with self.unit_of_work() as uow:
            first = uow.records.try_create(tenant, "task", MAX_RECORDS_PER_CALL, MAX_RECORD_LIMIT)
            assert (first.allowed, first.total) == (True, MAX_RECORDS_PER_CALL)
            second = uow.records.try_create(tenant, "tasks", MAX_RECORDS_PER_CALL, None)
            assert (second.allowed, second.total) == (True, 2 * MAX_RECORDS_PER_CALL)
            rows = self._contact_rows(tenant, 1, kind="task")
            last = uow.records.create(tenant, "task", MAX_RECORD_LIMIT, table, rows)
            assert (last.allowed, last.total) == (True, 2 * MAX_RECORDS_PER_CALL + 1)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"task": 2 * MAX_RECORDS_PER_CALL + 1}
            uow.records.delete(tenant, "task", MAX_RECORDS_PER_CALL)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.total(tenant) == MAX_RECORDS_PER_CALL + 1

    def test_rec3_deleting_more_than_held_is_refused_and_changes_nothing(self) -> None:
        """REC-3: with 3 leads held, deleting 4 is a LimitError (it used to clamp to 0), as is
        deleting a kind not held; the counts stay; deleting exactly 3 is allowed."""
        tenant = _unique()
        with self.unit_of_work() as uow:
            uow.records.try_create(tenant, "lead", 3, limit=None)
            uow.records.try_create(tenant, "client", 2, limit=None)
            uow.commit()
        with self.unit_of_work() as uow:
            for kind, count in (("lead", 4), ("leads", 3 + 1), ("task", 1)):
                with pytest.raises(LimitError) as caught:
                    uow.records.delete(tenant, kind, count)
                assert (caught.value.field, caught.value.rule) == ("count", "REC-3")
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"lead": 3, "client": 2}
            assert uow.records.total(tenant) == 3 + 2
            uow.records.delete(tenant, "leads", 3)
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.records.by_kind(tenant) == {"client": 2}
            assert uow.records.total(tenant) == 2

    # --- vendors as data (PLAN-1..4, NOTICE-2/3: versions by effective day) ------------------
    # A clearly separated block: the VendorRepository contract (crmcore.vendors).

    def _vendor(
        self,
        name: str,
        effective: date,
        rates: dict[str, str] | None = None,
        fees: dict[str, str] | None = None,
    ) -> Vendor:
        monthly = [Price("CZK", Cycle.MONTHLY, Decimal("500.00"))]
        catalog = Catalog([Plan("standard", 1, monthly, Limits(10000))])  # type: ignore[arg-type]
        # An evolved policy with a None parameter (livespace-like) must survive the trip too.
        policy = attrs.evolve(preset("raynet"), name=name).with_overrides(
            {"trial": {"conversion_grace_days": None}, "dunning": {"block_after_days": 5}}
        )
        return Vendor(
            name=name,
            policy=policy,
            catalog=catalog,
            effective=effective,
            vat_rates={c: Decimal(r) for c, r in (rates or {"CZ": "0.21", "SK": "0.23"}).items()},
            fees={n: Money.of(a, "CZK") for n, a in (fees or {"transfer": "50.00"}).items()},
        )

    def test_vendor_version_in_force_on_a_day(self) -> None:
        """NOTICE-2: the version in force on a day is the latest taking effect on or before
        it; before the first version there is none (NotFound)."""
        name = _unique("vendor")
        january = self._vendor(name, date(2026, 1, 1), fees={"transfer": "50.00"})
        july = self._vendor(name, date(2026, 7, 1), fees={"transfer": "60.00"})
        with self.unit_of_work() as uow:
            uow.vendors.add(january)
            uow.vendors.add(july)
            uow.commit()
        with self.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.vendors.get(name, on=date(2025, 12, 31))
            assert uow.vendors.get(name, on=date(2026, 1, 1)) == january
            assert uow.vendors.get(name, on=date(2026, 6, 30)) == january
            assert uow.vendors.get(name, on=date(2026, 7, 1)) == july
            assert uow.vendors.get(name, on=date(2030, 1, 1)) == july
            assert uow.vendors.get(name) == july  # no day: the latest version
            assert uow.vendors.versions(name) == [january, july]
            assert name in uow.vendors.names()
            assert uow.vendors.names() == sorted(uow.vendors.names())
            assert uow.vendors.versions(_unique("vendor")) == []
            with pytest.raises(NotFound):
                uow.vendors.get(_unique("vendor"))

    def test_vendor_names_compare_exactly(self) -> None:
        """A vendor name matches only itself: not in another case, not with a trailing space
        (MariaDB's default collations would match both)."""
        name = _unique("vendor")
        with self.unit_of_work() as uow:
            uow.vendors.add(self._vendor(name, date(2026, 1, 1)))
            uow.commit()
        with self.unit_of_work() as uow:
            for other in (name.upper(), name + " ", name[:-1]):
                with pytest.raises(NotFound):
                    uow.vendors.get(other)
                assert uow.vendors.versions(other) == []
            assert uow.vendors.get(name).name == name

    @settings(max_examples=8, deadline=None)
    @given(
        rate=st.decimals(min_value=0, max_value=Decimal("0.999999"), places=6),
        fee=st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2),
        digits=st.integers(0, 4),
    )
    def test_vendor_rates_and_fees_round_trip_exactly(
        self, rate: Decimal, fee: Decimal, digits: int
    ) -> None:
        """PLAN-2, PLAN-4: a VAT rate and a fee come back as the same Decimal, to the digit
        (``0.2100`` stays ``0.2100``), in the same currency."""
        name = _unique("vendor")
        padded = rate.quantize(Decimal(1).scaleb(-6)).normalize() if digits else rate
        rates = {"CZ": str(padded), "SK": "0.2300", "PL": str(Decimal("0.23"))}
        vendor = self._vendor(name, date(2026, 1, 1), rates=rates, fees={"transfer": str(fee)})
        with self.unit_of_work() as uow:
            uow.vendors.add(vendor)
            uow.commit()
        with self.unit_of_work() as uow:
            found = uow.vendors.get(name, on=date(2026, 1, 1))
        assert found == vendor
        assert str(found.vat_rate("CZ")) == str(padded)
        assert str(found.vat_rates["SK"]) == "0.2300"
        assert found.vat_rate("DE") == found.vat_rate("CZ")  # the vendor's own country (CZ)
        assert found.transfer_fee == Money(fee, "CZK")
        assert str(found.transfer_fee.amount) == str(fee)

    def test_refused_vendor_add_stores_nothing_and_leaves_the_unit_usable(self) -> None:
        """A version on the day of a stored one, or before it, is refused (ValidationError on
        ``effective``) before anything is written: the same unit of work goes on, and its
        commit stores only what was accepted."""
        name = _unique("vendor")
        with self.unit_of_work() as uow:
            uow.vendors.add(self._vendor(name, date(2026, 3, 1)))
            uow.commit()
        with self.unit_of_work() as uow:
            for day in (date(2026, 3, 1), date(2026, 2, 28)):
                with pytest.raises(ValidationError) as caught:
                    uow.vendors.add(self._vendor(name, day, fees={"transfer": "99.00"}))
                assert (caught.value.field, caught.value.rule) == ("effective", "NOTICE-2")
            later = self._vendor(name, date(2026, 4, 1), fees={"transfer": "70.00"})
            uow.vendors.add(later)  # the unit of work is still usable
            uow.commit()
        with self.unit_of_work() as uow:
            versions = uow.vendors.versions(name)
        assert [v.effective for v in versions] == [date(2026, 3, 1), date(2026, 4, 1)]
        assert [str(v.transfer_fee.amount) for v in versions] == ["50.00", "70.00"]

    def test_concurrent_vendor_adds_keep_versions_in_order(self) -> None:
        """While one writer adds a version taking effect on 10 March (not yet committed),
        another adding 5 March waits, then is refused: it would take effect before a stored
        version (NOTICE-2), and the order of the versions is the order they were added."""
        name = _unique("vendor")
        with self.unit_of_work() as uow:
            uow.vendors.add(self._vendor(name, date(2026, 3, 1)))
            uow.commit()
        outcome: list[object] = []

        def second_writer() -> None:
            try:
                with self.unit_of_work() as other:
                    other.vendors.add(self._vendor(name, date(2026, 3, 5)))
                    other.commit()
                outcome.append("stored")
            except Exception as exc:  # the assertion below names it
                outcome.append(exc.with_traceback(None))  # no frames kept alive

        with self.unit_of_work() as uow:
            uow.vendors.add(self._vendor(name, date(2026, 3, 10)))
            writer = threading.Thread(target=second_writer)
            writer.start()
            writer.join(0.5)  # it waits for this transaction
            uow.commit()
        writer.join(30)
        assert len(outcome) == 1 and isinstance(outcome[0], ValidationError), outcome
        assert (outcome[0].field, outcome[0].rule) == ("effective", "NOTICE-2")
        with self.unit_of_work() as uow:
            days = [v.effective for v in uow.vendors.versions(name)]
        assert days == [date(2026, 3, 1), date(2026, 3, 10)]

    def test_uncommitted_vendor_is_rolled_back(self) -> None:
        name = _unique("vendor")
        with self.unit_of_work() as uow:
            uow.vendors.add(self._vendor(name, date(2026, 1, 1)))
        with self.unit_of_work() as uow:
            assert uow.vendors.versions(name) == []
            assert name not in uow.vendors.names()

    def test_vendor_document_out_is_the_document_in(self) -> None:
        """``crmcore vendor export`` prints what ``import`` stored: the JSON text read back
        equals the text written, byte for byte."""
        name = _unique("vendor")
        text = self._vendor(name, date(2026, 1, 1), fees={"transfer": "50.00"}).dumps_json()
        with self.unit_of_work() as uow:
            uow.vendors.add(Vendor.loads_json(text))
            uow.commit()
        with self.unit_of_work() as uow:
            assert uow.vendors.get(name).dumps_json() == text
