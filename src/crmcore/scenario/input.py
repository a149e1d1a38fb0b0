"""Validation of scenario documents (SCENARIOS.md "Input"): every field, by JSON path.

:func:`parse` turns the document into a :class:`ParsedScenario` (policy, catalogue, billing
terms, the tenant's history as :mod:`crmcore.events`) or raises a
:class:`~crmcore.errors.ValidationError` whose ``field`` is the JSON path of the first bad value:

>>> parse({"preset": "raynet"})
Traceback (most recent call last):
...
crmcore.errors.ValidationError: currency: is required

Long because every field of the scenario format, validated by JSON path: declarative shapes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

import attrs

from crmcore.billing.engine import BillingTerms
from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.dates import (
    add_months,
    local_midnight,
    parse_aware_datetime,
    parse_date,
    vendor_date,
    zone,
)
from crmcore.errors import CrmError, MultipleValidationErrors, OutOfOrderError, ValidationError
from crmcore.events import (
    MAX_PREPAID_MONTHS,
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
    entry_order_problem,
)
from crmcore.events import (
    MAX_SEATS as _EVENT_MAX_SEATS,
)
from crmcore.limits import (
    MAX_RECORD_LIMIT,
    MAX_RECORDS_PER_CALL,
    check_record_limit_counted,
    record_count,
    record_kind,
)
from crmcore.money import MAX_AMOUNT_DIGITS, PLAIN_DECIMAL, Money, minor_units
from crmcore.policies import VendorPolicy, check_numbering
from crmcore.presets import PRESETS, preset
from crmcore.serialization import MAX_JSON_DEPTH, check_depth, show_value

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_AMOUNT_DIGITS",
    "MAX_EVENTS",
    "MAX_ID_LENGTH",
    "MAX_MONTHS",
    "MAX_PLANS",
    "MAX_RANK",
    "MAX_RECORDS",
    "MAX_RECORD_LIMIT",
    "MAX_SEATS",
    "MAX_VAT_DECIMALS",
    "MAX_YEARS",
    "OUTAGE_KINDS",
    "VERBS",
    "ParsedScenario",
    "parse",
    "parse_event",
]

OUTAGE_KINDS = ("unplanned", "maintenance", "force_majeure", "integration")

# --- documented bounds of scenario input (docs/scenarios.md, "Bounds") -------------------------
#: Every date and instant lies in these years (its own calendar date, before any zone change).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
#: ``until`` is at most this many years after the tenant's creation.
MAX_YEARS = 200
MAX_SEATS = _EVENT_MAX_SEATS  # seats of one event (SEAT-1), the core's one maximum
MAX_MONTHS = MAX_PREPAID_MONTHS  # months of one prepaid term (TERM-1)
MAX_RECORDS = MAX_RECORDS_PER_CALL  # records of one event (REC-3); a plan's limit: MAX_RECORD_LIMIT
MAX_RANK = 1_000_000  # |rank| of a plan (PLAN-1)
MAX_PLANS = 1_000
MAX_EVENTS = 10_000
MAX_ID_LENGTH = 64  # tenant id, identity, plan code, feature, person, record kind
MAX_VAT_DECIMALS = 4  # decimals of the VAT rate (PLAN-2)

# Characters an identifier may not hold: control and format characters, surrogates and line or
# paragraph separators (NUL, newlines, escape sequences, bidi overrides, ...).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_RULE_SUFFIX = re.compile(r" \(([A-Z][A-Z0-9]*-[0-9]+)\)$")


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


def _fail(path: str, message: str, rule: str | None = None) -> NoReturn:
    raise ValidationError(message, field=path, rule=rule)


def _object(value: object, path: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, f"must be an object, got {_show(value)}")
    for key in sorted(value, key=str):
        if key not in required and key not in optional:
            _fail(_join(path, str(key)), "unknown field")
    for key in sorted(required):
        if key not in value:
            _fail(_join(path, key), "is required")
    return value


def _join(path: str, key: str) -> str:
    return key if path == "$" else f"{path}.{key}"


def _show(value: object) -> str:
    return show_value(value)


def _string(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(path, f"must be a non-empty string, got {_show(value)}")
    return value


def _identifier(value: object, path: str) -> str:
    """A non-empty id of at most :data:`MAX_ID_LENGTH` characters without control characters."""
    text = _string(value, path)
    if len(text) > MAX_ID_LENGTH:
        _fail(path, f"must be at most {MAX_ID_LENGTH} characters, got {_show(text)}")
    for character in text:
        if unicodedata.category(character) in _FORBIDDEN_CATEGORIES:
            _fail(
                path,
                f"must not contain control characters, got U+{ord(character):04X} in {_show(text)}",
            )
    return text


def _bounded_int(value: object, path: str, rule: str | None, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, f"must be {what or 'an integer'}, got {_show(value)}", rule)
    if value < low:
        _fail(path, f"must be {what or f'at least {low}'}, got {_show(value)}", rule)
    if value > high:
        _fail(path, f"must be at most {high}, got {_show(value)}", rule)
    return value


def _positive_int(value: object, path: str, rule: str | None = None, high: int = MAX_SEATS) -> int:
    return _bounded_int(value, path, rule, 1, high, "a positive integer")


def _choice(value: object, path: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        _fail(path, f"must be one of {', '.join(choices)}, got {_show(value)}")
    return value


def _wrap(path: str, action: Callable[[], Any]) -> Any:
    """Run ``action``; a crmcore error becomes a ValidationError at ``path`` (or, for an error
    that lists several paths, at the first of them)."""
    try:
        return action()
    except MultipleValidationErrors as exc:
        _fail(*_first_of(exc, path))
    except CrmError as exc:
        _fail(path, exc.problem, exc.rule)


def _first_of(exc: MultipleValidationErrors, path: str) -> tuple[str, str, str | None]:
    """The path, message and rule of the first error a ``MultipleValidationErrors`` lists,
    in the scenario's path style (``overrides.trial.length``, no ``$.``)."""
    first = exc.errors[0] if exc.errors else f"{path}: {exc.problem}"
    where, separator, message = first.partition(": ")
    if not separator or not (where.startswith("$") or _is_below(where, path)):
        where, message = path, first
    where = where.removeprefix("$.").removeprefix("$") or path
    rule = exc.rule
    found = _RULE_SUFFIX.search(message)
    if found:
        rule, message = found.group(1), message[: found.start()]
    if len(exc.errors) > 1:
        message = f"{message} (and {len(exc.errors) - 1} more invalid value(s))"
    return where, message, rule


