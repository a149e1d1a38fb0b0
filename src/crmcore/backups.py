"""Backups, backup copies and the advanced export (BACKUP-1..4, EXPORT-1).

BACKUP-1's hour and BACKUP-2..4 are raynet's terms. A parameter a vendor's policy leaves out
(``None``: livespace and smartmail state neither the hour of their backups nor BACKUP-2..4) is
never replaced by raynet's: the function that needs it raises
:class:`~crmcore.errors.TermNotStated` naming the parameter and the rule. A copy's price, the
last copy's window and who may ask are commercial terms; guessing them would charge or refuse
a customer on terms the vendor never gave. Set the parameter (``with_overrides``) to use them.

>>> from datetime import date
>>> from crmcore.presets import preset
>>> livespace = preset("livespace").with_overrides({"backup": {"first_backup_at": "02:00"}})
>>> [t.strftime("%H:%M") for t, _ in backup_times(date(2026, 3, 2), livespace)]
['02:00', '02:00', '14:00']
>>> backup_times(date(2026, 3, 2), preset("livespace"))
Traceback (most recent call last):
...
crmcore.errors.TermNotStated: backup.first_backup_at: livespace states no BACKUP-1 hour ...
>>> half_year_of(date(2026, 7, 1))
Period(first_day=datetime.date(2026, 7, 1), last_day=datetime.date(2026, 12, 31))
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

import attrs

from crmcore.dates import add_calendar_days, require_aware, zone
from crmcore.errors import (
    BackupRefused,
    RequestNotAuthorised,
    TermNotStated,
    ValidationError,
    enum_member,
)
from crmcore.i18n import N_
from crmcore.money import Money
from crmcore.periods import Period
from crmcore.policies import BackupPolicy, CopyRequester, VendorPolicy, VerificationMethod

_T = TypeVar("_T")

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
        # through UTC: a skipped wall time (02:00 on the spring-forward day) is shown as the
        # instant it names, 03:00+02:00, not as 02:00+01:00, a time the clocks never showed
        runs.append((wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz), kind))
        wall += timedelta(hours=hours)
    return runs


def backup_times(day: date, vendor: VendorPolicy) -> tuple[tuple[datetime, BackupKind], ...]:
    """The backups taken on ``day`` (vendor time), in time order (BACKUP-1).

    raynet: one at 02:00 Prague time; livespace (with ``first_backup_at`` set to 02:00): local
    at 02:00 and 14:00, off-site at 02:00. Inactive tenants (blocked, cancelled, awaiting
    purge) are backed up alike. A vendor that states no backups (``vendor.backup is None``)
    has none to list; one that states backups but not their hour (``first_backup_at=None``)
    raises :class:`~crmcore.errors.TermNotStated`: the times would be a guess.
    """
    policy = vendor.backup
    if policy is None:
        return ()
    first = policy.first_backup_at
    if first is None:
        raise TermNotStated(
            "backup.first_backup_at",
            "BACKUP-1",
            "hour at which its backup schedule starts",
            vendor=vendor.name,
        )
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
    of 1 Jan is gone at 02:00 on 1 Apr (90 days later, wall clock in vendor time). Like
    :func:`backup_times`, refuses a vendor that states no backup hour.
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
    copy costs ``extra_copy_price`` from the vendor's price list (PLAN-4). ``None`` (the
    vendor states no free copies) raises :class:`~crmcore.errors.TermNotStated`.
    """
    allowance = _stated(
        policy.free_copies_per_half_year,
        "free_copies_per_half_year",
        "BACKUP-2",
        "allowance of free backup copies",
    )
    window = half_year_of(requested_on)
    used = sum(1 for copy in earlier if copy.free and window.contains(copy.requested_on))
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
    ``None`` (the vendor states no such window) raises :class:`~crmcore.errors.TermNotStated`.
    """
    days = _stated(
        policy.last_copy_window_days,
        "last_copy_window_days",
        "BACKUP-3",
        "window for the last backup copy after the contract's end",
    )
    last_day = contract_ended_on + timedelta(days=days)
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
                "days": days,
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


_Choice = TypeVar("_Choice", CopyRequester, VerificationMethod)


def _choice(value: object, kind: type[_Choice], field: str) -> _Choice:
    """``value`` as a member of ``kind``, its text accepted; else ``ValidationError`` (BACKUP-4)."""
    return enum_member(value, kind, field, "BACKUP-4")


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
    ``requester`` and ``method`` may be given as their text (``"board_member"``, ``"data_box"``)
    and get the same answer as the enum member; an unknown value is a ``ValidationError``
    naming ``requester`` or ``method`` (BACKUP-4).
    A vendor list that is ``None`` (the vendor states no BACKUP-4 terms) raises
    :class:`~crmcore.errors.TermNotStated`: the customer can only narrow a list that exists.
    """
    requester = _choice(requester, CopyRequester, "requester")
    method = _choice(method, VerificationMethod, "method")
    narrowing = narrowing or CustomerNarrowing()
    people = _stated(
        policy.authorised_requesters,
        "authorised_requesters",
        "BACKUP-4",
        "list of people authorised to make a sensitive request",
    )
    methods = _stated(
        policy.accepted_methods,
        "accepted_methods",
        "BACKUP-4",
        "list of accepted verification methods",
    )
    if narrowing.requesters is not None:  # an empty set narrows to nobody
        people = people & narrowing.requesters
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


def _stated(value: _T | None, field: str, rule: str, what: str) -> _T:
    """``value``, or :class:`~crmcore.errors.TermNotStated` when the vendor states none."""
    if value is None:
        raise TermNotStated(f"backup.{field}", rule, what)
    return value


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
