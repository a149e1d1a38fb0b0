"""crmcore.vendors: a vendor as data (PLAN-1, PLAN-2, PLAN-4) and the tenant's billing profile
(BILL-4, BILL-5). Storage of vendors: the contract in crmcore.testing.storage."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import attrs
import pytest
from hypothesis import given

from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.errors import UnknownPreset, ValidationError, VendorError
from crmcore.events import PaymentMethod
from crmcore.money import Money
from crmcore.presets import preset
from crmcore.testing.strategies import billing_profiles, vendor_versions
from crmcore.vendors import TenantBillingProfile, Vendor, vendor_from_preset

JANUARY = date(2026, 1, 1)


def _acme(**changes: object) -> Vendor:
    catalog = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, Decimal("500.00"))])])  # type: ignore[list-item]
    vendor = vendor_from_preset(
        "raynet", name="acme", effective=JANUARY, catalog=catalog, fees={"transfer": "50.00"}
    )
    return attrs.evolve(vendor, **changes) if changes else vendor


# --- PLAN-2: VAT by the customer's country ------------------------------------------------------


def test_plan2_vat_rate_follows_the_customer_country_with_the_vendor_country_as_default() -> None:
    """PLAN-2: PL 23 %, CZ 21 %, SK 23 %; a country without a rate gets the vendor's own
    country's rate (acme is Czech: 21 %; a Polish vendor: 23 %)."""
    acme = _acme()
    assert acme.policy.country == "CZ"
    assert acme.vat_rate("CZ") == Decimal("0.21")
    assert acme.vat_rate("PL") == Decimal("0.23")
    assert acme.vat_rate("SK") == Decimal("0.23")
    assert acme.vat_rate("DE") == Decimal("0.21")  # not listed: CZ's
    polish = vendor_from_preset("livespace", effective=JANUARY)
    assert polish.policy.country == "PL"
    assert polish.vat_rate("DE") == Decimal("0.23")  # not listed: PL's
    # VAT on a 1000.00 CZK net invoice for a Slovak customer: 1000.00 * 0.23 = 230.00
    assert Decimal("1000.00") * acme.vat_rate("SK") == Decimal("230.0000")


def test_plan2_the_vendor_country_rate_is_required() -> None:
    with pytest.raises(VendorError) as caught:
        _acme(vat_rates={"PL": Decimal("0.23")})
    assert "vat_rates: must give the rate of the vendor's own country CZ" in str(caught.value)


@pytest.mark.parametrize("rate", [Decimal("1"), Decimal("-0.01"), Decimal("1.5")])
def test_plan2_a_rate_outside_0_to_1_is_refused(rate: Decimal) -> None:
    with pytest.raises(VendorError) as caught:
        _acme(vat_rates={"CZ": Decimal("0.21"), "SK": rate})
    assert "vat_rates.SK: must be a ratio from 0 to below 1" in str(caught.value)
    assert caught.value.rule == "PLAN-2"


def test_plan2_a_rate_of_zero_and_just_below_one_are_accepted() -> None:
    vendor = _acme(vat_rates={"CZ": Decimal("0"), "SK": Decimal("0.9999")})
    assert (vendor.vat_rate("CZ"), vendor.vat_rate("SK")) == (Decimal(0), Decimal("0.9999"))


# --- PLAN-4: price-list fees --------------------------------------------------------------------


def test_plan4_the_transfer_fee_is_money_in_the_vendor_currency() -> None:
    acme = _acme()
    assert acme.transfer_fee == Money(Decimal("50.00"), "CZK")
    assert acme.fee("backup_copy") == Money.zero("CZK")  # not in the price list: nothing
    assert _acme(fees={}).transfer_fee == Money.zero("CZK")


@pytest.mark.parametrize(
    ("fee", "text"),
    [
        (Money.of("50.00", "EUR"), "must be in the vendor's currency CZK"),
        (Money.of("-1.00", "CZK"), "must be an amount >= 0 with at most 2 decimals"),
        (Money.of("0.001", "CZK"), "must be an amount >= 0 with at most 2 decimals"),
    ],
)
def test_plan4_a_fee_in_another_currency_negative_or_below_a_minor_unit_is_refused(
    fee: Money, text: str
) -> None:
    with pytest.raises(VendorError) as caught:
        _acme(fees={"transfer": fee})
    assert f"fees.transfer: {text}" in str(caught.value)
    assert caught.value.rule == "PLAN-4"


# --- the vendor's parts agree -------------------------------------------------------------------


def test_plan1_every_paid_plan_has_a_price_in_the_vendor_currency() -> None:
    euro = Catalog([Plan("standard", 1, [Price("EUR", Cycle.MONTHLY, Decimal("20.00"))])])  # type: ignore[list-item]
    with pytest.raises(VendorError) as caught:
        _acme(catalog=euro)
    assert "catalog.plans[0].prices: plan 'standard' has no price in CZK (PLAN-1)" in str(
        caught.value
    )
    free = Catalog([Plan("free", 0, [], Limits(records=100))])
    assert _acme(catalog=free).catalog == free  # a free plan needs no price (PLAN-5)


def test_currency_and_name_agree_with_the_policy() -> None:
    with pytest.raises(VendorError) as caught:
        _acme(currency="EUR")
    assert "currency: must be the policy's currency 'CZK', got 'EUR'" in str(caught.value)
    with pytest.raises(VendorError) as caught:
        _acme(name="other")
    assert "policy.name: must be the vendor's name 'other', got 'acme'" in str(caught.value)


