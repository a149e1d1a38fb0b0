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

LIMITS_CASES: list[Case] = []

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


STORAGE_CASES: list[Case] = [
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

CASES = [*SCENARIO_CASES, *CORE_CASES, *LIMITS_CASES, *STORAGE_CASES]

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
