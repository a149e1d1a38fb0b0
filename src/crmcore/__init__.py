"""crmcore: the commercial terms of a CRM / SaaS vendor as exact, tested code.

The core is pure Python: it imports no database code (storage adapters live in
``crmcore_sql``). The names a user starts from are importable from here (``__all__``): a
vendor (``preset``, ``vendor_from_preset``, ``VendorPolicy``, ``Catalog``, ``Vendor``), the
application layer (``evaluate_tenant`` and ``TenantTerms``; the commands ``register_tenant``,
``record``, ``save_vendor``; the queries ``tenant_status``, ``tenant_invoices``; ``bill_tenant``;
``preview``, ``reprice``), the scenario runner ``run``, the events an application records,
``Money``, the errors ``CrmError``, ``ValidationError``, ``CommandRefused``, and the in-memory
storage ``InMemoryStorage`` (``InMemoryStorage().unit_of_work`` makes its units of work).

Each is the same object as in its home module and is imported on first use (module
``__getattr__``): importing them all eagerly would take ``import crmcore`` from a few
milliseconds to about 0.7 s (``python -X importtime``). docs/architecture.md says where each
rule family lives.

>>> from crmcore import Money, preset
>>> preset("raynet").timezone
'Europe/Prague'
>>> str(Money.of("1.005", "CZK").rounded())
'1.01 CZK'
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Sequence
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> its home module (one home per name), in the order a user meets them.
_HOMES = {
    # building a vendor
    "preset": "crmcore.presets",
    "vendor_from_preset": "crmcore.vendors",
    "VendorPolicy": "crmcore.policies",
    "Catalog": "crmcore.catalog",
    "Vendor": "crmcore.vendors",
    # the application layer: the engine, commands, queries, billing, what-if
    "evaluate_tenant": "crmcore.app.evaluation",
    "TenantTerms": "crmcore.app.evaluation",
    "register_tenant": "crmcore.app.commands",
    "record": "crmcore.app.commands",
    "save_vendor": "crmcore.app.commands",
    "tenant_status": "crmcore.app.queries",
    "tenant_invoices": "crmcore.app.queries",
    "bill_tenant": "crmcore.app.billing",
    "preview": "crmcore.app.whatif",
    "reprice": "crmcore.app.whatif",
    # the scenario runner
    "run": "crmcore.scenario.runner",
    # the events an application records
    "Activated": "crmcore.events",
    "SeatsAdded": "crmcore.events",
    "SeatsRemoved": "crmcore.events",
    "PlanChanged": "crmcore.events",
    "PaymentReceived": "crmcore.events",
    "Cancelled": "crmcore.events",
    "PaymentMethod": "crmcore.events",
    # values, errors, storage
    "Money": "crmcore.money",
    "CrmError": "crmcore.errors",
    "ValidationError": "crmcore.errors",
    "CommandRefused": "crmcore.errors",
    "InMemoryStorage": "crmcore.memory",
}

__all__ = [
    "Activated",
    "Cancelled",
    "Catalog",
    "CommandRefused",
    "CrmError",
    "InMemoryStorage",
    "Money",
    "PaymentMethod",
    "PaymentReceived",
    "PlanChanged",
    "SeatsAdded",
    "SeatsRemoved",
    "TenantTerms",
    "ValidationError",
    "Vendor",
    "VendorPolicy",
    "__version__",
    "bill_tenant",
    "evaluate_tenant",
    "preset",
    "preview",
    "record",
    "register_tenant",
    "reprice",
    "run",
    "save_vendor",
    "tenant_invoices",
    "tenant_status",
    "vendor_from_preset",
]

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

    from crmcore.app.billing import bill_tenant
    from crmcore.app.commands import record, register_tenant, save_vendor
    from crmcore.app.evaluation import TenantTerms, evaluate_tenant
    from crmcore.app.queries import tenant_invoices, tenant_status
    from crmcore.app.whatif import preview, reprice
    from crmcore.catalog import Catalog
    from crmcore.errors import CommandRefused, CrmError, ValidationError
    from crmcore.events import (
        Activated,
        Cancelled,
        PaymentMethod,
        PaymentReceived,
        PlanChanged,
        SeatsAdded,
        SeatsRemoved,
    )
    from crmcore.memory import InMemoryStorage
    from crmcore.money import Money
    from crmcore.policies import VendorPolicy
    from crmcore.presets import preset
    from crmcore.scenario.runner import run
    from crmcore.vendors import Vendor, vendor_from_preset


#: Modules that moved into a family package (issue 16): the old path still imports the new
#: module (the very same module object), with a DeprecationWarning, until the next minor release.
MOVED = {
    "crmcore.tenant_state": "crmcore.tenancy.state",
    "crmcore.seats": "crmcore.tenancy.seats",
    "crmcore.trials": "crmcore.tenancy.trials",
    "crmcore.proration": "crmcore.billing.proration",
    "crmcore.corrections": "crmcore.billing.corrections",
    "crmcore.issuing": "crmcore.billing.issuing",
    "crmcore.scenario_input": "crmcore.scenario.input",
    "crmcore.scenario_rules": "crmcore.app.rules",
    "crmcore.visibility_rules": "crmcore.visibility.language",
    **{
        f"crmcore.testing_{name}": f"crmcore.testing.{name}"
        for name in (
            "billing", "dunning", "services", "storage", "storage_outbox", "storage_usage",
            "visibility",
        )
    },
}  # fmt: skip


class _MovedModules:
    """Imports a moved module's old path as its new module (see :data:`MOVED`): a meta path
    finder and loader by duck typing (``importlib.abc`` would add 30 ms to ``import crmcore``)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in MOVED:
            return None
        # typeshed asks for the legacy load_module; importlib needs only create/exec_module
        return importlib.util.spec_from_loader(fullname, self)  # type: ignore[arg-type]

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        new = MOVED[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {new}; import it from there", DeprecationWarning, 2
        )
        sys.modules[module.__name__] = import_module(new)


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'crmcore' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
