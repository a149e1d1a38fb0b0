"""Billing as a use case: store what the evaluation says is due (BILL-6 numbering).

:func:`bill_tenant` evaluates the tenant's stored history up to a day
(:func:`crmcore.app.evaluation.evaluate_tenant`: invoices stop at a PAY-3 cancellation and a PAY-4
purge, SLA-6 credits and the BILL-4 transfer fee are lines, VAT is the vendor's rate, PLAN-2)
and stores every invoice whose key is not stored yet, numbered in the vendor's series
``<vendor>/<year>`` from the store's counter (gapless, BILL-6), and every correction document
of a late entry in the series ``<vendor>/corrections/<year>``, naming the stored number of the
invoice it corrects. An issued invoice never changes: running it again stores nothing
(idempotent).

In the same transaction it writes the events out (:mod:`crmcore.outbox`): an
``invoice_issued`` (``correction_issued`` for a correction document; and ``sla_credit``) per
document stored, and the status changes, limit warnings and refusals the evaluation derives
up to ``up_to``; each is keyed, so a re-run writes none twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import attrs

from crmcore.app.commands import tenant_terms
from crmcore.app.evaluation import Evaluation, evaluate_tenant
from crmcore.billing.numbering import document_number
from crmcore.dates import require_day
from crmcore.invoices import Invoice
from crmcore.outbox import evaluation_events, invoice_events
from crmcore.ports import UnitOfWork

__all__ = ["BilledTenant", "bill_tenant", "stamped", "unstored"]


@attrs.frozen
class BilledTenant:
    """The invoices a run stored for one tenant and the evaluation they came from."""

    tenant_id: str
    issued: tuple[Invoice, ...]
    evaluation: Evaluation


def bill_tenant(uow: UnitOfWork, tenant_id: str, up_to: date) -> BilledTenant:
    """Store the tenant's invoices issued up to vendor day ``up_to`` and not stored yet."""
    require_day(up_to, "up_to")
    with uow:
        history = uow.tenants.history(tenant_id)
        terms = tenant_terms(uow, tenant_id, up_to)
        evaluation = evaluate_tenant(terms, history, up_to)
        stored = {invoice.key: invoice.number for invoice in uow.invoices.for_tenant(tenant_id)}
        issued: list[Invoice] = []
        for draft in unstored(evaluation.invoices, stored):
            number = uow.invoices.next_number(draft.series)
            invoice = stamped(
                draft,
                document_number(terms.policy, draft.series, draft.issued.year, number),
                stored,
            )
            uow.invoices.add(invoice)
            stored[invoice.key] = invoice.number
            issued.append(invoice)
        tz = terms.policy.timezone
        events = [event for invoice in issued for event in invoice_events(invoice, tz)]
        uow.outbox.append([*events, *evaluation_events(evaluation, tz, up_to)])
        uow.commit()
    return BilledTenant(tenant_id, tuple(issued), evaluation)


def unstored(documents: Sequence[Invoice], stored: Mapping[str, str]) -> list[Invoice]:
    """The evaluated ``documents`` whose keys are not in ``stored`` (key -> stored number),
    in issue order; a correction's ``corrects`` names the key of the invoice it corrects
    (the evaluation's numbers are its own: :func:`stamped` gives the stored ones)."""
    keys = {document.number: document.key for document in documents}
    return [
        document
        if document.corrects is None
        else attrs.evolve(document, corrects=keys[document.corrects])
        for document in documents
        if document.key not in stored
    ]


def stamped(document: Invoice, number: str, stored: Mapping[str, str]) -> Invoice:
    """``document`` (from :func:`unstored`) with its stored ``number``; a correction names
    the stored number of the invoice it corrects (stored before it: they are in issue
    order)."""
    corrects = None if document.corrects is None else stored[document.corrects]
    return attrs.evolve(document, number=number, corrects=corrects)
