"""Payment delay, SLA credits and record limits in the scenario runner (PAY, SLA, REC).

:func:`apply_rules` is the runner's extension (``crmcore.scenario.runner.EXTENSIONS``). After the
core replay it:

1. adds SLA-6 credit lines: for every calendar month with counted downtime, the SLA-2 credit
   on the SLA-3 fee goes, as a negative ``sla_credit`` line, on the first invoice issued after
   that month ends; what an invoice cannot absorb carries forward (never below zero);
2. evaluates PAY-1..6 on the invoices and payments: ``blocked``, ``cancelled``, ``purged`` and
   ``active`` again (PAY-2 unblock, PAY-3 reinstatement) join the statuses; a ``reinstate`` that
   PAY-3/PAY-4 do not allow becomes a refusal;
3. drops the invoices that would be issued while the instance is cancelled or purged (the
   contract has ended, PAY-3/PAY-4) and renumbers the rest gaplessly (BILL-6); steps 1-3
   repeat until the invoices no longer change;
4. replays ``create_records``/``delete_records`` against the plan in force (REC-1..5): a
   creation or deletion is refused while the tenant has no access (blocked or cancelled,
   PAY-2/PAY-3; purged, PAY-4; an expired trial or an ended contract, TRIAL-5/END-*), a creation
   refused above
   the limit with the cheapest fitting plan (REC-3, REC-4), and warned about at 90 % (REC-2);
   the limits are those in force on the creation's vendor day (``limits_on``: the vendor's
   version in force that day, NOTICE-3).

Long because the runner's rules after the replay, PAY, SLA-6 and REC, each a short pass over
the same context: apart they would share that context through another module's privates.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import attrs

from crmcore.billing.numbering import invoice_number
from crmcore.catalog import Cycle
from crmcore.dates import vendor_date
from crmcore.dunning.status import (
    DunningStatus,
    DunningTransition,
    Reinstatement,
    dunning_log,
    status_at,
)
from crmcore.errors import N_, DunningError
from crmcore.events import (
    Activated,
    Cancelled,
    OutageRecorded,
    PersonAssigned,
    PlanChanged,
    Prepaid,
    RecordsCreated,
    RecordsDeleted,
    Reinstated,
    SeatsAdded,
    SeatsRemoved,
)
from crmcore.invoices import Invoice, InvoiceLine, subscription_lines_on
from crmcore.limits import Outcome, record_decision
from crmcore.money import Money
from crmcore.outcomes import LimitRefusal, LimitWarning, Refusal, RuleRefusal, StatusChange
from crmcore.sla import (
    Outage,
    OutageKind,
    credit_line,
    fee_for_month,
    month_availability,
    outage_months,
    sla_credit,
)
from crmcore.tenancy.aggregate import access_rule
from crmcore.tenancy.state import TenantStatus

if TYPE_CHECKING:
    from crmcore.billing.engine import BillingTerms
    from crmcore.catalog import Catalog, Plan
    from crmcore.events import Event
    from crmcore.invoices import Payment
    from crmcore.policies import LimitsPolicy, VendorPolicy
    from crmcore.tenancy.aggregate import Step, Timeline

__all__ = [
    "CONTRACT_EVENTS",
    "RulesContext",
    "apply_rules",
    "closed_spans",
    "contract_closed_by",
    "paid_access_on",
    "paid_access_until",
    "price_rules",
    "within",
]


class RulesContext(Protocol):
    """What :func:`apply_rules` reads and appends to: the part of
    :class:`crmcore.scenario.runner.ScenarioContext` it needs (a protocol, so this module does not
    import the runner that imports it)."""

    until: date
    timeline: Timeline
    invoices: list[Invoice]
    payments: list[Payment]
    statuses: list[StatusChange]
    refusals: list[Refusal]
    warnings: list[LimitWarning]
    dunning: Sequence[DunningTransition]

    @property
    def tenant_id(self) -> str: ...

    @property
    def terms(self) -> BillingTerms: ...

    @property
    def policy(self) -> VendorPolicy: ...

    @property
    def catalog(self) -> Catalog: ...

    history: Sequence[Event]

    def refresh_payments(self) -> None: ...

    def documents(
        self, priced: list[Invoice], closed: Callable[[date], bool] = ...
    ) -> list[Invoice] | None: ...

    def limits_on(self, day: date) -> tuple[Catalog, LimitsPolicy]:
        """The catalogue and limits policy whose record limits apply on ``day`` (NOTICE-3)."""


_ROUNDS = 8  # dropping invoices can only shrink the set; a few rounds reach the fixed point
_CLOSED = (DunningStatus.CANCELLED, DunningStatus.PURGED)
# Lifecycle states without access: TRIAL-5 (trial over, not converted), TRIAL-4 (purged after
# the trial), END-4 (cancelled by the customer).
_NO_ACCESS = {
    TenantStatus.TRIAL_EXPIRED: "TRIAL-5",
    TenantStatus.PURGED: "TRIAL-4",
    TenantStatus.CANCELLED: "END-4",
}
_ACCESS_RULE = {
    DunningStatus.BLOCKED: "PAY-2",
    DunningStatus.CANCELLED: "PAY-3",
    DunningStatus.PURGED: "PAY-4",
}


#: Events that need a running contract: after a PAY-3 cancellation only the vendor's recorded
#: reinstatement restores one (a new ``activate``/``prepay`` does not, nor does buying seats,
#: changing the plan or cancelling again); after a PAY-4 purge nothing does (PAY-5).
CONTRACT_EVENTS = (
    Activated,
    Prepaid,
    SeatsAdded,
    SeatsRemoved,
    PlanChanged,
    PersonAssigned,
    Cancelled,
)


def paid_access_until(timeline: Timeline, invoices: Sequence[Invoice], at: datetime) -> date | None:
    """BILL-3 with END-4: a customer's cancellation ends the contract the same day, but
    access lasts to the end of the period it paid for. When the tenant is cancelled at ``at``
    by a ``cancel`` (not a fixed term's end), the last day of the subscription invoiced for
    the billing period holding the cancellation's day; None otherwise (no access after the
    cancellation: nothing was paid for it, as in a trial). A cancellation entered late, after
    it took effect, ends access at once: a refusal of new terms is one (NOTICE-4: it is
    cancelled before the terms take effect, and using the service after that would accept
    them)."""
    ended = _cancellation(timeline, at)
    if ended is None or not isinstance(ended.cause, Cancelled):
        return None
    recorded = ended.cause.recorded
    if recorded is not None and recorded > ended.cause.at:
        return None
    covering = [line.last_day for line in subscription_lines_on(invoices, ended.day)]
    return max((day for day in covering if day is not None), default=None)


def paid_access_on(
    timeline: Timeline, invoices: Sequence[Invoice], at: datetime, day: date
) -> bool:
    """Whether the period a cancelled tenant paid for still holds its vendor day ``day``
    (:func:`paid_access_until` at ``at``; BILL-3). Ask it of a tenant without access only."""
    paid = paid_access_until(timeline, invoices, at)
    return paid is not None and day <= paid


def _cancellation(timeline: Timeline, at: datetime) -> Step | None:
    """The step that ended the contract (lifecycle ``cancelled``) when it is ended at ``at``."""
    if timeline.state_at(at).status is not TenantStatus.CANCELLED:
        return None
    ended = None
    for step in timeline.steps:
        if step.at > at:
            break
        if step.after.status is TenantStatus.CANCELLED and step.before.status is not (
            TenantStatus.CANCELLED
        ):
            ended = step
    return ended


def contract_closed_by(log: Sequence[DunningTransition], at: datetime) -> str | None:
    """``"PAY-3"``/``"PAY-4"`` when the contract has ended for payment delay at ``at`` (the
    latest dunning transition at or before ``at`` is a cancellation or a purge), else None."""
    current: DunningStatus | None = None
    for transition in log:
        if transition.at > at:
            break
        current = transition.status
    return _ACCESS_RULE[current] if current in _CLOSED else None


def price_rules(context: RulesContext) -> None:
    """What :func:`apply_rules` does to the invoices' prices alone: the SLA-6 credit lines
    (no payment delay, so nothing dropped). The invoices a replay with part of the events
    known prices, before the documents really issued are composed from them (BILL-6: late
    entries; PAY-3/PAY-4 then apply to those documents)."""
    context.invoices = _renumber(
        _with_sla_credits(context, context.invoices), context.invoices, context.policy
    )
    context.refresh_payments()


def apply_rules(context: RulesContext) -> None:
    """The PAY, SLA and REC behaviour of a scenario (see the module docstring)."""
    base = list(context.invoices)
    kept = base
    closed: list[tuple[date, date]] = []
    for _ in range(_ROUNDS):
        priced = _with_sla_credits(context, kept)
        # BILL-6: corrections of late entries (none asking for money while the contract ended)
        issued = context.documents(priced, functools.partial(within, spans=tuple(closed)))
        context.invoices = _renumber(priced, base, context.policy) if issued is None else issued
        context.refresh_payments()
        # Checked against this round's invoices: one that was cancelled among all of them
        # may not be once those issued while it was cancelled are dropped (PAY-3).
        refused: list[Refusal] = []
        reinstatements = _valid_reinstatements(context, context.invoices, refused)
        log = dunning_log(
            context.invoices,
            context.payments,
            context.policy,
            context.until,
            reinstatements,
        )
        previous, closed = closed, closed_spans(log)
        # composed documents (late entries) are dropped by their own issue day, above
        still = base if issued is not None else [i for i in base if not within(i.issued, closed)]
        if still == kept and (issued is None or closed == previous):
            break
        kept = still
    context.refusals.extend(refused)
    context.refusals.sort(key=lambda r: r.on)
    context.dunning = log
    _add_statuses(context, log)
    _records(context, reinstatements)


# --- PAY: reinstatements and statuses -------------------------------------------------------------


def _valid_reinstatements(
    context: RulesContext, invoices: Sequence[Invoice], refusals: list[Refusal]
) -> list[Reinstatement]:
    """Each ``reinstate`` in order; one that PAY-3/PAY-4 refuse becomes a refusal (appended
    to ``refusals``) instead."""
    accepted: list[Reinstatement] = []
    for event in context.history:
        if not isinstance(event, Reinstated):
            continue
        candidate = Reinstatement(context.tenant_id, event.at)
        try:
            dunning_log(
                invoices, context.payments, context.policy, event.at, [*accepted, candidate]
            )
        except DunningError as refused:
            on = vendor_date(event.at, context.policy.timezone)
            ended = _cancellation(context.timeline, event.at)
            if ended is None:
                rule = str(refused.rule)
                refusals.append(RuleRefusal.of(on, "reinstate", rule, refused, event=event))
                continue
            by_customer = isinstance(ended.cause, Cancelled)  # the lifecycle ended it: say so
            rule, template = ("END-4", _BY_CUSTOMER) if by_customer else ("END-1", _BY_TERM)
            day = {"day": ended.day}
            refusals.append(RuleRefusal.worded(on, "reinstate", rule, template, day, event=event))
            continue
        accepted.append(candidate)
    return accepted


def within(day: date, spans: Sequence[tuple[date, date]]) -> bool:
    return any(first <= day < end for first, end in spans)


def closed_spans(log: Sequence[DunningTransition]) -> list[tuple[date, date]]:
    """Days on which the contract had ended (cancelled or purged), as [from, to) spans."""
    spans: list[tuple[date, date]] = []
    start: date | None = None
    for transition in log:
        if transition.status in _CLOSED and start is None:
            start = transition.on
        elif transition.status not in _CLOSED and start is not None:
            spans.append((start, transition.on))
            start = None
    if start is not None:
        spans.append((start, date.max))
    return spans


#: Lifecycle statuses that end the contract (END-1, END-4, TRIAL-2; TRIAL-4 purged).
_LIFECYCLE_ENDED = frozenset({TenantStatus.CANCELLED.value, TenantStatus.PURGED.value})


def merged_dunning(
    lifecycle: Sequence[StatusChange], log: Sequence[DunningTransition]
) -> list[DunningTransition]:
    """The transitions of ``log`` that change the merged status: none while the lifecycle
    has ended the contract (a customer's cancellation, END-4; a fixed term's end, END-1; a
    trial's purge, TRIAL-4) but a purge for payment delay (PAY-4): states only move forward
    (PAY-5), and an unpaid invoice of a cancelled tenant neither blocks it (PAY-2) nor
    cancels it again (PAY-3). ``lifecycle``: the lifecycle's changes, oldest first."""
    kept: list[DunningTransition] = []
    days = [change.on for change in lifecycle]
    for transition in log:
        index = bisect.bisect_right(days, transition.on) - 1  # the lifecycle's, that day
        ended = index >= 0 and lifecycle[index].status in _LIFECYCLE_ENDED
        if ended and transition.status is not DunningStatus.PURGED:
            continue
        kept.append(transition)
    return kept


def _add_statuses(context: RulesContext, log: Sequence[DunningTransition]) -> None:
    merged = list(context.statuses)
    for transition in merged_dunning(context.statuses, log):
        merged.append(StatusChange(transition.on, transition.status.value))
    merged.sort(key=lambda s: s.on)  # stable: the lifecycle's own change comes first
    result: list[StatusChange] = []
    for status in merged:
        if result and result[-1].status == status.status:
            continue
        result.append(status)
    context.statuses[:] = result


# --- BILL-6: gapless numbers after dropping invoices ----------------------------------------------


def _renumber(
    invoices: list[Invoice], base: Sequence[Invoice], policy: VendorPolicy
) -> list[Invoice]:
    if [i.key for i in invoices] == [i.key for i in base]:
        return invoices
    counters: dict[str, int] = {}
    result = []
    for invoice in invoices:
        counters[invoice.series] = counters.get(invoice.series, 0) + 1
        number = invoice_number(policy, invoice.issued.year, counters[invoice.series])
        result.append(attrs.evolve(invoice, number=number))
    return result


def _with_sla_credits(context: RulesContext, invoices: Sequence[Invoice]) -> list[Invoice]:
    outages = [
        Outage(e.at, e.until, OutageKind(e.kind), e.announced)
        for e in context.history
        if isinstance(e, OutageRecorded)
    ]
    if not outages:
        return list(invoices)
    # SLA-2/SLA-5: every month an outage covers, those wholly inside it included
    months = outage_months(outages, context.policy.timezone)
    currency = context.terms.currency
    earned: list[tuple[date, Money]] = []  # (first day after the month, credit)
    for year, month in months:
        fee = fee_for_month(invoices, year, month)
        if fee is None:
            continue
        credit = sla_credit(
            month_availability(outages, context.policy, year, month), fee[0], fee[1], context.policy
        )
        if credit.amount.amount > 0:
            after = (date(year, month, 28) + timedelta(days=4)).replace(day=1)
            earned.append((after, credit.amount))
    pending = Money.zero(currency)
    result = []
    for invoice in invoices:
        while earned and earned[0][0] <= invoice.issued:
            pending = pending + earned.pop(0)[1]
        if pending.is_zero():
            result.append(invoice)
            continue
        line, pending = credit_line(pending, invoice.net)
        if line is not None:
            lines: list[InvoiceLine] = [*invoice.lines, line]
            invoice = attrs.evolve(invoice, lines=lines)  # type: ignore[arg-type]  # converter=tuple
        result.append(invoice)
    return result


# --- REC: record limits ---------------------------------------------------------------------------

# The words of the refusals below and of reinstatements, translatable (I18N-1).
_PURGED = N_("the instance has been purged")
_DELETE_ASKED = N_("{count} {kind} record(s) asked, {held} held")
_NO_ACCESS_WORDS = N_("the instance is {status}")
_BY_CUSTOMER = N_(
    "the customer cancelled on {day}; a reinstatement restores only a cancellation for payment "
    "delay (PAY-3)"
)
_BY_TERM = N_(
    "the fixed term ended on {day}; a reinstatement restores only a cancellation for payment "
    "delay (PAY-3)"
)


def _records(context: RulesContext, reinstatements: Sequence[Reinstatement]) -> None:
    counts: dict[str, int] = {}
    policy = context.policy
    for event in context.history:
        if not isinstance(event, RecordsCreated | RecordsDeleted):
            continue
        day = vendor_date(event.at, policy.timezone)
        if isinstance(event, RecordsDeleted):
            held = counts.get(event.kind, 0)
            if _purged_by(context.dunning, event.at):  # PAY-4: nothing is left to delete
                context.refusals.append(
                    RuleRefusal.worded(day, "delete_records", "PAY-5", _PURGED, {}, event=event)
                )
            elif (closed := _without_access(context, event, day, reinstatements)) is not None:
                context.refusals.append(closed)  # deleting is a change: no access, no change
            elif event.count > held:
                asked = {"count": event.count, "kind": event.kind, "held": held}
                context.refusals.append(
                    RuleRefusal.worded(
                        day, "delete_records", "REC-3", _DELETE_ASKED, asked, event=event
                    )
                )
            else:
                counts[event.kind] = held - event.count
            continue
        refused = _without_access(context, event, day, reinstatements)
        if refused is not None:
            context.refusals.append(refused)
            continue
        state = context.timeline.state_at(event.at)
        catalog, limits = context.limits_on(vendor_date(event.at, policy.timezone))
        plan = _plan_in_force(catalog, context.catalog, state.plan)
        cycle = state.cycle or Cycle.MONTHLY  # in the trial: priced as the monthly plans
        decision = record_decision(
            counts, event.kind, event.count, plan, catalog, limits, cycle, context.terms.currency
        )
        if decision.outcome is Outcome.REFUSED:
            context.refusals.append(
                LimitRefusal(
                    day, "create_records", decision.rule, decision.suggested_plan, event=event
                )
            )
            continue
        counts[event.kind] = counts.get(event.kind, 0) + event.count
        if decision.outcome is Outcome.WARNING:
            context.warnings.append(
                LimitWarning(day, decision.rule, decision.records, decision.limit, event=event)
            )
    context.refusals.sort(key=lambda r: r.on)


def _without_access(
    context: RulesContext,
    event: RecordsCreated | RecordsDeleted,
    day: date,
    reinstatements: Sequence[Reinstatement],
) -> RuleRefusal | None:
    """The refusal of a change of records while the tenant has no access to them: blocked or
    cancelled for payment delay (PAY-2, PAY-3), or a lifecycle status without access (TRIAL-5,
    END-*) after the period it paid for; None while it has access."""
    verb = "delete_records" if isinstance(event, RecordsDeleted) else "create_records"
    access = status_at(context.invoices, context.payments, context.policy, event.at, reinstatements)
    if access in _ACCESS_RULE:
        status = {"status": access.value}
        return RuleRefusal.worded(
            day, verb, _ACCESS_RULE[access], _NO_ACCESS_WORDS, status, event=event
        )
    state = context.timeline.state_at(event.at)
    if state.status in _NO_ACCESS and not paid_access_on(
        context.timeline, context.invoices, event.at, day
    ):
        status = {"status": state.status.value}
        rule = access_rule(state, _NO_ACCESS[state.status])
        return RuleRefusal.worded(day, verb, rule, _NO_ACCESS_WORDS, status, event=event)
    return None


def _purged_by(log: Sequence[DunningTransition], at: datetime) -> bool:
    """Purged for payment delay at or before ``at`` (PAY-4; a purge is final, PAY-5)."""
    return any(t.status is DunningStatus.PURGED and t.at <= at for t in log)


def _plan_in_force(day_catalog: Catalog, catalog: Catalog, code: str | None) -> Plan:
    """The tenant's plan with the limits of the catalogue in force that day (NOTICE-3); the
    top plan in a trial; a plan that version does not list keeps ``catalog``'s limits."""
    if code is None:
        return day_catalog.top
    for plan in day_catalog:
        if plan.code == code:
            return plan
    return catalog.get(code)
