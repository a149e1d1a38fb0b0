"""Billing checkpoints: a run that starts from a checkpoint gives exactly the invoices (and the
next checkpoint) a replay of the whole history gives (BILL-6 idempotency, PRO-2..7, TERM-1)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.billing.checkpoint import (
    BillingCheckpoint,
    checkpoint_fits,
    checkpoint_from_data,
    checkpoint_to_data,
)
from crmcore.billing.engine import billing_run, invoices_due
from crmcore.errors import ValidationError
from crmcore.events import Cancelled, Event, PaymentMethod, Prepaid, SeatsAdded, TenantCreated
from crmcore.presets import preset
from crmcore.testing.billing import PRAGUE, TWO_PLAN_TERMS, TWO_PLANS, tenant_histories

RAYNET = preset("raynet")
TERMS_POLICY = RAYNET.with_overrides({"billing": {"term_discounts": [[12, "0.10"]]}})


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=PRAGUE)


@st.composite
def prepaid_histories(draw: st.DrawFn) -> list[Event]:
    """Created, a prepaid term (TERM-1), maybe an extension and seat purchases."""
    created = draw(st.dates(date(2026, 1, 1), date(2027, 12, 31)))
    months = draw(st.sampled_from([6, 12]))
    start = created + timedelta(days=draw(st.integers(0, 20)))
    history: list[Event] = [
        TenantCreated(_at(created), "t"),
        Prepaid(_at(start, 10), "standard", months, draw(st.integers(1, 4))),
    ]
    day = start
    for hour in range(11, 11 + draw(st.integers(0, 3))):
        day += timedelta(days=draw(st.integers(1, 200)))
        if draw(st.booleans()):
            history.append(SeatsAdded(_at(day, hour), draw(st.integers(1, 3))))
        else:
            history.append(Prepaid(_at(day, hour), "standard", months, 1))
    return history


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    history: list[Event] = draw(tenant_histories() | prepaid_histories())
    if draw(st.booleans()):  # END-4: a cancellation after the rest
        last = history[-1].at.date()
        history.append(Cancelled(_at(last + timedelta(days=draw(st.integers(1, 90))), 20)))
    return history


@given(histories(), st.integers(0, 500), st.integers(1, 500))
def test_a_run_from_a_checkpoint_equals_a_replay_of_the_whole_history_BILL_6(
    history: list[Event], first: int, more: int
) -> None:
    created = history[0].at.date()
    up_to_first = created + timedelta(days=first)
    up_to = up_to_first + timedelta(days=more)

    earlier, checkpoint = billing_run(history, TWO_PLANS, TERMS_POLICY, TWO_PLAN_TERMS, up_to_first)
    tail = history[checkpoint.events :]
    assert all(event.at.date() > up_to_first for event in tail)
    assert checkpoint_fits(checkpoint, tail, TERMS_POLICY, up_to)
    later, resumed = billing_run(
        tail,
        TWO_PLANS,
        TERMS_POLICY,
        TWO_PLAN_TERMS,
        up_to,
        already_issued={draft.key for draft in earlier},
        checkpoint=checkpoint,
    )

    whole = invoices_due(history, TWO_PLANS, TERMS_POLICY, TWO_PLAN_TERMS, up_to)
    assert earlier + later == whole
    assert earlier == invoices_due(history, TWO_PLANS, TERMS_POLICY, TWO_PLAN_TERMS, up_to_first)
    assert resumed == billing_run(history, TWO_PLANS, TERMS_POLICY, TWO_PLAN_TERMS, up_to)[1]


@given(histories(), st.integers(0, 500))
def test_a_checkpoint_survives_its_json_form_BILL_6(history: list[Event], days: int) -> None:
    up_to = history[0].at.date() + timedelta(days=days)
    _, checkpoint = billing_run(history, TWO_PLANS, TERMS_POLICY, TWO_PLAN_TERMS, up_to)
    text = json.dumps(checkpoint_to_data(checkpoint))
    assert checkpoint_from_data(json.loads(text), TERMS_POLICY) == checkpoint


def _checkpoint() -> tuple[list[Event], BillingCheckpoint]:
    history: list[Event] = [
        TenantCreated(_at(date(2026, 1, 5)), "t"),
        Prepaid(_at(date(2026, 1, 10)), "standard", 12, 3),
        SeatsAdded(_at(date(2026, 3, 2)), 1),
    ]
    _, checkpoint = billing_run(history, TWO_PLANS, TERMS_POLICY, TWO_PLAN_TERMS, date(2026, 1, 31))
    return history, checkpoint


def test_a_checkpoint_counts_the_events_up_to_its_day_and_keeps_the_state_TERM_1() -> None:
    _, checkpoint = _checkpoint()
    assert (checkpoint.events, checkpoint.day) == (2, date(2026, 1, 31))
    assert (checkpoint.state.plan, checkpoint.state.seats) == ("standard", 3)
    assert checkpoint.state.term is not None and checkpoint.state.term_months == 12


def test_a_checkpoint_keeps_the_payment_method_as_its_text_and_reads_back_the_enum_BILL_4() -> None:
    """The state's payment method is a PaymentMethod; its JSON form is the plain text it
    always was ("card"), and an unknown method is not a checkpoint."""
    _, checkpoint = _checkpoint()
    assert checkpoint.state.payment is PaymentMethod.CARD
    data = checkpoint_to_data(checkpoint)
    position = next(i for i, v in enumerate(data) if v == "card")
    assert type(data[position]) is str
    assert checkpoint_from_data(json.loads(json.dumps(data)), TERMS_POLICY) == checkpoint
    data[position] = "cash"
    with pytest.raises(ValidationError, match="not a billing checkpoint"):
        checkpoint_from_data(data, TERMS_POLICY)


def test_a_checkpoint_does_not_fit_backwards_or_before_a_late_event_BILL_6() -> None:
    history, checkpoint = _checkpoint()
    tail = history[checkpoint.events :]
    assert checkpoint_fits(checkpoint, tail, TERMS_POLICY, date(2026, 2, 28))
    assert not checkpoint_fits(checkpoint, tail, TERMS_POLICY, date(2026, 1, 31))  # not forward
    late = [SeatsAdded(_at(date(2026, 1, 31), 23), 1), *tail]  # recorded late, dated before
    assert not checkpoint_fits(checkpoint, late, TERMS_POLICY, date(2026, 2, 28))
    with pytest.raises(ValidationError) as caught:
        billing_run(
            late, TWO_PLANS, TERMS_POLICY, TWO_PLAN_TERMS, date(2026, 2, 28), checkpoint=checkpoint
        )
    assert (caught.value.field, caught.value.rule) == ("checkpoint", "BILL-6")


@pytest.mark.parametrize("data", [None, [], "text", [1, 2, "2026-01-31"]])
def test_what_is_not_a_checkpoint_is_a_typed_error_BILL_6(data: object) -> None:
    with pytest.raises(ValidationError) as caught:
        checkpoint_from_data(data, TERMS_POLICY)
    assert caught.value.field == "checkpoint"


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (0, 99),  # another format
        (1, -1),  # a negative count of events
        (2, "31.01.2026"),  # not an ISO day
        (5, [["3.5x", "CZK", 1]]),  # not an amount
        (5, [["10.00", "QQQ", 1]]),  # not a currency
        (8, 7),  # a tenant id that is not a string
        (9, "2026-01-05T09:00:00"),  # a naive instant
        (10, "bankrupt"),  # no such status
        (19, "1.5"),  # seats as a string
    ],
)
def test_a_corrupted_checkpoint_is_a_typed_error_BILL_6(position: int, value: object) -> None:
    _, checkpoint = _checkpoint()
    data = checkpoint_to_data(checkpoint)
    assert checkpoint_from_data(data, TERMS_POLICY) == checkpoint
    data[position] = value
    with pytest.raises(ValidationError, match="not a billing checkpoint") as caught:
        checkpoint_from_data(data, TERMS_POLICY)
    assert caught.value.field == "checkpoint"
