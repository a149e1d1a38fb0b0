"""The application-layer doors of the command line (issue 14): ``crmcore simulate --db``,
``record``, ``status`` and ``invoices``, through ``crmcore.cli.main`` on SQLite files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import crmcore_sql
from crmcore.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "docs" / "scenarios"
NAMES = sorted(p.name for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("name", NAMES)
def test_simulate_db_prints_what_simulate_prints(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    """One engine: the scenario through the application layer on a new SQLite file (migrated
    because it is empty) prints the same bytes as the in-memory runner."""
    file = str(SCENARIOS / name)
    code, plain, _ = run(capsys, "simulate", file)
    assert code == 0
    code, stored, err = run(capsys, "simulate", "--db", f"sqlite:///{tmp_path / 'x.db'}", file)
    assert (code, err) == (0, "")
    assert stored == plain


@pytest.fixture
def db(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    """A database holding the dunning_reinstatement scenario (tenant acme, vendor raynet)."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    code, _, _ = run(capsys, "simulate", "--db", url, str(SCENARIOS / "dunning_reinstatement.json"))
    assert code == 0
    return url


def test_simulate_db_refuses_a_tenant_it_holds(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, err = run(
        capsys, "simulate", "--db", db, str(SCENARIOS / "dunning_reinstatement.json")
    )
    assert (code, out) == (2, "")
    assert one_line(err) == "tenant.id: the database already holds tenant 'acme'"


def test_record_one_command(capsys: pytest.CaptureFixture[str], db: str) -> None:
    """PRO-2: 2 seats more on 20 May: 2 x 500.00 x 12/31 = 387.10 (20..31 May)."""
    event = json.dumps({"on": "2026-05-20", "do": "add_seats", "count": 2})
    code, out, err = run(capsys, "record", "--db", db, "--tenant", "acme", "--event", event)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "2026-05-20 acme: add_seats recorded (version 5)"
    assert "  charge seats PRO-2: 387.10 CZK" in out.splitlines()


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"on": "2026-05-21", "do": "remove_seats", "count": 20}, "remove_seats: cannot release"),
        ({"on": "2026-05-21", "do": "add_seats", "count": -1}, "--event.count: must be"),
        ({"on": "2026-05-21", "do": "change_plan", "plan": "gold"}, "--event.plan: unknown plan"),
        ({"on": "2026-01-01", "do": "add_seats", "count": 1}, "--event.at: "),
    ],
)
def test_record_refusals_are_one_line_and_store_nothing(
    capsys: pytest.CaptureFixture[str], db: str, event: dict[str, object], expected: str
) -> None:
    code, out, err = run(
        capsys, "record", "--db", db, "--tenant", "acme", "--event", json.dumps(event)
    )
    assert (code, out) == (2, "")
    assert one_line(err).startswith(expected)
    engine = crmcore_sql.create_engine(db)
    with crmcore_sql.unit_of_work(engine) as uow:
        assert uow.tenants.version("acme") == 4  # created, activate, pay, reinstate
    engine.dispose()


def test_record_bad_json_and_unknown_tenant(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(capsys, "record", "--db", db, "--tenant", "acme", "--event", "{nope")
    assert code == 2 and one_line(err).startswith("--event")
    event = json.dumps({"on": "2026-05-20", "do": "add_seats", "count": 1})
    code, _, err = run(capsys, "record", "--db", db, "--tenant", "zed", "--event", event)
    assert code == 2 and "zed" in one_line(err)


def test_status_json(capsys: pytest.CaptureFixture[str], db: str) -> None:
    """Unpaid since 1 May (due 15 May): blocked after 3 days overdue, 19 May (PAY-2)."""
    code, out, _ = run(
        capsys, "status", "--db", db, "--tenant", "acme", "--as-of", "2026-05-10", "--json"
    )
    assert code == 0
    status = json.loads(out)
    assert set(status) == {"tenant", "as_of", "statuses", "status", "access", "next"}
    assert (status["tenant"], status["status"], status["access"]) == ("acme", "active", "full")
    assert status["statuses"][-2:] == [
        {"on": "2026-04-17", "status": "cancelled"},
        {"on": "2026-04-25", "status": "active"},
    ]
    assert status["next"][0] == {"on": "2026-05-19", "status": "blocked", "rule": "PAY-2"}


def test_invoices_json_are_the_scenario_invoices(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, out, _ = run(capsys, "invoices", "--db", db, "--json")
    assert code == 0
    stored = json.loads(out)
    _, plain, _ = run(capsys, "simulate", str(SCENARIOS / "dunning_reinstatement.json"))
    expected = json.loads(plain)["invoices"]
    assert [
        {k: v for k, v in i.items() if k not in ("tenant", "currency")} for i in stored
    ] == expected
    assert {(i["tenant"], i["currency"]) for i in stored} == {("acme", "CZK")}


def test_doors_on_an_unmigrated_database_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    code, _, err = run(capsys, "status", "--db", url, "--tenant", "acme", "--as-of", "2026-05-10")
    assert code == 1 and "not migrated" in one_line(err)
    assert not (tmp_path / "missing.db").exists()


def test_errors_name_the_doors_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An error about a value the operator gave names the option it came in (exit 2, one
    line), not the use case's parameter: ``--tenant`` for an unknown tenant on every door,
    ``--as-of`` for a day before the vendor's terms, ``--to`` before ``--from`` (no rule:
    it is a window, not a billing period), ``--vendor`` for a document of a vendor not
    stored, ``--event[i]`` (BILL-6) for a proposed event before the last one stored."""
    db = f"sqlite:///{tmp_path / 'doors.db'}"
    assert (
        run(capsys, "simulate", "--db", db, str(SCENARIOS / "monthly_seat_addition.json"))[0] == 0
    )
    seat = json.dumps({"on": "2026-05-01", "do": "add_seats", "count": 1})
    early = json.dumps({"on": "2026-01-01", "do": "add_seats", "count": 1})
    exported = tmp_path / "raynet.json"
    assert main(["vendor", "export", "raynet", "--db", db]) == 0
    exported.write_text(capsys.readouterr().out, encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text(exported.read_text().replace('"name": "raynet"', '"name": "other"'))
    window = ["--from", "2026-05-01", "--to", "2026-04-01"]
    cases = [
        (["status", "--tenant", "nope"], "--tenant: no tenant 'nope'"),
        (["invoices", "--tenant", "nope"], "--tenant: no tenant 'nope'"),
        (["record", "--tenant", "nope", "--event", seat], "--tenant: no tenant 'nope'"),
        (["preview", "--tenant", "nope", "--event", seat], "--tenant: no tenant 'nope'"),
        (["status", "--tenant", "acme", "--as-of", "2020-01-01"], "--as-of: no version of"),
        (["reprice", "--vendor", str(exported), *window], "--to: must not be before"),
        (
            ["reprice", "--vendor", str(other), "--from", "2026-01-01", "--to", "2026-04-01"],
            "--vendor: the document is of vendor 'other', which is not stored",
        ),
        (["preview", "--tenant", "acme", "--event", early], "--event[0].at: "),
    ]
    for argv, start in cases:
        code, out, err = run(capsys, *argv, "--db", db)
        assert (code, out) == (2, ""), (argv, code, out, err)
        assert one_line(err).startswith(start), (argv, err)
    assert one_line(
        run(capsys, "preview", "--tenant", "acme", "--event", early, "--db", db)[2]
    ).endswith("(BILL-6)")
    assert (
        "(BILL-1)" not in run(capsys, "reprice", "--vendor", str(exported), *window, "--db", db)[2]
    )
