"""Vendors as data: a vendor's terms, catalogue, VAT rates and fees as one stored value.

A :class:`Vendor` is what a CRM/SaaS vendor sells on, from the day it takes effect: its
:class:`~crmcore.policies.VendorPolicy`, its :class:`~crmcore.catalog.Catalog`, the currency it
invoices in, its VAT rates by the customer's country (PLAN-2; the vendor's own country is the
default) and its price-list fees (PLAN-4, e.g. the BILL-4 bank-transfer fee). Each change of
terms is a new version with a later ``effective`` day; a :class:`~crmcore.ports.VendorRepository`
answers which version is in force on a day (NOTICE-2, NOTICE-3 build on this).

Presets are starting points, nothing more: :func:`vendor_from_preset` builds a vendor from one.

>>> from datetime import date
>>> acme = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1),
...                           fees={"transfer": "50.00"})
>>> acme.currency, acme.vat_rate("CZ"), acme.vat_rate("SK"), acme.vat_rate("DE")
('CZK', Decimal('0.21'), Decimal('0.23'), Decimal('0.21'))
>>> str(acme.transfer_fee)
'50.00 CZK'
>>> Vendor.loads_json(acme.dumps_json()) == acme
True

Long because a vendor document is one value with its validation by JSON path and its version
rules; split, the paths would be spelt twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

import attrs

from crmcore.catalog import Catalog
from crmcore.dates import parse_date
from crmcore.errors import (
    CrmError,
    MultipleValidationErrors,
    NotFound,
    ValidationError,
    VendorError,
)
from crmcore.events import PaymentMethod  # re-exported: the billing profile's payment method
from crmcore.limits import check_record_limit_counted
from crmcore.money import (
    PLAIN_DECIMAL,
    Money,
    check_amount_digits,
    minor_units,
    parse_decimal,
    plain,
)
from crmcore.policies import VendorPolicy
from crmcore.presets import preset
from crmcore.serialization import json_path, parse_document, structure_strict

__all__ = [
    "STARTING_VAT_RATES",
    "PaymentMethod",
    "TenantBillingProfile",
    "Vendor",
    "check_country",
    "check_vendor_name",
    "check_vendor_version",
    "check_written_decimals",
    "is_vendor_name",
    "vendor_from_preset",
    "vendor_not_found",
    "version_in_force",
]

#: A vendor name: lower-case letters, digits, ``.``, ``_`` and ``-``, at most 64 characters,
#: starting with a letter or digit. Names compare exactly (case and all) in every storage.
VENDOR_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

#: Standard VAT rates of a few countries, for :func:`vendor_from_preset` only: a starting
#: point the vendor confirms and completes (PLAN-2), never read by the rules.
STARTING_VAT_RATES: Mapping[str, Decimal] = MappingProxyType(
    {"CZ": Decimal("0.21"), "PL": Decimal("0.23"), "SK": Decimal("0.23")}
)

_FEE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_DOCUMENT_FIELDS = ("name", "effective", "currency", "vat_rates", "fees", "policy", "catalog")
# Babel's territories include groupings and placeholders that no customer lives in.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "ZZ"})


@cache
def _countries() -> frozenset[str]:
    from babel import Locale

    codes = {str(code) for code in Locale("en").territories}
    return frozenset(code for code in codes if len(code) == 2 and code.isalpha()) - _NOT_COUNTRIES


def check_vendor_name(value: object, field: str = "name") -> str:
    """``value`` if it is a valid vendor name (:data:`VENDOR_NAME`), else ``ValidationError``.

    >>> check_vendor_name("acme-cz")
    'acme-cz'
    """
    if not isinstance(value, str) or not VENDOR_NAME.fullmatch(value):
        raise ValidationError(
            "must be 1-64 lower-case letters, digits, '.', '_' or '-' starting with a letter "
            f"or digit, got {value!r}",
            field=field,
        )
    return value


def check_country(value: object, field: str = "country") -> str:
    """``value`` if it is an ISO 3166-1 alpha-2 country code in upper case (PLAN-2).

    >>> check_country("CZ")
    'CZ'
    """
    if not isinstance(value, str) or value not in _countries():
        raise ValidationError(
            f"must be an ISO 3166 country code such as 'CZ', got {value!r}",
            field=field,
            rule="PLAN-2",
        )
    return value


def _vat_rate(value: object, field: str) -> Decimal:
    rate = parse_decimal(value, field)
    if not Decimal(0) <= rate < Decimal(1) or not rate.is_finite():
        raise ValidationError(
            f"must be a ratio from 0 to below 1, got {value!r}", field=field, rule="PLAN-2"
        )
    return rate


def _fee(value: object, field: str, currency: str) -> Money:
    amount = parse_decimal(value.amount if isinstance(value, Money) else value, field)
    if isinstance(value, Money) and value.currency != currency:
        raise ValidationError(
            f"must be in the vendor's currency {currency}, got {value}", field=field, rule="PLAN-4"
        )
    digits = minor_units(currency)
    if (
        not amount.is_finite()
        or amount < 0
        or amount != amount.quantize(Decimal(1).scaleb(-digits))
    ):
        raise ValidationError(
            f"must be an amount >= 0 with at most {digits} decimals, got {value!r}",
            field=field,
            rule="PLAN-4",
        )
    return Money(check_amount_digits(amount, field, "PLAN-4"), currency)


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(sorted(value.items())))


@attrs.frozen
class Vendor:
    """One version of a vendor: its terms from ``effective`` on (PLAN-1, PLAN-2, PLAN-4).

    ``vat_rates`` maps a customer's country to its VAT ratio and must hold the vendor's own
    country (``policy.country``), the default for any other; ``fees`` maps a price-list item
    (``transfer`` for BILL-4) to its net amount in ``currency``. Every bad value is listed at
    once in one :class:`~crmcore.errors.VendorError`.
    """

    name: str
    policy: VendorPolicy
    catalog: Catalog
    effective: date
    vat_rates: Mapping[str, Decimal] = attrs.field(converter=_frozen, hash=False)
    fees: Mapping[str, Money] = attrs.field(factory=dict, converter=_frozen, hash=False)
    currency: str = attrs.field()

    @currency.default
    def _policy_currency(self) -> str:
        return self.policy.currency

    def __attrs_post_init__(self) -> None:
        errors = _check(
            self.name,
            self.policy,
            self.catalog,
            self.effective,
            self.currency,
            self.vat_rates,
            self.fees,
            root="",
        )
        if errors:
            raise _vendor_error(errors)
        # Normalised values (a fee given as "50.00" becomes Money) keep the value frozen.
        fees = {name: _fee(amount, "", self.currency) for name, amount in self.fees.items()}
        object.__setattr__(self, "fees", _frozen(fees))
        rates = {country: _vat_rate(rate, "") for country, rate in self.vat_rates.items()}
        object.__setattr__(self, "vat_rates", _frozen(rates))

    def vat_rate(self, country: str) -> Decimal:
        """The VAT ratio for a customer in ``country``; the vendor's own country's otherwise
        (PLAN-2)."""
        return self.vat_rates.get(country, self.vat_rates[self.policy.country])

    def fee(self, name: str) -> Money:
        """The price-list amount of ``name`` (PLAN-4); zero when the price list has none."""
        return self.fees.get(name, Money.zero(self.currency))

    @property
    def transfer_fee(self) -> Money:
        """The per-invoice bank-transfer fee (BILL-4, PLAN-4); zero when there is none."""
        return self.fee("transfer")

    # --- the JSON document (``crmcore vendor export`` / ``import``) --------------------------

    def to_document(self) -> dict[str, Any]:
        """The vendor as plain JSON values; :meth:`from_document` gives back an equal vendor."""
        return {
            "name": self.name,
            "effective": self.effective.isoformat(),
            "currency": self.currency,
            "vat_rates": {country: plain(rate) for country, rate in self.vat_rates.items()},
            "fees": {name: plain(amount.amount) for name, amount in self.fees.items()},
            "policy": self.policy.to_dict(),
            "catalog": self.catalog.to_dict(),
        }

    @classmethod
    def from_document(cls, data: object) -> Vendor:
        """Validate a vendor document; ``VendorError`` lists every bad JSON path at once."""
        errors: list[str] = []
        if not isinstance(data, Mapping):
            raise _vendor_error([f"$: must be an object, got {_show(data)}"])
        unknown = sorted(set(data) - set(_DOCUMENT_FIELDS))
        if unknown:
            errors.append(f"$: unknown field(s) {unknown}")
        missing = [
            f"$.{key}: required field missing" for key in _DOCUMENT_FIELDS if key not in data
        ]
        errors.extend(missing)

        def part(key: str, read: Callable[[object], Any]) -> Any:
            if key not in data:
                return None
            try:
                return read(data[key])
            except MultipleValidationErrors as exc:
                errors.extend(_rooted(item, f"$.{key}") for item in exc.errors)
            except CrmError as exc:
                errors.append(f"$.{key}: {_text(exc)}")
            return None

        name = part("name", lambda value: check_vendor_name(value, "value"))
        effective = part("effective", _date)
        currency = part("currency", _currency)
        policy = part("policy", _policy)
        catalog = part("catalog", _catalog)
        rates = part("vat_rates", lambda value: _object(value))
        fees = part("fees", lambda value: _object(value))
        if errors:
            raise _vendor_error(errors)
        errors = _check(name, policy, catalog, effective, currency, rates, fees, root="$.")
        if errors:
            raise _vendor_error(errors)
        return cls(name, policy, catalog, effective, rates, fees, currency)

    def dumps_json(self) -> str:
        """The vendor document as JSON text (keys sorted, so equal vendors dump equal text)."""
        return json.dumps(self.to_document(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def loads_json(cls, text: str) -> Vendor:
        """A vendor document written as JSON text: its amounts and rates in plain decimal
        notation, as a scenario's (:func:`check_written_decimals`), then
        :meth:`from_document`."""
        data = parse_document(text, "json", error=lambda errors: _vendor_error(errors))
        check_written_decimals(data)
        return cls.from_document(data)


def check_written_decimals(data: object) -> None:
    """Refuse, in a vendor document someone wrote, a price, fee or VAT rate not written as a
    decimal string in plain notation (``"490.00"``; not ``490``, ``"4.9e2"``, ``" 490"``,
    ``"+490"`` or ``".5"``), exactly as a scenario's (BILL-7; rates PLAN-2): the doors that
    read such documents (``crmcore vendor import``, ``--vendor``) accept what ``crmcore
    simulate`` accepts. Stored versions are read by :meth:`Vendor.from_document` alone.
    ``VendorError`` lists every such JSON path."""
    if not isinstance(data, Mapping):
        return  # from_document refuses it
    errors: list[str] = []

    def written(value: object, path: str, rule: str, example: str = "12.50") -> None:
        if not isinstance(value, str) or not PLAIN_DECIMAL.fullmatch(value):
            errors.append(
                f'{path}: must be a decimal string such as "{example}", got {_show(value)} ({rule})'
            )

    for name, rule, example in (("vat_rates", "PLAN-2", "0.23"), ("fees", "PLAN-4", "50.00")):
        values = data.get(name)
        if isinstance(values, Mapping):
            for key, value in values.items():
                written(value, json_path(f"$.{name}", key), rule, example)
    catalog = data.get("catalog")
    plans = catalog.get("plans") if isinstance(catalog, Mapping) else None
    for index, plan in enumerate(plans if isinstance(plans, list) else []):
        prices = plan.get("prices") if isinstance(plan, Mapping) else None
        for number, price in enumerate(prices if isinstance(prices, list) else []):
            if isinstance(price, Mapping) and "amount" in price:
                path = f"$.catalog.plans[{index}].prices[{number}].amount"
                written(price["amount"], path, "BILL-7")
    if errors:
        raise _vendor_error(errors)


_RULE = re.compile(r"\(([A-Z]+-[0-9]+)\)$")


def _vendor_error(errors: list[str]) -> VendorError:
    """One error listing every path; its ``rule`` is the rule they all cite, if they do."""
    rules = {match.group(1) if (match := _RULE.search(e)) else None for e in errors}
    rule = rules.pop() if len(rules) == 1 else None
    return VendorError(errors, what="vendor", rule=rule)


def _text(error: CrmError) -> str:
    # The message without the error's own field (the caller gives the path) and with its rule.
    return error.problem + (f" ({error.rule})" if error.rule else "")


def _show(value: object) -> str:
    return (
        json.dumps(value)
        if isinstance(value, str | int | float | bool | None)
        else (type(value).__name__)
    )


def _rooted(error: str, root: str) -> str:
    # The policy and catalogue report paths from their own "$"; put them under their key.
    if error.startswith("$"):
        return root + error[1:]
    return f"{root}.{error}" if not error.startswith(root) else error


def _date(value: object) -> date:
    return parse_date(value, "value")


def _currency(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"must be a currency code such as 'CZK', got {_show(value)}")
    minor_units(value)
    return value


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"must be an object, got {_show(value)}")
    return value


def _policy(value: object) -> VendorPolicy:
    return structure_strict(
        value, VendorPolicy, error=lambda errors: VendorError(errors, what="policy")
    )


def _catalog(value: object) -> Catalog:
    return structure_strict(
        value, Catalog, error=lambda errors: VendorError(errors, what="catalogue", rule="PLAN-1")
    )


def _check(
    name: object,
    policy: VendorPolicy,
    catalog: Catalog,
    effective: object,
    currency: str,
    rates: Mapping[str, object],
    fees: Mapping[str, object],
    root: str,
) -> list[str]:
    """Every problem of a vendor's values, as ``"path: message (RULE)"`` texts."""
    errors: list[str] = []

    def problem(path: str, error: CrmError | str) -> None:
        errors.append(f"{root}{path}: {_text(error) if isinstance(error, CrmError) else error}")

    try:
        check_vendor_name(name)
    except ValidationError as exc:
        problem("name", exc)
    if not isinstance(policy, VendorPolicy):
        problem("policy", f"must be a VendorPolicy, got {type(policy).__name__}")
        return errors
    if not isinstance(catalog, Catalog):
        problem("catalog", f"must be a Catalog, got {type(catalog).__name__}")
        return errors
    if not isinstance(effective, date) or isinstance(effective, datetime):
        problem("effective", f"must be a day (date), got {effective!r}")
    if name != policy.name:
        problem("policy.name", f"must be the vendor's name {name!r}, got {policy.name!r}")
    if currency != policy.currency:
        problem("currency", f"must be the policy's currency {policy.currency!r}, got {currency!r}")
    for index, plan in enumerate(catalog.plans):
        try:  # REC-1: a record limit the vendor's policy never counts
            check_record_limit_counted(plan.limits.records, policy.limits, "")
        except ValidationError as exc:
            problem(f"catalog.plans[{index}].limits.records", exc)
        if not plan.is_free and not any(price.currency == currency for price in plan.prices):
            problem(
                f"catalog.plans[{index}].prices",
                f"plan {plan.code!r} has no price in {currency} (PLAN-1)",
            )
    for country, rate in rates.items():
        try:
            check_country(country, "")
            _vat_rate(rate, "")
        except ValidationError as exc:
            problem(f"vat_rates.{country}", exc)
    if policy.country not in rates:
        problem(
            "vat_rates",
            f"must give the rate of the vendor's own country {policy.country} "
            "(the default, PLAN-2)",
        )
    for fee_name, amount in fees.items():
        if not isinstance(fee_name, str) or not _FEE_NAME.fullmatch(fee_name):
            problem(f"fees.{fee_name}", "a fee name is lower-case letters, digits and '_' (PLAN-4)")
            continue
        try:
            _fee(amount, "", currency)
        except ValidationError as exc:
            problem(f"fees.{fee_name}", exc)
    return errors


