"""The concurrency and crash guarantees on SQLite, PostgreSQL and MariaDB (REC-6, SEAT-5,
BILL-6, crash safety). Workers are separate processes: the pools' are forked from a
multiprocessing fork server that imported ``crmcore_sql.workers`` once (a spawned worker
spends about a second importing it, 32 of them per engine), the crash test's is spawned (its
kill is timed against a spawned start-up)."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.errors import SeatError
from crmcore_sql import workers
from crmcore_sql.tables import invoice_lines, invoices, seat_counts
from crmcore_sql.testing import record_rows, scratch

SPAWN = multiprocessing.get_context("spawn")
# Each pool worker is still a process of its own with its own engine and connections: the fork
# server is a fresh interpreter (not a fork of this one), so a worker inherits nothing of it.
FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER.set_forkserver_preload(["crmcore_sql.workers"])


@pytest.fixture(scope="module")
def url(database_url: str) -> Iterator[str]:
    engine = crmcore_sql.create_engine(database_url)
    crmcore_sql.migrate(engine)
    scratch.create_all(engine)
    engine.dispose()
    yield database_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = crmcore_sql.create_engine(url)
    yield engine
    engine.dispose()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


POOL_TIMEOUT = 300  # seconds: a worker that dies (e.g. at import) fails the test, never hangs it


def _starmap(pool: Any, function: Callable[..., Any], arguments: list[Any]) -> list[Any]:
    return list(pool.starmap_async(function, arguments).get(timeout=POOL_TIMEOUT))


def test_rec6_eight_processes_never_exceed_the_limit(url: str, engine: Engine) -> None:
    """REC-6: 8 processes x 10 attempts x 3 records = 240 wanted, limit 100: at most 99
    (33 batches of 3) are created, and the counter equals the real row count."""
    tenant, limit = _unique("rec6"), 100
    with FORKSERVER.Pool(8) as pool:
        created = _starmap(pool, workers.try_create_records, [(url, tenant, 10, 3, limit)] * 8)
    with crmcore_sql.unit_of_work(engine) as uow:
        total = uow.records.total(tenant)
        rows = uow.connection.execute(
            select(func.count()).where(record_rows.c.tenant_id == tenant)
        ).scalar_one()
    assert sum(created) == total == rows
    assert total == 99  # 33 * 3 <= 100 < 34 * 3


@pytest.mark.parametrize(
    "worker", [workers.create_records_in_one_step, workers.create_records_alone]
)
def test_rec6_create_in_eight_processes_never_exceeds_the_limit(
    url: str, engine: Engine, worker: Callable[[str, str, int, int, int], int]
) -> None:
    """REC-6 with ``uow.records.create`` and with ``crmcore_sql.create_records`` (counter and
    rows in one statement on PostgreSQL): 8 processes x 10 attempts x 3 rows against a limit
    of 100: exactly 99 rows (33 batches of 3, REC-3), and the counter and the per-kind count
    equal the real row count."""
    tenant, limit = _unique("rec6-create"), 100
    with FORKSERVER.Pool(8) as pool:
        created = _starmap(pool, worker, [(url, tenant, 10, 3, limit)] * 8)
    with crmcore_sql.unit_of_work(engine) as uow:
        total = uow.records.total(tenant)
        by_kind = uow.records.by_kind(tenant)
        rows = uow.connection.execute(
            select(func.count()).where(record_rows.c.tenant_id == tenant)
        ).scalar_one()
    assert sum(created) == total == rows == by_kind["client"]
    assert total == 99  # 33 * 3 <= 100 < 34 * 3


def test_seat5_concurrent_assignments_never_exceed_seats(url: str, engine: Engine) -> None:
    """SEAT-5: 4 processes try to place 5 people each on 7 seats: exactly 7 get one."""
    tenant = _unique("seat5")
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.seats.set_bought(tenant, 7)
        uow.commit()
    groups = [[f"p{worker}-{n}" for n in range(5)] for worker in range(4)]
    with FORKSERVER.Pool(4) as pool:
        assigned = _starmap(pool, workers.assign_people, [(url, tenant, g) for g in groups])
    with crmcore_sql.unit_of_work(engine) as uow:
        assert sum(assigned) == len(uow.seats.assigned(tenant)) == 7


def _numbers(engine: Engine, series: str) -> list[int]:
    with engine.connect() as connection:
        found = connection.execute(
            select(invoices.c.number).where(invoices.c.series == series)
        ).scalars()
        return sorted(int(number.rsplit("/", 1)[-1]) for number in found)  # 2026/0007


def test_bill6_concurrent_runs_never_duplicate_or_leave_gaps(url: str, engine: Engine) -> None:
    """BILL-6: 4 processes bill the same 12 tenants: 12 invoices numbered 1..12."""
    prefix, series = _unique("bill6"), _unique("FV")
    tenants = [f"{prefix}-{n:02d}" for n in range(12)]
    with FORKSERVER.Pool(4) as pool:
        results = _starmap(
            pool,
            workers.issue_invoices,
            [
                (url, tenants[offset:] + tenants[:offset], "2026-03", series)
                for offset in (0, 3, 6, 9)
            ],
        )
    assert _numbers(engine, series) == list(range(1, 13))
    # every run saw the same number for each tenant (the one issued first)
    by_tenant = [
        dict(zip(tenants[o:] + tenants[:o], r, strict=True))
        for o, r in zip((0, 3, 6, 9), results, strict=True)
    ]
    assert all(mapping == by_tenant[0] for mapping in by_tenant)


def test_crash_during_billing_leaves_no_half_invoice(url: str, engine: Engine) -> None:
    """Crash safety: SIGKILL at a random moment, then re-run: same result as uninterrupted."""
    prefix = _unique("crash")
    tenants = [f"{prefix}-{n:03d}" for n in range(40)]
    killed_series, clean_series = _unique("K"), _unique("C")
    worker = SPAWN.Process(
        target=workers.issue_invoices, args=(url, tenants, "2026-03", killed_series)
    )
    worker.start()
    time.sleep(random.uniform(1.0, 2.5))  # spawn start-up is ~1 s: kill mid-run
    if worker.pid is not None:
        os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    with engine.connect() as connection:
        heads = (
            connection.execute(select(invoices.c.id).where(invoices.c.series == killed_series))
            .scalars()
            .all()
        )
        for invoice_id in heads:  # no half-written invoice: every head has both lines
            lines = connection.execute(
                select(func.count()).where(invoice_lines.c.invoice_id == invoice_id)
            ).scalar_one()
            assert lines == 2
    partial = len(heads)
    rerun = workers.issue_invoices(url, tenants, "2026-03", killed_series)
    clean = workers.issue_invoices(url, [t + "-c" for t in tenants], "2026-03", clean_series)
    assert rerun == clean == [f"2026/{n:04d}" for n in range(1, 41)]  # BILL-6 template
    assert _numbers(engine, killed_series) == list(range(1, 41))
    assert 0 <= partial <= 40


def test_seat2_two_units_of_work_assigning_one_person_count_one_seat(
    url: str, engine: Engine
) -> None:
    """SEAT-2, SEAT-5: two units of work assign the same person at once. The first commits;
    the second waits for it, is refused (SEAT-2) without counting a seat, and goes on in the
    same unit of work: its next assignment and its commit work. 3 seats: anna by the first,
    jan by the second; used is 2, so the third seat is still free and 2 seats can be kept."""
    tenant = _unique("seat2")
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.seats.set_bought(tenant, 3)
        uow.commit()
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            with crmcore_sql.unit_of_work(engine) as uow:
                try:
                    uow.seats.assign(tenant, "anna")
                except SeatError as exc:
                    outcome["refused"] = exc.rule
                uow.seats.assign(tenant, "jan")
                uow.commit()
        except Exception as exc:  # reported to the test below
            outcome["error"] = exc

    with crmcore_sql.unit_of_work(engine) as first:
        first.seats.assign(tenant, "anna")
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)  # the second now waits for the first's lock
        first.commit()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome
    assert outcome["refused"] == "SEAT-2"
    with crmcore_sql.unit_of_work(engine) as uow:
        assert uow.seats.assigned(tenant) == {"anna", "jan"}
        used = uow.connection.execute(
            select(seat_counts.c.used).where(seat_counts.c.tenant_id == tenant)
        ).scalar_one()
        assert used == 2
        uow.seats.assign(tenant, "ewa")  # the third seat
        with pytest.raises(SeatError):
            uow.seats.assign(tenant, "piotr")


def test_rec6_creating_and_deleting_at_once_never_deadlocks(url: str, engine: Engine) -> None:
    """REC-6: 2 threads create (3 rows at a time, against a limit of 10,000; one in units of
    work, one with ``create_records``) while 2 threads delete (1 at a time) for 3 s, starting
    from 10,000 contacts. Creation and deletion lock the counter rows in one order, so no call
    deadlocks (no ConcurrencyError); every refusal reports a total the +3 would exceed and
    every allowance one within the limit; the final total is the model's: 10,000 + 3 x the
    allowed creations - the deletions."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: no row locks to order")
    tenant, limit, batch = _unique("rec6-del"), 10_000, 3
    with crmcore_sql.unit_of_work(engine) as uow:
        assert uow.records.try_create(tenant, "client", limit, limit=None).allowed
        uow.commit()
    rows = [{"tenant_id": tenant, "kind": "contact"}] * batch
    deadline = time.monotonic() + 3.0
    lock = threading.Lock()
    allowed: list[int] = []
    refused: list[int] = []
    deleted: list[int] = []
    failures: list[BaseException] = []

    def create(in_unit_of_work: bool) -> None:
        while time.monotonic() < deadline:
            try:
                if in_unit_of_work:
                    with crmcore_sql.unit_of_work(engine) as uow:
                        decision = uow.records.create(tenant, "client", limit, record_rows, rows)
                        uow.commit()
                else:
                    decision = crmcore_sql.create_records(
                        engine, tenant, "client", limit, record_rows, rows
                    )
            except Exception as exc:
                failures.append(exc)
                return
            with lock:
                (allowed if decision.allowed else refused).append(decision.total)

    def delete() -> None:
        while time.monotonic() < deadline:
            try:
                with crmcore_sql.unit_of_work(engine) as uow:
                    uow.records.delete(tenant, "client", 1)
                    uow.commit()
            except Exception as exc:
                failures.append(exc)
                return
            with lock:
                deleted.append(1)

    threads = [
        threading.Thread(target=create, args=(True,)),
        threading.Thread(target=create, args=(False,)),
        threading.Thread(target=delete),
        threading.Thread(target=delete),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert deleted and allowed, (len(deleted), len(allowed), len(refused))
    assert all(total <= limit for total in allowed)
    assert all(total + batch > limit for total in refused), sorted(refused)[:5]
    with crmcore_sql.unit_of_work(engine) as uow:
        expected = limit + batch * len(allowed) - len(deleted)
        assert uow.records.total(tenant) == expected
        assert uow.records.by_kind(tenant) == {"client": expected}
