"""Fuzzing the scenario reader (SCENARIOS.md "bad input", issue 13).

Each example of ``docs/scenarios/`` is mutated (values of the wrong type, huge numbers and
strings, dates out of range, control characters, deep nesting, removed and unknown keys,
duplicate keys in the JSON text) and replayed. The answer is a result or a
:class:`~crmcore.errors.CrmError` whose ``field`` is a JSON path that exists in the mutated
document (or whose parent does, for a missing key): never another exception type, never a
message without the path. The ``dev`` profile runs a few dozen mutations (a few seconds); the
``ci`` profile a few hundred.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import CrmError
from crmcore.scenario.input import VERBS
from crmcore.scenario.runner import run
from crmcore.serialization import read_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    path.name.removesuffix(".json"): json.loads(path.read_text())
    for path in sorted((ROOT / "docs/scenarios").glob("*.json"))
    if not path.name.endswith(".expected.json")
}

Path_ = tuple[str | int, ...]


def paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path of ``value``, containers included (the root is ``()``)."""
    result = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            result.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            result.extend(paths(item, (*prefix, index)))
    return result


def nested(levels: int) -> Any:
    value: Any = "x"
    for level in range(levels):
        value = [value] if level % 2 else {"a": value}
    return value


WRONG_VALUES = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1.5,
        float("inf"),
        "",
        " ",
        "x",
        [],
        {},
        [1],
        {"a": 1},
        10**6,
        10**30,
        -(10**30),
        10**400,
        "9" * 500,
        "1e999999999",
        "1e2",
        "-0.00",
        "0.001",
        "NaN",
        "Infinity",
        "12,50",
        " 5",
        "1_0",
        "2026-02-30",
        "9999-12-31",
        "0001-01-01",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-12:00",
        "2026-01-05T09:00:00",
        "2026-01-05",
        "2026-13-01T00:00:00+01:00",
        "a\x00b",
        "a\nb",
        "\x1b[31m",
        "\u202e",
        "a\u2028b",
        "x" * 300,
        "{foo}",
        "{number:s}",
        "{number:>999999999}",
        "premium",
        "standard",
        "monthly",
        "annual",
        "transfer",
        "leads",
        "smartmail",
        "optimasales",
        "PLN",
        "XYZ",
        nested(40),
        nested(3),
        # valid values in the wrong place: the replay itself must refuse, not crash
        1,
        2,
        12,
        120,
        100_000,
        "0.00",
        "0.5",
        "99999.99",
        "999999999999999",
        "2026-01-01",
        "2026-03-31",
        "2027-02-28",
        "2026-01-05T09:00:00+01:00",
        "2026-03-29T02:30:00+02:00",
        "EUR",
        "JPY",
        "livespace",
        "chmiuro",
        "card",
        "client",
        "maintenance",
        "force_majeure",
        *VERBS,
    ]
)

OVERRIDES = st.sampled_from(
    [
        {"trial": {"length": 10**7}},
        {"trial": {"length": 200, "unit": "months"}},
        {"trial": {"length": "x"}},
        {"trial": {"purge_after_days": None}},
        {"billing": {"transfer_due_days": 10**30}},
        {"billing": {"invoice_series": "{foo}"}},
        {"billing": {"invoice_series": "{number:s}"}},
        {"billing": {"invoice_series": "{year}"}},
        {"billing": {"term_discounts": [[12, "0.5"]]}},
        {"billing": {"term_discounts": [[12, "1.5"]]}},
        {"billing": {"term_discounts": [["x"]]}},
        {"billing": {"annual_immediate_except_month": 0}},
        {"dunning": {"block_after_days": 100}},
        {"dunning": {"purge_after_days": 10**9}},
        {"sla": {"tiers": [{"below": "200", "credit": "5"}]}},
        {"sla": {"business_hours_start": "18:00"}},
        {"sla": {"target": "NaN"}},
        {"limits": {"record_warning_ratio": "0"}},
        {"timezone": "Mars/Base"},
        {"country": "XX"},
        {"nope": 1},
        {"trial": 5},
        nested(40),
    ]
)


class _Repeating(dict[str, Any]):
    """Serialises with its first key twice (json.dumps asks a dict subclass for items())."""

    def items(self) -> Any:  # type: ignore[override]
        pairs = list(super().items())
        return [*pairs, pairs[0]] if pairs else pairs


