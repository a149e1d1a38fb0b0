"""A unit of work whose transaction the server ended refuses to go on (issue 13).

On MariaDB/MySQL a statement that loses a deadlock makes InnoDB roll back the WHOLE
transaction, savepoints included. A caller that took the ``ConcurrencyError`` as "retry this
operation" and went on in the same unit of work used to commit only its later work: the
earlier work was lost while the commit said it was stored. Now the unit of work is poisoned:
every later repository call and ``commit()`` raise ``ConcurrencyError`` (``field == "uow"``,
retry the whole unit of work), and ``rollback()`` and leaving ``with`` still work. On
PostgreSQL a deadlock inside a repository operation's savepoint only aborts that savepoint,
so the unit of work goes on with its earlier work (SEAT-2, SEAT-5, REC-6 steps as before).

The deadlocks are deterministic: two units of work in threads lock rows in a crossed order,
and the second lock is requested only once the server reports the other one waiting.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

import crmcore_sql
from crmcore.errors import ConcurrencyError, StorageError, ValidationError
from crmcore.vendors import vendor_from_preset
from crmcore_sql.tables import invoice_series, seat_counts
from crmcore_sql.unit_of_work import SqlUnitOfWork

WAIT = 30.0  # seconds: a step that does not happen fails the test, never hangs it


@pytest.fixture(scope="module")
def url(database_url: str) -> Iterator[str]:
    engine = crmcore_sql.create_engine(database_url)
    crmcore_sql.migrate(engine)
    engine.dispose()
    yield database_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = crmcore_sql.create_engine(url)
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: no row locks, no deadlock")
    yield engine
    engine.dispose()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _session_id(uow: SqlUnitOfWork) -> int:
    function = (
        "pg_backend_pid()" if uow.connection.dialect.name == "postgresql" else "CONNECTION_ID()"
    )
    return int(uow.connection.execute(text(f"SELECT {function}")).scalar_one())


def _wait_until_waiting_for_a_lock(engine: Engine, session: int) -> None:
    """Return once the server reports ``session`` waiting for a row lock. MariaDB refreshes
    its ``INNODB_TRX`` table only when nobody read it for 0.1 s: poll more slowly than that."""
    if engine.dialect.name == "postgresql":
        query = text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :id")
    else:
        query = text(
            "SELECT trx_state = 'LOCK WAIT' FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = :id"
        )
    deadline = time.monotonic() + WAIT
    with engine.connect() as monitor:
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if monitor.execute(query, {"id": session}).scalar():
                return
            monitor.rollback()
    raise AssertionError(f"session {session} never waited for a lock")


def _run(target: Callable[[], None], failures: list[BaseException]) -> threading.Thread:
    def guarded() -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    thread = threading.Thread(target=guarded)
    thread.start()
    return thread


def _seats(engine: Engine, tenant: str) -> tuple[frozenset[str], int, int]:
    """The tenant's assigned people, its ``used`` counter and its record total."""
    with crmcore_sql.unit_of_work(engine) as uow:
        used = uow.connection.execute(
            select(seat_counts.c.used).where(seat_counts.c.tenant_id == tenant)
        ).scalar_one()
        return uow.seats.assigned(tenant), int(used), uow.records.total(tenant)


Step = Callable[[SqlUnitOfWork], object]


def _crossed_deadlock(
    engine: Engine, first_a: Step, first_b: Step, second: dict[str, Step], go_on: dict[str, Step]
) -> tuple[str, dict[str, dict[str, Any]]]:
    """Two units of work in threads: A runs ``first_a``, then B ``first_b`` and ``second["B"]``
    (which waits for a lock A holds); once the server reports B waiting, A runs ``second["A"]``
    (which needs a lock B holds): a deadlock, one of them loses. Like a caller that takes the
    ``ConcurrencyError`` for "retry", the loser goes on in the same unit of work
    (``go_on[name]``) and commits; the winner commits. The loser's name, and every outcome."""
    a_first_done, a_may_go_on = threading.Event(), threading.Event()
    sessions: dict[str, int] = {}
    outcomes: dict[str, dict[str, Any]] = {"A": {}, "B": {}}
    failures: list[BaseException] = []

    def unit(name: str, first: Step) -> None:
        outcome = outcomes[name]
        with crmcore_sql.unit_of_work(engine) as uow:
            first(uow)
            if name == "A":
                a_first_done.set()
                assert a_may_go_on.wait(WAIT)
            else:
                sessions["B"] = _session_id(uow)
            try:
                second[name](uow)
            except ConcurrencyError as exc:
                outcome["lost"] = exc
                _go_on_after(outcome, uow, go_on[name])
                return
            uow.commit()
            outcome["commit"] = "ok"

    threads = [_run(lambda: unit("A", first_a), failures)]
    assert a_first_done.wait(WAIT)
    threads.append(_run(lambda: unit("B", first_b), failures))
    deadline = time.monotonic() + WAIT
    while "B" not in sessions and time.monotonic() < deadline and not failures:
        time.sleep(0.01)
    assert failures == []
    _wait_until_waiting_for_a_lock(engine, sessions["B"])
    a_may_go_on.set()  # A now asks for what B holds: a deadlock
    for thread in threads:
        thread.join(timeout=WAIT * 2)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    losers = [name for name, outcome in outcomes.items() if "lost" in outcome]
    assert len(losers) == 1, outcomes
    winner = "B" if losers[0] == "A" else "A"
    assert outcomes[winner]["commit"] == "ok", outcomes
    return losers[0], outcomes


