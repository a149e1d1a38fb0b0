"""The storage jobs on the command line: migrate, bill, and their one-line errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.events import Activated, TenantCreated

SRC = str(Path(__file__).resolve().parents[1] / "src")


def crmcore(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``crmcore ARGS`` in this process (tests/stored_paths.py): a child's second of imports
    saved per call; the tests of the process boundary (exit status, one line on stderr as a
    user's shell sees it) call :func:`crmcore_process`."""
    import stored_paths  # tests/ is on the path

    return stored_paths.crmcore(*args, cwd=cwd)


def crmcore_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-m", "crmcore", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_migrate_then_bill_refuses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = crmcore_process("migrate", "--db", url)
    assert result.returncode == 0, result.stderr
    assert "latest schema" in result.stdout


def test_bad_url_is_one_line_exit_2() -> None:
    result = crmcore_process("migrate", "--db", "not a url")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not a database URL" in result.stderr


def test_unreachable_server_is_one_line_exit_1() -> None:
    result = crmcore_process("migrate", "--db", "postgresql://postgres@127.0.0.1:1/nothing")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "unreachable" in result.stderr


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/nothing", "sqlite:////nonexistent/dir/x.db"],
)
def test_simulate_db_on_an_unreachable_database_is_one_line_exit_1(url: str) -> None:
    """``crmcore simulate --db`` opens the database itself (to migrate an empty one): an
    unreachable server or a SQLite file it cannot create is one line, exit 1, as every other
    door (it was a driver traceback)."""
    scenario = str(Path(__file__).resolve().parents[1] / "docs/scenarios/late_seat_addition.json")
    result = crmcore("simulate", "--db", url, scenario)
    assert result.returncode == 1, result
    assert result.stderr.startswith("error: --db: database unreachable: ")
    assert result.stderr.strip().count("\n") == 0 and result.stdout == ""


def test_unmigrated_database_is_one_line_exit_1(tmp_path: Path) -> None:
    result = crmcore("bill", "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--period", "2026-03")
    assert result.returncode == 1
    assert "not migrated" in result.stderr
    assert "crmcore migrate" in result.stderr


def test_bad_period_is_exit_2(tmp_path: Path) -> None:
    result = crmcore("bill", "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--period", "2026-13")
    assert result.returncode == 2
    assert "--period" in result.stderr


def test_bill_issues_each_invoice_once(tmp_path: Path) -> None:
    """BILL-2, BILL-6: running the month twice issues its invoices once."""
    pytest.importorskip("crmcore.billing.engine")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    prague = ZoneInfo("Europe/Prague")
    catalog = Catalog((Plan("start", 1, (Price("CZK", Cycle.MONTHLY, Decimal("490.00")),)),))
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", catalog)
        for n in range(3):
            tenant = f"t{n}"
            created = datetime(2026, 1, 5, 9, 0, tzinfo=prague)
            uow.tenants.add(
                tenant,
                "raynet",
                [
                    TenantCreated(created, tenant),
                    Activated(datetime(2026, 1, 20, 9, 0, tzinfo=prague), "start", seats=2),
                ],
            )
        uow.commit()
    engine.dispose()
    first = crmcore("bill", "--db", url, "--period", "2026-03")
    assert first.returncode == 0, first.stderr
    again = crmcore("bill", "--db", url, "--period", "2026-03")
    assert again.returncode == 0, again.stderr
    assert "0 invoices" in again.stdout
    engine = crmcore_sql.create_engine(url)
    with crmcore_sql.unit_of_work(engine) as uow:
        invoices = uow.invoices.for_tenant("t0")
    engine.dispose()
    keys = [invoice.key for invoice in invoices]
    assert len(keys) == len(set(keys)) >= 3  # January (prorated), February, March


def test_demo_runs_with_no_arguments(tmp_path: Path) -> None:
    """The README's main job: a SQLite file in the current directory and a summary."""
    pytest.importorskip("crmcore.billing.engine")
    pytest.importorskip("crmcore.dunning.status")
    result = crmcore_process("demo", cwd=tmp_path)  # as a newcomer runs it
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "crmcore-demo.sqlite").exists()
    for text in ("invoices per month", "2026-06", "statuses on 2026-06-30", "refused"):
        assert text in result.stdout
    again = crmcore("demo", cwd=tmp_path)  # the same file again: nothing issued twice
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("statuses")[0] == result.stdout.split("statuses")[0]


