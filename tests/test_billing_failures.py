"""The billing job in production (issue 15, sections 2 and 3): one tenant whose stored
history cannot be billed never stops the run (its failure is stored, listed and retried), and
``crmcore bill --up-to DAY`` issues what is due on the day, once (BILL-6), on SQLite,
PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.app.evaluation import evaluate_tenant
from crmcore.catalog import Catalog, Cycle
from crmcore.events import Activated, SeatsAdded, TenantCreated
from crmcore.vendors import vendor_from_preset
from crmcore_sql.demo import demo_catalog
from crmcore_sql.jobs import BillingFailure, bill_up_to, failures
from crmcore_sql.tables import billing_failures, invoices, tenant_events
from crmcore_sql.testing import empty_tables
from stored_paths import crmcore

pytest.importorskip("crmcore.billing.engine")

PRAGUE = ZoneInfo("Europe/Prague")


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    return database_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    empty_tables(engine)
    yield engine
    engine.dispose()


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PRAGUE)


def _without(catalog: Catalog, plan: str) -> Catalog:
    return Catalog(tuple(p for p in catalog.plans if p.code != plan))


def _preset_tenants(engine: Engine, plans: dict[str, str]) -> None:
    """Tenants of the preset ``raynet`` with the demo catalogue (the checkpointed engine):
    created 5 January, activated on 20 January on their plan, monthly."""
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", demo_catalog())
        for tenant, plan in plans.items():
            uow.tenants.add(
                tenant,
                "raynet",
                [
                    TenantCreated(_at(date(2026, 1, 5)), tenant),
                    Activated(_at(date(2026, 1, 20)), plan, seats=2),
                ],
            )
        uow.commit()


def _keys(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(invoices.c.tenant_id, invoices.c.key, invoices.c.issued).order_by(
                invoices.c.tenant_id, invoices.c.issued, invoices.c.key
            )
        ).all()
    keys: dict[str, list[str]] = {}
    for tenant, key, issued in rows:
        keys.setdefault(tenant, []).append(f"{issued}:{key}")
    return keys


def test_a_catalogue_without_a_plan_in_use_fails_its_tenant_only(engine: Engine, url: str) -> None:
    """PLAN-1, BILL-2, BILL-6: the catalogue re-saved without ``start``, which t1 is on: the
    run bills t0 and t2 (the same batch), stores t1's failure with the rule, names t1 in one
    line on stderr and exits 1; ``bill --failures`` lists it; once the plan is saved back, the
    next run bills t1's February and clears its failure."""
    _preset_tenants(engine, {"t0": "business", "t1": "start", "t2": "business"})
    assert bill_up_to(engine, date(2026, 1, 31)).failed == ()
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", _without(demo_catalog(), "start"))
        uow.commit()
    result = crmcore("bill", "--db", url, "--period", "2026-02")
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("crmcore bill:")]
    assert len(lines) == 1 and lines[0].startswith("crmcore bill: tenant t1: "), result.stderr
    assert "Traceback" not in result.stderr
    assert "2 tenants" in result.stdout and "1 tenants failed" in result.stdout
    keys = _keys(engine)
    assert "2026-02-01:period:2026-02-01" in keys["t0"]
    assert "2026-02-01:period:2026-02-01" in keys["t2"]
    assert "2026-02-01:period:2026-02-01" not in keys["t1"]
    (failure,) = failures(engine)
    assert (failure.tenant_id, failure.period) == ("t1", "2026-02-28")
    assert failure.rule is not None and failure.rule in lines[0]
    listed = crmcore("bill", "--db", url, "--failures")
    assert listed.returncode == 0, listed.stderr
    assert f"2026-02-28 t1 ({failure.rule}): {failure.error}" in listed.stdout
    assert "1 tenants failed" in listed.stdout
    again = crmcore("bill", "--db", url, "--period", "2026-02")  # t1 is retried: fails again
    assert again.returncode == 1 and "tenant t1: " in again.stderr
    assert "0 invoices issued for 0 tenants" in again.stdout  # t0, t2 are marked for the day
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", demo_catalog())  # the plan saved back
        uow.commit()
    fixed = crmcore("bill", "--db", url, "--period", "2026-02")
    assert fixed.returncode == 0, fixed.stderr
    assert "1 invoices issued for 1 tenants" in fixed.stdout
    assert "2026-02-01:period:2026-02-01" in _keys(engine)["t1"]
    assert failures(engine) == []
    assert crmcore("bill", "--db", url, "--failures").stdout.strip() == "0 tenants failed"