def _go_on_after(outcome: dict[str, Any], uow: SqlUnitOfWork, later: Step) -> None:
    """What a caller that takes a ConcurrencyError for "retry" does: it goes on in the same
    unit of work (``later``) and commits; every outcome is recorded."""
    try:
        later(uow)
        outcome["later call"] = "ok"
    except ConcurrencyError as exc:
        outcome["later call"] = exc
    try:
        uow.commit()
        outcome["commit"] = "ok"
    except ConcurrencyError as exc:
        outcome["commit"] = exc
        uow.rollback()  # still works
        outcome["rolled back"] = True


def _assert_refused_to_go_on(outcome: dict[str, Any]) -> None:
    """The server rolled the whole transaction back: the failed call, the later call and the
    commit raised ``ConcurrencyError`` for the unit of work, and the rollback worked."""
    for step in ("lost", "later call", "commit"):
        error = outcome[step]
        assert isinstance(error, ConcurrencyError), (step, outcome)
        assert error.field == "uow", error
        assert "retry the whole unit of work" in str(error), error
    assert outcome["rolled back"] is True


def test_seat2_a_deadlock_inside_a_unit_of_work_never_commits_half_of_it(engine: Engine) -> None:
    """SEAT-2, SEAT-5: A assigns "a" (the counter row locked), B counts a record (REC-6) and
    unassigns "b" (the row of "b" locked, then waits for the counter), A unassigns "b":
    deadlock, one of them loses. The loser goes on (assigns another person) and commits.

    MariaDB/MySQL roll the loser's whole transaction back: its later call and its commit raise
    ``ConcurrencyError`` (field ``uow``), its rollback works, and nothing of it is stored
    (before the fix the commit succeeded with only the later assignment). PostgreSQL rolls
    back to the savepoint of the operation: the loser's earlier work, its later assignment
    and its commit all stand. Either way a commit that succeeds stored all of its unit of
    work, and the counter equals the assignments (SEAT-5)."""
    tenant = _unique("lost")
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.seats.set_bought(tenant, 5)
        uow.seats.assign(tenant, "b")
        uow.commit()
    loser, outcomes = _crossed_deadlock(
        engine,
        first_a=lambda uow: uow.seats.assign(tenant, "a"),
        first_b=lambda uow: uow.records.try_create(tenant, "client", 1, limit=None),
        second={
            "A": lambda uow: uow.seats.unassign(tenant, "b"),
            "B": lambda uow: uow.seats.unassign(tenant, "b"),
        },
        go_on={
            "A": lambda uow: uow.seats.assign(tenant, "c-a"),
            "B": lambda uow: uow.seats.assign(tenant, "c-b"),
        },
    )
    assigned, used, records = _seats(engine, tenant)
    assert used == len(assigned)  # SEAT-5: the counter is the assignments
    earlier_work_stored = "a" in assigned if loser == "A" else records == 1
    later = "c-a" if loser == "A" else "c-b"
    outcome = outcomes[loser]
    if engine.dialect.name == "mysql":
        _assert_refused_to_go_on(outcome)
        assert not earlier_work_stored and later not in assigned, (assigned, records)
    else:
        assert outcome["later call"] == outcome["commit"] == "ok", outcome
        assert earlier_work_stored and later in assigned, (assigned, records)
    # whatever the engine: the winner's work is stored, and "b" is unassigned
    assert ("a" in assigned) if loser == "B" else records == 1, (assigned, records)
    assert "b" not in assigned


def _last_numbers(engine: Engine, *series: str) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(invoice_series.c.series, invoice_series.c.last_number).where(
                invoice_series.c.series.in_(series)
            )
        ).all()
    return {row.series: int(row.last_number) for row in rows}


