"""Bad input, one table: every case gets a typed error from ``crmcore.errors`` whose message
names the field or JSON path, the value and the rule (where there is one), and nothing else.

Add a case in one line: ``Case("name", call, ErrorType, "path", "RULE-1")``. ``call`` is a
function of no arguments that must raise; ``path`` is what ``error.field`` must be (or, for an
error that reports several values at once, a text its message must contain); ``rule`` is
``error.rule`` (``None`` for a plain input error without a rule).

The command-line cases (``CliCase``) run ``crmcore.cli.main`` and check exit code 2 and one line
on stderr naming the path, never a traceback.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from crmcore.errors import CatalogError, CrmError, PolicyError, ValidationError


@attrs.frozen
class Case:
    name: str
    call: Callable[[], object]
    error: type[CrmError]
    path: str | None
    rule: str | None


@attrs.frozen
class CliCase:
    name: str
    argv: tuple[str, ...]
    path: str  # a text the one stderr line must contain


# --- scenario documents and policies (JSON input) ------------------------------------------------

_EXAMPLE = Path(__file__).resolve().parents[1] / "docs/scenarios/mid_month_activation.json"


def _scenario(change: Callable[[dict[str, Any]], object] = lambda doc: None) -> dict[str, Any]:
    """The mid_month_activation example with ``change`` applied."""
    document: dict[str, Any] = json.loads(_EXAMPLE.read_text())
    change(document)
    return document


def _run(change: Callable[[dict[str, Any]], object]) -> Callable[[], object]:
    def call() -> object:
        from crmcore.scenario.runner import run

        return run(_scenario(change))

    return call


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def _override(section: str, name: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc.__setitem__("overrides", {section: {name: value}})


def _first_event(**fields: object) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc["events"][0].update(fields)


def _prepay(months: object) -> Callable[[dict[str, Any]], object]:
    event = {"on": "2026-01-20", "do": "prepay", "plan": "standard", "months": months, "seats": 1}
    return lambda doc: doc["events"].__setitem__(0, event)


def _money(amount: object) -> Callable[[], object]:
    def call() -> object:
        from crmcore.money import Money

        return Money.of(amount, "PLN")  # type: ignore[arg-type]

    return call


def _policy(**kwargs: object) -> Callable[[], object]:
    def build() -> object:
        from crmcore import policies

        section, name = next(iter(kwargs)).split("__")
        cls = {"billing": policies.BillingPolicy, "trial": policies.TrialPolicy}[section]
        return cls(**{name: next(iter(kwargs.values()))})

    return build


def _read_json(text: str | bytes) -> Callable[[], object]:
    def call() -> object:
        from crmcore.serialization import read_json

        return read_json(text)

    return call


def _loads_policy(text: str) -> Callable[[], object]:
    def call() -> object:
        from crmcore.policies import VendorPolicy

        return VendorPolicy.loads_json(text)

    return call


def _round(value: Decimal) -> Callable[[], object]:
    def call() -> object:
        from crmcore.money import round_half_up

        return round_half_up(value, 2)

    return call


def _load(what: str, path: str) -> object:
    from crmcore.catalog import Catalog
    from crmcore.policies import VendorPolicy
    from crmcore.presets import preset

    if what == "Catalog":
        return Catalog.load(path)
    if what == "VendorPolicy":
        return VendorPolicy.load(path)
    return preset("raynet").with_overrides_from(path)


def _set(*path: str | int, value: object) -> Callable[[dict[str, Any]], object]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


SCENARIO_CASES: list[Case] = [
    # dates out of range (TIME): refused when read, not an OverflowError later
    Case("until_9999", _run(_set("until", value="9999-12-31")), ValidationError, "until", None),
    Case(
        "created_year_1",
        _run(_set("tenant", "created", value="0001-01-01T00:00:00+01:00")),
        ValidationError,
        "tenant.created",
        None,
    ),
    Case(
        "prepay_months_100000", _run(_prepay(100000)), ValidationError, "events[0].months", "TERM-1"
    ),
    Case("prepay_months_0", _run(_prepay(0)), ValidationError, "events[0].months", "TERM-1"),
    Case(
        "overrides_trial_length_10_7",
        _run(_override("trial", "length", 10**7)),
        ValidationError,
        "overrides.trial.length",
        "TRIAL-1",
    ),
    Case(
        "overrides_transfer_due_days_10_30",
        _run(_override("billing", "transfer_due_days", 10**30)),
        ValidationError,
        "overrides.billing.transfer_due_days",
        "BILL-4",
    ),
    Case(
        "overrides_dunning_purge_after_10_6",
        _run(_override("dunning", "purge_after_days", 10**6)),
        ValidationError,
        "overrides.dunning.purge_after_days",
        "PAY-6",
    ),
    Case(
        "trial_length_200_months",
        lambda: __import__("crmcore.policies").policies.TrialPolicy(
            length=200, unit=__import__("crmcore.policies").policies.TrialUnit.MONTHS
        ),
        ValidationError,
        "length",
        "TRIAL-1",
    ),
    # invoice series templates (BILL-6), checked when the policy is built
    Case(
        "overrides_series_unknown_placeholder",
        _run(_override("billing", "invoice_series", "{foo}")),
        ValidationError,
        "overrides.billing.invoice_series",
        "BILL-6",
    ),
    Case(
        "overrides_series_bad_format",
        _run(_override("billing", "invoice_series", "{number:s}")),
        ValidationError,
        "overrides.billing.invoice_series",
        "BILL-6",
    ),
    Case(
        "series_without_number",
        _policy(billing__invoice_series="{year}"),
        ValidationError,
        "invoice_series",
        "BILL-6",
    ),
    Case(
        "series_huge_width",
        _policy(billing__invoice_series="{number:>999999999}"),
        ValidationError,
        "invoice_series",
        "BILL-6",
    ),
    Case(
        "series_attribute_access",
        _policy(billing__invoice_series="{number.real}"),
        ValidationError,
        "invoice_series",
        "BILL-6",
    ),
    # decimals: bounded before any arithmetic, plain notation in scenarios (BILL-7)
    Case(
        "fee_1e999999999",
        _run(_set("fees", "transfer", value="1e999999999")),
        ValidationError,
        "fees.transfer",
        "BILL-7",
    ),
    Case(
        "price_1e2",
        _run(_set("plans", 0, "price", "monthly", value="1e2")),
        ValidationError,
        "plans[0].price.monthly",
        "BILL-7",
    ),
    Case(
        "price_16_digits",
        _run(_set("plans", 0, "price", "monthly", value="1" * 16)),
        ValidationError,
        "plans[0].price.monthly",
        "BILL-7",
    ),
    Case(
        "pay_amount_with_underscore",
        _run(lambda doc: doc["events"].append({"on": "2026-03-21", "do": "pay", "amount": "1_0"})),
        ValidationError,
        "events[2].amount",
        "BILL-7",
    ),
    Case(  # a plan without a price for the cycle asked (PLAN-1: prices per cycle)
        "activate_a_cycle_without_a_price",
        _run(
            lambda doc: (
                doc["plans"][0]["price"].pop("annual") and doc["events"][0].update(cycle="annual")
            )
        ),
        ValidationError,
        "events[0].plan",
        "PLAN-1",
    ),
    Case(  # an outage ends after it starts (SLA-5), as OutageRecorded refuses it
        "outage_of_no_length",
        _run(
            lambda doc: doc["events"].append(
                {
                    "do": "outage",
                    "at": "2026-01-26T10:00:00+01:00",
                    "until": "2026-01-26T10:00:00+01:00",
                    "kind": "unplanned",
                }
            )
        ),
        ValidationError,
        "events[2].until",
        "SLA-5",
    ),
    Case(  # money received is positive: 0.00 and -5.00 alike (PAY-6), not ">= 0" (BILL-7)
        "pay_amount_zero",
        _run(lambda doc: doc["events"].append({"on": "2026-03-21", "do": "pay", "amount": "0.00"})),
        ValidationError,
        "events[2].amount",
        "PAY-6",
    ),
    Case(
        "pay_amount_negative",
        _run(
            lambda doc: doc["events"].append({"on": "2026-03-21", "do": "pay", "amount": "-5.00"})
        ),
        ValidationError,
        "events[2].amount",
        "PAY-6",
    ),
    Case("money_of_1e999999999", _money("1e999999999"), ValidationError, "amount", "BILL-7"),
    Case(
        "money_of_decimal_1e999999999",
        _money(Decimal("1e999999999")),
        ValidationError,
        "amount",
        "BILL-7",
    ),
    Case("money_of_401_digits", _money("1" * 401), ValidationError, "amount", "BILL-7"),
    Case("round_1e999999999", _round(Decimal("1e999999999")), ValidationError, "value", "BILL-7"),
    Case(
        "vat_rate_1e_1", _run(_set("vat_rate", value="1e-1")), ValidationError, "vat_rate", "PLAN-2"
    ),
    Case(
        "vat_rate_5_decimals",
        _run(_set("vat_rate", value="0.21001")),
        ValidationError,
        "vat_rate",
        "PLAN-2",
    ),
    # control characters in ids
    Case(
        "tenant_id_nul",
        _run(_set("tenant", "id", value="ac\x00me")),
        ValidationError,
        "tenant.id",
        None,
    ),
    Case(
        "plan_code_escape",
        _run(_set("plans", 0, "code", value="std\x1b[31m")),
        ValidationError,
        "plans[0].code",
        None,
    ),
    Case(
        "identity_newline",
        _run(_set("tenant", "identity", value="a\nb")),
        ValidationError,
        "tenant.identity",
        None,
    ),
    Case(
        "person_line_separator",
        _run(
            lambda doc: doc["events"].append(
                {"on": "2026-01-21", "do": "assign", "person": "ann\u2028bob"}
            )
        ),
        ValidationError,
        "events[2].person",
        None,
    ),
    Case(
        "tenant_id_65_chars",
        _run(_set("tenant", "id", value="a" * 65)),
        ValidationError,
        "tenant.id",
        None,
    ),
    # counts carry their rule and a maximum
    Case(
        "seats_10_30",
        _run(_first_event(seats=10**30)),
        ValidationError,
        "events[0].seats",
        "SEAT-1",
    ),
    Case(
        "seats_negative", _run(_first_event(seats=-2)), ValidationError, "events[0].seats", "SEAT-1"
    ),
    Case(
        "add_seats_zero",
        _run(_set("events", 1, value={"on": "2026-02-01", "do": "add_seats", "count": 0})),
        ValidationError,
        "events[1].count",
        "SEAT-1",
    ),
    Case(
        "create_records_zero",
        _run(
            _set(
                "events",
                1,
                value={"on": "2026-02-01", "do": "create_records", "kind": "client", "count": 0},
            )
        ),
        ValidationError,
        "events[1].count",
        "REC-3",
    ),
    Case(
        "plan_records_negative",
        _run(_set("plans", 0, "records", value=-1)),
        ValidationError,
        "plans[0].records",
        "REC-3",
    ),
    Case(
        "plan_rank_text",
        _run(_set("plans", 0, "rank", value="x")),
        ValidationError,
        "plans[0].rank",
        "PLAN-1",
    ),
    Case(
        "plan_rank_10_100",
        _run(_set("plans", 0, "rank", value=10**100)),
        ValidationError,
        "plans[0].rank",
        "PLAN-1",
    ),
    Case(
        "plan_code_duplicate",
        _run(_set("plans", 1, "code", value="standard")),
        ValidationError,
        "plans[1].code",
        "PLAN-1",
    ),
    # overrides: the path keeps its ``overrides.`` prefix
    Case(
        "overrides_wrong_type",
        _run(_override("trial", "length", "x")),
        ValidationError,
        "overrides.trial.length",
        None,
    ),
    Case(
        "overrides_not_an_object",
        _run(_set("overrides", value=[1])),
        ValidationError,
        "overrides",
        None,
    ),
    Case(
        "overrides_nested_2000_deep",
        _run(_set("overrides", value=_deep(2000))),
        ValidationError,
        "overrides.a.a",
        None,
    ),
    Case(
        "events_nested_2000_deep",
        _run(_set("events", 0, "plan", value=_deep(2000))),
        ValidationError,
        "events[0].plan.a",
        None,
    ),
    # strict JSON text
    Case(
        "json_duplicate_key", _read_json('{"a": {"b": 1, "b": 2}}'), ValidationError, "$.a.b", None
    ),
    Case("json_nested_2000", _read_json("[" * 2000 + "]" * 2000), ValidationError, "$", None),
    Case("json_invalid_utf8", _read_json(b'{"a": "\xff"}'), ValidationError, "$", None),
    Case("json_nan", _read_json('{"a": NaN}'), ValidationError, "$", None),
    Case("json_5000_digit_integer", _read_json("1" * 5000), ValidationError, "$", None),
    Case("json_lone_surrogate", _read_json('{"id": "\\ud800"}'), ValidationError, "$.id", None),
    Case(
        "policy_file_not_utf8",
        lambda: _load("VendorPolicy", _file("policy.json", '{"name": "\u0142"}'.encode("cp1250"))),
        PolicyError,
        "$: not valid UTF-8",
        None,
    ),
    Case(
        "policy_override_file_missing",
        lambda: _load("with_overrides_from", str(_FILES / "missing.toml")),
        PolicyError,
        "$: cannot read",
        None,
    ),
    Case(
        "catalogue_file_is_a_directory",
        lambda: _load("Catalog", str(_FILES)),
        CatalogError,
        "$: cannot read",
        "PLAN-1",
    ),
    Case(
        "policy_json_duplicate_key",
        _loads_policy('{"trial": {"length": 7, "length": 8}}'),
        PolicyError,
        "$.trial.length: duplicate key",
        None,
    ),
]

# --- core values and use cases -------------------------------------------------------------------


def _core_cases() -> list[Case]:
    # Imports inside: the rows of the other families do not depend on these modules.
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from crmcore.billing.engine import BillingTerms
    from crmcore.errors import CurrencyError, SeatError, ValidationError
    from crmcore.events import (
        MAX_PREPAID_MONTHS,
        MAX_SEATS,
        Activated,
        OutageRecorded,
        PaymentReceived,
        Prepaid,
        SeatsAdded,
        SeatsRemoved,
        TenantCreated,
    )
    from crmcore.invoices import Invoice
    from crmcore.presets import preset
    from crmcore.tenancy.aggregate import replay
    from crmcore.testing.billing import TWO_PLANS

    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    vat, day = Decimal("0.23"), date(2026, 3, 1)

    def invoice(currency: str = "PLN", rate: object = vat) -> Invoice:
        return Invoice("t", "1", "s", day, day, currency, rate, ())  # type: ignore[arg-type]

    def over_the_seat_maximum() -> object:
        """SEAT-1: MAX_SEATS - 1 + 2 seats in total is refused by the replay."""
        history = [
            TenantCreated(at, "t"),
            Activated(at, "standard", seats=MAX_SEATS - 1),
            SeatsAdded(at, 2),
        ]
        raise replay(history, TWO_PLANS, preset("raynet")).refusals[0].error

    from crmcore.dunning.allocation import apply_payments
    from crmcore.dunning.status import Reinstatement, next_transition, status_at, status_on
    from crmcore.invoices import InvoiceLine, LineKind, Payment
    from crmcore.money import Money

    line = InvoiceLine(LineKind.SUBSCRIPTION, "BILL-2", Money.of("100.00", "PLN"))
    bill = Invoice("t", "1", "s", day, day, "PLN", vat, (line,))
    raynet = preset("raynet")
    in_euro = Payment("t", at, Money.of("123.00", "EUR"))
    theirs = Payment("other", at, Money.of("123.00", "PLN"))

    def line(**changes: object) -> InvoiceLine:
        return attrs.evolve(line_of_one, **changes)

    line_of_one = InvoiceLine(LineKind.SEATS, "PRO-2", Money.of("10.00", "PLN"), seats=1)
    return [
        Case("line-seats-10**12", lambda: line(seats=10**12), ValidationError, "seats", "SEAT-1"),
        Case("line-seats-zero", lambda: line(seats=0), ValidationError, "seats", "SEAT-1"),
        Case(
            "line-float-fraction", lambda: line(fraction=0.5), ValidationError, "fraction", "PRO-1"
        ),
        Case("line-net-not-money", lambda: line(net=5), ValidationError, "net", "BILL-7"),
        Case("line-kind-unknown", lambda: line(kind="discount"), ValidationError, "kind", "BILL-7"),
        Case(
            "line-day-is-datetime",
            lambda: line(first_day=at),
            ValidationError,
            "first_day",
            "PRO-1",
        ),
        Case(
            "invoice-line-not-a-line",
            lambda: Invoice("t", "1", "s", day, day, "PLN", vat, (5,)),
            ValidationError,
            "lines[0]",
            "BILL-7",
        ),
        Case(
            "invoice-issued-text",
            lambda: Invoice("t", "1", "s", "2026-03-01", day, "PLN", vat, ()),
            ValidationError,
            "issued",
            "BILL-4",
        ),
        Case(
            "invoice-empty-tenant",
            lambda: Invoice(" ", "1", "s", day, day, "PLN", vat, ()),
            ValidationError,
            "tenant_id",
            "BILL-6",
        ),
        Case(
            "payment-amount-not-money",
            lambda: Payment("t", at, 5),
            ValidationError,
            "amount",
            "PAY-6",
        ),
        Case(
            "payment-empty-tenant",
            lambda: Payment("", at, Money.of("1", "PLN")),
            ValidationError,
            "tenant_id",
            "PAY-1",
        ),
        Case(
            "dunning-payment-in-euro",
            lambda: status_on([bill], [in_euro], raynet, day),
            ValidationError,
            "payments[0].amount",
            "PAY-1",
        ),
        Case(
            "dunning-another-tenants-payment",
            lambda: status_on([bill], [theirs], raynet, day),
            ValidationError,
            "payments[0].tenant_id",
            "PAY-1",
        ),
        Case(
            "dunning-at-another-tenants-payment",
            lambda: status_at([bill], [theirs], raynet, at),
            ValidationError,
            "payments[0].tenant_id",
            "PAY-1",
        ),
        Case(
            "dunning-another-tenants-reinstatement",
            lambda: status_on([bill], [], raynet, day, [Reinstatement("other", at)]),
            ValidationError,
            "reinstatements[0].tenant_id",
            "PAY-3",
        ),
        Case(
            "dunning-datetime-for-a-day",
            lambda: status_on([bill], [], raynet, at),
            ValidationError,
            "day",
            "TIME-2",
        ),
        Case(
            "dunning-next-datetime-for-a-day",
            lambda: next_transition([bill], [], raynet, at),
            ValidationError,
            "day",
            "TIME-2",
        ),
        Case(
            "apply-payments-in-euro",
            lambda: apply_payments([bill], [in_euro]),
            ValidationError,
            "payments[0]",
            "PAY-1",
        ),
        Case(
            "apply-payments-another-tenant",
            lambda: apply_payments([bill], [theirs]),
            ValidationError,
            "payments[0]",
            "PAY-1",
        ),
        Case(
            "activated-weekly-cycle",
            lambda: Activated(at, "p", "weekly"),
            ValidationError,
            "cycle",
            "BILL-1",
        ),
        Case(
            "activated-cash-payment",
            lambda: Activated(at, "p", payment="cash"),
            ValidationError,
            "payment",
            "BILL-4",
        ),
        Case(
            "activated-seats-over-max",
            lambda: Activated(at, "p", seats=MAX_SEATS + 1),
            ValidationError,
            "seats",
            "SEAT-1",
        ),
        Case(
            "activated-seats-10**20",
            lambda: Activated(at, "p", seats=10**20),
            ValidationError,
            "seats",
            "SEAT-1",
        ),
        Case(
            "activated-seats-zero",
            lambda: Activated(at, "p", seats=0),
            ValidationError,
            "seats",
            "SEAT-1",
        ),
        Case(
            "activated-seats-bool",
            lambda: Activated(at, "p", seats=True),
            ValidationError,
            "seats",
            "SEAT-1",
        ),
        Case(
            "prepaid-months-100000",
            lambda: Prepaid(at, "p", 100000),
            ValidationError,
            "months",
            "TERM-1",
        ),
        Case(
            "prepaid-months-over-max",
            lambda: Prepaid(at, "p", MAX_PREPAID_MONTHS + 1),
            ValidationError,
            "months",
            "TERM-1",
        ),
        Case(
            "prepaid-transfer-typo",
            lambda: Prepaid(at, "p", 12, payment="wire"),
            ValidationError,
            "payment",
            "BILL-4",
        ),
        Case(
            "seats-added-over-max",
            lambda: SeatsAdded(at, MAX_SEATS + 1),
            ValidationError,
            "count",
            "SEAT-1",
        ),
        Case(
            "seats-removed-10**30",
            lambda: SeatsRemoved(at, 10**30),
            ValidationError,
            "count",
            "SEAT-1",
        ),
        Case("seats-added-total-over-max", over_the_seat_maximum, SeatError, "count", "SEAT-1"),
        Case(
            "payment-float-amount",
            lambda: PaymentReceived(at, 12.5),
            ValidationError,
            "amount",
            "PAY-6",
        ),
        Case(
            "payment-negative-amount",
            lambda: PaymentReceived(at, Decimal(-1)),
            ValidationError,
            "amount",
            "PAY-6",
        ),
        Case(
            "outage-unknown-kind",
            lambda: OutageRecorded(at, at.replace(hour=10), "meteor"),
            ValidationError,
            "kind",
            "SLA-4",
        ),
        Case(
            "outage-ends-before-start",
            lambda: OutageRecorded(at, at.replace(hour=8)),
            ValidationError,
            "until",
            "SLA-5",
        ),
        Case(
            "terms-float-vat",
            lambda: BillingTerms("PLN", 0.23),
            ValidationError,
            "vat_rate",
            "PLAN-2",
        ),
        Case(
            "terms-vat-1.5",
            lambda: BillingTerms("PLN", Decimal("1.5")),
            ValidationError,
            "vat_rate",
            "PLAN-2",
        ),
        Case(
            "terms-vat-nan",
            lambda: BillingTerms("PLN", Decimal("NaN")),
            ValidationError,
            "vat_rate",
            "PLAN-2",
        ),
        Case(
            "terms-currency-xyz",
            lambda: BillingTerms("XYZ", vat),
            CurrencyError,
            "currency",
            "BILL-7",
        ),
        Case(
            "invoice-float-vat", lambda: invoice(rate=0.23), ValidationError, "vat_rate", "PLAN-2"
        ),
        Case(
            "invoice-negative-vat",
            lambda: invoice(rate=Decimal("-0.01")),
            ValidationError,
            "vat_rate",
            "PLAN-2",
        ),
        Case("invoice-currency-xyz", lambda: invoice("XYZ"), CurrencyError, "currency", "BILL-7"),
    ]


CORE_CASES: list[Case] = _core_cases()

# --- record limits and kinds (REC) ---------------------------------------------------------------


def _limits_cases() -> list[Case]:
    """REC-1 kinds and REC-3 counts: the core, the scenario runner and the in-memory counter."""
    from datetime import UTC, datetime

    from crmcore.catalog import Catalog, Limits, Plan
    from crmcore.errors import LimitError, PolicyError, ValidationError
    from crmcore.events import RecordsCreated
    from crmcore.limits import (
        MAX_RECORD_LIMIT,
        MAX_RECORDS_PER_CALL,
        checked_record_call,
        counted_records,
        record_decision,
    )
    from crmcore.memory import InMemoryStorage
    from crmcore.policies import LimitsPolicy
    from crmcore.presets import preset
    from crmcore.scenario.runner import run
    from crmcore.visibility.policy import RecordKind

    @attrs.frozen
    class _Table:
        name: str

    raynet = preset("raynet")
    plan = Plan("standard", 1, [], Limits(records=100))
    huge = Plan("huge", 2, [], Limits(records=MAX_RECORD_LIMIT + 1))
    at = datetime(2026, 3, 1, tzinfo=UTC)

    def decide(kind: object = "lead", count: object = 1, on: Plan = plan) -> object:
        return record_decision({}, kind, count, on, Catalog([on]), raynet.limits)  # type: ignore[arg-type]

    def counter(call: str, *arguments: object) -> object:
        with InMemoryStorage().unit_of_work() as uow:
            uow.records.try_create("t1", "lead", 2, limit=None)
            return getattr(uow.records, call)("t1", *arguments)

    def scenario(event: dict[str, object], records: object = 100) -> object:
        return run(
            {
                "preset": "raynet",
                "currency": "CZK",
                "vat_rate": "0.21",
                "plans": [
                    {
                        "code": "standard",
                        "rank": 1,
                        "price": {"monthly": "5.00"},
                        "records": records,
                    }
                ],
                "tenant": {"id": "acme", "created": "2026-02-20T09:00:00+01:00"},
                "events": [
                    {"on": "2026-03-01", "do": "activate", "plan": "standard", "seats": 1},
                    {
                        "on": "2026-03-02",
                        "do": "create_records",
                        "kind": "lead",
                        "count": 1,
                        **event,
                    },
                ],
                "until": "2026-03-05",
            }
        )

    def beyond_the_maximum(call: str, *arguments: object) -> object:
        """REC-3: a tenant at MAX_RECORD_LIMIT records (2000 x 1_000_000, no plan limit)."""
        with InMemoryStorage().unit_of_work() as uow:
            for _ in range(MAX_RECORD_LIMIT // MAX_RECORDS_PER_CALL):
                uow.records.try_create("t1", "client", MAX_RECORDS_PER_CALL, limit=None)
            return getattr(uow.records, call)("t1", *arguments)

    big = MAX_RECORDS_PER_CALL + 1
    return [
        Case(
            "rec1-decision-kind-contact",
            lambda: decide("contact"),
            ValidationError,
            "kind",
            "REC-1",
        ),
        Case("rec1-decision-kind-empty", lambda: decide(""), ValidationError, "kind", "REC-1"),
        Case(
            "rec1-decision-kind-nul", lambda: decide("lead\x00"), ValidationError, "kind", "REC-1"
        ),
        Case("rec1-decision-kind-none", lambda: decide(None), ValidationError, "kind", "REC-1"),
        Case("rec3-decision-count-0", lambda: decide(count=0), ValidationError, "count", "REC-3"),
        Case(
            "rec3-decision-count-big", lambda: decide(count=big), ValidationError, "count", "REC-3"
        ),
        Case("rec3-decision-limit-big", lambda: decide(on=huge), ValidationError, "limit", "REC-3"),
        Case(
            "rec1-counted-unknown-kind",
            lambda: counted_records({"contact": 1}, raynet.limits),
            ValidationError,
            "counts",
            "REC-1",
        ),
        Case(
            "rec1-counted-negative",
            lambda: counted_records({"leads": -1}, raynet.limits),
            ValidationError,
            "counts.lead",
            "REC-1",
        ),
        Case(
            "rec3-call-limit-negative",
            lambda: checked_record_call("lead", 1, -5),
            ValidationError,
            "limit",
            "REC-3",
        ),
        Case(
            "rec3-try-create-limit-negative",
            lambda: counter("try_create", "lead", 1, -5),
            ValidationError,
            "limit",
            "REC-3",
        ),
        Case(
            "rec3-try-create-limit-big",
            lambda: counter("try_create", "lead", 1, MAX_RECORD_LIMIT + 1),
            ValidationError,
            "limit",
            "REC-3",
        ),
        Case(
            "rec3-try-create-count-big",
            lambda: counter("try_create", "lead", big, None),
            ValidationError,
            "count",
            "REC-3",
        ),
        Case(
            "rec3-try-create-unlimited-beyond-the-maximum",
            lambda: beyond_the_maximum("try_create", "lead", 1, None),
            LimitError,
            "count",
            "REC-3",
        ),
        Case(
            "rec3-create-unlimited-beyond-the-maximum",
            lambda: beyond_the_maximum(
                "create", "lead", None, _Table("records"), [{"tenant_id": "t1", "kind": "lead"}]
            ),
            LimitError,
            "count",
            "REC-3",
        ),
        Case(
            "rec1-try-create-kind-empty",
            lambda: counter("try_create", "", 1, 10),
            ValidationError,
            "kind",
            "REC-1",
        ),
        Case(
            "rec1-delete-kind-unknown",
            lambda: counter("delete", "contact", 1),
            ValidationError,
            "kind",
            "REC-1",
        ),
        Case(
            "rec3-delete-more-than-held",
            lambda: counter("delete", "leads", 3),
            LimitError,
            "count",
            "REC-3",
        ),
        Case(
            "rec3-event-count-0",
            lambda: RecordsCreated(at, "lead", 0),
            ValidationError,
            "count",
            "REC-3",
        ),
        Case(
            "rec1-scenario-kind-unknown",
            lambda: scenario({"kind": "contact"}),
            ValidationError,
            "events[1].kind",
            "REC-1",
        ),
        Case(
            "rec3-scenario-count-huge",
            lambda: scenario({"count": 10**20}),
            ValidationError,
            "events[1].count",
            "REC-3",
        ),
        Case(
            "rec3-scenario-count-0",
            lambda: scenario({"do": "delete_records", "count": 0}),
            ValidationError,
            "events[1].count",
            "REC-3",
        ),
        Case(
            "rec3-scenario-plan-records-huge",
            lambda: scenario({}, records=10**12),
            ValidationError,
            "plans[0].records",
            "REC-3",
        ),
        # REC-1 messages show a kind as written: bare like the canonical kinds elsewhere, a
        # RecordKind as its value (never <RecordKind.DOCUMENT: 'document'>), quoted only when
        # the bare text would be unclear
        Case(
            "rec1-message-kind-as-written",
            lambda: decide("contact"),
            ValidationError,
            "singular or plural), got contact (REC-1)",
            "REC-1",
        ),
        Case(
            "rec1-message-record-kind-enum",
            lambda: decide(RecordKind.DOCUMENT),
            ValidationError,
            "singular or plural), got document (REC-1)",
            "REC-1",
        ),
        Case(
            "rec1-message-try-create-record-kind-enum",
            lambda: counter("try_create", RecordKind.NOTE, 1, 10),
            ValidationError,
            "singular or plural), got note (REC-1)",
            "REC-1",
        ),
        Case(
            "rec1-message-empty-kind-quoted",
            lambda: decide(""),
            ValidationError,
            "singular or plural), got '' (REC-1)",
            "REC-1",
        ),
        Case(
            "rec1-message-scenario-kind",
            lambda: scenario({"kind": "contact"}),
            ValidationError,
            "singular or plural), got contact (REC-1)",
            "REC-1",
        ),
        Case(
            "rec1-message-uncounted-kind-is-rec1",
            lambda: raynet.with_overrides({"limits": {"uncounted_record_kinds": ["leads"]}}),
            PolicyError,
            "limits.uncounted_record_kinds: leads is a REC-1 kind",
            None,
        ),
        Case(
            "rec1-message-uncounted-record-kind-enum",
            lambda: LimitsPolicy(uncounted_record_kinds=[RecordKind.CLIENT]),
            ValidationError,
            "uncounted_record_kinds: client is a REC-1 kind",
            "REC-1",
        ),
        Case(
            "rec1-policy-counted-kind-unknown",
            lambda: raynet.with_overrides({"limits": {"counted_record_kinds": ["contact"]}}),
            PolicyError,
            "limits.counted_record_kinds",
            None,
        ),
        Case(
            "rec1-policy-uncounted-kind-is-rec1",
            lambda: raynet.with_overrides({"limits": {"uncounted_record_kinds": ["leads"]}}),
            PolicyError,
            "limits.uncounted_record_kinds",
            None,
        ),
    ]


LIMITS_CASES: list[Case] = _limits_cases()

# --- storage -------------------------------------------------------------------------------------
from crmcore.errors import ValidationError as _ValidationError  # noqa: E402


def _payment_row(amount: str, currency: str = "PLN") -> object:
    from datetime import UTC, datetime
    from decimal import Decimal

    from crmcore.invoices import Payment
    from crmcore.money import Money
    from crmcore_sql.convert import payment_to_row

    at = datetime(2026, 3, 1, tzinfo=UTC)
    return payment_to_row(Payment("t", at, Money(Decimal(amount), currency)))


def _invoice_row(vat_rate: str) -> object:
    import attrs

    from crmcore.testing.storage import sample_invoice
    from crmcore_sql.convert import invoice_to_rows

    return invoice_to_rows(attrs.evolve(sample_invoice("t", "k"), vat_rate=Decimal(vat_rate)))


def _bill_period(vat_rate: str) -> object:
    import crmcore_sql
    from crmcore.periods import Period
    from crmcore_sql.jobs import bill_period

    engine = crmcore_sql.create_engine("sqlite://")
    try:
        return bill_period(engine, Period.calendar_month(2026, 3), Decimal(vat_rate))
    finally:
        engine.dispose()


STORAGE_CASES: list[Case] = [
    Case(  # 30 decimals: NUMERIC(7, 4) stored it rounded to 0.1111, memory kept it
        "stored vat rate of 30 decimals",
        lambda: _invoice_row("0." + "1" * 30),
        _ValidationError,
        "vat_rate",
        "PLAN-2",
    ),
    Case(
        "billing job vat rate of 30 decimals",  # refused before any tenant is billed
        lambda: _bill_period("0." + "1" * 30),
        _ValidationError,
        "vat_rate",
        "PLAN-2",
    ),
    Case(
        "stored amount finer than the minor unit",
        lambda: _payment_row("1.234"),
        _ValidationError,
        "amount",
        "BILL-7",
    ),
    Case(
        "stored amount of JPY with decimals",
        lambda: _payment_row("5.5", "JPY"),
        _ValidationError,
        "amount",
        "BILL-7",
    ),
    Case(
        "stored amount beyond 64-bit minor units",
        lambda: _payment_row("1" * 18 + ".00"),
        _ValidationError,
        "amount",
        "BILL-7",
    ),
]

# --- vendors as data (PLAN-1, PLAN-2, PLAN-4, BILL-4, BILL-5) ------------------------------------


def _vendor_cases() -> list[Case]:
    """A vendor document's bad paths (``crmcore vendor import``), the billing profile, the
    repository's version order."""
    from datetime import date

    from crmcore.errors import NotFound, UnknownPreset, ValidationError, VendorError
    from crmcore.memory import InMemoryStorage
    from crmcore.vendors import TenantBillingProfile, Vendor, vendor_from_preset

    acme = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1))

    def document(path: str, value: object) -> Callable[[], object]:
        def call() -> object:
            data = acme.to_document()
            *parents, leaf = path.split(".")
            target = data
            for key in parents:
                target = target[key]
            target[leaf] = value
            return Vendor.from_document(data)

        return call

    def twice(first: date, second: date) -> Callable[[], object]:
        def call() -> object:
            with InMemoryStorage().unit_of_work() as uow:
                uow.vendors.add(attrs.evolve(acme, effective=first))
                return uow.vendors.add(attrs.evolve(acme, effective=second))

        return call

    def missing() -> object:
        with InMemoryStorage().unit_of_work() as uow:
            return uow.vendors.get("acme")

    profile = {"country": "CZ", "billing_email": "billing@acme.cz"}
    return [
        Case(
            "vendor vat rate 1",
            document("vat_rates.SK", "1"),
            VendorError,
            "$.vat_rates.SK",
            "PLAN-2",
        ),
        Case(
            "vendor vat rate float",
            document("vat_rates.SK", 0.23),
            VendorError,
            "$.vat_rates.SK",
            "BILL-7",
        ),
        Case(
            "vendor vat country",
            document("vat_rates.cz", "0.21"),
            VendorError,
            "$.vat_rates.cz",
            "PLAN-2",
        ),
        Case(
            "vendor fee negative",
            document("fees.transfer", "-1"),
            VendorError,
            "$.fees.transfer",
            "PLAN-4",
        ),
        Case(
            "vendor fee sub-unit",
            document("fees.transfer", "0.001"),
            VendorError,
            "$.fees.transfer",
            "PLAN-4",
        ),
        Case(
            "vendor fee name",
            document("fees.Transfer Fee", "1"),
            VendorError,
            "$.fees.Transfer Fee",
            "PLAN-4",
        ),
        Case("vendor name", document("name", "ACME"), VendorError, "$.name", None),
        Case(
            "vendor effective",
            document("effective", "2026-13-01"),
            VendorError,
            "$.effective",
            None,
        ),
        Case("vendor currency", document("currency", "XXX1"), VendorError, "$.currency", "BILL-7"),
        Case(
            "vendor policy field",
            document("policy.dunning.block_after_days", -1),
            VendorError,
            "$.policy.dunning.block_after_days",
            "PAY-6",  # the payment-delay thresholds are parameters
        ),
        Case(
            "vendor catalog",
            document("catalog.plans", "none"),
            VendorError,
            "$.catalog.plans",
            None,
        ),
        Case(
            "vendor not an object",
            lambda: Vendor.from_document([]),
            VendorError,
            "$: must be an object",
            None,
        ),
        Case(
            "vendor not JSON",
            lambda: Vendor.loads_json("{"),
            VendorError,
            "$: not valid JSON",
            None,
        ),
        Case(
            "vendor same day twice",
            twice(date(2026, 1, 1), date(2026, 1, 1)),
            ValidationError,
            "effective",
            "NOTICE-2",
        ),
        Case(
            "vendor earlier version",
            twice(date(2026, 2, 1), date(2026, 1, 1)),
            ValidationError,
            "effective",
            "NOTICE-2",
        ),
        Case("vendor not stored", missing, NotFound, "name", None),
        Case(
            "vendor unknown preset",
            lambda: vendor_from_preset("acme", effective=date(2026, 1, 1)),
            UnknownPreset,
            "preset",
            None,
        ),
        Case(
            "profile email",
            lambda: TenantBillingProfile.from_document({**profile, "billing_email": "nobody"}),
            ValidationError,
            "$.billing_email",
            "BILL-5",
        ),
        Case(
            "profile country",
            lambda: TenantBillingProfile.from_document({**profile, "country": "Czechia"}),
            ValidationError,
            "$.country",
            "PLAN-2",
        ),
        Case(
            "profile payment",
            lambda: TenantBillingProfile.from_document({**profile, "payment": "cash"}),
            ValidationError,
            "$.payment",
            "BILL-4",
        ),
        Case(
            "profile tax id",
            lambda: TenantBillingProfile.from_document({**profile, "tax_id": ""}),
            ValidationError,
            "$.tax_id",
            None,
        ),
        Case(
            "profile unknown field",
            lambda: TenantBillingProfile.from_document({**profile, "vat": "x"}),
            ValidationError,
            "$",
            None,
        ),
        Case(
            "profile missing email",
            lambda: TenantBillingProfile.from_document({"country": "CZ"}),
            ValidationError,
            "$.billing_email",
            None,
        ),
    ]


