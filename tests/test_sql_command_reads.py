"""What a command reads from SQL storage (issue 14, command latency), on every engine: the
tenant's row once, with what it needs next (crmcore_sql.reads), its history's events decoded
once per process yet each a distinct object within a history, its vendor's documents parsed
once per process; and whatever another process or the transaction itself wrote, read right.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy.engine import Engine

from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.errors import ConcurrencyError, ValidationError
from crmcore.events import Activated, Event, SeatsAdded
from crmcore.invoices import LineKind
from crmcore.testing.storage_batch import _document
from crmcore.vendors import Vendor, vendor_from_preset
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


def _statements(engine: Engine) -> tuple[list[str], Callable[[], None]]:
    """The statements ``engine`` runs from now on, and how to stop listening."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.split()))

    sql_event.listen(engine, "before_cursor_execute", seen)
    return statements, lambda: sql_event.remove(engine, "before_cursor_execute", seen)


def _reads(statements: list[str], table: str) -> int:
    return sum(s.startswith("SELECT") and f" FROM {table} " in f"{s} " for s in statements)


def test_a_command_reads_one_row_before_it_writes(engine: Engine) -> None:
    """``record`` reads its tenant's row once, with its vendor's stamp, its invoice issued last
    and its last event (crmcore_sql.reads); the history, the vendor's versions and the events
    its last commands committed are known, so no other read comes before the append, whose
    version and preceding event are those just read."""
    import crmcore_sql

    _tenant(engine)
    statements, stop = _statements(engine)
    try:
        done = record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(START + timedelta(3), 1))
    finally:
        stop()
    assert done.version == 3
    tenant_rows = [s for s in statements if s.startswith("SELECT tenants.")]
    assert len(tenant_rows) == 1 and " FROM vendors " in tenant_rows[0]
    before_append = statements[: next(i for i, s in enumerate(statements) if "UPDATE" in s)]
    assert [s for s in before_append if s.startswith("SELECT")] == tenant_rows
    assert sum(s.startswith("INSERT INTO tenant_events") for s in statements) == 1
    with crmcore_sql.unit_of_work(engine) as uow:
        assert uow.tenants.history("t1")[-1] == SeatsAdded(START + timedelta(3), 1)


def _other_process(engine: Engine) -> Engine:
    """A second engine on the same database: another process, with caches of its own."""
    import crmcore_sql

    return crmcore_sql.create_engine(engine.url.render_as_string(hide_password=False))


def test_what_another_process_commits_is_read_by_the_next_command(engine: Engine) -> None:
    """NOTICE-2, BILL-6, issue 14: after another process appended an event, stored a new
    version of the vendor and issued an invoice, the next command on this engine (whose
    caches knew the tenant and the vendor) reads all three: its version counts the other
    event, its vendor's versions are the two stored, and a silent entry before the invoice is
    refused (BILL-6 names the invoice)."""
    import crmcore_sql

    _tenant(engine)
    other = _other_process(engine)
    try:
        record(crmcore_sql.unit_of_work(other), "t1", SeatsAdded(START + timedelta(4), 1))
        newer = vendor_from_preset(
            "raynet",
            name="acme",
            effective=date(2026, 3, 1),
            catalog=Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "600.00")])]),
        )
        save_vendor(crmcore_sql.unit_of_work(other), newer)
        with crmcore_sql.unit_of_work(other) as uow:
            uow.invoices.add(_document("t1", "k1", date(2026, 1, 20), "500.00", "FV/1"))
            uow.commit()
    finally:
        other.dispose()
    with crmcore_sql.unit_of_work(engine) as uow:
        history = uow.tenants.history("t1")
        assert len(history) == 3 and history[-1] == SeatsAdded(START + timedelta(4), 1)
        assert [v.effective for v in uow.vendors.versions("acme")] == [
            date(2026, 1, 1),
            date(2026, 3, 1),
        ]
        assert uow.invoices.last_issued("t1") == ("FV/1", date(2026, 1, 20))
    with pytest.raises(ValidationError, match=r"invoice FV/1 issued on 2026-01-20") as refused:
        record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(START + timedelta(10), 1))
    assert refused.value.rule == "BILL-6"
    done = record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(START + timedelta(16), 1))
    assert done.version == 4


