"""One tenant's life, evaluated: the one engine behind every door (scenario runner, commands,
queries, billing).

:func:`evaluate_tenant` replays a tenant's stored history with the vendor's terms up to a day and
answers with everything the rules decide: the invoices (BILL, PRO, TERM; SLA-6 credit lines;
none issued while the contract has ended, PAY-3/PAY-4; numbered gaplessly, BILL-6), the
payments (``pay`` events and card charges at issue, BILL-4), the status changes (lifecycle and
payment delay merged), the refusals and the warnings. It is pure: the same history and terms
give the same evaluation, whichever door asked.

Steps: the lifecycle replay (:func:`crmcore.tenancy.aggregate`) and its drafts; the extensions
(by default :func:`crmcore.app.rules.apply_rules`: PAY, SLA, REC); then, while the
contract had ended for payment delay when an event that needs a running contract took effect
(:data:`crmcore.app.rules.CONTRACT_EVENTS`), that event is refused (PAY-3/PAY-4) and the
history replayed without it.

Long because the one engine: the replay and the passes over it that every door shares.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import attrs

from crmcore.app.rules import (
    CONTRACT_EVENTS,
    apply_rules,
    closed_spans,
    contract_closed_by,
    merged_dunning,
    price_rules,
    within,
)
from crmcore.billing.corrections import Epoch, Issued, documents_issued
from crmcore.billing.engine import (
    BillingPrefix,
    BillingTerms,
    InvoiceDraft,
    PriceLists,
    drafts_from_timeline,
    replay_and_bill,
)
from crmcore.billing.numbering import InMemoryInvoiceNumbering, issue
from crmcore.caches import BoundedCache
from crmcore.catalog import Catalog
from crmcore.dates import end_of_day, local_midnight, vendor_date, zone
from crmcore.dunning.allocation import apply_payments
from crmcore.dunning.status import DunningStatus, DunningTransition
from crmcore.errors import N_, ValidationError
from crmcore.events import (
    Activated,
    BillingProfileChanged,
    Cancelled,
    Event,
    OutageRecorded,
    PaymentMethod,
    PaymentReceived,
    PersonAssigned,
    PersonUnassigned,
    PlanChanged,
    Prepaid,
    RecordsCreated,
    RecordsDeleted,
    Reinstated,
    SeatsAdded,
    SeatsRemoved,
    TenantCreated,
    entered,
    is_late,
)
from crmcore.invoices import Invoice, Payment
from crmcore.money import Money
from crmcore.outcomes import LimitWarning, Refusal, RuleRefusal, StatusChange
from crmcore.policies import LimitsPolicy, VendorPolicy
from crmcore.tenancy.aggregate import Timeline, replay
from crmcore.tenancy.state import TenantStatus

__all__ = [
    "CHARGE_HORIZON",
    "EXTENSIONS",
    "Evaluation",
    "EvaluationContext",
    "Extension",
    "LimitsInForce",
    "PrefixCache",
    "TenantTerms",
    "evaluate_tenant",
    "purged_before_entry",
    "verb_of",
]

#: The scenario verb (SCENARIOS.md ``do``) of each event type.
VERBS: Mapping[type, str] = {
    Activated: "activate",
    Prepaid: "prepay",
    SeatsAdded: "add_seats",
    SeatsRemoved: "remove_seats",
    PersonAssigned: "assign",
    PersonUnassigned: "unassign",
    PlanChanged: "change_plan",
    PaymentReceived: "pay",
    Reinstated: "reinstate",
    Cancelled: "cancel",
    OutageRecorded: "outage",
    RecordsCreated: "create_records",
    RecordsDeleted: "delete_records",
    BillingProfileChanged: "set_billing_profile",
}


def verb_of(event: Event) -> str:
    """The scenario verb of ``event`` (``TenantCreated`` has none: it is the ``tenant``)."""
    return VERBS.get(type(event), "create_tenant")


#: The record limits in force on a vendor day (NOTICE-3): the catalogue whose plans' limits
#: apply (REC-3/REC-4) and the policy's limits (REC-1 counted kinds, REC-2 warning ratio).
LimitsInForce = Callable[[date], tuple[Catalog, LimitsPolicy]]


@attrs.frozen
class TenantTerms:
    """What evaluating one tenant needs besides its history: the vendor's policy and
    catalogue and the tenant's invoicing terms (currency, VAT rate, transfer fee)."""

    tenant_id: str
    policy: VendorPolicy
    catalog: Catalog
    terms: BillingTerms  # its VAT rate: the vendor's own country's (PLAN-2)
    #: The vendor's VAT rates by the customer's country (PLAN-2): an invoice issued under a
    #: ``BillingProfileChanged`` takes the rate of that profile's country (``terms.vat_rate``
    #: when the vendor has none for it).
    vat_rates: Mapping[str, Decimal] = attrs.field(factory=dict)
    #: The price list in force for a billing period starting on a day (NOTICE-2: the vendor's
    #: versions); None: ``catalog`` for every period.
    price_lists: PriceLists | None = None
    #: The record limits in force on a day (NOTICE-3: the vendor's versions); None:
    #: ``catalog`` and ``policy.limits`` every day.
    limits_in_force: LimitsInForce | None = None

    def vat_rate_on(self, day: date, country: str) -> Decimal:
        """The VAT rate of an invoice issued on ``day`` to a customer in ``country`` (PLAN-2):
        the version in force that day's rate for it, else its own country's."""
        version = self.terms.version_on(day)
        if version is None:
            return self.vat_rates.get(country, self.terms.vat_rate)
        return dict(version.vat_rates).get(country, version.vat_rate)

    def limits_on(self, day: date) -> tuple[Catalog, LimitsPolicy]:
        """The catalogue and limits policy whose record limits apply on vendor day ``day``."""
        if self.limits_in_force is None:
            return self.catalog, self.policy.limits
        return self.limits_in_force(day)


