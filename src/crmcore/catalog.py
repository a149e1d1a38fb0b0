"""Plans and catalogues (PLAN-1..5).

A :class:`Plan` has a code, a rank (higher = better), net prices per seat per cycle in one or
more currencies, limits (``None`` = unlimited) and features. A :class:`Catalog` holds plans
ordered by rank and answers "cheapest plan whose record limit fits N" (REC-4).

Catalogues load from and dump to JSON and TOML through cattrs; every bad path is reported at
once in a :class:`~crmcore.errors.CatalogError`.

>>> catalog = Catalog.from_dict({"plans": [
...     {"code": "standard", "rank": 1, "prices": [
...         {"currency": "CZK", "cycle": "monthly", "amount": "500.00"}],
...      "limits": {"records": 10000}},
...     {"code": "premium", "rank": 2, "prices": [
...         {"currency": "CZK", "cycle": "monthly", "amount": "800.00"}]}]})
>>> catalog.cheapest_fitting_records(12000).code
'premium'
>>> str(catalog.get("standard").price(Cycle.MONTHLY, "CZK"))
'500.00 CZK'
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import tomli_w

from crmcore.errors import CatalogError, UnknownPlan, UnknownPrice, ValidationError, short_repr
from crmcore.money import Money, _trusted, check_amount_digits, minor_units, parse_decimal
from crmcore.serialization import (
    converter,
    parse_document,
    read_document_file,
    structure_strict,
)

__all__ = ["Catalog", "Cycle", "Limits", "Plan", "Price"]


class Cycle(enum.StrEnum):
    """Billing cycle (BILL-1)."""

    MONTHLY = "monthly"
    ANNUAL = "annual"


def _non_negative(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ValidationError(
            f"must be >= 0 or null (unlimited), got {value}", field=attribute.name, rule="PLAN-1"
        )


@attrs.frozen
class Limits:
    """A plan's limits (PLAN-1); ``None`` means unlimited."""

    records: int | None = attrs.field(default=None, validator=_non_negative)
    api_calls_per_day: int | None = attrs.field(default=None, validator=_non_negative)
    storage_per_seat_gb: Decimal | None = attrs.field(default=None, validator=_non_negative)
    support_minutes_per_user: int | None = attrs.field(default=None, validator=_non_negative)
    esign_documents_per_month: int | None = attrs.field(default=None, validator=_non_negative)


def _price_amount(value: object) -> Decimal:
    return parse_decimal(value, "amount")


@attrs.frozen
class Price:
    """Net price per seat for one billing cycle in one currency (PLAN-1, PLAN-2)."""

    currency: str
    cycle: Cycle
    amount: Decimal = attrs.field(converter=_price_amount)

    def __attrs_post_init__(self) -> None:
        digits = minor_units(self.currency)
        if self.amount < 0:
            raise ValidationError(f"must be >= 0, got {self.amount}", field="amount", rule="PLAN-1")
        exponent = self.amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > digits:
            raise ValidationError(
                f"{self.amount} has more decimals than {self.currency}'s {digits}",
                field="amount",
                rule="BILL-7",
            )
        check_amount_digits(self.amount)  # a price that an invoice could hold (BILL-7)

    @property
    def money(self) -> Money:
        return _trusted(self.amount, self.currency)  # checked by __attrs_post_init__


def _sorted_features(value: Any) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class Plan:
    """A plan (PLAN-1). ``is_free`` when every price is zero (PLAN-5)."""

    code: str
    rank: int
    prices: tuple[Price, ...] = attrs.field(converter=tuple)
    limits: Limits = attrs.field(factory=Limits)
    features: frozenset[str] = attrs.field(factory=frozenset, converter=_sorted_features)

    def __attrs_post_init__(self) -> None:
        if not self.code or not self.code.strip():
            raise ValidationError("must be a non-empty string", field="code", rule="PLAN-1")
        seen: set[tuple[str, Cycle]] = set()
        for price in self.prices:
            key = (price.currency, price.cycle)
            if key in seen:
                raise ValidationError(
                    f"two prices for {price.cycle} in {price.currency}",
                    field="prices",
                    rule="PLAN-1",
                )
            seen.add(key)

    @property
    def is_free(self) -> bool:
        """A free plan: every price zero (PLAN-5)."""
        return all(p.amount == 0 for p in self.prices)

    def price(self, cycle: Cycle | str, currency: str) -> Money:
        """Net price per seat for one ``cycle`` in ``currency`` (PLAN-1)."""
        wanted = cycle if type(cycle) is Cycle else Cycle(cycle)
        for price in self.prices:
            if price.cycle == wanted and price.currency == currency:
                return price.money
        if self.is_free:
            return Money.zero(currency)
        raise UnknownPrice(
            f"plan {self.code!r} has no {wanted} price in {currency}", field="prices", rule="PLAN-1"
        )

    def has_feature(self, feature: str) -> bool:
        return feature in self.features


def _rank(plan: Plan) -> int:
    return plan.rank


