"""A command resumes its evaluation from where the last one stood (issue 14, command latency).

``evaluate_tenant(..., prefixes=cache, keep_on=day)`` resumes the replay and the billing walk
(:func:`crmcore.billing.engine.replay_and_bill`) from the tenant's
:class:`~crmcore.billing.engine.BillingPrefix` in the cache, and keeps the one at the end of
``keep_on`` for the next evaluation. A cache, never the record: differentially, every
evaluation so resumed equals the whole replay (BILL, PRO, TERM, PAY, SLA, REC on random
lives), a prefix is used only when its events and terms are those of the history evaluated,
and when it is used only the events after it are replayed.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

import crmcore.billing.engine as engine
from crmcore.app.commands import terms_of
from crmcore.app.evaluation import (
    CHARGE_HORIZON,
    Evaluation,
    PrefixCache,
    TenantTerms,
    evaluate_tenant,
)
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.dates import vendor_date
from crmcore.errors import CrmError, ValidationError
from crmcore.events import Activated, Event, SeatsAdded, TenantCreated
from crmcore.scenario.runner import parse, scenario_terms
from crmcore.testing.billing import life_scenario_documents
from crmcore.vendors import vendor_from_preset

PRAGUE = ZoneInfo("Europe/Prague")
START = datetime(2026, 1, 5, 9, tzinfo=PRAGUE)


def _same(resumed: Evaluation, plain: Evaluation) -> bool:
    """Equal evaluations: every field by value, the replay's refusals by what they say (an
    exception object compares by identity)."""

    def refusals(evaluation: Evaluation) -> list[tuple[object, ...]]:
        return [
            (r.at, r.day, r.event, type(r.error), str(r.error))
            for r in evaluation.timeline.refusals
        ]

    timeless = {"timeline": None}
    return (
        attrs.evolve(resumed, **timeless) == attrs.evolve(plain, **timeless)
        and resumed.timeline.initial == plain.timeline.initial
        and resumed.timeline.steps == plain.timeline.steps
        and refusals(resumed) == refusals(plain)
    )


def _as_commands_evaluate(terms: TenantTerms, history: list[Event], cache: PrefixCache) -> None:
    """Each prefix of ``history`` evaluated as :func:`crmcore.app.commands.record` evaluates
    its new last event (up to :data:`CHARGE_HORIZON` after its day, keeping the day before),
    resumed from ``cache``, equals the whole replay of that prefix."""
    tz = terms.policy.timezone
    for count in range(1, len(history) + 1):
        part = history[:count]
        day = vendor_date(part[-1].at, tz)
        until = day + CHARGE_HORIZON
        plain = evaluate_tenant(terms, part, until)
        resumed = evaluate_tenant(
            terms, part, until, prefixes=cache, keep_on=day - timedelta(days=1)
        )
        assert _same(resumed, plain), f"after {count} events"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(life_scenario_documents())
def test_bill_pro_pay_an_evaluation_resumed_from_prefixes_equals_the_whole_replay(
    document: dict[str, Any],
) -> None:
    try:
        scenario = parse(document)
    except CrmError:  # a document the runner refuses has no life to compare
        return
    _as_commands_evaluate(scenario_terms(scenario), list(scenario.history), PrefixCache())


def _seats_history(days: int) -> list[Event]:
    """Activated with 1 seat, then one more seat a day (PRO-2 lines on every invoice)."""
    history: list[Event] = [
        TenantCreated(START, "t1"),
        Activated(START + timedelta(days=1), "standard", seats=1),
    ]
    history += [SeatsAdded(START + timedelta(days=2 + n, hours=1), 1) for n in range(days)]
    return history


def _versions(price: str = "500.00", later: str | None = None) -> list[Any]:
    """The versions of a vendor stored as data; with ``later``, a second version (NOTICE-2)
    from 1 March 2026 with that price, so that the prices come from its price lists by day."""

    def version(effective: date, amount: str) -> Any:
        plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, amount)])])
        return vendor_from_preset(
            "raynet", name="acme", effective=effective, catalog=plans, vat_rates={"CZ": "0.21"}
        )

    versions = [version(date(2025, 1, 1), price)]
    if later is not None:
        versions.append(version(date(2026, 3, 1), later))
    return versions


def _terms(price: str = "500.00", later: str | None = None) -> TenantTerms:
    versions = _versions(price, later)
    return terms_of(versions[-1], "t1", versions)


def test_pro_2_a_long_life_of_daily_seats_resumed_equals_the_whole_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seven months of a seat a day, with a price change on 1 March (NOTICE-2): the terms are
    made anew for every command from the vendor's versions, as a command makes them (their
    price lists new objects of the same catalogues), and every command after the first
    resumes."""
    history = _seats_history(200)
    cache = PrefixCache()
    versions = _versions(later="600.00")
    tz = "Europe/Prague"
    counts = _replayed(monkeypatch)
    for count in range(150, len(history) + 1, 10):
        terms = terms_of(versions[-1], "t1", versions)
        part = history[:count]
        day = vendor_date(part[-1].at, tz)
        plain = evaluate_tenant(terms, part, day + CHARGE_HORIZON)
        resumed = evaluate_tenant(
            terms,
            part,
            day + CHARGE_HORIZON,
            prefixes=cache,
            keep_on=day - timedelta(days=1),
        )
        assert _same(resumed, plain)
        # the later version's price is billed: 600.00 a seat from March on
        assert any(line.net.amount == 600 * line.seats for i in plain.invoices for line in i.lines)
    whole, resumed_with = counts
    assert len(whole) == 1  # the first command replays from the creation, the others resume
    assert len(resumed_with) >= 2 * 5


