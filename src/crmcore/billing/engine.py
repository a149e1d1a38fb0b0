"""The billing engine (BILL-1..7, PRO-2..7, TERM-1..3, END-4): which invoices are due.

:func:`invoices_due` is a pure function of the tenant's history, the catalogue, the vendor
policy, the :class:`BillingTerms` (currency, VAT rate, price-list fees) and a day. It replays
the history (:func:`crmcore.tenancy.aggregate`) and returns an :class:`InvoiceDraft` for every
invoice due up to that day, each with a deterministic ``key`` ("period:2026-02-01",
"changes:2026-03-14T10:00:00+01:00", "term:2026-01-05", "closing:2026-04-01"). Asking again
returns the same drafts; pass the keys already stored as ``already_issued`` to get only the new
ones (idempotent billing). :func:`crmcore.billing.numbering.issue` then numbers drafts gaplessly
per series (BILL-6). :func:`billing_run` is the same walk resumable from a
:class:`~crmcore.billing.checkpoint.BillingCheckpoint`.

Timing decisions (documented in docs/billing.md):

- The regular invoice of a period is issued at 00:00 of its first day (vendor time), before
  that day's changes; a change on the first day is a mid-period change with fraction n/n.
- Monthly seats and upgrades (PRO-2, PRO-4) go on the next regular invoice; annual ones are
  invoiced at once on a separate invoice per event instant, except in the 12th month (PRO-3).
- After a customer cancellation (END-4) the arrears still owed go on a closing invoice on the
  day the next regular invoice would have been issued; nothing is refunded (BILL-3).

Long because the billing walk is one state machine over a tenant's timeline (BILL, PRO, TERM
charges) whose steps share its open items; its checkpoint codec and numbering live apart.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeAlias

import attrs

from crmcore.billing.checkpoint import BillingCheckpoint, checkpoint_fits
from crmcore.billing.proration import Charge, full_period, lines_from_charges, prorated
from crmcore.catalog import Catalog, Cycle
from crmcore.dates import end_of_day, zone
from crmcore.errors import ValidationError
from crmcore.events import (
    Activated,
    Event,
    PaymentMethod,
    PlanChanged,
    Prepaid,
    SeatsAdded,
    SeatsRemoved,
)
from crmcore.invoices import Invoice, InvoiceLine, LineKind, check_vat_rate
from crmcore.money import Money, minor_units
from crmcore.periods import Period
from crmcore.policies import VendorPolicy
from crmcore.tenancy.aggregate import (
    Step,
    TenantState,
    TenantStatus,
    Timeline,
    Transition,
    billing_period,
    check_in_order,
    replay,
    resume,
)

__all__ = [
    "BillingPrefix",
    "BillingTerms",
    "InvoiceDraft",
    "InvoicingVersion",
    "PriceLists",
    "billing_run",
    "drafts_from_timeline",
    "invoices_due",
    "replay_and_bill",
]


@attrs.frozen
class InvoicingVersion:
    """The invoicing terms a vendor's version puts in force from its ``effective`` day: the
    VAT rate of the vendor's own country and those by the customer's country (PLAN-2), the
    transfer fee (BILL-4, PLAN-4) and the days to the due date (BILL-4). An invoice takes
    those of the version in force on its issue day; one issued before never changes."""

    effective: date
    vat_rate: Decimal
    transfer_fee: Money | None
    card_due_days: int
    transfer_due_days: int
    vat_rates: tuple[tuple[str, Decimal], ...] = ()  # (country, rate), sorted


@attrs.frozen
class BillingTerms:
    """The tenant's invoicing terms: currency, VAT rate (PLAN-2) and price-list fees (PLAN-4);
    with ``versions`` (oldest first), those of the version in force on each issue day
    (:meth:`version_on`), the policy's due days otherwise."""

    currency: str
    vat_rate: Decimal
    transfer_fee: Money | None = None  # BILL-4, per invoice paid by bank transfer
    versions: tuple[InvoicingVersion, ...] = ()

    def version_on(self, day: date) -> InvoicingVersion | None:
        """The version in force on ``day`` (the first one before any took effect); None
        without versions."""
        found = None
        for version in self.versions:
            if found is not None and version.effective > day:
                break
            found = version
        return found

    def __attrs_post_init__(self) -> None:
        minor_units(self.currency)  # a known ISO 4217 code (BILL-7)
        check_vat_rate(self.vat_rate)
        if self.transfer_fee is not None and not isinstance(self.transfer_fee, Money):
            raise ValidationError(
                f"must be Money or None, got {self.transfer_fee!r}",
                field="transfer_fee",
                rule="BILL-4",
            )
        if self.transfer_fee is not None and self.transfer_fee.currency != self.currency:
            raise ValidationError(
                f"fee in {self.transfer_fee.currency}, invoices in {self.currency}",
                field="fees.transfer",
                rule="BILL-4",
            )


