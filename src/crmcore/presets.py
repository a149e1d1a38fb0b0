"""Vendor presets: the seed vendors' parameters as data (no logic here).

Each preset is a :class:`~crmcore.policies.VendorPolicy`; override with ``attrs.evolve`` or
``VendorPolicy.with_overrides``.

>>> sorted(PRESETS)
['chmiuro', 'livespace', 'optimasales', 'raynet', 'smartmail']
>>> preset("livespace").trial.length, preset("chmiuro").trial.unit.value
(14, 'months')
"""

from __future__ import annotations

from decimal import Decimal

from crmcore.errors import UnknownPreset
from crmcore.policies import (
    BackupPolicy,
    BillingPolicy,
    LimitsPolicy,
    SlaPolicy,
    TrialExpiry,
    TrialPolicy,
    TrialUnit,
    VendorPolicy,
)

__all__ = ["PRESETS", "preset"]

RAYNET = VendorPolicy(
    name="raynet",
    timezone="Europe/Prague",
    country="CZ",
    currency="CZK",
    trial=TrialPolicy(
        length=30,
        unit=TrialUnit.DAYS,
        conversion_grace_days=15,
        on_expiry=TrialExpiry.PURGE,
        purge_after_days=90,
    ),
    backup=BackupPolicy(local_interval_hours=24, retention_days=90),
)

LIVESPACE = VendorPolicy(
    name="livespace",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    trial=TrialPolicy(
        length=14,
        unit=TrialUnit.DAYS,
        conversion_grace_days=None,
        on_expiry=TrialExpiry.BLOCK_THEN_PURGE,
        purge_after_days=30,
    ),
    # SLA-7: a data-centre availability target with no credit tiers.
    sla=SlaPolicy(target=Decimal("99.98"), tiers=()),
    limits=LimitsPolicy(counted_record_kinds=frozenset()),  # REC-5: no record limit
    backup=BackupPolicy(
        local_interval_hours=12, offsite_interval_hours=24, free_advanced_exports=1
    ),
    billing=BillingPolicy(),
)

CHMIURO = VendorPolicy(
    name="chmiuro",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    trial=TrialPolicy(
        length=1,
        unit=TrialUnit.MONTHS,
        conversion_grace_days=None,
        on_expiry=TrialExpiry.FREE_PLAN,
        purge_after_days=None,
        top_plan_during_trial=True,
    ),
    sla=SlaPolicy(tiers=()),
)

SMARTMAIL = VendorPolicy(
    name="smartmail",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    sla=SlaPolicy(tiers=()),
)

OPTIMASALES = VendorPolicy(
    name="optimasales",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    sla=SlaPolicy(tiers=()),
)

PRESETS: dict[str, VendorPolicy] = {
    p.name: p for p in (RAYNET, LIVESPACE, CHMIURO, SMARTMAIL, OPTIMASALES)
}


def preset(name: str) -> VendorPolicy:
    """The preset called ``name``; ``UnknownPreset`` listing the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPreset(
            f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))})", field="preset"
        ) from None
