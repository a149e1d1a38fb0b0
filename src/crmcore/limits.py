"""Record and usage limits (REC-1..5, API-1..2, STOR-1, SUP-1, SIGN-1).

Every function takes plain values (counts, the plan, the policy, a moment) and returns a frozen
decision an application can show to a person: the outcome, the rule ID and the numbers behind it
(used, limit, the plan to move to).

- REC-1: one vocabulary of record kinds: :data:`RECORD_KINDS` (the 15 kinds RULES.md lists, in
  one canonical spelling), accepted in the spellings of :data:`RECORD_KIND_SPELLINGS` (singular
  and plural: ``lead``/``leads``, ``phone_call``/``phone_calls``, ...), plus the kinds a vendor
  declares as not counted (``LimitsPolicy.uncounted_record_kinds``). Any other kind is refused
  (:func:`record_kind`). Only the counted kinds (``LimitsPolicy.counted_record_kinds``) count,
  summed.
- Bounds, the same on every storage engine: :data:`MAX_RECORDS_PER_CALL` records created or
  deleted in one call, :data:`MAX_RECORD_LIMIT` for a limit value (below PostgreSQL's 32-bit
  INTEGER, so ``total + count`` never overflows a counter column).
- REC-2: a creation that brings the count to at least ``record_warning_ratio`` of the limit
  (90 %) is allowed with a warning.
- REC-3: a tenant may hold exactly ``limit`` records; a creation that would exceed it is refused
  as a whole (nothing is created). Reading, editing and deleting are never limited, and deleting
  frees room.
- REC-4: a refusal names the cheapest higher plan whose limit fits, or says to contact the
  vendor on the top plan.
- REC-5: an unlimited plan (``records=None``) never refuses.
- API-2, STOR-1, SUP-1, SIGN-1 are one vendor's terms; a parameter the vendor's policy leaves
  out (``None``, crmcore.presets) is never replaced by another vendor's value. No API-2
  transfer limit means no notice is ever due; the others raise
  :class:`~crmcore.errors.TermNotStated` (naming the parameter and the rule) when the answer
  depends on them.

>>> from crmcore.catalog import Catalog, Cycle, Limits, Plan
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

Long because the counters of one family (REC, API, STOR, SUP, SIGN) share their decision values
and refusal texts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
from dateutil.relativedelta import relativedelta

from crmcore.catalog import Catalog, Cycle, Limits, Plan
from crmcore.dates import BusinessCalendar, add_calendar_days, local_midnight, vendor_date
from crmcore.errors import N_, LimitError, TermNotStated, ValidationError, short_repr

if TYPE_CHECKING:  # policies imports the vocabulary from here
    from crmcore.policies import LimitsPolicy

__all__ = [
    "MAX_RECORDS_PER_CALL",
    "MAX_RECORD_LIMIT",
    "RECORD_KINDS",
    "RECORD_KIND_SPELLINGS",
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
    "check_record_deletion",
    "check_record_limit_counted",
    "check_record_total",
    "checked_record_call",
    "counted_records",
    "esign_archive_until",
    "esign_decision",
    "esign_signing_deadline",
    "record_count",
    "record_decision",
    "record_kind",
    "storage_decision",
    "support_decision",
    "uncounted_kinds",
]


class Outcome(enum.StrEnum):
    ALLOWED = "allowed"
    WARNING = "warning"  # allowed, but close to the limit (REC-2)
    REFUSED = "refused"


def _count(value: object, field: str, rule: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"must be a non-negative integer, got {value!r}", field=field, rule=rule
        )
    return value


def _amount(value: object, field: str, rule: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0:
        raise ValidationError(f"must be a decimal >= 0, got {value!r}", field=field, rule=rule)
    return Decimal(value)


# --- records (REC-1..5) ---------------------------------------------------------------------------

#: REC-1: the counted record kinds of RULES.md (raynet's 15), in their canonical spelling:
#: contact base, sales, activities.
RECORD_KINDS: frozenset[str] = frozenset(
    {
        # contact base
        "client",
        "contact_person",
        "lead",
        # sales
        "opportunity",
        "product",
        "offer",
        "order",
        "invoice",
        "project",
        # activities
        "task",
        "meeting",
        "event",
        "email",
        "phone_call",
        "letter",
    }
)

_PLURALS = {"opportunity": "opportunities", "contact_person": "contact_persons"}
_EXTRA_SPELLINGS = {
    "contact_person": ("contact_people", "contact people", "contact-people"),
    "email": ("e-mail", "e-mails", "e_mail", "e_mails"),
}


def _spellings() -> dict[str, str]:
    table: dict[str, str] = {}
    for kind in sorted(RECORD_KINDS):
        for word in (kind, _PLURALS.get(kind, kind + "s")):
            for separator in ("_", " ", "-"):
                table[word.replace("_", separator)] = kind
        for word in _EXTRA_SPELLINGS.get(kind, ()):
            table[word] = kind
    return table


#: Every accepted spelling of a REC-1 kind → its canonical spelling in :data:`RECORD_KINDS`:
#: singular and plural, with ``_``, a space or ``-`` between words (``phone_call``,
#: ``phone calls``, ``phone-call``), and ``e-mail``/``e-mails``. Exact, case-sensitive.
RECORD_KIND_SPELLINGS: Mapping[str, str] = _spellings()

#: REC-3: at most this many records created (or deleted) in one call, on every engine.
MAX_RECORDS_PER_CALL = 1_000_000
#: REC-3: the largest record limit (and so the largest counted total); with
#: :data:`MAX_RECORDS_PER_CALL` it stays below 2**31 - 1, PostgreSQL's INTEGER.
MAX_RECORD_LIMIT = 2_000_000_000


def _kinds_text(kinds: Iterable[str]) -> str:
    return ", ".join(sorted(kinds))


def _shown_kind(kind: object) -> str:
    """A record kind in an error message as the user wrote it (REC-1): the text of a string,
    bare like the canonical kinds the other messages name (``contact``; a ``RecordKind`` as
    its value, ``document``, never ``<RecordKind.DOCUMENT: 'document'>``); quoted only where
    the bare text would be unclear (empty, surrounding spaces, control characters); any other
    value as its short repr.

    >>> _shown_kind("contact"), _shown_kind(""), _shown_kind(" lead"), _shown_kind(None)
    ('contact', "''", "' lead'", 'None')
    """
    if not isinstance(kind, str):
        return short_repr(kind)
    text = str.__str__(kind)  # the characters, whatever str subclass (enum) holds them
    if text and text == text.strip() and text.isprintable():
        return text
    return short_repr(text)


def uncounted_kinds(
    kinds: Iterable[object], field: str = "uncounted_record_kinds"
) -> frozenset[str]:
    """Kinds a vendor declares as not counted (REC-1), checked: non-empty names of printable
    characters that are not a spelling of a REC-1 kind (a REC-1 kind the vendor does not count
    is simply left out of ``counted_record_kinds``).

    >>> sorted(uncounted_kinds(["note", "document"]))
    ['document', 'note']
    """
    if isinstance(kinds, str) or not isinstance(kinds, Iterable):
        raise ValidationError(f"must be a list of names, got {kinds!r}", field=field, rule="REC-1")
    result = set()
    for kind in kinds:
        if not isinstance(kind, str) or not kind.strip() or not kind.isprintable():
            raise ValidationError(
                f"must be a non-empty printable name, got {_shown_kind(kind)}",
                field=field,
                rule="REC-1",
            )
        if kind in RECORD_KIND_SPELLINGS:
            raise ValidationError(
                f"{_shown_kind(kind)} is a REC-1 kind: to not count it, leave it out of "
                "counted_record_kinds",
                field=field,
                rule="REC-1",
            )
        result.add(kind)
    return frozenset(result)


def record_kind(kind: object, policy: LimitsPolicy | None = None, field: str = "kind") -> str:
    """``kind`` in its canonical spelling (REC-1), or a ``ValidationError`` listing the accepted
    kinds: a spelling of a REC-1 kind, or one of the policy's ``uncounted_record_kinds``
    (returned as given). Without a policy only the REC-1 kinds are accepted, as by the record
    counter repositories.

    >>> record_kind("leads"), record_kind("phone calls"), record_kind("e-mail")
    ('lead', 'phone_call', 'email')
    >>> record_kind("contact")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: kind: must be a record kind (client, ...), got contact (REC-1)
    """
    if isinstance(kind, str):
        canonical = RECORD_KIND_SPELLINGS.get(kind)
        if canonical is not None:
            return canonical
        if policy is not None and kind in policy.uncounted_record_kinds:
            return kind
    accepted = f"{_kinds_text(RECORD_KINDS)}; singular or plural"
    if policy is not None and policy.uncounted_record_kinds:
        accepted += f"; not counted: {_kinds_text(policy.uncounted_record_kinds)}"
    raise ValidationError(
        f"must be a record kind ({accepted}), got {_shown_kind(kind)}", field=field, rule="REC-1"
    )


def record_count(value: object, field: str = "count") -> int:
    """``value`` as a number of records created or deleted in one call: an integer from 1 to
    :data:`MAX_RECORDS_PER_CALL`, else a ``ValidationError`` (REC-3).

    >>> record_count(0, "events[2].count")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: events[2].count: must be an integer from 1 to ..., got 0 (REC-3)
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_RECORDS_PER_CALL
    ):
        raise ValidationError(
            f"must be an integer from 1 to {MAX_RECORDS_PER_CALL}, got {value!r}",
            field=field,
            rule="REC-3",
        )
    return value


