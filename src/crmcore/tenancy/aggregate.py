"""The tenant aggregate (TEN-1, SEAT-1..5, TRIAL-2..5, TERM-2, PRO-6, END-4), built by replay.

A tenant's state on any date is derived by replaying its history of :mod:`crmcore.events` in
time order, interleaved with the transitions time itself causes (trial end, purge, end of a
prepaid term, a downgrade that waits for the next period). :func:`replay` returns a
:class:`Timeline`: every accepted step with the state before and after, and every refused
event with its typed error. Nothing of a refused event is kept.

>>> from datetime import datetime, date
>>> from crmcore.catalog import Catalog
>>> from crmcore.events import TenantCreated, Activated, PersonAssigned
>>> from crmcore.presets import preset
>>> catalog = Catalog.from_dict({"plans": [{"code": "standard", "rank": 1, "prices": [
...     {"currency": "CZK", "cycle": "monthly", "amount": "500.00"}]}]})
>>> at = datetime.fromisoformat
>>> history = [TenantCreated(at("2026-01-05T09:00:00+01:00"), "acme"),
...            Activated(at("2026-01-20T00:00:00+01:00"), "standard", seats=1),
...            PersonAssigned(at("2026-01-21T10:00:00+01:00"), "ann"),
...            PersonAssigned(at("2026-01-21T11:00:00+01:00"), "bob")]
>>> timeline = replay(history, catalog, preset("raynet"))
>>> state = timeline.state_on(date(2026, 1, 31))
>>> state.status.value, state.plan, state.seats, sorted(state.persons)
('active', 'standard', 1, ['ann'])
>>> timeline.refusals[0].error.rule
'SEAT-5'

Long because the tenant aggregate's replay is one state machine (TEN, TRIAL, TERM, END); seats,
trials and the state value live apart.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from crmcore.catalog import Catalog
from crmcore.dates import (
    add_calendar_days,
    end_of_day,
    local_midnight,
    require_aware,
    vendor_date,
    zone,
)
from crmcore.errors import (
    N_,
    BillingError,
    OutOfOrderError,
    RuleViolation,
    SeatError,
    TenantStateError,
    TrialError,
    ValidationError,
)
from crmcore.events import (
    MAX_SEATS,
    Activated,
    BillingProfileChanged,
    Cancelled,
    Event,
    PaymentMethod,
    PersonAssigned,
    PersonUnassigned,
    PlanChanged,
    Prepaid,
    SeatsAdded,
    SeatsRemoved,
    TenantCreated,
)
from crmcore.periods import Period
from crmcore.policies import DowngradeTiming, TrialExpiry, VendorPolicy
from crmcore.tenancy.seats import (
    check_assignment,
    check_release,
    check_seats_cover,
    check_unassignment,
)
from crmcore.tenancy.state import TenantState, TenantStatus, billing_period, evolve_state
from crmcore.tenancy.trials import conversion_deadline, trial_end

__all__ = [
    "ReplayRefusal",
    "Step",
    "TenantState",
    "TenantStatus",
    "Timeline",
    "Transition",
    "access_rule",
    "apply",
    "billing_period",
    "check_in_order",
    "replay",
    "resume",
    "state_on",
]


class Transition(enum.StrEnum):
    """A change caused by time, not by an event."""

    TRIAL_ENDED = "trial_ended"  # TRIAL-4/5
    PURGED = "purged"  # TRIAL-4
    TERM_ENDED = "term_ended"  # TERM-2
    TERM_STARTED = "term_started"  # a queued extension starts (TERM-1)
    DOWNGRADE_APPLIED = "downgrade_applied"  # PRO-6 next_period


@attrs.frozen
class Step:
    """One accepted change: an event or a :class:`Transition`, with the states around it."""

    at: datetime
    day: date  # vendor day of ``at`` (TIME-2)
    cause: Event | Transition
    before: TenantState
    after: TenantState


@attrs.frozen
class ReplayRefusal:
    """An event the rules refused; nothing of it was applied."""

    at: datetime
    day: date
    event: Event
    error: RuleViolation


@attrs.frozen
class Timeline:
    """The replayed history: initial state, accepted steps, refusals."""

    initial: TenantState
    steps: tuple[Step, ...]
    refusals: tuple[ReplayRefusal, ...]

    @property
    def final(self) -> TenantState:
        return self.steps[-1].after if self.steps else self.initial

    def state_at(self, instant: datetime) -> TenantState:
        """The state right after every step at or before ``instant``."""
        require_aware(instant, "instant")
        state = self.initial
        for step in self.steps:
            if step.at > instant:
                break
            state = step.after
        return state

    def state_on(self, day: date) -> TenantState:
        """The state at the end of vendor day ``day`` (time travel: "plan on 14 March?")."""
        state = self.initial
        for step in self.steps:
            if step.day > day:
                break
            state = step.after
        return state


# --- replay --------------------------------------------------------------------------------------


def replay(
    history: Sequence[Event],
    catalog: Catalog,
    policy: VendorPolicy,
    until: datetime | None = None,
) -> Timeline:
    """Replay ``history`` (first event :class:`TenantCreated`, then in time order) up to
    ``until`` (inclusive; default: the last event). Refused events are collected, not raised."""
    if not history or not isinstance(history[0], TenantCreated):
        raise ValidationError("must start with TenantCreated", field="history", rule="TEN-1")
    created = history[0]
    check_in_order(history)
    end = until if until is not None else history[-1].at
    return _replay_from(_initial(created, catalog, policy), history, 1, catalog, policy, end)


def check_in_order(history: Sequence[Event]) -> None:
    """``OutOfOrderError`` naming the first event of ``history`` before the one before it."""
    for index in range(1, len(history)):
        if history[index].at < history[index - 1].at:
            raise OutOfOrderError(
                f"{history[index].at.isoformat()} is before the previous event",
                field=f"history[{index}].at",
            )


def resume(
    state: TenantState,
    events: Sequence[Event],
    catalog: Catalog,
    policy: VendorPolicy,
    until: datetime,
) -> Timeline:
    """Go on replaying from ``state`` (a :attr:`Timeline.final` of a replay up to some instant)
    with ``events``, the history after that instant, up to ``until``: the steps and the
    refusals are those a replay of the whole history would add after that instant.

    ``events`` must be in time order; that they all follow the instant ``state`` was replayed
    to is the caller's to ensure (:func:`crmcore.billing.checkpoint.checkpoint_fits` checks it)."""
    require_aware(until, "until")
    for index in range(1, len(events)):
        if events[index].at < events[index - 1].at:
            raise OutOfOrderError(
                f"{events[index].at.isoformat()} is before the previous event",
                field=f"events[{index}].at",
            )
    return _replay_from(state, events, 0, catalog, policy, until)