def vendor_from_preset(
    preset_name: str,
    *,
    name: str | None = None,
    effective: date,
    catalog: Catalog | None = None,
    vat_rates: Mapping[str, Decimal | str] | None = None,
    fees: Mapping[str, Money | str] | None = None,
) -> Vendor:
    """A vendor built from the preset ``preset_name`` as a starting point.

    ``name`` defaults to the preset's name (the policy is renamed to match); ``catalog`` to an
    empty catalogue (plans to be added); ``vat_rates`` to :data:`STARTING_VAT_RATES`, which
    hold the vendor's own country; ``fees`` to none. ``UnknownPreset`` for an unknown name.

    >>> from datetime import date
    >>> vendor_from_preset("livespace", effective=date(2026, 1, 1)).vat_rate("PL")
    Decimal('0.23')
    """
    policy = preset(preset_name)
    vendor_name = policy.name if name is None else name
    if vendor_name != policy.name:
        check_vendor_name(vendor_name)
        policy = attrs.evolve(policy, name=vendor_name)
    return Vendor(
        name=vendor_name,
        policy=policy,
        catalog=catalog if catalog is not None else Catalog(()),
        effective=effective,
        vat_rates=dict(STARTING_VAT_RATES if vat_rates is None else vat_rates),
        fees=dict(fees or {}),
    )


