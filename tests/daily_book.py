"""A book of tenants billed by daily runs, and the driver the crash and concurrency tests of
``crmcore bill --up-to DAY`` run (tests/test_daily_crash.py; issue 15).

The book: 34 tenants of the vendor ``acme`` stored as data (raynet's terms, the demo plans, VAT
by country, a transfer fee) and 6 of the preset ``raynet`` (the checkpointed engine), created
between late November 2025 and early January 2026; monthly and annual plans, card and transfer
payments, seats bought mid-month, upgrades, cancellations, trials that never convert. So
invoices fall on many days (activations, the 1st of each month, PRO-3/PRO-4 on annual plans)
and in two numbering years per vendor.

The driver (:func:`run_days`) does what an operator's daily job does, day after day from
:data:`FIRST_DAY` to :data:`LAST_DAY`: it records the events of the day (one transaction,
idempotent: only the events a tenant does not have yet), then bills up to the day
(:func:`crmcore_sql.jobs.bill_up_to`, the code of ``crmcore bill --up-to DAY``). Run again
after a crash, it goes over the same days: what was stored is not stored again.

:func:`drive` is the process a test kills, at a database step or after a delay.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.engine import Connection, Engine

import crmcore_sql
from crmcore.catalog import Cycle
from crmcore.errors import ConcurrencyError
from crmcore.events import (
    Activated,
    BillingProfileChanged,
    Cancelled,
    Event,
    PaymentMethod,
    PlanChanged,
    SeatsAdded,
    TenantCreated,
    entered,
)
from crmcore.vendors import Vendor, vendor_from_preset
from crmcore_sql.demo import demo_catalog
from crmcore_sql.jobs import bill_up_to
from crmcore_sql.tables import tenants

PRAGUE = ZoneInfo("Europe/Prague")
VENDOR = "acme"
PRESET = "raynet"
FIRST_DAY = date(2025, 12, 20)
LAST_DAY = date(2026, 1, 24)
BATCH = 10  # several batches a day: a kill between two of them leaves a day half billed
TENANTS = 40
PRESET_TENANTS = range(34, 40)


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, dt.time(hour), tzinfo=PRAGUE)


def acme() -> Vendor:
    return vendor_from_preset(
        PRESET,
        name=VENDOR,
        effective=date(2025, 1, 1),
        catalog=demo_catalog(),
        vat_rates={"CZ": "0.21", "SK": "0.23"},
        fees={"transfer": "50.00"},
    )


def tenant_id(index: int) -> str:
    return f"d{index:02d}"


def history(index: int) -> list[Event]:
    """Tenant ``index``'s events, in order (the creation first)."""
    tenant = tenant_id(index)
    created = date(2025, 12, 1) + timedelta(days=(index * 7) % 37)
    events: list[Event] = [TenantCreated(_at(created, 8), tenant)]
    stored_vendor = index not in PRESET_TENANTS
    if stored_vendor and index % 6 == 5:
        events.append(BillingProfileChanged(_at(created, 8), "SK"))  # PLAN-2: 23 %
    if index % 10 == 0:
        return events  # a trial that never converts (TRIAL-4)
    plan = ["start", "business", "enterprise"][index % 3]
    cycle = Cycle.ANNUAL if index % 4 == 1 else Cycle.MONTHLY
    payment = (
        PaymentMethod.TRANSFER if stored_vendor and index % 5 == 2 else PaymentMethod.CARD
    )  # BILL-4 fee
    activated = created + timedelta(days=5 + index % 6)
    events.append(Activated(_at(activated), plan, cycle, seats=1 + index % 5, payment=payment))
    later: list[Event] = []
    if index % 3 == 0:  # PRO-2 monthly, PRO-3 annual: seats bought mid-month
        later.append(SeatsAdded(_at(activated + timedelta(days=4 + index % 9), 11), 2))
    if index % 8 in (1, 3) and plan != "enterprise":  # PRO-4: at once on an annual plan
        later.append(PlanChanged(_at(activated + timedelta(days=9 + index % 4), 12), "enterprise"))
    if index % 9 == 4:  # END-4
        later.append(Cancelled(_at(date(2026, 1, 14), 15)))
    events += sorted((e for e in later if e.at > events[-1].at), key=lambda e: e.at)
    if stored_vendor and index % 7 == 2 and activated < date(2025, 12, 28):
        # BILL-6: a seat bought 3 days after the activation, entered on 6 January, after the
        # January invoice went out: a correction document on 6 January
        bought = _at(activated + timedelta(days=3), 10)
        recorded = _at(date(2026, 1, 6), 7)
        if bought > events[-1].at or events[-1].at < recorded:
            events.append(SeatsAdded(bought, 1, recorded=recorded))
    return events


