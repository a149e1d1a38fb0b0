"""Payment delay (PAY-1..6): a tenant's access status as a function of its invoices and payments.

The status is a pure function of (invoices, payments, reinstatements, policy, moment). Nothing
is stored: :func:`dunning_log` replays the history and returns every transition, so "what was
the status on day D?" and "what happens next if nothing is paid?" are both answered by the same
replay.

- PAY-1: days overdue count from the due date of the *oldest* unpaid invoice, in vendor days
  (TIME-2). Payments are pooled and applied oldest invoice first (issue date; ties by due date,
  then number); an overpayment is a credit for later invoices.
- PAY-2: *more than* ``block_after_days`` overdue blocks access. With due date D0 and the
  raynet threshold 3, the tenant is still active on D0+3 and blocked from 00:00 on D0+4.
  Paying everything overdue unblocks at the instant of the payment.
- PAY-3: more than ``cancel_after_days`` overdue cancels the instance; the contract ends that
  day. A payment afterwards changes nothing; only a :class:`Reinstatement` (a recorded vendor
  decision) brings the tenant back.
- PAY-4: more than ``purge_after_days`` overdue purges the instance; the purge is final.
- PAY-5: statuses move forward only (active → blocked → cancelled → purged), except for PAY-2's
  unblock and PAY-3's reinstatement.
- PAY-6: a partial payment that leaves an overdue invoice unpaid does not unblock.

Decisions (documented here, not in the seed):

- A cancelled instance keeps the purge clock of the delay that cancelled it: it is purged
  ``purge_after_days`` after that due date even if the debt is paid after the cancellation
  (a payment does not restore a cancelled instance, PAY-3, so it does not extend its life).
- A reinstatement is a fresh start: invoices still unpaid at the reinstatement count as due on
  the reinstatement day, so a vendor that reinstates an unpaid tenant gives it the full
  ``block_after_days`` again. Reinstating a tenant that is not cancelled is refused
  (:class:`~crmcore.errors.DunningError`), and so is reinstating a purged one (PAY-4).
- Invoices count from 00:00 of their issue day; a payment and a reinstatement take effect at
  their instant (a payment at 00:00 sharp counts before that day's threshold is crossed).
  The status "on day D" is the status at the end of that vendor day.

>>> from datetime import date
>>> from decimal import Decimal
>>> from crmcore.invoices import Invoice, InvoiceLine, LineKind
>>> from crmcore.money import Money
>>> from crmcore.presets import preset
>>> line = InvoiceLine(LineKind.SUBSCRIPTION, "BILL-2", Money.of("500.00", "CZK"))
>>> invoice = Invoice("acme", "2026/0001", "2026", date(2026, 3, 1), date(2026, 3, 15),
...                   "CZK", Decimal("0.21"), [line])
>>> raynet = preset("raynet")
>>> status_on([invoice], [], raynet, date(2026, 3, 18)).status.value   # D0 + 3
'active'
>>> status_on([invoice], [], raynet, date(2026, 3, 19)).status.value   # D0 + 4
'blocked'
>>> str(next_transition([invoice], [], raynet, date(2026, 3, 19)).on)   # D0 + 61
'2026-05-15'

Long because the PAY-2..6 replay is one state machine, with the queries that read it (status on
a day, log, next transition).
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import attrs

from crmcore.dates import local_midnight, require_aware, vendor_date
from crmcore.dunning.allocation import oldest_first, unpaid_amounts
from crmcore.errors import N_, DunningError, ValidationError
from crmcore.invoices import Invoice, Payment
from crmcore.money import Money
from crmcore.policies import DunningPolicy, VendorPolicy

__all__ = [
    "DunningState",
    "DunningStatus",
    "DunningTransition",
    "Reinstatement",
    "dunning_log",
    "next_transition",
    "status_at",
    "status_on",
]


class DunningStatus(enum.StrEnum):
    """Access status under PAY-2..4 (the words of the scenario output)."""

    ACTIVE = "active"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    PURGED = "purged"


@attrs.frozen
class Reinstatement:
    """The vendor's recorded decision to reinstate a cancelled instance (PAY-3)."""

    tenant_id: str
    at: datetime
    reference: str = ""

    def __attrs_post_init__(self) -> None:
        require_aware(self.at, "at")


