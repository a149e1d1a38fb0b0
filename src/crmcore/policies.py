"""Policy objects: every parameter RULES.md names, as frozen attrs values.

A :class:`VendorPolicy` groups one policy object per rule family. Presets (``crmcore.presets``)
fill them with the seed vendors' values; a vendor changes a parameter with ``attrs.evolve`` or
:meth:`VendorPolicy.with_overrides`, never by editing code. Each "Decision" of RULES.md is a
parameter here with the stated default.

>>> from crmcore.presets import preset
>>> raynet = preset("raynet")
>>> raynet.dunning.block_after_days, raynet.trial.length, raynet.timezone
(3, 30, 'Europe/Prague')
>>> raynet.with_overrides({"dunning": {"block_after_days": 5}}).dunning.block_after_days
5

Long because every parameter RULES.md names, as frozen values: declarative.
"""

from __future__ import annotations

import enum
import functools
import json
import string
from collections.abc import Iterable, Mapping
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import tomli_w

from crmcore.dates import BusinessCalendar, zone
from crmcore.errors import PolicyError, ValidationError
from crmcore.limits import RECORD_KINDS, record_kind, uncounted_kinds
from crmcore.money import minor_units
from crmcore.policy_bounds import (
    MAX_POLICY_BYTES,
    MAX_POLICY_COUNT,
    MAX_POLICY_DAYS,
    MAX_POLICY_HOURS,
    MAX_POLICY_MINUTES,
    MAX_POLICY_MONTHS,
    MAX_SERIES_LENGTH,
    SERIES_FIELDS,
    check_invoice_series,
    check_term_discounts,
)
from crmcore.policy_bounds import bounded_count as _count
from crmcore.policy_bounds import bounded_ratio as _ratio
from crmcore.serialization import (
    converter,
    parse_document,
    read_document_file,
    structure_strict,
)

__all__ = [
    "DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH",
    "DEFAULT_CARD_DUE_DAYS",
    "DEFAULT_TRANSFER_DUE_DAYS",
    "MAX_POLICY_BYTES",
    "MAX_POLICY_COUNT",
    "MAX_POLICY_DAYS",
    "MAX_POLICY_HOURS",
    "MAX_POLICY_MINUTES",
    "MAX_POLICY_MONTHS",
    "MAX_SERIES_LENGTH",
    "SERIES_FIELDS",
    "BackupPolicy",
    "BillingPolicy",
    "CopyRequester",
    "DowngradeTiming",
    "DunningPolicy",
    "IncidentPolicy",
    "LimitsPolicy",
    "MailPolicy",
    "NoticePolicy",
    "SlaPolicy",
    "SlaTier",
    "TrialExpiry",
    "TrialPolicy",
    "TrialUnit",
    "VendorPolicy",
    "VerificationMethod",
    "check_invoice_series",
]


# --- trials (TRIAL-1..6) --------------------------------------------------------------------------


class TrialUnit(enum.StrEnum):
    DAYS = "days"
    MONTHS = "months"


class TrialExpiry(enum.StrEnum):
    """What happens to a trial that is not converted (TRIAL-4)."""

    PURGE = "purge"  # raynet: no access (TRIAL-5), data purged after purge_after_days
    BLOCK_THEN_PURGE = "block_then_purge"  # livespace: blocked at once, purged later
    FREE_PLAN = "free_plan"  # chmiuro: moves to the free plan, deletes nothing


@attrs.frozen
class TrialPolicy:
    """TRIAL-1..6. ``conversion_grace_days=None`` means conversion only during the trial."""

    length: int = attrs.field(default=30, validator=_count(MAX_POLICY_DAYS, "TRIAL-1", 1))
    unit: TrialUnit = TrialUnit.DAYS
    conversion_grace_days: int | None = attrs.field(
        default=15, validator=_count(MAX_POLICY_DAYS, "TRIAL-3")
    )
    on_expiry: TrialExpiry = TrialExpiry.PURGE
    purge_after_days: int | None = attrs.field(
        default=90, validator=_count(MAX_POLICY_DAYS, "TRIAL-4")
    )
    top_plan_during_trial: bool = False
    abuse_allowance: int = attrs.field(  # TRIAL-6 decision
        default=1, validator=_count(MAX_POLICY_COUNT, "TRIAL-6")
    )

    def __attrs_post_init__(self) -> None:
        if self.unit == TrialUnit.MONTHS and self.length > MAX_POLICY_MONTHS:
            raise ValidationError(
                f"must be at most {MAX_POLICY_MONTHS} months, got {self.length}",
                field="length",
                rule="TRIAL-1",
            )


# --- billing and proration (BILL, PRO, TERM) ------------------------------------------------------


class DowngradeTiming(enum.StrEnum):
    """PRO-6 decision: when a downgrade's lower entitlements apply (its price: next period)."""

    IMMEDIATELY = "immediately"
    NEXT_PERIOD = "next_period"


#: Decision (BILL-4): a transfer is due 14 days after the issue date for every vendor whose
#: terms state no due period. The 14 days are raynet's (BILL-4); crmcore uses them as its own
#: default so an invoice paid by transfer always has a due date (PAY-1 counts from it).
DEFAULT_TRANSFER_DUE_DAYS = 14

#: Decision (BILL-4): a card payment is charged at issue (due 0 days after it) for every vendor
#: whose terms state no card terms; "charged automatically at issue" is raynet's (BILL-4).
DEFAULT_CARD_DUE_DAYS = 0

#: Decision (PRO-3, PRO-4): seats bought and upgrades during an annual period are invoiced at
#: once except in the 12th month (then on the next invoice), for every vendor whose terms state
#: no such exception. The 12th month is raynet's (PRO-3); crmcore uses it as its own default.
DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH = 12


#: The numbers :func:`check_numbering` renders: the first ones, and those next to every power
#: of ten a format's width (at most 99) can make a difference at.
_SAMPLE_NUMBERS = tuple(
    sorted({*range(1, 120), *(10**k + d for k in range(2, 101) for d in (-1, 0, 1))})
)


@functools.lru_cache(maxsize=256)
def _shared_numbers(invoice_series: str, correction_series: str) -> list[str]:
    """The numbers of two templates (checked ones) that are alike for years 2026-2027 and
    :data:`_SAMPLE_NUMBERS`: none when they number apart (BILL-6)."""
    invoices, corrections = (
        {template.format(year=year, number=n) for year in (2026, 2027) for n in _SAMPLE_NUMBERS}
        for template in (invoice_series, correction_series)
    )
    return sorted(invoices & corrections)


def check_numbering(billing: BillingPolicy, root: str = "") -> None:
    """BILL-6 for terms about to be stored or run (a vendor's new version, a scenario): every
    number unique per vendor. A series is numbered from 1 again every year, so a template
    needs ``{year}``; and an invoice and a correction never share a number (their templates
    may differ as text and render alike: ``{year}/{number}`` and ``{year}/{number:d}``).
    Checked when terms are saved, not when stored ones are read: a vendor stored before keeps
    being readable, and a version correcting it can be saved. ``root``: the path the billing
    policy is at (``policy.billing.``)."""
    for name in ("invoice_series", "correction_series"):
        template = getattr(billing, name)
        fields = {field for _t, field, _s, _c in string.Formatter().parse(template) if field}
        if "year" not in fields:
            raise ValidationError(
                f"must contain {{year}}: a series is numbered from 1 again every year, so a"
                f" number without its year is not unique, got {template!r}",
                field=f"{root}{name}",
                rule="BILL-6",
            )
    shared = _shared_numbers(billing.invoice_series, billing.correction_series)
    if shared:
        raise ValidationError(
            f"must give numbers other than invoice_series {billing.invoice_series!r} gives"
            f" ({shared[0]!r} is both): corrections are numbered in their own series",
            field=f"{root}correction_series",
            rule="BILL-6",
        )


@attrs.frozen
class BillingPolicy:
    """BILL-1..7, PRO-1..7, TERM-1..3."""

    transfer_due_days: int = attrs.field(  # BILL-4
        default=DEFAULT_TRANSFER_DUE_DAYS, validator=_count(MAX_POLICY_DAYS, "BILL-4")
    )
    card_due_days: int = attrs.field(  # charged at issue
        default=DEFAULT_CARD_DUE_DAYS, validator=_count(MAX_POLICY_DAYS, "BILL-4")
    )
    downgrade_takes_effect: DowngradeTiming = DowngradeTiming.IMMEDIATELY  # PRO-6
    invoice_series: str = attrs.field(  # BILL-6: per vendor and year
        default="{year}/{number:04d}", validator=lambda _i, _a, value: check_invoice_series(value)
    )
    correction_series: str = attrs.field(  # BILL-6: corrections, their own series
        default="KOR/{year}/{number:04d}",
        validator=lambda _i, _a, value: check_invoice_series(value, "correction_series"),
    )
    annual_immediate_except_month: int = attrs.field(  # PRO-3 / PRO-4: the 12th-month exception
        default=DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH, validator=_count(12, "PRO-3", 1)
    )
    term_discounts: tuple[tuple[int, Decimal], ...] = attrs.field(  # TERM-1: (min months, ratio)
        default=(), validator=lambda _i, _a, value: check_term_discounts(value)
    )

    def __attrs_post_init__(self) -> None:
        if self.correction_series == self.invoice_series:
            raise ValidationError(
                f"must differ from invoice_series {self.invoice_series!r}: corrections are"
                " numbered in their own series",
                field="correction_series",
                rule="BILL-6",
            )

    def term_discount(self, months: int) -> Decimal:
        """The discount ratio for a prepaid term of ``months`` (TERM-1); 0 when none applies."""
        best = Decimal(0)
        for min_months, ratio in self.term_discounts:
            if months >= min_months and ratio > best:
                best = ratio
        return best


# --- payment delay (PAY-1..6) ---------------------------------------------------------------------


@attrs.frozen
class DunningPolicy:
    """PAY-6: thresholds in days overdue (``more than`` N days)."""

    block_after_days: int = attrs.field(default=3, validator=_count(MAX_POLICY_DAYS, "PAY-6"))
    cancel_after_days: int = attrs.field(default=60, validator=_count(MAX_POLICY_DAYS, "PAY-6"))
    purge_after_days: int = attrs.field(default=150, validator=_count(MAX_POLICY_DAYS, "PAY-6"))

    def __attrs_post_init__(self) -> None:
        if not self.block_after_days < self.cancel_after_days < self.purge_after_days:
            raise ValidationError(
                "thresholds must increase: block < cancel < purge, got "
                f"{self.block_after_days} / {self.cancel_after_days} / {self.purge_after_days}",
                field="dunning",
                rule="PAY-6",
            )


# --- service level (SLA-1..7) ---------------------------------------------------------------------


@attrs.frozen
class SlaTier:
    """Availability strictly below ``below`` (percent) earns ``credit`` (ratio of the fee)."""

    below: Decimal = attrs.field(validator=_ratio(Decimal(0), Decimal(100), "SLA-2"))
    # A ratio of the fee; SLA-6 caps the credit at the fee, so a misconfigured tier above 1 is
    # harmless and accepted, up to a bound that keeps the arithmetic small.
    credit: Decimal = attrs.field(validator=_ratio(Decimal(0), Decimal(10), "SLA-2"))


@attrs.frozen
class SlaPolicy:
    """SLA-1..7. ``tiers`` empty means a target without credits (SLA-7)."""

    target: Decimal = attrs.field(
        default=Decimal("99.50"), validator=_ratio(Decimal(0), Decimal(100), "SLA-1")
    )
    tiers: tuple[SlaTier, ...] = (
        SlaTier(Decimal("99.50"), Decimal("0.35")),
        SlaTier(Decimal("98.00"), Decimal("0.50")),
    )
    business_hours_start: time = time(8, 0)
    business_hours_end: time = time(17, 0)
    maintenance_lead_hours: int = attrs.field(
        default=24, validator=_count(MAX_POLICY_HOURS, "SLA-4")
    )

    def __attrs_post_init__(self) -> None:
        if not self.business_hours_start < self.business_hours_end:
            raise ValidationError(
                f"must be after business_hours_start {self.business_hours_start}, "
                f"got {self.business_hours_end}",
                field="business_hours_end",
                rule="SLA-4",
            )

    def credit_ratio(self, availability_percent: Any) -> Decimal:
        """The credit ratio for an exact availability (SLA-2): the largest tier it falls below.

        Compared exactly: 99.499999 is below 99.50 and earns the 35% tier.
        """
        ratio = Decimal(0)
        for tier in self.tiers:
            if availability_percent < tier.below and tier.credit > ratio:
                ratio = tier.credit
        return ratio


# --- limits (REC, API, STOR, SUP, SIGN) -----------------------------------------------------------

# REC-1: the vocabulary lives in crmcore.limits (RECORD_KINDS); raynet counts all 15 kinds.
RAYNET_RECORD_KINDS: frozenset[str] = RECORD_KINDS


def _counted_kinds(kinds: Iterable[object]) -> frozenset[str]:
    if isinstance(kinds, str) or not isinstance(kinds, Iterable):
        raise ValidationError(
            f"must be a list of record kinds, got {kinds!r}",
            field="counted_record_kinds",
            rule="REC-1",
        )
    return frozenset(record_kind(kind, field="counted_record_kinds") for kind in kinds)


