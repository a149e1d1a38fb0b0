"""A tenant's commercial state at one moment (TEN-1, SEAT-1, TRIAL-5, BILL-1, TERM-1, PRO-6).

:class:`TenantState` values are produced by :func:`crmcore.tenancy.aggregate`; they are plain frozen
values, so storage can keep them and services can compare them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from operator import attrgetter
from typing import Any

import attrs

from crmcore.catalog import Cycle
from crmcore.events import PaymentMethod
from crmcore.periods import Period

__all__ = ["TenantState", "TenantStatus", "billing_period", "evolve_state"]


class TenantStatus(enum.StrEnum):
    TRIAL = "trial"
    TRIAL_EXPIRED = "trial_expired"  # TRIAL-5 decision (livespace: blocked at trial end)
    ACTIVE = "active"
    FREE = "free"  # PLAN-5 / TRIAL-4 chmiuro / TERM-2
    BLOCKED = "blocked"  # PAY-2 (dunning family)
    CANCELLED = "cancelled"  # END-4, END-1 fixed term expired
    PURGED = "purged"  # TRIAL-4, PAY-4


@attrs.frozen
class TenantState:
    """What a tenant is at one moment. ``plan`` is the plan whose entitlements are in force."""

    tenant_id: str
    created: datetime
    status: TenantStatus
    trial_end: datetime
    plan: str | None = None
    next_plan: str | None = None  # PRO-6 next_period: the lower plan waiting for the period end
    next_plan_from: date | None = None
    cycle: Cycle | None = None
    payment: PaymentMethod | None = None  # BILL-4: card or transfer, once activated
    seats: int = 0  # SEAT-1: used + free accounts
    persons: frozenset[str] = frozenset()
    activated: date | None = None  # anchor of annual periods (BILL-1)
    term: Period | None = None  # current prepaid term (TERM-1)
    term_months: int | None = None
    queued_term: Period | None = None  # a prepaid extension starting after ``term``
    queued_term_months: int | None = None
    identity: str | None = None
    queued_seats: int | None = None  # TERM-1: seats of the queued extension (its own order)

    @property
    def used_seats(self) -> int:
        return len(self.persons)

    @property
    def free_seats(self) -> int:
        return max(self.seats - self.used_seats, 0)


_FIELDS = tuple(field.name for field in attrs.fields(TenantState))
_POSITION = {name: position for position, name in enumerate(_FIELDS)}
_VALUES = attrgetter(*_FIELDS)


def evolve_state(state: TenantState, **changes: Any) -> TenantState:
    """``attrs.evolve(state, **changes)`` without its per-call look-up of the fields: replay
    builds one state per step. The new state still goes through ``TenantState.__init__``."""
    values = list(_VALUES(state))
    for name, value in changes.items():
        position = _POSITION.get(name)
        if position is None:
            raise TypeError(f"TenantState has no field {name!r}")
        values[position] = value
    return TenantState(*values)


def billing_period(state: TenantState, day: date) -> Period | None:
    """The billing period containing ``day`` (BILL-1): the prepaid term, the calendar month,
    or the 12-month annual period counted from activation. ``None`` when not paying."""
    if state.term is not None and state.term.contains(day):
        return state.term
    if state.cycle is Cycle.MONTHLY:
        return Period.month_containing(day)
    if state.cycle is Cycle.ANNUAL and state.activated is not None:
        n = 0
        while Period.annual(state.activated, n).last_day < day:
            n += 1
        return Period.annual(state.activated, n)
    return None
