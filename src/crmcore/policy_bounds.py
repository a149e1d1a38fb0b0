"""Bounds of the policy parameters (docs/foundation.md, "Bounds of the parameters").

Every parameter of :mod:`crmcore.policies` is checked when the policy is built, so no rule
later computes a date beyond the calendar, a number no invoice can hold, or an invoice number
``str.format`` cannot make. The validators here name the parameter and its rule:

>>> bounded_count(MAX_POLICY_DAYS, "BILL-4")(None, _Named("transfer_due_days"), 10**30)
Traceback (most recent call last):
...
crmcore.errors.ValidationError: transfer_due_days: must be at most 3660, got 1000000000000000000000000000000 (BILL-4)
"""  # noqa: E501

from __future__ import annotations

import re
import string
from decimal import Decimal
from typing import Any

import attrs

from crmcore.errors import ValidationError, short_repr
from crmcore.serialization import show_value

__all__ = [
    "MAX_POLICY_BYTES",
    "MAX_POLICY_COUNT",
    "MAX_POLICY_DAYS",
    "MAX_POLICY_HOURS",
    "MAX_POLICY_MINUTES",
    "MAX_POLICY_MONTHS",
    "MAX_SERIES_LENGTH",
    "SERIES_FIELDS",
    "bounded_count",
    "bounded_ratio",
    "check_invoice_series",
    "check_ratio",
    "check_term_discounts",
]

#: Documented bounds of the policy parameters (every parameter is checked when the policy is
#: built, so no rule computes a date beyond the calendar or a number no invoice can hold).
MAX_POLICY_DAYS = 3660  # ten years: any day count (trial, grace, due, dunning, retention, ...)
MAX_POLICY_MONTHS = 120  # ten years: any month count (trial in months, notice, term discounts)
MAX_POLICY_HOURS = MAX_POLICY_DAYS * 24
MAX_POLICY_MINUTES = MAX_POLICY_HOURS * 60
MAX_POLICY_COUNT = 1_000_000  # allowances and per-period quantities
MAX_POLICY_BYTES = 2**50  # sizes in bytes (1 PiB)


def bounded_count(high: int, rule: str | None = None, low: int = 0) -> Any:
    """An attrs validator: an integer (or ``None``) in ``low..high``, refused naming the rule."""

    def check(_i: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(
                f"must be an integer, got {show_value(value)}", field=attribute.name, rule=rule
            )
        if value < low:
            minimum = "> 0" if low == 1 else f">= {low}"
            raise ValidationError(
                f"must be {minimum}, got {show_value(value)}", field=attribute.name, rule=rule
            )
        if value > high:
            raise ValidationError(
                f"must be at most {high}, got {show_value(value)}", field=attribute.name, rule=rule
            )

    return check


def bounded_ratio(low: Decimal, high: Decimal, rule: str, *, open_low: bool = False) -> Any:
    """An attrs validator: a ``Decimal`` in ``[low, high]`` (``(low, high]`` with
    ``open_low``)."""

    def check(_i: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_ratio(value, attribute.name, low, high, rule, open_low=open_low)

    return check


def check_ratio(
    value: object, field: str, low: Decimal, high: Decimal, rule: str, *, open_low: bool = False
) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, Decimal | int)
        or (isinstance(value, Decimal) and not value.is_finite())
    ):
        raise ValidationError(
            f"must be a decimal number, got {show_value(value)}", field=field, rule=rule
        )
    if (value <= low if open_low else value < low) or value > high:
        interval = f"{'(' if open_low else '['}{low}, {high}]"
        raise ValidationError(
            f"must be in {interval}, got {show_value(value)}", field=field, rule=rule
        )


