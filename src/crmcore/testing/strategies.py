"""Hypothesis strategies for crmcore's domain values (public: property-test your own code).

This module and the family modules beside it (``crmcore.testing.billing``,
``crmcore.testing.dunning``, ``crmcore.testing.services``, ``crmcore.testing.visibility``, and
the storage contract ``crmcore.testing.storage``) are the only crmcore modules that import
``hypothesis``; the rest of the core never does, so ``hypothesis`` is needed only where they
are imported (``pip install crmcore[test]``).

>>> from hypothesis import given
>>> @given(money(currencies=["JPY"]))
... def test_yen_has_no_minor_units(amount: Money) -> None:
...     assert amount.amount == amount.amount.to_integral_value()
>>> test_yen_has_no_minor_units()

These are the strategies of the foundation (money, dates, periods, plans, catalogues,
policies); each rule family keeps its own in its ``testing_<family>`` module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.dates import last_day_of_month, zone
from crmcore.money import Money, minor_units
from crmcore.periods import Period
from crmcore.policies import DowngradeTiming, VendorPolicy
from crmcore.presets import PRESETS
from crmcore.vendors import PaymentMethod, TenantBillingProfile, Vendor

__all__ = [
    "CURRENCIES",
    "VENDOR_TIMEZONES",
    "annual_periods",
    "aware_datetimes",
    "calendar_months",
    "currencies",
    "dates",
    "decimals",
    "dst_edge_datetimes",
    "limits",
    "money",
    "periods",
    "plan_catalogs",
    "plans",
    "policies",
    "prices",
    "vendor_dates",
]

#: Currencies the strategies draw from: 2 minor digits (PLN, CZK, EUR, ...), 0 (JPY, KRW) and
#: 3 (KWD, BHD), so code that assumes "always two decimals" is caught.
CURRENCIES: tuple[str, ...] = (
    "PLN",
    "CZK",
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "HUF",
    "JPY",
    "KRW",
    "KWD",
    "BHD",
)

#: The zones of the seed vendors (TIME-2) plus UTC and a zone with a different DST calendar.
VENDOR_TIMEZONES: tuple[str, ...] = ("Europe/Warsaw", "Europe/Prague", "UTC", "America/New_York")

_MIN_DAY = date(2000, 1, 1)
_MAX_DAY = date(2099, 12, 31)


def currencies(codes: Sequence[str] = CURRENCIES) -> st.SearchStrategy[str]:
    """ISO 4217 codes from ``codes`` (default :data:`CURRENCIES`, mixed minor units)."""
    return st.sampled_from(tuple(codes))


def decimals(
    min_value: Decimal | int | str = -(10**9),
    max_value: Decimal | int | str = 10**9,
    places: int | None = 2,
) -> st.SearchStrategy[Decimal]:
    """Finite ``Decimal`` values in ``[min_value, max_value]`` with ``places`` decimals.

    ``places=None`` draws any exponent (useful for exact, not-yet-rounded amounts).
    """
    return st.decimals(
        min_value=Decimal(min_value),
        max_value=Decimal(max_value),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def money(
    currencies: Sequence[str] = CURRENCIES,
    *,
    min_value: Decimal | int | str = -(10**9),
    max_value: Decimal | int | str = 10**9,
    extra_places: int = 0,
) -> st.SearchStrategy[Money]:
    """:class:`~crmcore.money.Money` in one of ``currencies`` (BILL-7).

    Amounts have exactly the currency's minor units (PLN 2 decimals, JPY none, KWD 3), or
    ``extra_places`` more to produce unrounded amounts (for rounding properties).
    """

    def in_currency(currency: str) -> st.SearchStrategy[Money]:
        places = minor_units(currency) + extra_places
        return decimals(min_value, max_value, places).map(lambda amount: Money(amount, currency))

    return st.sampled_from(tuple(currencies)).flatmap(in_currency)


def dates(min_value: date = _MIN_DAY, max_value: date = _MAX_DAY) -> st.SearchStrategy[date]:
    """Calendar days in ``[min_value, max_value]``, biased towards month ends and 29 February
    (the days month arithmetic must clamp, TIME-4)."""
    # A month end past ``max_value`` is clamped to it, so no draw is ever thrown away.
    month_ends = st.dates(min_value, max_value).map(lambda d: min(last_day_of_month(d), max_value))
    leap_days = [
        date(year, 2, 29)
        for year in range(min_value.year, max_value.year + 1)
        if _is_leap(year) and min_value <= date(year, 2, 29) <= max_value
    ]
    edges = st.one_of(month_ends, st.sampled_from(leap_days)) if leap_days else month_ends
    return st.one_of(st.dates(min_value, max_value), edges)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def vendor_dates() -> st.SearchStrategy[date]:
    """Days of the years the holiday data covers well (2000-2099), for business-day tests."""
    return dates()


def _last_sunday(year: int, month: int) -> date:
    day = last_day_of_month(date(year, month, 1))
    return day - timedelta(days=(day.weekday() + 1) % 7)


def dst_edge_datetimes(
    timezones: Sequence[str] = ("Europe/Warsaw", "Europe/Prague"),
) -> st.SearchStrategy[datetime]:
    """Aware datetimes within hours of the European DST changes (last Sunday of March and
    October, 00:00-04:59 local), both sides of an ambiguous hour (``fold``), TIME-1/TRIAL-1.

    Wall-clock times skipped by the spring change are normalised to real instants.
    """

    @st.composite
    def build(draw: st.DrawFn) -> datetime:
        name = draw(st.sampled_from(tuple(timezones)))
        day = _last_sunday(draw(st.integers(2000, 2099)), draw(st.sampled_from((3, 10))))
        fold = draw(st.sampled_from((0, 1)))
        clock = time(draw(st.integers(0, 4)), draw(st.integers(0, 59)), fold=fold)
        wall = datetime.combine(day, clock, tzinfo=zone(name))
        return wall.astimezone(UTC).astimezone(zone(name))

    return build()


def aware_datetimes(
    timezones: Sequence[str] = VENDOR_TIMEZONES,
    min_value: datetime = datetime(2000, 1, 1),
    max_value: datetime = datetime(2099, 12, 31),
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes (TIME-1) in ``timezones``, including DST-change edges.

    ``min_value``/``max_value`` are naive bounds in local time (hypothesis' convention).
    Never produces a naive datetime nor a wall-clock time that does not exist.
    """
    general = st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=st.sampled_from(tuple(timezones)).map(zone),
        allow_imaginary=False,
    )
    european = tuple(t for t in timezones if t.startswith("Europe/"))
    if not european:
        return general
    edges = dst_edge_datetimes(european).filter(
        lambda dt: min_value <= dt.replace(tzinfo=None) <= max_value
    )
    return st.one_of(general, edges)