VENDOR_CASES: list[Case] = _vendor_cases()

# --- visibility pages (VIS-8, issue 18) -----------------------------------------------------------

from datetime import UTC, datetime  # noqa: E402

from crmcore.errors import NaiveDatetimeError, PolicyCompileError, ValidationError  # noqa: E402
from crmcore.visibility.policy import DEFAULT_POLICY, Module, Principal, RecordKind, Role  # noqa: E402
from crmcore_sql.visibility_pages import PageKey, PagePlan, visible_page  # noqa: E402

_OWNER = Principal("acme", 1, Role.OWNER, {Module.ACTIVITIES})
_NAIVE = datetime(2026, 12, 1, 12, 0)
_AWARE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

VISIBILITY_CASES: list[Case] = [
    Case(
        "page key naive",
        lambda: PageKey(_NAIVE, 5),
        NaiveDatetimeError,
        "after.created_at",
        "TIME-1",
    ),
    Case("page key id text", lambda: PageKey(_AWARE, "5"), ValidationError, "after.id", None),  # type: ignore[arg-type]
    Case(
        "page limit zero",
        lambda: visible_page(DEFAULT_POLICY, _OWNER, RecordKind.TASK, limit=0),
        ValidationError,
        "limit",
        None,
    ),
    Case(
        "page after not a key",
        lambda: visible_page(DEFAULT_POLICY, _OWNER, RecordKind.TASK, after=(_AWARE, 5)),  # type: ignore[arg-type]
        ValidationError,
        "after",
        None,
    ),
    Case(
        "page index plan for the owner",  # the owner is not bounded by relations (VIS-3)
        lambda: visible_page(DEFAULT_POLICY, _OWNER, RecordKind.TASK, plan=PagePlan.RELATIONS),
        PolicyCompileError,
        "plan",
        "VIS-8",
    ),
    Case(
        "page of a kind without creation time",
        lambda: visible_page(DEFAULT_POLICY, _OWNER, RecordKind.DOCUMENT),
        PolicyCompileError,
        "kind",
        None,
    ),
]