def test_a_vendor_version_without_the_plan_fails_its_tenant_only(engine: Engine) -> None:
    """PLAN-1 with a vendor stored as data (the evaluation of ``crmcore simulate``): from
    15 February the vendor's version has no ``start``; billing up to 28 February, a0 (on
    start) fails, a1 is billed, in one batch; a version from 20 February with the plan again
    bills a0's February (priced by the version in force on 1 February, NOTICE-2)."""

    def uow() -> crmcore_sql.SqlUnitOfWork:
        return crmcore_sql.unit_of_work(engine)

    def vendor(effective: date, catalog: Catalog) -> None:
        save_vendor(
            uow(),
            vendor_from_preset("raynet", name="acme", effective=effective, catalog=catalog),
        )

    vendor(date(2025, 1, 1), demo_catalog())
    for tenant, plan in (("a0", "start"), ("a1", "business")):
        register_tenant(uow(), tenant, "acme", _at(date(2026, 1, 5)))
        record(uow(), tenant, Activated(_at(date(2026, 1, 20)), plan, seats=2))
    assert bill_up_to(engine, date(2026, 1, 31)).failed == ()
    vendor(date(2026, 2, 15), _without(demo_catalog(), "start"))
    report = bill_up_to(engine, date(2026, 2, 28))
    assert report.tenants == 1 and report.invoices == 1
    (failure,) = report.failed
    assert failure.tenant_id == "a0" and failure.period == "2026-02-28"
    assert failure.rule is not None and failure.line().startswith("tenant a0: ")
    assert failures(engine) == [failure]
    assert "2026-02-01:period:2026-02-01" in _keys(engine)["a1"]
    assert "2026-02-01:period:2026-02-01" not in _keys(engine)["a0"]
    vendor(date(2026, 2, 20), demo_catalog())  # the plan back, in force on the day billed
    fixed = bill_up_to(engine, date(2026, 2, 28))
    assert (fixed.tenants, fixed.invoices, fixed.failed) == (1, 1, ())
    assert "2026-02-01:period:2026-02-01" in _keys(engine)["a0"]
    assert failures(engine) == []


def test_an_unreadable_event_fails_its_tenant_only(engine: Engine) -> None:
    """BILL-6: a stored event that is not JSON any more: the tenant fails (no rule: it is
    unreadable input), the other tenants, in its batch and the next ones, are billed; the
    run never marks it, and the event repaired, the next run bills it."""
    _preset_tenants(engine, {f"u{n}": "business" for n in range(5)})
    with engine.begin() as connection:
        good = connection.execute(
            select(tenant_events.c.payload).where(
                tenant_events.c.tenant_id == "u2", tenant_events.c.version == 2
            )
        ).scalar_one()
        connection.execute(
            update(tenant_events)
            .where(tenant_events.c.tenant_id == "u2", tenant_events.c.version == 2)
            .values(payload="{not json")
        )
    report = bill_up_to(engine, date(2026, 2, 28), batch=2)
    assert report.tenants == 4
    (failure,) = report.failed
    assert (
        failure == BillingFailure("u2", "2026-02-28", failure.error, None)
        and "cannot be read" in failure.error
    )
    assert sorted(_keys(engine)) == ["u0", "u1", "u3", "u4"]
    with engine.begin() as connection:
        assert connection.execute(select(billing_failures.c.tenant_id)).scalars().all() == ["u2"]
        connection.execute(
            update(tenant_events)
            .where(tenant_events.c.tenant_id == "u2", tenant_events.c.version == 2)
            .values(payload=good)
        )
    fixed = bill_up_to(engine, date(2026, 2, 28), batch=2)
    assert (fixed.tenants, fixed.failed) == (1, ())
    assert sorted(_keys(engine)) == ["u0", "u1", "u2", "u3", "u4"]


