"""A tenant's billing profile (issue 14): VAT follows the customer's country (PLAN-2) and
invoices go to the billing e-mail (BILL-5), through the commands, ``bill_tenant`` and the SQL
billing job alike; a change applies to invoices issued from its day, never to issued ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor, set_billing_profile
from crmcore.app.queries import tenant_status
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.errors import ValidationError
from crmcore.events import (
    Activated,
    BillingProfileChanged,
    PaymentMethod,
    PaymentReceived,
    SeatsAdded,
)
from crmcore.memory import InMemoryStorage
from crmcore.periods import Period
from crmcore.ports import UnitOfWork
from crmcore.vendors import TenantBillingProfile, Vendor, vendor_from_preset
from crmcore_sql.jobs import bill_period

PRAGUE = ZoneInfo("Europe/Prague")
SLOVAK = TenantBillingProfile(country="SK", billing_email="billing@firma.sk")
CZECH = TenantBillingProfile(country="CZ", billing_email="fakturace@firma.cz")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=PRAGUE)


def acme(**fees: str) -> Vendor:
    """raynet's terms (CZ) with VAT CZ 21 %, SK 23 %, standard at 500.00 and ``fees``."""
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
    return vendor_from_preset(
        "raynet",
        name="acme",
        effective=date(2026, 1, 1),
        catalog=plans,
        vat_rates={"CZ": "0.21", "SK": "0.23"},
        fees=fees,
    )


def setup(unit_of_work: Callable[[], UnitOfWork]) -> None:
    """Vendor acme (raynet's terms, CZ): VAT CZ 21 %, SK 23 %; tenant t1 in Slovakia,
    activated 1 Feb with 2 seats of standard (500.00): 1000.00 net a month (BILL-2); it
    moves to Czechia on 15 Mar."""
    save_vendor(unit_of_work(), acme())
    register_tenant(unit_of_work(), "t1", "acme", at("2026-01-05"), profile=SLOVAK)
    record(unit_of_work(), "t1", Activated(at("2026-02-01"), "standard", seats=2))
    set_billing_profile(unit_of_work(), "t1", at("2026-03-15"), CZECH)


EXPECTED = [  # issued, VAT rate, gross = 1000.00 x (1 + rate), billing e-mail
    (date(2026, 2, 1), Decimal("0.23"), Decimal("1230.00"), "billing@firma.sk"),
    (date(2026, 3, 1), Decimal("0.23"), Decimal("1230.00"), "billing@firma.sk"),
    (date(2026, 4, 1), Decimal("0.21"), Decimal("1210.00"), "fakturace@firma.cz"),
]


def stored(
    unit_of_work: Callable[[], UnitOfWork],
) -> list[tuple[date, Decimal, Decimal, str | None]]:
    with unit_of_work() as uow:
        invoices = sorted(uow.invoices.for_tenant("t1"), key=lambda i: i.issued)
    return [(i.issued, i.vat_rate, i.gross.amount, i.billing_email) for i in invoices]


def test_plan_2_bill_5_profile_in_memory() -> None:
    storage = InMemoryStorage()
    setup(storage.unit_of_work)
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 4, 30))
    assert stored(storage.unit_of_work) == EXPECTED


@pytest.mark.parametrize("door", ["bill_tenant", "the billing job"])
def test_plan_2_bill_5_profile_on_sqlite(tmp_path: Path, door: str) -> None:
    engine = crmcore_sql.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    crmcore_sql.migrate(engine)
    unit_of_work = lambda: crmcore_sql.unit_of_work(engine)  # noqa: E731
    setup(unit_of_work)
    if door == "bill_tenant":
        bill_tenant(unit_of_work(), "t1", date(2026, 4, 30))
    else:
        for month in (1, 2, 3, 4):
            bill_period(engine, Period.calendar_month(2026, month))
    assert stored(unit_of_work) == EXPECTED
    engine.dispose()