@attrs.frozen
class DunningTransition:
    """One status change: when it took effect, from what to what, and by which rule."""

    at: datetime
    on: date
    previous: DunningStatus
    status: DunningStatus
    rule: str
    days_overdue: int


@attrs.frozen
class DunningState:
    """The status at the end of vendor day ``on`` with the numbers behind it.

    ``days_overdue`` counts from the oldest unpaid invoice's due date (PAY-1);
    ``overdue`` is what must be paid to unblock (PAY-2); ``contract_ended_on`` is set once the
    instance is cancelled (PAY-3) and cleared by a reinstatement.
    """

    on: date
    status: DunningStatus
    days_overdue: int
    oldest_unpaid: str | None
    overdue: Money
    contract_ended_on: date | None
    purged_on: date | None


def _later(day: date, days: int) -> date:
    """``day`` + ``days``, or the last representable day when that is beyond it."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max


def _effective_due(invoice: Invoice, fresh_start: date | None) -> date:
    """The due date PAY-1 counts from: a reinstatement (PAY-3) restarts older debts."""
    if fresh_start is not None and invoice.due < fresh_start:
        return fresh_start
    return invoice.due


class _Ledger:
    """The unpaid invoices as the days go by, kept incrementally (internal).

    Invoices are oldest first (:func:`_ordered`); those issued so far are a prefix of them, and
    the money received pays them in that order (PAY-1), so the paid ones are a shorter prefix.
    Both prefixes only grow, so each invoice enters and leaves once, and a window of the unpaid
    ones keeps the smallest due date at its front (a monotonic queue): every question of the
    replay is answered without walking the invoices, and the replay is linear in their number
    (docs/performance.md).
    """

    def __init__(self, ordered: Sequence[Invoice], currency: str) -> None:
        self.ordered = ordered
        self.grosses = [invoice.gross for invoice in ordered]  # computed once each
        self.issued = 0  # ordered[:issued] are issued
        self.paid = 0  # ordered[:paid] are paid in full (or have nothing to pay)
        self.covered = Money.zero(currency)  # what the paid prefix took of the money received
        self.received = Money.zero(currency)
        self.unpaid: collections.deque[int] = collections.deque()  # due dates ascending

    def issue_until(self, day: date) -> None:
        """Every invoice issued on or before ``day`` counts from now on."""
        ordered = self.ordered
        while self.issued < len(ordered) and ordered[self.issued].issued <= day:
            index = self.issued
            self.issued += 1
            if self.grosses[index].amount > 0:
                due = ordered[index].due
                while self.unpaid and ordered[self.unpaid[-1]].due >= due:
                    self.unpaid.pop()
                self.unpaid.append(index)
        self._settle()

    def receive(self, payment: Payment) -> None:
        self.received = self.received + payment.amount
        self._settle()

    def _settle(self) -> None:
        """Move the paid prefix forward over every issued invoice the money covers."""
        while self.paid < self.issued:
            gross = self.grosses[self.paid]
            if gross.amount > 0:
                if self.covered + gross > self.received:
                    break
                self.covered = self.covered + gross
            self.paid += 1
        while self.unpaid and self.unpaid[0] < self.paid:
            self.unpaid.popleft()

    def anchor(self, fresh_start: date | None) -> date | None:
        """The earliest effective due date of an unpaid invoice (PAY-1), ``None`` if none."""
        if not self.unpaid:
            return None
        earliest = self.ordered[self.unpaid[0]].due
        return fresh_start if fresh_start is not None and earliest < fresh_start else earliest

    def days_overdue(self, day: date, fresh_start: date | None) -> int:
        anchor = self.anchor(fresh_start)
        return 0 if anchor is None or anchor >= day else (day - anchor).days


@attrs.define
class _Replay:
    """Mutable replay state (internal): the status and its anchors as the days go by."""

    policy: DunningPolicy
    currency: str
    status: DunningStatus = DunningStatus.ACTIVE
    fresh_start: date | None = None  # last reinstatement day
    cancel_anchor: date | None = None  # effective due date that caused the cancellation
    contract_ended_on: date | None = None
    purged_on: date | None = None
    log: list[DunningTransition] = attrs.Factory(list)

    def overdue(self, issued: list[Invoice], unpaid: dict[str, Money], day: date) -> list[Invoice]:
        """The invoices of ``issued`` unpaid and past their effective due date on ``day``."""
        return [
            i
            for i in issued
            if unpaid[i.number].amount > 0 and _effective_due(i, self.fresh_start) < day
        ]

    def threshold_days(self, ledger: _Ledger) -> list[date]:
        """The days on which a threshold is crossed if nothing is paid (PAY-2..4)."""
        policy = self.policy
        if self.status is DunningStatus.CANCELLED:
            assert self.cancel_anchor is not None
            return [_later(self.cancel_anchor, policy.purge_after_days + 1)]
        anchor = ledger.anchor(self.fresh_start)
        if anchor is None:
            return []
        return [
            _later(anchor, policy.block_after_days + 1),
            _later(anchor, policy.cancel_after_days + 1),
        ]

    def move(self, at: datetime, day: date, status: DunningStatus, rule: str, days: int) -> None:
        self.log.append(DunningTransition(at, day, self.status, status, rule, days))
        self.status = status

    def evaluate(self, at: datetime, day: date, ledger: _Ledger) -> None:
        policy = self.policy
        if self.status is DunningStatus.PURGED:
            return  # PAY-4 / PAY-5: final
        if self.status is DunningStatus.CANCELLED:
            assert self.cancel_anchor is not None
            held = (day - self.cancel_anchor).days
            if held > policy.purge_after_days:
                self.purged_on = day
                self.move(at, day, DunningStatus.PURGED, "PAY-4", held)
            return
        days = ledger.days_overdue(day, self.fresh_start)
        if days > policy.cancel_after_days:
            self.cancel_anchor = day - timedelta(days=days)
            self.contract_ended_on = day
            self.move(at, day, DunningStatus.CANCELLED, "PAY-3", days)
            self.evaluate(at, day, ledger)  # a very old debt may also purge at once
        elif days > policy.block_after_days:
            if self.status is not DunningStatus.BLOCKED:
                self.move(at, day, DunningStatus.BLOCKED, "PAY-2", days)
        elif self.status is DunningStatus.BLOCKED and days == 0:
            # PAY-2 unblock; PAY-6: anything overdue still unpaid keeps the block.
            self.move(at, day, DunningStatus.ACTIVE, "PAY-2", days)


def _vendor_day(moment: date | datetime, timezone: str) -> date:
    if isinstance(moment, datetime):
        return vendor_date(moment, timezone)
    return moment


def _day(value: object, field: str) -> date:
    """A vendor day asked as a ``date``; a ``datetime`` is refused (its day depends on the
    zone: ask :func:`status_at` for an instant)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(
            f"must be a date (a vendor day), got {value!r}; use status_at for an instant",
            field=field,
            rule="TIME-2",
        )
    return value