def test_dunning_prints_transitions_of_the_day(tmp_path: Path) -> None:
    """PAY-2: demo-23 pays by transfer and stops paying in June; its June invoice, issued
    1 Jun and due 14 days later, 15 Jun (BILL-4), is more than 3 days overdue on 19 Jun, so
    it is blocked that day, not the day before."""
    assert crmcore("demo", cwd=tmp_path).returncode == 0
    url = f"sqlite:///{tmp_path / 'crmcore-demo.sqlite'}"
    due = date(2026, 6, 1) + timedelta(days=14)
    before = crmcore("dunning", "--db", url, "--as-of", str(due + timedelta(days=3)))
    assert before.returncode == 0, before.stderr
    assert "demo-23" not in before.stdout
    result = crmcore("dunning", "--db", url, "--as-of", str(due + timedelta(days=4)))
    assert result.returncode == 0, result.stderr
    assert "demo-23: active -> blocked (PAY-2" in result.stdout


def demo_tenants(url: str, count: int) -> Engine:
    """A migrated database at ``url`` with the demo catalogue and ``count`` demo tenants."""
    from crmcore_sql.demo import demo_catalog, demo_history

    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", demo_catalog())
        for index in range(count):
            uow.tenants.add(f"demo-{index:02d}", "raynet", demo_history(index))
        uow.commit()
    return engine


def test_two_workers_share_the_work(database_url: str) -> None:
    """BILL-6 with `bill --workers 2`: every due invoice once, numbers 1..n without a gap."""
    pytest.importorskip("crmcore.billing.engine")
    from sqlalchemy import select

    from crmcore_sql.tables import invoices
    from crmcore_sql.testing import temporary_database

    with temporary_database(database_url) as url:
        text = url.render_as_string(hide_password=False)
        engine = demo_tenants(text, 30)
        result = crmcore("bill", "--db", text, "--period", "2026-03", "--workers", "2")
        assert result.returncode == 0, result.stderr
        with engine.connect() as connection:
            rows = connection.execute(
                select(invoices.c.tenant_id, invoices.c.key, invoices.c.series, invoices.c.number)
            ).all()
        engine.dispose()
    assert len({(row.tenant_id, row.key) for row in rows}) == len(rows) > 30
    for series in {row.series for row in rows}:
        numbers = sorted(int(row.number.split("/")[-1]) for row in rows if row.series == series)
        assert numbers == list(range(1, len(numbers) + 1))


