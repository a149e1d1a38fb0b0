"""Typed outcomes (issue 16): the statuses, refusals and warnings every door shows, one class
per shape, each with the scenario result's JSON (SCENARIOS.md "Output")."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import attrs
import pytest

from crmcore.events import RecordsCreated
from crmcore.outcomes import (
    ApiCallRefusal,
    LimitRefusal,
    LimitWarning,
    Refusal,
    RuleRefusal,
    StatusChange,
    StorageRefusal,
)

DAY = date(2026, 3, 2)
EVENT = RecordsCreated(datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Warsaw")), "client", 5)


@pytest.mark.parametrize(
    ("outcome", "shown"),
    [
        (StatusChange(DAY, "blocked"), {"on": "2026-03-02", "status": "blocked"}),
        (
            RuleRefusal(DAY, "reinstate", "PAY-3", "too late"),
            {"on": "2026-03-02", "do": "reinstate", "rule": "PAY-3", "message": "too late"},
        ),
        # REC-1/REC-4: the cheapest plan that fits, null on the top plan; no message key
        (
            LimitRefusal(DAY, "create_records", "REC-3", None),
            {"on": "2026-03-02", "do": "create_records", "rule": "REC-3", "suggested_plan": None},
        ),
        (
            ApiCallRefusal(DAY, "api_call", "API-1", 3, 3, "2026-03-03T00:00:00+01:00"),
            {
                "on": "2026-03-02",
                "do": "api_call",
                "rule": "API-1",
                "used": 3,
                "limit": 3,
                "retry_at": "2026-03-03T00:00:00+01:00",
            },
        ),
        (
            StorageRefusal(DAY, "store_file", "STOR-1", 10, 5, 12),
            {
                "on": "2026-03-02",
                "do": "store_file",
                "rule": "STOR-1",
                "used": 10,
                "requested": 5,
                "limit": 12,
            },
        ),
        (
            LimitWarning(DAY, "REC-2", 95, 100),
            {"on": "2026-03-02", "rule": "REC-2", "records": 95, "limit": 100},
        ),
    ],
)
def test_each_outcome_shows_the_scenario_result_shape(outcome: object, shown: object) -> None:
    assert outcome.to_json() == shown  # type: ignore[attr-defined]


def test_the_event_is_known_but_neither_shown_nor_compared() -> None:
    """A refusal names its event for the doors that need it (the outbox's instant, the
    runner's order); two refusals of the same shape are equal whichever event they name."""
    plain = LimitRefusal(DAY, "create_records", "REC-3", "premium")
    about = plain.about(EVENT)
    assert about.event is EVENT and plain.event is None
    assert about == plain and about.to_json() == plain.to_json()
    assert "event" not in about.to_json()
    assert attrs.evolve(about, rule="REC-1") != plain


def test_rec_4_a_limit_refusal_says_which_plan_fits_in_words() -> None:
    """The text of the command's CommandRefused (REC-4 names the cheapest plan that fits; on
    the top plan it says the vendor must be contacted)."""
    assert LimitRefusal(DAY, "create_records", "REC-3", "premium").message == (
        "over the plan's record limit; plan premium fits"
    )
    assert LimitRefusal(DAY, "create_records", "REC-3", None).message == (
        "over the plan's record limit; no plan fits, contact the vendor"
    )
    refusal: Refusal = RuleRefusal(DAY, "add_seats", "PAY-3", "the contract ended")
    assert refusal.message == "the contract ended"
