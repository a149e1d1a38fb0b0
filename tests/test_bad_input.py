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

from collections.abc import Callable

import attrs
import pytest

from crmcore.errors import CrmError


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

SCENARIO_CASES: list[Case] = []

# --- core values and use cases -------------------------------------------------------------------

CORE_CASES: list[Case] = []

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
    from crmcore.presets import preset
    from crmcore.scenario import run

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

STORAGE_CASES: list[Case] = []

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
            None,
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

CASES = [*SCENARIO_CASES, *CORE_CASES, *LIMITS_CASES, *STORAGE_CASES, *VENDOR_CASES]

# --- the command line ----------------------------------------------------------------------------

SIMULATE_CLI_CASES: list[CliCase] = []  # crmcore simulate
JOB_CLI_CASES: list[CliCase] = []  # crmcore bill / dunning / migrate / demo

CLI_CASES = [*SIMULATE_CLI_CASES, *JOB_CLI_CASES]


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
