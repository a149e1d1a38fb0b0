"""Billing as a use case: store what the evaluation says is due (BILL-6 numbering).

:func:`bill_tenant` evaluates the tenant's stored history up to a day
(:func:`crmcore.app.evaluation.evaluate_tenant`: invoices stop at a PAY-3 cancellation and a PAY-4
purge, SLA-6 credits and the BILL-4 transfer fee are lines, VAT is the vendor's rate, PLAN-2)
and stores every invoice whose key is not stored yet, numbered in the vendor's series
``<vendor>/<year>`` from the store's counter (gapless, BILL-6). An issued invoice never
changes: running it again stores nothing (idempotent).
"""

from __future__ import annotations

from datetime import date

import attrs

from crmcore.app.commands import tenant_terms
from crmcore.app.evaluation import Evaluation, evaluate_tenant
from crmcore.billing import invoice_number
from crmcore.invoices import Invoice
from crmcore.ports import UnitOfWork

__all__ = ["BilledTenant", "bill_tenant"]


@attrs.frozen
class BilledTenant:
    """The invoices a run stored for one tenant and the evaluation they came from."""

    tenant_id: str
    issued: tuple[Invoice, ...]
    evaluation: Evaluation


def bill_tenant(uow: UnitOfWork, tenant_id: str, up_to: date) -> BilledTenant:
    """Store the tenant's invoices issued up to vendor day ``up_to`` and not stored yet."""
    with uow:
        history = uow.tenants.history(tenant_id)
        terms = tenant_terms(uow, tenant_id, up_to)
        evaluation = evaluate_tenant(terms, history, up_to)
        stored = {invoice.key for invoice in uow.invoices.for_tenant(tenant_id)}
        issued: list[Invoice] = []
        for draft in evaluation.invoices:
            if draft.key in stored:
                continue
            number = uow.invoices.next_number(draft.series)
            invoice = attrs.evolve(
                draft, number=invoice_number(terms.policy, draft.issued.year, number)
            )
            uow.invoices.add(invoice)
            issued.append(invoice)
        uow.commit()
    return BilledTenant(tenant_id, tuple(issued), evaluation)