@pytest.mark.parametrize("name", ["", "Acme", "acme corp", "-acme", "a" * 65, "acmé"])
def test_a_vendor_name_is_a_plain_lower_case_id(name: str) -> None:
    with pytest.raises(VendorError) as caught:
        vendor_from_preset("raynet", effective=JANUARY).__class__(
            name=name,
            policy=attrs.evolve(preset("raynet"), name=name),
            catalog=Catalog(()),
            effective=JANUARY,
            vat_rates={"CZ": Decimal("0.21")},
        )
    assert "name: must be 1-64 lower-case letters" in str(caught.value)


def test_a_vendor_is_frozen() -> None:
    acme = _acme()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        acme.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        acme.vat_rates["CZ"] = Decimal("0.5")  # type: ignore[index]


# --- presets are starting points ----------------------------------------------------------------


def test_vendor_from_preset_is_the_preset_renamed_with_starting_rates() -> None:
    acme = vendor_from_preset("raynet", name="acme", effective=JANUARY)
    assert acme.policy == attrs.evolve(preset("raynet"), name="acme")
    assert acme.currency == "CZK"
    assert dict(acme.vat_rates) == {
        "CZ": Decimal("0.21"),
        "PL": Decimal("0.23"),
        "SK": Decimal("0.23"),
    }
    assert acme.catalog == Catalog(())
    assert dict(acme.fees) == {}
    assert vendor_from_preset("raynet", effective=JANUARY).name == "raynet"
    with pytest.raises(UnknownPreset):
        vendor_from_preset("acme", effective=JANUARY)


# --- the JSON document --------------------------------------------------------------------------


@given(vendor_versions())
def test_the_vendor_document_round_trips_exactly(vendor: Vendor) -> None:
    """The document (and its JSON text) gives back an equal vendor, rates and fees to the digit,
    and dumping it again gives the same text."""
    text = vendor.dumps_json()
    back = Vendor.loads_json(text)
    assert back == vendor
    assert back.dumps_json() == text
    assert {c: str(r) for c, r in back.vat_rates.items()} == {
        c: str(r) for c, r in vendor.vat_rates.items()
    }
    assert Vendor.from_document(json.loads(text)) == vendor


def test_the_document_lists_every_bad_path_at_once() -> None:
    document = _acme().to_document()
    document["vat_rates"]["SK"] = 0.23  # a float: refused (BILL-7)
    document["fees"]["transfer"] = "-5.00"
    document["policy"]["dunning"]["block_after_days"] = "three"
    document["catalog"]["plans"][0]["rank"] = "first"
    document["effective"] = "2026-02-30"
    document["colour"] = "red"
    with pytest.raises(VendorError) as caught:
        Vendor.from_document(document)
    text = str(caught.value)
    for path in (
        "$: unknown field(s) ['colour']",
        "$.effective:",
        "$.policy.dunning.block_after_days:",
        "$.catalog.plans[0].rank:",
    ):
        assert path in text, (path, text)
    document = _acme().to_document()
    document["vat_rates"]["SK"] = 0.23
    document["fees"]["transfer"] = "-5.00"
    with pytest.raises(VendorError) as caught:
        Vendor.from_document(document)
    assert "$.vat_rates.SK: must be a decimal string, not float 0.23" in str(caught.value)
    assert "$.fees.transfer: must be an amount >= 0" in str(caught.value)


def test_a_document_that_is_not_json_or_not_an_object_is_refused_at_the_root() -> None:
    for text in ("{", "[]", '"acme"'):
        with pytest.raises(VendorError) as caught:
            Vendor.loads_json(text)
        assert str(caught.value).count("$:") == 1


def test_a_missing_part_is_named() -> None:
    document = _acme().to_document()
    del document["catalog"]
    with pytest.raises(VendorError, match=r"\$\.catalog: required field missing"):
        Vendor.from_document(document)


# --- the tenant's billing profile (BILL-4, BILL-5, PLAN-2) ---------------------------------------


@given(billing_profiles())
def test_the_billing_profile_document_round_trips(profile: TenantBillingProfile) -> None:
    document = json.loads(json.dumps(profile.to_document()))
    assert TenantBillingProfile.from_document(document) == profile


def test_the_billing_profile_leaves_the_method_as_it_is_without_tax_id() -> None:
    """BILL-4: a profile naming no method leaves the tenant's (the activation's, else card)."""
    profile = TenantBillingProfile("CZ", "billing@acme.cz")
    assert (profile.payment, profile.tax_id) == (None, None)
    assert TenantBillingProfile.from_document(profile.to_document()) == profile
    assert TenantBillingProfile("CZ", "b@acme.cz", payment="card").payment is PaymentMethod.CARD
    assert TenantBillingProfile("SK", "a@b.sk", "SK2020123456", "transfer").payment is (
        PaymentMethod.TRANSFER
    )


@pytest.mark.parametrize(
    "email", ["", "billing", "billing@", "@acme.cz", "bill ing@acme.cz", "a@acme", "a@@acme.cz"]
)
def test_bill5_a_billing_address_must_be_an_email(email: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TenantBillingProfile("CZ", email)
    assert (caught.value.field, caught.value.rule) == ("billing_email", "BILL-5")
    with pytest.raises(ValidationError) as caught:
        TenantBillingProfile.from_document({"country": "CZ", "billing_email": email})
    assert (caught.value.field, caught.value.rule) == ("$.billing_email", "BILL-5")


@pytest.mark.parametrize("country", ["cz", "CZE", "XX", "EU", 42])
def test_plan2_the_customer_country_is_an_iso_code(country: object) -> None:
    with pytest.raises(ValidationError) as caught:
        TenantBillingProfile.from_document({"country": country, "billing_email": "a@b.cz"})
    assert (caught.value.field, caught.value.rule) == ("$.country", "PLAN-2")