def _line_tuple(lines: Iterable[InvoiceLine]) -> tuple[InvoiceLine, ...]:
    return tuple(lines)


@attrs.frozen
class InvoiceDraft:
    """An invoice due but not numbered yet. ``key`` identifies it across runs (idempotency)."""

    key: str
    issued: date
    due: date
    currency: str
    vat_rate: Decimal
    lines: tuple[InvoiceLine, ...] = attrs.field(converter=_line_tuple)
    period_first_day: date | None = None
    period_last_day: date | None = None
    payment: PaymentMethod = PaymentMethod.CARD  # BILL-4: a card is charged at issue


# --- the engine ----------------------------------------------------------------------------------


def invoices_due(
    history: Sequence[Event],
    catalog: Catalog,
    policy: VendorPolicy,
    terms: BillingTerms,
    up_to: date,
    already_issued: Collection[str] = (),
) -> list[InvoiceDraft]:
    """Every invoice due up to ``up_to`` (inclusive) whose key is not in ``already_issued``."""
    timeline = replay(history, catalog, policy, until=end_of_day(up_to, policy.timezone))
    return drafts_from_timeline(timeline, catalog, policy, terms, up_to, already_issued)


#: The price list in force for a billing period starting on a day (NOTICE-2).
PriceLists: TypeAlias = Callable[[date], Catalog]


def drafts_from_timeline(
    timeline: Timeline,
    catalog: Catalog,
    policy: VendorPolicy,
    terms: BillingTerms,
    up_to: date,
    already_issued: Collection[str] = (),
    price_lists: PriceLists | None = None,
) -> list[InvoiceDraft]:
    """The invoices a replayed :class:`~crmcore.tenancy.aggregate.Timeline` produces up to
    ``up_to``, leaving out those whose key is in ``already_issued`` (their lines are not even
    computed: a monthly run over a long history prices only the new invoices). With ``price_lists``,
    each period is priced from the list in force on the day it starts (NOTICE-2; a prepaid
    term from its first day's list until it ends); without, from ``catalog``."""
    walk = _Walk(catalog, policy, terms, timeline.initial, already_issued, price_lists)
    for step in timeline.steps:
        if step.day > up_to:
            break
        walk.step(step)
    walk.finish(up_to)
    return walk.drafts