def test_a_tenant_held_by_another_worker_is_billed_by_the_leftover_pass(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BILL-6 work sharing: a tenant another transaction holds during the first pass is
    skipped (SKIP LOCKED), found by the one leftover query at the end of the pass and billed
    by a second pass once released; every other tenant is billed once, in one pass."""
    pytest.importorskip("crmcore.billing.engine")
    from sqlalchemy import select

    from crmcore.periods import Period
    from crmcore_sql import jobs
    from crmcore_sql.tables import invoices, tenants
    from crmcore_sql.testing import temporary_database

    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: no row locks to skip")
    with temporary_database(database_url) as url:
        engine = demo_tenants(url.render_as_string(hide_password=False), 12)
        holder = engine.connect()
        holder.begin()
        holder.execute(
            select(tenants.c.tenant_id).where(tenants.c.tenant_id == "demo-03").with_for_update()
        ).all()
        leftovers: list[str | None] = []
        original = jobs._first_unmarked

        def release_then_look(engine_: object, mark: str) -> str | None:
            if holder.in_transaction():
                holder.rollback()  # the other worker gives the tenant back
            leftovers.append(original(engine_, mark))  # type: ignore[arg-type]
            return leftovers[-1]

        monkeypatch.setattr(jobs, "_first_unmarked", release_then_look)
        march = Period.calendar_month(2026, 3)
        report = jobs.bill_period(engine, march, batch=5)
        holder.close()
        with engine.connect() as connection:
            keys = connection.execute(select(invoices.c.tenant_id, invoices.c.key)).all()
        monkeypatch.undo()
        again = jobs.bill_period(engine, march, batch=5)
        engine.dispose()
    assert leftovers == ["demo-03", None]  # found once, then nothing left
    assert report.tenants == 12  # each tenant claimed once over the two passes
    assert "demo-03" in {row.tenant_id for row in keys}
    assert len(set(keys)) == len(keys)
    assert again == jobs.BillingReport(0, 0)  # nothing was missed: all 12 are marked


def test_seat_1_the_maximum_of_seats_is_billed_alike_on_every_engine(database_url: str) -> None:
    """SEAT-1: a tenant with ``MAX_SEATS`` accounts is stored, billed and read back on every
    engine (the seat column and the amount columns hold it); one more seat is refused by the
    replay and billed nowhere, so February bills the same 100,000 seats again."""
    from datetime import date, time

    from crmcore.events import MAX_SEATS, SeatsAdded
    from crmcore.periods import Period
    from crmcore_sql.jobs import bill_period
    from crmcore_sql.testing import temporary_database

    prague = ZoneInfo("Europe/Prague")
    catalog = Catalog((Plan("start", 1, (Price("CZK", Cycle.MONTHLY, Decimal("490.00")),)),))
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url.render_as_string(hide_password=False))
        crmcore_sql.migrate(engine)
        created = datetime(2025, 12, 20, 9, tzinfo=prague)
        history = [
            TenantCreated(created, "big"),
            Activated(datetime(2026, 1, 1, tzinfo=prague), "start", seats=MAX_SEATS),
            SeatsAdded(datetime.combine(date(2026, 1, 15), time(10), prague), 1),
        ]
        with crmcore_sql.unit_of_work(engine) as uow:
            uow.catalogs.save("raynet", catalog)
            uow.tenants.add("big", "raynet", history)
            uow.commit()
        bill_period(engine, Period.calendar_month(2026, 1), Decimal("0.21"))
        bill_period(engine, Period.calendar_month(2026, 2), Decimal("0.21"))
        with crmcore_sql.unit_of_work(engine) as uow:
            issued = uow.invoices.for_tenant("big")
        engine.dispose()
    assert [invoice.key for invoice in issued] == ["period:2026-01-01", "period:2026-02-01"]
    for invoice in issued:
        (line,) = invoice.lines
        assert line.seats == MAX_SEATS == 100_000
        assert line.net.amount == Decimal("490.00") * 100_000  # 49,000,000.00 CZK
        assert invoice.gross.amount == Decimal("49000000.00") * Decimal("1.21")


def test_plan_2_bill_refuses_a_bad_vat_rate_even_with_no_tenant(tmp_path: Path) -> None:
    """PLAN-2: `--vat-rate 1.5` or `NaN` was accepted while no tenant was billed; every option
    is now checked before any work: exit 2, one line naming the option, nothing billed."""
    from crmcore.errors import ValidationError
    from crmcore.periods import Period
    from crmcore_sql.jobs import bill_period

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert crmcore("migrate", "--db", url).returncode == 0
    for rate in ("1.5", "NaN", "0,23", "abc"):
        result = crmcore("bill", "--db", url, "--period", "2026-03", "--vat-rate", rate)
        assert result.returncode == 2, (rate, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "--vat-rate" in result.stderr and "Traceback" not in result.stderr
    engine = crmcore_sql.create_engine(url)
    with pytest.raises(ValidationError) as caught:
        bill_period(engine, Period.calendar_month(2026, 3), Decimal("1.5"))
    engine.dispose()
    assert (caught.value.field, caught.value.rule) == ("vat_rate", "PLAN-2")


def test_a_missing_option_is_one_line_exit_2() -> None:
    """A missing or unknown option of a job is one line on stderr, exit 2 (not argparse's
    usage text)."""
    for argv in (("bill", "--db", "sqlite://"), ("dunning", "--as-of", "2026-03-01")):
        result = crmcore(*argv)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "required" in result.stderr


def test_a_reader_that_goes_away_gets_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``crmcore invoices --json | head -c 100``: once the reader has gone, writing raises
    BrokenPipeError; the command stops with exit 1 and no traceback, and stdout is pointed
    at /dev/null so that the flush at exit cannot fail again."""
    from crmcore.cli import main

    assert crmcore("demo", cwd=tmp_path).returncode == 0
    url = f"sqlite:///{tmp_path / 'crmcore-demo.sqlite'}"

    class GoneReader(io.TextIOWrapper):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    with open(tmp_path / "stdout", "wb") as raw:
        monkeypatch.setattr(sys, "stdout", GoneReader(raw))
        assert main(["invoices", "--db", url, "--json"]) == 1
        monkeypatch.undo()
    assert "Traceback" not in capsys.readouterr().err