def calendar_months(min_year: int = 2000, max_year: int = 2099) -> st.SearchStrategy[Period]:
    """Calendar-month periods (BILL-1 monthly cycle): 28-31 days."""
    return st.builds(Period.calendar_month, st.integers(min_year, max_year), st.integers(1, 12))


def annual_periods(max_n: int = 10) -> st.SearchStrategy[Period]:
    """The ``n``-th annual period from an anchor (BILL-1), anchors biased to month ends,
    31 January and 29 February (clamped from the anchor, TIME-4)."""
    anchors = st.one_of(
        dates(max_value=date(2080, 12, 31)),
        st.sampled_from((date(2026, 1, 31), date(2028, 2, 29), date(2024, 2, 29))),
    )
    return st.builds(Period.annual, anchors, st.integers(0, max_n))


def periods() -> st.SearchStrategy[Period]:
    """Billing periods: calendar months or annual periods."""
    return st.one_of(calendar_months(), annual_periods())


def limits() -> st.SearchStrategy[Limits]:
    """Plan limits (PLAN-1), each ``None`` (unlimited) or a non-negative value."""
    count = st.none() | st.integers(0, 10**7)
    return st.builds(
        Limits,
        records=count,
        api_calls_per_day=count,
        storage_per_seat_gb=st.none() | decimals(0, 1000, 1),
        support_minutes_per_user=count,
        esign_documents_per_month=count,
    )


def prices(currency_codes: Sequence[str] = CURRENCIES) -> st.SearchStrategy[Price]:
    """A net price per seat for one cycle and currency (PLAN-1), >= 0, in minor units."""

    def build(currency: str) -> st.SearchStrategy[Price]:
        return st.builds(
            Price,
            currency=st.just(currency),
            cycle=st.sampled_from(Cycle),
            amount=decimals(0, 100_000, minor_units(currency)),
        )

    return st.sampled_from(tuple(currency_codes)).flatmap(build)


_CODES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
_RANKS = st.integers(0, 100)
_FEATURES = st.frozensets(
    st.sampled_from(("api", "esign", "export", "automation", "reports", "sso")), max_size=6
)


def plans(
    code: st.SearchStrategy[str] = _CODES,
    rank: st.SearchStrategy[int] = _RANKS,
    currency_codes: Sequence[str] = CURRENCIES,
) -> st.SearchStrategy[Plan]:
    """Plans (PLAN-1): prices unique per (currency, cycle), limits, features; sometimes free."""
    price_list = st.lists(
        prices(currency_codes), max_size=4, unique_by=lambda p: (p.currency, p.cycle)
    )
    return st.builds(
        Plan,
        code=code,
        rank=rank,
        prices=price_list.map(tuple),
        limits=limits(),
        features=_FEATURES,
    )


def plan_catalogs(
    min_plans: int = 0, max_plans: int = 5, currency_codes: Sequence[str] = CURRENCIES
) -> st.SearchStrategy[Catalog]:
    """Catalogues (PLAN-1) with unique plan codes and unique ranks."""

    @st.composite
    def build(draw: st.DrawFn) -> Catalog:
        codes = draw(st.lists(_CODES, min_size=min_plans, max_size=max_plans, unique=True))
        ranks = draw(
            st.lists(st.integers(0, 100), min_size=len(codes), max_size=len(codes), unique=True)
        )
        return Catalog(
            tuple(
                draw(plans(code=st.just(c), rank=st.just(r), currency_codes=currency_codes))
                for c, r in zip(codes, ranks, strict=True)
            )
        )

    return build()


