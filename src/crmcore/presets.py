"""Vendor presets: the seed vendors' parameters as data (no logic here).

Each preset is a :class:`~crmcore.policies.VendorPolicy`; override with ``attrs.evolve`` or
``VendorPolicy.with_overrides``.

Every preset states every value itself; none is taken from a policy class's defaults (which
are raynet's and RULES.md's decisions). Where a vendor's terms say nothing about a whole
family, the preset says so with ``None`` (not applicable): no trial for smartmail and
optimasales, no payment-delay (PAY) terms, service level, mailbox, backups, notices or
incident procedure for the vendors that state none, and no counted record kinds (no record
limit) where the seed states no record limit. A single parameter one vendor states is
``None`` in the presets of the others: API-2's transfer limit and remedy period, SUP-1's
support hour and SIGN-1's signing numbers are raynet's only, whether linked files count
toward storage (STOR-1) livespace's only, and BACKUP-1's hour and BACKUP-2..4 raynet's only.
A value RULES.md marks "Decision" is crmcore's own and is stated as such; so are
:data:`~crmcore.policies.DEFAULT_TRANSFER_DUE_DAYS` and
:data:`~crmcore.policies.DEFAULT_CARD_DUE_DAYS` (BILL-4) and
:data:`~crmcore.policies.DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH` (PRO-3), raynet's values
that crmcore uses for the presets whose terms do not state them.

>>> sorted(PRESETS)
['chmiuro', 'livespace', 'optimasales', 'raynet', 'smartmail']
>>> preset("livespace").trial.length, preset("chmiuro").trial.unit.value
(14, 'months')
>>> preset("smartmail").trial is None, preset("chmiuro").limits.counted_record_kinds
(True, frozenset())
>>> preset("livespace").limits.support_minutes_per_user_month is None   # SUP-1 is raynet's
True
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from crmcore.errors import UnknownPreset
from crmcore.policies import (
    DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH,
    DEFAULT_CARD_DUE_DAYS,
    DEFAULT_TRANSFER_DUE_DAYS,
    RAYNET_RECORD_KINDS,
    BackupPolicy,
    BillingPolicy,
    CopyRequester,
    DowngradeTiming,
    DunningPolicy,
    IncidentPolicy,
    LimitsPolicy,
    MailPolicy,
    NoticePolicy,
    SlaPolicy,
    SlaTier,
    TrialExpiry,
    TrialPolicy,
    TrialUnit,
    VendorPolicy,
    VerificationMethod,
)

__all__ = ["PRESETS", "preset"]

# RULES.md decisions, crmcore's own for every vendor (not any vendor's terms):
_SERIES = "{year}/{number:04d}"  # BILL-6: one gapless series per vendor and year
_CORRECTIONS = "KOR/{year}/{number:04d}"  # BILL-6: correction documents, their own series
_WARNING = Decimal("0.9")  # REC-2: warn at 90 % of the record limit
_ONE_TRIAL = 1  # TRIAL-6: one trial per identity

RAYNET = VendorPolicy(
    name="raynet",
    timezone="Europe/Prague",  # TIME-2
    country="CZ",  # TIME-3
    currency="CZK",
    trial=TrialPolicy(  # TRIAL-1, TRIAL-3, TRIAL-4
        length=30,
        unit=TrialUnit.DAYS,
        conversion_grace_days=15,
        on_expiry=TrialExpiry.PURGE,
        purge_after_days=90,
        top_plan_during_trial=False,
        abuse_allowance=_ONE_TRIAL,
    ),
    billing=BillingPolicy(
        transfer_due_days=14,  # BILL-4
        card_due_days=0,  # BILL-4: charged at issue
        downgrade_takes_effect=DowngradeTiming.IMMEDIATELY,  # PRO-6 decision
        invoice_series=_SERIES,
        correction_series=_CORRECTIONS,
        annual_immediate_except_month=12,  # PRO-3 / PRO-4
        term_discounts=(),  # raynet sells no prepaid terms with discounts
    ),
    dunning=DunningPolicy(block_after_days=3, cancel_after_days=60, purge_after_days=150),
    sla=SlaPolicy(  # SLA-1, SLA-2, SLA-4 (business hours and lead time: decisions)
        target=Decimal("99.50"),
        tiers=(
            SlaTier(below=Decimal("99.50"), credit=Decimal("0.35")),
            SlaTier(below=Decimal("98.00"), credit=Decimal("0.50")),
        ),
        business_hours_start=time(8, 0),
        business_hours_end=time(17, 0),
        maintenance_lead_hours=24,
    ),
    limits=LimitsPolicy(
        record_warning_ratio=_WARNING,
        counted_record_kinds=RAYNET_RECORD_KINDS,  # REC-1
        uncounted_record_kinds=frozenset(),  # REC-1: no kinds declared as not counted
        api_monthly_transfer_gb=100,  # API-2
        api_remedy_business_days=5,  # API-2
        support_minutes_per_user_month=60,  # SUP-1
        esign_free_documents_per_month=4,  # SIGN-1
        esign_signing_window_days=7,  # SIGN-1
        esign_archive_years=3,  # SIGN-1
        linked_files_count_toward_storage=None,  # not stated (STOR-1 is livespace's)
    ),
    mail=None,  # no mailbox service
    # BACKUP-1: daily from 02:00 Prague time, kept 90 days; BACKUP-2/3: 1 free copy per
    # half-year, the last copy free within 80 days of the contract's end; BACKUP-4.
    backup=BackupPolicy(
        local_interval_hours=24,
        offsite_interval_hours=None,
        first_backup_at=time(2, 0),
        retention_days=90,
        free_copies_per_half_year=1,
        last_copy_window_days=80,
        free_advanced_exports=0,
        backs_up_inactive_tenants=True,
        authorised_requesters=frozenset(CopyRequester),
        accepted_methods=frozenset(VerificationMethod),
    ),
    notice=NoticePolicy(  # NOTICE-1..2, END-2
        terms_change_days=15,
        price_change_days=30,
        vendor_notice_months=12,
        posted_notice_deemed_delivered_days=3,
    ),
    incident=None,  # no personal-data incident procedure stated
)

LIVESPACE = VendorPolicy(
    name="livespace",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    trial=TrialPolicy(  # TRIAL-1, TRIAL-4: 14 days, no grace, blocked then deleted
        length=14,
        unit=TrialUnit.DAYS,
        conversion_grace_days=None,
        on_expiry=TrialExpiry.BLOCK_THEN_PURGE,
        purge_after_days=30,  # TRIAL-4 decision: "later" is not stated
        top_plan_during_trial=False,
        abuse_allowance=_ONE_TRIAL,
    ),
    billing=BillingPolicy(
        transfer_due_days=DEFAULT_TRANSFER_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        card_due_days=DEFAULT_CARD_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        downgrade_takes_effect=DowngradeTiming.IMMEDIATELY,  # PRO-6 decision
        invoice_series=_SERIES,
        correction_series=_CORRECTIONS,
        annual_immediate_except_month=DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH,  # PRO-3 Decision
        term_discounts=(),  # TERM-1: the discount table is vendor data, not in the seed
    ),
    dunning=None,  # no payment-delay terms stated
    # SLA-7: a data-centre availability target with no credit tiers (SLA-4: decisions).
    sla=SlaPolicy(
        target=Decimal("99.98"),
        tiers=(),
        business_hours_start=time(8, 0),
        business_hours_end=time(17, 0),
        maintenance_lead_hours=24,
    ),
    limits=LimitsPolicy(
        record_warning_ratio=_WARNING,
        counted_record_kinds=frozenset(),  # REC-5: no record limit
        uncounted_record_kinds=frozenset(),  # REC-1: no kinds declared as not counted
        api_monthly_transfer_gb=None,  # API-2 not stated: no transfer limit
        api_remedy_business_days=None,  # API-2 not stated
        support_minutes_per_user_month=None,  # SUP-1 not stated
        esign_free_documents_per_month=None,  # SIGN-1 not stated
        esign_signing_window_days=None,  # SIGN-1 not stated
        esign_archive_years=None,  # SIGN-1 not stated
        linked_files_count_toward_storage=False,  # STOR-1: mail attachments, Dropbox links
    ),
    mail=None,  # no mailbox service
    # BACKUP-1: every 12 h locally and every 24 h off-site; EXPORT-1: one free advanced export.
    backup=BackupPolicy(
        local_interval_hours=12,
        offsite_interval_hours=24,
        first_backup_at=None,  # BACKUP-1: the hour the schedule starts is not stated
        retention_days=None,  # no period stated: restore to any chosen day and hour
        free_copies_per_half_year=None,  # BACKUP-2 not stated
        last_copy_window_days=None,  # BACKUP-3 not stated
        free_advanced_exports=1,
        backs_up_inactive_tenants=None,  # BACKUP-1: not stated
        authorised_requesters=None,  # BACKUP-4 not stated
        accepted_methods=None,  # BACKUP-4 not stated
    ),
    notice=None,  # no notice periods stated
    incident=None,  # no personal-data incident procedure stated
)

CHMIURO = VendorPolicy(
    name="chmiuro",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    trial=TrialPolicy(  # TRIAL-1: a month of the top package; TRIAL-4: then the free level I
        length=1,
        unit=TrialUnit.MONTHS,
        conversion_grace_days=None,
        on_expiry=TrialExpiry.FREE_PLAN,
        purge_after_days=None,
        top_plan_during_trial=True,
        abuse_allowance=_ONE_TRIAL,
    ),
    billing=BillingPolicy(
        transfer_due_days=DEFAULT_TRANSFER_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        card_due_days=DEFAULT_CARD_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        downgrade_takes_effect=DowngradeTiming.IMMEDIATELY,  # PRO-6 decision
        invoice_series=_SERIES,
        correction_series=_CORRECTIONS,
        annual_immediate_except_month=DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH,  # PRO-3 Decision
        term_discounts=(),  # TERM-1/TERM-3: terms at the plan price, no discount stated
    ),
    dunning=None,  # no payment-delay terms stated
    sla=None,  # no service level stated
    limits=LimitsPolicy(
        record_warning_ratio=_WARNING,
        counted_record_kinds=frozenset(),  # no record limit stated (REC-1 is raynet's)
        uncounted_record_kinds=frozenset(),  # REC-1: no kinds declared as not counted
        api_monthly_transfer_gb=None,  # API-2 not stated: no transfer limit
        api_remedy_business_days=None,  # API-2 not stated
        support_minutes_per_user_month=None,  # SUP-1 not stated
        esign_free_documents_per_month=None,  # SIGN-1 not stated
        esign_signing_window_days=None,  # SIGN-1 not stated
        esign_archive_years=None,  # SIGN-1 not stated
        linked_files_count_toward_storage=None,  # not stated (STOR-1 is livespace's)
    ),
    mail=None,  # no mailbox service
    backup=None,  # no backup terms stated
    notice=None,  # no notice periods stated
    incident=None,  # no personal-data incident procedure stated
)

SMARTMAIL = VendorPolicy(
    name="smartmail",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    trial=None,  # no trial stated
    billing=BillingPolicy(
        transfer_due_days=DEFAULT_TRANSFER_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        card_due_days=DEFAULT_CARD_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        downgrade_takes_effect=DowngradeTiming.IMMEDIATELY,  # PRO-6 decision
        invoice_series=_SERIES,
        correction_series=_CORRECTIONS,
        annual_immediate_except_month=DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH,  # PRO-3 Decision
        term_discounts=(),  # no prepaid terms stated
    ),
    dunning=None,  # no payment-delay terms stated
    sla=None,  # no service level stated
    limits=LimitsPolicy(
        record_warning_ratio=_WARNING,
        counted_record_kinds=frozenset(),  # no record limit stated (REC-1 is raynet's)
        uncounted_record_kinds=frozenset(),  # REC-1: no kinds declared as not counted
        api_monthly_transfer_gb=None,  # API-2 not stated: no transfer limit
        api_remedy_business_days=None,  # API-2 not stated
        support_minutes_per_user_month=None,  # SUP-1 not stated
        esign_free_documents_per_month=None,  # SIGN-1 not stated
        esign_signing_window_days=None,  # SIGN-1 not stated
        esign_archive_years=None,  # SIGN-1 not stated
        linked_files_count_toward_storage=None,  # not stated (STOR-1 is livespace's)
    ),
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
        max_message_bytes=20 * 1024 * 1024,  # MAIL-3 decision: 20 MiB
        reply_lock_expiry_minutes=30,  # MAIL-7 decision: a lock left by a closed tab expires
        bytes_per_gigabyte=1024**3,  # MAIL-1/MAIL-5 decision: binary gigabytes
    ),
    # The seed: one automatic backup a day; data can be restored from the previous day.
    backup=BackupPolicy(
        local_interval_hours=24,
        offsite_interval_hours=None,
        first_backup_at=None,  # BACKUP-1: the hour of the daily backup is not stated
        retention_days=1,  # the previous day's backup
        free_copies_per_half_year=None,  # BACKUP-2 not stated
        last_copy_window_days=None,  # BACKUP-3 not stated
        free_advanced_exports=0,  # EXPORT-1 is livespace's: no free advanced export
        backs_up_inactive_tenants=None,  # BACKUP-1: not stated
        authorised_requesters=None,  # BACKUP-4 not stated
        accepted_methods=None,  # BACKUP-4 not stated
    ),
    notice=None,  # no notice periods stated
    incident=None,  # no personal-data incident procedure stated
)

OPTIMASALES = VendorPolicy(
    name="optimasales",
    timezone="Europe/Warsaw",
    country="PL",
    currency="PLN",
    trial=None,  # a free demo is offered, but no trial terms are stated
    billing=BillingPolicy(
        transfer_due_days=DEFAULT_TRANSFER_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        card_due_days=DEFAULT_CARD_DUE_DAYS,  # BILL-4 not stated: crmcore's Decision
        downgrade_takes_effect=DowngradeTiming.IMMEDIATELY,  # PRO-6 decision
        invoice_series=_SERIES,
        correction_series=_CORRECTIONS,
        annual_immediate_except_month=DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH,  # PRO-3 Decision
        term_discounts=(),  # no prepaid terms stated
    ),
    dunning=None,  # no payment-delay terms stated
    sla=None,  # no service level stated
    limits=LimitsPolicy(
        record_warning_ratio=_WARNING,
        counted_record_kinds=frozenset(),  # no record limit stated (REC-1 is raynet's)
        uncounted_record_kinds=frozenset(),  # REC-1: no kinds declared as not counted
        api_monthly_transfer_gb=None,  # API-2 not stated: no transfer limit
        api_remedy_business_days=None,  # API-2 not stated
        support_minutes_per_user_month=None,  # SUP-1 not stated
        esign_free_documents_per_month=None,  # SIGN-1 not stated
        esign_signing_window_days=None,  # SIGN-1 not stated
        esign_archive_years=None,  # SIGN-1 not stated
        linked_files_count_toward_storage=None,  # not stated (STOR-1 is livespace's)
    ),
    mail=None,  # no mailbox service
    backup=None,  # no backup terms stated (a restore is one remedy of an incident)
    notice=None,  # no notice periods stated
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