def check_vendor_version(vendor: Vendor, latest: date | None) -> None:
    """Refuse ``vendor`` as a new version unless it takes effect after ``latest``, the
    effective day of the newest stored version (``None``: the vendor is new).

    Versions are added in order so that the terms in force on a day never change once a
    later version exists (NOTICE-2, NOTICE-3 build on this). Every repository calls this
    before it writes anything, so a refused add stores nothing.
    """
    if latest is not None and vendor.effective <= latest:
        raise ValidationError(
            f"vendor {vendor.name!r} already has a version taking effect on {latest}; a new "
            f"version must take effect after it, got {vendor.effective}",
            field="effective",
            rule="NOTICE-2",
        )


def is_vendor_name(name: object) -> bool:
    """Whether ``name`` can name a vendor; a repository finds nothing under any other name
    (so ``"acme "`` never matches ``"acme"``, whatever the database's collation)."""
    return isinstance(name, str) and VENDOR_NAME.fullmatch(name) is not None


def vendor_not_found(name: str, on: date | None) -> NotFound:
    """The error of a repository's ``get`` when no version of ``name`` is in force."""
    if on is None:
        return NotFound(f"no vendor {name!r}", field="name")
    return NotFound(f"no version of vendor {name!r} in force on {on}", field="name")


def version_in_force(versions: Sequence[Vendor], name: str, on: date | None = None) -> Vendor:
    """The version of ``versions`` (a vendor's, oldest first) in force on ``on``: the latest
    taking effect on or before it (the latest of all when ``on`` is None); a repository's
    ``get`` from its ``versions``. ``NotFound`` (:func:`vendor_not_found`) when none is."""
    for vendor in reversed(versions):
        if on is None or vendor.effective <= on:
            return vendor
    raise vendor_not_found(name, on)


