"""Exact money: a ``Decimal`` amount in one ISO 4217 currency (BILL-7).

Amounts are never floats. Arithmetic between two currencies raises
:class:`~crmcore.errors.CurrencyMismatchError`. Rounding is half-up to the currency's minor unit,
taken from Babel's currency data (PLN, CZK, EUR: 2 digits; JPY: 0).

>>> Money.of("500.00", "CZK") * 5
Money(amount=Decimal('2500.00'), currency='CZK')
>>> from fractions import Fraction
>>> (Money.of("500.00", "CZK") * 5).prorate(Fraction(12, 31))
Money(amount=Decimal('967.74'), currency='CZK')
>>> [str(m.amount) for m in allocate(Money.of("100.00", "PLN"), [1, 1, 1])]
['33.34', '33.33', '33.33']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from fractions import Fraction
from functools import cache

import attrs
from babel.numbers import format_currency, get_currency_precision, is_currency

from crmcore.errors import CurrencyError, CurrencyMismatchError, ValidationError, short_repr

__all__ = [
    "MAX_AMOUNT_DIGITS",
    "MAX_DECIMAL_DIGITS",
    "PLAIN_DECIMAL",
    "Money",
    "allocate",
    "check_amount_digits",
    "check_decimal_size",
    "format_money",
    "minor_units",
    "parse_decimal",
    "plain",
    "round_half_up",
    "round_product",
    "total",
]


@cache
def minor_units(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (Babel's data): PLN 2, JPY 0."""
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise CurrencyError(
            f"must be an ISO 4217 code such as 'PLN', got {short_repr(currency)}",
            field="currency",
            rule="BILL-7",
        )
    if not is_currency(currency):
        raise CurrencyError(
            f"unknown ISO 4217 currency {short_repr(currency)}", field="currency", rule="BILL-7"
        )
    return int(get_currency_precision(currency))


def parse_decimal(value: object, field: str = "amount") -> Decimal:
    """A ``Decimal`` from a decimal string, int or Decimal; floats are refused (BILL-7)."""
    if isinstance(value, (bool, float)):
        raise ValidationError(
            f"must be a decimal string, not {type(value).__name__} {short_repr(value)}",
            field=field,
            rule="BILL-7",
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValidationError(
                f"must be a decimal number, got {short_repr(value)}", field=field, rule="BILL-7"
            ) from None
    else:
        raise ValidationError(
            f"must be a decimal string, got {type(value).__name__}", field=field, rule="BILL-7"
        )
    if not result.is_finite():
        raise ValidationError(
            f"must be a finite number, got {short_repr(value)}", field=field, rule="BILL-7"
        )
    check_decimal_size(result, field)
    return result


#: The widest decimal crmcore accepts: at most this many digits before the point and at most
#: this many after it. ``Decimal("1e999999999")`` is one
#: digit long but a billion digits wide: rounding it would build a billion-digit integer (a
#: denial of service), so its size is checked before any arithmetic. 100 + 100 digits stay
#: inside the 200-digit exact context, so every accepted amount can be rounded and summed.
MAX_DECIMAL_DIGITS = 100


#: Digits before the point of a price, a fee or an amount written in a document (BILL-7): an
#: invoice stores its amounts in 64-bit minor units, so a price of 10^15 or more per seat
#: could never be invoiced.
MAX_AMOUNT_DIGITS = 15

#: Plain decimal notation, as documents (scenarios, vendor documents) write amounts: an optional
#: minus, digits, optionally a point and digits. No exponent ("1e2"), no plus sign, no spaces,
#: no underscores, no NaN.
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def check_amount_digits(value: Decimal, field: str = "amount", rule: str = "BILL-7") -> Decimal:
    """Refuse a price or an amount with more than :data:`MAX_AMOUNT_DIGITS` digits before the
    point (BILL-7)."""
    check_decimal_size(value, field)
    if abs(value) >= Decimal(10) ** MAX_AMOUNT_DIGITS:
        raise ValidationError(
            f"must have at most {MAX_AMOUNT_DIGITS} digits before the point, got "
            f"{format(value, 'f')}",
            field=field,
            rule=rule,
        )
    return value


def plain(value: Decimal) -> str:
    """``value`` in plain notation (``"1000"``, not ``"1E+3"``), as documents write it."""
    return format(value, "f")


def check_decimal_size(value: Decimal, field: str = "amount") -> Decimal:
    """Refuse a finite ``Decimal`` wider than :data:`MAX_DECIMAL_DIGITS` (BILL-7)."""
    sign_digits_exponent = value.as_tuple()
    exponent = sign_digits_exponent.exponent
    digits = len(sign_digits_exponent.digits)
    if not isinstance(exponent, int):
        raise ValidationError(f"must be a finite number, got {value}", field=field, rule="BILL-7")
    if exponent < -MAX_DECIMAL_DIGITS or exponent + digits > MAX_DECIMAL_DIGITS:
        shown = short_repr(value).removeprefix("Decimal(").removesuffix(")")
        raise ValidationError(
            f"is too large or too precise (at most {MAX_DECIMAL_DIGITS} digits before or "
            f"after the point), got {shown}",
            field=field,
            rule="BILL-7",
        )
    return value


# Decimal arithmetic in the default context silently rounds to 28 significant digits. Money
# must never be rounded by accident (BILL-7): add, subtract and multiply in a wide context that
# raises instead of rounding.
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, Overflow])


