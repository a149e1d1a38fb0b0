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
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.errors import ConcurrencyError
from crmcore_sql.tables import seat_counts
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
    """Return once the server reports ``session`` waiting for a row lock."""
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
            if monitor.execute(query, {"id": session}).scalar():
                return
            monitor.rollback()
            time.sleep(0.02)
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


def _go_on_after(outcome: dict[str, Any], uow: SqlUnitOfWork, tenant: str, person: str) -> None:
    """What a caller that takes a ConcurrencyError as "retry" does: it goes on in the same
    unit of work (assigns ``person``) and commits; every outcome is recorded."""
    try:
        uow.seats.assign(tenant, person)
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
    a_assigned, b_waits = threading.Event(), threading.Event()
    sessions: dict[str, int] = {}
    outcomes: dict[str, dict[str, Any]] = {"A": {}, "B": {}}
    failures: list[BaseException] = []

    def unit_a() -> None:
        outcome = outcomes["A"]
        with crmcore_sql.unit_of_work(engine) as uow:
            uow.seats.assign(tenant, "a")
            a_assigned.set()
            assert b_waits.wait(WAIT)
            try:
                uow.seats.unassign(tenant, "b")
            except ConcurrencyError as exc:
                outcome["lost"] = exc
                _go_on_after(outcome, uow, tenant, "c-a")
                return
            uow.commit()
            outcome["commit"] = "ok"

    def unit_b() -> None:
        outcome = outcomes["B"]
        with crmcore_sql.unit_of_work(engine) as uow:
            assert uow.records.try_create(tenant, "client", 1, limit=None).allowed
            sessions["B"] = _session_id(uow)
            assert a_assigned.wait(WAIT)
            try:
                uow.seats.unassign(tenant, "b")
            except ConcurrencyError as exc:
                outcome["lost"] = exc
                _go_on_after(outcome, uow, tenant, "c-b")
                return
            uow.commit()
            outcome["commit"] = "ok"

    threads = [_run(unit_a, failures)]
    assert a_assigned.wait(WAIT)
    threads.append(_run(unit_b, failures))
    deadline = time.monotonic() + WAIT
    while "B" not in sessions and time.monotonic() < deadline:
        time.sleep(0.01)
    _wait_until_waiting_for_a_lock(engine, sessions["B"])  # B holds "b", waits for the counter
    b_waits.set()  # A now asks for "b": a deadlock
    for thread in threads:
        thread.join(timeout=WAIT * 2)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    losers = [name for name, outcome in outcomes.items() if "lost" in outcome]
    assert len(losers) == 1, outcomes
    loser, winner = losers[0], "B" if losers[0] == "A" else "A"
    assert outcomes[winner]["commit"] == "ok"
    assigned, used, records = _seats(engine, tenant)
    assert used == len(assigned)  # SEAT-5: the counter is the assignments
    earlier_work_stored = "a" in assigned if loser == "A" else records == 1
    later = "c-a" if loser == "A" else "c-b"
    outcome = outcomes[loser]
    if engine.dialect.name == "mysql":
        for step in ("lost", "later call", "commit"):
            error = outcome[step]
            assert isinstance(error, ConcurrencyError), (step, outcome)
            assert error.field == "uow", error
            assert "retry the whole unit of work" in str(error), error
        assert outcome["rolled back"] is True
        assert not earlier_work_stored and later not in assigned, (assigned, records)
    else:
        assert outcome["later call"] == outcome["commit"] == "ok", outcome
        assert earlier_work_stored and later in assigned, (assigned, records)
    # whatever the engine: the winner's work is stored, and "b" is unassigned
    assert ("a" in assigned) if winner == "A" else records == 1, (assigned, records)
    assert "b" not in assigned