@attrs.define
class EvaluationContext:
    """Everything one evaluation knows; extensions read it and append to the mutable lists.
    A refusal or warning names its event (``event``), where known."""

    tenant: TenantTerms
    until: date
    history: Sequence[Event]  # the events replayed (without those refused by PAY-3/PAY-4)
    timeline: Timeline
    card_keys: frozenset[str]  # invoices charged to a card at issue (BILL-4)
    invoices: list[Invoice]
    payments: list[Payment]
    statuses: list[StatusChange]
    refusals: list[Refusal]
    warnings: list[LimitWarning]
    dunning: Sequence[DunningTransition] = ()  # set by apply_rules
    #: the invoices ``payments`` were computed for (see :meth:`refresh_payments`)
    payments_for: tuple[Invoice, ...] = ()
    #: Late entries (BILL-6): turns the invoices priced with every event known into the
    #: documents really issued, corrections included
    #: (:func:`crmcore.billing.corrections.documents`); None when no event was entered late.
    #: ``composed`` once ``invoices`` are those.
    compose: Compose | None = None
    composed: bool = False
    #: the keys of the priced invoices charged to a card (``card_keys`` before composing)
    priced_card_keys: frozenset[str] = frozenset()

    def documents(
        self, priced: list[Invoice], closed: Callable[[date], bool] = lambda _day: False
    ) -> list[Invoice] | None:
        """The documents issued for ``priced`` (:attr:`compose`; none that asks for money on
        a ``closed`` day), or None without late entries (``priced`` are then the documents).
        ``card_keys`` become the documents'."""
        if self.compose is None:
            return None
        issued = self.compose(Epoch(None, priced, self.priced_card_keys), closed)
        self.composed = True
        self.card_keys = issued.card_keys
        return issued.documents

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def policy(self) -> VendorPolicy:
        return self.tenant.policy

    @property
    def catalog(self) -> Catalog:
        return self.tenant.catalog

    @property
    def terms(self) -> BillingTerms:
        return self.tenant.terms

    def limits_on(self, day: date) -> tuple[Catalog, LimitsPolicy]:
        return self.tenant.limits_on(day)

    def refresh_payments(self) -> None:
        """Recompute ``payments`` after an extension changed ``invoices`` (e.g. an SLA-6
        credit line): ``pay everything`` pays what the invoices then ask for. Nothing to do
        when ``invoices`` are the very invoices the payments were computed for (invoices are
        frozen values: the same objects, the same payments)."""
        known = self.payments_for
        if len(known) == len(self.invoices) and all(
            a is b for a, b in zip(known, self.invoices, strict=True)
        ):
            return
        self.payments = _payments(self.tenant, self.timeline, self.invoices, self.card_keys)
        self.payments_for = tuple(self.invoices)