def test_what_the_transaction_writes_itself_is_read_again(engine: Engine) -> None:
    """An invoice or a vendor version written after the tenant's row was read is what the
    same transaction's later calls answer; rolled back, no engine cache keeps it."""
    import crmcore_sql

    _tenant(engine)
    newer = vendor_from_preset("raynet", name="acme", effective=date(2026, 6, 1))
    with crmcore_sql.unit_of_work(engine) as uow:
        history = uow.tenants.history("t1")
        assert uow.invoices.last_issued("t1") is None
        uow.invoices.add(_document("t1", "k1", date(2026, 1, 20), "500.00", "FV/1"))
        assert uow.invoices.last_issued("t1") == ("FV/1", date(2026, 1, 20))
        assert len(uow.vendors.versions("acme")) == 1
        uow.vendors.add(newer)
        assert len(uow.vendors.versions("acme")) == 2
        uow.tenants.append("t1", [SeatsAdded(START + timedelta(3), 1)], len(history))
        assert len(uow.tenants.history("t1")) == len(history) + 1
    for _ in range(2):  # rolled back: the next transactions read what is stored
        with crmcore_sql.unit_of_work(engine) as uow:
            assert uow.tenants.history("t1") == history
            assert uow.invoices.last_issued("t1") is None
            assert len(uow.vendors.versions("acme")) == 1


def test_an_append_rolled_back_to_a_savepoint_is_not_remembered(engine: Engine) -> None:
    """The caller's own savepoint around an append, rolled back, then a commit: the engine's
    cache may hold the longer history, but the next read checks the tenant's row and reads
    what is stored."""
    import crmcore_sql

    _tenant(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        history = uow.tenants.history("t1")
        savepoint = uow.connection.begin_nested()
        uow.tenants.append("t1", [SeatsAdded(START + timedelta(3), 1)], len(history))
        savepoint.rollback()
        uow.commit()
    for _ in range(2):
        with crmcore_sql.unit_of_work(engine) as uow:
            assert uow.tenants.history("t1") == history
    done = record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(START + timedelta(5), 2))
    assert done.version == len(history) + 1


@pytest.mark.parametrize("day", [4, -3], ids=["in order", "also out of order"])
def test_an_append_after_another_writer_is_still_refused(engine: Engine, day: int) -> None:
    """The append after the history takes its version and preceding event from that read; its
    update still finds another writer that committed in between: ``ConcurrencyError``, nothing
    written, and the unit of work usable for the retry. An event that is also before the last
    one read is refused for the stale version first, as in memory and without the history
    read, not with the order's ``ValidationError``."""
    import crmcore_sql

    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: the second waits for the first")
    _tenant(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        history = uow.tenants.history("t1")
        record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(START + timedelta(3), 1))
        with pytest.raises(ConcurrencyError, match="expected 2"):
            uow.tenants.append("t1", [SeatsAdded(START + timedelta(day), 1)], len(history))
        again = uow.tenants.history("t1")
        assert len(again) == 3
        assert uow.tenants.append("t1", [SeatsAdded(START + timedelta(4), 1)], 3) == 4
        uow.commit()
    with crmcore_sql.unit_of_work(engine) as uow:
        assert [getattr(e, "count", None) for e in uow.tenants.history("t1")[2:]] == [1, 1]


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


def _counts(history: tuple[Event, ...]) -> list[int | None]:
    return [getattr(event, "count", None) for event in history]


def _fresh_history(engine: Engine, tenant_id: str = "t1") -> tuple[Event, ...]:
    """The history as a process that never read it sees it (a new engine, no caches)."""
    import crmcore_sql

    fresh = _other_process(engine)
    try:
        with crmcore_sql.unit_of_work(fresh) as uow:
            return uow.tenants.history(tenant_id)
    finally:
        fresh.dispose()