def _set(document: Any, path: Path_, value: Any) -> None:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _get(document: Any, path: Path_) -> Any:
    for key in path:
        document = document[key]
    return document


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Any, str | None]:
    """A mutated example: the document and, for a duplicate key, its JSON text."""
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    document = copy.deepcopy(EXAMPLES[name])
    text: str | None = None
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(document)))
        target = _get(document, path)
        kind = draw(st.sampled_from(["replace", "remove", "add", "duplicate", "overrides", "grow"]))
        if kind == "replace" and path:
            _set(document, path, copy.deepcopy(draw(WRONG_VALUES)))
        elif kind == "remove" and path:
            parent = _get(document, path[:-1])
            del parent[path[-1]]
        elif kind == "add" and isinstance(target, dict):
            key = draw(st.sampled_from(["colour", "do", "on", "at", "recorded", "amount"]))
            target[key] = copy.deepcopy(draw(WRONG_VALUES))
        elif kind == "add" and isinstance(target, list):
            target.append(copy.deepcopy(draw(WRONG_VALUES)))
        elif kind == "overrides":
            document["overrides"] = copy.deepcopy(draw(OVERRIDES))
        elif kind == "grow" and isinstance(target, list) and target:
            target.extend(copy.deepcopy(target[-1:]) * draw(st.integers(1, 3)))
        elif kind == "duplicate" and isinstance(target, dict) and target:
            if path:
                _set(document, path, _Repeating(target))
            else:
                document = _Repeating(document)
            text = ""
    if text is not None:  # the JSON text repeats a key; the document is what it means
        text = json.dumps(document)
        document = json.loads(text)
    return document, text


_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def path_exists(document: Any, field: str) -> bool:
    """``field`` (``events[0].seats``, ``$.a``, ``$``) names a value of ``document``, or a key
    missing from an object that exists."""
    if field in ("$", ""):
        return True
    text = field.removeprefix("$.").removeprefix("$")
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            return False
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    target = document
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        if isinstance(target, dict) and isinstance(part, str):
            if part not in target:
                return last
            target = target[part]
        elif isinstance(target, list) and isinstance(part, int) and part < len(target):
            target = target[part]
        else:
            return False
    return True


def replay(document: Any, text: str | None) -> None:
    """Run the mutated scenario; a refusal must be a CrmError naming a path of the document."""
    try:
        run(read_json(text, root="") if text is not None else document)
    except CrmError as error:
        message = str(error)
        assert error.field is not None, message
        assert path_exists(document, error.field), (error.field, message)
        assert message.startswith(f"{error.field}: "), message
        assert len(message.splitlines()) == 1 and len(message) < 1000, message


@given(mutated())
def test_mutated_examples_succeed_or_name_an_existing_path(case: tuple[Any, str | None]) -> None:
    """Any mutation of an example: a result or a CrmError at a path of the document."""
    replay(*case)


def test_path_exists_reads_both_path_styles() -> None:
    document = {"events": [{"on": "2026-01-20"}], "overrides": {"trial": {}}}
    assert path_exists(document, "events[0].on")
    assert path_exists(document, "$.overrides.trial.length")  # missing key of an object
    assert path_exists(document, "$")
    assert not path_exists(document, "events[1].on")
    assert not path_exists(document, "trial.length")  # the overrides. prefix is needed
    assert not path_exists(document, "events[0].on.x")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("overrides",), {"trial": {"length": "x"}}),
        (("tenant", "created"), "0001-01-01T00:00:00+01:00"),
        (("until",), "9999-12-31"),
        (("plans", 0, "price", "monthly"), "1e999999999"),
        (("events", 0, "plan"), nested(2000)),
    ],
)
def test_the_crashes_the_outside_fuzz_found_name_their_path(path: Path_, value: Any) -> None:
    """Issue 13: OverflowError, RecursionError, a hang and a path without ``overrides.``."""
    document = copy.deepcopy(EXAMPLES["mid_month_activation"])
    _set(document, path, value)
    with pytest.raises(CrmError) as caught:
        run(document)
    assert path_exists(document, caught.value.field or "?"), str(caught.value)
    assert caught.value.field != "$"
