"""The events of a tenant's history (TEN-1, SEAT, PLAN, TRIAL, TERM, PAY, SLA, REC).

Every change to a tenant is one frozen event with an aware instant ``at`` (TIME-1), the moment
it takes effect, and optionally ``recorded``, the moment it was entered when that was later
(a late entry, BILL-6: billed by correction documents). The state on any date is derived by
replaying the events up to it; nothing is overwritten.
Events serialise through :data:`crmcore.serialization.converter` as a dict with a ``type`` tag
(see :func:`event_to_dict` and :func:`event_from_dict`), which is how storage adapters keep them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from crmcore.catalog import Cycle
from crmcore.dates import require_aware, require_in_calendar, vendor_date
from crmcore.errors import MultipleValidationErrors, ValidationError
from crmcore.limits import record_count
from crmcore.serialization import converter, structure_strict

__all__ = [
    "MAX_PREPAID_MONTHS",
    "MAX_SEATS",
    "Activated",
    "BillingProfileChanged",
    "Cancelled",
    "Event",
    "OutageRecorded",
    "PaymentMethod",
    "PaymentReceived",
    "PersonAssigned",
    "PersonUnassigned",
    "PlanChanged",
    "Prepaid",
    "RecordsCreated",
    "RecordsDeleted",
    "Reinstated",
    "SeatsAdded",
    "SeatsRemoved",
    "TenantCreated",
    "entered",
    "entry_order_problem",
    "event_from_dict",
    "event_to_dict",
    "is_late",
]


class PaymentMethod(enum.StrEnum):
    """BILL-4: card is charged at issue; transfer is due later and adds a fee line."""

    CARD = "card"
    TRANSFER = "transfer"


# The largest counts an event may carry, the same on every storage engine: every integer column
# holds them (far below 2**31 - 1), and MAX_SEATS seats at up to 10**9 per seat stay within the
# SQL amount columns (15 digits before the point). Checked when the event is built, so nothing
# larger is ever stored or billed.
MAX_SEATS = 100_000
"""The most seats (accounts) a tenant may hold, per event and in total (SEAT-1)."""

MAX_PREPAID_MONTHS = 120
"""The longest prepaid term, in months (TERM-1): ten years."""

# The outage causes SLA-4 knows (crmcore.sla.OutageKind); spelled here to keep events free of
# the SLA module.
OUTAGE_KINDS = (
    "unplanned",
    "maintenance",
    "force_majeure",
    "integration",
    "addon",
    "customer_equipment",
)

_E = TypeVar("_E", bound=enum.Enum)


def _aware(_i: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    require_in_calendar(value, attribute.name)  # TIME-1, and a day a tenant can be billed on


def _recorded(_i: object, attribute: attrs.Attribute[datetime | None], value: object) -> None:
    if value is not None:
        require_in_calendar(value, attribute.name)  # type: ignore[arg-type]


def _count(maximum: int | None, rule: str | None) -> Callable[[object, Any, int], None]:
    """A validator: a positive ``int`` (not a bool), at most ``maximum``."""

    def check(_i: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValidationError(
                f"must be a positive integer, got {value!r}", field=attribute.name, rule=rule
            )
        if maximum is not None and value > maximum:
            raise ValidationError(
                f"must be at most {maximum}, got {value}", field=attribute.name, rule=rule
            )

    return check


_positive = _count(None, None)


def _member(kind: type[_E], value: object, field: str, rule: str) -> _E:
    """A member of ``kind`` from itself or its value (``"annual"``); anything else refused."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        for member in kind:
            if member.value == value:
                return member
    allowed = ", ".join(repr(member.value) for member in kind)
    raise ValidationError(f"must be one of {allowed}, got {value!r}", field=field, rule=rule)


def _cycle(value: object) -> Cycle:
    return _member(Cycle, value, "cycle", "BILL-1")


def _payment_method(value: object) -> PaymentMethod | None:
    """None: the method in force (the billing profile's, else the tenant's so far, else card)."""
    return None if value is None else _member(PaymentMethod, value, "payment", "BILL-4")


