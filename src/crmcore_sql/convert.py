"""Explicit row <-> value conversion; the core's attrs classes stay frozen and are validated
again on load (a row that breaks a rule raises instead of producing a bad value)."""

from __future__ import annotations

import enum
import functools
import json
import typing
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from crmcore.errors import CrmError, ValidationError, short_repr
from crmcore.events import EVENT_TYPES, Event, OutageRecorded, event_from_dict, event_to_dict
from crmcore.invoices import Invoice, InvoiceLine, LineKind, Payment
from crmcore.money import Money, minor_units
from crmcore_sql.tables import VAT_RATE_LENGTH

__all__ = [
    "decoded",
    "event_from_columns",
    "event_from_row",
    "event_to_row",
    "instant_from_columns",
    "instant_to_columns",
    "invoice_from_rows",
    "invoice_to_rows",
]


def zone_name(instant: datetime) -> str:
    """The zone of an aware instant: an IANA key when it has one, else ``+HH:MM``."""
    key = getattr(instant.tzinfo, "key", None)
    if isinstance(key, str):
        return key
    offset = instant.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@functools.cache
def _zone(name: str) -> ZoneInfo | timezone:
    if name[:1] in "+-":
        sign = -1 if name[0] == "-" else 1
        hours, minutes = name[1:].split(":")
        return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    return ZoneInfo(name)


def instant_to_columns(instant: datetime) -> tuple[datetime, str]:
    """(naive UTC, zone name) — the database never sees a local time (TIME-1)."""
    return instant.astimezone(UTC).replace(tzinfo=None), zone_name(instant)


def instant_from_columns(utc: datetime, zone: str) -> datetime:
    return utc.replace(tzinfo=UTC).astimezone(_zone(zone))


@functools.cache
def _enum_fields(cls: type) -> tuple[tuple[str, type[enum.Enum]], ...]:
    """The enum-typed fields of an attrs class (resolved once per class)."""
    attrs.resolve_types(cls)
    return tuple(
        (field.name, field.type)
        for field in attrs.fields(cls)
        if isinstance(field.type, type) and issubclass(field.type, enum.Enum)
    )


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(cls))


def _enums(event: Any) -> Any:
    """Enum fields back as enums: the shared converter leaves StrEnum values as plain str."""
    changes = {
        name: kind(getattr(event, name))
        for name, kind in _enum_fields(event.__class__)
        if not isinstance(getattr(event, name), kind)
    }
    return attrs.evolve(event, **changes) if changes else event


def _in_zone(event: Any, zone: str) -> Any:
    """The event with every datetime field shown in ``zone`` (JSON keeps only offsets)."""
    tz = _zone(zone)
    changes = {
        name: value.astimezone(tz)
        for name in _field_names(event.__class__)
        if isinstance(value := getattr(event, name), datetime)
    }
    return _enums(attrs.evolve(event, **changes))


def event_to_row(tenant_id: str, version: int, event: Event) -> dict[str, Any]:
    at_utc, at_zone = instant_to_columns(event.at)
    return {
        "tenant_id": tenant_id,
        "version": version,
        "type": type(event).__name__,
        "at_utc": at_utc,
        "at_zone": at_zone,
        "payload": json.dumps(event_to_dict(event), sort_keys=True),
    }


@functools.cache
def _datetime_fields(cls: type) -> tuple[str, ...]:
    """The datetime-typed fields (``datetime`` or ``datetime | None``) of an attrs class."""
    attrs.resolve_types(cls)
    return tuple(
        field.name
        for field in attrs.fields(cls)
        if field.type is datetime or datetime in typing.get_args(field.type)
    )


def event_from_row(row: Any) -> Event:
    """The stored event (a row with ``payload`` and ``at_zone``): see :func:`event_from_columns`."""
    return event_from_columns(row.payload, row.at_zone)