CASES = [
    *SCENARIO_CASES,
    *CORE_CASES,
    *LIMITS_CASES,
    *STORAGE_CASES,
    *VENDOR_CASES,
    *VISIBILITY_CASES,
]

# --- the command line ----------------------------------------------------------------------------

_FILES = Path(tempfile.mkdtemp(prefix="crmcore-bad-scenarios-"))
atexit.register(shutil.rmtree, _FILES, True)


def _file(name: str, content: str | bytes) -> str:
    path = _FILES / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


_EXAMPLE_TEXT = _EXAMPLE.read_text()

SIMULATE_CLI_CASES: list[CliCase] = [  # crmcore simulate
    CliCase(
        "simulate_invalid_utf8",
        (
            "simulate",
            _file("latin2.json", _EXAMPLE_TEXT.replace("acme", "\u0142").encode("cp1250")),
        ),
        "$: not valid UTF-8",
    ),
    CliCase(
        "simulate_nested_2000",
        ("simulate", _file("deep.json", "[" * 2000 + "]" * 2000)),
        "$: nested more than 32 levels deep",
    ),
    CliCase(
        "simulate_nested_2000_in_overrides",
        (
            "simulate",
            _file(
                "deep_overrides.json",
                _EXAMPLE_TEXT.replace(
                    '"preset": "raynet",',
                    '"preset": "raynet", "overrides": ' + '{"a": ' * 2000 + "1" + "}" * 2000 + ",",
                ),
            ),
        ),
        "nested more than 32 levels deep",
    ),
    CliCase(
        "simulate_duplicate_key",
        (
            "simulate",
            _file("duplicate.json", _EXAMPLE_TEXT.replace('"seats": 5', '"seats": 5, "seats": 6')),
        ),
        'events[0].seats: duplicate key "seats"',
    ),
    CliCase(
        "simulate_malformed",
        ("simulate", _file("malformed.json", '{"preset": ')),
        "$: not valid JSON",
    ),
    CliCase("simulate_empty", ("simulate", _file("empty.json", "")), "$: not valid JSON"),
    CliCase("simulate_missing_file", ("simulate", str(_FILES / "missing.json")), "cannot read"),
    CliCase("simulate_directory", ("simulate", str(_FILES)), "is a directory"),
    CliCase(
        "simulate_until_9999",
        (
            "simulate",
            _file(
                "until.json",
                _EXAMPLE_TEXT.replace('"until": "2026-02-10"', '"until": "9999-12-31"'),
            ),
        ),
        "until: must be between",
    ),
    CliCase(
        "simulate_fee_1e999999999",
        ("simulate", _file("fee.json", _EXAMPLE_TEXT.replace('"50.00"', '"1e999999999"'))),
        "fees.transfer:",
    ),
    CliCase(
        "simulate_5000_digit_seats",
        (
            "simulate",
            _file("digits.json", _EXAMPLE_TEXT.replace('"seats": 5', '"seats": ' + "9" * 5000)),
        ),
        "$: not valid JSON: an integer of 5000 digits",
    ),
    CliCase(
        "simulate_huge_seats",
        (
            "simulate",
            _file("seats.json", _EXAMPLE_TEXT.replace('"seats": 5', '"seats": ' + "9" * 40)),
        ),
        "events[0].seats: must be at most",
    ),
    CliCase(
        "simulate_nan",
        ("simulate", _file("nan.json", _EXAMPLE_TEXT.replace('"seats": 5', '"seats": NaN'))),
        "NaN",
    ),
    CliCase(
        "simulate_lone_surrogate",
        ("simulate", _file("surrogate.json", _EXAMPLE_TEXT.replace('"acme"', '"\\ud800"'))),
        "tenant.id: not valid JSON text",
    ),
    CliCase(
        "simulate_series_template",
        (
            "simulate",
            _file(
                "series.json",
                _EXAMPLE_TEXT.replace(
                    '"preset": "raynet",',
                    '"preset": "raynet", "overrides": {"billing": {"invoice_series": "{foo}"}},',
                ),
            ),
        ),
        "overrides.billing.invoice_series: unknown placeholder {foo}",
    ),
]
_NO_DB = "sqlite:////nonexistent-directory/never-created.sqlite"  # options are checked first
JOB_CLI_CASES: list[CliCase] = [  # crmcore bill / dunning / migrate / demo
    *(
        CliCase(
            f"bill-vat-rate-{rate}",
            ("bill", "--db", _NO_DB, "--period", "2026-03", "--vat-rate", rate),
            "--vat-rate",
        )
        for rate in ("abc", "0,23", "NaN", "1.5", "1", "-0.1", "2.3e-1", "Infinity", "", "٠.٢")
    ),
    *(
        CliCase(f"bill-period-{period}", ("bill", "--db", _NO_DB, "--period", period), "--period")
        for period in ("0000-01", "2026-13", "2026-00", "9999-12", "10000-01", "2026-1", "")
    ),
    *(
        CliCase(
            f"bill-workers-{n}",
            ("bill", "--db", _NO_DB, "--period", "2026-03", "--workers", n),
            "--workers",
        )
        for n in ("0", "-1", "abc", "65", "10000000000")
    ),
    *(
        CliCase(f"dunning-as-of-{day}", ("dunning", "--db", _NO_DB, "--as-of", day), "--as-of")
        for day in ("9999-12-31", "0001-01-01", "2026-02-30", "2026-3-1", "yesterday")
    ),
    CliCase("migrate-bad-url", ("migrate", "--db", "nope://x"), "--db"),
    CliCase("demo-bad-url", ("demo", "--db", "nope://x"), "--db"),
    CliCase("dunning-bad-url", ("dunning", "--db", "nope://x", "--as-of", "2026-03-01"), "--db"),
    CliCase("bill-bad-url", ("bill", "--db", "nope://x", "--period", "2026-03"), "--db"),
]

