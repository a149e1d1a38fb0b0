"""PAY-1: payments applied to invoices oldest first, the one allocation rule.

"Oldest" is issued first, ties broken by the earlier due date, then the number
(:func:`oldest_first`). Billing asks how much of each invoice is paid (:func:`apply_payments`),
dunning how much is still unpaid (:func:`unpaid_amounts`); both are the one allocation
(:func:`_allocate`), so "paid" and "overdue" always agree. (:mod:`crmcore.dunning.status` keeps
the same allocation incrementally while it replays the days; a property test checks the two
agree.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crmcore.errors import ValidationError
from crmcore.invoices import Invoice, Payment
from crmcore.money import Money

__all__ = ["apply_payments", "oldest_first", "unpaid_amounts"]


def oldest_first(invoices: Iterable[Invoice]) -> list[Invoice]:
    """``invoices`` in PAY-1's order: issued first, then the earlier due date, then number."""
    return sorted(invoices, key=lambda i: (i.issued, i.due, i.number))


def _allocate(ordered: Sequence[Invoice], pool: Money, currency: str) -> dict[str, Money]:
    """What ``pool`` pays of each invoice of ``ordered`` (oldest first), by number. An invoice
    with nothing to pay (a credit note, gross <= 0) is settled by itself: its paid = its gross."""
    result: dict[str, Money] = {}
    for invoice in ordered:
        gross = invoice.gross
        if gross.amount <= 0:
            result[invoice.number] = gross
            continue
        paid = min(gross, pool) if pool.amount > 0 else Money.zero(currency)
        result[invoice.number] = paid
        pool = pool - paid
    return result


def apply_payments(invoices: Sequence[Invoice], payments: Iterable[Payment]) -> dict[str, Money]:
    """How much of each invoice (by number) the payments cover, oldest invoice first (PAY-1).

    Oldest = issued first; ties by due date, then number (the order dunning uses too).

    Money received before an invoice exists stays as a credit and pays the next invoices, so
    the result only depends on the total received. Filter ``payments`` by time to ask "paid as
    of a moment".

    >>> from datetime import date, datetime
    >>> from decimal import Decimal
    >>> import attrs
    >>> from crmcore.invoices import InvoiceLine, LineKind
    >>> line = InvoiceLine(LineKind.SUBSCRIPTION, "BILL-2", Money.of("100.00", "PLN"))
    >>> a = Invoice("t", "2026/0001", "x/2026", date(2026, 1, 1), date(2026, 1, 15), "PLN",
    ...             Decimal("0.23"), [line])
    >>> b = attrs.evolve(a, number="2026/0002", issued=date(2026, 2, 1), due=date(2026, 2, 15))
    >>> paid = apply_payments([b, a], [Payment("t", datetime.fromisoformat(
    ...     "2026-02-03T10:00:00+01:00"), Money.of("150.00", "PLN"))])
    >>> {n: str(m) for n, m in sorted(paid.items())}
    {'2026/0001': '123.00 PLN', '2026/0002': '27.00 PLN'}
    """
    ordered = oldest_first(invoices)
    if not ordered:
        return {}
    currency, tenant = ordered[0].currency, ordered[0].tenant_id
    for index, invoice in enumerate(invoices):
        if invoice.currency != currency or invoice.tenant_id != tenant:
            raise ValidationError(
                f"invoice {invoice.number} of {invoice.tenant_id!r} in {invoice.currency} is "
                f"not of {tenant!r} in {currency}",
                field=f"invoices[{index}]",
                rule="PAY-1",
            )
    pool = Money.zero(currency)
    for index, payment in enumerate(payments):
        if payment.amount.currency != currency or payment.tenant_id != tenant:
            raise ValidationError(
                f"payment of {payment.amount} by {payment.tenant_id!r} cannot pay invoices of "
                f"{tenant!r} in {currency}",
                field=f"payments[{index}]",
                rule="PAY-1",
            )
        pool = pool + payment.amount
    return _allocate(ordered, pool, currency)


def unpaid_amounts(
    invoices: Sequence[Invoice], payments: Sequence[Payment], currency: str
) -> dict[str, Money]:
    """What is still unpaid on each invoice after applying all payments oldest first (PAY-1):
    its gross less what :func:`apply_payments` gives it (zero for a credit note).

    >>> from datetime import date, datetime, timezone
    >>> from decimal import Decimal
    >>> from crmcore.invoices import InvoiceLine, LineKind
    >>> line = InvoiceLine(LineKind.SUBSCRIPTION, "BILL-2", Money.of("100.00", "PLN"))
    >>> jan, feb, vat = date(2026, 1, 1), date(2026, 2, 1), Decimal(0)
    >>> a = Invoice("t", "1", "s", jan, jan.replace(day=15), "PLN", vat, [line])
    >>> b = Invoice("t", "2", "s", feb, feb.replace(day=15), "PLN", vat, [line])
    >>> paid = Payment("t", datetime(2026, 2, 20, tzinfo=timezone.utc), Money.of("130", "PLN"))
    >>> {k: str(v) for k, v in unpaid_amounts([b, a], [paid], "PLN").items()}
    {'1': '0.00 PLN', '2': '70.00 PLN'}
    """
    pool = Money.zero(currency)
    for payment in payments:
        pool = pool + payment.amount
    ordered = oldest_first(invoices)
    paid = _allocate(ordered, pool, currency)
    return {invoice.number: invoice.gross - paid[invoice.number] for invoice in ordered}
