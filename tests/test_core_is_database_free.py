"""The core never imports database code (DEVELOPERS.md; VIS-8 lives in crmcore_sql)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import crmcore

FORBIDDEN = ("sqlalchemy", "alembic", "crmcore_sql", "psycopg", "pymysql")


def core_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(crmcore.__path__, prefix="crmcore.")
        if m.name not in {"crmcore.__main__"}
    )


def test_there_are_core_modules_to_check() -> None:
    assert "crmcore.money" in core_modules()
    assert len(core_modules()) >= 8


def test_importing_every_core_module_loads_no_database_code() -> None:
    src = str(Path(crmcore.__file__).resolve().parents[1])
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {src!r})\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"core loaded database modules: {result.stdout}"


def test_core_source_has_no_database_import_statement() -> None:
    root = Path(crmcore.__file__).resolve().parent
    offenders = []
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = line.strip().split()
            if (
                len(words) >= 2
                and words[0] in {"import", "from"}
                and words[1].split(".")[0] in FORBIDDEN
            ):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []
