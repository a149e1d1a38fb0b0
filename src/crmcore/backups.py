"""Backups, backup copies and the advanced export (BACKUP-1..4, EXPORT-1).

>>> from datetime import date
>>> from crmcore.presets import preset
>>> [t.strftime("%H:%M") for t, _ in backup_times(date(2026, 3, 2), preset("livespace"))]
['02:00', '02:00', '14:00']
>>> half_year_of(date(2026, 7, 1))
Period(first_day=datetime.date(2026, 7, 1), last_day=datetime.date(2026, 12, 31))
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import attrs

from crmcore.dates import add_calendar_days, require_aware, zone
from crmcore.errors import BackupRefused, RequestNotAuthorised, ValidationError
from crmcore.i18n import N_
from crmcore.money import Money
from crmcore.periods import Period
from crmcore.policies import BackupPolicy, CopyRequester, VendorPolicy, VerificationMethod

__all__ = [
    "BackupKind",
    "CopyCharge",
    "CopyRequest",
    "CustomerNarrowing",
    "ExportCharge",
    "advanced_export_charge",
    "authorise_request",
    "backup_times",
    "copy_charge",
    "half_year_of",
    "last_copy_charge",
    "restore_points",
]


# --- BACKUP-1: schedule, retention, restore points ------------------------------------------------


class BackupKind(enum.StrEnum):
    LOCAL = "local"
    OFFSITE = "offsite"


def _runs(
    day: date, vendor: VendorPolicy, first: time, hours: int, kind: BackupKind
) -> list[tuple[datetime, BackupKind]]:
    # Decision: a wall-clock schedule in vendor time (02:00, 14:00, ...), so a DST change never
    # moves a backup off its hour; a wall time skipped by DST moves forward.
    tz = zone(vendor.timezone)
    wall = datetime.combine(day, first)
    runs = []
    while wall.date() == day:
        runs.append((wall.replace(tzinfo=tz).astimezone(tz), kind))
        wall += timedelta(hours=hours)
    return runs


def backup_times(day: date, vendor: VendorPolicy) -> tuple[tuple[datetime, BackupKind], ...]:
    """The backups taken on ``day`` (vendor time), in time order (BACKUP-1).

    raynet: one at 02:00 Prague time; livespace: local at 02:00 and 14:00, off-site at 02:00.
    Inactive tenants (blocked, cancelled, awaiting purge) are backed up alike. A vendor that
    states no backups (``vendor.backup is None``) has none to list.
    """
    policy = vendor.backup
    if policy is None:
        return ()
    first = policy.first_backup_at
    runs = _runs(day, vendor, first, policy.local_interval_hours, BackupKind.LOCAL)
    if policy.offsite_interval_hours is not None:
        runs += _runs(day, vendor, first, policy.offsite_interval_hours, BackupKind.OFFSITE)
    return tuple(sorted(runs, key=lambda run: (run[0], run[1] != BackupKind.LOCAL)))


def restore_points(
    day: date, now: datetime, vendor: VendorPolicy
) -> tuple[tuple[datetime, BackupKind], ...]:
    """The backups of ``day`` one can restore to at ``now``: taken by then and still kept.

    Each backup is kept ``retention_days`` (raynet 90; ``None`` when the vendor states no
    period, livespace) after it was taken (BACKUP-1): the 02:00 backup
    of 1 Jan is gone at 02:00 on 1 Apr (90 days later, wall clock in vendor time).
    """
    require_aware(now, "now")
    if vendor.backup is None:  # no backups stated
        return ()
    keep = vendor.backup.retention_days
    return tuple(
        (at, kind)
        for at, kind in backup_times(day, vendor)
        # retention None: no period stated, every backup taken so far can be restored
        if at <= now and (keep is None or now < add_calendar_days(at, keep, vendor.timezone))
    )


# --- BACKUP-2 / BACKUP-3: copies ------------------------------------------------------------------


def half_year_of(day: date) -> Period:
    """The calendar half-year holding ``day``: Jan-Jun or Jul-Dec (BACKUP-2 decision)."""
    if day.month <= 6:
        return Period(date(day.year, 1, 1), date(day.year, 6, 30))
    return Period(date(day.year, 7, 1), date(day.year, 12, 31))


@attrs.frozen
class CopyRequest:
    """A backup copy the customer asked for, on ``requested_on`` (vendor date)."""

    requested_on: date
    free: bool


@attrs.frozen
class CopyCharge:
    """What a copy costs and why: ``used`` free copies already taken in ``window``."""

    price: Money
    free: bool
    window: Period
    used: int
    allowance: int
    rule: str


def copy_charge(
    requested_on: date,
    earlier: Iterable[CopyRequest],
    extra_copy_price: Money,
    policy: BackupPolicy,
) -> CopyCharge:
    """The price of a backup copy requested on ``requested_on`` (BACKUP-2).

    ``free_copies_per_half_year`` (1) copies per calendar half-year are free; each further
    copy costs ``extra_copy_price`` from the vendor's price list (PLAN-4).
    """
    window = half_year_of(requested_on)
    used = sum(1 for copy in earlier if copy.free and window.contains(copy.requested_on))
    allowance = policy.free_copies_per_half_year
    if used < allowance:
        return CopyCharge(
            Money.zero(extra_copy_price.currency), True, window, used, allowance, "BACKUP-2"
        )
    return CopyCharge(extra_copy_price.rounded(), False, window, used, allowance, "BACKUP-2")


def last_copy_charge(
    contract_ended_on: date, requested_on: date, extra_copy_price: Money, policy: BackupPolicy
) -> CopyCharge:
    """The last backup copy after the contract ended (BACKUP-3).

    Free when requested within ``last_copy_window_days`` (80) of the end: ended 31 Jan 2026 →
    free up to and including 21 Apr 2026. Later, no copy is made (the window has closed).
    """
    last_day = contract_ended_on + timedelta(days=policy.last_copy_window_days)
    if requested_on < contract_ended_on:
        raise ValidationError(
            f"requested {requested_on} before the contract ended {contract_ended_on}",
            field="requested_on",
            rule="BACKUP-3",
        )
    if requested_on > last_day:
        raise BackupRefused(
            N_(
                "The last backup copy had to be requested within {days} days of the contract's "
                "end on {ended}, that is by {last_day}; it was requested on {requested}."
            ),
            {
                "days": policy.last_copy_window_days,
                "ended": contract_ended_on,
                "last_day": last_day,
                "requested": requested_on,
            },
            field="requested_on",
            rule="BACKUP-3",
        )
    window = Period(contract_ended_on, last_day)
    return CopyCharge(Money.zero(extra_copy_price.currency), True, window, 0, 1, "BACKUP-3")


# --- BACKUP-4: who may ask, and how ---------------------------------------------------------------


@attrs.frozen
class CustomerNarrowing:
    """The customer's own, narrower lists of people and methods (BACKUP-4); ``None`` = the
    vendor's list."""

    requesters: frozenset[CopyRequester] | None = None
    methods: frozenset[VerificationMethod] | None = None


def authorise_request(
    requester: CopyRequester,
    method: VerificationMethod,
    policy: BackupPolicy,
    narrowing: CustomerNarrowing | None = None,
    *,
    customer_is_legal_person: bool = False,
) -> None:
    """Refuse a copy (or other sensitive) request from someone not authorised or verified by a
    method not accepted (BACKUP-4). The customer may only narrow the vendor's lists.

    A board member speaks for a legal person only; "customer" in person for a natural person.
    """
    narrowing = narrowing or CustomerNarrowing()
    people = policy.authorised_requesters
    if narrowing.requesters is not None:  # an empty set narrows to nobody
        people = people & narrowing.requesters
    methods = policy.accepted_methods
    if narrowing.methods is not None:
        methods = methods & narrowing.methods
    if requester is CopyRequester.BOARD_MEMBER and not customer_is_legal_person:
        people = people - {CopyRequester.BOARD_MEMBER}
    if requester is CopyRequester.CUSTOMER and customer_is_legal_person:
        people = people - {CopyRequester.CUSTOMER}
    if requester not in people:
        raise RequestNotAuthorised(
            N_("A request from {requester} is not accepted; accepted: {accepted}."),
            {"requester": requester.value, "accepted": ", ".join(sorted(people)) or "-"},
            field="requester",
            rule="BACKUP-4",
        )
    if method not in methods:
        raise RequestNotAuthorised(
            N_("Verification by {method} is not accepted; accepted: {accepted}."),
            {"method": method.value, "accepted": ", ".join(sorted(methods)) or "-"},
            field="method",
            rule="BACKUP-4",
        )


# --- EXPORT-1 -------------------------------------------------------------------------------------


@attrs.frozen
class ExportCharge:
    """Whether an advanced export is free, and the rule (EXPORT-1)."""

    free: bool
    free_left_after: int
    rule: str = "EXPORT-1"


def advanced_export_charge(
    in_trial: bool, free_exports_used: int, policy: BackupPolicy
) -> ExportCharge:
    """livespace: one advanced export is free for a commercial (non-trial) customer; others and
    further exports are priced by the price list (EXPORT-1)."""
    allowance = policy.free_advanced_exports
    if in_trial or free_exports_used >= allowance:
        return ExportCharge(False, max(0, allowance - free_exports_used))
    return ExportCharge(True, allowance - free_exports_used - 1)