def _currency(
    invoices: Sequence[Invoice], payments: Sequence[Payment], policy: VendorPolicy
) -> str:
    if invoices:
        return invoices[0].currency
    return payments[0].amount.currency if payments else policy.currency


def _check(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    currency: str,
    reinstatements: Sequence[Reinstatement] = (),
) -> tuple[list[Invoice], list[Payment]]:
    """One tenant's invoices, payments and reinstatements, in one currency (PAY-1)."""
    tenant = invoices[0].tenant_id if invoices else payments[0].tenant_id if payments else None
    for index, invoice in enumerate(invoices):
        if invoice.currency != currency:
            raise ValidationError(
                f"invoice {invoice.number} is in {invoice.currency}, expected {currency}",
                field=f"invoices[{index}].currency",
                rule="PAY-1",
            )
        if invoice.tenant_id != tenant:
            raise ValidationError(
                f"invoice {invoice.number} is of tenant {invoice.tenant_id!r}, not {tenant!r}",
                field=f"invoices[{index}].tenant_id",
                rule="PAY-1",
            )
    for index, payment in enumerate(payments):
        if payment.amount.currency != currency:
            raise ValidationError(
                f"payment in {payment.amount.currency}, expected {currency}",
                field=f"payments[{index}].amount",
                rule="PAY-1",
            )
        if payment.tenant_id != tenant:
            raise ValidationError(
                f"payment of tenant {payment.tenant_id!r} counted for {tenant!r}",
                field=f"payments[{index}].tenant_id",
                rule="PAY-1",
            )
    for index, reinstatement in enumerate(reinstatements):
        if tenant is not None and reinstatement.tenant_id != tenant:
            raise ValidationError(
                f"reinstatement of tenant {reinstatement.tenant_id!r} given for {tenant!r}",
                field=f"reinstatements[{index}].tenant_id",
                rule="PAY-3",
            )
    return oldest_first(invoices), sorted(payments, key=lambda p: p.at)


