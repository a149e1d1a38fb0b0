"""Invoices, their lines and payments (BILL-2..7, PRO, TERM, SLA-6).

An issued :class:`Invoice` is immutable (BILL-6): corrections are new documents. Each line is
rounded once, half-up, to the currency's minor unit; the invoice net is the sum of the line
nets; VAT is computed on the net total per rate and rounded half-up (BILL-7).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import attrs

from crmcore.dates import require_aware
from crmcore.errors import ValidationError
from crmcore.events import MAX_SEATS
from crmcore.money import Money, minor_units, round_product, total

__all__ = [
    "CORRECTION_RULE",
    "Invoice",
    "InvoiceLine",
    "LineKind",
    "Payment",
    "check_vat_rate",
    "subscription_lines_on",
    "vat_for",
]


def check_vat_rate(value: object, field: str = "vat_rate") -> Decimal:
    """``value`` if it is a VAT rate: a finite ``Decimal`` ratio in [0, 1) (PLAN-2).

    Floats are refused (BILL-7: ``0.23`` as a float is not 23 %), and so is a percentage:

    >>> check_vat_rate(Decimal("0.23"))
    Decimal('0.23')
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(
            f"must be a Decimal ratio such as Decimal('0.23'), got {value!r}",
            field=field,
            rule="PLAN-2",
        )
    if not Decimal(0) <= value < Decimal(1):
        raise ValidationError(f"must be a ratio in [0, 1), got {value}", field=field, rule="PLAN-2")
    return value


class LineKind(enum.StrEnum):
    SUBSCRIPTION = "subscription"  # BILL-2 prepaid base fee, BILL-1 prorated first period
    SEATS = "seats"  # PRO-2, PRO-3
    UPGRADE = "upgrade"  # PRO-4, TERM-3
    TRANSFER_FEE = "transfer_fee"  # BILL-4
    SLA_CREDIT = "sla_credit"  # SLA-6, negative
    ADDON = "addon"  # PLAN-4


def _require(condition: bool, field: str, expected: str, value: object, rule: str) -> None:
    if not condition:
        raise ValidationError(f"must be {expected}, got {value!r}", field=field, rule=rule)


