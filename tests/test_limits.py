"""Record and usage limits (REC-1..5, API-1..2, STOR-1, SUP-1, SIGN-1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.catalog import Catalog, Limits, Plan
from crmcore.dates import BusinessCalendar, zone
from crmcore.errors import LimitError, PolicyError, TermNotStated, ValidationError
from crmcore.limits import (
    MAX_RECORD_LIMIT,
    MAX_RECORDS_PER_CALL,
    RECORD_KIND_SPELLINGS,
    RECORD_KINDS,
    EsignOutcome,
    Outcome,
    api_call_decision,
    api_transfer_decision,
    check_record_deletion,
    checked_record_call,
    counted_records,
    esign_archive_until,
    esign_decision,
    esign_signing_deadline,
    record_decision,
    record_kind,
    storage_decision,
    support_decision,
)
from crmcore.policies import LimitsPolicy
from crmcore.presets import PRESETS, preset
from crmcore.scenario.runner import run
from crmcore.testing import dunning as testing_dunning

RAYNET = preset("raynet").limits
# A vendor whose CRM also has notes, which it does not count (REC-1).
WITH_NOTES = attrs.evolve(RAYNET, uncounted_record_kinds=frozenset({"note"}))
STANDARD = Plan("standard", 1, [], Limits(records=10000))
PREMIUM = Plan("premium", 2, [], Limits(records=50000))
ENTERPRISE = Plan("enterprise", 3, [], Limits(records=200000))
CATALOG = Catalog([STANDARD, PREMIUM, ENTERPRISE])
PRAGUE = zone("Europe/Prague")


def test_rec1_only_counted_kinds_count() -> None:
    """REC-1: clients, tasks, e-mails count (10 + 5 + 2 = 17); the vendor's 'note' does not."""
    counts = {"client": 10, "task": 5, "email": 2, "note": 1000}
    assert counted_records(counts, WITH_NOTES) == 10 + 5 + 2


def test_rec1_uncounted_kind_is_allowed_even_at_the_limit() -> None:
    decision = record_decision({"client": 10000}, "note", 5, STANDARD, CATALOG, WITH_NOTES)
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


@given(testing_dunning.record_counts_by_kind(RAYNET.counted_record_kinds), st.integers(1, 3000))
def test_rec3_never_above_the_limit_and_refusal_iff_over(
    counts: dict[str, int], requested: int
) -> None:
    """REC-1/REC-3 property: allowed exactly when counted + requested ≤ limit."""
    held = sum(n for kind, n in counts.items() if kind != "note")
    decision = record_decision(counts, "task", requested, STANDARD, CATALOG, WITH_NOTES)
    assert decision.allowed == (held + requested <= 10000)
    if not decision.allowed:
        assert decision.suggested_plan == ("premium" if held + requested <= 50000 else "enterprise")


# --- REC-1: one vocabulary of record kinds --------------------------------------------------------


def test_rec1_vocabulary_is_the_fifteen_kinds_of_rules_md() -> None:
    """REC-1 lists 3 contact-base + 6 sales + 6 activity kinds = 15, all counted by raynet."""
    contact_base = {"client", "contact_person", "lead"}
    sales = {"opportunity", "product", "offer", "order", "invoice", "project"}
    activities = {"task", "meeting", "event", "email", "phone_call", "letter"}
    assert contact_base | sales | activities == RECORD_KINDS
    assert len(RECORD_KINDS) == 3 + 6 + 6
    assert RAYNET.counted_record_kinds == RECORD_KINDS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_rec1_every_preset_counts_only_kinds_of_the_vocabulary(name: str) -> None:
    """REC-1/REC-5: raynet's 15 kinds; livespace has no record limit and counts none."""
    limits = preset(name).limits
    assert limits.counted_record_kinds <= RECORD_KINDS
    assert not limits.uncounted_record_kinds & set(RECORD_KIND_SPELLINGS)
    if name == "livespace":
        assert limits.counted_record_kinds == frozenset()


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("lead", "lead"),
        ("leads", "lead"),
        ("contact_person", "contact_person"),
        ("contact_persons", "contact_person"),
        ("contact persons", "contact_person"),
        ("email", "email"),
        ("emails", "email"),
        ("e-mails", "email"),
        ("phone_call", "phone_call"),
        ("phone_calls", "phone_call"),
        ("phone calls", "phone_call"),
        ("opportunity", "opportunity"),
        ("opportunities", "opportunity"),
        ("clients", "client"),
        ("letters", "letter"),
    ],
)
def test_rec1_singular_and_plural_spellings_name_one_kind(spelling: str, canonical: str) -> None:
    assert record_kind(spelling) == canonical
    assert record_kind(spelling, RAYNET) == canonical