@pytest.mark.parametrize("undo", ["savepoint", "connection"])
def test_an_append_the_caller_rolls_back_is_never_read(engine: Engine, undo: str) -> None:
    """PRO-3, issue 14: appends the caller undoes through the connection (rolled back to its
    own savepoint, or the whole transaction rolled back) are forgotten, even when what is
    appended and committed afterwards ends with an equal event: this engine reads and bills
    the stored history, as a process that never read it does (5 seats, not 10)."""
    import crmcore_sql

    _tenant(engine)
    end = SeatsAdded(START + timedelta(4), 1)
    with crmcore_sql.unit_of_work(engine) as uow:
        history = uow.tenants.history("t1")
        savepoint = uow.connection.begin_nested() if undo == "savepoint" else None
        uow.tenants.append("t1", [SeatsAdded(START + timedelta(3), 7), end], len(history))
        if savepoint is not None:
            savepoint.rollback()
        else:
            uow.connection.rollback()
        uow.tenants.append("t1", [SeatsAdded(START + timedelta(3), 2), end], len(history))
        uow.commit()
    stored = _fresh_history(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        assert _counts(uow.tenants.history("t1")) == _counts(stored)
    assert _counts(stored)[2:] == [2, 1]
    done = record(crmcore_sql.unit_of_work(engine), "t1", SeatsAdded(START + timedelta(5), 1))
    # stored: 1 + 2 + 1 = 4 seats, 5 with this one (with the undone 7 it would be 10):
    # PRO-3, 1 seat for 10..31 January: 500.00 x 22/31 = 354.84; February's invoice
    # 5 x 500.00 = 2500.00 replaces 4 x 500.00 = 2000.00
    charged = [(line.kind, line.seats, str(line.net.amount)) for line in done.charges]
    assert sorted(charged) == sorted(
        [(LineKind.SUBSCRIPTION, 5, "2500.00"), (LineKind.SEATS, 1, "354.84")]
    )
    assert [(line.seats, str(line.net.amount)) for line in done.replaced] == [(4, "2000.00")]


def test_one_event_object_twice_is_two_objects_of_the_history(engine: Engine) -> None:
    """SEAT-1: the same object appended twice (or added twice with a tenant) is stored twice,
    and the history read afterwards, from the engine's cache too, holds two distinct objects,
    none of them the caller's (evaluations tell events apart by identity)."""
    import crmcore_sql
    from crmcore.events import TenantCreated

    _tenant(engine)
    seat = SeatsAdded(START + timedelta(3), 1)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.tenants.append("t1", [seat, seat], len(uow.tenants.history("t1")))
        created = TenantCreated(START, "t2")
        uow.tenants.add("t2", "acme", [created, seat, seat])
        uow.commit()
    for tenant_id in ("t1", "t2"):
        with crmcore_sql.unit_of_work(engine) as uow:
            history = uow.tenants.history(tenant_id)
        assert history[-1] == history[-2] == seat
        assert history[-1] is not history[-2] and seat not in [id(e) for e in history]
        assert all(event is not seat for event in history)


def test_a_vendor_deleted_and_stored_again_is_read_again(engine: Engine) -> None:
    """NOTICE-2, issue 14: another process deletes the vendor's rows and stores it again with
    the same number of versions and the same day, at another price (500.00 → 900.00): this
    engine, which had the old versions in its cache, reads and charges the new one (each
    stored version has a token of its own, migration 0016)."""
    import crmcore_sql
    from crmcore_sql.tables_vendors import vendors

    _tenant(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.tenants.history("t1")
        assert _price(uow.vendors.versions("acme")) == "500.00"
    other = _other_process(engine)
    try:
        with other.begin() as connection:
            connection.execute(vendors.delete())
        dearer = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "900.00")])])
        again = vendor_from_preset(
            "raynet", name="acme", effective=date(2026, 1, 1), catalog=dearer
        )
        save_vendor(crmcore_sql.unit_of_work(other), again)
    finally:
        other.dispose()
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.tenants.history("t1")
        assert _price(uow.vendors.versions("acme")) == "900.00"


def _price(versions: list[Vendor]) -> str:
    return str(versions[-1].catalog.get("standard").price(Cycle.MONTHLY, "CZK").amount)


def test_the_latest_tenant_row_names_the_vendors_versions(engine: Engine) -> None:
    """Two tenants of one vendor read in one transaction, a version stored by another process
    in between: the versions are those the later row counts (two), not the earlier row's."""
    import crmcore_sql

    _tenant(engine)
    register_tenant(crmcore_sql.unit_of_work(engine), "t2", "acme", START)
    with crmcore_sql.unit_of_work(engine) as uow:  # the engine knows one version
        uow.tenants.history("t1")
        assert len(uow.vendors.versions("acme")) == 1
    other = _other_process(engine)
    try:
        with crmcore_sql.unit_of_work(engine) as uow:
            uow.tenants.history("t1")
            if engine.dialect.name != "sqlite":  # SQLite: the reader holds the write lock
                newer = vendor_from_preset("raynet", name="acme", effective=date(2026, 6, 1))
                save_vendor(crmcore_sql.unit_of_work(other), newer)
                uow.tenants.history("t2")
                assert len(uow.vendors.versions("acme")) == 2
    finally:
        other.dispose()


def test_a_lost_transaction_answers_nothing_from_what_it_read(engine: Engine) -> None:
    """Issue 13: once a failed statement aborted the PostgreSQL transaction, ``last_issued`` and
    ``versions`` raise ``ConcurrencyError`` as a statement would, not the answer read before."""
    from sqlalchemy import text

    import crmcore_sql

    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL aborts a transaction on a failed statement")
    _tenant(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.tenants.history("t1")
        with pytest.raises(Exception, match="invalid input syntax"):
            uow.connection.execute(text("SELECT CAST('x' AS INTEGER)"))
        with pytest.raises(ConcurrencyError):
            uow.invoices.last_issued("t1")
        with pytest.raises(ConcurrencyError):
            uow.vendors.versions("acme")