def _is_day(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


_MAX_COLUMN = 2**31 - 1  # the integer columns of every SQL engine

#: The rule of a correction document's lines (BILL-6): the difference, per line kind, between
#: what an issued invoice charged and what it should have charged.
CORRECTION_RULE = "BILL-6"


@attrs.frozen
class InvoiceLine:
    """One line: what was charged, by which rule, over which days and with which fraction."""

    kind: LineKind
    rule: str
    net: Money
    plan: str | None = None
    seats: int | None = None
    first_day: date | None = None
    last_day: date | None = None
    fraction: Fraction | None = None  # days / days_in_period, when prorated
    description: str = ""

    def __attrs_post_init__(self) -> None:
        _require(isinstance(self.kind, LineKind), "kind", "a LineKind", self.kind, "BILL-7")
        _require(isinstance(self.net, Money), "net", "Money", self.net, "BILL-7")
        seats = self.seats
        _require(
            seats is None or (type(seats) is int and 0 < seats <= MAX_SEATS),
            "seats",
            f"None or 1..{MAX_SEATS}",
            seats,
            "SEAT-1",
        )
        fraction = self.fraction
        _require(
            fraction is None
            or (
                isinstance(fraction, Fraction)
                and 0 <= fraction <= 1
                and fraction.denominator <= _MAX_COLUMN
            ),
            "fraction",
            "None or a Fraction in [0, 1]",
            fraction,
            "PRO-1",
        )
        for name in ("first_day", "last_day"):
            day = getattr(self, name)
            _require(day is None or _is_day(day), name, "None or a date", day, "PRO-1")
        if not self.net.is_rounded():
            raise ValidationError(
                f"line net {self.net.amount} is not rounded to the minor unit",
                field="net",
                rule="BILL-7",
            )
        if (
            self.net.is_negative()
            and self.kind is not LineKind.SLA_CREDIT
            and self.rule != CORRECTION_RULE
        ):
            raise ValidationError(
                f"only credits and corrections may be negative, got {self.net}",
                field="net",
                rule="BILL-3",
            )


def vat_for(net: Money, rate: Decimal) -> Money:
    """VAT on a net total, rounded half-up once (BILL-7)."""
    return Money(round_product(net.amount, rate, net.minor_units), net.currency)


@attrs.frozen
class Invoice:
    """An issued invoice. ``number`` is unique and gapless in its ``series`` (BILL-6)."""

    tenant_id: str
    number: str
    series: str
    issued: date
    due: date
    currency: str
    vat_rate: Decimal
    lines: tuple[InvoiceLine, ...] = attrs.field(converter=tuple)
    billing_email: str | None = None  # BILL-5
    period_first_day: date | None = None  # the billing period the invoice belongs to
    period_last_day: date | None = None
    key: str = ""  # idempotency key: one invoice per (tenant, key)
    #: A correction document (BILL-6) names the number of the invoice it corrects, and that
    #: invoice's net before this correction (with the corrections issued before it): its VAT
    #: is the difference of the VAT on the net after and before, so the corrected invoice's
    #: VAT with its corrections is exactly the VAT on the corrected net (BILL-7).
    corrects: str | None = None
    corrected_net: Money | None = None

    def __attrs_post_init__(self) -> None:
        _require(
            isinstance(self.tenant_id, str) and bool(self.tenant_id.strip()),
            "tenant_id",
            "a non-empty string",
            self.tenant_id,
            "BILL-6",
        )
        for name in ("number", "series", "key"):
            value = getattr(self, name)
            _require(isinstance(value, str), name, "a string", value, "BILL-6")
        for name in ("issued", "due"):
            value = getattr(self, name)
            _require(_is_day(value), name, "a date", value, "BILL-4")
        minor_units(self.currency)  # a known ISO 4217 code (BILL-7)
        check_vat_rate(self.vat_rate)
        for index, line in enumerate(self.lines):
            _require(
                isinstance(line, InvoiceLine), f"lines[{index}]", "an InvoiceLine", line, "BILL-7"
            )
        for line in self.lines:
            if line.net.currency != self.currency:
                raise ValidationError(
                    f"line in {line.net.currency}, invoice in {self.currency}",
                    field="lines",
                    rule="BILL-7",
                )
        if (self.corrects is None) != (self.corrected_net is None):
            raise ValidationError(
                "a correction names the invoice it corrects and that invoice's net",
                field="corrected_net",
                rule="BILL-6",
            )
        if self.corrected_net is not None and self.corrected_net.currency != self.currency:
            raise ValidationError(
                f"corrected net in {self.corrected_net.currency}, invoice in {self.currency}",
                field="corrected_net",
                rule="BILL-7",
            )
        if self.due < self.issued:
            raise ValidationError(
                f"due {self.due} is before issue {self.issued}", field="due", rule="BILL-4"
            )

    # Totals are computed once per invoice (the value is frozen): the evaluation reads an
    # invoice's gross many times (payments, dunning, SLA fees).
    @functools.cached_property
    def net(self) -> Money:
        return total((line.net for line in self.lines), self.currency)

    @functools.cached_property
    def vat(self) -> Money:
        before = self.corrected_net
        if before is None:
            return vat_for(self.net, self.vat_rate)
        return vat_for(before + self.net, self.vat_rate) - vat_for(before, self.vat_rate)

    @property
    def type(self) -> str:
        """``"invoice"``, or ``"correction"`` for a correction document (BILL-6)."""
        return "invoice" if self.corrects is None else "correction"

    @functools.cached_property
    def gross(self) -> Money:
        return self.net + self.vat


@attrs.frozen
class Payment:
    """Money received from a tenant; applied to invoices oldest first (PAY-1)."""

    tenant_id: str
    at: datetime
    amount: Money
    reference: str = ""

    def __attrs_post_init__(self) -> None:
        _require(
            isinstance(self.tenant_id, str) and bool(self.tenant_id.strip()),
            "tenant_id",
            "a non-empty string",
            self.tenant_id,
            "PAY-1",
        )
        require_aware(self.at, "at")
        _require(isinstance(self.amount, Money), "amount", "Money", self.amount, "PAY-6")
        if self.amount.amount <= 0:
            raise ValidationError(
                f"must be positive, got {self.amount}", field="amount", rule="PAY-6"
            )


def subscription_lines_on(invoices: Iterable[Invoice], day: date) -> list[InvoiceLine]:
    """The subscription lines (BILL-2) of ``invoices`` invoiced for a billing period holding
    ``day``: what the tenant paid for on that day (seats, BILL-3; the period's last day)."""
    return [
        line
        for invoice in invoices
        for line in invoice.lines
        if line.kind is LineKind.SUBSCRIPTION
        and line.first_day is not None
        and line.last_day is not None
        and line.first_day <= day <= line.last_day
    ]
