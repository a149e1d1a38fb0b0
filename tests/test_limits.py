"""Record and usage limits (REC-1..5, API-1..2, STOR-1, SUP-1, SIGN-1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore import testing_dunning
from crmcore.catalog import Catalog, Limits, Plan
from crmcore.dates import BusinessCalendar, zone
from crmcore.errors import ValidationError
from crmcore.limits import (
    EsignOutcome,
    Outcome,
    api_call_decision,
    api_transfer_decision,
    counted_records,
    esign_archive_until,
    esign_decision,
    esign_signing_deadline,
    record_decision,
    storage_decision,
    support_decision,
)
from crmcore.policies import LimitsPolicy
from crmcore.presets import preset

RAYNET = preset("raynet").limits
STANDARD = Plan("standard", 1, [], Limits(records=10000))
PREMIUM = Plan("premium", 2, [], Limits(records=50000))
ENTERPRISE = Plan("enterprise", 3, [], Limits(records=200000))
CATALOG = Catalog([STANDARD, PREMIUM, ENTERPRISE])
PRAGUE = zone("Europe/Prague")


def test_rec1_only_counted_kinds_count() -> None:
    """REC-1: clients, tasks, e-mails count; a 'note' does not."""
    assert counted_records({"client": 10, "task": 5, "email": 2, "note": 1000}, RAYNET) == 17


def test_rec1_uncounted_kind_is_allowed_even_at_the_limit() -> None:
    decision = record_decision({"client": 10000}, "note", 5, STANDARD, CATALOG, RAYNET)
    assert (decision.outcome, decision.rule, decision.records) == (Outcome.ALLOWED, "REC-1", 10000)


def test_rec2_warning_from_90_percent() -> None:
    """REC-2: 9000 = 0.9 × 10000 warns; 8999 does not."""
    quiet = record_decision({"client": 8998}, "task", 1, STANDARD, CATALOG, RAYNET)
    assert (quiet.outcome, quiet.records) == (Outcome.ALLOWED, 8999)
    warn = record_decision({"client": 8999}, "task", 1, STANDARD, CATALOG, RAYNET)
    assert (warn.outcome, warn.rule, warn.records, warn.limit) == (
        Outcome.WARNING,
        "REC-2",
        9000,
        10000,
    )


def test_rec3_exactly_limit_records_allowed_one_more_refused() -> None:
    """REC-3 decision: a tenant may hold exactly 10000; the 10001st is refused."""
    last = record_decision({"client": 9999}, "lead", 1, STANDARD, CATALOG, RAYNET)
    assert last.allowed and last.records == 10000
    over = record_decision({"client": 10000}, "lead", 1, STANDARD, CATALOG, RAYNET)
    assert (over.outcome, over.rule, over.records, over.limit) == (
        Outcome.REFUSED,
        "REC-3",
        10001,
        10000,
    )


def test_rec3_a_batch_that_does_not_fit_is_refused_whole() -> None:
    decision = record_decision({"client": 9998}, "task", 5, STANDARD, CATALOG, RAYNET)
    assert not decision.allowed and decision.records == 10003


def test_rec3_deleting_frees_room() -> None:
    full = {"client": 10000}
    assert not record_decision(full, "task", 1, STANDARD, CATALOG, RAYNET).allowed
    after_delete = {"client": 10000 - 1}
    assert record_decision(after_delete, "task", 1, STANDARD, CATALOG, RAYNET).allowed


def test_rec4_refusal_suggests_the_cheapest_fitting_higher_plan() -> None:
    """REC-4: 60000 records do not fit premium (50000): enterprise is suggested."""
    small = record_decision({"client": 10000}, "task", 1, STANDARD, CATALOG, RAYNET)
    assert (small.suggested_plan, small.contact_vendor) == ("premium", False)
    big = record_decision({"client": 10000}, "task", 50000, STANDARD, CATALOG, RAYNET)
    assert big.suggested_plan == "enterprise"


def test_rec4_refusal_on_the_top_plan_says_contact_the_vendor() -> None:
    decision = record_decision({"client": 200000}, "task", 1, ENTERPRISE, CATALOG, RAYNET)
    assert (decision.outcome, decision.suggested_plan, decision.contact_vendor) == (
        Outcome.REFUSED,
        None,
        True,
    )


def test_rec5_unlimited_plan_never_refuses() -> None:
    unlimited = Plan("unlimited", 9, [], Limits(records=None))
    decision = record_decision({"client": 10**9}, "task", 10**6, unlimited, CATALOG, RAYNET)
    assert (decision.outcome, decision.rule, decision.limit) == (Outcome.ALLOWED, "REC-5", None)


@pytest.mark.parametrize("count", [0, -2, True, 1.5])
def test_rec3_count_must_be_a_positive_integer(count: object) -> None:
    with pytest.raises(ValidationError, match="count"):
        record_decision({}, "task", count, STANDARD, CATALOG, RAYNET)  # type: ignore[arg-type]


@given(testing_dunning.record_counts(RAYNET.counted_record_kinds), st.integers(1, 3000))
def test_rec3_never_above_the_limit_and_refusal_iff_over(
    counts: dict[str, int], requested: int
) -> None:
    """REC-1/REC-3 property: allowed exactly when counted + requested ≤ limit."""
    held = sum(n for kind, n in counts.items() if kind != "note")
    decision = record_decision(counts, "task", requested, STANDARD, CATALOG, RAYNET)
    assert decision.allowed == (held + requested <= 10000)
    if not decision.allowed:
        assert decision.suggested_plan == ("premium" if held + requested <= 50000 else "enterprise")


def test_api1_daily_limit_resets_at_vendor_midnight() -> None:
    """API-1: 1000 calls/day; the 1001st is refused until 00:00 Prague next day."""
    limits = Limits(api_calls_per_day=1000)
    late = datetime(2026, 3, 2, 23, 30, tzinfo=PRAGUE)
    assert api_call_decision(999, limits, late, "Europe/Prague").outcome is Outcome.ALLOWED
    refused = api_call_decision(1000, limits, late, "Europe/Prague")
    assert refused.outcome is Outcome.REFUSED and refused.day == date(2026, 3, 2)
    assert refused.retry_at == datetime(2026, 3, 3, 0, 0, tzinfo=PRAGUE)
    # 23:30 UTC on 2 March is already 3 March in Prague: a new API day.
    utc = datetime(2026, 3, 2, 23, 30, tzinfo=zone("UTC"))
    assert api_call_decision(0, limits, utc, "Europe/Prague").day == date(2026, 3, 3)
    assert api_call_decision(10**9, Limits(), late, "Europe/Prague").allowed is True


def test_api2_notice_above_100_gb_and_remedy_in_5_business_days() -> None:
    """API-2: 100 GB exactly is no notice; 100.01 GB on Fri 3 Apr 2026 → remedy by 13 Apr
    (Mon 6 Apr is Easter Monday in CZ: 7, 8, 9, 10, 13)."""
    calendar = BusinessCalendar("CZ")
    assert not api_transfer_decision(100, date(2026, 4, 3), RAYNET, calendar).notice
    decision = api_transfer_decision(Decimal("100.01"), date(2026, 4, 3), RAYNET, calendar)
    assert decision.notice and decision.remedy_by == date(2026, 4, 13)
    assert decision.month == date(2026, 4, 1)


def test_stor1_pooled_storage_per_seat() -> None:
    """STOR-1: 20 seats × 3 GB = 60 GB; × 8 GB = 160 GB; linked files do not count."""
    crm = Limits(storage_per_seat_gb=Decimal(3))
    automation = Limits(storage_per_seat_gb=Decimal(8))
    policy = preset("livespace").limits
    assert storage_decision(0, 0, 20, crm, policy).limit_gb == Decimal(60)
    assert storage_decision(0, 0, 20, automation, policy).limit_gb == Decimal(160)
    full = storage_decision(Decimal(60), Decimal("0.001"), 20, crm, policy, linked_gb=0)
    assert full.outcome is Outcome.REFUSED
    linked = storage_decision(Decimal(50), Decimal(10), 20, crm, policy, linked_gb=Decimal(500))
    assert (linked.outcome, linked.used_gb) == (Outcome.ALLOWED, Decimal(60))


def test_sup1_one_hour_per_user_per_month() -> None:
    """SUP-1: 5 users × 60 = 300 minutes; 300 used leaves none."""
    assert support_decision(5, 299, RAYNET).outcome is Outcome.ALLOWED
    spent = support_decision(5, 300, RAYNET)
    assert (spent.outcome, spent.limit_minutes, spent.remaining_minutes) == (
        Outcome.REFUSED,
        300,
        0,
    )


def test_sign1_four_free_documents_per_month_then_the_signing_plan() -> None:
    at = datetime(2026, 3, 31, 23, 30, tzinfo=PRAGUE)
    assert esign_decision(3, at, "Europe/Prague", RAYNET, True, False).outcome is EsignOutcome.FREE
    fifth = esign_decision(4, at, "Europe/Prague", RAYNET, True, False)
    assert (fifth.outcome, fifth.allowed, fifth.month) == (
        EsignOutcome.NEEDS_SIGNING_PLAN,
        False,
        date(2026, 3, 1),
    )
    covered = esign_decision(4, at, "Europe/Prague", RAYNET, True, True)
    assert covered.outcome is EsignOutcome.SIGNING_PLAN
    trial = esign_decision(0, at, "Europe/Prague", RAYNET, False, True)
    assert (trial.outcome, trial.allowed) == (EsignOutcome.NOT_IN_TRIAL, False)


def test_sign1_signing_window_and_archive() -> None:
    """SIGN-1: 7-day window (wall clock across DST), archive 3 years after signing."""
    sent = datetime(2026, 3, 25, 10, tzinfo=PRAGUE)
    assert esign_signing_deadline(sent, "Europe/Prague", RAYNET) == datetime(
        2026, 4, 1, 10, tzinfo=PRAGUE
    )
    assert esign_archive_until(date(2026, 5, 4), RAYNET) == date(2029, 5, 4)
    assert esign_archive_until(date(2028, 2, 29), LimitsPolicy()) == date(2031, 2, 28)