def billing_run(
    events: Sequence[Event],
    catalog: Catalog,
    policy: VendorPolicy,
    terms: BillingTerms,
    up_to: date,
    already_issued: Collection[str] = (),
    checkpoint: BillingCheckpoint | None = None,
) -> tuple[list[InvoiceDraft], BillingCheckpoint]:
    """:func:`invoices_due` and the :class:`BillingCheckpoint` at the end of ``up_to``.

    Without ``checkpoint``, ``events`` is the whole history. With one, ``events`` is the
    history after its first ``checkpoint.events`` events, and the result is the same as for
    the whole history (the checkpoint must fit: :func:`checkpoint_fits`)."""
    end = end_of_day(up_to, policy.timezone)
    if checkpoint is None:
        timeline = replay(events, catalog, policy, until=end)
        walk = _Walk(catalog, policy, terms, timeline.initial, already_issued)
        consumed = 0
    else:
        if not checkpoint_fits(checkpoint, events, policy, up_to):
            raise ValidationError(
                f"the checkpoint of {checkpoint.day} does not fit a run up to {up_to} with "
                "these events; replay the whole history",
                field="checkpoint",
                rule="BILL-6",
            )
        timeline = resume(checkpoint.state, events, catalog, policy, end)
        walk = _Walk(catalog, policy, terms, checkpoint.state, already_issued)
        walk.cursor = checkpoint.cursor
        walk.levels = [_Level(unit, seats) for unit, seats in checkpoint.levels]
        walk.arrears = list(checkpoint.arrears)
        walk.queued_seats = checkpoint.queued_seats
        consumed = checkpoint.events
    for step in timeline.steps:
        walk.step(step)  # the replay stopped at the end of ``up_to``
    walk.finish(up_to)
    consumed += sum(1 for event in events if event.at <= end)
    return walk.drafts, BillingCheckpoint(
        events=consumed,
        day=up_to,
        state=timeline.final,
        cursor=walk.cursor,
        levels=tuple((level.unit, level.seats) for level in walk.levels),
        arrears=tuple(walk.arrears),
        queued_seats=walk.queued_seats,
    )


@attrs.frozen(eq=False)
class BillingPrefix:
    """Where the replay and the billing walk of a history's first ``len(events)`` events stood
    at the end of vendor day ``day``, under ``key`` (the catalogue, policy, terms and price
    lists they were run with): what :func:`replay_and_bill` resumes from for a longer history
    with the same first events. A cache, never the record: resuming gives exactly what the
    whole replay gives (tests/test_evaluation_prefix.py checks it)."""

    events: tuple[Event, ...]
    day: date
    key: tuple[object, ...]
    timeline: Timeline
    walk: _Walk
    #: what its first drafts were issued as, each with its draft (filled by the evaluation,
    #: :mod:`crmcore.app.evaluation`; shared with the prefixes resumed from it, whose first
    #: drafts are the same objects)
    issued: list[tuple[InvoiceDraft, Invoice]] = attrs.field(factory=list)

    def fits(self, history: Sequence[Event], key: tuple[object, ...], until: date) -> bool:
        """Does a replay of ``history`` up to ``until`` under ``key`` start with this one? Its
        first events must be the very objects of this one (an evaluation tells events apart by
        identity, and an equal event may be written otherwise: another offset), its terms the
        same (:func:`_same`)."""
        count = len(self.events)
        if until < self.day or len(history) < count or not _same(self.key, key):
            return False
        end = end_of_day(self.day, self.walk.policy.timezone)
        if len(history) > count and history[count].at <= end:
            return False
        return all(a is b for a, b in zip(history, self.events, strict=False))


def prefix_key(
    catalog: Catalog, policy: VendorPolicy, terms: BillingTerms, price_lists: PriceLists | None
) -> tuple[object, ...]:
    """What a replay and billing walk depend on besides the history: the catalogue and the
    policy (the very objects: a stored vendor's are parsed once), the terms as written (their
    ``repr``: ``0.21`` and ``0.210`` are equal, yet an invoice shows the one it was given) and
    the price lists (their ``fingerprint`` when they have one, else the very object)."""
    lists: object = getattr(price_lists, "fingerprint", price_lists)
    return (catalog, policy, repr(terms), lists)


def _same(left: object, right: object) -> bool:
    """The same key: the very objects, tuples of the same keys, or equal texts and days."""
    if left is right:
        return True
    if type(left) is tuple and type(right) is tuple:
        return len(left) == len(right) and all(map(_same, left, right))
    return type(left) in (str, date) and type(left) is type(right) and left == right


