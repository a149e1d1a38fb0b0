"""crmcore: the commercial terms of a CRM / SaaS vendor as exact, tested code.

The core is pure Python: it imports no database code (storage adapters live in
``crmcore_sql``). The names a user starts from are importable from here (``__all__``); each
is the same object as in its home module and is imported on first use, so ``import crmcore``
stays fast. docs/architecture.md says where each rule family lives.

>>> from crmcore import Money, preset
>>> preset("raynet").timezone
'Europe/Prague'
>>> str(Money.of("1.005", "CZK").rounded())
'1.01 CZK'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> its home module (one home per name).
_HOMES = {
    "Money": "crmcore.money",
    "Period": "crmcore.periods",
    "Catalog": "crmcore.catalog",
    "Plan": "crmcore.catalog",
    "Cycle": "crmcore.catalog",
    "VendorPolicy": "crmcore.policies",
    "preset": "crmcore.presets",
    "TenantCreated": "crmcore.events",
    "Activated": "crmcore.events",
    "SeatsAdded": "crmcore.events",
    "SeatsRemoved": "crmcore.events",
    "PlanChanged": "crmcore.events",
    "PaymentReceived": "crmcore.events",
    "Cancelled": "crmcore.events",
    "replay": "crmcore.tenancy",
    "Timeline": "crmcore.tenancy",
    "invoices_due": "crmcore.billing",
    "Invoice": "crmcore.invoices",
    "Payment": "crmcore.invoices",
    "status_on": "crmcore.dunning",
    "DunningStatus": "crmcore.dunning",
    "CrmError": "crmcore.errors",
    "ValidationError": "crmcore.errors",
    "run": "crmcore.scenario",
}

__all__ = [
    "Activated",
    "Cancelled",
    "Catalog",
    "CrmError",
    "Cycle",
    "DunningStatus",
    "Invoice",
    "Money",
    "Payment",
    "PaymentReceived",
    "Period",
    "Plan",
    "PlanChanged",
    "SeatsAdded",
    "SeatsRemoved",
    "TenantCreated",
    "Timeline",
    "ValidationError",
    "VendorPolicy",
    "__version__",
    "invoices_due",
    "preset",
    "replay",
    "run",
    "status_on",
]

if TYPE_CHECKING:
    from crmcore.billing import invoices_due
    from crmcore.catalog import Catalog, Cycle, Plan
    from crmcore.dunning import DunningStatus, status_on
    from crmcore.errors import CrmError, ValidationError
    from crmcore.events import (
        Activated,
        Cancelled,
        PaymentReceived,
        PlanChanged,
        SeatsAdded,
        SeatsRemoved,
        TenantCreated,
    )
    from crmcore.invoices import Invoice, Payment
    from crmcore.money import Money
    from crmcore.periods import Period
    from crmcore.policies import VendorPolicy
    from crmcore.presets import preset
    from crmcore.scenario import run
    from crmcore.tenancy import Timeline, replay


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'crmcore' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