def test_pro_3_a_daily_run_issues_the_seat_invoice_on_its_day(engine: Engine, url: str) -> None:
    """PRO-3, BILL-6: a tenant on an annual plan buys 3 seats on 10 March. The daily run of
    1 March has billed (and marked) it; the run of 10 March issues the seat invoice that day
    (a month's run would have skipped a marked tenant until April). Running the same day
    again issues nothing more, nor does the next day's or the month's run."""
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", demo_catalog())
        uow.tenants.add(
            "y0",
            "raynet",
            [
                TenantCreated(_at(date(2026, 1, 5)), "y0"),
                Activated(_at(date(2026, 1, 10)), "start", Cycle.ANNUAL, seats=2),
            ],
        )
        uow.tenants.add(
            "m0",
            "raynet",
            [
                TenantCreated(_at(date(2026, 1, 5)), "m0"),
                Activated(_at(date(2026, 1, 10)), "start", seats=2),
            ],
        )
        uow.commit()
    first = crmcore("bill", "--db", url, "--up-to", "2026-03-01")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("2026-03-01: ")
    before = _keys(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.tenants.append("y0", [SeatsAdded(_at(date(2026, 3, 10), 10), 3)], 2)
        uow.commit()
    day = crmcore("bill", "--db", url, "--up-to", "2026-03-10")
    assert day.returncode == 0, day.stderr
    assert "1 invoices issued for 2 tenants" in day.stdout
    with crmcore_sql.unit_of_work(engine) as uow:
        issued = uow.invoices.for_tenant("y0")
    (seats,) = [i for i in issued if i.issued == date(2026, 3, 10)]
    assert [line.rule for line in seats.lines if line.seats == 3] == ["PRO-3"]
    assert _keys(engine)["m0"] == before["m0"]
    for again in (("--up-to", "2026-03-10"), ("--up-to", "2026-03-11"), ("--period", "2026-03")):
        result = crmcore("bill", "--db", url, *again)
        assert result.returncode == 0, result.stderr
        assert " 0 invoices issued" in result.stdout, (again, result.stdout)
    assert _keys(engine)["y0"] == [*before["y0"], f"2026-03-10:{seats.key}"]


def test_bill_takes_one_day_option(tmp_path: Path) -> None:
    """``--up-to`` and ``--period`` together, neither, or a bad day: one line, exit 2,
    nothing opened."""
    db = f"sqlite:///{tmp_path / 'none.sqlite'}"
    for argv, option in (
        (("--up-to", "2026-03-10", "--period", "2026-03"), "--up-to"),
        ((), "--up-to"),
        (("--up-to", "2026-02-30"), "--up-to"),
        (("--up-to", "10.3.2026"), "--up-to"),
        (("--failures", "--period", "2026-03"), "--failures"),
    ):
        result = crmcore("bill", "--db", db, *argv)
        assert result.returncode == 2, (argv, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert option in result.stderr
    assert not (tmp_path / "none.sqlite").exists()


def test_pro_3_daily_runs_of_a_stored_vendor_skip_days_with_nothing_due(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PRO-3, BILL-1, BILL-2, BILL-6 with a vendor stored as data: daily runs from 5 January
    to 31 March issue exactly what the evaluation of the whole history up to 31 March issues,
    each invoice on its day (the annual tenant's seats bought on 10 March: that day); a tenant
    is evaluated only on the days something may be due (its next invoice, a new event, a new
    vendor version, the end of the horizon), not every day."""
    from crmcore.app.commands import terms_of
    from crmcore_sql import jobs

    def uow() -> crmcore_sql.SqlUnitOfWork:
        return crmcore_sql.unit_of_work(engine)

    acme = vendor_from_preset(
        "raynet", name="acme", effective=date(2025, 1, 1), catalog=demo_catalog()
    )
    save_vendor(uow(), acme)
    register_tenant(uow(), "d-month", "acme", _at(date(2026, 1, 5)))
    record(uow(), "d-month", Activated(_at(date(2026, 1, 12)), "business", seats=2))
    register_tenant(uow(), "d-year", "acme", _at(date(2026, 1, 5)))
    record(uow(), "d-year", Activated(_at(date(2026, 1, 12)), "start", Cycle.ANNUAL, seats=2))
    evaluated: list[tuple[str, date]] = []
    original = jobs.evaluate_tenant

    def counting(terms: object, history: object, until: date) -> object:
        evaluated.append((history[0].tenant_id, until))  # type: ignore[index]
        return original(terms, history, until)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "evaluate_tenant", counting)
    day, issued_on = date(2026, 1, 5), {}
    while day <= date(2026, 3, 31):
        if day == date(2026, 3, 10):
            record(uow(), "d-year", SeatsAdded(_at(day, 10), 3))
        report = bill_up_to(engine, day)
        assert report.failed == ()
        if report.invoices:
            issued_on[day] = report.invoices
        again = bill_up_to(engine, day)  # the same day twice: nothing more
        assert (again.tenants, again.invoices) == (0, 0)
        day += timedelta(days=1)
    monkeypatch.undo()
    with uow() as unit:
        stored = {t: unit.invoices.for_tenant(t) for t in ("d-month", "d-year")}
        histories = {t: unit.tenants.history(t) for t in stored}
    for tenant, invoices_ in stored.items():
        expected = evaluate_tenant(terms_of(acme, tenant), histories[tenant], date(2026, 3, 31))
        assert [(i.key, i.issued, i.gross) for i in sorted(invoices_, key=lambda i: i.issued)] == [
            (i.key, i.issued, i.gross) for i in expected.invoices
        ]
    seats = [i for i in stored["d-year"] if i.issued == date(2026, 3, 10)]
    assert len(seats) == 1 and [line.rule for line in seats[0].lines] == ["PRO-3"]
    assert date(2026, 3, 10) in issued_on
    days = (date(2026, 3, 31) - date(2026, 1, 5)).days + 1
    assert len(evaluated) < days / 4, len(evaluated)  # 2 tenants x 86 days: a few each