def events_from_rows(rows: Sequence[Any], known: tuple[Event, ...] = ()) -> tuple[Event, ...]:
    """One tenant's stored events: ``known``, its first events (distinct objects), then those
    of ``rows`` (with ``payload`` and ``at_zone``, in order), each decoded once per process
    (:func:`decoded`, what a command reads on every call) and each a distinct object within
    the history (evaluations tell its events apart by identity)."""
    events = [*known, *(decoded(row.payload, row.at_zone) for row in rows)]
    seen = {id(event) for event in known}
    for index in range(len(known), len(events)):
        if id(events[index]) in seen:  # the same payload twice: an event of its own
            row = rows[index - len(known)]
            events[index] = event_from_columns(row.payload, row.at_zone)
        seen.add(id(events[index]))
    return tuple(events)


@functools.lru_cache(maxsize=32768)
def decoded(payload: str, zone: str) -> Event:
    """:func:`event_from_columns`, remembered: an event is a frozen value, the same stored
    columns always give an equal one."""
    return event_from_columns(payload, zone)


def event_from_columns(payload: Any, zone: str) -> Event:
    """The stored event, validated again, its instants shown in the zone it was recorded in.

    A payload with exactly the class's fields whose values all have the field types (after
    turning instant strings into instants in the recorded zone and enum strings into members)
    is built by the event class itself, whose validators check the rules; anything else goes
    through the strict structuring, which reports every bad path."""
    data = _loads(payload)
    name = data.get("type") if type(data) is dict else None
    cls: type | None = EVENT_TYPES.get(name) if type(name) is str else None
    if cls is None:
        return event_from_dict(data)  # raises the usual error
    tz = _zone(zone)
    spec = _row_spec(cls)
    # every field and "type"; ``recorded`` is left out when the event was not a late entry
    if spec is not None and len(data) + ("recorded" not in data) == len(spec) + 1:
        values: list[Any] = []
        for field, accepted, instant, members in spec:
            value = data.get(field, None if field == "recorded" else _MISSING)
            if type(value) is str:
                if instant:
                    try:
                        parsed: datetime | None = datetime.fromisoformat(value)
                    except ValueError:
                        parsed = None
                    if parsed is not None and parsed.tzinfo is not None:
                        value = parsed.astimezone(tz)
                elif members is not None:
                    value = members.get(value, value)
            if type(value) not in accepted:
                break
            values.append(value)
        else:
            try:
                event: Event = cls(*values)
                return event
            except (CrmError, TypeError):
                pass  # reported with its path by the structuring below
    for field in _datetime_fields(cls):
        value = data.get(field)
        if isinstance(value, str):
            data[field] = _instant_in(value, tz)
    for field, kind in _enum_fields(cls):
        value = data.get(field)
        if isinstance(value, str):
            data[field] = _member(kind, value)
    return event_from_dict(data)


_DECODER = json.JSONDecoder()


def _loads(payload: Any) -> Any:
    """``json.loads(payload)``; a payload that is one JSON document with nothing around it
    (what :func:`event_to_row` writes) is read by the decoder's ``raw_decode``, without the
    two whitespace scans of ``json.loads``. Anything else goes to ``json.loads``, which
    accepts or reports it as usual."""
    if type(payload) is str:
        try:
            data, end = _DECODER.raw_decode(payload)
        except json.JSONDecodeError:
            pass
        else:
            if end == len(payload):
                return data
    return json.loads(payload)