def _exact(operation: str, left: Decimal, right: Decimal) -> Decimal:
    try:
        result: Decimal = getattr(_EXACT, operation)(left, right)
    except (Inexact, InvalidOperation, Overflow):
        raise ValidationError(
            f"{operation} of {left} and {right} cannot be computed exactly",
            field="amount",
            rule="BILL-7",
        ) from None
    return result


def round_half_up(value: Decimal | Fraction | int, digits: int) -> Decimal:
    """Round an exact value half-up (away from zero on ties) to ``digits`` decimals.

    Works on exact ``Fraction`` values, so a proration is rounded once, never twice (BILL-7).

    >>> round_half_up(Fraction(5, 2), 0), round_half_up(Fraction(-5, 2), 0)
    (Decimal('3'), Decimal('-3'))
    """
    if isinstance(value, Decimal):
        numerator, denominator = check_decimal_size(value, "value").as_integer_ratio()
    else:
        exact = value if isinstance(value, Fraction) else Fraction(value)
        numerator, denominator = exact.numerator, exact.denominator
    return _round_ratio(numerator, denominator, digits)


def round_product(left: Decimal, right: Decimal, digits: int) -> Decimal:
    """``left × right`` rounded half-up once to ``digits`` decimals, exactly (the integer
    ratios of both, no Fraction normalisation): VAT on a net total (BILL-7).

    >>> round_product(Decimal("387.10"), Decimal("0.21"), 2)
    Decimal('81.29')
    """
    numerator, denominator = check_decimal_size(left, "value").as_integer_ratio()
    times, over = check_decimal_size(right, "value").as_integer_ratio()
    return _round_ratio(numerator * times, denominator * over, digits)


def _round_ratio(numerator: int, denominator: int, digits: int) -> Decimal:
    """``numerator / denominator`` (denominator > 0) rounded half-up to ``digits`` decimals.

    Integer arithmetic: the same exact half-up rule as ``|x| * 10**digits`` compared with
    ``whole + 1/2``, without building Fractions."""
    whole, remainder = divmod(abs(numerator) * 10**digits, denominator)
    if 2 * remainder >= denominator:
        whole += 1
    signed = -whole if numerator < 0 else whole
    # scaleb is exact (it only moves the exponent); then fix the exponent to ``-digits``.
    return _EXACT.quantize(Decimal(signed).scaleb(-digits, _EXACT), _quantum(digits))


@cache
def _zero_amount(currency: str) -> Decimal:
    """0 with the currency's minor unit (``0.00`` PLN, ``0`` JPY); checks the currency."""
    return Decimal(0).quantize(_quantum(minor_units(currency)))


@cache
def _quantum(digits: int) -> Decimal:
    return Decimal(1).scaleb(-digits)


def _to_decimal(value: object) -> Decimal:
    return parse_decimal(value)


def _check_currency(currency: str) -> None:
    minor_units(currency)