def test_rec1_spelling_table_maps_onto_the_kinds_and_covers_each() -> None:
    """REC-1: every spelling names a kind; every kind is spelled at least as itself and in
    the plural."""
    assert set(RECORD_KIND_SPELLINGS.values()) == RECORD_KINDS
    for kind in RECORD_KINDS:
        assert RECORD_KIND_SPELLINGS[kind] == kind
        plural = {"opportunity": "opportunities"}.get(kind, kind + "s")
        assert RECORD_KIND_SPELLINGS[plural] == kind


@given(st.text(max_size=20))
def test_rec1_any_other_text_is_refused_with_the_list(text: str) -> None:
    """REC-1 property: a text is accepted exactly when it is a spelling of the table."""
    if text in RECORD_KIND_SPELLINGS:
        assert record_kind(text) == RECORD_KIND_SPELLINGS[text]
        return
    with pytest.raises(ValidationError) as caught:
        record_kind(text)
    assert (caught.value.field, caught.value.rule) == ("kind", "REC-1")
    assert "client, contact_person, email" in str(caught.value)


@pytest.mark.parametrize("kind", ["contact", "", "Leads", "lead\x00", "note", None, 5])
def test_rec1_unknown_kind_is_refused_not_silently_uncounted(kind: object) -> None:
    """REC-1: before, an unknown kind ('leads' for the core, 'contact') was allowed without
    counting, bypassing the limit; now it is a ValidationError naming the accepted kinds."""
    with pytest.raises(ValidationError) as caught:
        record_decision({}, kind, 1, STANDARD, CATALOG, RAYNET)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.rule) == ("kind", "REC-1")
    assert "phone_call" in str(caught.value)


def test_rec1_a_plural_spelling_counts_toward_the_limit() -> None:
    """REC-1/REC-3: 'leads' is the kind 'lead': at 10000 of 10000 one more is refused (it
    used to be allowed, uncounted), and held counts in any spelling add up: 2 + 3 + 1 = 6."""
    decision = record_decision({"client": 10000}, "leads", 1, STANDARD, CATALOG, RAYNET)
    assert (decision.outcome, decision.kind, decision.records) == (
        Outcome.REFUSED,
        "lead",
        10000 + 1,
    )
    assert counted_records({"lead": 2, "leads": 3, "phone calls": 1}, RAYNET) == 2 + 3 + 1
    with pytest.raises(ValidationError, match="REC-1"):
        counted_records({"lead": 2, "contacts": 3}, RAYNET)


def test_rec1_vendor_declared_uncounted_kinds() -> None:
    """REC-1: a kind the vendor declares as not counted is accepted and adds nothing; a REC-1
    kind the vendor leaves out of ``counted_record_kinds`` is accepted and not counted."""
    assert record_kind("note", WITH_NOTES) == "note"
    with pytest.raises(ValidationError, match="not counted: note"):
        record_kind("notes", WITH_NOTES)
    with pytest.raises(ValidationError):
        record_kind("note")  # the storage vocabulary: REC-1 kinds only
    leads_only = attrs.evolve(RAYNET, counted_record_kinds=frozenset({"leads"}))
    assert leads_only.counted_record_kinds == {"lead"}
    assert counted_records({"lead": 4, "task": 100}, leads_only) == 4
    task = record_decision({"lead": 10000}, "task", 1, STANDARD, CATALOG, leads_only)
    assert (task.outcome, task.rule) == (Outcome.ALLOWED, "REC-1")


