"""Daily billing runs killed and run at once (issue 15, "Done when"; BILL-6, PRO-3, PRO-4,
crash safety), on SQLite (a file), PostgreSQL and MariaDB.

The book and the daily driver are in ``daily_book.py``: 40 tenants (34 of a vendor stored as
data, 6 of a preset), monthly and annual plans, mid-month seats, upgrades, cancellations; each
day its events are recorded, then ``bill_up_to(day)`` runs (``crmcore bill --up-to DAY``), from
20 December 2025 to 24 January 2026: 62 invoices and 3 correction documents (BILL-6: seats
entered late) on 31 different days, in five series.

1. The driver runs in a child process killed with SIGKILL, one to three times in a row, at a
   point drawn by hypothesis: just before its nth database step of a kind (any statement or
   commit, a write, an insert of invoice heads or lines, a commit; a listener of the child's
   engine sends the signal), or after a drawn delay, from outside. After each kill the
   database holds a prefix of the uninterrupted run: every invoice stored is the
   uninterrupted run's, with all its lines and its number; no line without its invoice; each
   series numbered 1..n with no number reserved and unused; every billing mark, checkpoint
   and recorded day whole. The re-run then leaves exactly (every invoice and line, the
   numbers, the marks, the checkpoints, the events) what one uninterrupted run leaves in a
   fresh database.
2. 4 processes bill each of 13 days at once (batches of 4, so that they interleave; on
   SQLite they take turns, one writer at a time): the invoices are the single run's (numbers
   aside), each once, every series 1..n, every tenant marked. And on 7 days one of the 4 is
   killed at a drawn step: nothing half-written; the next run of the day bills the rest.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, select
from sqlalchemy.engine import Engine

import crmcore_sql
import daily_book  # tests/ is on the path (as for test_cli_storage): the children's code
from crmcore_sql.jobs import bill_up_to
from crmcore_sql.tables import (
    billing_checkpoints,
    billing_failures,
    billing_marks,
    invoice_lines,
    invoice_series,
    invoices,
    outbox_counter,
    outbox_events,
    tenant_events,
)
from crmcore_sql.testing import empty_tables, temporary_database

FORK = multiprocessing.get_context("fork")
WAIT = 300  # seconds: a child that hangs fails the test, never hangs it


def _rows(connection: Any, table: Table, *leave_out: str) -> list[dict[str, Any]]:
    columns = [column for column in table.c if column.name not in leave_out]
    return [dict(row._mapping) for row in connection.execute(select(*columns))]


@attrs.frozen(repr=False)
class State:
    """Everything the billing job writes, comparable across databases (row ids left out,
    lines attached to their invoice's tenant and key)."""

    invoices: dict[tuple[str, str], tuple[dict[str, Any], tuple[dict[str, Any], ...]]]
    orphan_lines: int
    series: dict[str, int]
    marks: frozenset[tuple[str, str]]
    checkpoints: dict[str, dict[str, Any]]
    failures: list[dict[str, Any]]
    events: dict[str, list[dict[str, Any]]]
    #: the events out (issue 15 section 4) without their ids, and whether the ids are
    #: 1..n with the counter at n (monotonic, gapless: commit order)
    outbox: tuple[tuple[Any, ...], ...] = ()
    outbox_ids_gapless: bool = True

    def __repr__(self) -> str:  # hypothesis prints the fixtures of a failing example
        return f"State({len(self.invoices)} invoices, {len(self.marks)} marks)"

    def numbers(self, series: str) -> list[int]:
        return sorted(
            int(head["number"].rsplit("/", 1)[-1])  # 2026/0007
            for head, _ in self.invoices.values()
            if head["series"] == series
        )


def _state(engine: Engine) -> State:
    with engine.connect() as connection:
        heads = {row["id"]: row for row in _rows(connection, invoices)}
        lines: dict[int, list[dict[str, Any]]] = {}
        orphans = 0
        for line in sorted(_rows(connection, invoice_lines, "id"), key=lambda r: r["position"]):
            invoice_id = line.pop("invoice_id")
            if invoice_id not in heads:
                orphans += 1
            lines.setdefault(invoice_id, []).append(line)
        found = {}
        for invoice_id, head in heads.items():
            del head["id"]
            found[(head["tenant_id"], head["key"])] = (head, tuple(lines.get(invoice_id, [])))
        assert len(found) == len(heads), "two invoices with one tenant and key"
        events: dict[str, list[dict[str, Any]]] = {}
        for event in sorted(
            _rows(connection, tenant_events, "id"), key=lambda r: (r["tenant_id"], r["version"])
        ):
            events.setdefault(event["tenant_id"], []).append(event)
        return State(
            invoices=found,
            orphan_lines=orphans,
            series={r["series"]: r["last_number"] for r in _rows(connection, invoice_series)},
            marks=frozenset(
                (r["period"], r["tenant_id"]) for r in _rows(connection, billing_marks)
            ),
            checkpoints={r.pop("tenant_id"): r for r in _rows(connection, billing_checkpoints)},
            failures=_rows(connection, billing_failures),
            events=events,
            outbox=tuple(
                sorted(
                    (r["tenant_id"], r["type"], r["key"] or "", r["at"], r["data"])
                    for r in _rows(connection, outbox_events, "id")
                )
            ),
            outbox_ids_gapless=_gapless(connection),
        )


def _gapless(connection: Any) -> bool:
    ids = sorted(row[0] for row in connection.execute(select(outbox_events.c.id)))
    last = connection.execute(select(outbox_counter.c.last_id)).scalar()
    return ids == list(range(1, len(ids) + 1)) and (last or 0) == len(ids)


class Reference:
    """The uninterrupted run on a fresh database: its state, its database steps by kind
    (``daily_book.KINDS``), its time. (A plain class: hypothesis prints its repr.)"""

    def __init__(self, state: State, steps: dict[str, int], seconds: float) -> None:
        self.state, self.steps, self.seconds = state, steps, seconds

    def __repr__(self) -> str:
        return f"Reference({self.state!r}, steps {self.steps}, {self.seconds:.1f} s)"


@pytest.fixture(scope="module")
def book_url(database_url: str) -> Iterator[str]:
    """A database of this module's own (a fresh one, migrated by the reference run)."""
    with temporary_database(database_url) as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def reference(book_url: str) -> Reference:
    """The uninterrupted run on the fresh database; its tables are emptied by each test."""
    steps, issued, seconds = daily_book.steps_of_a_whole_run(book_url)
    engine = crmcore_sql.create_engine(book_url)
    try:
        state = _state(engine)
    finally:
        engine.dispose()
    assert issued == len(state.invoices) == 65  # 62 invoices and 3 corrections
    assert len({head["issued"] for head, _ in state.invoices.values()}) == 31
    rules = {line["rule"] for _, lines in state.invoices.values() for line in lines}
    assert {"PRO-2", "PRO-3", "PRO-4", "BILL-4", "BILL-6"} <= rules  # ..., a correction's
    corrections = [head for head, _ in state.invoices.values() if head["corrects"] is not None]
    assert len(corrections) == 3 and {c["issued"] for c in corrections} == {date(2026, 1, 6)}
    assert len(state.series) == 5  # acme and raynet, 2025 and 2026; acme's corrections
    return Reference(state, steps, seconds)


@pytest.fixture
def engine(book_url: str, reference: Reference) -> Iterator[Engine]:
    """The module's database, emptied, with the vendor and the preset's catalogue."""
    engine = crmcore_sql.create_engine(book_url)
    empty_tables(engine)
    daily_book.set_up(engine)
    yield engine
    engine.dispose()


def _run_killed(engine: Engine, how: str, where: float, reference: Reference) -> bool:
    """Run the driver in a child process killed at ``where`` (0..1) of the uninterrupted
    run's database steps of the kind ``how`` (``daily_book.KINDS``) or of its duration
    (``"timed"``); whether it was killed (a later run may finish before that point: it has
    less left to do). The child is forked: it starts without importing anything again."""
    kill = None
    if how != "timed":
        kill = (how, 1 + int(where * (reference.steps[how] - 1)))
    ready = FORK.Event()
    child = FORK.Process(target=daily_book.drive, args=(engine, kill, ready))
    child.start()
    try:
        if how == "timed":
            assert ready.wait(WAIT)
            time.sleep(where * reference.seconds)
            if child.pid is not None:
                os.kill(child.pid, signal.SIGKILL)
        child.join(WAIT)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
    if child.exitcode == -signal.SIGKILL:
        return True
    assert child.exitcode == 0, child.exitcode
    return False


def _check_a_prefix_of(state: State, reference: State) -> None:
    """What a killed run left: a prefix of the uninterrupted run, nothing half-written."""
    assert state.orphan_lines == 0  # no line without its invoice
    for key, invoice in state.invoices.items():  # every invoice whole, with its number
        assert invoice == reference.invoices[key], key
    for series, last in state.series.items():  # no gap, no number reserved and lost
        assert state.numbers(series) == list(range(1, last + 1)), series
    assert {head["series"] for head, _ in state.invoices.values()} <= state.series.keys()
    assert state.failures == []
    assert state.marks <= reference.marks
    # events out: written with what they report, so a prefix of the reference's, ids gapless
    assert set(state.outbox) <= set(reference.outbox) and state.outbox_ids_gapless
    invoiced = {(head["tenant_id"], head["number"]) for head, _ in state.invoices.values()}
    for tenant, kind, _key, _at, data in state.outbox:
        if kind in ("invoice_issued", "correction_issued"):
            assert (tenant, json.loads(data)["number"]) in invoiced, "an event without its invoice"
    marked: dict[str, list[date]] = {}
    for mark, tenant in state.marks:
        marked.setdefault(tenant, []).append(date.fromisoformat(mark))
    for key, (head, _) in state.invoices.items():
        # stored with a mark of a day it was due by
        assert any(day >= head["issued"] for day in marked.get(key[0], [])), key
    for tenant, days in marked.items():  # a marked day has everything due by it
        for day in days:
            issued = {
                k for k, (h, _) in state.invoices.items() if k[0] == tenant and h["issued"] <= day
            }
            expected = {
                k
                for k, (h, _) in reference.invoices.items()
                if k[0] == tenant and h["issued"] <= day
            }
            assert issued == expected, (tenant, day)
    for tenant, row in state.checkpoints.items():  # written with the mark of its day
        assert (row["day"].isoformat(), tenant) in state.marks, tenant
        final = reference.checkpoints[tenant]
        if final["day"] == row["day"]:
            assert row == final, tenant
    # events: each tenant's a prefix of its history, every tenant cut on the same day
    for tenant, events in state.events.items():
        assert events == reference.events[tenant][: len(events)], tenant
    recorded = [
        day
        for day in daily_book.days()
        if all(
            len(state.events.get(t, [])) == len(daily_book.due_by(t, day)) for t in daily_book.BOOK
        )
    ]
    assert recorded or not state.events, "a day's events half recorded"
    last_mark = max((date.fromisoformat(day) for day, _ in state.marks), default=None)
    if last_mark is not None:
        assert recorded[-1] >= last_mark


KILLS = st.lists(
    st.tuples(
        st.sampled_from([*daily_book.KINDS, "timed"]), st.integers(0, 1000).map(lambda n: n / 1000)
    ),
    min_size=1,
    max_size=3,
)


# Each example runs one to three child processes and a whole re-run: a few examples in the
# dev profile (the whole test well under a minute per engine), more in ci.
@settings(
    max_examples=max(2, settings().max_examples // 40),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(kills=KILLS)
@example(kills=[("invoice", 0.5)])  # marks, checkpoints and numbers written, invoices not yet
def test_a_daily_run_killed_anywhere_then_run_again_leaves_the_uninterrupted_result_BILL_6(
    kills: list[tuple[str, float]], engine: Engine, reference: Reference
) -> None:
    """BILL-6, PRO-3, PRO-4, crash safety: SIGKILL at random points of the daily runs, up to
    three times in a row; after each, a prefix of the uninterrupted run; after the re-run,
    exactly its result."""
    empty_tables(engine)  # hypothesis runs the examples with one fixture
    daily_book.set_up(engine)
    for attempt, (how, where) in enumerate(kills):
        engine.dispose()  # the forked child makes its own connections (the statements compiled)
        killed = _run_killed(engine, how, where, reference)
        if attempt == 0 and how != "timed":
            assert killed  # the first run has every step of the uninterrupted one
        _check_a_prefix_of(_state(engine), reference.state)
    assert daily_book.run_days(engine) <= len(reference.state.invoices)
    assert _state(engine) == reference.state


# Every third day, the 1st of each month and the last day: each run bills what is due since
# the one before (the invoices do not depend on the days the job runs, only their numbers do).
CONCURRENT_DAYS = sorted(
    {d for d in daily_book.days() if (d - daily_book.FIRST_DAY).days % 3 == 0 or d.day == 1}
    | {daily_book.LAST_DAY}
)


def test_four_concurrent_daily_runs_issue_what_one_run_issues_BILL_6(
    book_url: str, engine: Engine, reference: Reference
) -> None:
    """BILL-6: on each of 13 days, 4 processes bill up to it at once in batches of 4: every
    invoice of the single daily run once, with the same lines; each series numbered 1..n
    without a gap; every tenant marked for each day; no failure."""
    shared = 0  # days on which more than one worker billed tenants
    engine.dispose()  # no connection of this process's pool in the forked workers
    with FORK.Pool(4) as pool:  # forked: they start without importing anything again
        for day in CONCURRENT_DAYS:
            daily_book.record_day(engine, day)
            job = (book_url, day.isoformat(), 4)
            results = pool.starmap_async(daily_book.bill_day_worker, [job] * 4).get(WAIT)
            shared += sum(1 for billed, _ in results if billed) > 1
    state = _state(engine)
    expected = reference.state

    def without_numbers(found: State) -> dict[tuple[str, str], Any]:
        return {
            key: ({k: v for k, v in head.items() if k not in ("number", "corrects")}, lines)
            for key, (head, lines) in found.invoices.items()
        }

    assert without_numbers(state) == without_numbers(expected)
    for (tenant, key), (head, _) in state.invoices.items():  # a correction names its invoice
        if head["corrects"] is not None:
            corrected = state.invoices[tenant, key.split("@correction:")[0]][0]
            assert head["corrects"] == corrected["number"], key
    assert state.orphan_lines == 0
    assert state.series == expected.series
    for series, last in state.series.items():
        assert state.numbers(series) == list(range(1, last + 1)), series
    run = {day.isoformat() for day in CONCURRENT_DAYS}
    assert state.marks == {(day, tenant) for day, tenant in expected.marks if day in run}
    assert state.failures == []
    assert shared > 0  # the workers did share the days' batches


# About what one of 4 workers does in a day (a kill drawn beyond it does not happen that day).
WORKER_STEPS = {"step": 60, "write": 20, "invoice": 4, "commit": 5}
KILL_DAYS = CONCURRENT_DAYS[::2]  # 7 days, the 1st of January among them


# Each example runs 7 days of 4 forked workers, one killed a day (about 10 s an example on
# MariaDB): 3 drawn examples in ci, 1 in dev, and the explicit one (28 kills per engine in ci).
@settings(
    max_examples=max(1, settings().max_examples // 66),  # and the example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    kills=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(daily_book.KINDS), st.integers(0, 1000)),
        min_size=len(KILL_DAYS),
        max_size=len(KILL_DAYS),
    )
)
# a worker killed before its first invoice insert on even days, its first statement on odd
@example(kills=[(n % 4, "step" if n % 2 else "invoice", 0) for n in range(len(KILL_DAYS))])
def test_a_worker_killed_among_four_leaves_nothing_half_written_BILL_6(
    kills: list[tuple[int, str, int]], engine: Engine, reference: Reference
) -> None:
    """BILL-6, crash safety: each of 7 days 4 processes bill at once and one of them is
    killed with SIGKILL at a drawn step. The others finish their batches (the killed one's
    are rolled back; those it held may wait for the next run): nothing half-written, every
    series 1..n. A single run of the day after it bills the rest: at the end, the invoices
    of the single daily run, each once."""
    empty_tables(engine)  # hypothesis runs the examples with one fixture
    daily_book.set_up(engine)
    expected = reference.state
    issued = {k: (h["issued"], lines) for k, (h, lines) in expected.invoices.items()}
    for day, (victim, kind, where) in zip(KILL_DAYS, kills, strict=True):
        step = 1 + where * (WORKER_STEPS[kind] - 1) // 1000
        daily_book.record_day(engine, day)
        engine.dispose()  # the forked workers make their own connections
        workers = [
            FORK.Process(
                target=daily_book.bill_day_killed,
                args=(engine, day, 4, (kind, step) if n == victim else None),
            )
            for n in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(WAIT)
        codes = [worker.exitcode for worker in workers]
        assert all(code in (0, -signal.SIGKILL) for code in codes), codes
        if kind == "step" and step <= 2:  # every run reads the failures, then claims
            assert codes[victim] == -signal.SIGKILL
        state = _state(engine)
        assert state.orphan_lines == 0
        for key, (head, lines) in state.invoices.items():  # whole, as the single run's
            assert (head["issued"], lines) == issued[key], key
        for series, last in state.series.items():
            assert state.numbers(series) == list(range(1, last + 1)), series
        assert bill_up_to(engine, day, batch=4).failed == ()  # the next run
    state = _state(engine)
    assert {k: (h["issued"], lines) for k, (h, lines) in state.invoices.items()} == issued
    assert state.series == expected.series
    run = {day.isoformat() for day in KILL_DAYS}
    assert state.marks == {(day, tenant) for day, tenant in expected.marks if day in run}
