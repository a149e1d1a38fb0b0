"""Correction documents for late entries (BILL-6).

An event is often entered after the day it takes effect (its ``recorded`` instant is on a later
vendor day than its ``at``). What was invoiced before it was entered did not know it, and an
issued invoice never changes (BILL-6): what it lacked, or charged too much, goes on a
**correction document**, issued on the day the late entry is recorded, in its own gapless
series per vendor and year (``policy.billing.correction_series``), naming the number of the
invoice it corrects. Its lines are the difference per line kind (rule BILL-6); its VAT is the
difference of the VAT on the corrected invoice's net after and before it (BILL-7), so an
invoice with its corrections carries exactly the VAT of its corrected net.

Knowledge grows by epochs: epoch 0 knows every event but the late entries; epoch *j* starts
on the vendor day of the *j*-th distinct day a late entry was recorded and knows the late
entries recorded up to that day. :func:`documents` takes, per epoch, the invoices a replay
with that knowledge issues (:class:`Epoch`) and answers with the documents really issued:

- an invoice of the epoch issued in the epoch's days (from its start to the next epoch's)
  whose key was not issued before is issued as it is;
- on an epoch's first day, every invoice issued before is compared, per line kind, with the
  invoice of the same key the epoch's replay issues (none: nothing was owed): a difference is
  a correction document; an invoice the replay issues before that day whose key was never
  issued (e.g. an activation entered late) is issued that day, with its lines, due as many
  days after it as the replay's was, unless the contract had ended on the day the replay
  issued it, as known on the epoch's first day (PAY-3/PAY-4: it was never owed; a
  reinstatement entered late that restores the contract from before that day does make it
  due, and it is issued on the reinstatement's entry day).

Whether the contract had ended is asked with what was known on the day a document goes out:
nothing that asks for money is issued on a day the contract had ended as far as anyone knew
that day, whatever a later entry showed.

A credit (a negative correction line) never exceeds what the corrected invoice, with its
earlier corrections, charged for that kind; SLA-6 credits are bounded by SLA-6 itself. So the
invoices and corrections of a key sum, per kind, to what the replay that knew every event from
the start invoices for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

import attrs

from crmcore.billing.numbering import correction_series_of, document_number, series_of_year
from crmcore.invoices import CORRECTION_RULE, Invoice, InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.policies import VendorPolicy

__all__ = ["CORRECTION_KEY", "Epoch", "Issued", "documents_issued", "per_kind"]

#: A correction's key: the corrected invoice's key, this, the day it was issued.
CORRECTION_KEY = "@correction:"


@attrs.frozen
class Epoch:
    """What a replay knowing the events entered before the next epoch issues (see the module
    docstring); ``start`` is the vendor day the epoch's knowledge begins (None: the first)."""

    start: date | None
    invoices: Sequence[Invoice]
    card_keys: frozenset[str] = frozenset()  # its invoices charged to a card at issue (BILL-4)


@attrs.frozen
class Issued:
    """The documents really issued (in issue order, numbered) and the keys of those charged
    to a card at issue (BILL-4: an invoice paid by card, and its corrections)."""

    documents: list[Invoice]
    card_keys: frozenset[str]


def per_kind(invoices: Iterable[Invoice], currency: str) -> dict[LineKind, Money]:
    """The net of ``invoices``' lines per line kind (kinds without lines left out)."""
    totals: dict[LineKind, Money] = {}
    for invoice in invoices:
        for line in invoice.lines:
            totals[line.kind] = totals.get(line.kind, Money.zero(currency)) + line.net
    return totals


def documents_issued(
    epochs: Sequence[Epoch],
    policy: VendorPolicy,
    closed: Callable[[date, date], bool] = lambda _day, _known_on: False,
) -> Issued:
    """The invoices and corrections really issued, in issue order, numbered gaplessly in
    their series (BILL-6); see the module docstring. ``closed(day, known_on)``: whether the
    contract had ended on ``day`` (PAY-3/PAY-4) as known on ``known_on``. Nothing that asks
    for money is issued on a day the contract had ended as known that day: no invoice, no
    correction with a positive total; a credit still is."""
    issued: list[Invoice] = []
    card: set[str] = set()
    chains: dict[str, list[Invoice]] = {}  # key -> the invoice, then its corrections

    def add(document: Invoice, chain: list[Invoice], by_card: bool) -> None:
        ended = closed(document.issued, document.issued)
        if ended and (document.corrects is None or document.gross.amount > 0):
            return
        if not chain:
            chains[document.key] = chain
        chain.append(document)
        issued.append(document)
        if by_card:
            card.add(document.key)

    for index, epoch in enumerate(epochs):
        start = epoch.start
        end = epochs[index + 1].start if index + 1 < len(epochs) else None
        if start is not None:
            should = {invoice.key: invoice for invoice in epoch.invoices}
            for key, chain in list(chains.items()):
                correction = _correction(chain, should.get(key), start, policy)
                if correction is not None:
                    add(correction, chain, chain[0].key in card)
            for invoice in epoch.invoices:
                # an invoice due on a day the contract had ended, as known now, was never owed
                # (PAY-3/PAY-4): a later epoch, the contract open again, does not issue it late
                if (
                    invoice.issued < start
                    and invoice.key not in chains
                    and not closed(invoice.issued, start)
                ):
                    add(_issued_on(invoice, start, policy), [], invoice.key in epoch.card_keys)
        for invoice in epoch.invoices:
            if invoice.key in chains:
                continue
            if (start is None or invoice.issued >= start) and (end is None or invoice.issued < end):
                add(invoice, [], invoice.key in epoch.card_keys)
    return Issued(_numbered(issued, policy), frozenset(card))


def _issued_on(invoice: Invoice, day: date, policy: VendorPolicy) -> Invoice:
    """``invoice`` issued on ``day`` instead (a late entry made it due before it was known)."""
    return attrs.evolve(
        invoice,
        issued=day,
        due=day + (invoice.due - invoice.issued),
        series=series_of_year(policy, day.year),
    )


def _correction(
    chain: Sequence[Invoice], should: Invoice | None, day: date, policy: VendorPolicy
) -> Invoice | None:
    """The correction of ``chain`` (an invoice and its corrections) to ``should`` (None:
    nothing was owed) issued on ``day``; None when nothing differs."""
    original = chain[0]
    currency = original.currency
    before = per_kind(chain, currency)
    after = per_kind([] if should is None else [should], currency)
    lines: list[InvoiceLine] = []
    for kind in LineKind:
        zero = Money.zero(currency)
        charged = before.get(kind, zero)
        difference = after.get(kind, zero) - charged
        if kind is not LineKind.SLA_CREDIT and difference.amount < 0 < charged.amount:
            difference = max(difference, -charged)  # a credit never exceeds the charge
        if difference.is_zero():
            continue
        lines.append(
            InvoiceLine(
                kind,
                CORRECTION_RULE,
                difference,
                description=f"correction of {kind.value}",
            )
        )
    if not lines:
        return None
    net = sum((invoice.net for invoice in chain), Money.zero(currency))
    return Invoice(
        tenant_id=original.tenant_id,
        number="",
        series=correction_series_of(policy, day.year),
        issued=day,
        due=day + (original.due - original.issued),
        currency=currency,
        vat_rate=original.vat_rate,
        lines=lines,  # type: ignore[arg-type]  # attrs converter=tuple
        billing_email=original.billing_email,
        period_first_day=original.period_first_day,
        period_last_day=original.period_last_day,
        key=f"{original.key}{CORRECTION_KEY}{day.isoformat()}",
        corrects=original.key,  # the number once numbered (_numbered)
        corrected_net=net,
    )


def _numbered(issued: Sequence[Invoice], policy: VendorPolicy) -> list[Invoice]:
    """Number ``issued`` (in issue order) 1, 2, ... per series; corrections name the number
    of the invoice they correct (they were given its key)."""
    counters: dict[str, int] = {}
    numbers: dict[str, str] = {}  # key -> number
    result = []
    for document in issued:
        series = document.series
        counters[series] = counters.get(series, 0) + 1
        number = document_number(policy, series, document.issued.year, counters[series])
        corrects = None if document.corrects is None else numbers[document.corrects]
        numbered = attrs.evolve(document, number=number, corrects=corrects)
        numbers[document.key] = number
        result.append(numbered)
    return result
