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