def policies(presets: Sequence[str] = tuple(PRESETS)) -> st.SearchStrategy[VendorPolicy]:
    """Vendor policies: a preset with varied parameters (trial length, grace, dunning
    thresholds, downgrade timing, record warning ratio, API-2/SUP-1/STOR-1 terms stated or
    left out), always valid."""

    @st.composite
    def build(draw: st.DrawFn) -> VendorPolicy:
        policy = PRESETS[draw(st.sampled_from(tuple(presets)))]
        block = draw(st.integers(0, 30))
        cancel = draw(st.integers(block + 1, block + 90))
        purge = draw(st.integers(cancel + 1, cancel + 200))
        changes: dict[str, Any] = {
            "billing": attrs.evolve(
                policy.billing,
                transfer_due_days=draw(st.integers(0, 60)),
                downgrade_takes_effect=draw(st.sampled_from(DowngradeTiming)),
            ),
            # API-2, SUP-1, STOR-1: a vendor may state them or leave them out (None)
            "limits": attrs.evolve(
                policy.limits,
                record_warning_ratio=draw(decimals(Decimal("0.5"), 1, 2)),
                api_monthly_transfer_gb=draw(st.none() | st.integers(0, 500)),
                support_minutes_per_user_month=draw(st.none() | st.integers(0, 240)),
                linked_files_count_toward_storage=draw(st.none() | st.booleans()),
            ),
        }
        # A family the preset leaves out (None: its vendor states no such terms) stays out.
        if policy.trial is not None:
            changes["trial"] = attrs.evolve(
                policy.trial,
                length=draw(st.integers(1, 90)),
                conversion_grace_days=draw(st.none() | st.integers(0, 30)),
                purge_after_days=draw(st.none() | st.integers(0, 180)),
                abuse_allowance=draw(st.integers(0, 3)),
            )
        if policy.dunning is not None:
            changes["dunning"] = attrs.evolve(
                policy.dunning,
                block_after_days=block,
                cancel_after_days=cancel,
                purge_after_days=purge,
            )
        return attrs.evolve(policy, **changes)

    return build()


# --- vendors as data (crmcore.vendors) ------------------------------------------------------

__all__ += ["billing_profiles", "vendor_names", "vendor_versions"]  # kept apart: merges stay clean

#: Customer countries the vendor strategies draw from (the seed vendors' markets and a few).
_COUNTRIES = ("CZ", "PL", "SK", "DE", "AT", "HU", "GB", "US", "JP")


def vendor_names() -> st.SearchStrategy[str]:
    """Valid vendor names (:data:`crmcore.vendors.VENDOR_NAME`)."""
    return st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)


def vendor_versions(presets: Sequence[str] = tuple(PRESETS)) -> st.SearchStrategy[Vendor]:
    """Vendors: a varied policy, a catalogue priced in the vendor's currency, VAT rates for
    some countries including the vendor's own (PLAN-2) and sometimes a transfer fee (PLAN-4),
    all with their currency's minor units; always valid."""

    @st.composite
    def build(draw: st.DrawFn) -> Vendor:
        name = draw(vendor_names())
        currency = draw(currencies())
        policy = attrs.evolve(draw(policies(presets)), name=name, currency=currency)
        countries = draw(st.sets(st.sampled_from(_COUNTRIES), max_size=4)) | {policy.country}
        rates = {
            c: draw(decimals(0, Decimal("0.9999"), draw(st.integers(0, 4)))) for c in countries
        }
        fees = draw(
            st.dictionaries(
                st.sampled_from(("transfer", "backup_copy", "esign_monthly")),
                decimals(0, 10_000, minor_units(currency)),
                max_size=3,
            )
        )
        catalog = draw(plan_catalogs(currency_codes=(currency,)))
        if not policy.limits.counted_record_kinds:  # REC-1: no record limit it never counts
            plans = [
                attrs.evolve(plan, limits=attrs.evolve(plan.limits, records=None))
                for plan in catalog.plans
            ]
            catalog = Catalog(plans)
        return Vendor(
            name=name,
            policy=policy,
            catalog=catalog,
            effective=draw(dates()),
            vat_rates=rates,
            fees={fee: Money(amount, currency) for fee, amount in fees.items()},
        )

    return build()


def billing_profiles() -> st.SearchStrategy[TenantBillingProfile]:
    """Tenants' billing profiles (PLAN-2 country, BILL-5 e-mail, BILL-4 payment method)."""
    return st.builds(
        TenantBillingProfile,
        country=st.sampled_from(_COUNTRIES),
        billing_email=st.from_regex(
            r"[a-z0-9._+-]{1,20}@[a-z0-9]{1,10}\.[a-z]{2,6}", fullmatch=True
        ),
        tax_id=st.none() | st.from_regex(r"[A-Z]{2}[0-9]{8,10}", fullmatch=True),
        payment=st.sampled_from(PaymentMethod),
    )