def _replay_from(
    state: TenantState,
    history: Sequence[Event],
    first: int,
    catalog: Catalog,
    policy: VendorPolicy,
    end: datetime,
) -> Timeline:
    """The timeline from ``state`` through ``history[first:]`` up to ``end``."""
    tz = zone(policy.timezone)
    initial = state
    steps: list[Step] = []
    refusals: list[ReplayRefusal] = []
    for index in range(first, len(history)):
        event = history[index]
        if event.at > end:
            break
        state = _advance(state, event.at, catalog, policy, steps)
        try:
            after = apply(state, event, catalog, policy)
        except RuleViolation as error:
            refusals.append(ReplayRefusal(event.at, vendor_date(event.at, tz), event, error))
            continue
        # ``event.at`` is aware (the event validated it): its vendor day without re-checking.
        steps.append(Step(event.at, event.at.astimezone(tz).date(), event, state, after))
        state = after
    _advance(state, end, catalog, policy, steps)
    return Timeline(initial, tuple(steps), tuple(refusals))


def state_on(
    history: Sequence[Event], catalog: Catalog, policy: VendorPolicy, day: date
) -> TenantState:
    """The state at the end of vendor day ``day``, from the events up to that day."""
    end = end_of_day(day, policy.timezone)
    return replay(history, catalog, policy, until=end).state_on(day)


def _initial(created: TenantCreated, catalog: Catalog, policy: VendorPolicy) -> TenantState:
    # TRIAL-1: chmiuro's trial runs on the top package.
    trial = policy.trial
    plan = catalog.top.code if trial and trial.top_plan_during_trial and len(catalog) else None
    # No trial (the vendor states none): no access until the tenant buys (TRIAL-5 status).
    status = TenantStatus.TRIAL if trial is not None else TenantStatus.TRIAL_EXPIRED
    return TenantState(
        tenant_id=created.tenant_id,
        created=created.at,
        status=status,
        trial_end=trial_end(created.at, policy),
        plan=plan,
        identity=created.identity,
    )