def _build(path: str, factory: Callable[..., Any], *args: Any) -> Any:
    """Build a core value; its own error (``field`` = an attribute name) is reported at
    ``path.field``."""
    try:
        return factory(*args)
    except MultipleValidationErrors as exc:
        _fail(*_first_of(exc, path))
    except CrmError as exc:
        if exc.field and _is_below(exc.field, path):
            raise  # already at its full path (read by a helper of this module)
        field = _join(path, exc.field) if exc.field and not exc.field.startswith("$") else path
        _fail(field, exc.problem, exc.rule)


def _is_below(field: str, path: str) -> bool:
    """``field`` is ``path`` itself or a path inside it."""
    return path != "$" and (field == path or field.startswith((f"{path}.", f"{path}[")))


def _plain_decimal(value: object, path: str, *, rule: str = "BILL-7") -> Decimal:
    """A decimal string in plain notation (``"500.00"``; not ``"5e2"``) of bounded size."""
    if not isinstance(value, str):
        _fail(path, f"must be a decimal string, got {_show(value)}", rule)
    if not PLAIN_DECIMAL.fullmatch(value):
        _fail(path, f'must be a plain decimal number such as "12.50", got {_show(value)}', rule)
    whole = value.split(".", 1)[0].lstrip("0")
    if len(whole) > MAX_AMOUNT_DIGITS:
        _fail(
            path,
            f"must have at most {MAX_AMOUNT_DIGITS} digits before the point, got {_show(value)}",
            rule,
        )
    return Decimal(value)


