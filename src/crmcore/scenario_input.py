"""Validation of scenario documents (SCENARIOS.md "Input"): every field, by JSON path.

:func:`parse` turns the document into a :class:`ParsedScenario` (policy, catalogue, billing
terms, the tenant's history as :mod:`crmcore.events`) or raises a
:class:`~crmcore.errors.ValidationError` whose ``field`` is the JSON path of the first bad value:

>>> parse({"preset": "raynet"})
Traceback (most recent call last):
...
crmcore.errors.ValidationError: currency: is required
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

import attrs

from crmcore.billing import BillingTerms
from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.dates import local_midnight, parse_aware_datetime, parse_date, vendor_date, zone
from crmcore.errors import CrmError, MultipleValidationErrors, OutOfOrderError, ValidationError
from crmcore.events import (
    Activated,
    Cancelled,
    Event,
    OutageRecorded,
    PaymentMethod,
    PaymentReceived,
    PersonAssigned,
    PersonUnassigned,
    PlanChanged,
    Prepaid,
    RecordsCreated,
    RecordsDeleted,
    Reinstated,
    SeatsAdded,
    SeatsRemoved,
    TenantCreated,
)
from crmcore.limits import MAX_RECORD_LIMIT, record_count, record_kind
from crmcore.money import Money, minor_units, parse_decimal
from crmcore.policies import VendorPolicy
from crmcore.presets import preset

__all__ = ["OUTAGE_KINDS", "PRESETS", "VERBS", "ParsedScenario", "parse"]

PRESETS = ("raynet", "livespace", "chmiuro")
OUTAGE_KINDS = ("unplanned", "maintenance", "force_majeure", "integration")


@attrs.frozen
class ParsedScenario:
    policy: VendorPolicy
    catalog: Catalog
    terms: BillingTerms
    tenant_id: str
    created_day: date
    history: tuple[Event, ...]
    verbs: Mapping[int, str]  # id(event) -> the ``do`` word, for refusals
    until: date


def _fail(path: str, message: str) -> NoReturn:
    raise ValidationError(message, field=path)


def _object(value: object, path: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, f"must be an object, got {_show(value)}")
    for key in sorted(value):
        if key not in required and key not in optional:
            _fail(_join(path, key), "unknown field")
    for key in sorted(required):
        if key not in value:
            _fail(_join(path, key), "is required")
    return value


def _join(path: str, key: str) -> str:
    return key if path == "$" else f"{path}.{key}"


def _show(value: object) -> str:
    return json_repr(value)


def json_repr(value: object) -> str:
    import json

    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _string(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(path, f"must be a non-empty string, got {_show(value)}")
    return value


def _positive_int(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        _fail(path, f"must be a positive integer, got {_show(value)}")
    return value


def _choice(value: object, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        _fail(path, f"must be one of {', '.join(choices)}, got {_show(value)}")
    assert isinstance(value, str)
    return value


def _wrap(path: str, action: Callable[[], Any]) -> Any:
    """Run ``action``; a crmcore error becomes a ValidationError at ``path``."""
    try:
        return action()
    except MultipleValidationErrors as exc:  # each error already names its own path
        raise ValidationError("; ".join(e.removeprefix("$.") for e in exc.errors)) from None
    except CrmError as exc:
        _fail(path, exc.problem + (f" ({exc.rule})" if exc.rule else ""))


def _amount(value: object, path: str, currency: str) -> Decimal:
    amount: Decimal = _wrap(path, lambda: parse_decimal(value, path))
    if not isinstance(value, str):
        _fail(path, f"must be a decimal string, got {_show(value)}")
    if amount < 0:
        _fail(path, f"must be >= 0, got {_show(value)}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > minor_units(currency):
        _fail(path, f"has more decimals than {currency} allows, got {_show(value)}")
    return amount


def parse(document: object) -> ParsedScenario:
    """Validate a scenario document; the first bad value raises, naming its JSON path."""
    doc = _object(
        document,
        "$",
        {"preset", "currency", "vat_rate", "plans", "tenant", "events", "until"},
        {"overrides", "fees"},
    )
    policy = preset(_choice(doc["preset"], "preset", PRESETS))
    if "overrides" in doc:
        policy = _wrap("overrides", lambda: policy.with_overrides(doc["overrides"], "overrides"))
    currency = _string(doc["currency"], "currency")
    _wrap("currency", lambda: minor_units(currency))
    vat_rate: Decimal = _wrap("vat_rate", lambda: parse_decimal(doc["vat_rate"], "vat_rate"))
    if not isinstance(doc["vat_rate"], str) or not Decimal(0) <= vat_rate < 1:
        _fail("vat_rate", f"must be a decimal string in [0, 1), got {_show(doc['vat_rate'])}")
    fees = _object(doc.get("fees", {}), "fees", set(), {"transfer"})
    transfer = None
    if "transfer" in fees:
        transfer = Money(_amount(fees["transfer"], "fees.transfer", currency), currency)
    terms = BillingTerms(currency, vat_rate, transfer)
    catalog = _catalog(doc["plans"], currency)
    tz = zone(policy.timezone)
    tenant = _object(doc["tenant"], "tenant", {"id", "created"}, {"identity"})
    tenant_id = _string(tenant["id"], "tenant.id")
    created: datetime = _wrap(
        "tenant.created", lambda: parse_aware_datetime(tenant["created"], "tenant.created")
    )
    identity = None
    if "identity" in tenant:
        identity = _string(tenant["identity"], "tenant.identity")
    history: list[Event] = [TenantCreated(created, tenant_id, identity)]
    verbs: dict[int, str] = {}
    events = doc["events"]
    if not isinstance(events, list):
        _fail("events", f"must be a list, got {_show(events)}")
    previous = created
    cycles_used: set[str] = set()
    for index, raw in enumerate(events):
        path = f"events[{index}]"
        event, verb, time_path = _event(raw, path, catalog, currency, tz)
        if event.at < previous:
            what = "tenant creation" if index == 0 else f"events[{index - 1}]"
            raise OutOfOrderError(
                f"is before {what}; events must be in time order", field=time_path
            )
        previous = event.at
        _check_prices(event, path, catalog, currency, cycles_used)
        event = _checked_records(event, path, policy)
        history.append(event)
        verbs[id(event)] = verb
    until: date = _wrap("until", lambda: parse_date(doc["until"], "until"))
    created_day = vendor_date(created, tz)
    if until < created_day:
        _fail(
            "until", f"is before the tenant was created ({created_day}), got {_show(doc['until'])}"
        )
    return ParsedScenario(
        policy, catalog, terms, tenant_id, created_day, tuple(history), verbs, until
    )


def _check_prices(
    event: Event, path: str, catalog: Catalog, currency: str, cycles_used: set[str]
) -> None:
    """A plan bought or changed to must have a price for the cycle in use (PLAN-1)."""
    if isinstance(event, Activated):
        cycles_used.add(event.cycle.value)
        needed = {event.cycle.value}
    elif isinstance(event, Prepaid):
        cycles_used.add(Cycle.MONTHLY.value)
        needed = {Cycle.MONTHLY.value}
    elif isinstance(event, PlanChanged):
        needed = set(cycles_used)
    else:
        return
    plan = catalog.get(event.plan)
    for cycle in sorted(needed):
        if not plan.is_free and all(p.cycle.value != cycle for p in plan.prices):
            _fail(f"{path}.plan", f"plan {plan.code!r} has no {cycle} price in {currency}")


def _checked_records(event: Event, path: str, policy: VendorPolicy) -> Event:
    """``create_records``/``delete_records``: a kind of the REC-1 vocabulary or one the vendor
    does not count, in its canonical spelling (``leads`` counts as ``lead``)."""
    if not isinstance(event, RecordsCreated | RecordsDeleted):
        return event
    kind = record_kind(event.kind, policy.limits, field=f"{path}.kind")
    return attrs.evolve(event, kind=kind)


def _catalog(value: object, currency: str) -> Catalog:
    if not isinstance(value, list) or not value:
        _fail("plans", f"must be a non-empty list, got {_show(value)}")
    plans = []
    for index, raw in enumerate(value):
        path = f"plans[{index}]"
        item = _object(raw, path, {"code", "rank", "price"}, {"records", "features"})
        code = _string(item["code"], f"{path}.code")
        rank = item["rank"]
        if isinstance(rank, bool) or not isinstance(rank, int):
            _fail(f"{path}.rank", f"must be an integer, got {_show(rank)}")
        price_map = _object(item["price"], f"{path}.price", set(), {"monthly", "annual"})
        if not price_map:
            _fail(f"{path}.price", "must give a monthly or an annual price")
        prices = [
            Price(currency, Cycle(cycle), _amount(amount, f"{path}.price.{cycle}", currency))
            for cycle, amount in sorted(price_map.items())
        ]
        records = item.get("records")
        if records is not None and (
            isinstance(records, bool)
            or not isinstance(records, int)
            or not 0 <= records <= MAX_RECORD_LIMIT  # REC-3: the same bound on every engine
        ):
            raise ValidationError(
                f"must be null or an integer from 0 to {MAX_RECORD_LIMIT}, got {_show(records)}",
                field=f"{path}.records",
                rule="REC-3",
            )
        features = item.get("features", [])
        if not isinstance(features, list):
            _fail(f"{path}.features", f"must be a list of strings, got {_show(features)}")
        for number, feature in enumerate(features):
            _string(feature, f"{path}.features[{number}]")
        plans.append(
            Plan(code, rank, prices, Limits(records=records), frozenset(features))  # type: ignore[arg-type]
        )
    result: Catalog = _wrap("plans", lambda: Catalog(plans))
    return result


_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "activate": ({"plan", "seats"}, {"cycle", "payment"}),
    "prepay": ({"plan", "months", "seats"}, {"payment"}),
    "add_seats": ({"count"}, set()),
    "remove_seats": ({"count"}, set()),
    "assign": ({"person"}, set()),
    "unassign": ({"person"}, set()),
    "change_plan": ({"plan"}, set()),
    "pay": (set(), {"amount", "everything"}),
    "reinstate": (set(), set()),
    "cancel": (set(), set()),
    "outage": ({"until", "kind"}, {"announced"}),
    "create_records": ({"kind", "count"}, set()),
    "delete_records": ({"kind", "count"}, set()),
}
VERBS = tuple(_FIELDS)


def _event(
    raw: object, path: str, catalog: Catalog, currency: str, tz: Any
) -> tuple[Event, str, str]:
    if not isinstance(raw, dict):
        _fail(path, f"must be an object, got {_show(raw)}")
    verb = _choice(raw.get("do"), f"{path}.do", VERBS)
    required, optional = _FIELDS[verb]
    item = _object(raw, path, required | {"do"}, optional | {"on", "at"})
    if ("on" in item) == ("at" in item):
        _fail(path, "needs exactly one of 'on' (a date) or 'at' (an aware datetime)")
    if "on" in item:
        time_path = f"{path}.on"
        day: date = _wrap(time_path, lambda: parse_date(item["on"], time_path))
        at = local_midnight(day, tz)
    else:
        time_path = f"{path}.at"
        at = _wrap(time_path, lambda: parse_aware_datetime(item["at"], time_path))

    def plan(field: str = "plan") -> str:
        code = _string(item[field], f"{path}.{field}")
        _wrap(f"{path}.{field}", lambda: catalog.get(code))
        return code

    def count(field: str) -> int:
        return _positive_int(item[field], f"{path}.{field}")

    def payment() -> PaymentMethod:
        value = _choice(item.get("payment", "card"), f"{path}.payment", ("card", "transfer"))
        return PaymentMethod(value)

    def aware(field: str) -> datetime:
        result: datetime = _wrap(
            f"{path}.{field}", lambda: parse_aware_datetime(item[field], f"{path}.{field}")
        )
        return result

    event: Event
    if verb == "activate":
        cycle = _choice(item.get("cycle", "monthly"), f"{path}.cycle", ("monthly", "annual"))
        event = Activated(at, plan(), Cycle(cycle), count("seats"), payment())
    elif verb == "prepay":
        event = Prepaid(at, plan(), count("months"), count("seats"), payment())
    elif verb == "add_seats":
        event = SeatsAdded(at, count("count"))
    elif verb == "remove_seats":
        event = SeatsRemoved(at, count("count"))
    elif verb in ("assign", "unassign"):
        person = _string(item["person"], f"{path}.person")
        event = PersonAssigned(at, person) if verb == "assign" else PersonUnassigned(at, person)
    elif verb == "change_plan":
        event = PlanChanged(at, plan())
    elif verb == "pay":
        event = PaymentReceived(at, _payment_amount(item, path, currency))
    elif verb == "reinstate":
        event = Reinstated(at)
    elif verb == "cancel":
        event = Cancelled(at)
    elif verb == "outage":
        until = aware("until")
        if until <= at:
            _fail(f"{path}.until", f"must be after the outage start, got {_show(item['until'])}")
        kind = _choice(item["kind"], f"{path}.kind", OUTAGE_KINDS)
        announced = aware("announced") if "announced" in item else None
        event = OutageRecorded(at, until, kind, announced)
    else:
        kind = _string(item["kind"], f"{path}.kind")
        records = record_count(item["count"], f"{path}.count")  # REC-3
        if verb == "create_records":
            event = RecordsCreated(at, kind, records)
        else:
            event = RecordsDeleted(at, kind, records)
    return event, verb, time_path


def _payment_amount(item: Mapping[str, Any], path: str, currency: str) -> Decimal | None:
    if ("amount" in item) == ("everything" in item):
        _fail(path, "needs exactly one of 'amount' or 'everything'")
    if "everything" in item:
        if item["everything"] is not True:
            _fail(f"{path}.everything", f"must be true, got {_show(item['everything'])}")
        return None
    amount = _amount(item["amount"], f"{path}.amount", currency)
    if amount == 0:
        _fail(f"{path}.amount", f"must be positive, got {_show(item['amount'])}")
    return amount
