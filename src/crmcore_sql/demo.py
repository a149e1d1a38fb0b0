"""``crmcore demo``: a demo vendor (raynet preset, three plans), 50 tenants with varied
histories, six months of billing and dunning, and a readable summary."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib import import_module
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.events import Activated, Cancelled, Event, PlanChanged, SeatsAdded, TenantCreated
from crmcore.invoices import Payment
from crmcore.periods import Period
from crmcore.presets import preset
from crmcore_sql.jobs import bill_period, dunning_as_of
from crmcore_sql.migrate import migrate
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["demo_catalog", "run_demo"]

VENDOR = "raynet"
PRAGUE = ZoneInfo("Europe/Prague")
MONTHS = [Period.calendar_month(2026, month) for month in range(1, 7)]
# tenant index -> the first month it stops paying (PAY-2 blocked, PAY-3 cancelled, PAY-4)
STOPS_PAYING = {3: 1, 13: 3, 23: 6, 37: 5}


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


def _seed(engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        if uow.tenants.ids(limit=1):
            return  # already seeded: the demo can run again on the same file
        uow.catalogs.save(VENDOR, demo_catalog())
        for index in range(50):
            uow.tenants.add(f"demo-{index:02d}", VENDOR, demo_history(index))
        uow.commit()


def _pay(engine: Engine, period: Period) -> None:
    """Everyone but the non-payers pays each invoice on its issue day (card, BILL-4)."""
    with SqlUnitOfWork(engine) as uow:
        for index, tenant in enumerate(uow.tenants.ids()):
            if period.first_day.month >= STOPS_PAYING.get(index, 13):
                continue
            paid = {payment.reference for payment in uow.payments.for_tenant(tenant)}
            for invoice in uow.invoices.for_tenant(tenant):
                due = period.contains(invoice.issued) and invoice.number not in paid
                if due and invoice.gross.amount > 0:
                    uow.payments.add(
                        Payment(tenant, _at(invoice.issued, 12), invoice.gross, invoice.number)
                    )
        uow.commit()


def run_demo(engine: Engine, out: TextIO) -> None:
    migrate(engine)
    _seed(engine)
    print(f"demo vendor: {VENDOR} preset, plans start/business/enterprise, 50 tenants", file=out)
    print("\ninvoices per month (issued, gross CZK):", file=out)
    for period in MONTHS:
        bill_period(engine, period)
        _pay(engine, period)
    with SqlUnitOfWork(engine) as uow:
        invoices = [i for t in uow.tenants.ids() for i in uow.invoices.for_tenant(t)]
    for period in MONTHS:
        issued = [i for i in invoices if period.contains(i.issued)]
        gross = sum((i.gross.amount for i in issued), Decimal(0))
        print(f"  {period.first_day:%Y-%m}: {len(issued):3d} invoices, {gross:>12} CZK", file=out)
    _, statuses = dunning_as_of(engine, MONTHS[-1].last_day)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    print(f"\nstatuses on {MONTHS[-1].last_day} (PAY-2..4): {summary}", file=out)
    _sla_example(engine, out)
    _record_limit_example(engine, out)


def _sla_example(engine: Engine, out: TextIO) -> None:
    try:
        sla: Any = import_module("crmcore.sla")
    except ImportError:
        print("\nSLA credit: crmcore.sla is not installed in this build", file=out)
        return
    policy = preset(VENDOR)
    outage = sla.Outage(_at(date(2026, 4, 8), 2), _at(date(2026, 4, 8), 12))
    availability = sla.month_availability([outage], policy, 2026, 4)
    with SqlUnitOfWork(engine) as uow:
        invoices = uow.invoices.for_tenant("demo-07")
    fee = sla.fee_for_month(invoices, 2026, 4)
    if fee is None:
        print("\nSLA credit: demo-07 has no fee in April", file=out)
        return
    credit = sla.sla_credit(availability, fee[0], fee[1], policy)
    print(
        f"\nSLA credit (SLA-2): a 10-hour outage on 2026-04-08 left "
        f"{float(availability.percent):.3f} % availability; demo-07's April fee "
        f"{fee[0].amount} {fee[0].currency} is owed a credit of {credit.amount.amount} "
        f"{credit.amount.currency} (SLA-6: deducted from a later invoice)",
        file=out,
    )


def _record_limit_example(engine: Engine, out: TextIO) -> None:
    limit = demo_catalog().get("start").limits.records
    with SqlUnitOfWork(engine) as uow:
        first = uow.records.try_create("demo-03", "client", 1990, limit)
        refused = uow.records.try_create("demo-03", "lead", 20, limit)
        # a demo: nothing is kept
    print(
        f"\nrecord limit (REC-3, REC-6): demo-03 on 'start' (limit {limit}) has "
        f"{first.total} records; creating {refused.requested} more was "
        f"{'allowed' if refused.allowed else 'refused'} (total stays {refused.total})",
        file=out,
    )