def _amount(value: object, path: str, currency: str) -> Decimal:
    amount = _plain_decimal(value, path)
    if amount < 0:
        _fail(path, f"must be >= 0, got {_show(value)}", "BILL-7")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > minor_units(currency):
        _fail(path, f"has more decimals than {currency} allows, got {_show(value)}", "BILL-7")
    return amount


def _day(value: object, path: str) -> date:
    day: date = _wrap(path, lambda: parse_date(value, path))
    _check_day(day, value, path)
    return day


def _instant(value: object, path: str) -> datetime:
    instant: datetime = _wrap(path, lambda: parse_aware_datetime(value, path))
    _check_day(instant.date(), value, path)
    return instant


def _check_day(day: date, value: object, path: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        _fail(path, f"must be between {FIRST_DAY} and {LAST_DAY}, got {_show(value)}")


def parse(document: object) -> ParsedScenario:
    """Validate a scenario document; the first bad value raises, naming its JSON path."""
    check_depth(document, "", MAX_JSON_DEPTH)
    doc = _object(
        document,
        "$",
        {"preset", "currency", "vat_rate", "plans", "tenant", "events", "until"},
        {"overrides", "fees"},
    )
    # every preset can be replayed: each is a complete VendorPolicy
    policy = preset(_choice(doc["preset"], "preset", tuple(PRESETS)))
    if "overrides" in doc:
        overrides = doc["overrides"]
        if not isinstance(overrides, dict):
            _fail("overrides", f"must be an object, got {_show(overrides)}")
        policy = _wrap("overrides", lambda: policy.with_overrides(overrides, "overrides"))
        check_numbering(policy.billing, "overrides.billing.")  # BILL-6
    currency = _string(doc["currency"], "currency")
    _wrap("currency", lambda: minor_units(currency))
    vat_rate = _plain_decimal(doc["vat_rate"], "vat_rate", rule="PLAN-2")
    exponent = vat_rate.as_tuple().exponent
    if not 0 <= vat_rate < 1 or (isinstance(exponent, int) and -exponent > MAX_VAT_DECIMALS):
        _fail(
            "vat_rate",
            f"must be a decimal string in [0, 1) with at most {MAX_VAT_DECIMALS} decimals, "
            f"got {_show(doc['vat_rate'])}",
            "PLAN-2",
        )
    fees = _object(doc.get("fees", {}), "fees", set(), {"transfer"})
    transfer = None
    if "transfer" in fees:
        transfer = Money(_amount(fees["transfer"], "fees.transfer", currency), currency)
    terms = _build("$", BillingTerms, currency, vat_rate, transfer)
    catalog = _catalog(doc["plans"], currency)
    for index, plan in enumerate(doc["plans"]):  # REC-1: a limit the vendor never counts
        if isinstance(plan, dict):
            check_record_limit_counted(
                plan.get("records"), policy.limits, f"plans[{index}].records"
            )
    tz = zone(policy.timezone)
    tenant = _object(doc["tenant"], "tenant", {"id", "created"}, {"identity"})
    tenant_id = _identifier(tenant["id"], "tenant.id")
    created = _instant(tenant["created"], "tenant.created")
    identity = None
    if "identity" in tenant:
        identity = _identifier(tenant["identity"], "tenant.identity")
    history: list[Event] = [TenantCreated(created, tenant_id, identity)]
    verbs: dict[int, str] = {}
    events = doc["events"]
    if not isinstance(events, list):
        _fail("events", f"must be a list, got {_show(events)}")
    if len(events) > MAX_EVENTS:
        _fail("events", f"must hold at most {MAX_EVENTS} events, got {len(events)}")
    previous: Event = history[0]
    cycles_used: set[str] = set()
    for index, raw in enumerate(events):
        path = f"events[{index}]"
        event, verb, time_path = _event(raw, path, catalog, currency, tz)
        if event.at < created:
            raise OutOfOrderError(
                "is before tenant creation; events must be in time order", field=time_path
            )
        problem = entry_order_problem(previous, event)
        if problem is not None and problem[0] == "at":
            what = "tenant creation" if index == 0 else f"events[{index - 1}]"
            raise OutOfOrderError(
                f"is before {what}; events must be in time order (a late entry gives"
                " 'recorded', when it was entered)",
                field=time_path,
            )
        if problem is not None:
            raise OutOfOrderError(
                f"{problem[1]} (events[{index - 1}])", field=f"{path}.recorded", rule="BILL-6"
            )
        previous = event
        _check_prices(event, path, catalog, currency, cycles_used)
        event = _checked_records(event, path, policy)
        history.append(event)
        verbs[id(event)] = verb
    until = _day(doc["until"], "until")
    created_day = vendor_date(created, tz)
    if until < created_day:
        _fail(
            "until", f"is before the tenant was created ({created_day}), got {_show(doc['until'])}"
        )
    latest = add_months(created_day, 12 * MAX_YEARS)
    if until > latest:
        _fail(
            "until",
            f"must be at most {MAX_YEARS} years after the tenant was created ({latest}), "
            f"got {_show(doc['until'])}",
        )
    return ParsedScenario(
        policy, catalog, terms, tenant_id, created_day, tuple(history), verbs, until
    )


def parse_event(
    raw: object, catalog: Catalog, currency: str, policy: VendorPolicy, path: str = "event"
) -> Event:
    """One event in the scenario format (SCENARIOS.md, an item of ``events``), checked as
    :func:`parse` checks it against the vendor's plans, currency and policy; errors name
    ``path`` (e.g. ``event.count``). For ``crmcore record --event JSON``."""
    check_depth(raw, path, MAX_JSON_DEPTH)
    event, _verb, _time_path = _event(raw, path, catalog, currency, zone(policy.timezone))
    _check_prices(event, path, catalog, currency, set())
    checked: Event = _checked_records(event, path, policy)
    return checked


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
            _fail(
                f"{path}.plan", f"plan {plan.code!r} has no {cycle} price in {currency}", "PLAN-1"
            )


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
    if len(value) > MAX_PLANS:
        _fail("plans", f"must hold at most {MAX_PLANS} plans, got {len(value)}")
    plans = []
    codes: dict[str, int] = {}
    ranks: dict[int, int] = {}
    for index, raw in enumerate(value):
        path = f"plans[{index}]"
        item = _object(raw, path, {"code", "rank", "price"}, {"records", "features"})
        code = _identifier(item["code"], f"{path}.code")
        if code in codes:
            _fail(
                f"{path}.code",
                f"duplicate plan code {_show(code)} (also plans[{codes[code]}])",
                "PLAN-1",
            )
        codes[code] = index
        rank = _bounded_int(item["rank"], f"{path}.rank", "PLAN-1", -MAX_RANK, MAX_RANK, "")
        if rank in ranks:
            _fail(f"{path}.rank", f"duplicate rank {rank} (also plans[{ranks[rank]}])", "PLAN-1")
        ranks[rank] = index
        price_map = _object(item["price"], f"{path}.price", set(), {"monthly", "annual"})
        if not price_map:
            _fail(f"{path}.price", "must give a monthly or an annual price", "PLAN-1")
        prices = [
            Price(currency, Cycle(cycle), _amount(amount, f"{path}.price.{cycle}", currency))
            for cycle, amount in sorted(price_map.items())
        ]
        records = item.get("records")
        if records is not None:
            records = _bounded_int(
                records,
                f"{path}.records",
                "REC-3",
                0,
                MAX_RECORD_LIMIT,
                "a non-negative integer or null",
            )
        features = item.get("features", [])
        if not isinstance(features, list):
            _fail(f"{path}.features", f"must be a list of strings, got {_show(features)}")
        for number, feature in enumerate(features):
            _identifier(feature, f"{path}.features[{number}]")
        plans.append(
            _build(path, Plan, code, rank, prices, Limits(records=records), frozenset(features))
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
    item = _object(raw, path, required | {"do"}, optional | {"on", "at", "recorded"})
    if ("on" in item) == ("at" in item):
        _fail(path, "needs exactly one of 'on' (a date) or 'at' (an aware datetime)")
    if "on" in item:
        time_path = f"{path}.on"
        at = local_midnight(_day(item["on"], time_path), tz)
    else:
        time_path = f"{path}.at"
        at = _instant(item["at"], time_path)

    def plan(field: str = "plan") -> str:
        code = _string(item[field], f"{path}.{field}")
        _wrap(f"{path}.{field}", lambda: catalog.get(code))
        return code

    def count(field: str, rule: str = "SEAT-1", high: int = MAX_SEATS) -> int:
        return _positive_int(item[field], f"{path}.{field}", rule, high)

    def payment() -> PaymentMethod | None:
        if "payment" not in item:  # the method in force: the billing profile's, else card
            return None
        value = _choice(item["payment"], f"{path}.payment", ("card", "transfer"))
        return PaymentMethod(value)

    def aware(field: str) -> datetime:
        return _instant(item[field], f"{path}.{field}")

    event: Event = _build(path, _make, verb, item, at, path, plan, count, payment, aware, currency)
    if "recorded" in item:  # a late entry (BILL-6): a date (its vendor midnight) or an instant
        event = attrs.evolve(event, recorded=_moment(item["recorded"], f"{path}.recorded", tz))
    return event, verb, time_path


def _moment(value: object, path: str, tz: Any) -> datetime:
    """A scenario moment: a date (``"2026-04-05"``, that vendor day's midnight) or an aware
    datetime."""
    if isinstance(value, str) and len(value) == 10:
        return local_midnight(_day(value, path), tz)
    return _instant(value, path)


def _make(
    verb: str,
    item: Mapping[str, Any],
    at: datetime,
    path: str,
    plan: Callable[[], str],
    count: Callable[..., int],
    payment: Callable[[], PaymentMethod],
    aware: Callable[[str], datetime],
    currency: str,
) -> Event:
    """The event ``verb`` stands for; each field read and checked at its own path."""
    event: Event
    if verb == "activate":
        cycle = _choice(item.get("cycle", "monthly"), f"{path}.cycle", ("monthly", "annual"))
        event = Activated(at, plan(), Cycle(cycle), count("seats"), payment())
    elif verb == "prepay":
        event = Prepaid(
            at, plan(), count("months", "TERM-1", MAX_MONTHS), count("seats"), payment()
        )
    elif verb == "add_seats":
        event = SeatsAdded(at, count("count"))
    elif verb == "remove_seats":
        event = SeatsRemoved(at, count("count"))
    elif verb in ("assign", "unassign"):
        person = _identifier(item["person"], f"{path}.person")
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
            _fail(
                f"{path}.until",
                f"must be after the outage start, got {_show(item['until'])}",
                "SLA-5",  # as OutageRecorded itself refuses it
            )
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
    return event


def _payment_amount(item: Mapping[str, Any], path: str, currency: str) -> Decimal | None:
    if ("amount" in item) == ("everything" in item):
        _fail(path, "needs exactly one of 'amount' or 'everything'")
    if "everything" in item:
        if item["everything"] is not True:
            _fail(f"{path}.everything", f"must be true, got {_show(item['everything'])}")
        return None
    raw = item["amount"]
    if isinstance(raw, str) and raw.strip().startswith("-"):  # money received is positive
        _fail(f"{path}.amount", f"must be positive, got {_show(raw)}", "PAY-6")
    amount = _amount(raw, f"{path}.amount", currency)
    if amount == 0:
        _fail(f"{path}.amount", f"must be positive, got {_show(raw)}", "PAY-6")
    return amount
