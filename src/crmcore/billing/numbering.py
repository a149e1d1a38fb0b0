"""BILL-6 numbering: series, number texts, and issuing drafts gaplessly per series.

The one home of the number format: an invoice's number is ``policy.billing.invoice_series``
(``{year}``/``{number}``), a correction's ``policy.billing.correction_series``; invoices are
numbered per series ``<vendor>/<year>``, corrections per ``<vendor>/corrections/<year>``.
:func:`issue` numbers drafts through an :class:`InvoiceNumbering` (a counter per series: the
in-memory one here; stored counters in a unit of work, :mod:`crmcore.billing.issuing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from crmcore.billing.engine import InvoiceDraft
from crmcore.invoices import Invoice
from crmcore.policies import VendorPolicy

__all__ = [
    "InMemoryInvoiceNumbering",
    "InvoiceNumbering",
    "correction_series_of",
    "document_number",
    "invoice_number",
    "issue",
    "series_of",
    "series_of_year",
]


class InvoiceNumbering(Protocol):
    """A gapless sequence per series (BILL-6). ``next_number`` returns 1, 2, 3, ... per series."""

    def next_number(self, series: str) -> int: ...


class InMemoryInvoiceNumbering:
    """:class:`InvoiceNumbering` in a dict (the default; SQL storage provides its own)."""

    def __init__(self, start: Mapping[str, int] | None = None) -> None:
        self._last: dict[str, int] = dict(start or {})

    def next_number(self, series: str) -> int:
        self._last[series] = self._last.get(series, 0) + 1
        return self._last[series]


def series_of(draft: InvoiceDraft, policy: VendorPolicy) -> str:
    """The numbering series ``<vendor>/<year of issue>`` a draft is numbered in (BILL-6)."""
    return series_of_year(policy, draft.issued.year)


def series_of_year(policy: VendorPolicy, year: int) -> str:
    """The vendor's invoice series of ``year`` (BILL-6)."""
    return f"{policy.name}/{year}"


def invoice_number(policy: VendorPolicy, year: int, number: int) -> str:
    """The text of number ``number`` of ``year`` in the vendor's series (BILL-6)."""
    return policy.billing.invoice_series.format(year=year, number=number)


def correction_series_of(policy: VendorPolicy, year: int) -> str:
    """The series ``<vendor>/corrections/<year>`` correction documents are numbered in
    (BILL-6: gapless per vendor and year, apart from the invoices')."""
    return f"{policy.name}/corrections/{year}"


def document_number(policy: VendorPolicy, series: str, year: int, number: int) -> str:
    """The text of number ``number`` of ``year`` in ``series``: an invoice's, or a
    correction's (``policy.billing.correction_series``) when ``series`` is the corrections'."""
    if series == correction_series_of(policy, year):
        return policy.billing.correction_series.format(year=year, number=number)
    return invoice_number(policy, year, number)


def issue(
    drafts: Iterable[InvoiceDraft],
    numbering: InvoiceNumbering,
    *,
    tenant_id: str,
    policy: VendorPolicy,
    billing_email: str | None = None,
) -> list[Invoice]:
    """Number ``drafts`` in order, gaplessly per series ``<vendor>/<year>`` (BILL-6)."""
    invoices = []
    for draft in drafts:
        year = draft.issued.year
        series = series_of(draft, policy)
        number = numbering.next_number(series)
        invoices.append(
            Invoice(
                tenant_id=tenant_id,
                number=invoice_number(policy, year, number),
                series=series,
                issued=draft.issued,
                due=draft.due,
                currency=draft.currency,
                vat_rate=draft.vat_rate,
                lines=draft.lines,  # type: ignore[arg-type]  # attrs converter=tuple
                billing_email=billing_email,
                period_first_day=draft.period_first_day,
                period_last_day=draft.period_last_day,
                key=draft.key,
            )
        )
    return invoices
