"""Engine differences live in one object per engine (:mod:`crmcore_sql.dialects`, issue 16).

The chooser gives each engine its object, once per engine; no other module of crmcore_sql
branches on the dialect's name (read with :mod:`ast`). The behaviour of every engine's
statements is tested where they are used (repositories, outbox, billing job), on all three
engines.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.engine.default import DefaultDialect

from crmcore.errors import ConfigurationError
from crmcore_sql.dialects import MariaDB, PostgreSQL, SqlDialect, SQLite, dialect_for
from crmcore_sql.engine import create_engine

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "crmcore_sql"

# Modules allowed to compare a dialect's name, each with its reason.
ALLOWED = {
    "dialects.py": "the chooser and the engines' own objects",
    "metadata.py": (
        "the MariaDB/MySQL collation of the DDL event; imported by tables.py, which "
        "dialects.py imports (a cycle)"
    ),
}

EXPECTED: dict[str, type[SqlDialect]] = {
    "sqlite": SQLite,
    "postgresql": PostgreSQL,
    "mysql": MariaDB,
}


def test_each_engine_gets_its_object_chosen_once(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        chosen = dialect_for(engine)
        assert type(chosen) is EXPECTED[engine.dialect.name]
        assert chosen.name == engine.dialect.name
        with engine.connect() as connection:
            assert dialect_for(connection) is chosen  # the engine's connections share it
        assert chosen.one_writer is (engine.dialect.name == "sqlite")
        assert chosen.failed_statement_aborts is (engine.dialect.name == "postgresql")
    finally:
        engine.dispose()


def test_an_engine_crmcore_does_not_run_on_is_a_configuration_error() -> None:
    unknown = SimpleNamespace(dialect=DefaultDialect())  # its name is "default"
    with pytest.raises(ConfigurationError, match="'default'") as raised:
        dialect_for(unknown)  # type: ignore[arg-type]
    assert raised.value.field == "dialect"


def _names_compared(tree: ast.AST) -> list[int]:
    """Lines comparing ``<x>.dialect.name``, ``<x>.dialect`` or ``dialect`` with something."""

    def is_dialect_name(node: ast.expr) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "name":
            inner = node.value
            return (isinstance(inner, ast.Attribute) and inner.attr == "dialect") or (
                isinstance(inner, ast.Name) and inner.id == "dialect"
            )
        if isinstance(node, ast.Attribute):
            return node.attr == "dialect"
        return isinstance(node, ast.Name) and node.id == "dialect"

    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(is_dialect_name(side) for side in [node.left, *node.comparators])
    ]


def test_no_module_but_the_chooser_branches_on_the_dialect_name() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if "migrations" in relative.parts or str(relative) in ALLOWED:
            continue  # Alembic revision scripts are history: they stay as they ran
        lines = _names_compared(ast.parse(path.read_text(), str(path)))
        if lines:
            found[str(relative)] = lines
    assert found == {}


def test_the_scan_sees_a_branch_on_the_dialect_name() -> None:
    """The check above can fail: it finds the forms the modules used to branch with."""
    source = (
        "if connection.dialect.name == 'sqlite': pass\n"
        "if dialect in ('postgresql', 'sqlite'): pass\n"
        "if 'mysql' != engine.dialect.name: pass\n"
        "if self.dialect not in ('postgresql', 'sqlite'): pass\n"
    )
    assert _names_compared(ast.parse(source)) == [1, 2, 3, 4]