def _replayed(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """The number of events given to each replay from the tenant's creation and to each
    resumed replay of the billing walk."""
    whole: list[int] = []
    resumed: list[int] = []
    replay, resume = engine.replay, engine.resume

    def counting_replay(events: Any, *args: Any, **options: Any) -> Any:
        whole.append(len(events))
        return replay(events, *args, **options)

    def counting_resume(state: Any, events: Any, *args: Any) -> Any:
        resumed.append(len(events))
        return resume(state, events, *args)

    monkeypatch.setattr(engine, "replay", counting_replay)
    monkeypatch.setattr(engine, "resume", counting_resume)
    return whole, resumed


def test_a_prefix_that_fits_is_resumed_from_and_only_the_events_after_it_are_replayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = _seats_history(60)
    terms, cache = _terms(), PrefixCache()
    day = vendor_date(history[-2].at, "Europe/Prague")
    evaluate_tenant(terms, history[:-1], day + CHARGE_HORIZON, prefixes=cache, keep_on=day)
    kept = cache.get("t1")
    assert kept is not None and kept.day == day and len(kept.events) == len(history) - 1
    counts = _replayed(monkeypatch)
    last = vendor_date(history[-1].at, "Europe/Prague")
    resumed = evaluate_tenant(
        terms, history, last + CHARGE_HORIZON, prefixes=cache, keep_on=last - timedelta(days=1)
    )
    assert counts == ([], [1])  # the new seat alone: the 61 events before it were not replayed
    assert _same(resumed, evaluate_tenant(terms, history, last + CHARGE_HORIZON))


@pytest.mark.parametrize(
    "change", ["an earlier event differs", "another price", "another tenant's history"]
)
def test_a_prefix_of_other_events_or_terms_is_not_used(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache serves any number of stores: the same tenant id with another history (or
    under other terms) never resumes from it."""
    history = _seats_history(40)
    cache = PrefixCache()
    day = vendor_date(history[-1].at, "Europe/Prague")
    evaluate_tenant(_terms(), history, day + CHARGE_HORIZON, prefixes=cache, keep_on=day)
    terms = _terms()
    if change == "an earlier event differs":
        history[5] = SeatsAdded(history[5].at, 2)
    elif change == "another price":
        terms = _terms("510.00")
    else:
        history[0] = TenantCreated(START, "t1", "someone@example.com")
    counts = _replayed(monkeypatch)
    until = day + timedelta(days=40)
    resumed = evaluate_tenant(terms, history, until, prefixes=cache, keep_on=day)
    assert counts[0] == [len(history)]  # replayed from the tenant's creation
    assert _same(resumed, evaluate_tenant(terms, history, until))


def test_nothing_is_kept_for_a_day_on_or_after_until() -> None:
    history = _seats_history(10)
    cache = PrefixCache()
    day = vendor_date(history[-1].at, "Europe/Prague")
    evaluate_tenant(_terms(), history, day, prefixes=cache, keep_on=day)
    assert cache.get("t1") is None


def test_the_cache_keeps_the_most_recently_used_tenants() -> None:
    cache = PrefixCache(size=2)
    terms = _terms()
    for tenant in ("a", "b", "c"):
        history = [TenantCreated(START, tenant), Activated(START + timedelta(days=1), "standard")]
        evaluate_tenant(
            attrs.evolve(terms, tenant_id=tenant),
            history,
            date(2026, 3, 1),
            prefixes=cache,
            keep_on=date(2026, 2, 1),
        )
        cache.get("a")  # used: kept
    assert len(cache) == 2 and cache.get("a") is not None and cache.get("b") is None
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValidationError, match="size"):
        PrefixCache(size=0)


def test_bill_6_the_invoices_of_a_prefix_are_issued_once_and_numbered_alike() -> None:
    """The invoices of the drafts a prefix holds are the very objects of the evaluation before
    (their totals computed once); the numbers of the later ones go on gaplessly."""
    history = _seats_history(90)
    terms, cache = _terms(), PrefixCache()
    evaluations = []
    for count in (80, len(history)):
        day = vendor_date(history[count - 1].at, "Europe/Prague")
        evaluations.append(
            evaluate_tenant(
                terms,
                history[:count],
                day + CHARGE_HORIZON,
                prefixes=cache,
                keep_on=day - timedelta(days=1),
            )
        )
    before, after = evaluations
    shared = [a for a, b in zip(after.invoices, before.invoices, strict=False) if a is b]
    assert len(shared) >= 2  # January's and February's at least
    numbers = [int(i.number.rsplit("/", 1)[-1]) for i in after.invoices]
    assert numbers == list(range(1, len(numbers) + 1))
    day = vendor_date(history[-1].at, "Europe/Prague")
    assert _same(after, evaluate_tenant(terms, history, day + CHARGE_HORIZON))


def test_the_cache_holds_at_most_its_events_in_all() -> None:
    """A prefix's memory grows with its events: 2 tenants of 42 events each fit in 100, a
    third drops the least recently used; a prefix of more events than the cache holds is not
    kept."""
    cache = PrefixCache(size=10, events=100)
    terms = _terms()
    for tenant in ("a", "b", "c"):
        history = [TenantCreated(START, tenant), *_seats_history(40)[1:]]
        day = vendor_date(history[-1].at, "Europe/Prague")
        evaluate_tenant(
            attrs.evolve(terms, tenant_id=tenant),
            history,
            day + timedelta(days=1),
            prefixes=cache,
            keep_on=day,
        )
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") is not None
    big = _seats_history(120)
    day = vendor_date(big[-1].at, "Europe/Prague")
    evaluate_tenant(terms, big, day + timedelta(days=1), prefixes=cache, keep_on=day)
    assert cache.get("t1") is None
    with pytest.raises(ValidationError, match="events"):
        PrefixCache(events=0)


def test_pay_5_a_history_of_equal_but_other_events_replays_from_the_creation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same history read anew (equal events, other objects) does not resume from a prefix
    of the first: an evaluation tells events apart by identity, so the refusals of a purged
    trial's events (TRIAL-4, then PAY-5 for each) would be doubled. Found by an audit:
    resumed, ``create_records`` was refused twice (TRIAL-4 and PAY-5)."""
    document = {
        "preset": "raynet",
        "currency": "CZK",
        "vat_rate": "0.21",
        "plans": [{"code": "standard", "rank": 1, "price": {"monthly": "500.00"}, "records": 100}],
        "tenant": {"id": "t", "created": "2026-01-05T09:00:00+01:00"},
        "events": [  # never bought: the trial ends and the tenant is purged (TRIAL-4)
            {
                "at": "2026-09-01T12:00:00+02:00",
                "do": "create_records",
                "kind": "client",
                "count": 1,
            },
            {"at": "2026-09-10T12:00:00+02:00", "do": "pay", "amount": "1.00"},
        ],
        "until": "2026-10-01",
    }
    scenario = parse(document)
    terms, history = scenario_terms(scenario), list(scenario.history)
    until, keep_on = date(2026, 10, 12), date(2026, 9, 9)
    cache = PrefixCache()
    evaluate_tenant(terms, history, until, prefixes=cache, keep_on=keep_on)
    again = [copy.copy(event) for event in history]
    counts = _replayed(monkeypatch)
    resumed = evaluate_tenant(terms, again, until, prefixes=cache, keep_on=keep_on)
    assert counts[0] and counts[0][0] >= 2  # replayed from the creation
    assert [(r.on.isoformat(), r.do, r.rule) for r in resumed.refusals] == [
        ("2026-09-01", "create_records", "PAY-5"),
        ("2026-09-10", "pay", "PAY-5"),
    ]
    assert _same(resumed, evaluate_tenant(terms, again, until))


def test_plan_2_terms_written_otherwise_do_not_resume() -> None:
    """A later version restates the VAT rate 0.21 as 0.210: equal, yet the invoices under it
    show 0.210, as the whole replay's do (the prefix's terms are compared as written)."""
    versions = _versions()
    restated = attrs.evolve(
        versions[0], effective=date(2026, 3, 1), vat_rates={"CZ": Decimal("0.210")}
    )
    restated = attrs.evolve(
        restated, policy=attrs.evolve(restated.policy), catalog=versions[0].catalog
    )
    both = [versions[0], restated]
    history = _seats_history(70)
    cache = PrefixCache()
    for count in (50, 60, len(history)):
        part = history[:count]
        day = vendor_date(part[-1].at, "Europe/Prague")
        in_force = both[0] if day < date(2026, 3, 1) else both[1]
        terms = terms_of(in_force, "t1", both)
        plain = evaluate_tenant(terms, part, day + CHARGE_HORIZON)
        resumed = evaluate_tenant(
            terms, part, day + CHARGE_HORIZON, prefixes=cache, keep_on=day - timedelta(days=1)
        )
        assert [str(i.vat_rate) for i in resumed.invoices] == [
            str(i.vat_rate) for i in plain.invoices
        ]
        assert _same(resumed, plain)


def test_bill_6_events_entered_on_their_own_day_resume_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An application that says when every event was entered (``recorded``, a minute after it
    took effect, the same vendor day: no late entry, BILL-6) gets the same resumed evaluation
    as the whole replay, from one replay from the creation."""
    history = [
        event
        if isinstance(event, TenantCreated)
        else attrs.evolve(event, recorded=event.at + timedelta(minutes=1))
        for event in _seats_history(60)
    ]
    terms, cache = _terms(), PrefixCache()
    counts = _replayed(monkeypatch)
    for count in range(40, len(history) + 1, 5):
        part = history[:count]
        day = vendor_date(part[-1].at, "Europe/Prague")
        plain = evaluate_tenant(terms, part, day + CHARGE_HORIZON)
        resumed = evaluate_tenant(
            terms, part, day + CHARGE_HORIZON, prefixes=cache, keep_on=day - timedelta(days=1)
        )
        assert _same(resumed, plain)
    assert len(counts[0]) == 1
