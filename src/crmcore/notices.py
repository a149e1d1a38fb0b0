"""Changes of terms and the end of the contract (NOTICE-1..4, END-1..4, raynet).

Every answer is a :class:`NoticeDate`: a calendar day (vendor time) and the rule that produced
it. Day arithmetic is on dates; months clamp to month end (TIME-4).

>>> from datetime import date
>>> from crmcore.policies import NoticePolicy
>>> terms_change_effective(date(2026, 1, 20), NoticePolicy())
NoticeDate(day=datetime.date(2026, 2, 4), rule='NOTICE-1')
>>> vendor_notice_end(date(2026, 1, 15), NoticePolicy())  # notice runs 1 Feb 2026 .. 31 Jan 2027
NoticeDate(day=datetime.date(2027, 1, 31), rule='END-2')
"""

from __future__ import annotations

import enum
from datetime import date, timedelta

import attrs

from crmcore.dates import add_months, last_day_of_month
from crmcore.errors import NoticeRefused, ValidationError
from crmcore.i18n import N_
from crmcore.policies import NoticePolicy

__all__ = [
    "EndReason",
    "NotApplicable",
    "NoticeDate",
    "change_accepted",
    "contract_end",
    "limits_change_effective",
    "notice_delivered_on",
    "price_change_binding_from",
    "price_change_effective",
    "refusal_cancels_on",
    "terms_change_effective",
    "vendor_notice_end",
]


@attrs.frozen
class NoticeDate:
    """A day and the rule ID that produced it."""

    day: date
    rule: str


@attrs.frozen
class NotApplicable:
    """The rule does not apply (a price change to a fixed-term contract, NOTICE-2)."""

    rule: str
    reason: str


def _effective(
    announced: date, days: int, requested: date | None, rule: str, field: str
) -> NoticeDate:
    earliest = announced + timedelta(days=days)
    if requested is None:
        return NoticeDate(earliest, rule)
    if requested < earliest:
        raise NoticeRefused(
            N_(
                "A change announced on {announced} may take effect {days} days later at the "
                "earliest ({earliest}), not on {requested}."
            ),
            {"announced": announced, "days": days, "earliest": earliest, "requested": requested},
            field=field,
            rule=rule,
        )
    return NoticeDate(requested, rule)


def terms_change_effective(
    announced: date, policy: NoticePolicy, requested: date | None = None
) -> NoticeDate:
    """When a change of terms announced on ``announced`` takes effect (NOTICE-1).

    At least 15 days later: announced 20 Jan → 4 Feb at the earliest. A ``requested`` date
    before that is refused; a later one is kept.
    """
    return _effective(announced, policy.terms_change_days, requested, "NOTICE-1", "effective")


def price_change_effective(
    announced: date, policy: NoticePolicy, requested: date | None = None
) -> NoticeDate:
    """When a price change announced on ``announced`` may take effect (NOTICE-2): at least
    30 days later (announced 2 Mar 2026 → 1 Apr at the earliest); a ``requested`` day before
    that is refused. It then binds from the first billing period starting on or after it
    (:func:`price_change_binding_from`; crmcore's billing prices each period from the version
    in force on its first day)."""
    return _effective(announced, policy.price_change_days, requested, "NOTICE-2", "effective")


def limits_change_effective(
    announced: date, policy: NoticePolicy, requested: date | None = None
) -> NoticeDate:
    """Limits may change any time, announced like terms (NOTICE-3): 15 days ahead."""
    return _effective(announced, policy.terms_change_days, requested, "NOTICE-3", "effective")