def _instant_in(text: str, tz: tzinfo) -> Any:
    """An ISO instant with an offset, shown in ``tz``; anything else unchanged (for the
    structuring to report)."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return text
    return text if instant.tzinfo is None else instant.astimezone(tz)


def _member(kind: type[enum.Enum], value: str) -> Any:
    return kind(value) if value in kind._value2member_map_ else value


_MISSING = object()

_RowSpec = tuple[tuple[str, tuple[type, ...], bool, Mapping[str, enum.Enum] | None], ...]


@functools.cache
def _row_spec(cls: type) -> _RowSpec | None:
    """For an event class whose fields are all plain (datetime, str, int, an enum, or None
    where optional) and positional: per field in order, its name, the accepted exact types,
    whether a string is an instant, and the members an enum string becomes. ``None`` for a
    class with other fields."""
    attrs.resolve_types(cls)
    spec = []
    for field in attrs.fields(cls):
        if not field.init or field.kw_only:
            return None
        options = typing.get_args(field.type) or (field.type,)
        kinds = [option for option in options if option not in (str, int, type(None))]
        if len(kinds) > 1:
            return None
        instant = False
        members: Mapping[str, enum.Enum] | None = None
        for kind in kinds:
            if kind is datetime:
                instant = True
            elif isinstance(kind, type) and issubclass(kind, enum.Enum):
                members = dict(kind._value2member_map_)
            else:
                return None
        spec.append((field.name, tuple(options), instant, members))
    return tuple(spec)


def outage_to_row(tenant_id: str, outage: OutageRecorded) -> dict[str, Any]:
    at_utc, at_zone = instant_to_columns(outage.at)
    payload = json.dumps(event_to_dict(outage), sort_keys=True)
    return {"tenant_id": tenant_id, "payload": payload, "at_utc": at_utc, "at_zone": at_zone}


def outage_from_row(row: Any) -> OutageRecorded:
    outage = event_from_dict(json.loads(row.payload))
    assert isinstance(outage, OutageRecorded)
    result: OutageRecorded = _in_zone(outage, row.at_zone)
    return result


# Amounts are stored as integer minor units (BIGINT) on every engine: exact, where SQLite's
# NUMERIC is a binary float. 18 significant digits always fit (BILL-7).
MAX_MINOR_UNITS = 2**63 - 1


def minor_units_of(amount: Decimal, currency: str, field: str = "amount") -> int:
    """``amount`` in integer minor units of ``currency`` (``12.34`` PLN: ``1234``), as it is
    stored; a ValidationError (BILL-7) for an amount finer than the minor unit or too large
    for a 64-bit integer, instead of storing it rounded."""
    places = minor_units(currency)
    exponent = amount.as_tuple().exponent
    if exponent == -places:  # every rounded amount: exact, no check needed
        units = int(amount.scaleb(places))
    else:
        scaled = amount.scaleb(places) if amount.is_finite() else amount
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise ValidationError(
                f"must be a whole number of {currency} minor units, got {amount}",
                field=field,
                rule="BILL-7",
            )
        units = int(scaled)
    if abs(units) > MAX_MINOR_UNITS:
        raise ValidationError(
            f"too large to store: {amount} {currency} (at most {MAX_MINOR_UNITS} minor units)",
            field=field,
            rule="BILL-7",
        )
    return units


def money_from_minor_units(units: int, currency: str) -> Money:
    """The Money of a stored amount in integer minor units (BILL-7)."""
    places = minor_units(currency)
    return Money(Decimal(int(units)).scaleb(-places), currency)


def vat_rate_to_column(rate: Decimal, field: str = "vat_rate") -> str:
    """``rate`` as it is stored: its exact decimal text (``Decimal('0.2300')``: ``'0.2300'``),
    which reads back (:func:`vat_rate_from_column`) as the very Decimal, digits and exponent,
    on every engine, as the in-memory storage keeps it (PLAN-2). A rate whose text is longer
    than :data:`VAT_RATE_LENGTH` characters (about 20 decimals) is a ValidationError (PLAN-2),
    never stored rounded.

    >>> vat_rate_to_column(Decimal("0.2300")), vat_rate_to_column(Decimal("0.0512"))
    ('0.2300', '0.0512')
    """
    text = str(rate)  # exact: Decimal(str(rate)) has the same sign, digits and exponent
    if len(text) > VAT_RATE_LENGTH:
        raise ValidationError(
            f"has too many digits to be stored exactly (at most {VAT_RATE_LENGTH} characters), "
            f"got {short_repr(rate)}",
            field=field,
            rule="PLAN-2",
        )
    return text


def vat_rate_from_column(text: str) -> Decimal:
    """The VAT rate stored by :func:`vat_rate_to_column`."""
    return Decimal(text)


def invoice_to_rows(
    invoice: Invoice, invoice_id: int | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``invoices`` row and the ``invoice_lines`` rows of an invoice; with ``invoice_id``
    the head carries it as ``id`` and every line as ``invoice_id``."""
    tenant_id = invoice.tenant_id
    head = {
        "tenant_id": tenant_id,
        "key": invoice.key,
        "series": invoice.series,
        "number": invoice.number,
        "issued": invoice.issued,
        "due": invoice.due,
        "currency": invoice.currency,
        "vat_rate": vat_rate_to_column(invoice.vat_rate),
        "billing_email": invoice.billing_email,
        "period_first_day": invoice.period_first_day,
        "period_last_day": invoice.period_last_day,
        "net": minor_units_of(net_amount(invoice), invoice.currency, "net"),
        "corrects": invoice.corrects,
        "corrected_net": None
        if invoice.corrected_net is None
        else minor_units_of(invoice.corrected_net.amount, invoice.currency, "corrected_net"),
    }
    lines = []
    for position, line in enumerate(invoice.lines):
        net = line.net
        fraction = line.fraction
        row = {
            "position": position,
            "tenant_id": tenant_id,
            "kind": line.kind._value_,  # the member's value (``.value`` is a slower property)
            "rule": line.rule,
            "net": minor_units_of(net.amount, net.currency, f"lines[{position}].net"),
            "currency": net.currency,
            "plan": line.plan,
            "seats": line.seats,
            "first_day": line.first_day,
            "last_day": line.last_day,
            "fraction_numerator": None if fraction is None else fraction.numerator,
            "fraction_denominator": None if fraction is None else fraction.denominator,
            "description": line.description,
        }
        if invoice_id is not None:
            row["invoice_id"] = invoice_id
        lines.append(row)
    if invoice_id is not None:
        head["id"] = invoice_id
    return head, lines


