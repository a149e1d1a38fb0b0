"""Vendor presets: the seed vendors' parameters as data (no logic here).

Each preset is a :class:`~crmcore.policies.VendorPolicy`; override with ``attrs.evolve`` or
``VendorPolicy.with_overrides``.

>>> sorted(PRESETS)
['chmiuro', 'livespace', 'optimasales', 'raynet', 'smartmail']
>>> preset("livespace").trial.length, preset("chmiuro").trial.unit.value
(14, 'months')
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from crmcore.errors import UnknownPreset
from crmcore.policies import (
    BackupPolicy,
    BillingPolicy,
    IncidentPolicy,
    LimitsPolicy,
    MailPolicy,
    NoticePolicy,
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
    # BACKUP-1: daily from 02:00 Prague time, kept 90 days; BACKUP-2/3: 1 free copy per
    # half-year, the last copy free within 80 days of the contract's end.
    backup=BackupPolicy(
        local_interval_hours=24,
        first_backup_at=time(2, 0),
        retention_days=90,
        free_copies_per_half_year=1,
        last_copy_window_days=80,
    ),
    notice=NoticePolicy(  # NOTICE-1..2, END-2
        terms_change_days=15,
        price_change_days=30,
        vendor_notice_months=12,
        posted_notice_deemed_delivered_days=3,
    ),
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
    # BACKUP-1: every 12 h locally and every 24 h off-site; EXPORT-1: one free advanced export.
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
    mail=MailPolicy(  # MAIL-1..3, MAIL-7
        capacity_tiers=(
            (Decimal("1.2"), Decimal("600")),
            (Decimal("3"), Decimal("1200")),
            (Decimal("6"), Decimal("2400")),
            (Decimal("12"), Decimal("3500")),
        ),
        tier_currency="PLN",
        spam_retention_days=90,
        max_attachments=3,
        max_message_bytes=20 * 1024 * 1024,
    ),
)

OPTIMASALES = VendorPolicy(
    name="optimasales",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    sla=SlaPolicy(tiers=()),
    incident=IncidentPolicy(authority_deadline_hours=72, authority_name="UODO"),  # GDPR-2
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