Extension = Callable[[EvaluationContext], None]

#: How far past the change's day a command evaluates the tenant (its charge: the next monthly
#: invoice is issued on the 1st after it, BILL-2; an immediate charge, PRO-3, PRO-4 annual,
#: TERM-1/3, that day).
CHARGE_HORIZON = timedelta(days=32)
#: Late entries (BILL-6): the documents issued for the invoices priced with every event known
#: (an :class:`~crmcore.billing.corrections.Epoch`), none that asks for money on a day the
#: contract had ended (the predicate, PAY-3/PAY-4).
Compose = Callable[[Epoch, Callable[[date], bool]], Issued]

#: Behaviour of the other rule families (PAY-2..5 dunning statuses and ``reinstate``, SLA credits
#: from ``outage``, REC limits for ``create_records``/``delete_records``). Each is called in
#: order after the core replay; the default is :func:`crmcore.app.rules.apply_rules`.
EXTENSIONS: tuple[Extension, ...] = (apply_rules,)


@attrs.frozen
class Evaluation:
    """What the rules decide for one tenant up to ``until`` (see the module docstring).
    ``statuses``, ``refusals`` and ``warnings`` are typed outcomes (:mod:`crmcore.outcomes`),
    each with the ``to_json()`` of a scenario result (SCENARIOS.md) and, for a refusal or a
    warning, the event it is about, where known."""

    until: date
    history: tuple[Event, ...]
    timeline: Timeline
    invoices: tuple[Invoice, ...]
    payments: tuple[Payment, ...]
    paid: Mapping[str, Money]
    statuses: tuple[StatusChange, ...]
    refusals: tuple[Refusal, ...]
    warnings: tuple[LimitWarning, ...]
    dunning: tuple[DunningTransition, ...]
    #: the keys of the documents charged to a card at issue (BILL-4)
    card_keys: frozenset[str] = frozenset()
    #: ``dunning`` without the transitions that the lifecycle's end overrides (PAY-5: no
    #: ``blocked`` or ``cancelled`` after a customer's cancellation, END-4; a purge, PAY-4,
    #: still follows): the ones that change the status, which access and the jobs go by
    dunning_in_force: tuple[DunningTransition, ...] = ()

    def dunning_at(self, at: datetime) -> DunningStatus | None:
        """The payment-delay status in force at ``at`` (:attr:`dunning_in_force`; PAY-5), None
        before any transition: what commands and ``tenant_status`` give access by."""
        status: DunningStatus | None = None
        for transition in self.dunning_in_force:
            if transition.at > at:
                break
            status = transition.status
        return status

    def refusal_of(self, event: Event) -> Refusal | None:
        """The refusal of ``event`` (this very object), or None when it was accepted."""
        for refusal in self.refusals:
            if refusal.event is event:
                return refusal
        return None

    def warnings_of(self, event: Event) -> list[LimitWarning]:
        """The warnings ``event`` (this very object) caused (REC-2)."""
        return [w for w in self.warnings if w.event is event]


class PrefixCache(BoundedCache[str, BillingPrefix]):
    """The latest :class:`~crmcore.billing.engine.BillingPrefix` of each tenant: where its
    replay and billing walk stood at the end of a day, for the next evaluation of a longer
    history of the same tenant to resume from (:func:`evaluate_tenant` ``prefixes``). At
    most ``size`` tenants and ``events`` events in all (a prefix's memory grows with its
    events), the least recently used dropped; safe to share between threads. A cache, never
    the record: a prefix is used only when its events are the very first objects of the
    history evaluated and its terms the same as written
    (:func:`crmcore.billing.engine.prefix_key`), so one cache may serve any number of
    stores."""

    def __init__(self, size: int = 256, events: int = 200_000) -> None:
        super().__init__(_prefix_events, size, events, budget_field="events")
        self.events = events


