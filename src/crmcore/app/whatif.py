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
  terms (a vendor document), compared with what was really invoiced from one day to another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import attrs

from crmcore.app.commands import tenant_terms, terms_of
from crmcore.app.evaluation import Evaluation, evaluate_tenant
from crmcore.dates import vendor_date
from crmcore.errors import OutOfOrderError, ValidationError
from crmcore.events import Event, TenantCreated
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
    "combine",
    "preview",
    "preview_horizon",
    "reprice",
]

#: Tenants read per unit of work by :func:`reprice` (memory stays flat in the book's size).
REPRICE_BATCH = 500


@attrs.frozen
class Preview:
    """What proposed commands would produce up to ``until``: the invoices not issued yet
    (numbered only when issued: ``number`` is empty), the evaluation they come from, and the
    refusals of the proposed commands (scenario result shape)."""

    tenant_id: str
    until: date
    invoices: tuple[Invoice, ...]
    refusals: tuple[Refusal, ...]
    evaluation: Evaluation


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
            if event.at < previous.at:
                raise OutOfOrderError(
                    f"{event.at.isoformat()} is before {previous.at.isoformat()}",
                    field=f"{field}[{index}].at",
                )
            previous = event
        timezone = uow.vendors.get(uow.tenants.vendor(tenant_id)).policy.timezone
        until = preview_horizon(vendor_date(proposed[-1].at, timezone))
        terms = tenant_terms(uow, tenant_id, until)
        issued = {invoice.key for invoice in uow.invoices.for_tenant(tenant_id)}
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
    return Preview(tenant_id, until, new, refusals, evaluation)


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


@attrs.frozen
class RepriceReport:
    """The vendor's tenants under ``vendor``'s terms, against what was invoiced from
    ``first_day`` to ``last_day`` (issue dates, both included)."""

    vendor: str
    first_day: date
    last_day: date
    tenants: int
    before: Totals
    after: Totals
    by_tenant: Mapping[str, tuple[Totals, Totals]]

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


def reprice(
    unit_of_work: Callable[[], UnitOfWork],
    vendor: Vendor,
    first_day: date,
    last_day: date,
    progress: Callable[[int], None] | None = None,
    part: tuple[int, int] = (0, 1),
) -> RepriceReport:
    """Replay every stored tenant of ``vendor.name`` under ``vendor`` (its policy, plans,
    VAT rates and fees) and compare the invoices issued from ``first_day`` to ``last_day``
    with the stored ones of that window. Nothing is stored. ``progress`` is called with the
    number of tenants done after each batch. ``part=(k, n)``: only the tenants whose position
    in id order is k modulo n (one of n processes sharing the work; :func:`combine`)."""
    if last_day < first_day:
        raise ValidationError(
            f"is before --from ({first_day}), got {last_day}", field="to", rule="BILL-1"
        )
    currency = vendor.currency
    before_total, after_total = Totals.zero(currency), Totals.zero(currency)
    by_tenant: dict[str, tuple[Totals, Totals]] = {}
    index, parts = part
    if not 0 <= index < parts:
        raise ValidationError(f"must be 0 <= k < n, got {part}", field="part")
    for position, (tenant_id, history, stored) in enumerate(_tenants_of(unit_of_work, vendor.name)):
        if position % parts != index:
            continue
        window = [i for i in stored if first_day <= i.issued <= last_day]
        evaluation = evaluate_tenant(terms_of(vendor, tenant_id), history, last_day)
        replayed = [i for i in evaluation.invoices if first_day <= i.issued <= last_day]
        before, after = Totals.of(window, currency), Totals.of(replayed, currency)
        by_tenant[tenant_id] = (before, after)
        before_total, after_total = before_total + before, after_total + after
        if progress is not None and len(by_tenant) % REPRICE_BATCH == 0:
            progress(len(by_tenant))
    if progress is not None:
        progress(len(by_tenant))
    return RepriceReport(
        vendor.name, first_day, last_day, len(by_tenant), before_total, after_total, by_tenant
    )


def combine(reports: Sequence[RepriceReport]) -> RepriceReport:
    """One report of the parts of a reprice run in several processes."""
    first = reports[0]
    by_tenant: dict[str, tuple[Totals, Totals]] = {}
    before, after = Totals.zero(first.before.net.currency), Totals.zero(first.after.net.currency)
    for report in reports:
        by_tenant.update(report.by_tenant)
        before, after = before + report.before, after + report.after
    return RepriceReport(
        first.vendor, first.first_day, first.last_day, len(by_tenant), before, after, by_tenant
    )


def _tenants_of(
    unit_of_work: Callable[[], UnitOfWork], vendor: str
) -> Iterator[tuple[str, tuple[Event, ...], list[Invoice]]]:
    """Each stored tenant of ``vendor`` with its history and stored invoices, read in batches
    of :data:`REPRICE_BATCH` tenants (one unit of work each)."""
    after = ""
    while True:
        with unit_of_work() as uow:
            ids = uow.tenants.ids(after=after, limit=REPRICE_BATCH)
            batch = [
                (tenant_id, uow.tenants.history(tenant_id), uow.invoices.for_tenant(tenant_id))
                for tenant_id in ids
                if uow.tenants.vendor(tenant_id) == vendor
            ]
        yield from batch
        if len(ids) < REPRICE_BATCH:
            return
        after = ids[-1]
