"""The public face of crmcore (issue 16, layout): ``crmcore.__all__`` and one meaning per name."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections import defaultdict
from types import ModuleType

import pytest

import crmcore
import crmcore_sql

# Public names bound to different objects in different modules: none (issue 16). Renamed so
# that each name means one thing: ports.RecordCount (the counter's answer, not limits'
# RecordDecision), tables.tenant_users (not a second ``users``), cli_options.FIRST_OPTION_DAY /
# LAST_OPTION_DAY (the job days, not the scenario bounds); scenario_input's PRESETS went (the
# names of presets.PRESETS).
KNOWN_DUPLICATES: dict[str, set[str]] = {}


def _modules() -> list[ModuleType]:
    found = []
    for package in (crmcore, crmcore_sql):
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in info.name or info.name.endswith("__main__"):
                continue
            found.append(importlib.import_module(info.name))
    return found


def test_every_exported_name_resolves() -> None:
    """Every name in ``crmcore.__all__`` (and every module's ``__all__``) resolves."""
    assert 20 <= len(crmcore.__all__) <= 30
    for module in _modules():
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{module.__name__}.{name}"


@pytest.mark.parametrize("name", sorted(set(crmcore.__all__) - {"__version__"}))
def test_a_top_level_name_is_its_home_modules_object(name: str) -> None:
    """``crmcore.X`` is the very object of the module that defines it (no copy)."""
    value = getattr(crmcore, name)
    home = importlib.import_module(value.__module__)
    assert getattr(home, name) is value


def test_no_public_name_means_two_things() -> None:
    """A name in the ``__all__`` of two modules is bound to one object in both (issue 16)."""
    homes: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module in _modules():
        if module is crmcore:
            continue  # re-exports, checked above
        for name in getattr(module, "__all__", ()):
            homes[name][id(getattr(module, name))].add(module.__name__)
    duplicates = {
        name: set().union(*objects.values()) for name, objects in homes.items() if len(objects) > 1
    }
    assert duplicates == KNOWN_DUPLICATES


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = crmcore.no_such_name  # type: ignore[attr-defined]


def test_import_crmcore_is_light() -> None:
    """``import crmcore`` imports none of its rule modules and no database code."""
    code = (
        "import sys, crmcore; "
        "print(sorted(m for m in sys.modules if m.startswith(('crmcore.', 'sqlalchemy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