def replay_and_bill(
    history: Sequence[Event],
    catalog: Catalog,
    policy: VendorPolicy,
    terms: BillingTerms,
    until: date,
    price_lists: PriceLists | None = None,
    resume_from: BillingPrefix | None = None,
    keep_on: date | None = None,
) -> tuple[Timeline, list[InvoiceDraft], BillingPrefix | None]:
    """The replay of ``history`` up to the end of vendor day ``until`` and the drafts it bills
    (:func:`drafts_from_timeline`), resumed from ``resume_from`` when it fits (its events are
    the first of ``history``, every later one after its day, the same terms); with
    ``keep_on`` (a day before ``until``), also the :class:`BillingPrefix` at the end of that
    day, for the next call to resume from (else ``resume_from`` when it was used, or None).
    The result is the one of the whole replay, whichever way it was computed."""
    check_in_order(history)
    key = prefix_key(catalog, policy, terms, price_lists)
    timeline: Timeline | None = None
    walk: _Walk | None = None
    done = 0
    kept: BillingPrefix | None = None
    if resume_from is not None and resume_from.fits(history, key, until):
        timeline, walk, done = (
            resume_from.timeline,
            resume_from.walk.copy(),
            len(resume_from.events),
        )
        kept = resume_from
    stops: list[date] = []
    if keep_on is not None and keep_on < until and (kept is None or keep_on > kept.day):
        stops.append(keep_on)
    stops.append(until)
    for day in stops:
        end = end_of_day(day, policy.timezone)
        upto = done
        while upto < len(history) and history[upto].at <= end:
            upto += 1
        if timeline is None or walk is None:
            upto = max(upto, 1)  # the TenantCreated, whenever it is
            timeline = replay(history[:upto], catalog, policy, until=end)
            walk = _Walk(catalog, policy, terms, timeline.initial, (), price_lists)
            steps = timeline.steps
        else:
            more = resume(timeline.final, history[done:upto], catalog, policy, end)
            steps = more.steps
            timeline = Timeline(
                timeline.initial, timeline.steps + more.steps, timeline.refusals + more.refusals
            )
        for step in steps:
            walk.step(step)
        walk.finish(day)
        done = upto
        if day != until:
            issued = [] if kept is None else kept.issued
            kept = BillingPrefix(tuple(history[:done]), day, key, timeline, walk.copy(), issued)
    assert timeline is not None and walk is not None
    return timeline, walk.drafts, kept


@attrs.define
class _Level:
    """Seats paid for the rest of the period at one per-seat ``unit`` (PRO-5, PRO-7)."""

    unit: Money
    seats: int


