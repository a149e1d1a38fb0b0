"""Stored events are validated again on load (TIME-1, TEN-1): the fast path that builds a
well-typed row with the event class itself gives the same events, and a malformed row the
same typed errors, as the general strict structuring."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.catalog import Cycle
from crmcore.errors import CrmError, CurrencyError, MultipleValidationErrors, ValidationError
from crmcore.events import (
    Activated,
    Event,
    OutageRecorded,
    PaymentMethod,
    PaymentReceived,
    SeatsAdded,
    TenantCreated,
    event_from_dict,
    event_to_dict,
)
from crmcore.invoices import Invoice, InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.testing.billing import tenant_histories
from crmcore_sql.convert import (
    _in_zone,
    _row_spec,
    event_from_columns,
    event_from_row,
    event_to_row,
    invoice_to_rows,
    net_amount,
)

AT = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)


def row(event: Event, zone: str | None = None) -> Any:
    columns = event_to_row("t", 1, event)
    if zone is not None:
        columns["at_zone"] = zone
    return SimpleNamespace(**columns)


def general(stored: Any) -> Event:
    """The general path: strict structuring, then every instant shown in the recorded zone."""
    result: Event = _in_zone(event_from_dict(json.loads(stored.payload)), stored.at_zone)
    return result


@given(tenant_histories(), st.sampled_from(["Europe/Warsaw", "Europe/Prague", "+05:30", "UTC"]))
def test_loaded_events_equal_the_general_path_and_keep_the_zone_time_1(
    history: list[Event], zone: str
) -> None:
    for event in history:
        stored = row(event, zone)
        loaded = event_from_row(stored)
        assert loaded == general(stored) == event  # equal instants
        assert loaded.at.utcoffset() == general(stored).at.utcoffset()
        assert type(loaded) is type(event)


@pytest.mark.parametrize(
    "event",
    [
        TenantCreated(AT, "t1", identity="example.com"),
        TenantCreated(AT, "t1"),
        Activated(AT, "standard", Cycle.ANNUAL, 3, PaymentMethod.TRANSFER),
        SeatsAdded(AT, 2),
        PaymentReceived(AT, Decimal("123.45")),  # a Decimal field: the general path
        OutageRecorded(AT, datetime(2026, 1, 20, 10, 0, tzinfo=UTC), announced=AT),
    ],
)
def test_every_event_kind_loads_with_typed_fields(event: Event) -> None:
    loaded = event_from_row(row(event, "Europe/Warsaw"))
    assert loaded == event
    for field in attrs.fields(type(event)):
        assert type(getattr(loaded, field.name)) is type(getattr(event, field.name))


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "Activated", "at": "2026-01-20T09:00:00", "plan": "x", "cycle": "weekly"},
        {"type": "Activated", "at": "2026-01-20T09:00:00+01:00", "plan": "x", "seats": True},
        {"type": "Activated", "at": "2026-01-20T09:00:00+01:00", "plan": "x", "seats": "3"},
        {"type": "Activated", "at": "2026-01-20T09:00:00+01:00", "plan": "", "seats": 3},
        {"type": "Activated", "at": "2026-01-20T09:00:00+01:00", "seats": 3},
        {"type": "SeatsAdded", "at": "2026-01-20T09:00:00+01:00", "count": -2},
        {"type": "SeatsAdded", "at": "yesterday", "count": 2},
        {"type": "SeatsAdded", "at": "2026-01-20T09:00:00+01:00", "count": 2, "extra": 1},
        {"type": "TenantCreated", "at": "2026-01-20T09:00:00+01:00", "tenant_id": 7},
    ],
)
def test_a_malformed_row_raises_what_the_strict_structuring_raises_time_1(
    payload: dict[str, Any],
) -> None:
    _raises_the_strict_errors(payload, "Europe/Warsaw")


def _raises_the_strict_errors(payload: dict[str, Any], zone: str) -> None:
    """The row decoder raises exactly the errors ``event_from_dict`` raises for ``payload``."""
    stored = SimpleNamespace(payload=json.dumps(payload), at_zone=zone)
    with pytest.raises(MultipleValidationErrors) as expected:
        event_from_dict(payload)
    with pytest.raises(MultipleValidationErrors) as caught:
        event_from_row(stored)
    assert caught.value.errors == expected.value.errors


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "SeatsAdded", "at": "2026-01-20T09:00:00", "count": 2},  # naive
        {"type": "SeatsAdded", "at": "2026-01-20T09:00:00+01:00"},  # a required field missing
        {"type": "SeatsAdded", "at": None, "count": 2},
        {"type": "Activated", "at": "2026-01-20T09:00:00+01:00", "plan": "x", "cycle": 1},
    ],
)
def test_a_row_off_the_fast_path_raises_the_strict_errors(payload: dict[str, Any]) -> None:
    _raises_the_strict_errors(payload, "+01:00")


@pytest.mark.parametrize("name", [5, None, "Unknown"])
def test_an_unknown_event_type_raises_what_event_from_dict_raises(name: object) -> None:
    payload = {"type": name, "at": "2026-01-20T09:00:00+01:00", "count": 2}
    with pytest.raises(ValidationError) as expected:
        event_from_dict(payload)
    with pytest.raises(ValidationError) as caught:
        event_from_row(SimpleNamespace(payload=json.dumps(payload), at_zone="UTC"))
    assert str(caught.value) == str(expected.value)
    assert caught.value.field == expected.value.field == "type"


def test_a_payload_without_a_defaulted_field_gets_the_default() -> None:
    """An older row that lacks a field added later with a default (the strict path)."""
    payload = {"type": "Activated", "at": "2026-01-20T10:00:00+01:00", "plan": "x"}
    loaded = event_from_columns(json.dumps(payload), "Europe/Warsaw")
    assert loaded == Activated(AT, "x")
    assert str(loaded.at.tzinfo) == "Europe/Warsaw"


@pytest.mark.parametrize(
    "wrap",
    [
        lambda text: f" {text}\n",  # whitespace around the document: json.loads
        lambda text: text.encode(),  # a driver that returns bytes: json.loads
        lambda text: text,
    ],
)
def test_a_payload_loads_as_json_loads_reads_it(wrap: Any) -> None:
    event = Activated(AT, "standard", Cycle.ANNUAL, 3, PaymentMethod.TRANSFER)
    payload = wrap(json.dumps(event_to_dict(event)))
    loaded = event_from_columns(payload, "+05:30")
    assert loaded == event
    assert loaded.at.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize("payload", ["", "{", '{"type": "Cancelled"} x', "\ufeff{}"])
def test_a_payload_that_is_not_json_raises_what_json_loads_raises(payload: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(payload)
    with pytest.raises(json.JSONDecodeError) as caught:
        event_from_columns(payload, "UTC")
    assert str(caught.value) == str(expected.value)


@attrs.frozen
class _KeywordOnly:
    at: datetime
    plan: str = attrs.field(kw_only=True)


@attrs.frozen
class _NotInInit:
    at: datetime
    plan: str = attrs.field(init=False, default="x")


@attrs.frozen
class _TwoKinds:
    at: datetime | Cycle


@attrs.frozen
class _Plain:
    at: datetime
    cycle: Cycle
    seats: int | None
    name: str


def test_only_plain_positional_classes_have_a_row_spec() -> None:
    for cls in (_KeywordOnly, _NotInInit, _TwoKinds, PaymentReceived):
        assert _row_spec(cls) is None
    assert _row_spec(_Plain) == (
        ("at", (datetime,), True, None),
        ("cycle", (Cycle,), False, dict(Cycle._value2member_map_)),
        ("seats", (int, type(None)), False, None),
        ("name", (str,), False, None),
    )


def _invoice(amounts: list[Decimal], currency: str) -> Invoice:
    lines = [
        InvoiceLine(
            LineKind.SLA_CREDIT if amount < 0 else LineKind.SEATS, "PRO-2", Money(amount, currency)
        )
        for amount in amounts
    ]
    return Invoice(
        "t", "1", "s", date(2026, 2, 1), date(2026, 2, 15), currency, Decimal("0.23"), lines
    )


_AMOUNTS = st.builds(
    lambda sign, coefficient, exponent: Decimal(
        (sign, tuple(int(digit) for digit in str(coefficient)), exponent)
    ),
    st.integers(0, 1),
    st.integers(0, 10**5) | st.integers(0, 10**210),
    st.sampled_from([0, -1, -2, -3]),
)


@given(st.lists(_AMOUNTS, max_size=3), st.sampled_from(["PLN", "CZK", "JPY"]))
def test_the_net_of_the_rows_is_the_invoice_net_digit_for_digit_bill_7(
    amounts: list[Decimal], currency: str
) -> None:
    try:
        invoice = _invoice(amounts, currency)
    except CrmError:
        return  # lines that are not rounded: no invoice
    try:
        expected = invoice.net.amount
    except CrmError as exc:  # more digits than Money adds exactly
        with pytest.raises(type(exc)):
            net_amount(invoice)
        return
    got = net_amount(invoice)
    assert (got.as_tuple(), type(got)) == (expected.as_tuple(), Decimal)


@pytest.mark.parametrize(
    "amount",
    ["12.34", "-0.00", "0.00", "0", "100", "-3.50", "1.230", "1" * 198 + ".00", "1" * 199 + ".00"],
)
def test_a_one_line_net_is_the_invoice_net_bill_7(amount: str) -> None:
    try:
        invoice = _invoice([Decimal(amount)], "PLN")
    except CrmError:
        return  # not an invoice line at all
    try:
        expected = invoice.net.amount
    except CrmError as exc:
        with pytest.raises(type(exc)):
            net_amount(invoice)
        return
    assert net_amount(invoice).as_tuple() == expected.as_tuple()


def test_invoice_rows_with_an_id_are_the_rows_with_the_id_added() -> None:
    invoice = _invoice([Decimal("10.00"), Decimal("-2.50")], "PLN")
    invoice = attrs.evolve(
        invoice,
        lines=[
            attrs.evolve(invoice.lines[0], fraction=Fraction(12, 31), plan="start", seats=3),
            invoice.lines[1],
        ],
    )
    head, lines = invoice_to_rows(invoice)
    with_id = invoice_to_rows(invoice, 7)
    assert with_id == (dict(head, id=7), [dict(line, invoice_id=7) for line in lines])
    assert head["net"] == 750  # 7.50 PLN in minor units (BILL-7)
    assert [line["kind"] for line in lines] == ["seats", "sla_credit"]
    assert type(lines[0]["kind"]) is str
    assert (lines[0]["fraction_numerator"], lines[0]["fraction_denominator"]) == (12, 31)
    assert (lines[1]["fraction_numerator"], lines[1]["fraction_denominator"]) == (None, None)


def test_an_invoice_without_lines_in_an_unknown_currency_raises_as_its_net_does() -> None:
    """BILL-7: such an invoice is refused when built, so it never reaches the rows."""
    with pytest.raises(CurrencyError):
        Invoice("t", "1", "s", date(2026, 2, 1), date(2026, 2, 15), "XYZ", Decimal(0), [])