def _prefix_events(prefix: BillingPrefix) -> int:
    return len(prefix.events)


def evaluate_tenant(
    tenant: TenantTerms,
    history: Sequence[Event],
    until: date,
    extensions: Sequence[Extension] | None = None,
    *,
    prefixes: PrefixCache | None = None,
    keep_on: date | None = None,
) -> Evaluation:
    """Evaluate ``history`` (starting with the tenant's ``TenantCreated``) up to the end of
    vendor day ``until``.

    With ``prefixes`` and ``keep_on`` (a day before ``until``), the replay and the billing
    walk resume from the tenant's prefix kept there when the history starts with its events
    and no event of the history was entered late (on a later vendor day than it took effect),
    and the prefix at the end of ``keep_on`` is kept there for the next evaluation: a command
    on a long history replays only its last days. The evaluation is the same either way (a
    cache, never the record)."""
    if not history or not isinstance(history[0], TenantCreated):
        raise ValidationError(
            "a history must start with TenantCreated", field="events[0]", rule="TEN-1"
        )
    chosen = EXTENSIONS if extensions is None else extensions
    tz = tenant.policy.timezone
    # ``until`` is the last day replayed: an event after it, or entered after it, is not
    # evaluated (nor refused). Late entries (BILL-6) are replayed in effective-time order.
    end = end_of_day(until, tz)  # an instant after it is on a later vendor day (TIME-2)
    events: list[Event] = [history[0]]
    for event in history[1:]:
        if event.at > end or (event.recorded is not None and event.recorded > end):
            continue
        events.append(event)
    if all(event.recorded is None or event.recorded <= event.at for event in events):
        return _evaluate_known(tenant, history, events, until, chosen, None, [], prefixes, keep_on)
    events, refused, checked = _accepted_at_entry(tenant, events, chosen)
    while True:
        result = _evaluate_late(tenant, history, events, until, chosen, refused, prefixes, keep_on)
        # An event no later-entered event takes effect before is refused by the evaluation
        # that knows everything exactly when it was refused on entry (nothing entered after it
        # changes what came before it): the stored path never stored it, so no epoch may know
        # it (BILL-6: a refused late entry starts no epoch and prices nothing).
        present = {id(event) for event in events[1:]} - checked
        dropped = [r for r in result.refusals if r.event is not None and id(r.event) in present]
        if not dropped:
            return result
        gone = {id(r.event) for r in dropped}
        events = [event for event in events if id(event) not in gone]
        refused = [*refused, *dropped]


def _evaluate_late(
    tenant: TenantTerms,
    history: Sequence[Event],
    events: list[Event],
    until: date,
    chosen: Sequence[Extension],
    refused: list[Refusal],
    prefixes: PrefixCache | None = None,
    keep_on: date | None = None,
) -> Evaluation:
    """The evaluation of ``events`` (in entry order, some entered late): what each day knew
    is priced (an epoch per day a late entry was recorded) and composed into the documents
    really issued (:func:`crmcore.billing.corrections.documents_issued`). Events entered
    after they took effect but on their own vendor day are no late entries: evaluated as
    known (resumed from ``prefixes``)."""
    tz = tenant.policy.timezone
    events = list(events)
    late_days = {vendor_date(entered(e), tz) for e in events if is_late(e, tz)}
    events[1:] = sorted(events[1:], key=lambda e: e.at)  # stable: entry order within an instant
    if not late_days:
        return _evaluate_known(
            tenant, history, events, until, chosen, None, refused, prefixes, keep_on
        )
    days = sorted(late_days)
    # what each epoch's knowledge prices (payment delay applies to the documents issued)
    pricing = [price_rules if extension is apply_rules else extension for extension in chosen]
    epochs: list[Epoch] = []
    ended: list[list[tuple[date, date]]] = []  # per epoch: when its knowledge had it ended
    for index, day in enumerate(days):
        start = None if index == 0 else days[index - 1]
        known = [e for e in events if not (is_late(e, tz) and vendor_date(entered(e), tz) >= day)]
        before = _evaluate_known(tenant, history, list(known), until, pricing, None, [])
        epochs.append(Epoch(start, before.invoices, before.card_keys))
        # PAY-3/PAY-4 as known then: the whole evaluation of this epoch's knowledge, its own
        # late entries composed by the epochs before it
        compose = _composer(tenant.policy, epochs[:index], days[:index], ended) if index else None
        whole = _evaluate_known(tenant, history, list(known), until, chosen, compose, [])
        ended.append(closed_spans(whole.dunning))
    compose = _composer(tenant.policy, epochs, days, ended)
    return _evaluate_known(tenant, history, events, until, chosen, compose, refused)