def _replay(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    policy: VendorPolicy,
    last_day: date,
    reinstatements: Sequence[Reinstatement],
) -> _Replay:
    currency = _currency(invoices, payments, policy)
    ordered, paid = _check(invoices, payments, currency, reinstatements)
    tz = policy.timezone
    if policy.dunning is None:  # the vendor states no payment-delay terms: nothing happens
        state = _Replay(DunningPolicy(), currency)  # never evaluated: thresholds unused
        for late in reinstatements:  # refused: there is never a cancelled instance (PAY-3)
            _reinstate(state, late, vendor_date(late.at, tz))
        return state
    state = _Replay(policy.dunning, currency)
    if not ordered:  # nothing was ever invoiced, so nothing was ever cancelled (PAY-3)
        for late in reinstatements:
            if vendor_date(late.at, tz) <= last_day:
                _reinstate(state, late, vendor_date(late.at, tz))
        return state
    # Events of a day happen at their instant; invoices count from 00:00 of their issue day.
    happenings: dict[date, list[tuple[datetime, Payment | Reinstatement]]] = {}
    items: list[Payment | Reinstatement] = [*paid, *reinstatements]
    for item in items:
        happenings.setdefault(vendor_date(item.at, tz), []).append((item.at, item))
    # The days something happens, in order; the replay visits them and the threshold days.
    calendar = sorted({i.issued for i in ordered} | happenings.keys())
    upcoming = 0
    ledger = _Ledger(ordered, currency)
    day = calendar[0]
    while day <= last_day:
        ledger.issue_until(day)
        midnight = local_midnight(day, tz)
        today = collections.deque(sorted(happenings.get(day, []), key=lambda pair: pair[0]))
        # A payment at 00:00 sharp arrives before that day's threshold is crossed.
        while today and today[0][0] <= midnight and isinstance(today[0][1], Payment):
            ledger.receive(today.popleft()[1])  # type: ignore[arg-type]
        state.evaluate(midnight, day, ledger)
        for at, item in today:
            if isinstance(item, Payment):
                ledger.receive(item)
            else:
                _reinstate(state, item, day)
            state.evaluate(at, day, ledger)
        if state.status is DunningStatus.PURGED:
            break
        # Nothing changes between these days: jump to the next one that may change something.
        while upcoming < len(calendar) and calendar[upcoming] <= day:
            upcoming += 1
        candidates = [d for d in state.threshold_days(ledger) if d > day]
        if upcoming < len(calendar):
            candidates.append(calendar[upcoming])
        if not candidates:
            break
        day = min(candidates)
    for late in reinstatements:
        if state.purged_on is not None and vendor_date(late.at, tz) >= state.purged_on:
            _reinstate(state, late, vendor_date(late.at, tz))  # refused: a purge is final
    return state


def _reinstate(state: _Replay, item: Reinstatement, day: date) -> None:
    if state.status is not DunningStatus.CANCELLED:
        rule = "PAY-4" if state.status is DunningStatus.PURGED else "PAY-3"
        raise DunningError(
            N_("only a cancelled instance can be reinstated; it is {status} on {day}"),
            {"status": state.status.value, "day": day},
            field="reinstatements",
            rule=rule,
        )
    state.fresh_start = day
    state.cancel_anchor = None
    state.contract_ended_on = None
    state.move(item.at, day, DunningStatus.ACTIVE, "PAY-3", 0)


