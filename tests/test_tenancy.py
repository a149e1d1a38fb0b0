"""Tenant aggregate by replay: seats (SEAT-1..5), status changes, time travel, PRO-6, END-4."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.catalog import Cycle
from crmcore.events import (
    Activated,
    Cancelled,
    Event,
    PaymentMethod,
    PersonAssigned,
    PersonUnassigned,
    PlanChanged,
    Prepaid,
    SeatsAdded,
    SeatsRemoved,
    TenantCreated,
)
from crmcore.policies import DowngradeTiming
from crmcore.presets import preset
from crmcore.tenancy.aggregate import TenantStatus, replay, state_on
from crmcore.tenancy.state import evolve_state
from crmcore.testing.billing import PRAGUE, TWO_PLANS, tenant_histories

RAYNET = preset("raynet")


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=PRAGUE)


def active(*events: Event) -> list[Event]:
    return [
        TenantCreated(at(date(2026, 3, 1)), "t"),
        Activated(at(date(2026, 3, 2)), "standard", Cycle.MONTHLY, 2),
        *events,
    ]


def refused_rules(history: list[Event]) -> list[str | None]:
    return [r.error.rule for r in replay(history, TWO_PLANS, RAYNET).refusals]


@pytest.mark.parametrize(
    "contract",
    [
        Activated(at(date(2026, 3, 2)), "standard", payment=PaymentMethod.TRANSFER),
        Prepaid(at(date(2026, 3, 2)), "standard", 12, payment=PaymentMethod.TRANSFER),
    ],
)
def test_bill_4_the_state_holds_the_payment_method_chosen(contract: Event) -> None:
    """The state's payment method is the PaymentMethod of the activation or prepayment (not
    its text); none before a contract."""
    history = [TenantCreated(at(date(2026, 3, 1)), "t"), contract]
    assert replay(history[:1], TWO_PLANS, RAYNET).final.payment is None
    assert replay(history, TWO_PLANS, RAYNET).final.payment is PaymentMethod.TRANSFER


def test_seat_5_assignment_needs_a_free_account() -> None:
    history = active(
        PersonAssigned(at(date(2026, 3, 3)), "ann"),
        PersonAssigned(at(date(2026, 3, 3), 10), "bob"),
        PersonAssigned(at(date(2026, 3, 3), 11), "cid"),
    )
    assert refused_rules(history) == ["SEAT-5"]
    assert replay(history, TWO_PLANS, RAYNET).final.persons == {"ann", "bob"}


def test_seat_2_one_account_per_person() -> None:
    history = active(
        PersonAssigned(at(date(2026, 3, 3)), "ann"),
        PersonAssigned(at(date(2026, 3, 3), 10), "ann"),
        PersonUnassigned(at(date(2026, 3, 3), 11), "zed"),
    )
    assert refused_rules(history) == ["SEAT-2", "SEAT-2"]


def test_seat_5_seats_never_go_below_used_accounts_and_the_admin_keeps_one_seat_3() -> None:
    history = active(
        PersonAssigned(at(date(2026, 3, 3)), "ann"),
        PersonAssigned(at(date(2026, 3, 3), 10), "bob"),
        SeatsRemoved(at(date(2026, 3, 4)), 1),
        PersonUnassigned(at(date(2026, 3, 5)), "bob"),
        PersonUnassigned(at(date(2026, 3, 5), 10), "ann"),
        SeatsRemoved(at(date(2026, 3, 6)), 2),
        SeatsRemoved(at(date(2026, 3, 6), 10), 1),
    )
    timeline = replay(history, TWO_PLANS, RAYNET)
    assert [r.error.rule for r in timeline.refusals] == [
        "SEAT-5",
        "SEAT-3",
    ]  # the last: the administrator's seat
    assert timeline.final.seats == 1


def test_time_travel_plan_and_seats_on_a_past_date() -> None:
    history = active(
        SeatsAdded(at(date(2026, 3, 10)), 3),
        PlanChanged(at(date(2026, 3, 14), 15), "premium"),
        SeatsRemoved(at(date(2026, 4, 2)), 1),
    )
    timeline = replay(history, TWO_PLANS, RAYNET)
    on_13 = timeline.state_on(date(2026, 3, 13))
    on_14 = timeline.state_on(date(2026, 3, 14))
    assert (on_13.plan, on_13.seats) == ("standard", 5)
    assert (on_14.plan, on_14.seats) == ("premium", 5)
    assert timeline.state_on(date(2026, 4, 30)).seats == 4


@given(tenant_histories(), st.integers(0, 200))
def test_state_on_any_date_equals_the_state_from_the_events_up_to_it(
    history: list[Event], offset: int
) -> None:
    day = history[0].at.astimezone(PRAGUE).date() + timedelta(days=offset)
    end = datetime.combine(day, time.max, tzinfo=PRAGUE)
    full = replay(history, TWO_PLANS, RAYNET, until=end + timedelta(days=400))
    prefix = [e for e in history if e.at <= end]
    assert full.state_on(day) == replay(prefix, TWO_PLANS, RAYNET, until=end).final
    assert state_on(history, TWO_PLANS, RAYNET, day) == full.state_on(day)


def test_pro_6_downgrade_next_period_keeps_entitlements_until_the_period_ends() -> None:
    policy = RAYNET.with_overrides({"billing": {"downgrade_takes_effect": "next_period"}})
    history = [
        TenantCreated(at(date(2026, 3, 1)), "t"),
        Activated(at(date(2026, 3, 2)), "premium", Cycle.MONTHLY, 2),
        PlanChanged(at(date(2026, 3, 10)), "standard"),
    ]
    timeline = replay(history, TWO_PLANS, policy, until=at(date(2026, 4, 2)))
    assert timeline.state_on(date(2026, 3, 31)).plan == "premium"
    assert timeline.state_on(date(2026, 4, 1)).plan == "standard"
    immediate = replay(history, TWO_PLANS, RAYNET)
    assert immediate.state_on(date(2026, 3, 10)).plan == "standard"
    assert attrs.fields(type(policy.billing)).downgrade_takes_effect.default is (
        DowngradeTiming.IMMEDIATELY
    )


def test_end_4_cancellation_same_day_and_trial_2_cancel_during_trial() -> None:
    timeline = replay(active(Cancelled(at(date(2026, 3, 20)))), TWO_PLANS, RAYNET)
    assert timeline.state_on(date(2026, 3, 20)).status is TenantStatus.CANCELLED
    assert timeline.state_on(date(2026, 3, 19)).status is TenantStatus.ACTIVE
    in_trial = [TenantCreated(at(date(2026, 3, 1)), "t"), Cancelled(at(date(2026, 3, 5)))]
    trial = replay(in_trial, TWO_PLANS, RAYNET, until=at(date(2026, 6, 1)))
    assert [s.after.status for s in trial.steps] == [TenantStatus.CANCELLED]  # no trial expiry


def test_term_2_a_prepaid_term_cannot_be_cancelled_or_downgraded() -> None:
    history: list[Event] = [
        TenantCreated(at(date(2026, 3, 1)), "t"),
        Prepaid(at(date(2026, 3, 2)), "premium", 6, 2),
        PlanChanged(at(date(2026, 4, 1)), "standard"),
        Cancelled(at(date(2026, 4, 2))),
    ]
    assert refused_rules(history) == ["TERM-2", "TERM-2"]


def test_trial_4_livespace_blocks_then_purges_and_refuses_late_conversion() -> None:
    livespace = preset("livespace")
    history: list[Event] = [
        TenantCreated(at(date(2026, 3, 1)), "t"),
        Activated(at(date(2026, 3, 20)), "standard", Cycle.MONTHLY, 1),
    ]
    timeline = replay(history, TWO_PLANS, livespace, until=at(date(2026, 5, 1)))
    assert [(s.day, s.after.status) for s in timeline.steps] == [
        (date(2026, 3, 15), TenantStatus.TRIAL_EXPIRED),  # 14 days (TRIAL-1)
        (date(2026, 4, 14), TenantStatus.PURGED),  # 30 days later (TRIAL-4 decision)
    ]
    assert [r.error.rule for r in timeline.refusals] == ["TRIAL-3"]


def test_purged_tenant_refuses_everything_pay_5() -> None:
    history: list[Event] = [
        TenantCreated(at(date(2026, 1, 1)), "t"),
        Activated(at(date(2026, 6, 1)), "standard", Cycle.MONTHLY, 1),
    ]
    assert refused_rules(history) == ["PAY-5"]


def test_history_must_start_with_creation_and_be_in_order() -> None:
    with pytest.raises(ValueError, match="TEN-1"):
        replay([SeatsAdded(at(date(2026, 3, 1)), 1)], TWO_PLANS, RAYNET)
    with pytest.raises(ValueError, match=r"history\[2\]"):
        replay(active(SeatsAdded(at(date(2026, 3, 1)), 1)), TWO_PLANS, RAYNET)


def test_trial_2_a_cancelled_trial_is_purged_90_days_after_the_cancellation_trial_4() -> None:
    history: list[Event] = [
        TenantCreated(at(date(2026, 3, 1)), "t"),
        Cancelled(at(date(2026, 3, 5))),
    ]
    timeline = replay(history, TWO_PLANS, RAYNET, until=at(date(2026, 7, 1)))
    assert [(s.day, s.after.status) for s in timeline.steps] == [
        (date(2026, 3, 5), TenantStatus.CANCELLED),
        (date(2026, 6, 3), TenantStatus.PURGED),  # 5 March + 90 days
    ]


@given(
    tenant_histories(),
    st.fixed_dictionaries(
        {},
        optional={
            "seats": st.integers(0, 500),
            "status": st.sampled_from(list(TenantStatus)),
            "plan": st.none() | st.sampled_from(["standard", "premium"]),
            "persons": st.frozensets(st.sampled_from(["ann", "bob", "eve"])),
            "next_plan_from": st.none() | st.dates(),
        },
    ),
)
def test_evolve_state_is_attrs_evolve_TEN_1(history: list[Event], changes: dict[str, Any]) -> None:
    state = replay(history, TWO_PLANS, preset("raynet")).final
    assert evolve_state(state, **changes) == attrs.evolve(state, **changes)


def test_evolve_state_refuses_an_unknown_field_TEN_1() -> None:
    state = replay(
        [TenantCreated(datetime(2026, 1, 5, 9, tzinfo=PRAGUE), "t")], TWO_PLANS, preset("raynet")
    ).final
    with pytest.raises(TypeError, match="no field 'sets'"):
        evolve_state(state, sets=3)


def test_a_refused_event_is_named_in_domain_words_END_4_TERM_2() -> None:
    """The replay's refusals name the event (``field="event"``), not a scenario document's
    JSON key: the same error reaches the Python API, the command line and the scenario runner
    (issue 16)."""
    history: list[Event] = [
        TenantCreated(at(date(2026, 3, 1)), "t"),
        Prepaid(at(date(2026, 3, 2)), "premium", 6, 2),
        Cancelled(at(date(2026, 4, 2))),
    ]
    timeline = replay(history, TWO_PLANS, RAYNET)
    assert [(r.error.rule, r.error.field) for r in timeline.refusals] == [("TERM-2", "event")]