@attrs.frozen(order=False)
class Money:
    """An exact amount of one currency. Not rounded until :meth:`rounded` or :meth:`prorate`."""

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: str = attrs.field()

    @currency.validator
    def _valid_currency(self, _attribute: attrs.Attribute[str], value: str) -> None:
        _check_currency(value)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """``Money.of("12.30", "PLN")``; floats are refused."""
        return cls(parse_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        if cls is Money:
            return _trusted(_zero_amount(currency), currency)
        return cls(_zero_amount(currency), currency)

    @property
    def minor_units(self) -> int:
        return minor_units(self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"expected Money, got {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency}",
                field="currency",
                rule="BILL-7",
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return _trusted(_exact("add", self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return _trusted(_exact("subtract", self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return _trusted(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return _trusted(abs(self.amount), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if type(factor) is not int and (
            isinstance(factor, bool) or not isinstance(factor, int | Decimal)
        ):
            raise TypeError("Money multiplies by int or Decimal; use prorate() for a Fraction")
        try:
            product = _EXACT.multiply(self.amount, factor)
        except (Inexact, InvalidOperation, Overflow):
            product = _exact("multiply", self.amount, Decimal(factor))  # raises the typed error
        return _trusted(product, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def rounded(self) -> Money:
        """Rounded half-up to the currency's minor unit (BILL-7)."""
        return _trusted(round_half_up(self.amount, self.minor_units), self.currency)

    def is_rounded(self) -> bool:
        """Already a whole number of minor units (BILL-7)?"""
        digits = minor_units(self.currency)
        exponent = self.amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent <= digits:
            return True
        # More decimal places written (1.500): whole minor units when the exact value's
        # denominator divides 10**digits (exact at any size, unlike a rounded comparison).
        _numerator, denominator = self.amount.as_integer_ratio()
        scale: int = 10**digits
        return scale % denominator == 0

    def prorate(self, fraction: Fraction) -> Money:
        """``self × fraction`` computed exactly, then rounded once half-up (PRO-1, BILL-7)."""
        return self.times_ratio(fraction.numerator, fraction.denominator)

    def times_ratio(self, numerator: int, denominator: int) -> Money:
        """``self × numerator / denominator`` (``denominator > 0``) computed exactly, then
        rounded once half-up (PRO-1, BILL-7): :meth:`prorate` without building a
        ``Fraction``."""
        if denominator <= 0:
            raise ValidationError(
                f"must be positive, got {denominator}", field="denominator", rule="PRO-1"
            )
        amount_numerator, amount_denominator = self.amount.as_integer_ratio()
        return _trusted(
            _round_ratio(
                amount_numerator * numerator,
                amount_denominator * denominator,
                minor_units(self.currency),
            ),
            self.currency,
        )

    def __str__(self) -> str:
        return f"{self.rounded().amount} {self.currency}"


def _trusted(amount: Decimal, currency: str) -> Money:
    """A :class:`Money` from a ``Decimal`` and a currency already checked (the results of
    arithmetic on valid values): skips the converter and the validator. The hot path's one
    shortcut past the value type; tests/test_money.py checks every result against the plain
    constructor."""
    money = object.__new__(Money)
    object.__setattr__(money, "amount", amount)
    object.__setattr__(money, "currency", currency)
    return money


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of ``amounts`` in ``currency`` (zero for none); refuses other currencies. Exact,
    as ``+`` is (BILL-7), adding the amounts without a ``Money`` for every partial sum."""
    zero = Money.zero(currency)  # checks the currency
    result = zero.amount
    for amount in amounts:
        if type(amount) is not Money or amount.currency != currency:
            zero._same(amount)  # raises the typed error
        result = _exact("add", result, amount.amount)
    return _trusted(result, currency)


def allocate(money: Money, weights: Sequence[int | Decimal | Fraction]) -> list[Money]:
    """Split ``money`` into parts proportional to ``weights`` that sum exactly to it.

    Each part is rounded to the minor unit; the minor units left over go one each to the parts
    with the largest remainders (ties to the earlier part), so ``sum(parts) == money.rounded()``.
    """
    if not weights:
        raise ValidationError("must not be empty", field="weights", rule="BILL-7")
    exact_weights = [Fraction(w) for w in weights]
    if any(w < 0 for w in exact_weights) or sum(exact_weights) == 0:
        raise ValidationError(
            "must be non-negative with a positive sum", field="weights", rule="BILL-7"
        )
    whole = money.rounded()
    units = int(whole.amount.scaleb(whole.minor_units, _EXACT))
    sign = -1 if units < 0 else 1
    units = abs(units)
    weight_sum = sum(exact_weights)
    shares = [Fraction(units) * w / weight_sum for w in exact_weights]
    floors = [s.numerator // s.denominator for s in shares]
    leftover = units - sum(floors)
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for index in order[:leftover]:
        floors[index] += 1
    quantum = Decimal(1).scaleb(-whole.minor_units)
    return [
        Money(
            _EXACT.quantize(Decimal(sign * f).scaleb(-whole.minor_units, _EXACT), quantum),
            money.currency,
        )
        for f in floors
    ]


def format_money(money: Money, locale: str) -> str:
    """Locale-formatted amount via Babel (I18N-1): ``1 231,47 zł`` in ``pl``."""
    return str(format_currency(money.rounded().amount, money.currency, locale=locale))