def net_amount(invoice: Invoice) -> Decimal:
    """``invoice.net.amount``. An invoice of one line whose amount is not zero and has the
    currency's exponent (as every rounded line has) nets to that very amount (``0.00 + x`` is
    ``x``, digit for digit, within the 200 digits Money adds exactly), so no Money is built;
    any other invoice is summed by :attr:`Invoice.net`."""
    lines = invoice.lines
    if len(lines) == 1:
        amount = lines[0].net.amount
        zero, widest = _zero_of(invoice.currency)
        if (
            type(amount) is Decimal
            and amount
            and amount.same_quantum(zero)
            and amount.adjusted() <= widest
        ):
            return amount
    return invoice.net.amount


@functools.cache
def _zero_of(currency: str) -> tuple[Decimal, int]:
    """The zero of ``currency`` (``0.00``) and the largest ``adjusted()`` of an amount with
    that exponent that has at most 200 digits (Money's exact arithmetic)."""
    zero = Money.zero(currency).amount
    exponent = zero.as_tuple().exponent
    assert isinstance(exponent, int)
    return zero, 199 + exponent


def _line_from_row(row: Any) -> InvoiceLine:
    fraction = (
        None
        if row.fraction_numerator is None
        else Fraction(row.fraction_numerator, row.fraction_denominator)
    )
    return InvoiceLine(
        kind=LineKind(row.kind),
        rule=row.rule,
        net=money_from_minor_units(row.net, row.currency),
        plan=row.plan,
        seats=row.seats,
        first_day=row.first_day,
        last_day=row.last_day,
        fraction=fraction,
        description=row.description,
    )


def invoice_from_rows(head: Any, lines: list[Any]) -> Invoice:
    return Invoice(
        tenant_id=head.tenant_id,
        number=head.number,
        series=head.series,
        issued=head.issued,
        due=head.due,
        currency=head.currency,
        vat_rate=vat_rate_from_column(head.vat_rate),
        lines=tuple(_line_from_row(line) for line in lines),  # type: ignore[misc]
        billing_email=head.billing_email,
        period_first_day=head.period_first_day,
        period_last_day=head.period_last_day,
        key=head.key,
        corrects=head.corrects,
        corrected_net=None
        if head.corrected_net is None
        else money_from_minor_units(head.corrected_net, head.currency),
    )


def payment_to_row(payment: Payment) -> dict[str, Any]:
    at_utc, at_zone = instant_to_columns(payment.at)
    return {
        "tenant_id": payment.tenant_id,
        "at_utc": at_utc,
        "at_zone": at_zone,
        "amount": minor_units_of(payment.amount.amount, payment.amount.currency),
        "currency": payment.amount.currency,
        "reference": payment.reference,
    }


def payment_from_row(row: Any) -> Payment:
    return Payment(
        tenant_id=row.tenant_id,
        at=instant_from_columns(row.at_utc, row.at_zone),
        amount=money_from_minor_units(row.amount, row.currency),
        reference=row.reference,
    )