DB_CLI_CASES: list[CliCase] = [  # --db itself, on every storage command
    *(
        CliCase(
            f"migrate-db-path-{name}",
            ("migrate", "--db", f"sqlite:///{_FILES}/a{character}b.sqlite"),
            "--db: the SQLite path must not contain control characters",
        )
        for name, character in (
            ("newline", "\n"),
            ("nul", "\x00"),
            ("escape", "\x1b"),
            ("tab", "\t"),
            ("line-separator", "\u2028"),
        )
    ),
    CliCase(
        "bill-db-path-newline",
        ("bill", "--db", f"sqlite:///{_FILES}/a\nb.sqlite", "--period", "2026-03"),
        "--db: the SQLite path must not contain control characters",
    ),
    CliCase(
        "migrate-db-uri-path-newline",
        ("migrate", "--db", f"sqlite:///file:{_FILES}/a%0Ab.sqlite?uri=true"),
        "--db: the SQLite path must not contain control characters",
    ),
    CliCase(
        "migrate-db-unknown-sqlite-argument",
        ("migrate", "--db", f"sqlite:///{_FILES}/x.sqlite?mdoe=ro"),
        "--db: unknown SQLite URL argument(s) mdoe",
    ),
]

CLI_CASES = [*SIMULATE_CLI_CASES, *JOB_CLI_CASES, *DB_CLI_CASES]