BOOK = {tenant_id(index): history(index) for index in range(TENANTS)}


def vendor_of(tenant: str) -> str:
    return PRESET if int(tenant[1:]) in PRESET_TENANTS else VENDOR


def set_up(engine: Engine) -> None:
    """The vendor and the catalogue of the preset (no tenant yet: they are recorded on the
    day they are created)."""
    from crmcore.app.commands import save_vendor

    save_vendor(crmcore_sql.unit_of_work(engine), acme())
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save(PRESET, demo_catalog())
        uow.commit()


def due_by(tenant: str, day: date) -> list[Event]:
    """The events of ``tenant`` in the book entered up to ``day`` (in Prague; a late entry on
    the day it was recorded)."""
    return [e for e in BOOK[tenant] if entered(e).astimezone(PRAGUE).date() <= day]


def record_day(engine: Engine, day: date) -> None:
    """Store the events of the book dated up to ``day`` that are not stored yet: one unit of
    work (a run killed in it stores none of them)."""
    with crmcore_sql.unit_of_work(engine) as uow:
        stored = _versions(uow.connection)
        for tenant in BOOK:
            due = due_by(tenant, day)
            have = stored.get(tenant, 0)
            if len(due) <= have:
                continue
            if have == 0:
                uow.tenants.add(tenant, vendor_of(tenant), due)
            else:
                uow.tenants.append(tenant, due[have:], have)
        uow.commit()


def _versions(connection: Connection) -> dict[str, int]:
    rows = connection.execute(select(tenants.c.tenant_id, tenants.c.version))
    return {tenant: version for tenant, version in rows}


def resume_day(engine: Engine) -> date:
    """The day a run interrupted by a crash takes up again: the first day whose events are
    the ones stored (the driver records a day's events only once the day before is billed,
    so every earlier day is billed; re-billing a later day with no new events is a no-op)."""
    with engine.connect() as connection:
        stored = _versions(connection)
    for day in days():
        if all(stored.get(t, 0) == len(due_by(t, day)) for t in BOOK):
            return day
    return FIRST_DAY  # nothing recorded yet (the first day's events come before any mark)


def days(first: date = FIRST_DAY) -> Iterator[date]:
    day = first
    while day <= LAST_DAY:
        yield day
        day += timedelta(days=1)


def run_days(engine: Engine, batch: int = BATCH) -> int:
    """Every day of the book from where an interrupted run stopped (:func:`resume_day`):
    record its events, bill up to it. The invoices issued."""
    issued = 0
    for day in days(resume_day(engine)):
        record_day(engine, day)
        report = bill_up_to(engine, day, Decimal("0.23"), batch=batch)
        if report.failed:
            raise AssertionError(f"{day}: {[f.line() for f in report.failed]}")
        issued += report.invoices
    return issued


KINDS = ("step", "write", "invoice", "commit")  # the steps a kill can be placed before


