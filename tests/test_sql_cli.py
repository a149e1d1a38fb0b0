"""The storage jobs on the command line refuse a missing SQLite file without creating it."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmcore.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ("bill", "--period", "2026-03"),
        ("dunning", "--as-of", "2026-03-20"),
    ],
    ids=["bill", "dunning"],
)
def test_a_job_on_a_missing_sqlite_file_refuses_without_creating_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    """A job that needs a migrated database refuses a SQLite file that does not exist with
    exit 1 and one line (not migrated, run migrate), and leaves no file behind (nor WAL)."""
    path = tmp_path / "missing.sqlite"
    code = main([argv[0], "--db", f"sqlite:///{path}", *argv[1:]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1, err
    assert "not migrated" in err[0] and str(path) in err[0] and "crmcore migrate" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_a_job_on_an_existing_unmigrated_sqlite_file_still_says_not_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    code = main(["bill", "--db", f"sqlite:///{path}", "--period", "2026-03"])
    err = capsys.readouterr().err
    assert code == 1
    assert "not migrated (empty)" in err


def test_sqlite_mode_ro_takes_effect_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--db sqlite:///PATH?mode=ro`` (no ``uri=true``) opens the file read-only, as written:
    listing works (even on a file not in WAL mode, which a read-only connection cannot switch),
    an import is refused with exit 1 and one line, and nothing is stored (SQLAlchemy alone
    ignored ``mode`` with a warning and opened the file read-write)."""
    import sqlite3
    from datetime import date

    import crmcore_sql
    from crmcore.vendors import vendor_from_preset

    path = tmp_path / "crm.sqlite"
    engine = crmcore_sql.create_engine(f"sqlite:///{path}")
    crmcore_sql.migrate(engine)
    engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
    vendor = tmp_path / "acme.json"
    acme = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1))
    vendor.write_text(acme.dumps_json(), encoding="utf-8")
    read_only = f"sqlite:///{path}?mode=ro"

    assert main(["vendor", "list", "--db", read_only]) == 0
    assert capsys.readouterr().err == ""
    assert main(["vendor", "import", str(vendor), "--db", read_only]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "readonly" in err[0], err
    assert main(["vendor", "list", "--db", f"sqlite:///{path}"]) == 0
    assert "no vendors stored" in capsys.readouterr().out
