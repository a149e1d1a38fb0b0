"""What a command reads from SQL storage (issue 14, command latency), on every engine: the
tenant's row once, its history's events decoded once per process yet each a distinct object
within a history, its vendor's documents parsed once per process.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event as sql_event
from sqlalchemy.engine import Engine

from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.events import Activated, SeatsAdded
from crmcore.vendors import vendor_from_preset
from stored_paths import emptied

PRAGUE = ZoneInfo("Europe/Prague")
START = datetime(2026, 1, 5, 9, tzinfo=PRAGUE)


def _tenant(engine: Engine) -> None:
    uow = emptied(engine)
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
    vendor = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1), catalog=plans)
    save_vendor(uow(), vendor)
    register_tenant(uow(), "t1", "acme", START)
    record(uow(), "t1", Activated(START + timedelta(days=1), "standard", seats=1))


def test_seat_1_the_same_event_twice_is_two_events_of_the_history(engine: Engine) -> None:
    """Two seats bought at the same instant store the same payload twice: the history read
    holds two equal events that are distinct objects (a refusal or a warning names its event
    by identity), however often it is read."""
    import crmcore_sql

    _tenant(engine)
    twice = START + timedelta(days=2)
    for _ in range(2):
        record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(twice, 1))
    for _ in range(2):
        with crmcore_sql.unit_of_work(engine) as uow:
            history = uow.tenants.history("t1")
        assert history[-1] == history[-2] and history[-1] is not history[-2]
        assert history[-1].count == 1 and len(history) == 4


def test_a_command_reads_its_tenant_row_once(engine: Engine) -> None:
    """``record`` takes the version from the history it read (the number of its events) and
    the vendor from the same row: one read of the tenant's row before the append's own."""
    import crmcore_sql

    _tenant(engine)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    sql_event.listen(engine, "before_cursor_execute", seen)
    try:
        done = record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(START + timedelta(3), 1))
    finally:
        sql_event.remove(engine, "before_cursor_execute", seen)
    assert done.version == 3
    tenant_rows = [s for s in statements if s.lstrip().startswith("SELECT tenants.")]
    assert len(tenant_rows) == 2  # the history's check, then the append's concurrency check


def test_a_vendor_document_is_parsed_once_and_read_alike(engine: Engine) -> None:
    import crmcore_sql

    _tenant(engine)
    reads = []
    for _ in range(2):
        with crmcore_sql.unit_of_work(engine) as uow:
            reads.append((uow.vendors.versions("acme"), uow.vendors.get("acme")))
    (first, latest), (again, latest_again) = reads
    assert first == again and latest == latest_again == first[-1]
    assert latest.catalog.get("standard").price(Cycle.MONTHLY, "CZK").amount == 500
