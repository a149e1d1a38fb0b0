"""Explain an invoice: every line in words a support person can read to the customer (issue 17).

:func:`explain_invoice` finds a stored invoice by its number
(:meth:`crmcore.ports.InvoiceRepository.by_number`), evaluates the tenant's history up to the
invoice's issue day with the terms in force that day
(:func:`crmcore.app.evaluation.evaluate_tenant`, the engine billing ran) and says, for each
line: its rule, its period and PRO-1 fraction, the unit price and seat count of the vendor's
catalogue (for a BILL-4 line the price-list fee; for an SLA-6 credit each month it makes good,
its availability and the SLA-2 credit percentage of the SLA-3 fee), and the events that caused
it with their effective and recorded times (recorded = effective until issue 15 stores a
recording time). The sentences are in the tenant's language (I18N-1): the locale asked for,
else that of the country of the tenant's billing profile, else that of the vendor's country,
else English.

>>> from datetime import date, datetime
>>> from zoneinfo import ZoneInfo
>>> from crmcore.app.billing import bill_tenant
>>> from crmcore.app.commands import record, register_tenant, save_vendor
>>> from crmcore.catalog import Catalog, Cycle, Plan, Price
>>> from crmcore.events import Activated
>>> from crmcore.memory import InMemoryStorage
>>> from crmcore.vendors import vendor_from_preset
>>> storage = InMemoryStorage()
>>> plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
>>> save_vendor(storage.unit_of_work(), vendor_from_preset(
...     "raynet", name="acme", effective=date(2026, 1, 1), catalog=plans, vat_rates={"CZ": "0.21"}))
>>> prague = ZoneInfo("Europe/Prague")
>>> created = datetime(2026, 1, 5, 9, tzinfo=prague)
>>> _ = register_tenant(storage.unit_of_work(), "t1", "acme", created)
>>> _ = record(storage.unit_of_work(), "t1",
...            Activated(datetime(2026, 1, 20, 10, tzinfo=prague), "standard", seats=2))
>>> [invoice] = bill_tenant(storage.unit_of_work(), "t1", date(2026, 1, 31)).issued
>>> explained = explain_invoice(storage.unit_of_work(), invoice.number, locale="en")
>>> print(explained.lines[0].text)  # 2 × 500.00 × 12/31 = 387.096... (Babel's English money)
2 seats × CZK500.00 × 12/31 = CZK387.10 (BILL-1, PRO-1), from the activation on Jan 20, 2026.

Long because the words for every line kind and event, in eight locales: mostly declarative text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any

import attrs
from babel.dates import format_date
from babel.numbers import format_percent

from crmcore.app.commands import terms_of
from crmcore.app.evaluation import Evaluation, TenantTerms, evaluate_tenant, verb_of
from crmcore.billing.engine import BillingTerms
from crmcore.billing.proration import fraction_text
from crmcore.catalog import Catalog, Cycle
from crmcore.dates import vendor_date, zone
from crmcore.errors import NotFound, ValidationError
from crmcore.events import (
    Activated,
    BillingProfileChanged,
    Event,
    OutageRecorded,
    PlanChanged,
    Prepaid,
    SeatsAdded,
    SeatsRemoved,
    entered,
    event_to_dict,
    is_late,
)
from crmcore.i18n import LOCALES, N_, format_value, translate, translations
from crmcore.i18n import sentence as _sentence
from crmcore.invoices import CORRECTION_RULE, Invoice, InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.ports import UnitOfWork
from crmcore.sla import Outage, OutageKind, fee_for_month, month_availability, outage_months
from crmcore.sla import sla_credit as month_credit
from crmcore.tenancy.aggregate import Step, Transition
from crmcore.vendors import Vendor

__all__ = ["Cause", "Explanation", "LineExplanation", "MonthCredit", "explain_invoice"]

#: The locale of a country (I18N-1): a tenant's billing profile or the vendor's own country.
COUNTRY_LOCALES: Mapping[str, str] = {
    "CZ": "cs",
    "SK": "sk",
    "PL": "pl",
    "DE": "de",
    "AT": "de",
    "FR": "fr",
    "ES": "es",
    "RU": "ru",
}

#: Events that change what a period's subscription charges (BILL-2 at the period's start).
SUBSCRIPTION_EVENTS = (Activated, Prepaid, SeatsAdded, SeatsRemoved, PlanChanged)

_ACTIVATION = N_("from the activation on {day}")
_PERIOD = N_("paid in advance for {first} – {last}, at the plan and seats in force since {day}")
_SEATS = N_("from the seats bought on {day}")
_UPGRADE = N_("from the upgrade from {old} to {new} on {day}")
_PREPAID = N_("from the prepayment on {day} of the term {first} – {last}")
_FEE = N_("the price list's bank transfer fee, payment by transfer chosen on {day}")
_CREDIT = N_(
    "{percent} of the fee {fee} for {month} (availability {availability}),"
    " from the outage recorded on {day}"
)
_CARRIED = N_("of which {amount} on this invoice, the rest carried forward")
_EARLIER = N_("of which {amount} on this invoice, the rest on earlier invoices")
_TIMES = N_("effective {effective}, recorded {recorded}")
_HEADER = N_("Invoice {number} of {tenant}, issued {issued}: net {net}, VAT {vat}, total {gross}")
_CORRECTION_HEADER = N_(
    "Correction {number} of invoice {corrects} of {tenant}, issued {issued}:"
    " net {net}, VAT {vat}, total {gross}"
)
_CORRECTED = N_("the difference on invoice {corrects}")
_LATE = N_("from what took effect on {day} and was entered late")


@attrs.frozen
class Cause:
    """An event that caused a line, with its effective time and its recorded time (later
    than the effective time for a late entry, BILL-6)."""

    event: Event
    effective: datetime
    recorded: datetime

    @classmethod
    def of(cls, event: Event, timezone: str) -> Cause:
        """``event``'s times in the vendor's zone (TIME-2), whichever zone a store returns:
        when it took effect and when it was entered (BILL-6: later for a late entry)."""
        tz = zone(timezone)
        return cls(event, event.at.astimezone(tz), entered(event).astimezone(tz))

    def to_json(self) -> dict[str, Any]:
        return {
            "do": verb_of(self.event),
            "effective": self.effective.isoformat(),
            "recorded": self.recorded.isoformat(),
            "event": event_to_dict(self.event),
        }


@attrs.frozen
class MonthCredit:
    """One month an SLA-6 credit line makes good: its exact availability (SLA-5), the SLA-2
    credit ratio, the SLA-3 fee of the month, the credit it earned and the part of it used on
    this invoice; ``carried`` is what is left for later invoices (SLA-6: a credit never makes
    an invoice negative, the rest carries forward)."""

    year: int
    month: int
    availability_percent: Fraction
    ratio: Decimal
    fee: Money
    credit: Money
    used: Money
    carried: Money
    outages: tuple[Cause, ...]


@attrs.frozen
class LineExplanation:
    """One invoice line explained; ``unit`` is the price per seat for the whole period (the
    price difference for PRO-4/TERM-3), None when the catalogue in force does not reproduce
    the line's amount; ``fee`` the BILL-4 price-list fee."""

    position: int
    line: InvoiceLine
    rules: tuple[str, ...]
    unit: Money | None
    fee: Money | None
    credits: tuple[MonthCredit, ...]
    causes: tuple[Cause, ...]
    text: str

    def to_json(self) -> dict[str, Any]:
        line = self.line
        return {
            "position": self.position,
            "kind": line.kind.value,
            "rule": line.rule,
            "rules": list(self.rules),
            "plan": line.plan,
            "seats": line.seats,
            "from": None if line.first_day is None else line.first_day.isoformat(),
            "to": None if line.last_day is None else line.last_day.isoformat(),
            "fraction": fraction_text(line),
            "unit": _amount(self.unit),
            "fee": _amount(self.fee),
            "net": _amount(line.net),
            "sla": [
                {
                    "month": f"{c.year:04d}-{c.month:02d}",
                    "availability_percent": str(_floor(c.availability_percent, 4)),
                    "credit_percent": str(c.ratio * 100),
                    "fee": _amount(c.fee),
                    "credit": _amount(c.credit),
                    "used": _amount(c.used),
                    "carried": _amount(c.carried),
                    "outages": [o.to_json() for o in c.outages],
                }
                for c in self.credits
            ],
            "causes": [cause.to_json() for cause in self.causes],
            "text": self.text,
        }


