"""One exception hierarchy for crmcore.

Every error crmcore raises is a :class:`CrmError`. Subclasses also subclass the matching builtin
(``UnknownPlan`` is a ``LookupError``, ``ValidationError`` a ``ValueError``) so callers may catch
either. Messages name the field or JSON path, the offending value and the rule ID, e.g.::

    events[3].count: must be a positive integer, got -2 (SEAT-1)

Sections below follow the rule families of RULES.md; each family adds its errors in its own
section.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol, TypeVar


class CrmError(Exception):
    """Root of every error crmcore raises.

    ``field`` is the name or JSON path of the offending value (``None`` when not about one
    value) and ``rule`` the rule ID of RULES.md that the refusal applies (``None`` for plain
    input errors).
    """

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        self.problem = message
        self.field = field
        self.rule = rule
        text = f"{field}: {message}" if field else message
        if rule:
            text = f"{text} ({rule})"
        super().__init__(text)

    def __reduce__(self) -> tuple[object, ...]:  # keeps errors picklable across processes
        return (_rebuild, (type(self), self.problem, self.field, self.rule))

    def naming(self, field: str) -> CrmError:
        """The same error (type, problem, rule and any other attribute) about ``field``: a
        door names its own option for the value a use case calls otherwise (``--tenant`` for
        ``tenant_id``)."""
        error = type(self).__new__(type(self))
        error.__dict__.update(self.__dict__)
        CrmError.__init__(error, self.problem, field=field, rule=self.rule)
        return error


def _rebuild(cls: type[CrmError], problem: str, field: str | None, rule: str | None) -> CrmError:
    error = cls.__new__(cls)
    CrmError.__init__(error, problem, field=field, rule=rule)
    return error


#: Values quoted in error messages are cut to this many characters.
SHOWN_CHARACTERS = 60


def short_repr(value: object) -> str:
    """``repr(value)`` for an error message: on one line, at most :data:`SHOWN_CHARACTERS`
    characters, and never failing (a huge integer, a deeply nested list or a string of
    control characters must not turn a clear refusal into another exception)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 190:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        text = f"a deeply nested {type(value).__name__}"
    if not text.isprintable():
        text = ascii(text)[1:-1]
    if len(text) > SHOWN_CHARACTERS:
        text = text[: SHOWN_CHARACTERS - 3] + "..."
    return text


# --- input validation (all families) -----------------------------------------------------------


class ValidationError(CrmError, ValueError):
    """A value given to crmcore is malformed or out of range."""


class NaiveDatetimeError(ValidationError):
    """A datetime without a timezone was given (TIME-1)."""

    def __init__(self, field: str = "datetime", value: object = None):
        super().__init__(f"must be timezone-aware, got naive {value!r}", field=field, rule="TIME-1")


class MultipleValidationErrors(ValidationError):
    """Several values are bad at once; ``errors`` lists each with its path."""

    def __init__(self, errors: Sequence[str], *, what: str = "input", rule: str | None = None):
        self.errors = tuple(errors)
        self.what = what
        super().__init__(
            f"{len(self.errors)} invalid value(s) in {what}: " + "; ".join(self.errors),
            rule=rule,
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps the subclass (CatalogError, PolicyError), ``what`` and ``rule`` when pickled.
        return (_rebuild_multiple, (type(self), self.errors, self.what, self.rule))


def _rebuild_multiple(
    cls: type[MultipleValidationErrors], errors: Sequence[str], what: str, rule: str | None
) -> MultipleValidationErrors:
    error = cls.__new__(cls)
    MultipleValidationErrors.__init__(error, errors, what=what, rule=rule)
    return error


class OutOfOrderError(ValidationError):
    """Events or records given out of time order."""


# --- money (BILL-7) -------------------------------------------------------------------------------


class CurrencyError(ValidationError):
    """Unknown currency code."""


class CurrencyMismatchError(CrmError, ValueError):
    """Arithmetic or comparison across two currencies."""


# --- periods and dates (TIME, BILL-1, PRO-1) ------------------------------------------------------


class PeriodError(ValidationError):
    """A day outside a period, or an empty/inverted period."""


# --- catalogue and policies (PLAN) ----------------------------------------------------------------


class UnknownPlan(CrmError, LookupError):
    """A plan code not in the catalogue."""


class UnknownPrice(CrmError, LookupError):
    """A plan has no price for the asked cycle and currency (PLAN-1)."""


class UnknownPreset(CrmError, LookupError):
    """A vendor preset name that does not exist."""


class CatalogError(MultipleValidationErrors):
    """A catalogue file or document failed validation; ``errors`` lists every bad path."""


class PolicyError(MultipleValidationErrors):
    """A policy file or override failed validation; ``errors`` lists every bad path."""


class VendorError(MultipleValidationErrors):
    """A vendor or its JSON document failed validation (PLAN-1, PLAN-2, PLAN-4); ``errors``
    lists every bad path, each with its own rule; ``rule`` is the rule they all cite, if they
    do (so the message does not repeat it)."""

    def __init__(self, errors: Sequence[str], *, what: str = "vendor", rule: str | None = None):
        super().__init__(errors, what=what)
        self.rule = rule

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_vendor, (self.errors, self.what, self.rule))


