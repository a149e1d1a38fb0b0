"""Record and usage limits (REC-1..5, API-1..2, STOR-1, SUP-1, SIGN-1).

Every function takes plain values (counts, the plan, the policy, a moment) and returns a frozen
decision an application can show to a person: the outcome, the rule ID and the numbers behind it
(used, limit, the plan to move to).

- REC-1: only the counted kinds (``LimitsPolicy.counted_record_kinds``) count, summed.
- REC-2: a creation that brings the count to at least ``record_warning_ratio`` of the limit
  (90 %) is allowed with a warning.
- REC-3: a tenant may hold exactly ``limit`` records; a creation that would exceed it is refused
  as a whole (nothing is created). Reading, editing and deleting are never limited, and deleting
  frees room.
- REC-4: a refusal names the cheapest higher plan whose limit fits, or says to contact the
  vendor on the top plan.
- REC-5: an unlimited plan (``records=None``) never refuses.

>>> from crmcore.catalog import Catalog, Limits, Plan
>>> from crmcore.presets import preset
>>> standard = Plan("standard", 1, [], Limits(records=10000))
>>> premium = Plan("premium", 2, [], Limits(records=50000))
>>> catalog = Catalog([standard, premium])
>>> decision = record_decision({"client": 8999}, "task", 1, standard, catalog,
...                            preset("raynet").limits)
>>> decision.outcome.value, decision.rule, decision.records, decision.limit
('warning', 'REC-2', 9000, 10000)
>>> decision = record_decision({"client": 10000}, "lead", 1, standard, catalog,
...                            preset("raynet").limits)
>>> decision.outcome.value, decision.rule, decision.suggested_plan
('refused', 'REC-3', 'premium')
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

import attrs
from dateutil.relativedelta import relativedelta

from crmcore.catalog import Catalog, Limits, Plan
from crmcore.dates import BusinessCalendar, add_calendar_days, local_midnight, vendor_date
from crmcore.errors import ValidationError
from crmcore.policies import LimitsPolicy

__all__ = [
    "ApiCallDecision",
    "ApiTransferDecision",
    "EsignDecision",
    "EsignOutcome",
    "Outcome",
    "RecordDecision",
    "StorageDecision",
    "SupportDecision",
    "api_call_decision",
    "api_transfer_decision",
    "counted_records",
    "esign_archive_until",
    "esign_decision",
    "esign_signing_deadline",
    "record_decision",
    "storage_decision",
    "support_decision",
]


class Outcome(enum.StrEnum):
    ALLOWED = "allowed"
    WARNING = "warning"  # allowed, but close to the limit (REC-2)
    REFUSED = "refused"


def _count(value: object, field: str, rule: str, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
        kind = "a positive" if positive else "a non-negative"
        raise ValidationError(f"must be {kind} integer, got {value!r}", field=field, rule=rule)
    return value


def _amount(value: object, field: str, rule: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
        raise ValidationError(f"must be a decimal >= 0, got {value!r}", field=field, rule=rule)
    return Decimal(value)


# --- records (REC-1..5) ---------------------------------------------------------------------------


@attrs.frozen
class RecordDecision:
    """Whether ``requested`` records of ``kind`` may be created.

    ``records`` is the counted total the tenant would hold after the creation (REC-1),
    ``limit`` the plan's limit (``None`` = unlimited). On a refusal ``suggested_plan`` names
    the cheapest higher plan that fits (REC-4), or ``contact_vendor`` is true.
    """

    outcome: Outcome
    rule: str
    kind: str
    requested: int
    records: int
    limit: int | None
    suggested_plan: str | None = None
    contact_vendor: bool = False

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.REFUSED


def counted_records(counts: Mapping[str, int], policy: LimitsPolicy) -> int:
    """The sum of records of the counted kinds (REC-1); other kinds are ignored."""
    total = 0
    for kind, count in counts.items():
        _count(count, f"counts.{kind}", "REC-1")
        if kind in policy.counted_record_kinds:
            total += count
    return total


def record_decision(
    counts: Mapping[str, int],
    kind: str,
    requested: int,
    plan: Plan,
    catalog: Catalog,
    policy: LimitsPolicy,
) -> RecordDecision:
    """Decide a creation of ``requested`` records of ``kind`` (REC-1..5)."""
    _count(requested, "count", "REC-3", positive=True)
    if not isinstance(kind, str) or not kind:
        raise ValidationError(f"must be a non-empty string, got {kind!r}", field="kind")
    held = counted_records(counts, policy)
    limit = plan.limits.records
    if kind not in policy.counted_record_kinds:
        return RecordDecision(Outcome.ALLOWED, "REC-1", kind, requested, held, limit)
    after = held + requested
    if limit is None:
        return RecordDecision(Outcome.ALLOWED, "REC-5", kind, requested, after, None)
    if after > limit:
        fitting = catalog.cheapest_fitting_records(after, above=plan)
        return RecordDecision(
            Outcome.REFUSED,
            "REC-3",
            kind,
            requested,
            after,
            limit,
            suggested_plan=None if fitting is None else fitting.code,
            contact_vendor=fitting is None,
        )
    if after >= policy.record_warning_ratio * limit:
        return RecordDecision(Outcome.WARNING, "REC-2", kind, requested, after, limit)
    return RecordDecision(Outcome.ALLOWED, "REC-3", kind, requested, after, limit)


# --- API (API-1, API-2) ---------------------------------------------------------------------------


@attrs.frozen
class ApiCallDecision:
    """One API call on vendor day ``day`` (API-1): ``used`` calls before it, out of ``limit``.

    When refused, ``retry_at`` is 00:00 of the next vendor day.
    """

    outcome: Outcome
    rule: str
    day: date
    used: int
    limit: int | None
    retry_at: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.REFUSED


def api_call_decision(
    calls_today: int, limits: Limits, at: datetime, timezone: str
) -> ApiCallDecision:
    """Whether one more API call at ``at`` is allowed (API-1).

    ``calls_today`` is the number of calls already made on the vendor-local day of ``at``.

    >>> from datetime import datetime
    >>> from crmcore.dates import zone
    >>> d = api_call_decision(1000, Limits(api_calls_per_day=1000),
    ...                       datetime(2026, 3, 2, 23, 30, tzinfo=zone("Europe/Prague")),
    ...                       "Europe/Prague")
    >>> d.outcome.value, d.retry_at.isoformat()
    ('refused', '2026-03-03T00:00:00+01:00')
    """
    _count(calls_today, "calls_today", "API-1")
    day = vendor_date(at, timezone)
    limit = limits.api_calls_per_day
    if limit is not None and calls_today >= limit:
        retry = local_midnight(day + timedelta(days=1), timezone)
        return ApiCallDecision(Outcome.REFUSED, "API-1", day, calls_today, limit, retry)
    return ApiCallDecision(Outcome.ALLOWED, "API-1", day, calls_today, limit)


@attrs.frozen
class ApiTransferDecision:
    """Data pulled through the API in one calendar month (API-2).

    Above ``limit_gb`` a notice is due; ``remedy_by`` is the last day to remedy (5 business
    days after the notice day, TIME-3) before the integration may be disabled.
    """

    notice: bool
    rule: str
    month: date
    used_gb: Decimal
    limit_gb: Decimal
    remedy_by: date | None = None


def api_transfer_decision(
    transferred_gb: Decimal | int,
    checked_on: date,
    policy: LimitsPolicy,
    calendar: BusinessCalendar,
) -> ApiTransferDecision:
    """Whether this month's API transfer calls for a notice, and its remedy deadline (API-2).

    >>> from crmcore.dates import BusinessCalendar
    >>> d = api_transfer_decision(Decimal("100.5"), date(2026, 4, 30), LimitsPolicy(),
    ...                           BusinessCalendar("CZ"))
    >>> d.notice, d.remedy_by   # Thu 30 Apr; 1 May and 8 May are CZ holidays
    (True, datetime.date(2026, 5, 11))
    """
    used = _amount(transferred_gb, "transferred_gb", "API-2")
    limit = Decimal(policy.api_monthly_transfer_gb)
    month = checked_on.replace(day=1)
    if used > limit:
        deadline = calendar.add_business_days(checked_on, policy.api_remedy_business_days)
        return ApiTransferDecision(True, "API-2", month, used, limit, deadline)
    return ApiTransferDecision(False, "API-2", month, used, limit)


# --- storage (STOR-1) -----------------------------------------------------------------------------


@attrs.frozen
class StorageDecision:
    """Pooled file storage (STOR-1): ``limit_gb`` = per-seat allowance × seats."""

    outcome: Outcome
    rule: str
    used_gb: Decimal
    limit_gb: Decimal | None
    seats: int
    per_seat_gb: Decimal | None

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.REFUSED


def storage_decision(
    stored_gb: Decimal | int,
    adding_gb: Decimal | int,
    seats: int,
    limits: Limits,
    policy: LimitsPolicy,
    linked_gb: Decimal | int = 0,
) -> StorageDecision:
    """Whether ``adding_gb`` more fits the tenant's pooled storage (STOR-1).

    Linked files (mail attachments, Dropbox links) do not count unless the policy says so.

    >>> d = storage_decision(Decimal("59"), Decimal("1"), 20,
    ...                      Limits(storage_per_seat_gb=Decimal(3)), LimitsPolicy(),
    ...                      linked_gb=Decimal(40))
    >>> d.outcome.value, d.used_gb, d.limit_gb
    ('allowed', Decimal('60'), Decimal('60'))
    """
    stored = _amount(stored_gb, "stored_gb", "STOR-1")
    adding = _amount(adding_gb, "adding_gb", "STOR-1")
    linked = _amount(linked_gb, "linked_gb", "STOR-1")
    _count(seats, "seats", "STOR-1")
    used = stored + adding + (linked if policy.linked_files_count_toward_storage else 0)
    per_seat = limits.storage_per_seat_gb
    if per_seat is None:
        return StorageDecision(Outcome.ALLOWED, "STOR-1", used, None, seats, None)
    limit = Decimal(per_seat) * seats
    outcome = Outcome.REFUSED if used > limit else Outcome.ALLOWED
    return StorageDecision(outcome, "STOR-1", used, limit, seats, Decimal(per_seat))


# --- support (SUP-1) ------------------------------------------------------------------------------


@attrs.frozen
class SupportDecision:
    """Support minutes of one month (SUP-1): ``limit`` = minutes per user × user accounts."""

    outcome: Outcome
    rule: str
    used_minutes: int
    limit_minutes: int
    remaining_minutes: int

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.REFUSED


def support_decision(
    users: int, used_minutes: int, policy: LimitsPolicy, limits: Limits | None = None
) -> SupportDecision:
    """Whether a tenant with ``users`` accounts has support time left this month (SUP-1).

    The plan's ``support_minutes_per_user`` applies when set, else the policy's 60.

    >>> d = support_decision(5, 240, LimitsPolicy())
    >>> d.outcome.value, d.limit_minutes, d.remaining_minutes   # 5 × 60 = 300
    ('allowed', 300, 60)
    """
    _count(users, "users", "SUP-1")
    _count(used_minutes, "used_minutes", "SUP-1")
    per_user = policy.support_minutes_per_user_month
    if limits is not None and limits.support_minutes_per_user is not None:
        per_user = limits.support_minutes_per_user
    limit = per_user * users
    outcome = Outcome.ALLOWED if used_minutes < limit else Outcome.REFUSED
    return SupportDecision(outcome, "SUP-1", used_minutes, limit, max(limit - used_minutes, 0))


# --- e-signature (SIGN-1) -------------------------------------------------------------------------


class EsignOutcome(enum.StrEnum):
    FREE = "free"  # within the monthly free documents
    SIGNING_PLAN = "signing_plan"  # beyond them, covered by the tenant's signing plan
    NEEDS_SIGNING_PLAN = "needs_signing_plan"  # beyond them and no signing plan: refused
    NOT_IN_TRIAL = "not_in_trial"  # only available in paid mode: refused


@attrs.frozen
class EsignDecision:
    """One more document to sign this calendar month (SIGN-1)."""

    outcome: EsignOutcome
    rule: str
    month: date
    used: int
    free_limit: int

    @property
    def allowed(self) -> bool:
        return self.outcome in (EsignOutcome.FREE, EsignOutcome.SIGNING_PLAN)


def esign_decision(
    signed_this_month: int,
    at: datetime,
    timezone: str,
    policy: LimitsPolicy,
    paid_mode: bool,
    has_signing_plan: bool,
) -> EsignDecision:
    """Whether a document may be sent for signing at ``at`` (SIGN-1).

    ``signed_this_month`` counts documents already sent in the vendor-local calendar month.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
    >>> esign_decision(4, at, "Europe/Prague", LimitsPolicy(), True, False).outcome.value
    'needs_signing_plan'
    """
    _count(signed_this_month, "signed_this_month", "SIGN-1")
    month = vendor_date(at, timezone).replace(day=1)
    free = policy.esign_free_documents_per_month
    if not paid_mode:
        outcome = EsignOutcome.NOT_IN_TRIAL
    elif signed_this_month < free:
        outcome = EsignOutcome.FREE
    elif has_signing_plan:
        outcome = EsignOutcome.SIGNING_PLAN
    else:
        outcome = EsignOutcome.NEEDS_SIGNING_PLAN
    return EsignDecision(outcome, "SIGN-1", month, signed_this_month, free)


def esign_signing_deadline(sent_at: datetime, timezone: str, policy: LimitsPolicy) -> datetime:
    """The end of the signing window: the same wall-clock time 7 days later (SIGN-1)."""
    return add_calendar_days(sent_at, policy.esign_signing_window_days, timezone)


def esign_archive_until(signed_on: date, policy: LimitsPolicy) -> date:
    """The last day a signed document stays archived: 3 years after signing (SIGN-1).

    >>> esign_archive_until(date(2028, 2, 29), LimitsPolicy())   # clamped (TIME-4)
    datetime.date(2031, 2, 28)
    """
    result: date = signed_on + relativedelta(years=policy.esign_archive_years)
    return result