def _record_limit(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RECORD_LIMIT:
        raise ValidationError(
            f"must be null (unlimited) or an integer from 0 to {MAX_RECORD_LIMIT}, got {value!r}",
            field=field,
            rule="REC-3",
        )
    return value


def checked_record_call(kind: object, count: object = None, limit: object = None) -> str:
    """The arguments of a record counter call (``records.try_create``, ``create``, ``delete``)
    checked, before anything is read or stored; returns the canonical kind.

    ``kind`` must be a REC-1 kind (:func:`record_kind`), ``count`` (when given) an integer from 1
    to :data:`MAX_RECORDS_PER_CALL`, ``limit`` ``None`` or an integer from 0 to
    :data:`MAX_RECORD_LIMIT` (REC-3). The same checks on every storage engine.

    >>> checked_record_call("leads", 5, limit=100)
    'lead'
    >>> checked_record_call("lead", 5, limit=-5)
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: limit: must be null (unlimited) or ... got -5 (REC-3)
    """
    canonical = record_kind(kind)
    if count is not None:
        record_count(count, "count")
    _record_limit(limit, "limit")
    return canonical


def check_record_deletion(kind: str, count: int, held: int) -> None:
    """Refuse deleting more records of ``kind`` than the ``held`` ones (REC-3): a
    ``LimitError``, nothing deleted, never a silent clamp.

    >>> check_record_deletion("lead", 3, 2)
    Traceback (most recent call last):
    ...
    crmcore.errors.LimitError: count: cannot delete 3 lead record(s), 2 held (REC-3)
    """
    if count > held:
        raise LimitError(
            N_("cannot delete {count} {kind} record(s), {held} held"),
            {"count": count, "kind": kind, "held": held},
            field="count",
            rule="REC-3",
        )


def check_record_total(held: int, count: int) -> None:
    """Refuse ``count`` more records when the tenant's total would pass
    :data:`MAX_RECORD_LIMIT` (REC-3), also on a plan without a limit (REC-5): the record
    counters of every storage engine stop there, below the 32-bit INTEGER of PostgreSQL and
    MariaDB. A ``LimitError``, nothing created: not a REC-3 refusal a plan change could lift.

    >>> check_record_total(MAX_RECORD_LIMIT - 1, 2)
    Traceback (most recent call last):
    ...
    crmcore.errors.LimitError: count: 2 more record(s) would bring the tenant's total from ...
    """
    if held + count > MAX_RECORD_LIMIT:
        raise LimitError(
            N_(
                "{count} more record(s) would bring the tenant's total from {held} to {total}, "
                "above the {maximum} records a tenant can hold on any plan, also without a "
                "record limit"
            ),
            {"count": count, "held": held, "total": held + count, "maximum": MAX_RECORD_LIMIT},
            field="count",
            rule="REC-3",
        )


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
    """The sum of records of the counted kinds (REC-1), any accepted spelling
    (``{"lead": 2, "leads": 3}`` is 5 leads); the vendor's uncounted kinds add nothing, and a
    kind outside the vocabulary is refused (:func:`record_kind`)."""
    total = 0
    for kind, count in counts.items():
        canonical = record_kind(kind, policy, field="counts")
        _count(count, f"counts.{canonical}", "REC-1")
        if canonical in policy.counted_record_kinds:
            total += count
    return total


def check_record_limit_counted(limit: int | None, policy: LimitsPolicy, field: str) -> None:
    """Refuse a record limit that could never apply: a plan with ``limit`` records for a
    vendor whose policy counts no record kinds (REC-1; REC-5: no limit is ``None``). Without
    this, every creation would be allowed in the core while storage counters, which count
    every REC-1 kind, refused it.

    >>> from crmcore.presets import preset
    >>> check_record_limit_counted(100, preset("chmiuro").limits, "plans[0].records")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: plans[0].records: a limit of 100 records can never apply: ...
    """
    if limit is not None and not policy.counted_record_kinds:
        raise ValidationError(
            f"a limit of {limit} records can never apply: the vendor counts no record kinds "
            "(set limits.counted_record_kinds, or null for no record limit, REC-5)",
            field=field,
            rule="REC-1",
        )


def record_decision(
    counts: Mapping[str, int],
    kind: str,
    requested: int,
    plan: Plan,
    catalog: Catalog,
    policy: LimitsPolicy,
    cycle: Cycle | None = None,
    currency: str | None = None,
) -> RecordDecision:
    """Decide a creation of ``requested`` records of ``kind`` (REC-1..5). A refusal names the
    cheapest higher plan that fits (REC-4): by its price for ``cycle`` in ``currency`` (the
    tenant's), the lowest-ranked without them.

    ``kind`` is any accepted spelling (:func:`record_kind`; the decision names the canonical
    one); ``requested`` is at most :data:`MAX_RECORDS_PER_CALL` and the plan's limit at most
    :data:`MAX_RECORD_LIMIT` (REC-3).
    """
    kind = record_kind(kind, policy)
    record_count(requested, "count")
    limit = _record_limit(plan.limits.records, "limit")
    check_record_limit_counted(limit, policy, "limit")
    held = counted_records(counts, policy)
    if kind not in policy.counted_record_kinds:
        return RecordDecision(Outcome.ALLOWED, "REC-1", kind, requested, held, limit)
    after = held + requested
    if limit is None:
        return RecordDecision(Outcome.ALLOWED, "REC-5", kind, requested, after, None)
    if after > limit:
        fitting = catalog.cheapest_fitting_records(after, plan, cycle, currency)
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
    days after the notice day, TIME-3) before the integration may be disabled. ``limit_gb``
    is ``None`` when the vendor states no transfer limit: no notice is due.
    """

    notice: bool
    rule: str
    month: date
    used_gb: Decimal
    limit_gb: Decimal | None
    remedy_by: date | None = None


def api_transfer_decision(
    transferred_gb: Decimal | int,
    checked_on: date,
    policy: LimitsPolicy,
    calendar: BusinessCalendar,
) -> ApiTransferDecision:
    """Whether this month's API transfer calls for a notice, and its remedy deadline (API-2).

    API-2 is raynet's term. ``api_monthly_transfer_gb=None`` (the vendor states no transfer
    limit) is no limit: the rule's only consequence is a notice above the limit, so with no
    limit no notice is ever due. A notice that is due while ``api_remedy_business_days`` is
    ``None`` raises :class:`~crmcore.errors.TermNotStated`: crmcore cannot say by when the
    vendor may disable the integration.

    >>> from crmcore.dates import BusinessCalendar
    >>> from crmcore.policies import LimitsPolicy
    >>> d = api_transfer_decision(Decimal("100.5"), date(2026, 4, 30), LimitsPolicy(),
    ...                           BusinessCalendar("CZ"))
    >>> d.notice, d.remedy_by   # Thu 30 Apr; 1 May and 8 May are CZ holidays
    (True, datetime.date(2026, 5, 11))
    >>> none = LimitsPolicy(api_monthly_transfer_gb=None, api_remedy_business_days=None)
    >>> api_transfer_decision(10**6, date(2026, 4, 30), none, BusinessCalendar("PL")).notice
    False
    """
    used = _amount(transferred_gb, "transferred_gb", "API-2")
    month = checked_on.replace(day=1)
    if policy.api_monthly_transfer_gb is None:  # no transfer limit stated: never a notice
        return ApiTransferDecision(False, "API-2", month, used, None)
    limit = Decimal(policy.api_monthly_transfer_gb)
    if used > limit:
        days = _stated(policy.api_remedy_business_days, "api_remedy_business_days", "API-2")
        deadline = calendar.add_business_days(checked_on, days)
        return ApiTransferDecision(True, "API-2", month, used, limit, deadline)
    return ApiTransferDecision(False, "API-2", month, used, limit)


def _stated(value: int | None, field: str, rule: str) -> int:
    """``value``, or :class:`~crmcore.errors.TermNotStated` when the vendor states none."""
    if value is None:
        raise TermNotStated(f"limits.{field}", rule, _TERMS[field])
    return value


#: What each parameter of LimitsPolicy that may be left out is, for TermNotStated's message.
_TERMS = {
    "api_remedy_business_days": "remedy period for an API transfer notice",
    "support_minutes_per_user_month": "support allowance per user account",
    "esign_free_documents_per_month": "online-signing allowance (free documents per month)",
    "esign_signing_window_days": "signing window",
    "esign_archive_years": "archive period for signed documents",
    "linked_files_count_toward_storage": "rule on whether linked files count toward storage",
}


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
    Only livespace states it (they do not count); with ``linked_files_count_toward_storage``
    ``None`` (not stated) any ``linked_gb`` above 0 raises
    :class:`~crmcore.errors.TermNotStated`, since counting them or not would be a guess;
    ``linked_gb=0`` needs no answer and is decided as usual.

    >>> from crmcore.policies import LimitsPolicy
    >>> d = storage_decision(Decimal("59"), Decimal("1"), 20,
    ...                      Limits(storage_per_seat_gb=Decimal(3)),
    ...                      LimitsPolicy(linked_files_count_toward_storage=False),
    ...                      linked_gb=Decimal(40))
    >>> d.outcome.value, d.used_gb, d.limit_gb
    ('allowed', Decimal('60'), Decimal('60'))
    """
    stored = _amount(stored_gb, "stored_gb", "STOR-1")
    adding = _amount(adding_gb, "adding_gb", "STOR-1")
    linked = _amount(linked_gb, "linked_gb", "STOR-1")
    _count(seats, "seats", "STOR-1")
    counts_linked = policy.linked_files_count_toward_storage
    if counts_linked is None and linked > 0:
        raise TermNotStated(
            "limits.linked_files_count_toward_storage",
            "STOR-1",
            _TERMS["linked_files_count_toward_storage"],
        )
    used = stored + adding + (linked if counts_linked else 0)
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

    The plan's ``support_minutes_per_user`` applies when set, else the policy's (raynet: 60).
    SUP-1 is raynet's term: when neither states an allowance (the policy's is ``None``) this
    raises :class:`~crmcore.errors.TermNotStated`; an allowance is an entitlement, so crmcore
    assumes neither unlimited support nor none.

    >>> from crmcore.policies import LimitsPolicy
    >>> d = support_decision(5, 240, LimitsPolicy())
    >>> d.outcome.value, d.limit_minutes, d.remaining_minutes   # 5 × 60 = 300
    ('allowed', 300, 60)
    """
    _count(users, "users", "SUP-1")
    _count(used_minutes, "used_minutes", "SUP-1")
    if limits is not None and limits.support_minutes_per_user is not None:
        per_user = limits.support_minutes_per_user
    else:
        per_user = _stated(
            policy.support_minutes_per_user_month, "support_minutes_per_user_month", "SUP-1"
        )
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
    SIGN-1 is raynet's term: ``esign_free_documents_per_month=None`` (the vendor states no
    online-signing terms) raises :class:`~crmcore.errors.TermNotStated` rather than guess
    which documents are free.

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
    >>> from crmcore.policies import LimitsPolicy
    >>> esign_decision(4, at, "Europe/Prague", LimitsPolicy(), True, False).outcome.value
    'needs_signing_plan'
    """
    _count(signed_this_month, "signed_this_month", "SIGN-1")
    month = vendor_date(at, timezone).replace(day=1)
    free = _stated(
        policy.esign_free_documents_per_month, "esign_free_documents_per_month", "SIGN-1"
    )
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
    """The end of the signing window: the same wall-clock time 7 days later (SIGN-1).

    ``esign_signing_window_days=None`` (not stated) raises
    :class:`~crmcore.errors.TermNotStated`: a window with no end would be a guess.
    """
    days = _stated(policy.esign_signing_window_days, "esign_signing_window_days", "SIGN-1")
    return add_calendar_days(sent_at, days, timezone)


def esign_archive_until(signed_on: date, policy: LimitsPolicy) -> date:
    """The last day a signed document stays archived: 3 years after signing (SIGN-1).

    ``esign_archive_years=None`` (not stated) raises :class:`~crmcore.errors.TermNotStated`.

    >>> from crmcore.policies import LimitsPolicy
    >>> esign_archive_until(date(2028, 2, 29), LimitsPolicy())   # clamped (TIME-4)
    datetime.date(2031, 2, 28)
    """
    years = _stated(policy.esign_archive_years, "esign_archive_years", "SIGN-1")
    result: date = signed_on + relativedelta(years=years)
    return result