def test_bill6_a_deadlock_between_numbering_series_never_commits_half_of_it(
    engine: Engine,
) -> None:
    """BILL-6: A numbers in series S1, B in S2; then B in S1 (waits for A) and A in S2: a
    deadlock. The loser goes on (numbers in its own series) and commits. On MariaDB/MySQL the
    loser is refused from the deadlock on and nothing of it is stored: each series gave out
    exactly the winner's number 1, no gap. On PostgreSQL (numbering is a savepoint step now)
    the loser keeps its earlier number and goes on (before, its transaction was aborted and
    its commit silently rolled back)."""
    prefix = _unique("FV")
    s1, s2, own = f"{prefix}-1", f"{prefix}-2", f"{prefix}-own"
    loser, outcomes = _crossed_deadlock(
        engine,
        first_a=lambda uow: uow.invoices.next_number(s1),
        first_b=lambda uow: uow.invoices.next_number(s2),
        second={
            "A": lambda uow: uow.invoices.next_number(s2),
            "B": lambda uow: uow.invoices.next_number(s1),
        },
        go_on={
            "A": lambda uow: uow.invoices.next_number(own),
            "B": lambda uow: uow.invoices.next_number(own),
        },
    )
    numbers = _last_numbers(engine, s1, s2, own)
    if engine.dialect.name == "mysql":
        _assert_refused_to_go_on(outcomes[loser])
        assert numbers == {s1: 1, s2: 1}
    else:
        assert outcomes[loser]["later call"] == outcomes[loser]["commit"] == "ok"
        earlier, refused = (s1, s2) if loser == "A" else (s2, s1)
        # the loser's earlier number 1 stands, the winner took 2 after it; the refused
        # numbering gave out nothing, so the winner's is 1 there
        assert numbers == {earlier: 2, refused: 1, own: 1}


@pytest.fixture
def any_engine(url: str) -> Iterator[Engine]:
    engine = crmcore_sql.create_engine(url)
    yield engine
    engine.dispose()


def _bought(engine: Engine, tenant: str, seats: int, *people: str) -> None:
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.seats.set_bought(tenant, seats)
        for person in people:
            uow.seats.assign(tenant, person)
        uow.commit()


def test_seat5_a_lock_wait_timeout_undoes_only_the_operation(engine: Engine) -> None:
    """SEAT-5: A holds the counter row (assigned "a"); B counted a record (REC-6), then its
    assignment waits for the counter until the lock wait times out (MariaDB error 1205,
    PostgreSQL ``lock_timeout``). Only the operation is undone: B's ``ConcurrencyError``
    means "retry the operation" (no ``uow`` field), B goes on, counts again and commits its
    two records; "x" is not assigned. (On a MariaDB server started with
    ``innodb_rollback_on_timeout`` the whole transaction is rolled back: then B is refused
    to go on, like after a deadlock.)"""
    tenant = _unique("timeout")
    _bought(engine, tenant, 5)
    with crmcore_sql.unit_of_work(engine) as a, crmcore_sql.unit_of_work(engine) as b:
        a.seats.assign(tenant, "a")
        assert b.records.try_create(tenant, "client", 1, limit=None).allowed
        if engine.dialect.name == "postgresql":
            b.connection.execute(text("SET LOCAL lock_timeout = '300ms'"))
            whole = False
        else:
            b.connection.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
            whole = bool(b.connection.execute(text("SELECT @@innodb_rollback_on_timeout")).scalar())
        with pytest.raises(ConcurrencyError) as timed_out:
            b.seats.assign(tenant, "x")
        if whole:
            assert timed_out.value.field == "uow"
            with pytest.raises(ConcurrencyError):
                b.commit()
            return
        assert timed_out.value.field is None, timed_out.value
        assert b.records.try_create(tenant, "client", 1, limit=None).allowed
        b.commit()
        a.commit()
    assigned, used, records = _seats(engine, tenant)
    assert (assigned, used, records) == ({"a"}, 1, 2)


def _kill(engine: Engine, session: int) -> None:
    with engine.connect() as monitor:
        if engine.dialect.name == "postgresql":
            monitor.execute(text("SELECT pg_terminate_backend(:id)"), {"id": session})
        else:
            monitor.execute(text(f"KILL {int(session)}"))
        monitor.commit()


def test_seat2_a_lost_connection_refuses_the_unit_of_work_until_rolled_back(
    engine: Engine,
) -> None:
    """SEAT-2: the unit of work assigned "a", then its connection is killed on the server.
    The next call, every later call (a read too), ``connection`` and ``commit()`` raise
    ``ConcurrencyError`` for the unit of work; ``rollback()`` works and starts afresh: the
    unit of work then assigns "c" and commits, and only "c" is stored."""
    tenant = _unique("killed")
    _bought(engine, tenant, 5)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.seats.assign(tenant, "a")
        _kill(engine, _session_id(uow))
        calls: list[Callable[[], object]] = [
            lambda: uow.seats.assign(tenant, "b"),
            lambda: uow.seats.assigned(tenant),
            lambda: uow.connection,
            uow.commit,
        ]
        for call in calls:
            with pytest.raises(ConcurrencyError) as refused:
                call()
            assert refused.value.field == "uow", refused.value
            assert "connection lost" in str(refused.value), refused.value
        uow.rollback()
        uow.seats.assign(tenant, "c")
        uow.commit()
    assigned, used, _ = _seats(engine, tenant)
    assert (assigned, used) == ({"c"}, 1)