def _outage_kind(_i: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in OUTAGE_KINDS:
        allowed = ", ".join(repr(kind) for kind in OUTAGE_KINDS)
        raise ValidationError(
            f"must be one of {allowed}, got {value!r}", field=attribute.name, rule="SLA-4"
        )


def _payment_amount(_i: object, attribute: attrs.Attribute[Decimal | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValidationError(
            f"must be a positive Decimal or None (everything due), got {value!r}",
            field=attribute.name,
            rule="PAY-6",
        )


def _non_empty(_i: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"must be a non-empty string, got {value!r}", field=attribute.name)


@attrs.frozen
class TenantCreated:
    """TEN-1: registration; starts the trial."""

    at: datetime = attrs.field(validator=_aware)
    tenant_id: str = attrs.field(validator=_non_empty)
    identity: str | None = None  # TRIAL-6 key supplied by the caller
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class Activated:
    """Conversion to paid (TRIAL-3) on ``plan`` with ``seats`` accounts, paid by ``payment``
    (BILL-4); None: by the method in force, the billing profile's
    (:class:`BillingProfileChanged`), else card."""

    at: datetime = attrs.field(validator=_aware)
    plan: str = attrs.field(validator=_non_empty)
    cycle: Cycle = attrs.field(default=Cycle.MONTHLY, converter=_cycle)
    seats: int = attrs.field(default=1, validator=_count(MAX_SEATS, "SEAT-1"))
    payment: PaymentMethod | None = attrs.field(default=None, converter=_payment_method)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class Prepaid:
    """A prepaid term of ``months`` months (TERM-1), paid by ``payment`` (None: as
    :class:`Activated`)."""

    at: datetime = attrs.field(validator=_aware)
    plan: str = attrs.field(validator=_non_empty)
    months: int = attrs.field(validator=_count(MAX_PREPAID_MONTHS, "TERM-1"))
    seats: int = attrs.field(default=1, validator=_count(MAX_SEATS, "SEAT-1"))
    payment: PaymentMethod | None = attrs.field(default=None, converter=_payment_method)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class SeatsAdded:
    """Seats bought (PRO-2, PRO-3)."""

    at: datetime = attrs.field(validator=_aware)
    count: int = attrs.field(validator=_count(MAX_SEATS, "SEAT-1"))
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class SeatsRemoved:
    """Free seats released (BILL-3: billed until the period ends)."""

    at: datetime = attrs.field(validator=_aware)
    count: int = attrs.field(validator=_count(MAX_SEATS, "SEAT-1"))
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class PersonAssigned:
    """An account given to a named person (SEAT-1, SEAT-2, SEAT-5)."""

    at: datetime = attrs.field(validator=_aware)
    person: str = attrs.field(validator=_non_empty)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class PersonUnassigned:
    at: datetime = attrs.field(validator=_aware)
    person: str = attrs.field(validator=_non_empty)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class PlanChanged:
    """Upgrade (PRO-4) or downgrade (PRO-6)."""

    at: datetime = attrs.field(validator=_aware)
    plan: str = attrs.field(validator=_non_empty)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class PaymentReceived:
    """A payment, applied oldest invoice first (PAY-1). ``amount=None`` pays everything due."""

    at: datetime = attrs.field(validator=_aware)
    amount: Decimal | None = attrs.field(default=None, validator=_payment_amount)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class Reinstated:
    """The vendor's recorded reinstatement decision (PAY-3)."""

    at: datetime = attrs.field(validator=_aware)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class Cancelled:
    """The customer cancels the instance (END-4, TRIAL-2)."""

    at: datetime = attrs.field(validator=_aware)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


_COUNTRY = re.compile(r"[A-Z]{2}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}")


def _country(_i: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or _COUNTRY.fullmatch(value) is None:
        raise ValidationError(
            f"must be an ISO 3166 alpha-2 code such as CZ, got {value!r}",
            field=attribute.name,
            rule="PLAN-2",
        )


def _email(_i: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or _EMAIL.fullmatch(value) is None):
        raise ValidationError(
            f"must be an e-mail address, got {value!r}", field=attribute.name, rule="BILL-5"
        )


def _tax_id(_i: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and (
        not isinstance(value, str) or not 1 <= len(value) <= 32 or not value.isprintable()
    ):
        raise ValidationError(
            f"must be 1..32 printable characters or None, got {value!r}", field=attribute.name
        )


@attrs.frozen
class BillingProfileChanged:
    """The tenant's billing profile from ``at`` on: the customer's ``country`` (its VAT rate,
    PLAN-2), the ``billing_email`` invoices go to (BILL-5), an optional ``tax_id`` and the
    ``payment`` method (BILL-4; None: unchanged). It applies to the invoices issued from its
    vendor day on (the method: from its instant on, and to an activation that names none);
    an issued invoice never changes."""

    at: datetime = attrs.field(validator=_aware)
    country: str = attrs.field(validator=_country)
    billing_email: str | None = attrs.field(default=None, validator=_email)
    tax_id: str | None = attrs.field(default=None, validator=_tax_id)
    payment: PaymentMethod | None = attrs.field(default=None, converter=_payment_method)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class OutageRecorded:
    """Unavailability from ``at`` to ``until`` (SLA-4, SLA-5)."""

    at: datetime = attrs.field(validator=_aware)
    until: datetime = attrs.field(validator=_aware)
    kind: str = attrs.field(default="unplanned", validator=_outage_kind)
    announced: datetime | None = attrs.field(default=None)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)

    @announced.validator
    def _announced_aware(self, attribute: attrs.Attribute[datetime | None], value: object) -> None:
        if value is not None:
            require_aware(value, attribute.name)  # type: ignore[arg-type]

    def __attrs_post_init__(self) -> None:
        if self.until <= self.at:
            raise ValidationError(
                f"must be after the start {self.at.isoformat()}, got {self.until.isoformat()}",
                field="until",
                rule="SLA-5",
            )


def _record_count(_i: object, attribute: attrs.Attribute[int], value: int) -> None:
    record_count(value, attribute.name)  # REC-3: 1..MAX_RECORDS_PER_CALL


@attrs.frozen
class RecordsCreated:
    """An attempt to create ``count`` records of ``kind`` (REC-1..3)."""

    at: datetime = attrs.field(validator=_aware)
    kind: str = attrs.field(validator=_non_empty)
    count: int = attrs.field(validator=_record_count)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


@attrs.frozen
class RecordsDeleted:
    at: datetime = attrs.field(validator=_aware)
    kind: str = attrs.field(validator=_non_empty)
    count: int = attrs.field(validator=_record_count)
    recorded: datetime | None = attrs.field(default=None, validator=_recorded)


Event = (
    TenantCreated
    | Activated
    | Prepaid
    | SeatsAdded
    | SeatsRemoved
    | PersonAssigned
    | PersonUnassigned
    | PlanChanged
    | PaymentReceived
    | Reinstated
    | Cancelled
    | OutageRecorded
    | RecordsCreated
    | RecordsDeleted
    | BillingProfileChanged
)

EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        TenantCreated,
        Activated,
        Prepaid,
        SeatsAdded,
        SeatsRemoved,
        PersonAssigned,
        PersonUnassigned,
        PlanChanged,
        PaymentReceived,
        Reinstated,
        Cancelled,
        OutageRecorded,
        RecordsCreated,
        RecordsDeleted,
        BillingProfileChanged,
    )
}


def entered(event: Event) -> datetime:
    """The instant ``event`` was entered: its ``recorded`` instant, or ``at`` when it was
    recorded as it happened (BILL-6: a later ``recorded`` makes it a late entry)."""
    return event.at if event.recorded is None else event.recorded


def is_late(event: Event, timezone: str) -> bool:
    """Whether ``event`` was entered on a later vendor day than the one it takes effect on:
    what was invoiced before then did not know it (BILL-6, corrections)."""
    if event.recorded is None:
        return False
    return vendor_date(event.recorded, timezone) > vendor_date(event.at, timezone)


def entry_order_problem(previous: Event, event: Event) -> tuple[str, str] | None:
    """Why ``event`` may not follow ``previous`` in a history, as (field, message), or None.

    Events are kept in the order they were entered (BILL-6): each is entered at or after the
    one before it, and takes effect at or after it unless its ``recorded`` instant says it is
    a late entry (recorded after it took effect)."""
    late = event.recorded is not None and event.recorded > event.at
    if event.at < previous.at and not late:
        return (
            "at",
            f"{event.at.isoformat()} is before the previous event at {previous.at.isoformat()};"
            " an earlier effective time needs 'recorded' saying it was entered late",
        )
    if entered(event) < entered(previous):
        return (
            "recorded",
            f"entered {entered(event).isoformat()}, before the previous event"
            f" ({entered(previous).isoformat()}); events are listed in recorded order",
        )
    return None


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict with a ``type`` tag (``recorded`` only when it was set)."""
    data: dict[str, Any] = converter.unstructure(event)
    if data.get("recorded", "") is None:
        del data["recorded"]
    data["type"] = type(event).__name__
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event a dict made by :func:`event_to_dict` describes."""
    if not isinstance(data, dict):
        raise ValidationError(f"an event must be an object, got {data!r}", field="event")
    payload = dict(data)
    name = payload.pop("type", None)
    if not isinstance(name, str) or name not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        raise ValidationError(f"unknown event type {name!r} (known: {known})", field="type")
    result: Event = structure_strict(
        payload,
        EVENT_TYPES[name],
        error=lambda errors: MultipleValidationErrors(errors, what=f"{name} event"),
    )
    return result
