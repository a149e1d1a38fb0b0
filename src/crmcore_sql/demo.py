"""``crmcore demo``: a demo vendor stored as data (raynet's terms, three plans, CZ VAT 21 %,
a 50.00 CZK transfer fee), 50 tenants whose changes go through the application layer's
commands (:mod:`crmcore.app.commands`), six months of the billing and dunning jobs, and a
readable summary. The same engine as ``crmcore simulate``: nobody is invoiced after a PAY-3
cancellation or a PAY-4 purge, and the SLA-6 credit of an outage is a line of a later
invoice."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.errors import CommandRefused
from crmcore.events import (
    Activated,
    Cancelled,
    Event,
    OutageRecorded,
    PaymentMethod,
    PaymentReceived,
    PlanChanged,
    RecordsCreated,
    SeatsAdded,
    TenantCreated,
)
from crmcore.invoices import Invoice, LineKind
from crmcore.periods import Period
from crmcore.vendors import TenantBillingProfile, Vendor, vendor_from_preset
from crmcore_sql.jobs import bill_period, dunning_as_of
from crmcore_sql.migrate import migrate
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["DEMO_VENDOR", "demo_catalog", "demo_history", "demo_vendor", "run_demo"]

VENDOR = "raynet"  # the preset the earlier tests and benchmarks store tenants under
DEMO_VENDOR = "demo-cz"
PRAGUE = ZoneInfo("Europe/Prague")
MONTHS = [Period.calendar_month(2026, month) for month in range(1, 7)]
# tenant index -> the first month it stops paying its transfer invoices (PAY-2..4)
STOPS_PAYING = {3: 1, 13: 3, 23: 6, 37: 5}
OUTAGE_TENANT = "demo-07"  # a 10-hour outage on 8 Apr (SLA-2): a credit on the May invoice
RECORDS_TENANT = "demo-06"  # on 'start' (2000 records, REC-3)


def demo_catalog() -> Catalog:
    def prices(monthly: str, annual: str) -> list[Price]:
        return [
            Price("CZK", Cycle.MONTHLY, Decimal(monthly)),
            Price("CZK", Cycle.ANNUAL, Decimal(annual)),
        ]

    return Catalog(
        [
            Plan("start", 1, prices("490.00", "4900.00"), Limits(records=2000)),  # type: ignore[arg-type]
            Plan("business", 2, prices("690.00", "6900.00"), Limits(records=20000)),  # type: ignore[arg-type]
            Plan("enterprise", 3, prices("990.00", "9900.00"), Limits(records=None)),  # type: ignore[arg-type]
        ]
    )


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=PRAGUE)


def demo_history(index: int) -> list[Event]:
    """Tenant ``index``'s story: most convert after 10 days; some buy seats, upgrade, pay
    annually, cancel, or never convert."""
    tenant = f"demo-{index:02d}"
    created = date(2026, 1, 1) + timedelta(days=index % 25)
    history: list[Event] = [TenantCreated(_at(created), tenant, f"{tenant}.example")]
    if index % 10 == 0:
        return history  # trial only (TRIAL-4)
    plan = ["start", "business", "enterprise"][index % 3]
    cycle = Cycle.ANNUAL if index % 10 == 1 else Cycle.MONTHLY
    history.append(Activated(_at(created + timedelta(days=10)), plan, cycle, seats=2 + index % 7))
    if index % 10 in (2, 3):
        history.append(SeatsAdded(_at(date(2026, 2, 14)), 2))  # PRO-2
    if index % 10 == 4 and plan != "enterprise":
        history.append(PlanChanged(_at(date(2026, 3, 10)), "enterprise"))  # PRO-4
    if index % 10 == 5:
        history.append(Cancelled(_at(date(2026, 4, 20))))  # END-4
    return history


def demo_vendor() -> Vendor:
    """The demo vendor as data: raynet's terms as a starting point, the demo plans, VAT by
    the customer's country with CZ (its own) at 21 % (PLAN-2), a transfer fee (BILL-4)."""
    return vendor_from_preset(
        "raynet",
        name=DEMO_VENDOR,
        effective=date(2026, 1, 1),
        catalog=demo_catalog(),
        vat_rates={"CZ": "0.21", "SK": "0.23", "PL": "0.23"},
        fees={"transfer": "50.00"},
    )


def demo_profile(index: int) -> TenantBillingProfile:
    """Every tenth tenant (8, 18, ...) is a Slovak company (VAT 23 %, PLAN-2); the others are
    Czech (21 %). Invoices go to the tenant's billing address (BILL-5)."""
    country = "SK" if index % 10 == 8 else "CZ"
    return TenantBillingProfile(
        country=country, billing_email=f"billing@demo-{index:02d}.{country.lower()}"
    )


