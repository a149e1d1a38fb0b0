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

STORAGE_CASES: list[Case] = []

# --- visibility pages (VIS-8, issue 18) -----------------------------------------------------------

from datetime import UTC, datetime  # noqa: E402

from crmcore.errors import NaiveDatetimeError, PolicyCompileError, ValidationError  # noqa: E402
from crmcore.visibility import DEFAULT_POLICY, Module, Principal, RecordKind, Role  # noqa: E402
from crmcore_sql.visibility_pages import PageKey, Plan, visible_page  # noqa: E402

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
        lambda: visible_page(DEFAULT_POLICY, _OWNER, RecordKind.TASK, plan=Plan.RELATIONS),
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

CASES = [*SCENARIO_CASES, *CORE_CASES, *LIMITS_CASES, *STORAGE_CASES, *VISIBILITY_CASES]

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
