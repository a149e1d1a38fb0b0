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


def _core_cases() -> list[Case]:
    # Imports inside: the rows of the other families do not depend on these modules.
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from crmcore.billing import BillingTerms
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
    from crmcore.tenancy import replay
    from crmcore.testing_billing import TWO_PLANS

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

    from crmcore.billing import apply_payments
    from crmcore.dunning import Reinstatement, next_transition, status_at, status_on
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

LIMITS_CASES: list[Case] = []

# --- storage -------------------------------------------------------------------------------------

STORAGE_CASES: list[Case] = []

CASES = [*SCENARIO_CASES, *CORE_CASES, *LIMITS_CASES, *STORAGE_CASES]

# --- the command line ----------------------------------------------------------------------------

SIMULATE_CLI_CASES: list[CliCase] = []  # crmcore simulate
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
