"""Issuing invoices through a unit of work, idempotently and gaplessly (BILL-6).

:func:`issue_stored` numbers a drafted invoice and stores it in one transaction: the numbering
row is locked by :meth:`~crmcore.ports.InvoiceRepository.next_number` until the invoice insert
commits, so numbers have no gap and no duplicate; a second issue with the same
``(tenant_id, key)`` is refused by the store and returns the invoice issued first. A crash
before the commit leaves nothing, so running the job again completes it.

>>> from datetime import date
>>> from decimal import Decimal
>>> from crmcore.invoices import Invoice
>>> from crmcore.memory import InMemoryStorage
>>> storage = InMemoryStorage()
>>> draft = Invoice("t1", "", "FV/2026", date(2026, 3, 1), date(2026, 3, 15), "PLN",
...                 Decimal("0.23"), (), key="2026-03")
>>> from crmcore.presets import preset
>>> issue_stored(storage.unit_of_work, draft, preset("raynet")).number
'2026/0001'
>>> issue_stored(storage.unit_of_work, draft, preset("raynet")).number  # the same key again
'2026/0001'
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from crmcore.billing.numbering import invoice_number
from crmcore.errors import ConcurrencyError, DuplicateInvoice, StorageError
from crmcore.invoices import Invoice
from crmcore.policies import VendorPolicy
from crmcore.ports import UnitOfWork

__all__ = ["issue_stored"]

ATTEMPTS = 5


def issue_stored(
    unit_of_work: Callable[[], UnitOfWork], draft: Invoice, policy: VendorPolicy
) -> Invoice:
    """Store ``draft`` numbered in its series, its number written by the vendor's template
    (:func:`crmcore.billing.numbering.invoice_number`, BILL-6), or return the invoice already issued
    for its ``(tenant_id, key)``. Retries a few times when a concurrent writer forced a
    rollback."""
    for attempt in range(ATTEMPTS):
        try:
            with unit_of_work() as uow:
                existing = uow.invoices.get(draft.tenant_id, draft.key)
                if existing is not None:
                    return existing
                number = uow.invoices.next_number(draft.series)
                text = invoice_number(policy, draft.issued.year, number)
                invoice = attrs.evolve(draft, number=text)
                uow.invoices.add(invoice)
                uow.commit()
                return invoice
        except DuplicateInvoice:
            continue  # issued concurrently: the next attempt returns it
        except ConcurrencyError:
            if attempt == ATTEMPTS - 1:
                raise
    raise StorageError(
        f"could not issue invoice {draft.key!r} for {draft.tenant_id!r}", field="key", rule="BILL-6"
    )
