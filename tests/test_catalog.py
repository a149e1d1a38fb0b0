"""Plans and catalogues: prices, limits, ranks, JSON/TOML round-trips, validation (PLAN-1..5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.errors import CatalogError, UnknownPlan, UnknownPrice, ValidationError
from crmcore.money import Money
from crmcore.testing.strategies import plan_catalogs

DOCUMENT: dict[str, Any] = {
    "plans": [
        {
            "code": "free",
            "rank": 0,
            "prices": [],
            "limits": {"records": 500},
            "features": [],
        },
        {
            "code": "standard",
            "rank": 1,
            "prices": [
                {"currency": "CZK", "cycle": "monthly", "amount": "500.00"},
                {"currency": "CZK", "cycle": "annual", "amount": "5400.00"},
            ],
            "limits": {"records": 10000, "api_calls_per_day": 1000},
            "features": ["api"],
        },
        {
            "code": "premium",
            "rank": 2,
            "prices": [{"currency": "CZK", "cycle": "monthly", "amount": "800.00"}],
            "limits": {"records": 100000, "storage_per_seat_gb": "2.5"},
            "features": ["api", "esign"],
        },
        {
            "code": "enterprise",
            "rank": 3,
            "prices": [{"currency": "CZK", "cycle": "monthly", "amount": "1200.00"}],
        },
    ]
}

CATALOG = Catalog.from_dict(DOCUMENT)


def test_plans_are_ordered_by_rank_and_priced_per_cycle_PLAN_1() -> None:
    shuffled = Catalog(tuple(reversed(CATALOG.plans)))
    assert [p.code for p in shuffled] == ["free", "standard", "premium", "enterprise"]
    standard = CATALOG.get("standard")
    assert standard.price(Cycle.MONTHLY, "CZK") == Money.of("500.00", "CZK")
    assert standard.price("annual", "CZK") == Money.of("5400.00", "CZK")
    assert CATALOG.top.code == "enterprise"
    assert [p.code for p in CATALOG.higher_than(standard)] == ["premium", "enterprise"]
    assert CATALOG.is_upgrade(standard, CATALOG.get("premium"))
    assert not CATALOG.is_upgrade(standard, CATALOG.get("free"))
    assert CATALOG.get("premium").limits.storage_per_seat_gb is not None
    assert CATALOG.get("enterprise").limits == Limits()  # None = unlimited
    assert CATALOG.get("premium").has_feature("esign")
    assert "premium" in CATALOG
    assert len(CATALOG) == 4


def test_free_plan_costs_zero_in_any_currency_PLAN_5() -> None:
    free = CATALOG.free_plan()
    assert free is not None
    assert free.code == "free"
    assert free.is_free
    assert free.price(Cycle.MONTHLY, "PLN") == Money.zero("PLN")


def test_missing_price_is_a_typed_lookup_error_PLAN_1() -> None:
    with pytest.raises(UnknownPrice, match=r"prices: plan 'premium' has no annual price in CZK"):
        CATALOG.get("premium").price(Cycle.ANNUAL, "CZK")


def test_unknown_plan_error_names_the_known_codes_PLAN_1() -> None:
    with pytest.raises(UnknownPlan) as caught:
        CATALOG.get("gold", field="events[2].plan")
    assert str(caught.value) == (
        "events[2].plan: unknown plan 'gold' (known: free, standard, premium, enterprise) (PLAN-1)"
    )
    assert isinstance(caught.value, LookupError)


def test_cheapest_plan_whose_record_limit_fits_REC_4() -> None:
    assert CATALOG.cheapest_fitting_records(500).code == "free"  # type: ignore[union-attr]
    assert CATALOG.cheapest_fitting_records(501).code == "standard"  # type: ignore[union-attr]
    assert CATALOG.cheapest_fitting_records(10_001).code == "premium"  # type: ignore[union-attr]
    standard = CATALOG.get("standard")
    fitting = CATALOG.cheapest_fitting_records(5, above=standard)
    assert fitting is not None
    assert fitting.code == "premium"
    limited = Catalog((Plan("only", 1, (), Limits(records=10)),))
    assert limited.cheapest_fitting_records(11) is None
    with pytest.raises(ValidationError, match=r"records: must be >= 0"):
        CATALOG.cheapest_fitting_records(-1)


def test_rec_4_names_the_cheapest_higher_plan_not_the_next_rank() -> None:
    """REC-4: 150 records on standard (100, 500.00 a seat and month): premium (rank 2, 500
    records, 800.00) and pro (rank 3, 1000 records, 700.00) both fit; pro is cheaper
    (700.00 < 800.00), so pro is named; annual prices, where premium is cheaper (7000.00 <
    7500.00), name premium; without a cycle and currency, the lowest rank."""
    catalog = Catalog(
        (
            Plan("standard", 1, (Price("CZK", Cycle.MONTHLY, "500.00"),), Limits(records=100)),
            Plan(
                "premium",
                2,
                (Price("CZK", Cycle.MONTHLY, "800.00"), Price("CZK", Cycle.ANNUAL, "7000.00")),
                Limits(records=500),
            ),
            Plan(
                "pro",
                3,
                (Price("CZK", Cycle.MONTHLY, "700.00"), Price("CZK", Cycle.ANNUAL, "7500.00")),
                Limits(records=1000),
            ),
        )
    )
    standard = catalog.get("standard")
    assert catalog.cheapest_fitting_records(150, standard, Cycle.MONTHLY, "CZK") == catalog.get(
        "pro"
    )
    assert catalog.cheapest_fitting_records(150, standard, Cycle.ANNUAL, "CZK") == catalog.get(
        "premium"
    )
    assert catalog.cheapest_fitting_records(150, standard) == catalog.get("premium")
    assert catalog.cheapest_fitting_records(600, standard, Cycle.MONTHLY, "CZK") == catalog.get(
        "pro"
    )


@given(plan_catalogs(min_plans=1), st.integers(0, 200_000), st.sampled_from(list(Cycle)))
def test_rec_4_no_fitting_higher_plan_is_cheaper(
    catalog: Catalog, records: int, cycle: Cycle
) -> None:
    """REC-4 for any catalogue: the plan named fits, ranks above the tenant's plan, and no
    other fitting higher plan priced in that cycle and currency is cheaper (or as cheap and
    lower-ranked); none is named only when none fits."""
    current = catalog.plans[0]
    currency = next((p.currency for plan in catalog.plans for p in plan.prices), "CZK")
    named = catalog.cheapest_fitting_records(records, current, cycle, currency)
    fitting = [
        p
        for p in catalog.higher_than(current)
        if p.limits.records is None or p.limits.records >= records
    ]
    assert (named is None) == (not fitting)
    if named is None:
        return
    assert named in fitting

    def price(plan: Plan) -> object:
        try:
            return plan.price(cycle, currency).amount
        except UnknownPrice:
            return None

    if price(named) is None:
        assert all(price(p) is None for p in fitting)
        return
    for other in fitting:
        cost = price(other)
        if cost is not None:
            assert (price(named), named.rank) <= (cost, other.rank)


def test_validation_lists_every_bad_path_at_once_PLAN_1() -> None:
    bad = {
        "plans": [
            {
                "code": "a",
                "rank": "x",
                "prices": [{"currency": "PLN", "cycle": "weekly", "amount": 1.5}],
                "limits": {"records": 5, "bogus": 2},
            },
            {
                "code": "b",
                "rank": 1,
                "prices": [{"currency": "JPY", "cycle": "monthly", "amount": "1.5"}],
                "limits": {"records": -1},
            },
            {"rank": 3, "prices": [], "colour": "red"},
        ]
    }
    with pytest.raises(CatalogError) as caught:
        Catalog.from_dict(bad)
    assert list(caught.value.errors) == [
        "$.plans[0].rank: must be an integer, got 'x'",
        "$.plans[0].prices[0].cycle: must be one of 'monthly', 'annual', got 'weekly'",
        "$.plans[0].prices[0].amount: must be a decimal string, not float 1.5 (BILL-7)",
        "$.plans[0].limits: unknown field(s) ['bogus']",
        "$.plans[1].prices[0].amount: 1.5 has more decimals than JPY's 0 (BILL-7)",
        "$.plans[1].limits.records: must be >= 0 or null (unlimited), got -1",
        "$.plans[2].code: required field missing",
        "$.plans[2]: unknown field(s) ['colour']",
    ]
    assert str(caught.value).startswith("8 invalid value(s) in catalogue: ")
    assert caught.value.rule == "PLAN-1"


def test_a_catalogue_error_names_plan_1_once_PLAN_1() -> None:
    """The message ended ``(PLAN-1) (PLAN-1)`` when the last entry carried the rule too."""
    negative = [{"currency": "PLN", "cycle": "monthly", "amount": "-1.00"}]
    with pytest.raises(CatalogError) as caught:
        Catalog.from_dict({"plans": [{"code": "a", "rank": 1, "prices": negative}]})
    assert str(caught.value) == (
        "1 invalid value(s) in catalogue: $.plans[0].prices[0].amount: must be >= 0, got -1.00"
        " (PLAN-1)"
    )
    assert caught.value.rule == "PLAN-1"


def test_duplicate_codes_and_ranks_are_refused_PLAN_1() -> None:
    twice = {"plans": [{"code": "a", "rank": 1, "prices": []}] * 2}
    with pytest.raises(CatalogError) as caught:
        Catalog.from_dict(twice)
    assert caught.value.errors == (
        "$.plans[1].code: duplicate plan code 'a' (also plans[0])",
        "$.plans[1].rank: duplicate rank 1 (also plans[0])",
    )
    # The paths are those of the document, not of the plans sorted by rank.
    shuffled = {
        "plans": [
            {"code": "top", "rank": 9, "prices": []},
            {"code": "low", "rank": 1, "prices": []},
            {"code": "top", "rank": 5, "prices": []},
        ]
    }
    with pytest.raises(CatalogError) as caught:
        Catalog.from_dict(shuffled)
    assert caught.value.errors == ("$.plans[2].code: duplicate plan code 'top' (also plans[0])",)
    with pytest.raises(ValidationError, match=r"prices: two prices for monthly in PLN"):
        Plan("a", 1, (Price("PLN", Cycle.MONTHLY, Money.of("1", "PLN").amount),) * 2)


def test_unparseable_documents_are_catalog_errors_PLAN_1() -> None:
    with pytest.raises(CatalogError, match=r"\$: not valid JSON"):
        Catalog.loads_json("{plans: ")
    with pytest.raises(CatalogError, match=r"\$: not valid TOML"):
        Catalog.loads_toml("plans = [")


def test_files_round_trip_in_json_and_toml_PLAN_1(tmp_path: Path) -> None:
    for name in ("catalogue.json", "catalogue.toml"):
        path = tmp_path / name
        CATALOG.dump(path)
        assert Catalog.load(path) == CATALOG
    # TOML has no null: unlimited limits are simply absent.
    assert (
        "api_calls_per_day"
        not in (tmp_path / "catalogue.toml").read_text().split("[plans.limits]")[-1]
    )


@given(plan_catalogs())
def test_json_round_trip_PLAN_1(catalog: Catalog) -> None:
    assert Catalog.loads_json(catalog.dumps_json()) == catalog
    assert Catalog.from_dict(catalog.to_dict()) == catalog


@given(plan_catalogs())
def test_toml_round_trip_PLAN_1(catalog: Catalog) -> None:
    assert Catalog.loads_toml(catalog.dumps_toml()) == catalog


def test_collections_and_objects_must_have_their_json_shape_PLAN_1() -> None:
    # A string is iterable: without the check, features "api" would become {"a", "p", "i"}.
    with pytest.raises(CatalogError) as caught:
        Catalog.from_dict(
            {
                "plans": [
                    5,
                    {"code": "a", "rank": 1, "prices": {}, "features": "api", "limits": 3},
                    {"code": "b", "rank": 2, "prices": [], "features": ["api", 3]},
                ]
            }
        )
    assert caught.value.errors == (
        "$.plans[0]: must be an object, got 5",
        "$.plans[1].prices: must be a list, got {}",
        "$.plans[1].limits: must be an object, got 3",
        "$.plans[1].features: must be a list, got 'api'",
        "$.plans[2].features[1]: must be a string, got 3",
    )
    with pytest.raises(CatalogError, match=r"\$: must be an object, got \[\]"):
        Catalog.from_dict([])  # type: ignore[arg-type]