def test_seat2_a_failed_statement_of_the_caller_on_postgresql_refuses_the_commit(
    any_engine: Engine,
) -> None:
    """SEAT-2: the unit of work assigned "a", then the caller's own statement on
    ``uow.connection`` fails (no such table). PostgreSQL aborted the transaction: the next
    repository call and ``commit()`` raise ``ConcurrencyError`` for the unit of work and
    nothing is stored (before, that ``COMMIT`` silently rolled back and reported success).
    SQLite and MariaDB/MySQL undo only the failed statement: the unit of work goes on, "b"
    is assigned, and both assignments are committed, as before."""
    engine = any_engine
    tenant = _unique("aborted")
    _bought(engine, tenant, 5)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.seats.assign(tenant, "a")
        with pytest.raises(DBAPIError):
            uow.connection.execute(text("SELECT * FROM no_such_table_at_all"))
        if engine.dialect.name == "postgresql":
            for call in (lambda: uow.seats.assign(tenant, "b"), uow.commit):
                with pytest.raises(ConcurrencyError) as refused:
                    call()
                assert refused.value.field == "uow", refused.value
            expected: set[str] = set()
        else:
            uow.seats.assign(tenant, "b")
            uow.commit()
            expected = {"a", "b"}
    assigned, used, _ = _seats(engine, tenant)
    assert (assigned, used) == (expected, len(expected))


def test_notice2_a_vendor_version_lost_to_another_writer_leaves_the_unit_of_work_usable(
    engine: Engine,
) -> None:
    """NOTICE-2: A stores the first version of a new vendor (not committed yet); B, after work
    of its own (SEAT-1 seats bought), stores a version of the same vendor on the same day: it
    waits for A, and once A commits it is refused: ``ConcurrencyError`` (``effective``) on
    PostgreSQL, whose insert lost the race, NOTICE-2 on MariaDB, whose locking read waited and
    then saw A's version.
    ``vendors.add`` is one step (a savepoint), so B goes on and commits its own work on every
    engine (before, on PostgreSQL the refused insert aborted B's transaction: its next call
    failed and its commit silently rolled back)."""
    name, tenant = _unique("vendor"), _unique("vendors")
    first = vendor_from_preset("raynet", name=name, effective=date(2026, 1, 1))
    outcome: dict[str, Any] = {}
    failures: list[BaseException] = []
    with crmcore_sql.unit_of_work(engine) as a:
        a.vendors.add(first)
        with crmcore_sql.unit_of_work(engine) as b:
            b.seats.set_bought(tenant, 3)
            session = _session_id(b)

            def add_same_day() -> None:
                try:
                    b.vendors.add(first)
                except (ConcurrencyError, ValidationError) as exc:
                    outcome["refused"] = exc

            thread = _run(add_same_day, failures)
            _wait_until_waiting_for_a_lock(engine, session)
            a.commit()
            thread.join(timeout=WAIT)
            assert not thread.is_alive() and failures == [], failures
            refused = outcome["refused"]
            assert refused.field == "effective", outcome
            assert isinstance(refused, ConcurrencyError) or refused.rule == "NOTICE-2", outcome
            b.seats.assign(tenant, "anna")
            b.commit()
    with crmcore_sql.unit_of_work(engine) as uow:
        assert uow.vendors.versions(name) == [first]
        assert uow.seats.bought(tenant) == 3
        assert uow.seats.assigned(tenant) == {"anna"}


def test_seat2_after_a_failed_commit_the_unit_of_work_refuses_to_go_on(engine: Engine) -> None:
    """SEAT-2: the unit of work assigned "a", then its connection is killed and ``commit()``
    fails (``StorageError``: whether the server committed is unknown). The transaction is over
    either way, so the next call raises ``ConcurrencyError`` for the unit of work instead of
    starting a new transaction unnoticed; after ``rollback()`` it starts afresh."""
    tenant = _unique("commit")
    _bought(engine, tenant, 5)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.seats.assign(tenant, "a")
        _kill(engine, _session_id(uow))
        with pytest.raises(StorageError):
            uow.commit()
        with pytest.raises(ConcurrencyError) as refused:
            uow.seats.assign(tenant, "b")
        assert refused.value.field == "uow", refused.value
        assert "COMMIT failed" in str(refused.value), refused.value
        uow.rollback()
        uow.seats.assign(tenant, "c")
        uow.commit()
    assigned, used, _ = _seats(engine, tenant)
    assert (assigned, used) == ({"c"}, 1)