def _check(case: Case, error: CrmError) -> None:
    assert isinstance(error, case.error), (case.name, type(error), error)
    if case.path is not None:
        assert error.field == case.path or case.path in str(error), (case.name, str(error))
    assert error.rule == case.rule, (case.name, error.rule, str(error))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_a_typed_error_naming_path_and_rule(case: Case) -> None:
    with pytest.raises(CrmError) as caught:
        case.call()
    _check(case, caught.value)


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.name for case in CLI_CASES])
def test_bad_input_on_the_command_line_exits_2_with_one_line(
    case: CliCase, capsys: pytest.CaptureFixture[str]
) -> None:
    from crmcore.cli import main

    code = main(list(case.argv))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (case.name, code, captured.err)
    assert len(lines) == 1, (case.name, captured.err)
    assert case.path in lines[0], (case.name, lines[0])
    assert "Traceback" not in captured.err


def test_a_refused_db_path_leaves_no_file_behind(capsys: pytest.CaptureFixture[str]) -> None:
    """The control-character paths of DB_CLI_CASES were refused before anything was opened:
    no file ``a?b.sqlite`` (nor its WAL) exists."""
    from crmcore.cli import main

    for case in DB_CLI_CASES:
        main(list(case.argv))
    capsys.readouterr()
    assert not [path.name for path in _FILES.iterdir() if path.name.startswith("a")]


