"""Helpers the storage tests share: a store on an emptied SQL engine (or in memory), the check
that the stored path (``crmcore simulate --db``) prints the runner's bytes, and the command line,
in this process or run as a newcomer runs it (a child process)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.simulation import simulate_stored
from crmcore.errors import CrmError
from crmcore.memory import InMemoryStorage
from crmcore.ports import UnitOfWork
from crmcore.scenario.runner import dumps, run
from crmcore_sql.testing import empty_tables


def emptied(engine: Engine) -> Callable[[], UnitOfWork]:
    """Units of work on ``engine`` after every table was emptied."""
    empty_tables(engine)
    return lambda: crmcore_sql.unit_of_work(engine)


def same_as_runner(document: dict[str, Any], unit_of_work: Callable[[], UnitOfWork]) -> None:
    """The scenario through the application layer on ``unit_of_work``'s storage prints what
    the runner prints, byte for byte (a document the runner refuses is no life to compare)."""
    try:
        expected = dumps(run(document))
    except CrmError:
        return
    assert dumps(simulate_stored(document, unit_of_work)) == expected


def fresh_store(kind: str, engines: Mapping[str, Engine]) -> Callable[[], UnitOfWork]:
    """Units of work on an empty store: in memory (``"memory"``) or on the engine ``kind`` of
    the ``engines`` fixture, its tables emptied."""
    if kind == "memory":
        return InMemoryStorage().unit_of_work
    return emptied(engines[kind])


SRC = str(Path(__file__).resolve().parents[1] / "src")


def crmcore(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``crmcore ARGS`` run in this process (``crmcore.cli.main``, what ``python -m crmcore``
    runs), its exit code, stdout and stderr captured as a child's would be. A child process
    costs a second of imports per call, a dozen calls per engine and test; the tests that are
    about the process boundary (exit status, warnings of a fresh interpreter) call
    :func:`crmcore_process`."""
    from crmcore.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors exit 2, as in the child
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["crmcore", *args], code, out.getvalue(), err.getvalue())


def crmcore_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m crmcore ARGS`` in a child process, its output captured."""
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-m", "crmcore", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