def price_change_binding_from(
    announced: date,
    policy: NoticePolicy,
    period_anchor: date,
    period_months: int = 1,
    *,
    fixed_term: bool = False,
) -> NoticeDate | NotApplicable:
    """The first day a price change announced on ``announced`` binds the customer (NOTICE-2).

    The change needs 30 days' notice and then binds from the start of the first billing period
    beginning on or after that day. Billing periods start at ``period_anchor`` plus multiples of
    ``period_months`` (1 = calendar months anchored on a 1st, 12 = annual, month-clamped from
    the anchor, TIME-4). A fixed-term contract keeps its price: :class:`NotApplicable`.

    Announced 2 Mar 2026, monthly from 1 Jan: 2 Mar + 30 days = 1 Apr, a period start → 1 Apr.
    """
    if fixed_term:
        return NotApplicable("NOTICE-2", "price changes do not apply to fixed-term contracts")
    if period_months <= 0:
        raise ValidationError(f"must be > 0, got {period_months}", field="period_months")
    earliest = announced + timedelta(days=policy.price_change_days)
    if earliest <= period_anchor:
        return NoticeDate(period_anchor, "NOTICE-2")
    # Estimate the period index, then step forward from the anchor (never chained, TIME-4).
    months_between = (
        (earliest.year - period_anchor.year) * 12 + earliest.month - period_anchor.month
    )
    index = max(0, months_between // period_months - 1)
    while (start := add_months(period_anchor, index * period_months)) < earliest:
        index += 1
    return NoticeDate(start, "NOTICE-2")


def change_accepted(effective: date, used_on: date) -> bool:
    """Using the service on or after the day a change takes effect accepts it (NOTICE-4)."""
    return used_on >= effective


def refusal_cancels_on(effective: date) -> NoticeDate:
    """Refusing a change cancels the instance effective the day the change takes effect
    (NOTICE-4, END-1), whichever day the refusal came: none of the new terms binds the tenant,
    as :func:`crmcore.app.commands.refuse_terms` records it (a cancellation at the last
    instant before that day)."""
    return NoticeDate(effective, "NOTICE-4")


# --- END-1..4 -------------------------------------------------------------------------------------


class EndReason(enum.StrEnum):
    """The ways a contract ends (END-1)."""

    FIXED_TERM_EXPIRY = "fixed_term_expiry"
    VENDOR_NOTICE = "vendor_notice"  # END-2
    VENDOR_WITHDRAWAL = "vendor_withdrawal"  # END-3
    CUSTOMER_CANCELLATION = "customer_cancellation"  # END-4
    PAYMENT_DELAY = "payment_delay"  # PAY-3
    REFUSAL_OF_TERMS = "refusal_of_terms"  # NOTICE-4


def notice_delivered_on(
    posted_on: date, policy: NoticePolicy, collected_on: date | None = None
) -> NoticeDate:
    """The day a posted notice counts as delivered (END-2).

    Collected: the day it was collected. Not collected (or collected later): deemed delivered
    on the 3rd day after posting (posted 30 Jan → 2 Feb).
    """
    deemed = posted_on + timedelta(days=policy.posted_notice_deemed_delivered_days)
    if collected_on is not None and collected_on < posted_on:
        raise ValidationError(
            f"collected {collected_on} before posting {posted_on}",
            field="collected_on",
            rule="END-2",
        )
    if collected_on is not None and collected_on < deemed:
        return NoticeDate(collected_on, "END-2")
    return NoticeDate(deemed, "END-2")


def vendor_notice_end(delivered_on: date, policy: NoticePolicy) -> NoticeDate:
    """The last day of the contract after the vendor's notice delivered on ``delivered_on``.

    The 12-month period starts on the first day of the month after delivery (END-2): delivered
    29 Feb 2028 → runs 1 Mar 2028 .. 28 Feb 2029.
    """
    start = last_day_of_month(delivered_on) + timedelta(days=1)
    return NoticeDate(add_months(start, policy.vendor_notice_months) - timedelta(days=1), "END-2")


def contract_end(reason: EndReason, day: date, policy: NoticePolicy) -> NoticeDate:
    """The last day of the contract for each way it ends (END-1).

    ``day`` is: the last day of the fixed term; the delivery day of a vendor notice or
    withdrawal; the day of the customer's cancellation, of the refusal of new terms, or the
    cancellation day the payment-delay rules (PAY-3) computed.
    """
    if reason is EndReason.VENDOR_NOTICE:
        return vendor_notice_end(day, policy)
    rules = {
        EndReason.FIXED_TERM_EXPIRY: "END-1",
        EndReason.VENDOR_WITHDRAWAL: "END-3",  # ends on delivery
        EndReason.CUSTOMER_CANCELLATION: "END-4",  # same day, no refund (BILL-3)
        EndReason.PAYMENT_DELAY: "PAY-3",
        EndReason.REFUSAL_OF_TERMS: "NOTICE-4",
    }
    return NoticeDate(day, rules[reason])
