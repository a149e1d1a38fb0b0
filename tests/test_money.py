"""Money: exact decimals in one currency, half-up rounding, allocation, formats (BILL-7, I18N-1)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from babel.numbers import format_currency, get_decimal_symbol
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import CurrencyError, CurrencyMismatchError, ValidationError
from crmcore.invoices import InvoiceLine, LineKind
from crmcore.money import (
    MAX_DECIMAL_DIGITS,
    Money,
    allocate,
    format_money,
    minor_units,
    parse_decimal,
    round_half_up,
    round_product,
    total,
)
from crmcore.testing.strategies import currencies, money


def same_currency(count: int, extra_places: int = 0) -> st.SearchStrategy[tuple[Money, ...]]:
    return currencies().flatmap(
        lambda code: st.tuples(*[money([code], extra_places=extra_places)] * count)
    )


# --- properties ---------------------------------------------------------------------------------


@given(same_currency(3))
def test_addition_is_associative_BILL_7(amounts: tuple[Money, Money, Money]) -> None:
    a, b, c = amounts
    assert (a + b) + c == a + (b + c)


@given(same_currency(2))
def test_addition_is_commutative_and_subtraction_undoes_it_BILL_7(
    amounts: tuple[Money, Money],
) -> None:
    a, b = amounts
    assert a + b == b + a
    assert (a + b) - b == a
    assert a + (-a) == Money.zero(a.currency)


@given(money(extra_places=4))
def test_rounding_is_within_half_a_minor_unit_BILL_7(amount: Money) -> None:
    rounded = amount.rounded()
    half_unit = Decimal(1).scaleb(-amount.minor_units) / 2
    assert abs(rounded.amount - amount.amount) <= half_unit
    assert rounded.amount == rounded.amount.quantize(Decimal(1).scaleb(-amount.minor_units))
    assert rounded.rounded() == rounded


@given(money(extra_places=2), st.lists(st.integers(0, 50), min_size=1, max_size=8))
def test_allocation_sums_exactly_and_parts_stay_near_their_share_BILL_7(
    amount: Money, weights: list[int]
) -> None:
    if sum(weights) == 0:
        weights[0] = 1
    parts = allocate(amount, weights)
    whole = amount.rounded()
    assert total(parts, amount.currency) == whole
    unit = Decimal(1).scaleb(-amount.minor_units)
    for part, weight in zip(parts, weights, strict=True):
        exact_share = Fraction(whole.amount) * weight / sum(weights)
        assert abs(Fraction(part.amount) - exact_share) < Fraction(unit)


@given(money(extra_places=1), st.integers(1, 12))
def test_equal_allocation_parts_differ_by_at_most_one_minor_unit_BILL_7(
    amount: Money, parts_count: int
) -> None:
    parts = allocate(amount, [1] * parts_count)
    unit = Decimal(1).scaleb(-amount.minor_units)
    amounts = [p.amount for p in parts]
    assert max(amounts) - min(amounts) <= unit
    assert sum(amounts) == amount.rounded().amount


@given(same_currency(1), currencies())
def test_mixed_currencies_are_refused_BILL_7(amounts: tuple[Money], other: str) -> None:
    (a,) = amounts
    if other == a.currency:
        return
    b = Money.zero(other)
    with pytest.raises(CurrencyMismatchError, match=f"{a.currency} with {other}"):
        _ = a + b
    with pytest.raises(CurrencyMismatchError):
        _ = a - b
    with pytest.raises(CurrencyMismatchError):
        _ = a < b
    with pytest.raises(CurrencyMismatchError):
        total([a, b], a.currency)


# --- hand-checked examples ----------------------------------------------------------------------


def test_half_up_rounds_ties_away_from_zero_BILL_7() -> None:
    assert round_half_up(Decimal("0.005"), 2) == Decimal("0.01")
    assert round_half_up(Decimal("-0.005"), 2) == Decimal("-0.01")
    assert round_half_up(Decimal("2.675"), 2) == Decimal("2.68")  # a float would give 2.67
    assert round_half_up(Decimal("0.0049999"), 2) == Decimal("0.00")
    assert round_half_up(Fraction(1, 3), 2) == Decimal("0.33")
    assert round_half_up(Fraction(2, 3), 0) == Decimal("1")


def test_prorate_rounds_once_PRO_1_BILL_7() -> None:
    # 5 seats × 500.00 CZK × 12/31 days = 2500 × 12 / 31 = 967.741935... → 967.74
    fee = Money.of("500.00", "CZK") * 5
    assert fee.prorate(Fraction(12, 31)) == Money.of("967.74", "CZK")
    # 500.00 × 2 × 19/28 = 678.571428... → 678.57 (one rounding, not per seat: 2 × 339.29 = 678.58)
    assert (Money.of("500.00", "PLN") * 2).prorate(Fraction(19, 28)) == Money.of("678.57", "PLN")


def test_jpy_has_no_minor_units_BILL_7() -> None:
    assert minor_units("JPY") == 0
    assert minor_units("PLN") == minor_units("CZK") == minor_units("EUR") == 2
    assert Money.of("1234.5", "JPY").rounded().amount == Decimal("1235")
    assert str(Money.zero("JPY").amount) == "0"
    assert [m.amount for m in allocate(Money.of("100", "JPY"), [1, 1, 1])] == [
        Decimal(34),
        Decimal(33),
        Decimal(33),
    ]


def test_allocation_gives_leftover_cents_to_the_earliest_parts_BILL_7() -> None:
    # 100.00 / 3 = 33.333...: 10000 cents = 3333 × 3 + 1, the extra cent goes to the first part.
    assert [str(m.amount) for m in allocate(Money.of("100.00", "PLN"), [1, 1, 1])] == [
        "33.34",
        "33.33",
        "33.33",
    ]
    assert [str(m.amount) for m in allocate(Money.of("-0.05", "PLN"), [1, 1])] == [
        "-0.03",
        "-0.02",
    ]


def test_floats_and_bad_amounts_are_refused_with_field_and_rule_BILL_7() -> None:
    with pytest.raises(ValidationError, match=r"^amount: .*float 1\.5 \(BILL-7\)$"):
        Money.of(1.5, "PLN")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="price: must be a decimal number"):
        parse_decimal("12,30", "price")
    with pytest.raises(ValidationError, match="finite"):
        parse_decimal("NaN")
    with pytest.raises(TypeError):
        _ = Money.of("1.00", "PLN") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Money.of("1.00", "PLN") * Fraction(1, 2)  # type: ignore[operator]


def test_unknown_currency_is_refused_BILL_7() -> None:
    with pytest.raises(CurrencyError, match=r"currency: unknown ISO 4217 currency 'XXQ'"):
        Money.of("1", "XXQ")
    with pytest.raises(CurrencyError, match="ISO 4217 code"):
        Money.of("1", "pln")


@pytest.mark.parametrize("locale", ["pl", "en", "de", "fr", "es", "ru", "cs", "sk"])
def test_format_money_in_the_eight_locales_I18N_1(locale: str) -> None:
    """I18N-1: the locale's currency format is Babel's (its CLDR data changes between releases,
    so the expected text comes from Babel); the digits are the amount's, with the locale's
    decimal symbol."""
    text = format_money(Money.of("1231.47", "PLN"), locale)
    assert text == format_currency(Decimal("1231.47"), "PLN", locale=locale)
    digits = "".join(c for c in text if c.isdigit() or c == get_decimal_symbol(locale))
    assert digits == f"1231{get_decimal_symbol(locale)}47"


def test_format_money_rounds_half_up_before_formatting_I18N_1_BILL_7() -> None:
    """BILL-7: 1231.465 is rounded half-up to 1231.47 by crmcore (Babel alone rounds half-even
    and would print 1231.46); JPY has no minor unit: 1234.5 -> 1235."""
    assert format_money(Money.of("1231.465", "CZK"), "cs") == format_currency(
        Decimal("1231.47"), "CZK", locale="cs"
    )
    assert format_currency(Decimal("1231.465"), "CZK", locale="cs") != format_money(
        Money.of("1231.465", "CZK"), "cs"
    )
    assert format_money(Money.of("1234.5", "JPY"), "en") == format_currency(
        Decimal("1235"), "JPY", locale="en"
    )
    assert "1,235" in format_money(Money.of("1234.5", "JPY"), "en")


def test_arithmetic_beyond_28_digits_stays_exact_BILL_7() -> None:
    # The default decimal context would round 10**30 + 0.01 to 10**30.
    big = Money.of("1000000000000000000000000000000.00", "PLN")
    cent = Money.of("0.01", "PLN")
    assert (big + cent).amount == Decimal("1000000000000000000000000000000.01")
    assert (big + cent - big) == cent
    assert round_half_up(Decimal("123456789012345678901234567890.125"), 2) == Decimal(
        "123456789012345678901234567890.13"
    )
    assert total(allocate(big + cent, [1, 2]), "PLN") == big + cent


@given(money(extra_places=2), st.integers(0, 400), st.integers(1, 400))
def test_times_ratio_is_prorate_without_a_fraction_PRO_1_BILL_7(
    amount: Money, numerator: int, denominator: int
) -> None:
    assert amount.times_ratio(numerator, denominator) == amount.prorate(
        Fraction(numerator, denominator)
    )


def test_times_ratio_refuses_a_denominator_below_one_PRO_1() -> None:
    with pytest.raises(ValidationError) as caught:
        Money.of("10.00", "PLN").times_ratio(1, 0)
    assert caught.value.field == "denominator" and caught.value.rule == "PRO-1"


def test_is_rounded_is_exact_at_the_widest_amount_BILL_7() -> None:
    """More decimal places written than the currency has, at the widest accepted size: a
    plain answer, never a decimal signal from a rounded comparison. Wider amounts (past the
    200-digit exact context) are refused when built, so no Money is ever that wide."""
    whole = "1" + "0" * (MAX_DECIMAL_DIGITS - 1)
    assert Money.of(whole + ".505", "PLN").is_rounded() is False  # half a grosz too many
    assert Money.of(whole + ".500", "PLN").is_rounded() is True  # .50 written as .500
    with pytest.raises(ValidationError) as caught:
        InvoiceLine(LineKind.SEATS, "PRO-2", Money.of(whole + ".001", "PLN"))
    assert caught.value.rule == "BILL-7"
    with pytest.raises(ValidationError) as caught:
        Money.of("1" + "0" * 210 + ".505", "PLN")
    assert caught.value.rule == "BILL-7"


@given(money(extra_places=3))
def test_is_rounded_means_rounding_changes_nothing_BILL_7(amount: Money) -> None:
    assert amount.is_rounded() == (amount.rounded().amount == amount.amount)


# --- issue 13: decimals are bounded before any arithmetic ---------------------------------------


@given(st.integers(-(10**12), 10**12), st.integers(1, 9))
def test_any_exponent_is_refused_or_rounded_at_once_BILL_7(exponent: int, digit: int) -> None:
    """``"1e999999999"`` built a billion-digit integer in round_half_up (minutes of CPU): now
    a decimal wider than MAX_DECIMAL_DIGITS is refused before any arithmetic."""
    text = f"{digit}e{exponent}"
    value = Decimal(text)
    if exponent >= -MAX_DECIMAL_DIGITS and exponent + 1 <= MAX_DECIMAL_DIGITS:
        assert Money.of(text, "PLN").rounded().amount == round_half_up(value, 2)
    else:
        for call in (lambda: Money.of(text, "PLN"), lambda: round_half_up(value, 2)):
            with pytest.raises(ValidationError) as caught:
                call()
            assert caught.value.rule == "BILL-7" and len(str(caught.value)) < 200


def test_decimal_bounds_are_exact_at_the_edge_BILL_7() -> None:
    widest = "9" * MAX_DECIMAL_DIGITS
    assert Money.of(widest, "PLN").amount == Decimal(widest)
    assert Money.of("0." + "0" * (MAX_DECIMAL_DIGITS - 1) + "1", "PLN").rounded().is_zero()
    for too_wide in (widest + "9", "0." + "0" * MAX_DECIMAL_DIGITS + "1", 10**MAX_DECIMAL_DIGITS):
        with pytest.raises(ValidationError, match=r"^amount: is too large or too precise"):
            Money.of(too_wide, "PLN")
    with pytest.raises(ValidationError, match=r"^amount: is too large"):
        Money(Decimal("1e999999999"), "PLN")


@given(
    st.decimals(min_value=-(10**15), max_value=10**15, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=Decimal("0.999999"), places=6, allow_nan=False),
    st.integers(0, 4),
)
def test_bill_7_round_product_is_the_exact_product_rounded_once(
    left: Decimal, right: Decimal, digits: int
) -> None:
    """The integer-ratio VAT product equals the plain path: the exact Fraction product,
    rounded half-up once (BILL-7)."""
    assert round_product(left, right, digits) == round_half_up(
        Fraction(left) * Fraction(right), digits
    )


def _plain(value: Money) -> Money:
    """The same amount through the public constructor (its converter and validator)."""
    return Money(value.amount, value.currency)


@given(
    amounts=same_currency(2, extra_places=2),
    factor=st.integers(-50, 50),
    ratio=st.tuples(st.integers(0, 400), st.integers(1, 400)),
)
def test_the_fast_arithmetic_gives_what_the_plain_constructor_gives_BILL_7(
    amounts: tuple[Money, Money], factor: int, ratio: tuple[int, int]
) -> None:
    """Arithmetic builds its results past the converter and validator (``money._trusted``, the
    hot path's one shortcut): each result is a value the plain constructor accepts and equals,
    with the same type of amount (issue 16: the shortcut checked against the plain path)."""
    a, b = amounts
    results = [
        a + b,
        a - b,
        -a,
        abs(a),
        a * factor,
        a.rounded(),
        a.times_ratio(*ratio),
        Money.zero(a.currency),
    ]
    for result in results:
        plain = _plain(result)
        assert plain == result
        assert type(result.amount) is Decimal and type(plain.amount) is Decimal
        assert result.amount.is_finite()