def _rebuild_vendor(errors: Sequence[str], what: str, rule: str | None) -> VendorError:
    return VendorError(errors, what=what, rule=rule)


# --- tenancy, seats, trials (TEN, SEAT, TRIAL) ----------------------------------------------------


def N_(message: str) -> str:
    """Mark ``message`` for extraction into the gettext catalogues (I18N-1) without translating
    it here (``crmcore.i18n.N_`` is this function)."""
    return message


class RuleViolation(CrmError):
    """An operation the commercial rules refuse (the rule ID says which).

    Given ``params`` (``{}`` when it has no placeholder), ``message`` is a translatable
    template (I18N-1): an English gettext msgid marked with :func:`N_` whose ``{name}``
    placeholders ``params`` fill; the English text is ``message.format(**params)`` and
    ``crmcore.i18n.translate_refusal`` renders it in another locale. Without ``params`` the
    message is plain English and ``template`` is ``None``.

    >>> error = SeatError(N_("{count} seat(s)"), {"count": 2}, field="seats", rule="SEAT-5")
    >>> str(error), error.template, error.params
    ('seats: 2 seat(s) (SEAT-5)', '{count} seat(s)', {'count': 2})
    """

    def __init__(
        self,
        message: str,
        params: Mapping[str, object] | None = None,
        *,
        field: str | None = None,
        rule: str | None = None,
    ):
        self.template: str | None = None if params is None else message
        self.params: dict[str, object] = dict(params or {})
        text = message if params is None else message.format(**self.params)
        super().__init__(text, field=field, rule=rule)

    def __reduce__(self) -> tuple[object, ...]:
        if self.template is None:
            return super().__reduce__()
        return (_rebuild_refusal, (type(self), self.template, self.params, self.field, self.rule))


def _rebuild_refusal(
    cls: type[RuleViolation],
    template: str,
    params: dict[str, object],
    field: str | None,
    rule: str | None,
) -> RuleViolation:
    error = cls.__new__(cls)
    RuleViolation.__init__(error, template, params, field=field, rule=rule)
    return error


def wording(error: Exception) -> tuple[str, dict[str, object] | None]:
    """The message and params to raise ``error``'s refusal again as another RuleViolation
    (a ``CommandRefused`` naming the command): its template when it has one (I18N-1)."""
    template = getattr(error, "template", None)
    if isinstance(template, str):
        return template, dict(getattr(error, "params", {}))
    return str(getattr(error, "problem", error)), None


class TermNotStated(RuleViolation, LookupError):
    """The vendor's terms state no value for a rule's parameter (the policy field is ``None``),
    so crmcore has nothing to apply rather than borrow another vendor's value; ``field`` names
    the parameter and ``rule`` the rule, and ``vendor`` (when the caller knows it) who, e.g.::

        backup.first_backup_at: livespace states no BACKUP-1 hour at which its backup
        schedule starts (None); set the parameter to use this (BACKUP-1)

    The limits functions see only a ``LimitsPolicy`` and say "the vendor's policy".
    """

    def __init__(self, field: str, rule: str, what: str, *, vendor: str | None = None):
        who = vendor if vendor is not None else "the vendor's policy"
        super().__init__(
            f"{who} states no {rule} {what} (None); set the parameter to use this",
            field=field,
            rule=rule,
        )


class SeatError(RuleViolation, ValueError):
    """A seat operation the seat rules refuse (SEAT-1..5)."""


class TrialError(RuleViolation, ValueError):
    """A trial operation the trial rules refuse (TRIAL-1..6)."""


class TenantStateError(RuleViolation, ValueError):
    """An operation not allowed in the tenant's current status."""


class ShownRefusal(Protocol):
    """What a :class:`CommandRefused` carries as ``refusal``: one of the typed refusals of
    :mod:`crmcore.outcomes` (a protocol here, so the exception root imports no domain module)."""

    @property
    def on(self) -> date: ...

    @property
    def do(self) -> str: ...

    @property
    def rule(self) -> str: ...

    @property
    def message(self) -> str: ...

    def to_json(self) -> dict[str, object]: ...