def _next_transition(
    state: TenantState, catalog: Catalog, policy: VendorPolicy
) -> tuple[datetime, Transition] | None:
    if state.status is TenantStatus.TRIAL:
        return state.trial_end, Transition.TRIAL_ENDED
    tz = zone(policy.timezone)
    unconverted = state.activated is None and state.status in (
        TenantStatus.TRIAL_EXPIRED,
        TenantStatus.CANCELLED,  # TRIAL-2: cancelled during the trial
    )
    trial = policy.trial
    days = (
        None
        if trial is None or trial.on_expiry is TrialExpiry.FREE_PLAN
        else trial.purge_after_days
    )
    if unconverted and days is not None:
        return add_calendar_days(state.trial_end, days, tz), Transition.PURGED  # TRIAL-4
    if state.status is not TenantStatus.ACTIVE:
        return None
    candidates: list[tuple[datetime, Transition]] = []
    if state.term is not None:
        after_term = local_midnight(state.term.last_day + timedelta(days=1), tz)
        kind = Transition.TERM_STARTED if state.queued_term else Transition.TERM_ENDED
        candidates.append((after_term, kind))
    if state.next_plan is not None and state.next_plan_from is not None:
        candidates.append((local_midnight(state.next_plan_from, tz), Transition.DOWNGRADE_APPLIED))
    return min(candidates) if candidates else None


def _advance(
    state: TenantState,
    instant: datetime,
    catalog: Catalog,
    policy: VendorPolicy,
    steps: list[Step],
) -> TenantState:
    """Apply every time-driven transition due at or before ``instant``."""
    tz = zone(policy.timezone)
    while True:
        upcoming = _next_transition(state, catalog, policy)
        if upcoming is None or upcoming[0] > instant:
            return state
        at, kind = upcoming
        after = _transition(state, kind, catalog, policy)
        steps.append(Step(at, vendor_date(at, tz), kind, state, after))
        state = after


