"""Where things live (issue 16): rule families as packages, one home per name, moved paths.

- Every family package answers ``package.name`` with the object of its home module (the first
  of the package's modules whose ``__all__`` lists it), and nothing else.
- Every module that moved into a package is still importable by its old path, as the very same
  module object, with a DeprecationWarning naming the new path.
- No module is over 500 lines without a reason at its top ("Long because ...").
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import crmcore
from crmcore._family import face

SRC = Path(__file__).resolve().parent.parent / "src"
FAMILIES = ("tenancy", "billing", "dunning", "scenario", "visibility", "testing")
LONG = 500


def _family_modules(family: str) -> list[str]:
    package = importlib.import_module(f"crmcore.{family}")
    init = Path(package.__file__ or "").read_text(encoding="utf-8")
    # the modules named in the package's face(...) call, in its search order
    call = next(
        node
        for node in ast.walk(ast.parse(init))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "face"
    )
    order = call.args[1]
    assert isinstance(order, ast.Tuple)
    return [element.value for element in order.elts if isinstance(element, ast.Constant)]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_family_package_lists_each_of_its_modules_once(family: str) -> None:
    on_disk = {
        path.stem for path in (SRC / "crmcore" / family).glob("*.py") if path.stem != "__init__"
    }
    listed = _family_modules(family)
    assert sorted(listed) == sorted(on_disk)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_family_package_answers_with_the_home_object(family: str) -> None:
    package = importlib.import_module(f"crmcore.{family}")
    seen: set[str] = set()
    for name in _family_modules(family):
        module = importlib.import_module(f"crmcore.{family}.{name}")
        for public in module.__all__:
            if public in seen:
                continue  # an earlier module of the search order is its home
            seen.add(public)
            assert getattr(package, public) is getattr(module, public), f"{family}.{public}"
    assert seen <= set(dir(package))
    with pytest.raises(AttributeError, match="no_such_rule"):
        _ = package.no_such_rule
    with pytest.raises(AttributeError):
        _ = package._private


def test_the_face_searches_in_order_and_only_public_names() -> None:
    getattr_, dir_ = face("crmcore.billing", ("numbering", "engine"))
    from crmcore.billing import engine, numbering

    assert getattr_("issue") is numbering.issue
    assert getattr_("invoices_due") is engine.invoices_due
    assert "issue" in dir_() and "engine" in dir_()
    with pytest.raises(AttributeError, match="has no attribute 'Money'"):
        getattr_("Money")  # imported by engine, but not in its __all__


@pytest.mark.parametrize("old", sorted(crmcore.MOVED))
def test_an_old_module_path_is_the_new_module_with_a_warning(old: str) -> None:
    new = crmcore.MOVED[old]
    code = (
        "import importlib, warnings, sys\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    old = importlib.import_module({old!r})\n"
        f"new = importlib.import_module({new!r})\n"
        "assert old is new, (old, new)\n"
        f"assert sys.modules[{old!r}] is new\n"
        "print([str(w.message) for w in caught if w.category is DeprecationWarning])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"{old} moved to {new}" in out.stdout


def test_an_old_path_in_this_process_is_the_same_module() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("crmcore.tenant_state")
    from crmcore.tenancy import state

    assert old is state
    assert old.TenantState is state.TenantState


def test_an_unknown_old_path_still_fails() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("crmcore.no_such_module")


def _long_modules() -> list[Path]:
    found = []
    for package in ("crmcore", "crmcore_sql"):
        for path in sorted((SRC / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            if len(path.read_text(encoding="utf-8").splitlines()) > LONG:
                found.append(path)
    return found


def test_there_are_long_modules_to_check() -> None:
    assert _long_modules(), "the check below would check nothing"


@pytest.mark.parametrize("path", _long_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_a_long_module_says_why_at_its_top(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    reasons = [paragraph for paragraph in doc.split("\n\n") if paragraph.startswith("Long because")]
    assert reasons, f"{path.relative_to(SRC)} is over {LONG} lines and does not say why"
    assert len(reasons[0].split()) >= 8, reasons[0]


def test_no_any_at_the_seam_between_core_and_adapters() -> None:
    """Every port's methods (crmcore.ports, what an adapter implements) are typed without
    ``Any``: the seam between the core and the adapters says what crosses it (issue 16)."""
    import inspect
    from typing import Protocol

    import crmcore.ports as ports

    checked = 0
    for name, port in vars(ports).items():
        if not (inspect.isclass(port) and Protocol in port.__mro__[1:]):
            continue
        for method_name, method in vars(port).items():
            if method_name.startswith("_") or not callable(method):
                continue
            annotations = " ".join(str(a) for a in method.__annotations__.values())
            assert "Any" not in annotations, f"{name}.{method_name}: {annotations}"
            checked += 1
    assert checked > 20  # the ports were found