@attrs.frozen
class Explanation:
    """A stored invoice, every line explained in ``locale``."""

    invoice: Invoice
    vendor: str | None
    locale: str
    text: str
    lines: tuple[LineExplanation, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``crmcore explain --json`` document."""
        invoice = self.invoice
        return {
            "invoice": invoice.number,
            "series": invoice.series,
            "tenant": invoice.tenant_id,
            "vendor": self.vendor,
            "issued": invoice.issued.isoformat(),
            "due": invoice.due.isoformat(),
            "currency": invoice.currency,
            "locale": self.locale,
            "net": _amount(invoice.net),
            "vat": _amount(invoice.vat),
            "gross": _amount(invoice.gross),
            "text": self.text,
            "lines": [line.to_json() for line in self.lines],
        }

    def render(self) -> str:
        """The explanation as plain text: the header, a sentence per line, its causes' times."""
        rows = [self.text]
        for line in self.lines:
            rows.append(f"{line.position}. {line.text}")
            causes = [*line.causes, *(o for c in line.credits for o in c.outages)]
            for cause in causes:
                times = {"effective": cause.effective, "recorded": cause.recorded}
                rows.append(f"   {verb_of(cause.event)}: {translate(_TIMES, self.locale, times)}")
        return "\n".join(rows) + "\n"


def explain_invoice(
    uow: UnitOfWork, number: str, locale: str | None = None, series: str | None = None
) -> Explanation:
    """The invoice numbered ``number`` (in ``series`` when two vendors' series both have it)
    explained line by line in ``locale`` (default: the tenant's, see the module docstring).

    ``NotFound`` for an unknown number; ``ValidationError`` when several series have it and
    ``series`` does not choose one (BILL-6: a number is unique in its series only)."""
    if locale is not None:
        translations(locale)  # an unsupported locale is refused before anything is read
    with uow:
        invoice = _the_invoice(uow.invoices.by_number(number), number, series)
        history, vendor, versions = _history_and_vendor(uow, invoice)
    chosen = locale or _locale_of(history, vendor, invoice.issued)
    terms = None if vendor is None else terms_of(vendor, invoice.tenant_id, versions)
    evaluation = None if terms is None else evaluate_tenant(terms, history, invoice.issued)
    explainer = _Explainer(invoice, vendor, terms, evaluation, chosen)
    lines = tuple(
        explainer.line(position, line) for position, line in enumerate(invoice.lines, start=1)
    )
    header = translate(
        _HEADER if invoice.corrects is None else _CORRECTION_HEADER,
        chosen,
        {
            "number": invoice.number,
            "corrects": invoice.corrects,
            "tenant": invoice.tenant_id,
            "issued": invoice.issued,
            "net": invoice.net,
            "vat": invoice.vat,
            "gross": invoice.gross,
        },
    )
    return Explanation(invoice, None if vendor is None else vendor.name, chosen, header, lines)


def _the_invoice(found: Sequence[Invoice], number: str, series: str | None) -> Invoice:
    if series is not None:
        found = [invoice for invoice in found if invoice.series == series]
    if not found:
        where = f" in series {series!r}" if series is not None else ""
        raise NotFound(f"no invoice numbered {number!r}{where}", field="invoice", rule="BILL-6")
    if len(found) > 1:
        names = ", ".join(invoice.series for invoice in found)
        raise ValidationError(
            f"{number!r} is a number in several series ({names}): name the series",
            field="invoice",
            rule="BILL-6",
        )
    return found[0]


def _history_and_vendor(
    uow: UnitOfWork, invoice: Invoice
) -> tuple[tuple[Event, ...], Vendor | None, Sequence[Vendor]]:
    """The tenant's history, its vendor's version in force on the invoice's issue day and all
    the vendor's versions (NOTICE-2: each period priced from the version in force when it
    starts); nothing when they are not stored (an invoice stored by the legacy ``bill`` job
    for a preset's tenant: its lines are explained as stored)."""
    try:
        history = uow.tenants.history(invoice.tenant_id)
        name = uow.tenants.vendor(invoice.tenant_id)
        vendor = uow.vendors.get(name, on=invoice.issued)
        versions = uow.vendors.versions(name)
    except NotFound:
        return (), None, ()
    return history, vendor, versions


def _locale_of(history: Sequence[Event], vendor: Vendor | None, issued: date) -> str:
    """The tenant's language (I18N-1): its billing profile's country on the issue day, else
    the vendor's country, else English."""
    timezone = "UTC" if vendor is None else vendor.policy.timezone
    profiles = [
        e
        for e in history
        if isinstance(e, BillingProfileChanged) and vendor_date(e.at, timezone) <= issued
    ]
    countries = [profiles[-1].country] if profiles else []
    if vendor is not None:
        countries.append(vendor.policy.country)
    for country in countries:
        chosen = COUNTRY_LOCALES.get(country.upper())
        if chosen in LOCALES:
            return chosen
    return "en"


class _Explainer:
    """The explanation of each line of one invoice, from its tenant's evaluation."""

    def __init__(
        self,
        invoice: Invoice,
        vendor: Vendor | None,
        terms: TenantTerms | None,
        evaluation: Evaluation | None,
        locale: str,
    ) -> None:
        self.invoice = invoice
        self.vendor = vendor
        self.terms = terms
        self.evaluation = evaluation
        self.locale = locale
        self.steps: tuple[Step, ...] = () if evaluation is None else evaluation.timeline.steps

    def line(self, position: int, line: InvoiceLine) -> LineExplanation:
        rules = _rules(line)
        if line.rule == CORRECTION_RULE:
            causes = self.entered_late()
            corrected = translate(
                _CORRECTED,
                self.locale,
                {"kind": line.kind.value, "corrects": self.invoice.corrects},
            )
            clause = self.clause(_LATE, causes, {})
            text = _sentence(f"{self.money(line.net)} ({', '.join(rules)}), {corrected}{clause}")
            return LineExplanation(position, line, rules, None, None, (), causes, text)
        if line.kind is LineKind.SLA_CREDIT:
            credits = self.credits(line)
            return LineExplanation(
                position, line, rules, None, None, credits, (), self.credit_text(line, credits)
            )
        if line.kind is LineKind.TRANSFER_FEE:
            fee = None if self.terms is None else _fee_on(self.terms.terms, self.invoice.issued)
            fee = fee if fee is not None and fee.rounded() == line.net else None
            causes = self.payment_choice()
            clause = self.clause(_FEE, causes, {})
            text = _sentence(f"{self.money(line.net)} ({', '.join(rules)}){clause}")
            return LineExplanation(position, line, rules, None, fee, (), causes, text)
        unit = self.unit(line)
        causes, template, params = self.causes(line)
        clause = self.clause(template, causes, params)
        text = _sentence(f"{self.arithmetic(line, unit)} ({', '.join(rules)}){clause}")
        return LineExplanation(position, line, rules, unit, None, (), causes, text)

    # --- what was charged -----------------------------------------------------------------------

    def unit(self, line: InvoiceLine) -> Money | None:
        """The per-seat price of the catalogue in force that gives exactly the line's net."""
        if self.vendor is None or self.evaluation is None or line.plan is None:
            return None
        if line.seats is None or line.first_day is None:
            return None
        policy = self.vendor.policy
        catalog = self.catalog(line)
        state = self.evaluation.timeline.state_on(line.first_day)
        currency = self.invoice.currency
        months = state.term_months if state.term is not None else None

        def price(plan: str) -> Money:  # per seat for the whole period, as billing prices it
            if months is not None:  # a prepaid term: monthly × months (TERM-1)
                return catalog.get(plan).price(Cycle.MONTHLY, currency) * months
            return catalog.get(plan).price(state.cycle or Cycle.MONTHLY, currency)

        try:
            if line.kind is LineKind.UPGRADE:  # PRO-4/TERM-3: the price difference
                old, _, new = line.description.partition(" -> ")
                unit = price(new) - price(old)
            elif line.rule == "TERM-1":  # with the term-discount table's discount
                full = price(line.plan)
                discount = policy.billing.term_discount(months or 1)
                unit = Money(full.amount * (1 - discount), currency)
            else:
                unit = price(line.plan)
        except (LookupError, ValueError):
            return None
        return unit if _charged(unit, line) == line.net else None

    def catalog(self, line: InvoiceLine) -> Catalog:
        """The price list billing priced the line from (NOTICE-2): the one in force on the day
        its period starts; a BILL-1 first period starts on the activation day."""
        assert self.vendor is not None and line.first_day is not None
        if self.terms is None or self.terms.price_lists is None:
            return self.vendor.catalog
        day = line.first_day
        if line.rule != "BILL-1" and line.fraction is not None and line.last_day is not None:
            days = (line.last_day - line.first_day).days + 1
            period_days = int(Fraction(days) / line.fraction)  # the period's, PRO-1
            day = line.last_day - timedelta(days=period_days - 1)
        return self.terms.price_lists(day)

    def arithmetic(self, line: InvoiceLine, unit: Money | None) -> str:
        if unit is None or line.seats is None:
            return self.money(line.net)
        catalogue = translations(self.locale)
        seats = catalogue.ngettext("{count} seat", "{count} seats", line.seats).format(
            count=format_value(line.seats, self.locale)
        )
        fraction = fraction_text(line)
        factors = [seats, self.money(unit), *([fraction] if fraction else [])]
        return f"{' × '.join(factors)} = {self.money(line.net)}"

    # --- why --------------------------------------------------------------------------------------

    def on_day(self, day: date | None, *types: type) -> list[Step]:
        return [s for s in self.steps if s.day == day and isinstance(s.cause, types)]

    def causes(self, line: InvoiceLine) -> tuple[tuple[Cause, ...], str, dict[str, object]]:
        """The events behind a subscription, seats or upgrade line, with the clause saying so."""
        first, last = line.first_day, line.last_day
        if line.rule == "TERM-1" and line.kind is LineKind.SUBSCRIPTION:
            steps = self.on_day(self.invoice.issued, Prepaid)
            return self.of(steps), _PREPAID, {"first": first, "last": last}
        if line.kind is LineKind.SEATS:
            return self.of(self.on_day(first, SeatsAdded)), _SEATS, {}
        if line.kind is LineKind.UPGRADE:
            old, _, new = line.description.partition(" -> ")
            return self.of(self.on_day(first, PlanChanged)), _UPGRADE, {"old": old, "new": new}
        activated = self.on_day(first, Activated)
        if line.rule == "BILL-1" or activated:
            return self.of(activated[-1:]), _ACTIVATION, {}
        # BILL-2: the plan and seats in force at the period's start, as last changed before it
        changes = [
            s
            for s in self.steps
            if first and s.day < first and isinstance(s.cause, SUBSCRIPTION_EVENTS)
        ]
        return self.of(changes[-1:]), _PERIOD, {"first": first, "last": last}

    def entered_late(self) -> tuple[Cause, ...]:
        """BILL-6: the late entries a correction issued on its day makes good: the events
        entered that day that took effect on an earlier day."""
        if self.evaluation is None:
            return ()
        timezone = self.timezone
        return tuple(
            Cause.of(event, timezone)
            for event in self.evaluation.history
            if is_late(event, timezone)
            and vendor_date(entered(event), timezone) == self.invoice.issued
        )

    def payment_choice(self) -> tuple[Cause, ...]:
        """BILL-4: the activation, prepayment or billing profile that chose the payment method
        in force at issue (an activation naming none takes the profile's; with neither, the
        activation: card)."""
        before = [s for s in self.steps if s.day <= self.invoice.issued]
        chose = [
            s
            for s in before
            if isinstance(s.cause, Activated | Prepaid | BillingProfileChanged)
            and s.cause.payment is not None
        ]
        if chose:
            return self.of(chose[-1:])
        return self.of([s for s in before if isinstance(s.cause, Activated | Prepaid)][-1:])

    def of(self, steps: Sequence[Step]) -> tuple[Cause, ...]:
        return tuple(
            Cause.of(step.cause, self.timezone)
            for step in steps
            if not isinstance(step.cause, Transition)
        )

    def clause(self, template: str, causes: Sequence[Cause], params: Mapping[str, object]) -> str:
        if not causes:
            return ""
        day = vendor_date(causes[-1].effective, self.timezone)
        return ", " + translate(template, self.locale, {**params, "day": day})

    @property
    def timezone(self) -> str:
        return "UTC" if self.vendor is None else self.vendor.policy.timezone

    # --- SLA credits --------------------------------------------------------------------------

    def credits(self, line: InvoiceLine) -> tuple[MonthCredit, ...]:
        """The months whose SLA-2 credits this SLA-6 line uses, as billing applied them: each
        month's credit goes on the invoices issued from the 1st after it, oldest credit first,
        an invoice taking no more than its net (the rest carries forward)."""
        if self.evaluation is None or self.vendor is None:
            return ()
        evaluation, policy = self.evaluation, self.vendor.policy
        events = [e for e in evaluation.history if isinstance(e, OutageRecorded)]
        outages = [Outage(e.at, e.until, OutageKind(e.kind), e.announced) for e in events]
        earned: list[list[Any]] = []  # [first day after the month, MonthCredit, left]
        for year, month in outage_months(outages, policy.timezone):
            fee = fee_for_month(evaluation.invoices, year, month)
            if fee is None:
                continue
            availability = month_availability(outages, policy, year, month)
            credit = month_credit(availability, fee[0], fee[1], policy)
            if credit.amount.amount <= 0:
                continue
            caused = tuple(
                Cause.of(e, policy.timezone)
                for e, o in zip(events, outages, strict=True)
                if (year, month) in outage_months([o], policy.timezone)
            )
            explained = MonthCredit(
                year,
                month,
                credit.availability_percent,
                credit.ratio,
                Money(Decimal(credit.fee.numerator) / credit.fee.denominator, fee[0].currency),
                credit.amount,
                credit.amount,
                Money.zero(fee[0].currency),
                caused,
            )
            after = (date(year, month, 28) + timedelta(days=4)).replace(day=1)
            earned.append([after, explained, credit.amount])
        for invoice in evaluation.invoices:
            lines = [x for x in invoice.lines if x.kind is LineKind.SLA_CREDIT]
            if not lines:
                continue
            used = _take([e for e in earned if e[0] <= invoice.issued], -lines[0].net)
            if invoice.key == self.invoice.key:
                return tuple(
                    attrs.evolve(credit, used=amount, carried=left) for credit, amount, left in used
                )
        return ()

    def credit_text(self, line: InvoiceLine, credits: Sequence[MonthCredit]) -> str:
        rules = f"({', '.join(_rules(line))})"
        if not credits:
            return f"{self.money(line.net)} {rules}."
        parts = []
        for credit in credits:
            month = format_date(date(credit.year, credit.month, 1), "LLLL y", locale=self.locale)
            params: dict[str, object] = {
                "percent": str(format_percent(credit.ratio, locale=self.locale)),
                "fee": credit.fee,
                "month": month,
                "availability": self.percent(credit.availability_percent),
                "day": vendor_date(credit.outages[0].effective, self.timezone),
            }
            part = translate(_CREDIT, self.locale, params)
            if len(credits) > 1:  # which amount each month earned
                part = f"{self.money(-credit.credit)}: {part}"
            if credit.used != credit.credit:
                template = _EARLIER if credit.carried.is_zero() else _CARRIED
                part += ", " + translate(template, self.locale, {"amount": credit.used})
            parts.append(part)
        return _sentence(f"{self.money(line.net)} {rules}: {'; '.join(parts)}")

    def percent(self, value: Fraction) -> str:
        """An availability in percent, cut (never rounded up) to 3 decimals: 99.4999 shows as
        99.499 %, never as the 99.50 % it does not reach (SLA-2 compares it exactly)."""
        ratio = _floor(value / 100, 5).normalize()
        return str(format_percent(ratio, locale=self.locale, decimal_quantization=False))

    def money(self, amount: Money) -> str:
        return format_value(amount, self.locale)


def _take(earned: list[list[Any]], amount: Money) -> list[tuple[MonthCredit, Money, Money]]:
    """Use ``amount`` of the earned credits, oldest first (SLA-6 carry-forward): each credit
    used, the part used and what is left of it."""
    used: list[tuple[MonthCredit, Money, Money]] = []
    for entry in earned:
        if amount.is_zero():
            break
        left: Money = entry[2]
        if left.is_zero():
            continue
        part = left if left <= amount else amount
        entry[2] = left - part
        amount = amount - part
        used.append((entry[1], part, entry[2]))
    return used


def _rules(line: InvoiceLine) -> tuple[str, ...]:
    """The rule of the line, and the rules of its arithmetic: PRO-1 for a fraction, SLA-2/3
    for a credit, PLAN-4 for a price-list fee."""
    extra = {
        LineKind.SLA_CREDIT: ("SLA-2", "SLA-3"),
        LineKind.TRANSFER_FEE: ("PLAN-4",),
    }.get(line.kind, ("PRO-1",) if line.fraction is not None else ())
    return (line.rule, *(rule for rule in extra if rule != line.rule))


def _charged(unit: Money, line: InvoiceLine) -> Money:
    """``unit × seats × fraction`` rounded once (BILL-7), as billing computes the line."""
    assert line.seats is not None
    total = unit * line.seats
    if line.fraction is None or line.first_day is None or line.last_day is None:
        return total.rounded()
    days = (line.last_day - line.first_day).days + 1
    period_days = Fraction(days) / line.fraction
    return total.times_ratio(days, int(period_days))


def _floor(value: Fraction, places: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)


def _amount(money: Money | None) -> str | None:
    return None if money is None else str(money.rounded().amount)


def _fee_on(terms: BillingTerms, day: date) -> Money | None:
    """The transfer fee of the vendor's version in force on ``day`` (BILL-4, PLAN-4)."""
    version = terms.version_on(day)
    return terms.transfer_fee if version is None else version.transfer_fee