class CommandRefused(RuleViolation, ValueError):
    """A command of :mod:`crmcore.app.commands` the rules refuse; nothing was stored.

    ``field`` is the command (its scenario verb, e.g. ``add_seats``), ``rule`` the rule that
    refused it; ``suggested_plan`` is the cheapest plan that fits when REC-4 names one,
    ``refusal`` the typed refusal (:mod:`crmcore.outcomes`; its ``to_json()`` is what a
    scenario result shows, SCENARIOS.md) and ``on`` the vendor day the command was evaluated
    for."""

    suggested_plan: str | None = None
    refusal: ShownRefusal | None = None
    on: date | None = None


# --- billing, proration, terms (BILL, PRO, TERM) --------------------------------------------------


class BillingError(RuleViolation, ValueError):
    """A billing operation the billing rules refuse."""


# --- dunning (PAY) --------------------------------------------------------------------------------


class DunningError(RuleViolation, ValueError):
    """A payment-delay operation the PAY rules refuse."""


# --- service level (SLA) --------------------------------------------------------------------------


class SlaError(ValidationError):
    """Invalid outage records or SLA input."""


# --- limits (REC, API, STOR, SUP, SIGN) -----------------------------------------------------------


class LimitError(RuleViolation, ValueError):
    """A usage limit refused an operation."""


# --- services (MAIL, BACKUP, EXPORT, NOTICE, END, GDPR, FILE, I18N) -----------------------------


class ServiceError(RuleViolation, ValueError):
    """A service policy refused an operation."""


class ServiceRefusal(ServiceError):
    """A refusal whose English text is a translatable template (I18N-1).

    ``template`` is the gettext msgid (``{name}`` placeholders) and ``params`` the values that
    fill it; ``crmcore.i18n.translate_refusal`` renders it in another locale.
    """

    template: str

    def __init__(
        self,
        template: str,
        params: Mapping[str, object] | None = None,
        *,
        field: str | None = None,
        rule: str | None = None,
    ):
        super().__init__(template, params or {}, field=field, rule=rule)


class MessageRejected(ServiceRefusal):
    """A mail message breaks the attachment or size limit (MAIL-3)."""


class MailboxFull(ServiceRefusal):
    """The mailbox is at capacity and refuses new mail (MAIL-5)."""


class ReplyInProgress(ServiceRefusal):
    """Another employee holds the reply lock on a message (MAIL-7)."""


class BackupRefused(ServiceRefusal):
    """A backup copy request outside its window (BACKUP-3)."""


class RequestNotAuthorised(ServiceRefusal, PermissionError):
    """A sensitive request from a person or by a method the customer does not accept (BACKUP-4)."""


class NoticeRefused(ServiceRefusal):
    """A change announced with too short a notice (NOTICE-1..3)."""


class UploadRefused(ServiceRefusal):
    """A file name whose extension is not allowed (FILE-1)."""


# --- visibility (VIS) -----------------------------------------------------------------------------


class VisibilityError(RuleViolation, PermissionError):
    """A principal may not perform an action on a record (VIS-1..7)."""


class PolicyCompileError(CrmError, TypeError):
    """A visibility rule cannot be compiled to SQL or evaluated."""


# --- storage (ports; adapters translate driver errors into these) ---------------------------------


class StorageError(CrmError, RuntimeError):
    """A storage adapter failed; the driver error is chained as ``__cause__``."""


class NotFound(CrmError, LookupError):
    """A stored object does not exist (in this tenant's scope, VIS-1)."""


class ConcurrencyError(StorageError):
    """A concurrent writer changed the same data; the operation may be retried."""


class DuplicateInvoice(StorageError):
    """The tenant already has an invoice with this idempotency key (BILL-6)."""


class ConfigurationError(CrmError, ValueError):
    """Bad configuration: database URL, unmigrated database, unreachable server."""


_Member = TypeVar("_Member", bound=enum.Enum)


def enum_member(value: object, kind: type[_Member], field: str, rule: str) -> _Member:
    """``value`` as a member of ``kind``, its text accepted (``"high"``); anything else is a
    :class:`ValidationError` naming ``field`` and ``rule``, so an unknown text can never be taken
    for a member by an ``is`` comparison."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        for member in kind:
            if member.value == value:
                return member
    allowed = ", ".join(repr(member.value) for member in kind)
    raise ValidationError(
        f"must be one of {allowed}, got {short_repr(value)}", field=field, rule=rule
    )
