"""The billing job's checkpoints on every engine: the invoices are the same with them, without
them, after a late event and with a corrupt row (BILL-6, PRO-2, PRO-4, END-4)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.events import SeatsAdded
from crmcore.periods import Period
from crmcore.testing.billing import PRAGUE
from crmcore_sql.jobs import bill_period
from crmcore_sql.tables import billing_checkpoints, invoice_lines, invoices
from crmcore_sql.testing import temporary_database
from test_cli_storage import demo_tenants

MONTHS = [Period.calendar_month(2026, month) for month in range(1, 7)]


def _issued(engine: Engine) -> list[tuple[Any, ...]]:
    """Every invoice with its lines, comparable across databases (ids left out)."""
    with engine.connect() as connection:
        heads = connection.execute(select(invoices).order_by(invoices.c.series, invoices.c.number))
        lines = connection.execute(
            select(invoice_lines).order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
        ).all()
        by_invoice: dict[int, list[tuple[Any, ...]]] = {}
        for line in lines:
            by_invoice.setdefault(line.invoice_id, []).append(
                (line.kind, line.rule, line.net, line.seats, line.first_day, line.last_day)
            )
        return [
            (
                head.tenant_id,
                head.key,
                head.number,
                head.issued,
                head.net,
                tuple(by_invoice.get(head.id, [])),
            )
            for head in heads
        ]


@pytest.fixture(scope="module")
def book_url(database_url: str) -> Iterator[str]:
    """A migrated database of this module's own on the engine of ``database_url``: each test
    empties it and stores the 30 demo tenants again (:func:`_demo_book`), a fresh book for
    the price of a DELETE per table instead of a new database and its migrations per run
    (seconds each on MariaDB)."""
    with temporary_database(database_url) as url:
        text = url.render_as_string(hide_password=False)
        engine = crmcore_sql.create_engine(text)
        crmcore_sql.migrate(engine)
        engine.dispose()
        yield text


def _demo_book(book_url: str) -> Engine:
    """The module's database emptied (ids left out of every comparison, the series numbered
    anew), with the 30 demo tenants."""
    from crmcore_sql.testing import empty_tables

    engine = crmcore_sql.create_engine(book_url)
    empty_tables(engine)
    engine.dispose()
    return demo_tenants(book_url, 30)


def _bill_months(book_url: str, before_each: Callable[[Engine, Period], None]) -> list[Any]:
    engine = _demo_book(book_url)
    try:
        for period in MONTHS:
            before_each(engine, period)
            bill_period(engine, period)
        return _issued(engine)
    finally:
        engine.dispose()


def _forget_checkpoints(engine: Engine, _period: Period) -> None:
    with engine.begin() as connection:
        connection.execute(delete(billing_checkpoints))


def _count_checkpoints(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(connection.execute(select(billing_checkpoints.c.tenant_id)).all())


def test_checkpoints_change_no_invoice_BILL_6(book_url: str) -> None:
    kept: list[int] = []

    def keep(engine: Engine, period: Period) -> None:
        kept.append(_count_checkpoints(engine))

    with_checkpoints = _bill_months(book_url, keep)
    without = _bill_months(book_url, _forget_checkpoints)
    assert with_checkpoints == without
    assert len(without) > 100
    assert kept[0] == 0 and all(count == 30 for count in kept[1:])  # written once, then kept


def test_a_late_event_replays_the_whole_history_PRO_2(book_url: str) -> None:
    """Seats bought on 30 January, recorded after January was billed: February's run must not
    start from January's checkpoint, and bills them as a replay of the history does."""

    def record_late(engine: Engine, period: Period) -> None:
        if period == MONTHS[1]:
            with crmcore_sql.unit_of_work(engine) as uow:
                version = uow.tenants.version("demo-07")
                late = SeatsAdded(datetime.combine(date(2026, 1, 30), time(18), PRAGUE), 4)
                uow.tenants.append("demo-07", [late], version)
                uow.commit()

    def record_late_without_checkpoints(engine: Engine, period: Period) -> None:
        _forget_checkpoints(engine, period)
        record_late(engine, period)

    late = _bill_months(book_url, record_late)
    assert late == _bill_months(book_url, record_late_without_checkpoints)
    february = [row for row in late if row[0] == "demo-07" and row[1] == "period:2026-02-01"]
    # the 6 seats of February (2 + the 4 late ones), then the 4 for 30-31 January in arrears
    assert [line[3] for line in february[0][5]] == [6, 4]


def test_a_corrupt_checkpoint_is_ignored_BILL_6(book_url: str) -> None:
    def corrupt(engine: Engine, period: Period) -> None:
        with engine.begin() as connection:
            connection.execute(update(billing_checkpoints).values(payload="{not json"))

    assert _bill_months(book_url, corrupt) == _bill_months(book_url, _forget_checkpoints)


def test_the_next_run_reads_only_the_events_after_the_checkpoints_BILL_6(
    book_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmcore_sql import jobs

    asked: list[dict[str, int]] = []
    original = jobs.read_events

    def spy(connection: Any, after: dict[str, int]) -> Any:
        asked.append(dict(after))
        return original(connection, after)

    monkeypatch.setattr(jobs, "read_events", spy)
    engine = _demo_book(book_url)
    try:
        bill_period(engine, MONTHS[0])
        assert all(version == 0 for after in asked for version in after.values())
        asked.clear()
        bill_period(engine, MONTHS[1])
    finally:
        engine.dispose()
    after = {tenant: version for batch in asked for tenant, version in batch.items()}
    assert len(after) == 30
    assert all(version >= 1 for version in after.values())  # each from its checkpoint
    assert after["demo-12"] == 2  # created and activated in January; SeatsAdded follows


def test_the_job_numbers_as_the_core_issues_in_tenant_order_BILL_6(book_url: str) -> None:
    """The job builds its invoices before it locks a series, under provisional numbers, and
    gives them their final numbers once the series are reserved: over six months, in batches
    of 7 tenants (so the numbers run on across batches), every invoice equals the one the
    core's ``issue`` gives when the same tenants are billed in id order with one numbering."""
    from decimal import Decimal

    from crmcore import billing
    from crmcore.presets import preset
    from crmcore_sql.demo import demo_catalog, demo_history

    policy = preset("raynet")
    terms = billing.BillingTerms(policy.currency, Decimal("0.23"))
    histories = {f"demo-{index:02d}": demo_history(index) for index in range(30)}
    numbering = billing.InMemoryInvoiceNumbering()
    issued: dict[str, set[str]] = {tenant_id: set() for tenant_id in histories}
    expected = []
    for period in MONTHS:
        for tenant_id in sorted(histories):
            due = billing.invoices_due(
                histories[tenant_id],
                demo_catalog(),
                policy,
                terms,
                period.last_day,
                already_issued=issued[tenant_id],
            )
            for invoice in billing.issue(due, numbering, tenant_id=tenant_id, policy=policy):
                issued[tenant_id].add(invoice.key)
                expected.append((invoice.series, invoice.number, tenant_id, invoice.key))
    engine = _demo_book(book_url)
    try:
        for period in MONTHS:
            bill_period(engine, period, batch=7)
        with engine.connect() as connection:
            stored = connection.execute(
                select(invoices.c.series, invoices.c.number, invoices.c.tenant_id, invoices.c.key)
            ).all()
    finally:
        engine.dispose()
    assert len(expected) > 100
    assert sorted(tuple(row) for row in stored) == sorted(expected)
