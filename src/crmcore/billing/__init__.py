"""Billing (BILL-1..7, PRO-1..7, TERM-1..3): what is invoiced, when, and under which number.

- :mod:`crmcore.billing.engine`: which invoices are due (``invoices_due``), drafts by period.
- :mod:`crmcore.billing.checkpoint`: the billing walk's resumable state and its private codec.
- :mod:`crmcore.billing.numbering`: BILL-6 series and numbers, the one formatter; ``issue``.
- :mod:`crmcore.billing.proration`: exact charges before their single rounding (PRO, TERM-3).
- :mod:`crmcore.billing.corrections`: correction documents for late entries (BILL-6).
- :mod:`crmcore.billing.issuing`: issuing through a unit of work, idempotently (BILL-6).

``crmcore.billing.X`` is the object of the first of these modules that exports ``X``
(:mod:`crmcore._family`).
"""

from crmcore._family import face

__getattr__, __dir__ = face(
    __name__, ("engine", "checkpoint", "numbering", "proration", "corrections", "issuing")
)