class _Walk:
    def __init__(
        self,
        catalog: Catalog,
        policy: VendorPolicy,
        terms: BillingTerms,
        state: TenantState,
        skip: Collection[str] = (),
        price_lists: PriceLists | None = None,
    ) -> None:
        self.skip = skip  # keys already issued: the walk goes on, the invoice is not built
        self.catalog = catalog
        self.price_lists = price_lists
        self.policy = policy
        self.terms = terms
        self.state = state
        self.cursor: Period | None = None  # current monthly/annual period (not a term)
        self.levels: list[_Level] = []
        self.arrears: list[Charge] = []  # PRO-2: charged on the next regular invoice
        # PRO-3 / PRO-4 / TERM-3: invoiced at once, one invoice per event instant, so a later
        # event the same day never lands on an invoice already issued (idempotent keys).
        self.today: list[Charge] = []
        self.today_at: datetime | None = None
        self.now: datetime | None = None  # the instant of the step being billed
        self.queued_seats = 0  # seats the queued prepaid extension was invoiced for
        #: TERM-3: the monthly price per seat the queued extension is paid at (None: not known
        #: on a walk resumed from a checkpoint; the plan before an upgrade then)
        self.queued_paid: Money | None = None
        self.drafts: list[InvoiceDraft] = []
        self.units: dict[tuple[str, Cycle | None, int | None, int], Money] = {}

    def copy(self) -> _Walk:
        """An independent walk in this one's state (its open items copied, its drafts so far
        shared: drafts are frozen)."""
        twin = copy.copy(self)
        twin.levels = [_Level(level.unit, level.seats) for level in self.levels]
        twin.arrears = list(self.arrears)
        twin.today = list(self.today)
        twin.drafts = list(self.drafts)
        twin.units = dict(self.units)
        return twin

    # prices ------------------------------------------------------------------------------------

    def unit(self, plan: str, state: TenantState, start: date | None = None) -> Money:
        """Per-seat price for the whole current period: cycle price, or monthly × months, from
        the price list in force on the day that period starts (NOTICE-2; ``start``, else the
        current term's or period's first day)."""
        months = state.term_months if state.term is not None else None
        day = start if start is not None else self._period_start(state)
        catalog = self.prices(day)
        known = self.units.get((plan, state.cycle, months, id(catalog)))
        if known is not None:
            return known
        chosen = catalog.get(plan)
        if months is not None:
            price = chosen.price(Cycle.MONTHLY, self.terms.currency) * months
        else:
            assert state.cycle is not None
            price = chosen.price(state.cycle, self.terms.currency)
        self.units[plan, state.cycle, months, id(catalog)] = price
        return price

    def prices(self, day: date | None) -> Catalog:
        """The price list in force for a period starting on ``day`` (NOTICE-2): the one
        catalogue of the walk unless price lists by day were given."""
        if self.price_lists is None or day is None:
            return self.catalog
        return self.price_lists(day)

    def _period_start(self, state: TenantState) -> date | None:
        """A prepaid term keeps the prices of its first day until it ends (NOTICE-2)."""
        if state.term is not None:
            return state.term.first_day
        return None if self.cursor is None else self.cursor.first_day

    # invoices ----------------------------------------------------------------------------------

    def emit(
        self, key: str, issued: date, charges: Iterable[Charge], period: Period | None
    ) -> None:
        if key in self.skip:
            return
        lines = lines_from_charges(charges)
        if all(line.net.is_zero() for line in lines):
            return
        transfer = self.state.payment == "transfer"
        version = self.terms.version_on(issued)  # PLAN-2, BILL-4: the issue day's terms
        if version is None:
            fee, rate = self.terms.transfer_fee, self.terms.vat_rate
            billing = self.policy.billing
            due_days = billing.transfer_due_days if transfer else billing.card_due_days
        else:
            fee, rate = version.transfer_fee, version.vat_rate
            due_days = version.transfer_due_days if transfer else version.card_due_days
        if transfer and fee is not None and not fee.is_zero():
            lines.append(InvoiceLine(LineKind.TRANSFER_FEE, "BILL-4", fee.rounded()))
        self.drafts.append(
            InvoiceDraft(
                key=key,
                issued=issued,
                due=issued + timedelta(days=due_days),
                currency=self.terms.currency,
                vat_rate=rate,
                lines=lines,
                period_first_day=None if period is None else period.first_day,
                period_last_day=None if period is None else period.last_day,
                payment=PaymentMethod.TRANSFER if transfer else PaymentMethod.CARD,
            )
        )

    def flush_today(self) -> None:
        if self.today and self.today_at is not None:
            local = self.today_at.astimezone(zone(self.policy.timezone))
            self.emit(f"changes:{local.isoformat()}", local.date(), self.today, None)
        self.today = []
        self.today_at = None

    def roll(self, day: date) -> None:
        """Issue the regular invoice of every period starting on or before ``day`` (BILL-2)."""
        while self.cursor is not None and self.cursor.last_day < day:
            start = self.cursor.last_day + timedelta(days=1)
            state = self.state
            billable = state.status in (TenantStatus.ACTIVE, TenantStatus.BLOCKED)  # PAY-2
            if billable and state.term is None and state.cycle:
                plan = state.next_plan or state.plan
                assert plan is not None
                period = _period_from(state, start)
                unit = self.unit(plan, state, period.first_day)
                key = f"period:{start.isoformat()}"
                if key not in self.skip:
                    charges = [
                        full_period(
                            LineKind.SUBSCRIPTION, "BILL-2", plan, state.seats, unit, period
                        ),
                        *self.arrears,
                    ]
                    self.emit(key, start, charges, period)
                self.arrears = []
                self.levels = [_Level(unit, state.seats)]
                self.cursor = period
            else:  # cancelled (END-4) or left the cycle: only what is still owed
                self.emit(f"closing:{start.isoformat()}", start, self.arrears, None)
                self.arrears = []
                self.cursor = None

    # steps -------------------------------------------------------------------------------------

    def step(self, step: Step) -> None:
        if self.today_at is not None and step.at != self.today_at:
            self.flush_today()
        self.now = step.at
        self.roll(step.day)
        cause = step.cause
        after = step.after
        if isinstance(cause, Activated) and after.status is TenantStatus.ACTIVE:
            self.state = after
            self.activate(step)
        elif isinstance(cause, Prepaid):
            self.state = after
            self.prepay(step)
        elif isinstance(cause, SeatsAdded):
            self.add_seats(step, after.seats - step.before.seats)
        elif isinstance(cause, SeatsRemoved):
            self.remove_seats(step.before.seats - after.seats)
        elif isinstance(cause, PlanChanged) and after.plan != step.before.plan:
            self.change_plan(step)
        elif cause is Transition.TERM_STARTED and after.term is not None and after.plan:
            self.start_queued_term(step)
        self.state = after

    def activate(self, step: Step) -> None:
        state, day = step.after, step.day
        assert state.plan is not None
        period = _period_from(state, day)
        unit = self.unit(state.plan, state, day)  # the tenant's first period starts today
        self.cursor = period
        self.levels = [_Level(unit, state.seats)]
        key = f"period:{day.isoformat()}"
        if key in self.skip:
            return
        if day == period.first_day:
            charge = full_period(
                LineKind.SUBSCRIPTION, "BILL-2", state.plan, state.seats, unit, period
            )
        else:  # BILL-1: the rest of the calendar month, prorated (PRO-1)
            charge = prorated(
                LineKind.SUBSCRIPTION, "BILL-1", state.plan, state.seats, unit, period, day
            )
        self.emit(key, day, [charge], period)

    def prepay(self, step: Step) -> None:
        state, day = step.after, step.day
        assert state.plan is not None and state.term is not None
        started = state.term != step.before.term
        term = state.term if started else state.queued_term
        months = state.term_months if started else state.queued_term_months
        assert term is not None and months is not None
        catalog = self.prices(term.first_day)  # NOTICE-2: a term keeps its first day's prices
        monthly = catalog.get(state.plan).price(Cycle.MONTHLY, self.terms.currency)
        discount = self.policy.billing.term_discount(months)  # TERM-1
        unit = Money(monthly.amount * months * (1 - discount), monthly.currency)
        seats = state.seats if started or state.queued_seats is None else state.queued_seats
        charge = full_period(LineKind.SUBSCRIPTION, "TERM-1", state.plan, seats, unit, term)
        if not started:
            self.queued_seats = seats
            self.queued_paid = monthly
        if started:
            self.cursor = None
            self.arrears = []
            self.levels = [_Level(monthly * months, state.seats)]
        self.emit(f"term:{term.first_day.isoformat()}", day, [charge], term)

    def start_queued_term(self, step: Step) -> None:
        """A prepaid extension starts; seats bought since it was invoiced pay for it now."""
        state = step.after
        assert state.plan is not None and state.term is not None
        self.levels = [_Level(self.unit(state.plan, state), state.seats)]
        self.queued_paid = None
        extra = state.seats - self.queued_seats
        if extra > 0:
            self.state = state
            self.add_term_seats(state.plan, extra, state.term, step.day)
            self.flush_today()

    def add_term_seats(self, plan: str, count: int, term: Period, day: date) -> None:
        """TERM-1 seats for the rest of a prepaid term, at its discounted price, invoiced now."""
        state = self.state
        unit = self.unit(plan, state)
        discount = self.policy.billing.term_discount(state.term_months or 1)
        price = Money(unit.amount * (1 - discount), unit.currency)
        self.today.append(prorated(LineKind.SEATS, "TERM-1", plan, count, price, term, day))
        self.today_at = self.now

    def _place(self, charge: Charge, day: date, in_term: bool) -> None:
        """PRO-2: monthly → next invoice; PRO-3/PRO-4 annual → today unless 12th month."""
        state = self.state
        if in_term:
            immediate = True
        elif state.cycle is Cycle.ANNUAL and self.cursor is not None:
            month = self.cursor.month_of(day)
            immediate = month < self.policy.billing.annual_immediate_except_month
        else:
            immediate = False
        if immediate:
            self.today.append(charge)
            self.today_at = self.now
        else:
            self.arrears.append(charge)

    def _period_for_change(self, day: date) -> Period:
        if self.state.term is not None:
            return self.state.term
        assert self.cursor is not None
        return self.cursor

    def add_seats(self, step: Step, count: int) -> None:
        state, day = step.after, step.day
        assert state.plan is not None
        unit = self.unit(state.plan, state)
        self.levels.append(_Level(unit, count))
        if state.term is not None:
            self.add_term_seats(state.plan, count, state.term, day)
            return
        rule = "PRO-2" if state.cycle is Cycle.MONTHLY else "PRO-3"
        period = self._period_for_change(day)
        self._place(
            prorated(LineKind.SEATS, rule, state.plan, count, unit, period, day), day, False
        )

    def remove_seats(self, count: int) -> None:
        # BILL-3: nothing refunded; the released seats no longer take part in upgrades (PRO-7).
        while count and self.levels:
            last = self.levels[-1]
            taken = min(count, last.seats)
            last.seats -= taken
            count -= taken
            if last.seats == 0:
                self.levels.pop()

    def change_plan(self, step: Step) -> None:
        before, state, day = step.before, step.after, step.day
        assert before.plan is not None and state.plan is not None
        if self.catalog.get(state.plan).rank <= self.catalog.get(before.plan).rank:
            return  # PRO-6: a downgrade is not credited (BILL-3)
        in_term = state.term is not None
        period = self._period_for_change(day)
        new_unit = self.unit(state.plan, state)
        rule = "TERM-3" if in_term else "PRO-4"
        description = f"{before.plan} -> {state.plan}"
        for level in self.levels:
            if level.unit < new_unit:  # PRO-5: seats already paid at a higher price pay nothing
                difference = new_unit - level.unit
                charge = prorated(
                    LineKind.UPGRADE,
                    rule,
                    state.plan,
                    level.seats,
                    difference,
                    period,
                    day,
                    description,
                )
                self._place(charge, day, in_term)
                level.unit = new_unit
        if in_term and state.queued_term is not None:
            self.upgrade_queued_term(before, state, day, description)

    def upgrade_queued_term(
        self, before: TenantState, state: TenantState, day: date, description: str
    ) -> None:
        """TERM-3: an extension bought before an upgrade in the term runs at the new plan
        (TERM-1: it keeps the term's plan), so the difference is owed for all of it too:
        (new - paid monthly price) x its months x the seats it was invoiced for, invoiced
        now, at the prices of its first day (NOTICE-2); nothing for a plan it is paid at."""
        queued, months = state.queued_term, state.queued_term_months
        assert queued is not None and months is not None and state.plan and before.plan
        catalog = self.prices(queued.first_day)
        currency = self.terms.currency
        new = catalog.get(state.plan).price(Cycle.MONTHLY, currency)
        paid = self.queued_paid
        if paid is None:
            paid = catalog.get(before.plan).price(Cycle.MONTHLY, currency)
        if not paid < new or self.queued_seats <= 0:
            return
        difference = (new - paid) * months
        charge = prorated(
            LineKind.UPGRADE,
            "TERM-3",
            state.plan,
            self.queued_seats,
            difference,
            queued,
            queued.first_day,
            description,
        )
        self._place(charge, day, True)
        self.queued_paid = new

    def finish(self, up_to: date) -> None:
        self.flush_today()
        self.roll(up_to)


def _period_from(state: TenantState, day: date) -> Period:
    period = billing_period(state, day)  # BILL-1: calendar month or 12 months from activation
    assert period is not None
    return period
