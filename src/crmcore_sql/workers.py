"""Worker functions the guarantee tests and benchmarks run in separate processes (REC-6,
SEAT-5, BILL-6); the stand-in record table they write is :data:`crmcore_sql.testing.record_rows`.

Each opens its own engine from a URL (so it can run under ``multiprocessing`` with the
``spawn`` start method, or on another machine) and returns plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.billing.issuing import issue_stored
from crmcore.errors import ConcurrencyError, SeatError
from crmcore.invoices import Invoice, InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.ports import RecordCount
from crmcore.presets import preset
from crmcore_sql.testing import record_rows

__all__ = [
    "assign_people",
    "bill_together",
    "create_records_alone",
    "create_records_in_one_step",
    "draft_invoice",
    "issue_invoices",
    "try_create_records",
]


def try_create_records(url: str, tenant_id: str, attempts: int, batch: int, limit: int) -> int:
    """REC-6: try ``attempts`` times to create ``batch`` records; the number created."""
    engine = crmcore_sql.create_engine(url)
    created = 0
    try:
        for _ in range(attempts):
            while True:
                try:
                    with crmcore_sql.unit_of_work(engine) as uow:
                        decision = uow.records.try_create(tenant_id, "client", batch, limit)
                        if decision.allowed:
                            uow.connection.execute(
                                insert(record_rows),
                                [{"tenant_id": tenant_id, "kind": "contact"}] * batch,
                            )
                            uow.commit()
                            created += batch
                    break
                except ConcurrencyError:
                    continue
    finally:
        engine.dispose()
    return created


def create_records_in_one_step(
    url: str, tenant_id: str, attempts: int, batch: int, limit: int
) -> int:
    """REC-6 with ``uow.records.create``: ``attempts`` times, ``batch`` rows counted and
    inserted together (one statement on PostgreSQL), then commit; the number created."""

    def create(engine: Engine, rows: list[dict[str, Any]]) -> RecordCount:
        with crmcore_sql.unit_of_work(engine) as uow:
            decision = uow.records.create(tenant_id, "client", limit, record_rows, rows)
            uow.commit()
        return decision

    return _create_repeatedly(url, tenant_id, attempts, batch, create)


def create_records_alone(url: str, tenant_id: str, attempts: int, batch: int, limit: int) -> int:
    """REC-6 with ``crmcore_sql.create_records`` (each creation a transaction of its own,
    autocommit on PostgreSQL); the number created."""

    def create(engine: Engine, rows: list[dict[str, Any]]) -> RecordCount:
        return crmcore_sql.create_records(engine, tenant_id, "client", limit, record_rows, rows)

    return _create_repeatedly(url, tenant_id, attempts, batch, create)


def _create_repeatedly(
    url: str,
    tenant_id: str,
    attempts: int,
    batch: int,
    create: Callable[[Engine, list[dict[str, Any]]], RecordCount],
) -> int:
    engine = crmcore_sql.create_engine(url)
    rows = [{"tenant_id": tenant_id, "kind": "contact"}] * batch
    created = 0
    try:
        for _ in range(attempts):
            while True:
                try:
                    decision = create(engine, rows)
                    break
                except ConcurrencyError:
                    continue
            created += batch if decision.allowed else 0
    finally:
        engine.dispose()
    return created


def assign_people(url: str, tenant_id: str, people: list[str]) -> int:
    """SEAT-5: try to give each person an account; the number assigned."""
    engine = crmcore_sql.create_engine(url)
    assigned = 0
    try:
        for person in people:
            while True:
                try:
                    with crmcore_sql.unit_of_work(engine) as uow:
                        uow.seats.assign(tenant_id, person)
                        uow.commit()
                        assigned += 1
                    break
                except SeatError:
                    break
                except ConcurrencyError:
                    continue
    finally:
        engine.dispose()
    return assigned


def draft_invoice(tenant_id: str, key: str, series: str) -> Invoice:
    """A two-line draft (50 seats x 29.90 and a transfer fee): what a billing run writes."""
    return Invoice(
        tenant_id=tenant_id,
        number="",
        series=series,
        issued=date(2026, 3, 1),
        due=date(2026, 3, 15),
        currency="PLN",
        vat_rate=Decimal("0.23"),
        lines=(  # type: ignore[arg-type]  # attrs converter=tuple
            InvoiceLine(
                LineKind.SUBSCRIPTION, "BILL-2", Money.of("29.90", "PLN") * 50, "start", 50
            ),
            InvoiceLine(LineKind.TRANSFER_FEE, "BILL-4", Money.of("15.00", "PLN")),
        ),
        key=key,
        period_first_day=date(2026, 3, 1),
        period_last_day=date(2026, 3, 31),
    )


def issue_invoices(url: str, tenants: list[str], key: str, series: str) -> list[str]:
    """BILL-6: issue the invoice ``key`` for each tenant; the numbers it got."""
    engine = crmcore_sql.create_engine(url)
    try:
        return [
            issue_stored(
                lambda: crmcore_sql.unit_of_work(engine),
                draft_invoice(t, key, series),
                preset("raynet"),
            ).number
            for t in tenants
        ]
    finally:
        engine.dispose()


def bill_together(
    start: Any, url: str, up_to: date, vat_rate: str, batch: int, pause: float = 0.02
) -> tuple[int, int, list[tuple[str, str, str, str | None]]]:
    """:func:`crmcore_sql.jobs.bill_worker` once every worker is ready: ``start`` is a
    ``multiprocessing`` barrier (a manager's proxy) of the workers, and each pauses ``pause``
    seconds after a batch, so that no worker bills the whole book before the others have
    started, however busy the machine (a test that they share it)."""
    from crmcore_sql.jobs import bill_worker

    start.wait()
    return bill_worker(url, up_to, vat_rate, batch, pause)