def _composer(
    policy: VendorPolicy,
    epochs: Sequence[Epoch],
    days: Sequence[date],
    ended: Sequence[Sequence[tuple[date, date]]],
) -> Compose:
    """The documents really issued from ``epochs`` (one per day of ``days`` a late entry was
    recorded, the first from the start) and the last epoch's invoices, priced with every
    event known. Whether the contract had ended on a day (PAY-3/PAY-4) is judged with what was
    known on the day it is asked for: epoch j's knowledge (``ended[j]``, the days it had the
    contract ended) before ``days[j]``, the last epoch's (``closed``, its dunning) from
    ``days[-1]`` on. So an invoice withheld because the contract had ended as far as anyone
    knew, which a late reinstatement makes due, is issued on the day it was entered (BILL-6)."""

    def compose(priced: Epoch, closed: Callable[[date], bool]) -> Issued:
        def ended_on(day: date, known_on: date) -> bool:
            index = bisect.bisect_right(days, known_on)
            return closed(day) if index == len(days) else within(day, ended[index])

        return documents_issued([*epochs, attrs.evolve(priced, start=days[-1])], policy, ended_on)

    return compose


def purged_before_entry(
    tenant: TenantTerms, known: Sequence[Event], event: Event
) -> Refusal | None:
    """A purge is final (PAY-4, PAY-5; TRIAL-4 for a trial's): an ``event`` entered late
    (BILL-6), after the tenant was purged as far as the events entered before it (``known``)
    tell, and taking effect before that purge would undo it, so it is refused, with the
    purge's rule (PAY-5 for payment delay's). An event taking effect after the purge is the
    replay's to refuse. None when nothing refuses it so."""
    tz = tenant.policy.timezone
    if not is_late(event, tz):
        return None
    entry = entered(event)
    then = evaluate_tenant(tenant, known, vendor_date(entry, tz))
    purges = [(t.at, "PAY-5") for t in then.dunning if t.status is DunningStatus.PURGED]
    purges += [
        (step.at, "TRIAL-4")
        for step in then.timeline.steps
        if step.after.status is TenantStatus.PURGED and step.before.status is not step.after.status
    ]
    for purged, rule in sorted(purges):
        if event.at < purged <= entry:
            return RuleRefusal.worded(
                vendor_date(event.at, tz),
                verb_of(event),
                rule,
                N_(
                    "the tenant was purged on {purged}, before this was entered on {entered}: a "
                    "purge is final, nothing entered after it may take effect before it"
                ),
                {"purged": vendor_date(purged, tz), "entered": vendor_date(entry, tz)},
                event=event,
            )
    return None