@attrs.frozen
class LimitsPolicy:
    """REC-1..6, API-1..2, STOR-1, SUP-1, SIGN-1.

    The API-2, SUP-1, SIGN-1 and STOR-1 parameters are one vendor's terms (raynet's, and
    livespace's for linked files); ``None`` means the vendor states no such term, never
    another vendor's value. What each ``None`` does is documented where it is used
    (``crmcore.limits``): ``api_monthly_transfer_gb=None`` is no transfer limit (no API-2
    notice is ever due); the others refuse with :class:`~crmcore.errors.TermNotStated` when
    the answer depends on them.
    """

    record_warning_ratio: Decimal = attrs.field(  # REC-2 decision
        default=Decimal("0.9"),
        validator=_ratio(Decimal(0), Decimal(1), "REC-2", open_low=True),
    )
    counted_record_kinds: frozenset[str] = attrs.field(  # REC-1, any accepted spelling
        default=RAYNET_RECORD_KINDS, converter=_counted_kinds
    )
    # REC-1: kinds the vendor's CRM has beyond the REC-1 ones, accepted and never counted.
    uncounted_record_kinds: frozenset[str] = attrs.field(
        default=frozenset(), converter=uncounted_kinds
    )
    api_monthly_transfer_gb: int | None = attrs.field(  # API-2 (raynet); None: no limit
        default=100, validator=_count(MAX_POLICY_BYTES, "API-2")
    )
    api_remedy_business_days: int | None = attrs.field(  # API-2 (raynet)
        default=5, validator=_count(MAX_POLICY_DAYS, "API-2")
    )
    support_minutes_per_user_month: int | None = attrs.field(  # SUP-1 (raynet)
        default=60, validator=_count(MAX_POLICY_MINUTES, "SUP-1")
    )
    esign_free_documents_per_month: int | None = attrs.field(  # SIGN-1 (raynet)
        default=4, validator=_count(MAX_POLICY_COUNT, "SIGN-1")
    )
    esign_signing_window_days: int | None = attrs.field(  # SIGN-1 (raynet)
        default=7, validator=_count(MAX_POLICY_DAYS, "SIGN-1")
    )
    esign_archive_years: int | None = attrs.field(  # SIGN-1 (raynet)
        default=3, validator=_count(MAX_POLICY_MONTHS // 12, "SIGN-1")
    )
    # STOR-1 (livespace: False, linked files do not count); None: not stated (raynet's default,
    # as raynet's terms do not say either).
    linked_files_count_toward_storage: bool | None = None


# --- services (MAIL, BACKUP, EXPORT, NOTICE, END, GDPR) -------------------------------------------


@attrs.frozen
class MailPolicy:
    """MAIL-1..7 (smartmail). Capacity tiers: (gigabytes, net price per year)."""

    capacity_tiers: tuple[tuple[Decimal, Decimal], ...] = (
        (Decimal("1.2"), Decimal("600")),
        (Decimal("3"), Decimal("1200")),
        (Decimal("6"), Decimal("2400")),
        (Decimal("12"), Decimal("3500")),
    )
    tier_currency: str = "PLN"
    spam_retention_days: int = attrs.field(  # MAIL-2
        default=90, validator=_count(MAX_POLICY_DAYS, "MAIL-2")
    )
    max_attachments: int = attrs.field(  # MAIL-3
        default=3, validator=_count(MAX_POLICY_COUNT, "MAIL-3")
    )
    max_message_bytes: int = attrs.field(  # MAIL-3 decision: 20 MiB
        default=20 * 1024 * 1024, validator=_count(MAX_POLICY_BYTES, "MAIL-3")
    )
    reply_lock_expiry_minutes: int = attrs.field(  # MAIL-7
        default=30, validator=_count(MAX_POLICY_MINUTES, "MAIL-7", 1)
    )
    # MAIL-1/MAIL-5 decision: capacity tiers are binary gigabytes, like the MAIL-3 MiB limit.
    bytes_per_gigabyte: int = attrs.field(
        default=1024**3, validator=_count(MAX_POLICY_BYTES, "MAIL-1", 1)
    )

    def __attrs_post_init__(self) -> None:
        if not self.capacity_tiers or any(
            size <= 0 or price < 0 for size, price in self.capacity_tiers
        ):
            raise ValidationError(
                f"needs at least one tier, sizes > 0 and prices >= 0, got {self.capacity_tiers}",
                field="capacity_tiers",
                rule="MAIL-1",
            )


class CopyRequester(enum.StrEnum):
    """Who may ask for a backup copy or another sensitive service (BACKUP-4)."""

    CUSTOMER = "customer"  # the customer in person (a natural person)
    BOARD_MEMBER = "board_member"  # a board member of a customer that is a legal person
    PROXY = "proxy"  # a proxy whose power of attorney bears a certified signature


class VerificationMethod(enum.StrEnum):
    """How a sensitive request is verified (BACKUP-4)."""

    CERTIFIED_SIGNATURE = "certified_signature"
    DATA_BOX = "data_box"
    ONLINE_SIGNATURE = "online_signature"
    QUALIFIED_ESIGNATURE_WITH_TIMESTAMP = "qualified_esignature_with_timestamp"
    OTHER_UNAMBIGUOUS = "other_unambiguous"


def _hours_in_a_day(_i: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not 1 <= value <= 24:
        raise ValidationError(
            f"must be 1..24 hours, got {value}", field=attribute.name, rule="BACKUP-1"
        )


def _requesters(values: Iterable[str] | None) -> frozenset[CopyRequester] | None:
    # The shared converter structures a StrEnum as a plain str; coerce (and validate) here.
    if values is None:  # BACKUP-4 not stated
        return None
    return frozenset(CopyRequester(value) for value in values)


def _methods(values: Iterable[str] | None) -> frozenset[VerificationMethod] | None:
    if values is None:  # BACKUP-4 not stated
        return None
    return frozenset(VerificationMethod(value) for value in values)


@attrs.frozen
class BackupPolicy:
    """BACKUP-1..4, EXPORT-1.

    ``first_backup_at``, ``free_copies_per_half_year``, ``last_copy_window_days``,
    ``backs_up_inactive_tenants``, ``authorised_requesters`` and ``accepted_methods`` are
    raynet's terms (BACKUP-1..4); ``None`` means the vendor states no such term, and the
    function that needs it (``crmcore.backups``) refuses with
    :class:`~crmcore.errors.TermNotStated` rather than apply raynet's.
    """

    # BACKUP-1: runs at first_backup_at and every interval after it within the day (1..24 h)
    local_interval_hours: int = attrs.field(default=24, validator=_hours_in_a_day)  # raynet
    offsite_interval_hours: int | None = attrs.field(  # livespace: 24
        default=None, validator=_hours_in_a_day
    )
    first_backup_at: time | None = time(2, 0)  # raynet: from 02:00 vendor time
    # None: no retention period stated (livespace: any chosen day and hour)
    retention_days: int | None = attrs.field(
        default=90,
        validator=_count(MAX_POLICY_DAYS, "BACKUP-1"),  # None allowed
    )
    # BACKUP-2 decision: per calendar half-year
    free_copies_per_half_year: int | None = attrs.field(
        default=1, validator=_count(MAX_POLICY_COUNT, "BACKUP-2")
    )
    last_copy_window_days: int | None = attrs.field(  # BACKUP-3
        default=80, validator=_count(MAX_POLICY_DAYS, "BACKUP-3")
    )
    free_advanced_exports: int = attrs.field(  # EXPORT-1
        default=0, validator=_count(MAX_POLICY_COUNT, "EXPORT-1")
    )
    # BACKUP-1 (raynet): blocked, cancelled, awaiting-purge instances are backed up too;
    # None: not stated (informational: no crmcore function reads a tenant's status for it).
    backs_up_inactive_tenants: bool | None = True
    # BACKUP-4: the vendor's lists; a customer may narrow them (crmcore.backups).
    authorised_requesters: frozenset[CopyRequester] | None = attrs.field(
        default=frozenset(CopyRequester), converter=_requesters
    )
    accepted_methods: frozenset[VerificationMethod] | None = attrs.field(
        default=frozenset(VerificationMethod), converter=_methods
    )


@attrs.frozen
class NoticePolicy:
    """NOTICE-1..4, END-1..4."""

    terms_change_days: int = attrs.field(  # NOTICE-1
        default=15, validator=_count(MAX_POLICY_DAYS, "NOTICE-1")
    )
    price_change_days: int = attrs.field(  # NOTICE-2
        default=30, validator=_count(MAX_POLICY_DAYS, "NOTICE-2")
    )
    vendor_notice_months: int = attrs.field(  # END-2
        default=12, validator=_count(MAX_POLICY_MONTHS, "END-2")
    )
    posted_notice_deemed_delivered_days: int = attrs.field(  # END-2
        default=3, validator=_count(MAX_POLICY_DAYS, "END-2")
    )


@attrs.frozen
class IncidentPolicy:
    """GDPR-1..4 (optimasales)."""

    authority_deadline_hours: int = attrs.field(  # GDPR-2
        default=72, validator=_count(MAX_POLICY_HOURS, "GDPR-2", 1)
    )
    authority_name: str = "UODO"


# --- the vendor ----------------------------------------------------------------------------------


def _valid_zone(_i: object, _a: attrs.Attribute[str], value: str) -> None:
    zone(value)


def _valid_country(_i: object, _a: attrs.Attribute[str], value: str) -> None:
    _calendar(value)  # TIME-3: the country must have public-holiday data


def _valid_currency(_i: object, _a: attrs.Attribute[str], value: str) -> None:
    minor_units(value)


@attrs.frozen
class VendorPolicy:
    """One vendor's terms: timezone and country (TIME-2, TIME-3) plus one policy per family.

    A family the vendor's terms say nothing about is ``None`` (not applicable), never another
    vendor's values: ``trial=None`` no trial (a tenant buys at once), ``dunning=None`` no
    payment-delay consequences, ``sla=None`` no availability guarantee, ``mail``,
    ``backup``, ``notice``, ``incident`` ``None`` when the vendor states no such terms.
    """

    name: str
    timezone: str = attrs.field(validator=_valid_zone)
    country: str = attrs.field(default="PL", validator=_valid_country)
    currency: str = attrs.field(default="PLN", validator=_valid_currency)
    trial: TrialPolicy | None = attrs.field(factory=TrialPolicy)
    billing: BillingPolicy = attrs.field(factory=BillingPolicy)
    dunning: DunningPolicy | None = attrs.field(factory=DunningPolicy)
    sla: SlaPolicy | None = attrs.field(factory=SlaPolicy)
    limits: LimitsPolicy = attrs.field(factory=LimitsPolicy)
    mail: MailPolicy | None = attrs.field(factory=MailPolicy)
    backup: BackupPolicy | None = attrs.field(factory=BackupPolicy)
    notice: NoticePolicy | None = attrs.field(factory=NoticePolicy)
    incident: IncidentPolicy | None = attrs.field(factory=IncidentPolicy)

    def business_calendar(self) -> BusinessCalendar:
        """Business days of the vendor's country (TIME-3)."""
        return _calendar(self.country)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = converter.unstructure(self)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VendorPolicy:
        return structure_strict(
            data, VendorPolicy, error=lambda errors: PolicyError(errors, what="policy")
        )

    def with_overrides(
        self, overrides: Mapping[str, Any], root: str = "$.overrides"
    ) -> VendorPolicy:
        """A copy with documented parameters replaced; unknown names are refused by path."""
        if not isinstance(overrides, Mapping):
            raise PolicyError([f"{root}: must be an object"], what="policy")
        _require_whole_families(self, overrides, root)
        merged = _deep_merge(self.to_dict(), overrides, root)
        return structure_strict(
            merged,
            VendorPolicy,
            error=lambda errors: PolicyError(errors, what="policy"),
            root=root,
        )

    def dumps_json(self) -> str:
        """The policy as a JSON document (``None`` parameters as ``null``)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def loads_json(cls, text: str) -> VendorPolicy:
        return cls.from_dict(parse_document(text, "json", error=_policy_error))

    def dumps_toml(self) -> str:
        """The policy as a TOML document.

        TOML has no null, and leaving a ``None`` parameter out would bring back its default
        (livespace's ``conversion_grace_days=None`` would load as 15). So ``None`` parameters
        are listed by dotted path in a top-level ``null`` array, e.g.
        ``null = ["trial.conversion_grace_days"]``, which :meth:`loads_toml` restores.
        """
        nulls: list[str] = []
        data = _without_none(self.to_dict(), "", nulls)
        if nulls:
            data = {TOML_NULLS: nulls, **data}
        return tomli_w.dumps(data)

    @classmethod
    def loads_toml(cls, text: str) -> VendorPolicy:
        """A policy from TOML; paths listed in the top-level ``null`` array become ``None``."""
        return cls.from_dict(toml_document(text))

    def with_overrides_from(self, path: str | Path) -> VendorPolicy:
        """A copy with the parameters of a ``.json`` or ``.toml`` override file replaced.

        The file holds only the parameters to change (``[dunning]\nblock_after_days = 5``);
        unknown names and bad values are refused with every path, as in :meth:`with_overrides`.
        """
        fmt, text = read_document_file(path, error=_policy_error)
        if fmt == "toml":
            data = toml_document(text)
        else:
            data = parse_document(text, "json", error=_policy_error)
        return self.with_overrides(data, root="$")

    @classmethod
    def load(cls, path: str | Path) -> VendorPolicy:
        """Load a whole policy from a ``.json`` or ``.toml`` file."""
        fmt, text = read_document_file(path, error=_policy_error)
        if fmt == "toml":
            return cls.loads_toml(text)
        return cls.loads_json(text)

    def dump(self, path: str | Path) -> None:
        """Write the policy to a ``.json`` or ``.toml`` file (chosen by the suffix)."""
        file = Path(path)
        text = self.dumps_toml() if file.suffix.lower() == ".toml" else self.dumps_json()
        file.write_text(text, encoding="utf-8")


__all__ += ["TOML_NULLS", "toml_document"]  # kept apart: families add to the list above

#: Top-level key of a TOML policy or override document listing the parameters set to ``None``.
TOML_NULLS = "null"


def toml_document(text: str) -> dict[str, Any]:
    r"""Parse a TOML policy (or override) document, turning its ``null`` paths into ``None``.

    >>> toml_document('null = ["trial.purge_after_days"]\n[trial]\nlength = 7\n')
    {'trial': {'length': 7, 'purge_after_days': None}}
    """
    data: dict[str, Any] = parse_document(text, "toml", error=_policy_error)
    nulls = data.pop(TOML_NULLS, [])
    if not isinstance(nulls, list) or not all(isinstance(p, str) and p for p in nulls):
        raise PolicyError([f"$.{TOML_NULLS}: must be a list of dotted paths"], what="policy")
    errors: list[str] = []
    for path in nulls:
        *parents, leaf = path.split(".")
        table: Any = data
        for part in parents:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                errors.append(f"$.{path}: {part} is not a table")
                break
        else:
            table[leaf] = None
    if errors:
        raise PolicyError(errors, what="policy")
    return data


def _without_none(value: dict[str, Any], prefix: str, nulls: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            nulls.append(prefix + key)
        elif isinstance(item, dict):
            result[key] = _without_none(item, f"{prefix}{key}.", nulls)
        else:
            result[key] = item
    return result


def _require_whole_families(policy: VendorPolicy, overrides: Mapping[str, Any], root: str) -> None:
    """A family the policy leaves out (``None``: its vendor states no such terms) must be given
    whole: filling its other parameters from the class defaults would borrow raynet's terms."""
    families: dict[str, type] = {
        "trial": TrialPolicy,
        "dunning": DunningPolicy,
        "sla": SlaPolicy,
        "mail": MailPolicy,
        "backup": BackupPolicy,
        "notice": NoticePolicy,
        "incident": IncidentPolicy,
    }
    errors: list[str] = []
    for family, cls in families.items():
        value = overrides.get(family)
        if getattr(policy, family) is not None or not isinstance(value, Mapping):
            continue
        errors.extend(
            f"{root}.{family}.{field.name}: required, {policy.name} states no {family} terms"
            for field in attrs.fields(cls)
            if field.name not in value
        )
    if errors:
        raise PolicyError(errors, what="policy")


def _deep_merge(base: dict[str, Any], overrides: Mapping[str, Any], root: str) -> dict[str, Any]:
    errors: list[str] = []
    result = dict(base)
    for key, value in overrides.items():
        path = f"{root}.{key}"
        if key not in base:
            errors.append(f"{path}: unknown policy parameter")
        elif isinstance(base[key], dict) and isinstance(value, Mapping):
            try:
                result[key] = _deep_merge(base[key], value, path)
            except PolicyError as exc:
                errors.extend(exc.errors)
        else:
            result[key] = value
    if errors:
        raise PolicyError(errors, what="policy")
    return result


_calendars: dict[str, BusinessCalendar] = {}


def _calendar(country: str) -> BusinessCalendar:
    if country not in _calendars:
        _calendars[country] = BusinessCalendar(country)
    return _calendars[country]


def _policy_error(errors: list[str]) -> PolicyError:
    return PolicyError(errors, what="policy")
