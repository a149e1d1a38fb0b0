"""No module of ``crmcore`` or ``crmcore_sql`` takes part in an import cycle (issue 16, layout).

The imports are read with :mod:`ast`, not by importing: module-level imports (including those
under ``if TYPE_CHECKING:``) and imports inside functions are both edges. A function-level
import that only breaks a cycle at run time is still a cycle of the design, so it is reported
too, unless it is listed in :data:`DOCUMENTED` with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGES = ("crmcore", "crmcore_sql")

# (importer, imported) edges allowed to close a cycle, each with its reason.
DOCUMENTED: dict[tuple[str, str], str] = {
    ("crmcore.limits", "crmcore.policies"): (
        "under TYPE_CHECKING only, for the LimitsPolicy annotation: policies imports the REC "
        "record-kind vocabulary from limits; planned to go with the limits family's own module"
    ),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            parts = path.relative_to(SRC).with_suffix("").parts
            if "migrations" in parts:
                continue  # Alembic revision scripts, loaded by Alembic from files
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names] + [""]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    # ``from package import module`` depends on that module; ``from module import name`` on
    # the module (the caller keeps only the names that are modules of the two packages).
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph() -> dict[str, dict[str, str]]:
    """Each module's imports of other modules of the two packages: ``{importer: {imported:
    "module" | "function"}}`` (an edge is "module" if any import of it is module-level)."""
    modules = _modules()
    graph: dict[str, dict[str, str]] = {name: {} for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        nested = {
            id(inner)
            for function in functions
            for inner in ast.walk(function)
            if isinstance(inner, ast.Import | ast.ImportFrom)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            level = "function" if id(node) in nested else "module"
            targets = [t for t in _imported(node, name, path.name == "__init__.py")]
            submodules = [t for t in targets[:-1] if t in modules]
            for target in submodules or targets[-1:]:
                if target in modules and target != name and graph[name].get(target) != "module":
                    graph[name][target] = level
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _without_documented(graph: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {
        source: {t: k for t, k in targets.items() if (source, t) not in DOCUMENTED}
        for source, targets in graph.items()
    }


def _describe(component: list[str], graph: dict[str, dict[str, str]]) -> str:
    edges = [
        f"{source} -> {target} ({kind}-level)"
        for source in component
        for target, kind in sorted(graph[source].items())
        if target in component
    ]
    return "; ".join(edges)


def test_no_import_cycle_in_crmcore_or_crmcore_sql() -> None:
    """Issue 16: every module's imports, module- and function-level, form no cycle."""
    graph = _without_documented(import_graph())
    found = cycles(graph)
    assert not found, "import cycles: " + " | ".join(_describe(c, graph) for c in found)


def _reaches(graph: dict[str, dict[str, str]], source: str, target: str) -> bool:
    seen, todo = {source}, [source]
    while todo:
        for imported in graph[todo.pop()]:
            if imported == target:
                return True
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return False


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("crmcore.scenario.runner", "crmcore.app.rules"),  # RulesContext protocol broke it
        ("crmcore_sql.engine", "crmcore_sql.migrate"),  # require_migrated lives in migrate
    ],
)
def test_the_two_circles_of_issue_16_stay_broken(one: str, other: str) -> None:
    """The circles issue 16 names: at most one of the two modules reaches the other, through
    any chain of imports, module- or function-level (none of them documented)."""
    graph = import_graph()
    assert not (_reaches(graph, one, other) and _reaches(graph, other, one))


@pytest.mark.parametrize(
    ("graph", "reaches"),
    [
        ({"a": {"b": "module"}, "b": {"c": "function"}, "c": {}}, True),
        ({"a": {}, "b": {"c": "module"}, "c": {"a": "module"}}, False),
    ],
)
def test_reaching_follows_chains(graph: dict[str, dict[str, str]], reaches: bool) -> None:
    assert _reaches(graph, "a", "c") is reaches


def test_documented_edges_exist_and_have_a_reason() -> None:
    graph = import_graph()
    for (source, target), reason in DOCUMENTED.items():
        assert target in graph[source], f"{source} -> {target} is listed but not imported"
        assert reason.strip(), f"{source} -> {target} has no reason"


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b": "module"}, "b": {"a": "function"}}, [["a", "b"]]),
        ({"a": {"b": "module"}, "b": {"c": "module"}, "c": {"a": "module"}}, [["a", "b", "c"]]),
        ({"a": {"b": "module"}, "b": {}}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, dict[str, str]], expected: list[list[str]]
) -> None:
    """The finder itself: a function-level back edge counts, a chain does not."""
    assert cycles(graph) == expected


def test_the_graph_sees_function_level_imports() -> None:
    """The parser counts an import inside a function (so a cycle hidden there is found)."""
    graph = import_graph()
    assert graph, "no modules found"
    assert any("function" in targets.values() for targets in graph.values())