# --- a database that does not exist: refused, and no file left behind ----------------------------

_URL_FORMS = {  # how a user may name the SQLite file {file} (all of them SQLite opens as {file})
    "path": "sqlite:///{file}",
    "uri": "sqlite:///file:{file}?uri=true",
    "uri-mode-rwc": "sqlite:///file:{file}?mode=rwc&uri=true",
    "uri-mode-rw": "sqlite:///file:{file}?mode=rw&uri=true",
    "uri-mode-ro": "sqlite:///file:{file}?mode=ro&uri=true",
    "uri-localhost": "sqlite:///file://localhost{file}?uri=true",
    "uri-without-file": "sqlite:///{file}?uri=true",  # SQLAlchemy would name it "{file}?..."
    "mode-rw-without-uri": "sqlite:///{file}?mode=rw",  # SQLAlchemy would ignore mode, warning
    "mode-ro-without-uri": "sqlite:///{file}?mode=ro",
    "cache-without-uri": "sqlite:///{file}?cache=shared",
}
_MUST_NOT_CREATE = {  # every storage command but migrate, demo and simulate --db
    "bill": ("bill", "--db", "{db}", "--period", "2026-03"),
    "dunning": ("dunning", "--db", "{db}", "--as-of", "2026-03-20"),
    "vendor-list": ("vendor", "list", "--db", "{db}"),
    "vendor-export-stored": ("vendor", "export", "acme", "--db", "{db}"),
    "vendor-import": ("vendor", "import", "{vendor}", "--db", "{db}"),
    "record": ("record", "--db", "{db}", "--tenant", "acme", "--event", "{event}"),
    "status": ("status", "--db", "{db}", "--tenant", "acme", "--as-of", "2026-03-20"),
    "invoices": ("invoices", "--db", "{db}"),
}
MISSING_DB_CASES = [
    (f"{command}-{form}", url, argv)
    for form, url in _URL_FORMS.items()
    for command, argv in _MUST_NOT_CREATE.items()
]