def demo_life(index: int) -> list[Event]:
    """:func:`demo_history` with payments: the tenants of :data:`STOPS_PAYING` pay by bank
    transfer (on the 5th, everything due) until the month they stop; the others by card,
    charged at issue (BILL-4). demo-07 has an outage; demo-06 creates records."""
    history = demo_history(index)
    if index in STOPS_PAYING:
        history = [
            Activated(e.at, e.plan, e.cycle, e.seats, PaymentMethod.TRANSFER)
            if isinstance(e, Activated)
            else e
            for e in history
        ]
        for month in range(2, STOPS_PAYING[index]):
            history.append(PaymentReceived(_at(date(2026, month, 5), 10)))
    tenant = history[0]
    assert isinstance(tenant, TenantCreated)
    if tenant.tenant_id == OUTAGE_TENANT:
        history.append(
            OutageRecorded(_at(date(2026, 4, 8), 2), _at(date(2026, 4, 8), 12), "unplanned")
        )
    if tenant.tenant_id == RECORDS_TENANT:
        history.append(RecordsCreated(_at(date(2026, 2, 10)), "client", 1990))
        history.append(RecordsCreated(_at(date(2026, 2, 11)), "lead", 20))  # refused
    return sorted(history, key=lambda event: event.at)


def _seed(engine: Engine) -> list[str]:
    """The vendor and the tenants, every change as its command; the refusals, as lines."""

    def unit_of_work() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    with unit_of_work() as uow:
        if uow.tenants.ids(limit=1):
            return []  # already seeded: the demo can run again on the same file
    save_vendor(unit_of_work(), demo_vendor())
    refused: list[str] = []
    for index in range(50):
        created, *events = demo_life(index)
        assert isinstance(created, TenantCreated)
        register_tenant(
            unit_of_work(),
            created.tenant_id,
            DEMO_VENDOR,
            created.at,
            created.identity,
            demo_profile(index),
        )
        for event in events:
            try:
                record(unit_of_work(), created.tenant_id, event)
            except CommandRefused as refusal:
                refused.append(f"{created.tenant_id}: {refusal}")
    return refused


def run_demo(engine: Engine, out: TextIO) -> None:
    migrate(engine)
    refused = _seed(engine)
    print(
        f"demo vendor: {DEMO_VENDOR} (raynet's terms), plans start/business/enterprise,"
        " 50 tenants (45 Czech, 5 Slovak); VAT CZ 21 %, SK 23 % (PLAN-2), transfer fee"
        " 50.00 CZK",
        file=out,
    )
    print("\ninvoices per month (issued, gross CZK):", file=out)
    for period in MONTHS:
        bill_period(engine, period)
    with SqlUnitOfWork(engine) as uow:
        invoices = [i for t in uow.tenants.ids() for i in uow.invoices.for_tenant(t)]
    for period in MONTHS:
        issued = [i for i in invoices if period.contains(i.issued)]
        gross = sum((i.gross.amount for i in issued), Decimal(0))
        print(f"  {period.first_day:%Y-%m}: {len(issued):3d} invoices, {gross:>12} CZK", file=out)
    for country in ("CZ", "SK"):
        billed = [i for i in invoices if (i.billing_email or "").endswith(f".{country.lower()}")]
        rates = sorted({f"{i.vat_rate * 100:.0f} %" for i in billed})
        print(f"  {country} tenants: {len(billed)} invoices, VAT {', '.join(rates)}", file=out)
    _, statuses = dunning_as_of(engine, MONTHS[-1].last_day)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    print(f"\nstatuses on {MONTHS[-1].last_day} (as crmcore status): {summary}", file=out)
    late = [i for i in invoices if i.tenant_id == "demo-03"]
    print(
        f"demo-03 never paid: {len(late)} invoice(s), the last issued "
        f"{max(i.issued for i in late)}; none after its cancellation (PAY-3)",
        file=out,
    )
    _sla_example(invoices, out)
    if refused:
        print("\ncommands refused while recording the tenants' changes:", file=out)
    for line in refused:
        print(f"  refused: {line}", file=out)


def _sla_example(invoices: list[Invoice], out: TextIO) -> None:
    """SLA-2/SLA-6: demo-07's outage of 8 Apr, 02:00-12:00, is a credit line in May."""
    credits = [
        (invoice, line)
        for invoice in invoices
        if invoice.tenant_id == OUTAGE_TENANT
        for line in invoice.lines
        if line.kind is LineKind.SLA_CREDIT
    ]
    for invoice, line in credits:
        print(
            f"\nSLA credit (SLA-2, SLA-6): {OUTAGE_TENANT}'s 10-hour outage on 2026-04-08 is "
            f"a line of invoice {invoice.number} of {invoice.issued}: {line.net.rounded()}",
            file=out,
        )