def _transition(
    state: TenantState, kind: Transition, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    if kind is Transition.TRIAL_ENDED:
        trial = policy.trial
        if trial is not None and trial.on_expiry is TrialExpiry.FREE_PLAN:  # TRIAL-4 chmiuro
            free = catalog.free_plan()
            return evolve_state(
                state, status=TenantStatus.FREE, plan=None if free is None else free.code
            )
        return evolve_state(state, status=TenantStatus.TRIAL_EXPIRED, plan=None)  # TRIAL-5
    if kind is Transition.PURGED:
        return evolve_state(state, status=TenantStatus.PURGED, persons=frozenset())
    if kind is Transition.TERM_STARTED:
        return evolve_state(
            state,
            term=state.queued_term,
            term_months=state.queued_term_months,
            # TERM-1: the extension's own seat count, never fewer than the persons assigned
            seats=max(
                state.seats if state.queued_seats is None else state.queued_seats,
                state.used_seats,
            ),
            queued_term=None,
            queued_term_months=None,
            queued_seats=None,
        )
    if kind is Transition.TERM_ENDED:
        free = catalog.free_plan()
        ended = evolve_state(state, term=None, term_months=None, cycle=None)
        if free is not None:  # TERM-2: then the free plan (PLAN-5)
            return evolve_state(ended, status=TenantStatus.FREE, plan=free.code)
        return evolve_state(ended, status=TenantStatus.CANCELLED)  # END-1: fixed term expired
    # PRO-6 next_period: the lower plan's entitlements start with the new period
    return evolve_state(state, plan=state.next_plan, next_plan=None, next_plan_from=None)


# --- events --------------------------------------------------------------------------------------


def apply(state: TenantState, event: Event, catalog: Catalog, policy: VendorPolicy) -> TenantState:
    """The state after ``event``; a typed :class:`RuleViolation` when the rules refuse it."""
    if state.status is TenantStatus.PURGED:
        raise TenantStateError(N_("the instance has been purged"), {}, field="event", rule="PAY-5")
    handler = _HANDLERS.get(type(event))
    if handler is None:  # payments, outages, records...: no change to the commercial state
        return state
    return handler(state, event, catalog, policy)


def _require_active(state: TenantState, refusal: str) -> None:
    """``refusal``: the template saying what needs a paid subscription (TRIAL-3, I18N-1)."""
    if state.status is not TenantStatus.ACTIVE:
        raise TenantStateError(
            refusal,
            {"status": state.status.value},
            field="event",
            rule="TRIAL-3",
        )


def _term_lapsed(state: TenantState) -> bool:
    """The contract ended by the expiry of its prepaid term (TERM-2, END-1), not by a
    cancellation: cancelled after being paid for (``activated``) with neither a term nor a
    billing cycle left. (A customer's cancellation, END-4, keeps the cycle; a prepaid term
    cannot be cancelled; a cancelled trial was never activated. A tenant that fell back to the
    free plan after its term, PLAN-5, and then cancelled looks alike and may buy again too.)"""
    return (
        state.status is TenantStatus.CANCELLED
        and state.activated is not None
        and state.term is None
        and state.cycle is None
    )


def access_rule(state: TenantState, rule: str) -> str:
    """The rule that ended access in ``state`` (``rule``: the one of its status): END-1 for
    a contract cancelled because its prepaid term ran out (TERM-2), not END-4, the customer's
    cancellation."""
    return "END-1" if _term_lapsed(state) else rule


def _conversion_allowed(state: TenantState, at: datetime, policy: VendorPolicy) -> None:
    if state.status in (TenantStatus.TRIAL, TenantStatus.FREE):
        return
    if _term_lapsed(state):  # TERM-2: after the term has run out, the customer may buy anew
        return
    if state.status is TenantStatus.TRIAL_EXPIRED:
        deadline = conversion_deadline(state.created, policy)
        if deadline is None or at <= deadline:  # None: no trial, so no deadline
            return
        raise TrialError(
            N_("conversion closed at {deadline}"),
            {"deadline": deadline.isoformat()},
            field="event",
            rule="TRIAL-3",
        )
    raise TenantStateError(
        N_("cannot convert: the tenant is {status}"),
        {"status": state.status.value},
        field="event",
        rule="TRIAL-3",
    )


def _activate(
    state: TenantState, event: Activated, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    _conversion_allowed(state, event.at, policy)
    plan = catalog.get(event.plan)
    check_seats_cover(state.persons, event.seats)
    return evolve_state(
        state,
        status=TenantStatus.FREE if plan.is_free else TenantStatus.ACTIVE,
        plan=plan.code,
        cycle=event.cycle,
        payment=event.payment or state.payment or PaymentMethod.CARD,  # BILL-4
        seats=event.seats,
        activated=vendor_date(event.at, policy.timezone),
    )


def _prepay(
    state: TenantState, event: Prepaid, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    plan = catalog.get(event.plan)
    day = vendor_date(event.at, policy.timezone)
    if state.status is TenantStatus.ACTIVE and state.term is not None:
        # TERM-1 livespace extension: the new term follows the current one
        if state.queued_term is not None or event.plan != state.plan:
            raise BillingError(
                N_("an extension must keep the plan and follow the current term"),
                {},
                field="event",
                rule="TERM-1",
            )
        check_seats_cover(state.persons, event.seats)
        start = state.term.last_day + timedelta(days=1)
        return evolve_state(
            state,
            payment=event.payment or state.payment or PaymentMethod.CARD,  # BILL-4
            queued_term=Period.months(start, event.months),
            queued_term_months=event.months,
            queued_seats=event.seats,  # TERM-1: the seats this extension is bought for
        )
    _conversion_allowed(state, event.at, policy)
    check_seats_cover(state.persons, event.seats)
    return evolve_state(
        state,
        status=TenantStatus.ACTIVE,
        plan=plan.code,
        cycle=None,
        payment=event.payment or state.payment or PaymentMethod.CARD,  # BILL-4
        seats=event.seats,
        activated=day,
        term=Period.months(day, event.months),
        term_months=event.months,
    )


def _add_seats(
    state: TenantState, event: SeatsAdded, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    _require_active(state, N_("buying seats needs a paid subscription; the tenant is {status}"))
    if state.seats + event.count > MAX_SEATS:  # the one maximum of every engine
        raise SeatError(
            N_("{seats} + {count} seats would exceed the maximum of {maximum}"),
            {"seats": state.seats, "count": event.count, "maximum": MAX_SEATS},
            field="count",
            rule="SEAT-1",
        )
    return evolve_state(
        state,
        seats=state.seats + event.count,
        queued_seats=None if state.queued_seats is None else state.queued_seats + event.count,
    )


def _remove_seats(
    state: TenantState, event: SeatsRemoved, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    _require_active(state, N_("releasing seats needs a paid subscription; the tenant is {status}"))
    check_release(state.persons, state.seats, event.count)
    return evolve_state(
        state,
        seats=state.seats - event.count,
        queued_seats=(
            None if state.queued_seats is None else max(state.queued_seats - event.count, 0)
        ),
    )


def _assign(
    state: TenantState, event: PersonAssigned, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    if state.status in (TenantStatus.CANCELLED, TenantStatus.TRIAL_EXPIRED):
        raise TenantStateError(
            N_("the tenant is {status}"),
            {"status": state.status.value},
            field="event",
            rule="TRIAL-5",
        )
    # During the trial (and on the free plan) accounts are not bought; SEAT-5 applies once paid.
    paid = state.status is TenantStatus.ACTIVE
    check_assignment(state.persons, state.seats, event.person, paid=paid)
    return evolve_state(state, persons=state.persons | {event.person})


def _unassign(
    state: TenantState, event: PersonUnassigned, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    check_unassignment(state.persons, event.person)
    return evolve_state(state, persons=state.persons - {event.person})


def _change_plan(
    state: TenantState, event: PlanChanged, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    _require_active(
        state, N_("changing the plan needs a paid subscription; the tenant is {status}")
    )
    new = catalog.get(event.plan)
    chosen = state.next_plan or state.plan
    if chosen == new.code:
        raise BillingError(
            N_("already on plan {plan}"), {"plan": repr(new.code)}, field="plan", rule="PRO-4"
        )
    current = catalog.get(state.plan or new.code)
    if new.rank > current.rank:  # PRO-4: upgrade applies at once
        return evolve_state(state, plan=new.code, next_plan=None, next_plan_from=None)
    if new.rank == current.rank:  # back to the plan in force: cancels a pending downgrade
        return evolve_state(state, next_plan=None, next_plan_from=None)
    if state.term is not None:
        raise BillingError(
            N_("a prepaid term cannot be downgraded; it runs to expiry"),
            {},
            field="plan",
            rule="TERM-2",
        )
    if policy.billing.downgrade_takes_effect is DowngradeTiming.IMMEDIATELY:
        return evolve_state(state, plan=new.code, next_plan=None, next_plan_from=None)
    day = vendor_date(event.at, policy.timezone)
    period = billing_period(state, day)
    assert period is not None  # active with a cycle
    return evolve_state(
        state, next_plan=new.code, next_plan_from=period.last_day + timedelta(days=1)
    )


def _cancel(
    state: TenantState, event: Cancelled, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    if state.status is TenantStatus.CANCELLED:
        raise TenantStateError(N_("already cancelled"), {}, field="event", rule="END-4")
    if state.term is not None:
        raise BillingError(
            N_("a prepaid term cannot be cancelled; it runs to expiry"),
            {},
            field="event",
            rule="TERM-2",
        )
    # END-4 / TRIAL-2: the contract (or trial) ends the same day; nothing is refunded (BILL-3).
    ended = evolve_state(state, status=TenantStatus.CANCELLED, next_plan=None, next_plan_from=None)
    if state.status is TenantStatus.TRIAL:  # TRIAL-2: the trial ends now; TRIAL-4 counts from here
        return evolve_state(ended, trial_end=event.at)
    return ended


def _profile(
    state: TenantState, event: BillingProfileChanged, catalog: Catalog, policy: VendorPolicy
) -> TenantState:
    """BILL-4: the profile's payment method is in force from its instant on (the invoices
    issued after it, an activation naming none); its country and e-mail are the invoices'
    (PLAN-2, BILL-5: :mod:`crmcore.app.evaluation`)."""
    if event.payment is None or event.payment is state.payment:
        return state
    return evolve_state(state, payment=event.payment)


_HANDLERS: dict[type, Callable[[TenantState, Any, Catalog, VendorPolicy], TenantState]] = {
    BillingProfileChanged: _profile,
    Activated: _activate,
    Prepaid: _prepay,
    SeatsAdded: _add_seats,
    SeatsRemoved: _remove_seats,
    PersonAssigned: _assign,
    PersonUnassigned: _unassign,
    PlanChanged: _change_plan,
    Cancelled: _cancel,
}