def dunning_log(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    policy: VendorPolicy,
    until: date | datetime,
    reinstatements: Sequence[Reinstatement] = (),
) -> tuple[DunningTransition, ...]:
    """Every status transition up to the end of vendor day ``until`` (a date, or the vendor
    day of an aware instant), in order (PAY-5)."""
    if isinstance(until, datetime):
        require_aware(until, "until")
    last = _vendor_day(until, policy.timezone)
    return tuple(_replay(invoices, payments, policy, last, reinstatements).log)


def status_on(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    policy: VendorPolicy,
    day: date,
    reinstatements: Sequence[Reinstatement] = (),
) -> DunningState:
    """The status at the end of vendor day ``day``; later payments are ignored.

    Only invoices issued and payments made by ``day`` count, so the answer never depends on
    what happened afterwards. ``day`` is a ``date`` (for an instant ask :func:`status_at`);
    every invoice, payment and reinstatement must be of one tenant, in one currency (PAY-1).
    """
    tz = policy.timezone
    last = _day(day, "day")
    _check(invoices, payments, _currency(invoices, payments, policy), reinstatements)
    upto_payments = [p for p in payments if vendor_date(p.at, tz) <= last]
    upto_reinstatements = [r for r in reinstatements if vendor_date(r.at, tz) <= last]
    issued = [i for i in invoices if i.issued <= last]
    state = _replay(issued, upto_payments, policy, last, upto_reinstatements)
    currency = _currency(issued, upto_payments, policy)
    unpaid = unpaid_amounts(issued, upto_payments, currency)
    late = state.overdue(oldest_first(issued), unpaid, last)
    overdue = Money.zero(currency)
    for invoice in late:
        overdue = overdue + unpaid[invoice.number]
    oldest = late[0].number if late else None
    anchor = min((_effective_due(i, state.fresh_start) for i in late), default=last)
    return DunningState(
        on=last,
        status=state.status,
        days_overdue=(last - anchor).days,
        oldest_unpaid=oldest,
        overdue=overdue,
        contract_ended_on=state.contract_ended_on,
        purged_on=state.purged_on,
    )


def status_at(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    policy: VendorPolicy,
    instant: datetime,
    reinstatements: Sequence[Reinstatement] = (),
) -> DunningStatus:
    """The status at an exact instant (a payment at 15:00 unblocks from 15:00, PAY-2)."""
    require_aware(instant, "instant")
    _check(invoices, payments, _currency(invoices, payments, policy), reinstatements)
    log = dunning_log(
        invoices,
        [p for p in payments if p.at <= instant],
        policy,
        instant,
        [r for r in reinstatements if r.at <= instant],
    )
    status = DunningStatus.ACTIVE
    for transition in log:
        if transition.at <= instant:
            status = transition.status
    return status


def next_transition(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    policy: VendorPolicy,
    day: date,
    reinstatements: Sequence[Reinstatement] = (),
) -> DunningTransition | None:
    """The next transition after vendor day ``day`` if nothing more is paid (PAY-2..4).

    Considers the invoices issued and payments made by ``day``; ``None`` when nothing is
    pending (all paid, or already purged). Billing scripts schedule reminders with it.
    ``day`` is a ``date``, as for :func:`status_on`.
    """
    tz = policy.timezone
    last = _day(day, "day")
    _check(invoices, payments, _currency(invoices, payments, policy), reinstatements)
    if policy.dunning is None:  # no payment-delay terms: no transition ever
        return None
    upto_payments = [p for p in payments if vendor_date(p.at, tz) <= last]
    upto_reinstatements = [r for r in reinstatements if vendor_date(r.at, tz) <= last]
    issued = [i for i in invoices if i.issued <= last]
    known = len(dunning_log(issued, upto_payments, policy, last, upto_reinstatements))
    # Nothing can happen later than purge_after_days after the oldest due date still in play.
    latest_due = max([last, *(i.due for i in issued)])
    horizon = _later(latest_due, policy.dunning.purge_after_days + 2)
    future = dunning_log(issued, upto_payments, policy, horizon, upto_reinstatements)
    return future[known] if len(future) > known else None