@pytest.mark.parametrize(
    ("url", "argv"), [case[1:] for case in MISSING_DB_CASES], ids=[c[0] for c in MISSING_DB_CASES]
)
def test_a_missing_sqlite_database_is_refused_and_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, argv: tuple[str, ...]
) -> None:
    """A command that needs a migrated database, given a SQLite file that does not exist in
    any spelling of the URL (a path, a ``file:`` URI in any ``mode``, SQLite arguments
    without ``uri=true``), exits 1 with one line (not migrated, no file FILE, run migrate) and
    leaves no file behind: no database, no WAL, no ``FILE?mode=...``."""
    from datetime import date

    from crmcore.cli import main
    from crmcore.vendors import vendor_from_preset

    vendor = tmp_path / "vendor.json"
    acme = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1))
    vendor.write_text(acme.dumps_json(), encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()
    file = store / "crm.sqlite"
    db = url.format(file=file)
    event = '{"on": "2026-03-01", "do": "pay", "amount": "10.00"}'
    code = main([part.format(db=db, vendor=vendor, event=event) for part in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1, err
    assert len(err) == 1, err
    assert f"not migrated (no file {file})" in err[0] and "crmcore migrate" in err[0], err
    assert "%3A" not in err[0], err  # the URL as written, not SQLAlchemy's escaped rendering
    assert list(store.iterdir()) == []


@pytest.mark.parametrize("form", ["mode-rw-without-uri", "mode-ro-without-uri", "uri-mode-ro"])
def test_sqlite_arguments_print_only_the_one_line(tmp_path: Path, form: str) -> None:
    """SQLite's URL arguments take effect (``mode=ro`` opens read-only) and print no driver
    warning: ``crmcore bill`` with ``?mode=rw`` on a missing file prints exactly its one line
    on stderr, run as a user runs it (default warning filters, a fresh interpreter)."""
    import subprocess
    import sys

    db = _URL_FORMS[form].format(file=tmp_path / "crm.sqlite")
    result = subprocess.run(
        [sys.executable, "-m", "crmcore.cli", "bill", "--db", db, "--period", "2026-03"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "not migrated" in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []
