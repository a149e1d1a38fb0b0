"""What-if answers from the same engine: preview a change, reprice the book (issue 17).

Both are :func:`crmcore.app.evaluation.evaluate_tenant` run on a hypothetical history or
under hypothetical terms, so they cannot drift from what billing really does. Nothing is
stored.

- :func:`preview`: the invoices that proposed commands would produce, from their day through
  the end of the next calendar month (the next billing period of a monthly tenant; an
  immediate charge, PRO-3/PRO-4/TERM-1/TERM-3, on its day), with every line, VAT and totals,
  and the refusals of the proposed commands. Recording the same commands and billing to the
  same day then issues exactly these invoices (tests/test_app_whatif.py).
- :func:`reprice`: every stored tenant of a vendor replayed under another version of its
  terms (a vendor document) in force from the window's first day, compared with what was
  really invoiced from one day to another; read in batches (three statements per 500
  tenants), split among processes by a stable hash of the tenant id (:func:`in_part`).
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from crmcore.app.commands import check_payment_amount, tenant_terms, terms_of
from crmcore.app.evaluation import Evaluation, evaluate_tenant
from crmcore.dates import vendor_date
from crmcore.errors import OutOfOrderError, ValidationError
from crmcore.events import Event, TenantCreated, entry_order_problem
from crmcore.invoices import Invoice
from crmcore.money import Money
from crmcore.outcomes import Refusal
from crmcore.periods import Period
from crmcore.ports import UnitOfWork
from crmcore.vendors import Vendor

__all__ = [
    "Preview",
    "RepriceReport",
    "Totals",
    "biggest",
    "combine",
    "in_part",
    "preview",
    "preview_horizon",
    "reprice",
    "reprice_versions",
]

#: Tenants read per unit of work by :func:`reprice` (memory stays flat in the book's size).
REPRICE_BATCH = 500


@attrs.frozen
class Preview:
    """What proposed commands would produce up to ``until``: the invoices not issued yet
    (numbered only when issued: ``number`` is empty), the evaluation they come from, the
    refusals of the proposed commands (scenario result shape), and what would be paid of
    each invoice by ``until``, by its key (``paid``: a card invoice is paid at issue, BILL-4;
    payments go to the oldest invoice first, PAY-1)."""

    tenant_id: str
    until: date
    invoices: tuple[Invoice, ...]
    refusals: tuple[Refusal, ...]
    evaluation: Evaluation
    paid: Mapping[str, Money] = attrs.field(factory=dict)


def preview_horizon(day: date) -> date:
    """The last day a preview looks at: the end of the calendar month after ``day``."""
    this_month = Period.calendar_month(day.year, day.month)
    after = this_month.last_day.toordinal() + 1
    following = date.fromordinal(after)
    return Period.calendar_month(following.year, following.month).last_day


def preview(
    uow: UnitOfWork, tenant_id: str, proposed: Sequence[Event], field: str = "events"
) -> Preview:
    """The invoices the ``proposed`` events (in order, none before the last one stored)
    would produce from their day through the end of the following month; nothing stored.
    Errors name ``field[i]`` (``--event[i]`` on the command line)."""
    if not proposed:
        raise ValidationError("give at least one event to preview", field=field)
    if any(isinstance(event, TenantCreated) for event in proposed):
        raise ValidationError("a preview is of an existing tenant", field=field, rule="TEN-1")
    with uow:
        history = uow.tenants.history(tenant_id)
        previous = history[-1]
        for index, event in enumerate(proposed):
            problem = entry_order_problem(previous, event)
            if problem is not None:  # as record refuses it (a late entry says so, BILL-6)
                raise OutOfOrderError(
                    problem[1], field=f"{field}[{index}].{problem[0]}", rule="BILL-6"
                )
            previous = event
        timezone = uow.vendors.get(uow.tenants.vendor(tenant_id)).policy.timezone
        until = preview_horizon(vendor_date(proposed[-1].at, timezone))
        terms = tenant_terms(uow, tenant_id, until)
        issued = {invoice.key for invoice in uow.invoices.for_tenant(tenant_id)}
    for index, event in enumerate(proposed):  # as record refuses it (BILL-7)
        check_payment_amount(event, terms.terms.currency, f"{field}[{index}].amount")
    evaluation = evaluate_tenant(terms, [*history, *proposed], until)
    new = tuple(
        attrs.evolve(invoice, number="")
        for invoice in evaluation.invoices
        if invoice.key not in issued
    )
    mine = {id(event) for event in proposed}
    refusals = tuple(
        refusal
        for refusal in evaluation.refusals
        if refusal.event is not None and id(refusal.event) in mine
    )
    paid = {
        invoice.key: evaluation.paid.get(invoice.number, Money.zero(invoice.currency))
        for invoice in evaluation.invoices
        if invoice.key not in issued
    }
    return Preview(tenant_id, until, new, refusals, evaluation, paid)


@attrs.frozen
class Totals:
    """Net, VAT and gross of a set of invoices (exact, one currency)."""

    net: Money
    vat: Money
    gross: Money

    @classmethod
    def zero(cls, currency: str) -> Totals:
        return cls(Money.zero(currency), Money.zero(currency), Money.zero(currency))

    @classmethod
    def of(cls, invoices: Sequence[Invoice], currency: str) -> Totals:
        total = cls.zero(currency)
        for invoice in invoices:
            total = total + cls(invoice.net, invoice.vat, invoice.gross)
        return total

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.net + other.net, self.vat + other.vat, self.gross + other.gross)

    def __sub__(self, other: Totals) -> Totals:
        return Totals(self.net - other.net, self.vat - other.vat, self.gross - other.gross)

    def to_json(self) -> dict[str, str]:
        return {
            "net": str(self.net.rounded().amount),
            "vat": str(self.vat.rounded().amount),
            "gross": str(self.gross.rounded().amount),
        }


#: A tenant's change in a reprice: its id, its totals before and after.
Change = tuple[str, Totals, Totals]


def _size(change: Change) -> tuple[Decimal, str]:
    """Biggest change of gross first, then by tenant id (the readable table's order)."""
    tenant_id, before, after = change
    return -abs((after - before).gross.amount), tenant_id


def biggest(changes: Iterable[Change], top: int) -> tuple[Change, ...]:
    """The ``top`` biggest changes of gross (absolute), biggest first, ties by tenant id."""
    return tuple(heapq.nsmallest(top, changes, key=_size))


@attrs.frozen
class RepriceReport:
    """The vendor's tenants under ``vendor``'s terms, against what was invoiced from
    ``first_day`` to ``last_day`` (issue dates, both included). ``by_tenant`` is empty when
    :func:`reprice` was asked not to keep it (memory flat in the number of tenants);
    ``biggest`` holds the ``top`` biggest changes of gross, biggest first."""

    vendor: str
    first_day: date
    last_day: date
    tenants: int
    before: Totals
    after: Totals
    by_tenant: Mapping[str, tuple[Totals, Totals]]
    biggest: tuple[Change, ...] = ()
    top: int = 0

    @property
    def difference(self) -> Totals:
        return self.after - self.before

    def to_json(self) -> dict[str, Any]:
        """The ``crmcore reprice --json`` document."""
        return {
            "vendor": self.vendor,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "tenants": self.tenants,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "difference": self.difference.to_json(),
            "by_tenant": {
                tenant: {
                    "before": before.to_json(),
                    "after": after.to_json(),
                    "difference": (after - before).to_json(),
                }
                for tenant, (before, after) in sorted(self.by_tenant.items())
            },
        }


def in_part(tenant_id: str, part: tuple[int, int]) -> bool:
    """Whether ``tenant_id`` belongs to part ``k`` of ``n`` (``part=(k, n)``): the CRC-32 of
    its UTF-8 bytes (:func:`zlib.crc32`) modulo ``n`` is ``k``. Stable across processes,
    machines and Python versions (unlike :func:`hash`, salted per process), so the ``n``
    parts are disjoint and together cover every tenant, and each process reads only its own
    tenants' histories and invoices."""
    index, parts = part
    return zlib.crc32(tenant_id.encode("utf-8")) % parts == index


def reprice_versions(stored: Sequence[Vendor], vendor: Vendor, first_day: date) -> list[Vendor]:
    """NOTICE-2, NOTICE-3: the versions a reprice evaluates under: the stored versions taking
    effect before ``first_day``, as they are, then ``vendor`` in force from ``first_day`` (its
    own ``effective`` is replaced; stored versions from ``first_day`` on are left out). So a
    tenant's periods before the window are priced as they really were."""
    earlier = [v for v in sorted(stored, key=lambda v: v.effective) if v.effective < first_day]
    return [*earlier, attrs.evolve(vendor, effective=first_day)]


def reprice(
    unit_of_work: Callable[[], UnitOfWork],
    vendor: Vendor,
    first_day: date,
    last_day: date,
    progress: Callable[[int], None] | None = None,
    part: tuple[int, int] = (0, 1),
    by_tenant: bool = True,
    top: int = 0,
) -> RepriceReport:
    """Replay every stored tenant of ``vendor.name`` under ``vendor`` (its policy, plans,
    VAT rates and fees) in force from ``first_day`` (the stored versions before it stay, as
    billing and preview price each period: :func:`reprice_versions`) and compare the invoices
    issued from ``first_day`` to ``last_day`` with the stored ones of that window. Nothing is
    stored. ``progress`` is called with the number of tenants done after each batch of
    :data:`REPRICE_BATCH`. ``part=(k, n)``: only the tenants :func:`in_part` ``(k, n)`` (one of
    n processes sharing the work; :func:`combine`). ``by_tenant=False``: the per-tenant totals
    are not kept (memory flat in the number of tenants); ``top``: keep the ``top`` biggest
    changes (:attr:`RepriceReport.biggest`) either way."""
    if last_day < first_day:
        raise ValidationError(
            f"must not be before the window's first day {first_day}, got {last_day}",
            field="last_day",
        )
    index, parts = part
    if not (
        isinstance(parts, int) and parts >= 1 and isinstance(index, int) and 0 <= index < parts
    ):
        raise ValidationError(f"must be (k, n) with 0 <= k < n, got {part}", field="part")
    if not (isinstance(top, int) and top >= 0):
        raise ValidationError(f"must be an integer >= 0, got {top!r}", field="top")
    currency = vendor.currency
    before_total, after_total = Totals.zero(currency), Totals.zero(currency)
    kept: dict[str, tuple[Totals, Totals]] = {}
    largest: tuple[Change, ...] = ()
    done = 0
    with unit_of_work() as uow:
        versions = reprice_versions(uow.vendors.versions(vendor.name), vendor, first_day)
    in_force = versions[-1]
    for batch in _batches_of(unit_of_work, vendor.name, first_day, last_day, part):
        changes: list[Change] = []
        for tenant_id, history, stored in batch:
            terms = terms_of(in_force, tenant_id, versions)
            evaluation = evaluate_tenant(terms, history, last_day)
            replayed = [i for i in evaluation.invoices if first_day <= i.issued <= last_day]
            before, after = Totals.of(stored, currency), Totals.of(replayed, currency)
            before_total, after_total = before_total + before, after_total + after
            if by_tenant:
                kept[tenant_id] = (before, after)
            if top:
                changes.append((tenant_id, before, after))
        done += len(batch)
        if top:
            largest = biggest([*largest, *changes], top)
        if progress is not None:
            progress(done)
    if progress is not None and done == 0:
        progress(done)
    return RepriceReport(
        vendor.name, first_day, last_day, done, before_total, after_total, kept, largest, top
    )


def combine(reports: Sequence[RepriceReport]) -> RepriceReport:
    """One report of the parts of a reprice run in several processes (disjoint parts,
    :func:`in_part`): totals and tenant counts added, ``by_tenant`` merged, the ``top``
    biggest changes of all the parts."""
    first = reports[0]
    by_tenant: dict[str, tuple[Totals, Totals]] = {}
    before, after = Totals.zero(first.before.net.currency), Totals.zero(first.after.net.currency)
    tenants = 0
    for report in reports:
        by_tenant.update(report.by_tenant)
        before, after = before + report.before, after + report.after
        tenants += report.tenants
    top = max(report.top for report in reports)
    largest = biggest([change for report in reports for change in report.biggest], top)
    return RepriceReport(
        first.vendor,
        first.first_day,
        first.last_day,
        tenants,
        before,
        after,
        by_tenant,
        largest,
        top,
    )


def _batches_of(
    unit_of_work: Callable[[], UnitOfWork],
    vendor: str,
    first_day: date,
    last_day: date,
    part: tuple[int, int],
) -> Iterator[list[tuple[str, tuple[Event, ...], list[Invoice]]]]:
    """The stored tenants of ``vendor`` in ``part``, :data:`REPRICE_BATCH` ids at a time (one
    unit of work each, three statements: the vendor's ids, their histories, their documents
    issued in the window), each with its history and those documents."""
    after = ""
    while True:
        with unit_of_work() as uow:
            ids = uow.tenants.ids(after=after, limit=REPRICE_BATCH, vendor=vendor)
            mine = [tenant_id for tenant_id in ids if in_part(tenant_id, part)]
            histories = uow.tenants.histories(mine) if mine else {}
            stored = uow.invoices.issued_between(mine, first_day, last_day) if mine else {}
        batch = [
            (tenant_id, histories[tenant_id], stored.get(tenant_id, []))
            for tenant_id in mine
            if tenant_id in histories
        ]
        if batch:
            yield batch
        if len(ids) < REPRICE_BATCH:
            return
        after = ids[-1]
