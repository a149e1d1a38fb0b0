"""The public face of crmcore (issue 16, layout): ``crmcore.__all__`` and one meaning per name."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

import crmcore
import crmcore_sql
from crmcore.catalog import Cycle, Plan, Price

# Public names bound to different objects in different modules: none (issue 16). Renamed so
# that each name means one thing: ports.RecordCount (the counter's answer, not limits'
# RecordDecision), one ``users`` table (tables.users is tables_visibility.users), one
# ``Role`` (roles.Role is visibility.language.Role), cli_options.FIRST_OPTION_DAY /
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


def test_the_public_face_is_the_documented_one() -> None:
    """``__all__`` is exactly the names with a home (plus ``__version__``), each home the
    module that defines it, and the face holds the use cases a user starts from."""
    homes = crmcore._HOMES  # type: ignore[attr-defined]
    assert set(crmcore.__all__) == {*homes, "__version__"}
    for name, home in homes.items():
        assert getattr(crmcore, name).__module__ == home, name
    assert {
        "preset", "VendorPolicy", "Catalog", "Vendor", "evaluate_tenant", "TenantTerms",
        "record", "register_tenant", "save_vendor", "tenant_status", "tenant_invoices",
        "bill_tenant", "preview", "reprice", "run", "Money", "CrmError", "ValidationError",
        "InMemoryStorage",
    } <= set(crmcore.__all__)  # fmt: skip


def test_star_import_gives_every_exported_name() -> None:
    code = (
        "from crmcore import *; import crmcore; "
        "print(sorted(n for n in crmcore.__all__ if n not in globals()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_small_vendor_app_from_the_top_level_names() -> None:
    """TEN-1, TRIAL-5, BILL-1, PRO-1, PLAN-2, BILL-6 through ``crmcore.X`` alone (the plan
    values aside): register, activate 2 seats on 20 January, bill January."""
    c = crmcore
    prague = ZoneInfo("Europe/Prague")
    storage = c.InMemoryStorage()
    plans = c.Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
    acme = c.vendor_from_preset(
        "raynet", name="acme", effective=date(2026, 1, 1), catalog=plans, vat_rates={"CZ": "0.21"}
    )
    assert isinstance(acme, c.Vendor)
    assert isinstance(acme.policy, c.VendorPolicy)
    c.save_vendor(storage.unit_of_work(), acme)
    c.register_tenant(storage.unit_of_work(), "t1", "acme", datetime(2026, 1, 5, 9, tzinfo=prague))
    trial = c.tenant_status(storage.unit_of_work(), "t1", date(2026, 1, 10))
    assert (trial.status.value, trial.access.value) == ("trial", "full")
    assert ("trial_expired", "TRIAL-5") in [(n.status, n.rule) for n in trial.next]
    activated = c.Activated(
        datetime(2026, 1, 20, 10, tzinfo=prague), "standard", seats=2, payment=c.PaymentMethod.CARD
    )
    c.record(storage.unit_of_work(), "t1", activated)
    (invoice,) = c.bill_tenant(storage.unit_of_work(), "t1", date(2026, 1, 31)).issued
    # 12 of January's 31 days of 2 x 500.00 CZK net (PRO-1) = 387.10; 21 % VAT (PLAN-2)
    assert invoice.number == "2026/0001"
    assert invoice.gross == c.Money(Decimal("468.39"), "CZK")
    assert c.tenant_invoices(storage.unit_of_work(), "t1") == [invoice]


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
