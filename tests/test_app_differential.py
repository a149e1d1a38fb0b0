"""One engine behind every door (issue 14): a scenario through the application layer on any
storage answers byte for byte what ``crmcore simulate`` answers.

``crmcore.app.simulation.simulate_stored`` saves the scenario's vendor, registers the tenant,
sends each event as its command on its day (refused commands store nothing) and runs the
billing use case up to the day before each event and to ``until``; the result is built from
the stored invoices. Checked on every example of docs/scenarios/ and on random lives
(:func:`crmcore.testing.billing.life_scenario_documents`: payments, reinstatements,
cancellations, outages, records, persons, prepaid terms, most of them refused somewhere), in
memory and on SQLite, PostgreSQL and MariaDB (servers when their URL variable is set).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

from crmcore.app.queries import tenant_status
from crmcore.app.simulation import simulate_stored
from crmcore.errors import CrmError
from crmcore.memory import InMemoryStorage
from crmcore.scenario.runner import run
from crmcore.testing.billing import life_scenario_documents
from stored_paths import emptied, same_as_runner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    path.name.removesuffix(".json"): json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((ROOT / "docs" / "scenarios").glob("*.json"))
    if not path.name.endswith(".expected.json")
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_through_the_application_layer_in_memory(name: str) -> None:
    same_as_runner(EXAMPLES[name], InMemoryStorage().unit_of_work)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_through_the_application_layer_onemptied(name: str, engine: Engine) -> None:
    same_as_runner(EXAMPLES[name], emptied(engine))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(life_scenario_documents())
def test_random_lives_in_memory_equal_the_runner(document: dict[str, Any]) -> None:
    """BILL, PRO, TERM, PAY, SLA, REC, SEAT: the stored path bills what the runner bills."""
    same_as_runner(document, InMemoryStorage().unit_of_work)


@settings(  # a few dozen lives per engine; the memory property runs the full profile
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=life_scenario_documents())
def test_random_lives_on_sql_equal_the_runner(document: dict[str, Any], engine: Engine) -> None:
    same_as_runner(document, emptied(engine))


def test_the_example_lives_are_not_trivial() -> None:
    """The examples exercise what the comparison is about: dropped invoices (PAY-3), SLA-6
    credit lines, refusals and warnings (a comparison of empty results would prove nothing)."""
    results = [run(document) for document in EXAMPLES.values()]
    lines = {line["kind"] for r in results for i in r["invoices"] for line in i["lines"]}
    assert {"sla_credit", "subscription"} <= lines
    assert any(r["refusals"] for r in results) and any(r["warnings"] for r in results)
    assert any(s["status"] == "cancelled" for r in results for s in r["statuses"])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(life_scenario_documents())
def test_the_status_query_shows_the_statuses_of_the_runner(document: dict[str, Any]) -> None:
    """``tenant_status`` on ``until`` lists every status change the runner lists (lifecycle
    and payment delay merged), and its status is the last of them."""
    try:
        expected = run(document)
    except CrmError:
        return
    storage = InMemoryStorage()
    simulate_stored(document, storage.unit_of_work)
    until = date.fromisoformat(document["until"])
    view = tenant_status(storage.unit_of_work(), document["tenant"]["id"], until)
    assert [s.to_json() for s in view.statuses] == expected["statuses"]
    assert view.status.value == expected["statuses"][-1]["status"]