#: The placeholders an invoice series may use (BILL-6).
SERIES_FIELDS = ("year", "number")
MAX_SERIES_LENGTH = 64  # the longest invoice number text (storage keeps 64 characters)
# An integer format (no float types: "{number:e}" would print 123456789 and 123456788 alike).
_SERIES_SPEC = re.compile(r"(?:.?[<>=^])?[+\- ]?#?0?[0-9]{0,2}[,_]?[bdnoxX]?", re.DOTALL)


def check_invoice_series(template: object, field: str = "invoice_series") -> str:
    """Refuse an invoice-number template that cannot number invoices (BILL-6).

    It must be a string using only ``{year}`` and ``{number}`` (with a short format such as
    ``{number:04d}``), contain ``{number}`` so numbers are unique, and give numbers of at most
    :data:`MAX_SERIES_LENGTH` characters. Checked when the policy is built, so issuing never
    fails on a ``KeyError`` or ``ValueError`` from ``str.format``.

    >>> check_invoice_series("FV/{year}/{number:05d}")
    'FV/{year}/{number:05d}'
    >>> check_invoice_series("{foo}")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: invoice_series: unknown placeholder {foo} in "{foo}"; use {year} and {number} (BILL-6)
    """  # noqa: E501
    shown = show_value(template)
    if not isinstance(template, str) or len(template) > MAX_SERIES_LENGTH:
        raise ValidationError(
            f"must be a template of at most {MAX_SERIES_LENGTH} characters, got {shown}",
            field=field,
            rule="BILL-6",
        )
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValidationError(f"{exc} in {shown}", field=field, rule="BILL-6") from None
    names = {name for _text, name, _spec, _conversion in parts if name is not None}
    for _text, name, spec, _conversion in parts:
        if name is not None and name not in SERIES_FIELDS:
            raise ValidationError(
                f"unknown placeholder {{{name}}} in {shown}; use {{year}} and {{number}}",
                field=field,
                rule="BILL-6",
            )
        if spec and not _SERIES_SPEC.fullmatch(spec):
            raise ValidationError(
                f"format {short_repr(spec)} is not allowed in {shown} (an integer format "
                "such as 04d: fill, alignment, sign, width up to 99, d/n/x/X/o/b)",
                field=field,
                rule="BILL-6",
            )
    if "number" not in names:
        raise ValidationError(
            f"must contain {{number}} so invoice numbers are unique, got {shown}",
            field=field,
            rule="BILL-6",
        )
    try:
        samples = {template.format(year=9999, number=n) for n in (1, 2, 999_999_999)}
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValidationError(
            f"cannot format an invoice number with {shown} ({exc})", field=field, rule="BILL-6"
        ) from None
    if len(samples) < 3 or any(len(sample) > MAX_SERIES_LENGTH for sample in samples):
        raise ValidationError(
            f"must give distinct numbers of at most {MAX_SERIES_LENGTH} characters, got {shown}",
            field=field,
            rule="BILL-6",
        )
    return template


def check_term_discounts(value: object) -> None:
    """TERM-1: a list of (minimum months, discount ratio in [0, 1))."""
    if not isinstance(value, tuple | list):
        raise ValidationError(
            f"must be a list of [months, ratio] pairs, got {show_value(value)}",
            field="term_discounts",
            rule="TERM-1",
        )
    for index, entry in enumerate(value):
        field = f"term_discounts[{index}]"
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise ValidationError(
                f"must be a [months, ratio] pair, got {show_value(entry)}",
                field=field,
                rule="TERM-1",
            )
        months, ratio = entry
        bounded_count(MAX_POLICY_MONTHS, "TERM-1", 1)(None, _Named(f"{field}[0]"), months)
        check_ratio(ratio, f"{field}[1]", Decimal(0), Decimal(1), "TERM-1")
        if ratio == 1:
            raise ValidationError(
                f"must be below 1 (a 100% discount is a free plan), got {ratio}",
                field=f"{field}[1]",
                rule="TERM-1",
            )


@attrs.frozen
class _Named:
    """Stands for an ``attrs.Attribute`` when a validator checks one item of a list."""

    name: str
