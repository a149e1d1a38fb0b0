"""The face of a rule-family package: ``crmcore.billing.invoices_due`` keeps working.

A family package (``crmcore.tenancy``, ``crmcore.billing``, ``crmcore.dunning``,
``crmcore.scenario``, ``crmcore.visibility``, ``crmcore.testing``) holds its rules in modules;
each public name has one home, a module of the package, and code inside crmcore imports it from
there. The package itself answers ``package.name`` with the object of the first of its modules
whose ``__all__`` lists the name, imported on first use (nothing is imported eagerly, so a
package never closes an import cycle). Type checkers see the home modules: import from them
when you want types checked.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

__all__ = ["face"]


def face(
    package: str, modules: tuple[str, ...]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, searching ``modules`` in order."""

    def __getattr__(name: str) -> object:
        if not name.startswith("_"):
            for module in modules:
                home = import_module(f"{package}.{module}")
                if name in getattr(home, "__all__", ()):
                    return getattr(home, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        names = {*modules}
        for module in modules:
            names.update(getattr(import_module(f"{package}.{module}"), "__all__", ()))
        return sorted(names)

    return __getattr__, __dir__