# --- the tenant's billing profile (BILL-4, BILL-5, PLAN-2) ------------------------------------

# An address as mail systems accept it: one "@", a dotted domain, no spaces (BILL-5).
_EMAIL = re.compile(
    r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_TAX_ID = re.compile(r"[A-Z0-9][A-Z0-9 ./-]{1,30}[A-Z0-9]")
_PROFILE_FIELDS = ("country", "billing_email", "tax_id", "payment")


def _check_email(value: object, field: str = "billing_email") -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValidationError(
            f"must be an e-mail address such as 'billing@example.com', got {value!r}",
            field=field,
            rule="BILL-5",
        )
    return value


def _check_tax_id(value: object, field: str = "tax_id") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TAX_ID.fullmatch(value):
        raise ValidationError(
            "must be null or 3-32 upper-case letters, digits, spaces, '.', '/' or '-' "
            f"such as 'CZ12345678', got {value!r}",
            field=field,
        )
    return value


def _check_payment(value: object, field: str = "payment") -> PaymentMethod | None:
    """None: the profile leaves the method as it is (the activation's, else card)."""
    if value is None or isinstance(value, PaymentMethod):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return PaymentMethod(value)
    except ValueError:
        allowed = ", ".join(repr(method.value) for method in PaymentMethod)
        raise ValidationError(
            f"must be one of {allowed}, got {value!r}", field=field, rule="BILL-4"
        ) from None


@attrs.frozen
class TenantBillingProfile:
    """Whom and how a tenant is invoiced: the customer's ``country`` (its VAT rate, PLAN-2),
    the ``billing_email`` invoices go to (BILL-5), an optional ``tax_id`` and the ``payment``
    method (BILL-4: card charged at issue, transfer due later with a fee line; None, the
    default: the method stays as it is, the activation's, else card).

    >>> profile = TenantBillingProfile("CZ", "billing@acme.cz", payment="transfer")
    >>> TenantBillingProfile.from_document(profile.to_document()) == profile
    True
    """

    country: str = attrs.field(validator=lambda _i, _a, value: check_country(value))
    billing_email: str = attrs.field(validator=lambda _i, _a, value: _check_email(value))
    tax_id: str | None = attrs.field(
        default=None, validator=lambda _i, _a, value: _check_tax_id(value)
    )
    payment: PaymentMethod | None = attrs.field(default=None, converter=_check_payment)

    def to_document(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "billing_email": self.billing_email,
            "tax_id": self.tax_id,
            "payment": None if self.payment is None else self.payment.value,
        }

    @classmethod
    def from_document(cls, data: object, root: str = "$") -> TenantBillingProfile:
        """Validate a profile document; ``ValidationError`` naming the JSON path of the first
        bad field (``$.billing_email``)."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"must be an object, got {_show(data)}", field=root)
        unknown = sorted(set(data) - set(_PROFILE_FIELDS))
        if unknown:
            raise ValidationError(f"unknown field(s) {unknown}", field=root)
        for key in ("country", "billing_email"):
            if key not in data:
                raise ValidationError("required field missing", field=f"{root}.{key}")
        return cls(
            check_country(data["country"], f"{root}.country"),
            _check_email(data["billing_email"], f"{root}.billing_email"),
            _check_tax_id(data.get("tax_id"), f"{root}.tax_id"),
            _check_payment(data.get("payment"), f"{root}.payment"),
        )