@pytest.mark.parametrize(
    ("limits", "path"),
    [
        ({"counted_record_kinds": ["leads", "contact"]}, "limits.counted_record_kinds"),
        ({"uncounted_record_kinds": ["leads"]}, "limits.uncounted_record_kinds"),
        ({"uncounted_record_kinds": [""]}, "limits.uncounted_record_kinds"),
        ({"uncounted_record_kinds": ["no\ttab"]}, "limits.uncounted_record_kinds"),
    ],
)
def test_rec1_policy_kinds_are_checked_when_the_policy_is_built(
    limits: dict[str, object], path: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        preset("raynet").with_overrides({"limits": limits})
    assert path in str(caught.value) and "REC-1" in str(caught.value)


def test_rec1_policy_kinds_from_overrides_are_canonical() -> None:
    policy = preset("raynet").with_overrides(
        {
            "limits": {
                "counted_record_kinds": ["leads", "clients"],
                "uncounted_record_kinds": ["note"],
            }
        }
    )
    assert policy.limits.counted_record_kinds == {"lead", "client"}
    assert policy.limits.uncounted_record_kinds == {"note"}


# --- REC-3: bounded counts ----------------------------------------------------------------------


def test_rec3_documented_maximums_fit_a_32_bit_counter() -> None:
    """REC-3: the largest limit plus the largest request stays below 2**31 - 1 (PostgreSQL
    INTEGER), so no engine overflows where another does not."""
    assert MAX_RECORD_LIMIT + MAX_RECORDS_PER_CALL < 2**31 - 1


def test_rec3_request_and_limit_at_the_maximum_accepted_one_more_refused() -> None:
    top = Plan("top", 9, [], Limits(records=MAX_RECORD_LIMIT))
    catalog = Catalog([STANDARD, top])
    decision = record_decision({}, "task", MAX_RECORDS_PER_CALL, top, catalog, RAYNET)
    assert (decision.allowed, decision.records) == (True, MAX_RECORDS_PER_CALL)
    with pytest.raises(ValidationError) as caught:
        record_decision({}, "task", MAX_RECORDS_PER_CALL + 1, top, catalog, RAYNET)
    assert (caught.value.field, caught.value.rule) == ("count", "REC-3")
    beyond = Plan("beyond", 10, [], Limits(records=MAX_RECORD_LIMIT + 1))
    with pytest.raises(ValidationError) as caught:
        record_decision({}, "task", 1, beyond, Catalog([beyond]), RAYNET)
    assert (caught.value.field, caught.value.rule) == ("limit", "REC-3")


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        (("", 1, 10), "kind", "REC-1"),
        (("contact", 1, 10), "kind", "REC-1"),
        (("lead", 1, -5), "limit", "REC-3"),
        (("lead", 1, True), "limit", "REC-3"),
        (("lead", 1, 10.0), "limit", "REC-3"),
        (("lead", 1, MAX_RECORD_LIMIT + 1), "limit", "REC-3"),
        (("lead", 0, 10), "count", "REC-3"),
        (("lead", -1, 10), "count", "REC-3"),
        (("lead", MAX_RECORDS_PER_CALL + 1, None), "count", "REC-3"),
    ],
)
def test_rec3_record_call_arguments_are_checked(
    arguments: tuple[object, object, object], field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        checked_record_call(*arguments)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_rec3_record_call_arguments_at_the_bounds_are_accepted() -> None:
    assert (
        checked_record_call("phone calls", MAX_RECORDS_PER_CALL, MAX_RECORD_LIMIT) == "phone_call"
    )
    assert checked_record_call("lead", 1, 0) == "lead"
    assert checked_record_call("lead", limit=None) == "lead"


def test_rec3_deleting_more_than_held_is_refused() -> None:
    check_record_deletion("lead", 2, 2)
    with pytest.raises(LimitError) as caught:
        check_record_deletion("lead", 3, 2)
    assert (caught.value.field, caught.value.rule) == ("count", "REC-3")


# --- the scenario runner uses the same vocabulary ------------------------------------------------


def _scenario(*events: dict[str, object], uncounted: list[str] | None = None) -> dict[str, object]:
    document: dict[str, object] = {
        "preset": "raynet",
        "currency": "CZK",
        "vat_rate": "0.21",
        "plans": [
            {"code": "standard", "rank": 1, "price": {"monthly": "500.00"}, "records": 10},
            {"code": "premium", "rank": 2, "price": {"monthly": "800.00"}, "records": 100},
        ],
        "tenant": {"id": "acme", "created": "2026-02-20T09:00:00+01:00"},
        "events": [
            {"on": "2026-03-01", "do": "activate", "plan": "standard", "seats": 1},
            *events,
        ],
        "until": "2026-03-10",
    }
    if uncounted is not None:
        document["overrides"] = {"limits": {"uncounted_record_kinds": uncounted}}
    return document


def test_rec1_scenario_counts_a_plural_kind_toward_the_limit() -> None:
    """REC-1/REC-3 in ``simulate``: 8 clients + 2 'leads' = 10 of 10; one more 'lead' is
    refused (before, 'leads' were not counted and the third creation was allowed)."""
    result = run(
        _scenario(
            {"on": "2026-03-02", "do": "create_records", "kind": "client", "count": 8},
            {"on": "2026-03-03", "do": "create_records", "kind": "leads", "count": 2},
            {"on": "2026-03-04", "do": "create_records", "kind": "lead", "count": 1},
            {"on": "2026-03-05", "do": "delete_records", "kind": "leads", "count": 2},
            {"on": "2026-03-06", "do": "create_records", "kind": "lead", "count": 2},
        )
    )
    assert result["refusals"] == [
        {"on": "2026-03-04", "do": "create_records", "rule": "REC-3", "suggested_plan": "premium"}
    ]


def test_rec1_scenario_refuses_an_unknown_kind_by_path() -> None:
    bad = {"on": "2026-03-02", "do": "create_records", "kind": "contact", "count": 1}
    with pytest.raises(ValidationError) as caught:
        run(_scenario(bad))
    assert (caught.value.field, caught.value.rule) == ("events[1].kind", "REC-1")


def test_rec1_scenario_accepts_the_vendors_uncounted_kinds() -> None:
    notes = {"on": "2026-03-02", "do": "create_records", "kind": "note", "count": 500}
    assert run(_scenario(notes, uncounted=["note"]))["refusals"] == []
    with pytest.raises(ValidationError, match=r"events\[1\]\.kind"):
        run(_scenario(notes))


def test_rec3_scenario_counts_and_limits_are_bounded() -> None:
    big = {"on": "2026-03-02", "do": "create_records", "kind": "lead"}
    with pytest.raises(ValidationError) as caught:
        run(_scenario({**big, "count": MAX_RECORDS_PER_CALL + 1}))
    assert (caught.value.field, caught.value.rule) == ("events[1].count", "REC-3")
    document = _scenario({**big, "count": MAX_RECORDS_PER_CALL})
    document["plans"][1]["records"] = MAX_RECORD_LIMIT + 1  # type: ignore[index]
    with pytest.raises(ValidationError) as caught:
        run(document)
    assert (caught.value.field, caught.value.rule) == ("plans[1].records", "REC-3")
    document["plans"][1]["records"] = MAX_RECORD_LIMIT  # type: ignore[index]
    assert run(document)["refusals"][0]["suggested_plan"] == "premium"


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


# --- terms a vendor does not state (None): never raynet's (API-2, STOR-1, SUP-1, SIGN-1) ------

NOT_RAYNET = ("livespace", "chmiuro", "smartmail", "optimasales")


def _not_stated(caught: pytest.ExceptionInfo[TermNotStated], field: str, rule: str) -> None:
    error = caught.value
    assert (error.field, error.rule) == (f"limits.{field}", rule)
    assert str(error).startswith(f"limits.{field}: the vendor's policy states no {rule} ")
    assert str(error).endswith(f"(None); set the parameter to use this ({rule})")
    assert isinstance(error, LookupError)


@pytest.mark.parametrize("name", NOT_RAYNET)
def test_api2_a_vendor_stating_no_transfer_limit_never_gets_a_notice(name: str) -> None:
    """API-2 is raynet's (100 GB): with no limit stated (None) no notice is ever due, at any
    volume, and there is no remedy deadline; raynet's limit would give a notice above 100 GB."""
    policy = preset(name)
    decision = api_transfer_decision(
        Decimal(10**6), date(2026, 4, 3), policy.limits, policy.business_calendar()
    )
    assert (decision.notice, decision.limit_gb, decision.remedy_by) == (False, None, None)
    assert decision.used_gb == Decimal(10**6)


def test_api2_a_notice_without_a_stated_remedy_period_is_refused() -> None:
    """API-2: a limit stated without the remedy period: at the limit no notice (no period
    needed); above it crmcore cannot say by when, so TermNotStated names the parameter."""
    limits = attrs.evolve(RAYNET, api_remedy_business_days=None)
    calendar = BusinessCalendar("CZ")
    assert not api_transfer_decision(100, date(2026, 4, 3), limits, calendar).notice
    with pytest.raises(TermNotStated) as caught:
        api_transfer_decision(Decimal("100.01"), date(2026, 4, 3), limits, calendar)
    _not_stated(caught, "api_remedy_business_days", "API-2")


@pytest.mark.parametrize("name", NOT_RAYNET)
def test_sup1_a_vendor_stating_no_support_allowance_is_refused(name: str) -> None:
    """SUP-1 is raynet's hour per user: a vendor stating none gets TermNotStated, not 5 × 60
    minutes; a plan's own ``support_minutes_per_user`` still applies (5 × 30 = 150)."""
    limits = preset(name).limits
    with pytest.raises(TermNotStated) as caught:
        support_decision(5, 0, limits)
    _not_stated(caught, "support_minutes_per_user_month", "SUP-1")
    planned = support_decision(5, 100, limits, Limits(support_minutes_per_user=30))
    assert (planned.limit_minutes, planned.remaining_minutes) == (5 * 30, 5 * 30 - 100)


@pytest.mark.parametrize("name", NOT_RAYNET)
def test_sign1_a_vendor_stating_no_online_signing_terms_is_refused(name: str) -> None:
    """SIGN-1 is raynet's (4 free a month, 7-day window, 3-year archive): a vendor stating
    none gets TermNotStated for each, naming the parameter."""
    limits = preset(name).limits
    at = datetime(2026, 3, 10, 12, tzinfo=PRAGUE)
    with pytest.raises(TermNotStated) as caught:
        esign_decision(0, at, "Europe/Warsaw", limits, True, False)
    _not_stated(caught, "esign_free_documents_per_month", "SIGN-1")
    with pytest.raises(TermNotStated) as caught:
        esign_signing_deadline(at, "Europe/Warsaw", limits)
    _not_stated(caught, "esign_signing_window_days", "SIGN-1")
    with pytest.raises(TermNotStated) as caught:
        esign_archive_until(date(2026, 3, 10), limits)
    _not_stated(caught, "esign_archive_years", "SIGN-1")


@pytest.mark.parametrize("name", ["raynet", "chmiuro", "smartmail", "optimasales"])
def test_stor1_linked_files_with_no_stated_rule_are_refused(name: str) -> None:
    """STOR-1 (linked files do not count) is livespace's: where it is not stated (None), a
    decision without linked files is made as usual (55 + 5 ≤ 20 × 3) and one with linked
    files is refused rather than guessed."""
    limits = preset(name).limits
    crm = Limits(storage_per_seat_gb=Decimal(3))
    plain = storage_decision(Decimal(55), Decimal(5), 20, crm, limits)
    assert (plain.outcome, plain.used_gb, plain.limit_gb) == (
        Outcome.ALLOWED,
        Decimal(60),
        Decimal(20 * 3),
    )
    with pytest.raises(TermNotStated) as caught:
        storage_decision(Decimal(55), Decimal(5), 20, crm, limits, linked_gb=Decimal("0.5"))
    _not_stated(caught, "linked_files_count_toward_storage", "STOR-1")
    counted = attrs.evolve(limits, linked_files_count_toward_storage=True)
    refused = storage_decision(Decimal(55), Decimal(5), 20, crm, counted, linked_gb=Decimal(1))
    assert (refused.outcome, refused.used_gb) == (Outcome.REFUSED, Decimal(61))


def test_rec_4_a_scenario_names_the_cheapest_higher_plan_on_every_door() -> None:
    """REC-3/REC-4 end to end: 150 records on standard (limit 100) with premium (rank 2, 500
    records, 800.00) and pro (rank 3, 1000 records, 700.00) in the catalogue: the refusal
    suggests pro, the cheaper of the two that fit (it suggested premium, the next rank); the
    stored path refuses it the same."""
    import json
    from pathlib import Path

    from crmcore.memory import InMemoryStorage
    from stored_paths import same_as_runner

    path = Path(__file__).resolve().parent / "data/rec_4_the_cheapest_higher_plan.json"
    document = json.loads(path.read_text())
    (refusal,) = run(document)["refusals"]
    assert (refusal["rule"], refusal["suggested_plan"]) == ("REC-3", "pro")
    same_as_runner(document, InMemoryStorage().unit_of_work)