def test_an_issued_invoice_never_changes_with_a_later_profile() -> None:
    """Billed to 31 Mar first: the invoices of 1 Feb and 1 Mar stay at 23 % after the move."""
    storage = InMemoryStorage()
    setup(storage.unit_of_work)
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 3, 31))
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 4, 30))
    assert stored(storage.unit_of_work) == EXPECTED


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"country": "cz"}, "country"),
        ({"country": "CZ", "billing_email": "not an address"}, "billing_email"),
        ({"country": "CZ", "tax_id": "x" * 33}, "tax_id"),
    ],
)
def test_a_bad_profile_event_is_refused(values: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        BillingProfileChanged(at("2026-01-05"), **values)
    assert refused.value.field == field


def _fees_vendor(unit_of_work: Callable[[], UnitOfWork]) -> None:
    """acme with a transfer fee of 50.00 (BILL-4, PLAN-4)."""
    save_vendor(unit_of_work(), acme(transfer="50.00"))


def _invoices(unit_of_work: Callable[[], UnitOfWork]) -> list[tuple[date, date, str, str]]:
    with unit_of_work() as uow:
        invoices = sorted(uow.invoices.for_tenant("t1"), key=lambda i: i.issued)
    return [
        (i.issued, i.due, str(i.gross.amount), "+".join(line.kind.value for line in i.lines))
        for i in invoices
    ]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_bill_4_the_profiles_payment_method_pays_an_activation_that_names_none(
    store: str, tmp_path: Path
) -> None:
    """BILL-4: t1's profile pays by transfer, and its activation on 1 Feb (2 seats of
    standard) names no method: its invoices are due 14 days after issue with the transfer
    fee, (1000.00 + 50.00) x 1.23 = 1291.50 (SK, PLAN-2). From 15 Mar its profile pays by card
    (CZ): the 1 Apr invoice is charged at issue, due that day, 1000.00 x 1.21 = 1210.00."""
    if store == "memory":
        unit_of_work: Callable[[], UnitOfWork] = InMemoryStorage().unit_of_work
    else:
        engine = crmcore_sql.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
        crmcore_sql.migrate(engine)
        unit_of_work = lambda: crmcore_sql.unit_of_work(engine)  # noqa: E731
    _fees_vendor(unit_of_work)
    by_transfer = TenantBillingProfile("SK", "billing@firma.sk", payment="transfer")
    register_tenant(unit_of_work(), "t1", "acme", at("2026-01-05"), profile=by_transfer)
    record(unit_of_work(), "t1", Activated(at("2026-02-01"), "standard", seats=2))
    by_card = attrs.evolve(CZECH, payment="card")
    set_billing_profile(unit_of_work(), "t1", at("2026-03-15"), by_card)
    bill_tenant(unit_of_work(), "t1", date(2026, 4, 30))
    assert _invoices(unit_of_work) == [
        (date(2026, 2, 1), date(2026, 2, 15), "1291.50", "subscription+transfer_fee"),
        (date(2026, 3, 1), date(2026, 3, 15), "1291.50", "subscription+transfer_fee"),
        (date(2026, 4, 1), date(2026, 4, 1), "1210.00", "subscription"),
    ]


def test_bill_4_an_activation_naming_its_method_is_paid_so_whatever_the_profile() -> None:
    """The profile pays by transfer; an activation naming card is charged at issue: the
    1 Feb invoice is due that day, 1000.00 x 1.23 = 1230.00, no fee."""
    storage = InMemoryStorage()
    _fees_vendor(storage.unit_of_work)
    by_transfer = TenantBillingProfile("SK", "billing@firma.sk", payment="transfer")
    register_tenant(storage.unit_of_work(), "t1", "acme", at("2026-01-05"), profile=by_transfer)
    card = Activated(at("2026-02-01"), "standard", seats=2, payment=PaymentMethod.CARD)
    record(storage.unit_of_work(), "t1", card)
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 2, 28))
    assert _invoices(storage.unit_of_work) == [
        (date(2026, 2, 1), date(2026, 2, 1), "1230.00", "subscription"),
    ]


