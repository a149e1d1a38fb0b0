"""A tenant's billing profile (issue 14): VAT follows the customer's country (PLAN-2) and
invoices go to the billing e-mail (BILL-5), through the commands, ``bill_tenant`` and the SQL
billing job alike; a change applies to invoices issued from its day, never to issued ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor, set_billing_profile
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.errors import ValidationError
from crmcore.events import Activated, BillingProfileChanged
from crmcore.memory import InMemoryStorage
from crmcore.periods import Period
from crmcore.ports import UnitOfWork
from crmcore.vendors import TenantBillingProfile, vendor_from_preset
from crmcore_sql.jobs import bill_period

PRAGUE = ZoneInfo("Europe/Prague")
SLOVAK = TenantBillingProfile(country="SK", billing_email="billing@firma.sk")
CZECH = TenantBillingProfile(country="CZ", billing_email="fakturace@firma.cz")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=PRAGUE)


def setup(unit_of_work: Callable[[], UnitOfWork]) -> None:
    """Vendor acme (raynet's terms, CZ): VAT CZ 21 %, SK 23 %; tenant t1 in Slovakia,
    activated 1 Feb with 2 seats of standard (500.00): 1000.00 net a month (BILL-2); it
    moves to Czechia on 15 Mar."""
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
    vendor = vendor_from_preset(
        "raynet",
        name="acme",
        effective=date(2026, 1, 1),
        catalog=plans,
        vat_rates={"CZ": "0.21", "SK": "0.23"},
    )
    save_vendor(unit_of_work(), vendor)
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