def _by_rank(plans: Any) -> tuple[Plan, ...]:
    """The plans sorted by rank, after refusing repeated codes and ranks at their position in
    the order given (a document's order, not the sorted one)."""
    given = tuple(plans)
    errors: list[str] = []
    codes: dict[str, int] = {}
    ranks: dict[int, int] = {}
    for index, plan in enumerate(given):
        if plan.code in codes:
            errors.append(
                f"$.plans[{index}].code: duplicate plan code {short_repr(plan.code)} "
                f"(also plans[{codes[plan.code]}])"
            )
        if plan.rank in ranks:
            first = ranks[plan.rank]
            errors.append(
                f"$.plans[{index}].rank: duplicate rank {plan.rank} (also plans[{first}])"
            )
        codes.setdefault(plan.code, index)
        ranks.setdefault(plan.rank, index)
    if errors:
        raise CatalogError(errors, what="catalogue", rule="PLAN-1")
    return tuple(sorted(given, key=_rank))


@attrs.frozen
class Catalog:
    """Plans ordered by rank; codes and ranks unique."""

    plans: tuple[Plan, ...] = attrs.field(converter=_by_rank)

    def __iter__(self) -> Iterator[Plan]:
        return iter(self.plans)

    def __len__(self) -> int:
        return len(self.plans)

    def __contains__(self, code: object) -> bool:
        return any(p.code == code for p in self.plans)

    def get(self, code: str, field: str = "plan") -> Plan:
        """The plan with ``code``; ``UnknownPlan`` naming the known codes otherwise."""
        for plan in self.plans:
            if plan.code == code:
                return plan
        known = ", ".join(p.code for p in self.plans)
        raise UnknownPlan(
            f"unknown plan {short_repr(code)} (known: {known})", field=field, rule="PLAN-1"
        )

    @property
    def top(self) -> Plan:
        if not self.plans:
            raise UnknownPlan("the catalogue is empty", field="plans", rule="PLAN-1")
        return self.plans[-1]

    def higher_than(self, plan: Plan) -> tuple[Plan, ...]:
        """Plans ranked above ``plan``, cheapest (lowest rank) first."""
        return tuple(p for p in self.plans if p.rank > plan.rank)

    def is_upgrade(self, old: Plan, new: Plan) -> bool:
        return new.rank > old.rank

    def cheapest_fitting_records(
        self,
        records: int,
        above: Plan | None = None,
        cycle: Cycle | None = None,
        currency: str | None = None,
    ) -> Plan | None:
        """The cheapest plan whose record limit fits ``records`` (REC-4): with ``cycle`` and
        ``currency``, the lowest net price per seat for that cycle in that currency (ties: the
        lower rank; a plan without such a price is not a candidate while one with it is);
        without, the lowest-ranked.

        With ``above``, only plans ranked higher than it are considered. ``None`` when no plan
        fits (the caller then tells the tenant to contact the vendor).
        """
        if records < 0:
            raise ValidationError(f"must be >= 0, got {records}", field="records", rule="REC-4")
        candidates = self.plans if above is None else self.higher_than(above)
        fitting = [p for p in candidates if p.limits.records is None or p.limits.records >= records]
        if not fitting or cycle is None or currency is None:
            return fitting[0] if fitting else None
        priced = []
        for rank, plan in enumerate(fitting):
            try:
                priced.append((plan.price(cycle, currency).amount, rank, plan))
            except UnknownPrice:
                continue
        return min(priced, key=lambda item: item[:2])[2] if priced else fitting[0]

    def free_plan(self) -> Plan | None:
        """The lowest-ranked free plan (PLAN-5), if any."""
        return next((p for p in self.plans if p.is_free), None)

    # --- loading and dumping ----------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        """Validate a catalogue document; every bad path is listed in one ``CatalogError``."""
        return structure_strict(data, Catalog, error=_catalog_error)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = converter.unstructure(self)
        return result

    @classmethod
    def loads_json(cls, text: str) -> Catalog:
        return cls.from_dict(parse_document(text, "json", error=_catalog_error))

    def dumps_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def loads_toml(cls, text: str) -> Catalog:
        return cls.from_dict(parse_document(text, "toml", error=_catalog_error))

    def dumps_toml(self) -> str:
        return tomli_w.dumps(_without_none(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        """Load a ``.json`` or ``.toml`` catalogue file."""
        fmt, text = read_document_file(path, error=_catalog_error)
        if fmt == "toml":
            return cls.loads_toml(text)
        return cls.loads_json(text)

    def dump(self, path: str | Path) -> None:
        file = Path(path)
        text = self.dumps_toml() if file.suffix.lower() == ".toml" else self.dumps_json()
        file.write_text(text, encoding="utf-8")


def _without_none(value: Any) -> Any:
    """TOML has no null: drop ``None`` values (absent limit = unlimited)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _catalog_error(errors: list[str]) -> CatalogError:
    """Every bad path of a catalogue (PLAN-1). The error names PLAN-1 once, at its end: an
    entry's own ``(PLAN-1)`` is dropped so the message does not end ``(PLAN-1) (PLAN-1)``."""
    return CatalogError(
        [entry.removesuffix(" (PLAN-1)") for entry in errors], what="catalogue", rule="PLAN-1"
    )