def test_bill_5_a_correction_goes_to_the_billing_email_of_its_issue_day() -> None:
    """A seat added on 10 Feb is entered late, on 20 Mar (BILL-6), after t1 moved to Czechia
    on 15 Mar: its charge on the 1 Mar invoice (PRO-2: 500.00 x 19/28 = 339.29, and March
    prepaid for the third seat, 500.00) is a correction issued on 20 Mar, sent to
    fakturace@firma.cz, the address in force that day (BILL-5), at the 23 % of the invoice it
    corrects (PLAN-2: 839.29 x 1.23 = 1032.33)."""
    storage = InMemoryStorage()
    setup(storage.unit_of_work)
    late = SeatsAdded(at("2026-02-10"), 1, recorded=at("2026-03-20"))
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 3, 19))
    record(storage.unit_of_work(), "t1", late)
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 3, 31))
    with storage.unit_of_work() as uow:
        [correction] = [i for i in uow.invoices.for_tenant("t1") if i.corrects is not None]
    assert (correction.issued, correction.billing_email) == (
        date(2026, 3, 20),
        "fakturace@firma.cz",
    )
    assert (correction.vat_rate, correction.gross.amount) == (Decimal("0.23"), Decimal("1032.33"))


def test_bill_4_explain_names_the_profile_and_the_fee_of_the_issue_days_version() -> None:
    """The 1 Feb invoice of the transfer profile's tenant: its fee line's cause is the
    profile (the activation named no method) and its fee the 50.00 of acme's version in
    force on 1 Feb, though a version of 1 Apr asks 80.00 (BILL-4, PLAN-4)."""
    from crmcore.app.explain import explain_invoice

    storage = InMemoryStorage()
    _fees_vendor(storage.unit_of_work)
    by_transfer = TenantBillingProfile("SK", "billing@firma.sk", payment="transfer")
    register_tenant(storage.unit_of_work(), "t1", "acme", at("2026-01-05"), profile=by_transfer)
    record(storage.unit_of_work(), "t1", Activated(at("2026-02-01"), "standard", seats=2))
    dearer = attrs.evolve(acme(transfer="80.00"), effective=date(2026, 4, 1))
    save_vendor(storage.unit_of_work(), dearer, announced=date(2026, 2, 1))
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 4, 30))
    with storage.unit_of_work() as uow:
        first = min(uow.invoices.for_tenant("t1"), key=lambda i: i.issued)
    fee = explain_invoice(storage.unit_of_work(), first.number).lines[-1]
    assert fee.line.kind.value == "transfer_fee"
    assert fee.fee is not None and fee.fee.amount == Decimal("50.00")
    assert [cause.to_json()["do"] for cause in fee.causes] == ["set_billing_profile"]


def test_bill_4_a_profile_naming_no_method_leaves_the_tenants_as_it_is() -> None:
    """t1 activated paying by transfer on 1 Feb; on 15 Mar it changes only its address (a
    profile without a method): April's invoice is still a transfer one, due 15 Apr, with the
    fee, (1000.00 + 50.00) x 1.21 = 1270.50, and unpaid it blocks t1 from 19 Apr (PAY-2;
    February's and March's, (1000.00 + 50.00) x 1.23 = 1291.50 each, were paid)."""
    storage = InMemoryStorage()
    _fees_vendor(storage.unit_of_work)
    register_tenant(storage.unit_of_work(), "t1", "acme", at("2026-01-05"), profile=SLOVAK)
    transfer = Activated(at("2026-02-01"), "standard", seats=2, payment=PaymentMethod.TRANSFER)
    record(storage.unit_of_work(), "t1", transfer)
    for day in ("2026-02-10", "2026-03-10"):
        record(storage.unit_of_work(), "t1", PaymentReceived(at(day), Decimal("1291.50")))
    set_billing_profile(storage.unit_of_work(), "t1", at("2026-03-15"), CZECH)
    bill_tenant(storage.unit_of_work(), "t1", date(2026, 4, 30))
    assert _invoices(storage.unit_of_work)[-1] == (
        date(2026, 4, 1),
        date(2026, 4, 15),
        "1270.50",
        "subscription+transfer_fee",
    )
    assert tenant_status(storage.unit_of_work(), "t1", date(2026, 4, 18)).status.value == "active"
    assert tenant_status(storage.unit_of_work(), "t1", date(2026, 4, 19)).status.value == "blocked"
