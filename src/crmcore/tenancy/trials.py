"""Trials (TRIAL-1..6): when a trial ends, how long conversion stays open, when data is purged.

- TRIAL-1: the trial ends the same wall-clock time, vendor zone, ``length`` days (raynet 30,
  livespace 14) or months (chmiuro 1) after creation, so DST never shortens it.
- TRIAL-3: conversion is open during the trial and ``conversion_grace_days`` after it (raynet 15).
- TRIAL-4: not converted, raynet purges 90 days after the trial end, livespace blocks at once and
  purges later (``purge_after_days``, default 30), chmiuro moves to the free plan.
- TRIAL-6: an identity that has used its allowance of trials may be refused a new one.
- A vendor whose terms state no trial (``VendorPolicy.trial=None``: smartmail, optimasales)
  has none: the "trial" ends at creation, buying is open at any time, nothing is purged for
  not converting, and TRIAL-6 has nothing to refuse.

>>> from datetime import datetime
>>> from crmcore.presets import preset
>>> created = datetime.fromisoformat("2026-01-05T09:00:00+01:00")
>>> trial_end(created, preset("raynet")).isoformat()
'2026-02-04T09:00:00+01:00'
>>> conversion_deadline(created, preset("raynet")).isoformat()
'2026-02-19T09:00:00+01:00'
>>> purge_at(created, preset("raynet")).isoformat()
'2026-05-05T09:00:00+02:00'
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crmcore.dates import add_calendar_days, add_months, require_aware, zone
from crmcore.errors import N_, TrialError
from crmcore.policies import TrialExpiry, TrialUnit, VendorPolicy

__all__ = [
    "check_trial_allowed",
    "check_trials_used",
    "conversion_deadline",
    "normalise_identity",
    "purge_at",
    "trial_end",
]


def trial_end(created: datetime, policy: VendorPolicy) -> datetime:
    """The instant the trial ends (TRIAL-1): same wall-clock time in the vendor's zone.

    With no trial (``policy.trial is None``) it is ``created`` itself.
    """
    require_aware(created, "created")
    trial = policy.trial
    if trial is None:
        return created
    tz = zone(policy.timezone)
    if trial.unit is TrialUnit.MONTHS:
        return add_months(created, trial.length, tz)
    return add_calendar_days(created, trial.length, tz)


def conversion_deadline(created: datetime, policy: VendorPolicy) -> datetime | None:
    """The last instant a conversion to paid is accepted (TRIAL-3).

    Without a grace period (``conversion_grace_days=None``) it is the trial end itself. With
    no trial at all (``policy.trial is None``) there is no deadline: ``None``, buy any time.
    """
    end = trial_end(created, policy)
    if policy.trial is None:
        return None
    grace = policy.trial.conversion_grace_days
    if grace is None:
        return end
    return add_calendar_days(end, grace, zone(policy.timezone))


def purge_at(created: datetime, policy: VendorPolicy) -> datetime | None:
    """When an unconverted trial's data is purged (TRIAL-4); ``None`` when never (chmiuro,
    and a vendor without a trial)."""
    trial = policy.trial
    if trial is None or trial.on_expiry is TrialExpiry.FREE_PLAN or trial.purge_after_days is None:
        return None
    end = trial_end(created, policy)
    return add_calendar_days(end, trial.purge_after_days, zone(policy.timezone))


def normalise_identity(identity: str) -> str:
    """TRIAL-6 key: trimmed, lower-case; an e-mail address counts by its domain; any other
    key (a tax ID, the caller's own) without its whitespace, and, unless it has a dot (a
    domain given alone, where a hyphen is part of the name), without hyphens: "CZ 1234 5678",
    "cz-12345678" and "CZ12345678" are one identity.

    >>> normalise_identity(" Jan@Example.COM "), normalise_identity("CZ 1234-5678")
    ('example.com', 'cz12345678')
    >>> normalise_identity("my-shop.cz")
    'my-shop.cz'
    """
    key = identity.strip().lower()
    if "@" in key:
        return key.rsplit("@", 1)[1]
    key = "".join(key.split())
    return key if "." in key else key.replace("-", "")


def check_trial_allowed(identity: str, earlier_trials: Iterable[str], policy: VendorPolicy) -> None:
    """Refuse a new trial when ``identity`` already used its allowance (TRIAL-6).

    ``earlier_trials`` are the identities of the caller's earlier trial instances (any form;
    they are normalised like ``identity``).

    >>> from crmcore.presets import preset
    >>> check_trial_allowed("ann@acme.cz", ["bob@other.cz"], preset("raynet"))
    >>> check_trial_allowed("ann@acme.cz", ["bob@ACME.cz"], preset("raynet"))
    Traceback (most recent call last):
    ...
    crmcore.errors.TrialError: identity: 'acme.cz' has used 1 trial(s) of 1 allowed (TRIAL-6)
    """
    key = normalise_identity(identity)
    used = sum(1 for other in earlier_trials if normalise_identity(other) == key)
    check_trials_used(identity, used, policy)


def check_trials_used(identity: str, used: int, policy: VendorPolicy) -> None:
    """:func:`check_trial_allowed` when the earlier trials of ``identity`` are already counted
    (``used``, e.g. by ``TenantRepository.trials_of``): refused once ``used`` reaches
    ``policy.trial.abuse_allowance`` (TRIAL-6); never for a vendor without a trial.

    >>> from crmcore.presets import preset
    >>> check_trials_used("Ann@ACME.cz", 0, preset("raynet"))
    >>> check_trials_used("Ann@ACME.cz", 1, preset("raynet"))
    Traceback (most recent call last):
    ...
    crmcore.errors.TrialError: identity: 'acme.cz' has used 1 trial(s) of 1 allowed (TRIAL-6)
    """
    if policy.trial is None:  # no trial: nothing to abuse
        return
    allowance = policy.trial.abuse_allowance
    if used >= allowance:
        raise TrialError(
            N_("{identity} has used {used} trial(s) of {allowance} allowed"),
            {"identity": repr(normalise_identity(identity)), "used": used, "allowance": allowance},
            field="identity",
            rule="TRIAL-6",
        )
