"""The billing walk's checkpoint (BILL-6 idempotency): where a tenant's billing stood after a run.

:class:`BillingCheckpoint` is a cache, never the record: with it the next run
(:func:`crmcore.billing.engine.billing_run`) replays only the events after it and gives exactly
the invoices a replay of the whole history gives (a property test checks it). Its codec
(:func:`checkpoint_to_data`, :func:`checkpoint_from_data`) is the one private fast codec of the
billing path: a flat positional list, cheap to write and read once per tenant and run, validated
field by field on the way in (a malformed checkpoint is a :class:`~crmcore.errors.ValidationError`
and storage then replays the whole history); tests/test_billing_job_checkpoints.py checks it
against the plain path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import attrs

from crmcore.billing.proration import Charge
from crmcore.catalog import Cycle
from crmcore.dates import end_of_day, zone
from crmcore.errors import CrmError, ValidationError
from crmcore.events import (
    Event,
    PaymentMethod,
)
from crmcore.invoices import LineKind
from crmcore.money import Money
from crmcore.periods import Period
from crmcore.policies import VendorPolicy
from crmcore.tenancy.aggregate import (
    TenantState,
    TenantStatus,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "BillingCheckpoint",
    "checkpoint_fits",
    "checkpoint_from_data",
    "checkpoint_to_data",
]


# --- checkpoints ---------------------------------------------------------------------------------

# Bumped whenever the walk's state or its meaning changes: storage keeps the format with each
# checkpoint and ignores checkpoints of another format (they are replayed from the history).
CHECKPOINT_FORMAT = 2


@attrs.frozen
class BillingCheckpoint:
    """Where a tenant's billing stands after a run up to ``day``: the replayed state and the
    walk's open items at the end of that day. A cache, never the record: with it the next run
    replays only the events after it (:func:`billing_run`) and must give exactly the invoices
    a replay of the whole history would give (BILL-6 idempotency; a property test checks it).

    ``events`` counts the events of the history it has consumed (every event up to the end of
    ``day``, refused ones included)."""

    events: int
    day: date
    state: TenantState
    cursor: Period | None  # the current monthly/annual period (BILL-1)
    levels: tuple[tuple[Money, int], ...]  # seats paid for per unit price (PRO-5, PRO-7)
    arrears: tuple[Charge, ...]  # PRO-2: owed on the next regular invoice
    queued_seats: int  # TERM-1: seats the queued extension was invoiced for


def checkpoint_fits(
    checkpoint: BillingCheckpoint, events: Sequence[Event], policy: VendorPolicy, up_to: date
) -> bool:
    """Can a run up to ``up_to`` start from ``checkpoint`` with ``events`` (the history after
    its first ``checkpoint.events`` events)? Only going forward (``up_to`` after its day) and
    only when no event of ``events`` lies on or before its day (an event recorded late, with
    an earlier instant, needs the whole history replayed)."""
    if up_to <= checkpoint.day:
        return False
    end = end_of_day(checkpoint.day, policy.timezone)
    return all(event.at > end for event in events)


def checkpoint_to_data(checkpoint: BillingCheckpoint) -> list[Any]:
    """A JSON-ready, compact form of ``checkpoint``: one flat list of strings, numbers,
    ``None`` and lists (storage keeps one per tenant, so it is kept cheap to write and read)."""
    state = checkpoint.state
    cursor = checkpoint.cursor
    return [
        CHECKPOINT_FORMAT,
        checkpoint.events,
        checkpoint.day.isoformat(),
        None if cursor is None else cursor.first_day.isoformat(),
        None if cursor is None else cursor.last_day.isoformat(),
        [[str(unit.amount), unit.currency, seats] for unit, seats in checkpoint.levels],
        [
            [
                charge.kind.value,
                charge.rule,
                charge.plan,
                charge.seats,
                str(charge.unit.amount),
                charge.unit.currency,
                charge.first_day.isoformat(),
                charge.last_day.isoformat(),
                charge.period_days,
                charge.prorated,
                charge.description,
            ]
            for charge in checkpoint.arrears
        ],
        checkpoint.queued_seats,
        state.tenant_id,
        state.created.isoformat(),
        state.status.value,
        state.trial_end.isoformat(),
        state.plan,
        state.next_plan,
        None if state.next_plan_from is None else state.next_plan_from.isoformat(),
        None if state.cycle is None else state.cycle.value,
        None if state.payment is None else state.payment.value,
        state.seats,
        sorted(state.persons),
        None if state.activated is None else state.activated.isoformat(),
        None if state.term is None else state.term.first_day.isoformat(),
        None if state.term is None else state.term.last_day.isoformat(),
        state.term_months,
        None if state.queued_term is None else state.queued_term.first_day.isoformat(),
        None if state.queued_term is None else state.queued_term.last_day.isoformat(),
        state.queued_term_months,
        state.identity,
        state.queued_seats,
    ]


_STATUSES = {status.value: status for status in TenantStatus}
_CYCLES = {cycle.value: cycle for cycle in Cycle}
_PAYMENTS = {method.value: method for method in PaymentMethod}
_KINDS = {kind.value: kind for kind in LineKind}
_OPTIONAL_TEXT = (str, type(None))
_OPTIONAL_COUNT = (int, type(None))
_NO_PERSONS: frozenset[str] = frozenset()


def checkpoint_from_data(data: Any, policy: VendorPolicy) -> BillingCheckpoint:
    """The checkpoint :func:`checkpoint_to_data` wrote; instants shown in the vendor's zone.
    Anything else (another format, a value of the wrong type) is a :class:`ValidationError`
    on the field ``checkpoint``."""
    try:
        (
            version,
            events,
            day,
            cursor_first,
            cursor_last,
            levels,
            arrears,
            queued,
            tenant_id,
            created,
            status,
            trial_end,
            plan,
            next_plan,
            next_plan_from,
            cycle,
            payment,
            seats,
            persons,
            activated,
            term_first,
            term_last,
            term_months,
            queued_first,
            queued_last,
            queued_term_months,
            identity,
            queued_seats,
        ) = data
        if version != CHECKPOINT_FORMAT:
            raise ValueError(f"format {version!r}, expected {CHECKPOINT_FORMAT}")
        if not (
            type(tenant_id) is str
            and type(created) is str
            and type(trial_end) is str
            and type(plan) in _OPTIONAL_TEXT
            and type(next_plan) in _OPTIONAL_TEXT
            and type(payment) in _OPTIONAL_TEXT
            and type(identity) in _OPTIONAL_TEXT
        ):
            raise TypeError("a text field holds another type")
        if not (
            type(events) is int
            and type(queued) is int
            and type(seats) is int
            and events >= 0
            and queued >= 0
            and seats >= 0
            and type(term_months) in _OPTIONAL_COUNT
            and type(queued_term_months) in _OPTIONAL_COUNT
            and type(queued_seats) in _OPTIONAL_COUNT
        ):
            raise TypeError("a count holds another type")
        tz = zone(policy.timezone)
        created_at = datetime.fromisoformat(created)
        trial_end_at = datetime.fromisoformat(trial_end)
        if created_at.tzinfo is None or trial_end_at.tzinfo is None:
            raise ValueError("a naive instant")
        return BillingCheckpoint(
            events,
            date.fromisoformat(day),
            TenantState(
                tenant_id,
                created_at.astimezone(tz),
                _STATUSES[status],
                trial_end_at.astimezone(tz),
                plan,
                next_plan,
                None if next_plan_from is None else date.fromisoformat(next_plan_from),
                None if cycle is None else _CYCLES[cycle],
                None if payment is None else _PAYMENTS[payment],
                seats,
                frozenset(map(_text, persons)) if persons else _NO_PERSONS,
                None if activated is None else date.fromisoformat(activated),
                None if term_first is None else _period(term_first, term_last),
                term_months,
                None if queued_first is None else _period(queued_first, queued_last),
                queued_term_months,
                identity,
                queued_seats,
            ),
            None if cursor_first is None else _period(cursor_first, cursor_last),
            tuple(
                [(_money(amount, currency), _seats(count)) for amount, currency, count in levels]
            ),
            tuple([_charge(*charge) for charge in arrears]) if arrears else (),
            queued,
        )
    except (CrmError, KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"not a billing checkpoint: {exc!r}", field="checkpoint") from None


@lru_cache(maxsize=4096)
def _period(first: str, last: str) -> Period:
    """Periods repeat across tenants (months, terms): parsed and validated once."""
    return Period(date.fromisoformat(first), date.fromisoformat(last))


@lru_cache(maxsize=4096)
def _money(amount: str, currency: str) -> Money:
    """Prices repeat across tenants: parsed and validated once (``Money`` is immutable)."""
    if type(amount) is not str:
        raise TypeError(f"an amount must be a decimal string, got {amount!r}")
    return Money(amount, currency)


def _seats(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"expected a seat count, got {value!r}")
    return value


def _text(value: object) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _charge(
    kind: str,
    rule: str,
    plan: str | None,
    seats: int,
    amount: str,
    currency: str,
    first: str,
    last: str,
    period_days: int,
    prorated: bool,
    description: str,
) -> Charge:
    if type(prorated) is not bool or type(period_days) is not int or period_days <= 0:
        raise TypeError("a charge holds a value of another type")
    return Charge(
        _KINDS[kind],
        _text(rule),
        plan if plan is None else _text(plan),
        _seats(seats),
        _money(amount, currency),
        date.fromisoformat(first),
        date.fromisoformat(last),
        period_days,
        prorated,
        _text(description),
    )