def _accepted_at_entry(
    tenant: TenantTerms, events: list[Event], chosen: Sequence[Extension]
) -> tuple[list[Event], list[Refusal], set[int]]:
    """The events (in entry order) accepted when they were entered, and the refusals of the
    others. A command is validated against what is known when it is entered (the stored
    path: :func:`crmcore.app.commands.record`): an event that a later-entered event taking
    effect before it might change is checked against the events entered before it alone,
    evaluated as the command evaluates it (:data:`CHARGE_HORIZON` ahead); one refused then was
    never stored, whatever a late entry showed afterwards. Also answers the ids of the events
    so checked."""
    tz = tenant.policy.timezone
    checked: set[int] = set()
    earliest_after: list[datetime | None] = [None] * len(events)
    running: datetime | None = None
    for index in range(len(events) - 1, 0, -1):
        earliest_after[index] = running
        at = events[index].at
        running = at if running is None or at < running else running
    accepted: list[Event] = [events[0]]
    refused: list[Refusal] = []
    for index in range(1, len(events)):
        event = events[index]
        purged = purged_before_entry(tenant, accepted, event)
        if purged is not None:
            checked.add(id(event))
            refused.append(purged)
            continue
        later = earliest_after[index]
        if later is not None and later < event.at:
            checked.add(id(event))
            day = max(vendor_date(event.at, tz), vendor_date(entered(event), tz))
            trial = evaluate_tenant(tenant, [*accepted, event], day + CHARGE_HORIZON, chosen)
            refusal = trial.refusal_of(event)
            if refusal is not None:
                refused.append(refusal.about(event))
                continue
        accepted.append(event)
    return accepted, refused, checked


# I18N-1: an event refused because the contract had ended (PAY-3/4), in translatable words.
_ENDED_FOR_PAYMENT_DELAY = N_(
    "the contract ended for payment delay; only a recorded reinstatement restores it"
)


def _evaluate_known(
    tenant: TenantTerms,
    history: Sequence[Event],
    events: list[Event],
    until: date,
    chosen: Sequence[Extension],
    compose: Compose | None,
    refused_at_entry: list[Refusal],
    prefixes: PrefixCache | None = None,
    keep_on: date | None = None,
) -> Evaluation:
    """The evaluation of ``events`` (in effective-time order, as if each was known when it
    took effect); ``compose`` turns the invoices so priced into the documents really issued
    (BILL-6 corrections of late entries)."""
    ended: list[Refusal] = []  # events refused because the contract had ended (PAY-3/4)
    while True:
        context = _evaluate_once(tenant, events, until, chosen, compose, prefixes, keep_on)
        refused = _first_after_contract_ended(context, events)
        if refused is None:
            break
        event, rule = refused
        del events[next(i for i, e in enumerate(events) if e is event)]
        ended.append(
            RuleRefusal.worded(
                vendor_date(event.at, tenant.policy.timezone),
                verb_of(event),
                rule,
                _ENDED_FOR_PAYMENT_DELAY,
                {},
                event=event,
            )
        )
    # by day, then in the order of the events (one order, whichever rule refused them)
    order = {id(event): index for index, event in enumerate(history)}
    refusals = _one_per_event(
        sorted(
            [*context.refusals, *ended, *refused_at_entry],
            key=lambda r: (r.on, order.get(id(r.event), len(order))),
        )
    )
    return Evaluation(
        until=until,
        history=tuple(events),
        timeline=context.timeline,
        invoices=tuple(context.invoices),
        payments=tuple(context.payments),
        paid=apply_payments(context.invoices, context.payments),
        statuses=tuple(context.statuses),
        refusals=tuple(refusals),
        warnings=tuple(context.warnings),
        dunning=tuple(context.dunning),
        card_keys=context.card_keys,
        dunning_in_force=tuple(
            merged_dunning(
                lifecycle_statuses(events[0], tenant.policy, context.timeline), context.dunning
            )
        ),
    )


def _one_per_event(refusals: list[Refusal]) -> list[Refusal]:
    """Each event refused once: by the first rule that refused it (the lifecycle's come first,
    e.g. PAY-5 after a purge, then the PAY/REC families')."""
    seen: set[int] = set()
    kept = []
    for refusal in refusals:
        event = refusal.event
        if event is not None:
            if id(event) in seen:
                continue
            seen.add(id(event))
        kept.append(refusal)
    return kept