def _kinds(statement: str) -> list[str]:
    words = statement.lstrip().upper().split(None, 3)
    kinds = ["step"]
    if words and words[0] in ("INSERT", "UPDATE", "DELETE"):
        kinds.append("write")
        if words[:2] == ["INSERT", "INTO"] and words[2:3] in (["INVOICES"], ["INVOICE_LINES"]):
            kinds.append("invoice")  # an invoice's head (or heads), or the lines
    return kinds


def count_steps(engine: Engine, at_step: Callable[[str, int], None]) -> dict[str, int]:
    """Call ``at_step(kind, n)`` just before the engine's nth database step of each kind of
    :data:`KINDS` it is: ``step`` (any statement sent, or a commit), ``write`` (an INSERT,
    UPDATE or DELETE), ``invoice`` (the INSERT of invoice heads or lines), ``commit``. The
    counts so far, by kind."""
    counts = dict.fromkeys(KINDS, 0)

    def steps(kinds: list[str]) -> None:
        for kind in kinds:
            counts[kind] += 1
            at_step(kind, counts[kind])

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        steps(_kinds(text))

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", lambda _conn: steps(["step", "commit"]))
    return counts


def steps_of_a_whole_run(url: str) -> tuple[dict[str, int], int, float]:
    """(database steps by kind, invoices, seconds) of an uninterrupted run from an empty
    database at ``url``."""
    engine = crmcore_sql.create_engine(url)
    try:
        crmcore_sql.migrate(engine)
        set_up(engine)
        counts = count_steps(engine, lambda _kind, _n: None)
        started = time.monotonic()
        issued = run_days(engine)
        return counts, issued, time.monotonic() - started
    finally:
        engine.dispose()


_ENGINES: dict[str, Engine] = {}  # per worker process: one engine (pool) for every day


def bill_day_worker(url: str, day: str, batch: int) -> tuple[int, int]:
    """One of several concurrent processes billing the same day (as ``bill_worker`` of
    ``crmcore bill --workers N``, with small batches so that they interleave): (tenants
    billed, invoices issued) by its last attempt."""
    engine = _ENGINES.get(url) or _ENGINES.setdefault(url, crmcore_sql.create_engine(url))
    return bill_day(engine, date.fromisoformat(day), batch)


def bill_day(engine: Engine, day: date, batch: int) -> tuple[int, int]:
    """:func:`bill_up_to` the day, again after losing a deadlock (its batch rolled back; the
    job is idempotent): (tenants billed, invoices issued) by the last attempt."""
    for _attempt in range(10):
        try:
            report = bill_up_to(engine, day, Decimal("0.23"), batch)
        except ConcurrencyError:
            continue
        if report.failed:
            raise AssertionError([f.line() for f in report.failed])
        return report.tenants, report.invoices
    raise AssertionError("kept losing to the other workers")


def _killing(engine: Engine, kill: tuple[str, int] | None) -> None:
    """With ``kill`` = ``(kind, n)``: SIGKILL this process just before the engine's nth
    database step of that kind (:func:`count_steps`)."""
    if kill is None:
        return

    def at_step(kind: str, n: int) -> None:
        if (kind, n) == kill:
            os.kill(os.getpid(), signal.SIGKILL)

    count_steps(engine, at_step)


def drive(engine: Engine, kill: tuple[str, int] | None, ready: Any) -> None:
    """The process a test kills (forked, with the test's ``engine``, its connections closed):
    :func:`run_days`; with ``kill`` = ``(kind, n)`` it sends itself SIGKILL just before its
    nth database step of that kind (:func:`count_steps`), so the kill lands between any two
    statements of a batch, or just before its commit. ``ready`` (an event) is set first."""
    _killing(engine, kill)
    ready.set()
    run_days(engine)


def bill_day_killed(engine: Engine, day: date, batch: int, kill: tuple[str, int] | None) -> None:
    """A forked worker: :func:`bill_day`, killed at ``kill`` (as :func:`drive`)."""
    _killing(engine, kill)
    bill_day(engine, day, batch)
