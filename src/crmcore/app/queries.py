"""Queries: what a tenant is now, what happens next, what it was invoiced.

Each answer is the evaluation of the stored history
(:func:`crmcore.app.evaluation.evaluate_tenant`), so it says what billing and
``crmcore simulate`` say: the lifecycle (TEN, TRIAL, TERM, END) and the payment delay
(PAY-2..4) merged into one status, with the access it gives.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import attrs

from crmcore.app.commands import tenant_terms
from crmcore.app.evaluation import Evaluation, evaluate_tenant
from crmcore.app.rules import paid_access_on
from crmcore.dates import LAST_EVALUATED_DAY, end_of_day, require_day
from crmcore.dunning.status import DunningStatus
from crmcore.invoices import Invoice
from crmcore.outcomes import StatusChange
from crmcore.ports import UnitOfWork
from crmcore.tenancy.aggregate import Transition
from crmcore.tenancy.state import TenantStatus

__all__ = ["Access", "NextTransition", "TenantStatusView", "tenant_invoices", "tenant_status"]

#: How far ahead :func:`tenant_status` looks for the next transitions.
LOOKAHEAD = timedelta(days=400)
#: How many next transitions it lists at most.
NEXT_TRANSITIONS = 3


class Access(enum.StrEnum):
    """What a status lets the tenant's users do. No rule of RULES.md grants a read-only
    access: TRIAL-5 (trial expired, not converted), PAY-2 (blocked), PAY-3/END (cancelled)
    and TRIAL-4/PAY-4 (purged) all give none, except that a customer's cancellation (END-4)
    leaves full access to the end of the paid period (BILL-3)."""

    FULL = "full"
    NONE = "none"


_FULL = frozenset({TenantStatus.TRIAL, TenantStatus.ACTIVE, TenantStatus.FREE})
_NO_ACCESS_DUNNING = frozenset(
    {DunningStatus.BLOCKED, DunningStatus.CANCELLED, DunningStatus.PURGED}
)

_RULES: Mapping[Transition, str] = {
    Transition.TRIAL_ENDED: "TRIAL-5",
    Transition.PURGED: "TRIAL-4",
    Transition.TERM_ENDED: "TERM-2",
    Transition.TERM_STARTED: "TERM-1",
    Transition.DOWNGRADE_APPLIED: "PRO-6",
}


@attrs.frozen
class NextTransition:
    """A change that takes effect on ``on`` if nothing else happens (no event, no payment)."""

    on: date
    status: str
    rule: str


@attrs.frozen
class TenantStatusView:
    """A tenant on ``as_of``: every status change so far, the status and access now, the
    next transitions."""

    tenant_id: str
    as_of: date
    statuses: tuple[StatusChange, ...]
    status: TenantStatus
    access: Access
    next: tuple[NextTransition, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``crmcore status --json`` document."""
        return {
            "tenant": self.tenant_id,
            "as_of": self.as_of.isoformat(),
            "statuses": [s.to_json() for s in self.statuses],
            "status": self.status.value,
            "access": self.access.value,
            "next": [
                {"on": n.on.isoformat(), "status": n.status, "rule": n.rule} for n in self.next
            ],
        }


def tenant_status(uow: UnitOfWork, tenant_id: str, as_of: date) -> TenantStatusView:
    """The tenant's status on vendor day ``as_of`` (the events recorded up to its end)."""
    require_day(as_of, "as_of")
    with uow:
        history = uow.tenants.history(tenant_id)
        terms = tenant_terms(uow, tenant_id, as_of)
    now = evaluate_tenant(terms, history, as_of)
    ahead = evaluate_tenant(terms, history, _ahead(as_of))
    statuses = tuple(s for s in now.statuses if s.on <= as_of)
    status = TenantStatus(statuses[-1].status)
    # BILL-3: a customer's cancellation (END-4) leaves access to the end of the paid period
    end = end_of_day(as_of, terms.policy.timezone)
    full = status in _FULL or (
        status is TenantStatus.CANCELLED and paid_access_on(now.timeline, now.invoices, end, as_of)
    )
    # PAY-2: a block still in force (a debtor's own cancellation, END-4, does not lift it;
    # only paying does) leaves no access, as the commands refuse (``services.in_force``)
    if now.dunning_at(end) in _NO_ACCESS_DUNNING:
        full = False
    access = Access.FULL if full else Access.NONE
    upcoming = _next(ahead, as_of)
    return TenantStatusView(tenant_id, as_of, statuses, status, access, upcoming)


def _ahead(as_of: date) -> date:
    """:data:`LOOKAHEAD` after ``as_of``, or the last day a tenant is evaluated on
    (:data:`crmcore.dates.LAST_EVALUATED_DAY`) when that comes first."""
    return LAST_EVALUATED_DAY if as_of > LAST_EVALUATED_DAY - LOOKAHEAD else as_of + LOOKAHEAD


def _next(ahead: Evaluation, as_of: date) -> tuple[NextTransition, ...]:
    """The next transitions after ``as_of``: the lifecycle's and those of payment delay that
    change the status (none that moves it back, PAY-5:
    :func:`~crmcore.app.rules.merged_dunning`)."""
    found: list[NextTransition] = []
    for step in ahead.timeline.steps:
        if step.day > as_of and isinstance(step.cause, Transition):
            found.append(NextTransition(step.day, step.after.status.value, _RULES[step.cause]))
    for transition in ahead.dunning_in_force:
        if transition.on > as_of:
            found.append(NextTransition(transition.on, transition.status.value, transition.rule))
    found.sort(key=lambda n: n.on)
    return tuple(found[:NEXT_TRANSITIONS])


def tenant_invoices(uow: UnitOfWork, tenant_id: str) -> list[Invoice]:
    """The invoices and corrections stored for the tenant in issue order: by day, and within
    a day as the evaluation issued them (its corrections before its invoices, BILL-6), as
    ``crmcore simulate`` lists them."""
    with uow:
        return uow.invoices.for_tenant(tenant_id)