def _evaluate_once(
    tenant: TenantTerms,
    history: Sequence[Event],
    until: date,
    extensions: Sequence[Extension],
    compose: Compose | None = None,
    prefixes: PrefixCache | None = None,
    keep_on: date | None = None,
) -> EvaluationContext:
    """The core replay of ``history``, then every extension; the replay and billing walk
    resumed from ``prefixes`` (keeping the one at the end of ``keep_on`` there) when given."""
    policy = tenant.policy
    tz = zone(policy.timezone)
    end = end_of_day(until, tz)
    kept: BillingPrefix | None = None
    if prefixes is None or keep_on is None:
        timeline = replay(history, tenant.catalog, policy, until=end)
        drafts = drafts_from_timeline(
            timeline, tenant.catalog, policy, tenant.terms, until, price_lists=tenant.price_lists
        )
    else:
        timeline, drafts, kept = replay_and_bill(
            history,
            tenant.catalog,
            policy,
            tenant.terms,
            until,
            tenant.price_lists,
            prefixes.get(tenant.tenant_id),
            keep_on,
        )
        if kept is not None:
            prefixes.put(tenant.tenant_id, kept)
    invoices = _issued(drafts, tenant, kept)
    invoices = _with_profiles(invoices, history, tenant)
    card_keys = frozenset(d.key for d in drafts if d.payment is PaymentMethod.CARD)
    context = EvaluationContext(
        tenant=tenant,
        until=until,
        history=tuple(history),
        timeline=timeline,
        card_keys=card_keys,
        invoices=invoices,
        payments=_payments(tenant, timeline, invoices, card_keys),
        payments_for=tuple(invoices),
        statuses=lifecycle_statuses(history[0], policy, timeline),
        refusals=[
            RuleRefusal.of(
                refusal.day,
                verb_of(refusal.event),
                str(refusal.error.rule),
                refusal.error,
                event=refusal.event,
            )
            for refusal in timeline.refusals
        ],
        warnings=[],
        compose=compose,
        priced_card_keys=card_keys,
    )
    for extension in extensions:
        extension(context)
    if compose is not None and not context.composed:  # no extension issued the documents
        context.invoices = context.documents(context.invoices) or []
        context.refresh_payments()
    if compose is not None:
        context.invoices = _corrections_addressed(context.invoices, history, tenant)
    return context


def _corrections_addressed(
    documents: list[Invoice], history: Sequence[Event], tenant: TenantTerms
) -> list[Invoice]:
    """A correction document (BILL-6) goes to the billing e-mail in force on its own issue
    day (BILL-5), not to the one of the invoice it corrects; its VAT rate stays that
    invoice's. The same amounts and numbers: the payments computed stay right."""
    result = []
    for document, profile in _profiles_in_force(documents, history, tenant):
        if (
            document.corrects is not None
            and profile is not None
            and profile.billing_email != document.billing_email
        ):
            document = attrs.evolve(document, billing_email=profile.billing_email)
        result.append(document)
    return result


def _profiles_in_force(
    documents: list[Invoice], history: Sequence[Event], tenant: TenantTerms
) -> list[tuple[Invoice, BillingProfileChanged | None]]:
    """Each document with the billing profile in force on its issue day (the latest
    ``BillingProfileChanged`` of a vendor day on or before it), None before any."""
    tz = tenant.policy.timezone
    profiles = [(vendor_date(e.at, tz), e) for e in history if isinstance(e, BillingProfileChanged)]
    if not profiles:
        return [(document, None) for document in documents]
    result: list[tuple[Invoice, BillingProfileChanged | None]] = []
    for document in documents:
        in_force = [p for day, p in profiles if day <= document.issued]
        result.append((document, in_force[-1] if in_force else None))
    return result


def _issued(
    drafts: list[InvoiceDraft], tenant: TenantTerms, prefix: BillingPrefix | None
) -> list[Invoice]:
    """``drafts`` numbered gaplessly per series (BILL-6), the first ones, those of ``prefix``,
    as they were issued before (the same drafts, the same numbers: the same invoices, whose
    totals are then computed once)."""
    policy = tenant.policy
    reused: list[Invoice] = []
    if prefix is not None:
        for (draft, invoice), current in zip(prefix.issued, drafts, strict=False):
            if draft is not current:
                break
            reused.append(invoice)
    numbering = InMemoryInvoiceNumbering(Counter(invoice.series for invoice in reused))
    rest = issue(drafts[len(reused) :], numbering, tenant_id=tenant.tenant_id, policy=policy)
    invoices = reused + rest
    if prefix is not None and len(reused) == len(prefix.issued):
        first = prefix.walk.drafts
        start = len(prefix.issued)
        prefix.issued.extend(zip(first[start:], invoices[start : len(first)], strict=True))
    return invoices


