"""The shared strict converter and the tagged event dicts (BILL-7, TIME-1, PRO-1)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from crmcore.catalog import Cycle
from crmcore.errors import MultipleValidationErrors, ValidationError
from crmcore.events import (
    Activated,
    OutageRecorded,
    PaymentMethod,
    PaymentReceived,
    SeatsAdded,
    TenantCreated,
    event_from_dict,
    event_to_dict,
)
from crmcore.invoices import InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.serialization import converter

AT = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "event",
    [
        TenantCreated(AT, "t1", identity="example.com"),
        Activated(AT, "standard", Cycle.ANNUAL, 3, PaymentMethod.TRANSFER),
        SeatsAdded(AT, 2),
        PaymentReceived(AT, Decimal("123.45")),
        PaymentReceived(AT),
        OutageRecorded(AT, datetime(2026, 1, 20, 10, 0, tzinfo=UTC), announced=None),
    ],
)
def test_events_round_trip_through_json(event: Any) -> None:
    data = json.loads(json.dumps(event_to_dict(event)))
    assert event_from_dict(data) == event


def test_event_errors_are_typed_and_list_every_path_TIME_1() -> None:
    with pytest.raises(MultipleValidationErrors) as caught:
        event_from_dict(
            {"type": "Activated", "at": "2026-01-20T09:00:00", "plan": "x", "cycle": "weekly"}
        )
    assert caught.value.errors == (
        "$.at: must be timezone-aware, got naive '2026-01-20T09:00:00' (TIME-1)",
        "$.cycle: must be one of 'monthly', 'annual', got 'weekly'",
    )
    with pytest.raises(ValidationError, match=r"type: unknown event type 'Nope' \(known: "):
        event_from_dict({"type": "Nope"})
    with pytest.raises(ValidationError, match=r"type: unknown event type \['Activated'\]"):
        event_from_dict({"type": ["Activated"]})
    with pytest.raises(ValidationError, match="event: an event must be an object"):
        event_from_dict(["Activated"])  # type: ignore[arg-type]


def test_fractions_travel_as_exact_strings_PRO_1() -> None:
    line = InvoiceLine(
        LineKind.SEATS,
        "PRO-2",
        Money.of("678.57", "PLN"),
        seats=2,
        first_day=date(2026, 2, 10),
        last_day=date(2026, 2, 28),
        fraction=Fraction(19, 28),
    )
    data = converter.unstructure(line)
    assert data["fraction"] == "19/28"
    assert data["net"] == {"amount": "678.57", "currency": "PLN"}
    assert converter.structure(json.loads(json.dumps(data)), InvoiceLine) == line