def _with_profiles(
    invoices: list[Invoice], history: Sequence[Event], tenant: TenantTerms
) -> list[Invoice]:
    """Each invoice with the billing profile in force on its issue day (the latest
    ``BillingProfileChanged`` of a vendor day on or before it): the VAT rate of the
    customer's country (PLAN-2) and the billing e-mail (BILL-5)."""
    if not any(isinstance(e, BillingProfileChanged) for e in history):
        return invoices
    result = []
    for invoice, profile in _profiles_in_force(invoices, history, tenant):
        if profile is None:
            result.append(invoice)
            continue
        rate = tenant.vat_rate_on(invoice.issued, profile.country)
        result.append(attrs.evolve(invoice, vat_rate=rate, billing_email=profile.billing_email))
    return result


def _first_after_contract_ended(
    context: EvaluationContext, history: Sequence[Event]
) -> tuple[Event, str] | None:
    """The first event that needs a running contract while PAY-3/PAY-4 had ended it (not
    reopened by a recorded reinstatement), with that rule; None when there is none. The
    evaluation replays again without it: dropping it can only remove invoices, so the
    cancellation stands and the loop ends after at most one pass per such event. An event
    the lifecycle refused anyway is refused by PAY-3/PAY-4 too: that is the reason."""
    if not closed_spans(context.dunning):  # the contract never ended for payment delay
        return None
    for event in history:
        if not isinstance(event, CONTRACT_EVENTS):
            continue
        rule = contract_closed_by(context.dunning, event.at)
        if rule is not None:
            return event, rule
    return None


def lifecycle_statuses(
    created: Event, policy: VendorPolicy, timeline: Timeline
) -> list[StatusChange]:
    """Every status change with the vendor day it took effect, starting with the trial."""
    day = vendor_date(created.at, policy.timezone)
    result = [StatusChange(day, timeline.initial.status.value)]
    for step in timeline.steps:
        if step.after.status is not step.before.status:
            result.append(StatusChange(step.day, step.after.status.value))
    return result


def _payments(
    tenant: TenantTerms,
    timeline: Timeline,
    invoices: Sequence[Invoice],
    card_keys: frozenset[str],
) -> list[Payment]:
    """Card charges at issue (BILL-4) and ``pay`` events; ``everything`` pays what is unpaid on
    the invoices issued by that day."""
    currency = tenant.terms.currency
    tz = zone(tenant.policy.timezone)
    # a card is charged at issue (a correction of a card invoice too); a credit note (a
    # correction with a negative total, BILL-6) counts as money received on its day
    charges = [
        (midnight, Payment(tenant.tenant_id, midnight, i.gross, f"card {i.number}"))
        if i.gross.amount > 0
        else (midnight, Payment(tenant.tenant_id, midnight, -i.gross, f"credit {i.number}"))
        for i in invoices
        if (i.gross.amount > 0 and i.key in card_keys) or i.gross.amount < 0
        for midnight in (local_midnight(i.issued, tz),)
    ]
    result: list[Payment] = []
    received = Money.zero(currency)
    for step in timeline.steps:
        event = step.cause
        if not isinstance(event, PaymentReceived):
            continue
        while charges and charges[0][0] <= event.at:
            received = received + charges[0][1].amount
            result.append(charges.pop(0)[1])
        if event.amount is None:
            issued = [i.gross for i in invoices if i.issued <= step.day and i.gross.amount > 0]
            owed = sum(issued, Money.zero(currency)) - received
            if owed.amount <= 0:
                continue
            amount = owed
        else:
            amount = Money(event.amount, currency)
        result.append(Payment(tenant.tenant_id, event.at, amount))
        received = received + amount
    result.extend(payment for _, payment in charges)
    return result
