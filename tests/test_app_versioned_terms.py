"""Versioned terms (issue 17 section 4): a limit change applies from its effective day
(NOTICE-3), and refusing a change cancels the instance effective that day (NOTICE-4), in
memory and on SQLite, PostgreSQL and MariaDB (the servers when their URL variable is set).

The vendor ``acme`` (raynet terms: CZ, Europe/Prague, 15 days' notice of terms, 30 of prices)
sells ``standard`` at 500.00 CZK per seat and month holding 100 records, ``premium`` at
800.00 holding 1000 (REC-3). Tenant t1, created 5 Jan 2026, activated standard with one seat
on 1 Feb (monthly, invoices on the 1st, BILL-2). The second version, announced 1 Mar, takes
effect on 1 Apr (31 days' notice).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, refuse_terms, register_tenant, save_vendor, terms_of
from crmcore.app.evaluation import evaluate_tenant
from crmcore.app.queries import tenant_status
from crmcore.app.services import count_api_call
from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.cli import main
from crmcore.errors import CommandRefused, NoticeRefused
from crmcore.events import (
    Activated,
    Cancelled,
    Event,
    PaymentMethod,
    PaymentReceived,
    Prepaid,
    RecordsCreated,
    RecordsDeleted,
    TenantCreated,
)
from crmcore.memory import InMemoryStorage
from crmcore.money import Money
from crmcore.ports import UnitOfWork
from crmcore.tenancy.state import TenantStatus
from crmcore.vendors import Vendor, vendor_from_preset
from crmcore_sql.jobs import bill_up_to
from stored_paths import fresh_store

PRAGUE = ZoneInfo("Europe/Prague")
UnitOfWorkFactory = Callable[[], UnitOfWork]
ANNOUNCED = date(2026, 3, 1)
EFFECTIVE = date(2026, 4, 1)


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), PRAGUE).replace(hour=hour)


def acme(
    standard: int | None = 100,
    effective: date = date(2026, 1, 1),
    price: str = "500.00",
    warning: str = "0.9",
) -> Vendor:
    catalog = Catalog(
        [
            Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, price)], Limits(records=standard)),
            Plan("premium", 2, [Price("CZK", Cycle.MONTHLY, "800.00")], Limits(records=1000)),
        ]
    )
    vendor = vendor_from_preset(
        "raynet", name="acme", effective=effective, catalog=catalog, vat_rates={"CZ": "0.21"}
    )
    limits = attrs.evolve(vendor.policy.limits, record_warning_ratio=Decimal(warning))
    return attrs.evolve(vendor, policy=attrs.evolve(vendor.policy, limits=limits))


def stricter() -> Vendor:
    """The second version: ``standard`` holds 50 records from 1 Apr (NOTICE-3)."""
    return acme(50, EFFECTIVE)


def dearer() -> Vendor:
    """The second version: ``standard`` at 600.00 from 1 Apr (NOTICE-2)."""
    return acme(100, EFFECTIVE, price="600.00")


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> UnitOfWorkFactory:
    """A fresh store holding vendor acme's first version and tenant t1, activated 1 Feb."""
    factory: UnitOfWorkFactory = fresh_store(request.param, engines)
    save_vendor(factory(), acme())
    register_tenant(factory(), "t1", "acme", at("2026-01-05"))
    record(factory(), "t1", Activated(at("2026-02-01"), "standard", seats=1))
    return factory


def refusal(store: UnitOfWorkFactory, event: Event) -> tuple[str, str | None]:
    with pytest.raises(CommandRefused) as refused:
        record(store(), "t1", event)
    return refused.value.rule, refused.value.suggested_plan


def warnings(store: UnitOfWorkFactory, event: Event) -> list[tuple[str, int, int]]:
    done = record(store(), "t1", event)
    return [(w.rule, w.records, w.limit) for w in done.warnings]


def history(store: UnitOfWorkFactory) -> tuple[Event, ...]:
    with store() as uow:
        return uow.tenants.history("t1")


# --- NOTICE-3: a limit change applies from its effective day ----------------------------------


def test_notice_3_a_lower_limit_applies_from_its_effective_day(store: UnitOfWorkFactory) -> None:
    """standard: 100 records until 31 Mar, 50 from 1 Apr (REC-2 warns at 90 %).

    31 Mar: 45 clients, 45/100 = 45 %: no warning (under the new 50 it would be 90 %).
    1 Apr: 1 more, 46/50 = 92 % >= 90 %: allowed with a REC-2 warning.
    2 Apr: 5 more, 46 + 5 = 51 > 50: refused (REC-3), premium (1000) fits 51 (REC-4).
    2 Apr: delete 1 (45), then 5 more: 50/50, exactly the limit: allowed, warned.
    Billing on 30 Apr replays the same history: nothing refused, the same two warnings."""
    save_vendor(store(), stricter(), announced=ANNOUNCED)
    assert warnings(store, RecordsCreated(at("2026-03-31"), "client", 45)) == []
    assert warnings(store, RecordsCreated(at("2026-04-01"), "client", 1)) == [("REC-2", 46, 50)]
    assert refusal(store, RecordsCreated(at("2026-04-02"), "client", 5)) == ("REC-3", "premium")
    record(store(), "t1", RecordsDeleted(at("2026-04-02", 10), "client", 1))
    assert warnings(store, RecordsCreated(at("2026-04-02", 11), "client", 5)) == [("REC-2", 50, 50)]
    billed = bill_tenant(store(), "t1", date(2026, 4, 30)).evaluation
    assert billed.refusals == ()
    assert [(w.on.isoformat(), w.records, w.limit) for w in billed.warnings] == [
        ("2026-04-01", 46, 50),
        ("2026-04-02", 50, 50),
    ]


def test_notice_3_a_higher_limit_applies_from_its_effective_day_not_before(
    store: UnitOfWorkFactory,
) -> None:
    """standard: 100 records until 31 Mar, 200 from 1 Apr. 31 Mar: 100 clients, 100/100:
    allowed and warned (REC-2, REC-3 holds exactly the limit); 1 more that day: 101 > 100,
    refused (REC-3, premium fits). 1 Apr 00:00, the new version's first moment: 1 more,
    101/200 = 50.5 %: allowed, no warning. Billing on 30 Apr replays it the same way."""
    save_vendor(store(), acme(200, EFFECTIVE), announced=ANNOUNCED)
    assert warnings(store, RecordsCreated(at("2026-03-31"), "client", 100)) == [("REC-2", 100, 100)]
    assert refusal(store, RecordsCreated(at("2026-03-31", 23), "client", 1)) == (
        "REC-3",
        "premium",
    )
    assert warnings(store, RecordsCreated(at("2026-04-01", 0), "client", 1)) == []
    billed = bill_tenant(store(), "t1", date(2026, 4, 30)).evaluation
    assert billed.refusals == ()
    assert [(w.on.isoformat(), w.records, w.limit) for w in billed.warnings] == [
        ("2026-03-31", 100, 100)
    ]


def test_notice_3_a_limit_change_is_announced_like_terms() -> None:
    """A change of record limits only (standard 100 -> 50 from 1 Apr) needs 15 days' notice,
    like terms (NOTICE-1), and is named NOTICE-3: announced 22 Mar (10 days) refused;
    17 Mar (15 days) stored. Its prices are the same, so NOTICE-2's 30 days do not apply."""
    storage = InMemoryStorage()
    save_vendor(storage.unit_of_work(), acme())
    with pytest.raises(NoticeRefused) as refused:
        save_vendor(storage.unit_of_work(), stricter(), announced=date(2026, 3, 22))
    assert (refused.value.field, refused.value.rule) == ("effective", "NOTICE-3")
    save_vendor(storage.unit_of_work(), stricter(), announced=date(2026, 3, 17))
    with storage.unit_of_work() as uow:
        assert [v.effective for v in uow.vendors.versions("acme")] == [date(2026, 1, 1), EFFECTIVE]


def test_notice_3_a_limit_with_another_term_changed_is_named_notice_1() -> None:
    """Limits and the dunning terms changed together are a change of terms (NOTICE-1), 15
    days' notice too: 10 days refused."""
    storage = InMemoryStorage()
    first = acme()
    save_vendor(storage.unit_of_work(), first)
    lenient = stricter().policy.with_overrides({"dunning": {"block_after_days": 5}})
    both = attrs.evolve(stricter(), policy=lenient)
    with pytest.raises(NoticeRefused) as refused:
        save_vendor(storage.unit_of_work(), both, announced=date(2026, 3, 22))
    assert refused.value.rule == "NOTICE-1"


# A history of record operations between 1 Feb and 31 May, on a standard tenant.
operations = st.lists(
    st.tuples(
        st.integers(0, 119),  # days after 1 Feb
        st.integers(9, 23),  # hour (after the 08:00 activation)
        st.booleans(),  # delete instead of create
        st.sampled_from(["client", "lead", "task"]),
        st.integers(1, 60),
    ),
    max_size=12,
).map(sorted)
limits = st.one_of(st.none(), st.integers(0, 150))
ratios = st.sampled_from(["0.5", "0.9", "1"])


def record_history(steps: list[tuple[int, int, bool, str, int]]) -> list[Event]:
    events: list[Event] = [
        TenantCreated(at("2026-01-05"), "t1"),
        Activated(at("2026-02-01", 8), "standard", seats=1),
    ]
    for offset, hour, delete, kind, count in steps:
        moment = at("2026-02-01").replace(hour=hour) + timedelta(days=offset)
        events.append((RecordsDeleted if delete else RecordsCreated)(moment, kind, count))
    return events


def rec_outcomes(vendor: Vendor, versions: list[Vendor], events: list[Event]) -> Any:
    evaluation = evaluate_tenant(terms_of(vendor, "t1", versions), events, date(2026, 6, 30))
    return evaluation.refusals, evaluation.warnings, evaluation.invoices


@given(steps=operations, standard=limits, ratio=ratios, day=st.integers(0, 150))
def test_notice_3_property_limits_equal_to_the_old_change_nothing(
    steps: list[tuple[int, int, bool, str, int]], standard: int | None, ratio: str, day: int
) -> None:
    """A second version with the same limits (its other terms changed: dunning blocks after
    5 days), whatever day it takes effect: refusals, warnings and invoices identical to the
    first version alone."""
    first = acme(standard, warning=ratio)
    same = attrs.evolve(
        first,
        effective=date(2026, 1, 2) + timedelta(days=day),
        policy=first.policy.with_overrides({"dunning": {"block_after_days": 5}}),
    )
    events = record_history(steps)
    assert rec_outcomes(first, [first, same], events) == rec_outcomes(first, [first], events)


@given(steps=operations, old=limits, new=limits, ratio=ratios, day=st.integers(0, 119))
def test_notice_3_property_before_its_day_the_old_limits_apply(
    steps: list[tuple[int, int, bool, str, int]],
    old: int | None,
    new: int | None,
    ratio: str,
    day: int,
) -> None:
    """A limit change (standard ``old`` -> ``new`` records, and the REC-2 ratio) taking
    effect on day E: every record operation before E has the outcome it has under the first
    version alone (the operations from E on cannot change an earlier one's)."""
    effective = date(2026, 2, 1) + timedelta(days=day)
    first, second = acme(old), acme(new, effective, warning=ratio)
    events = record_history(steps)
    both = rec_outcomes(first, [first, second], events)
    alone = rec_outcomes(first, [first], [e for e in events if e.at.date() < effective])
    assert [r for r in both[0] if r.on < effective] == list(alone[0])
    assert [w for w in both[1] if w.on < effective] == list(alone[1])


@given(steps=operations, old=limits, new=limits, ratio=ratios)
def test_notice_3_property_from_its_day_the_new_limits_apply(
    steps: list[tuple[int, int, bool, str, int]], old: int | None, new: int | None, ratio: str
) -> None:
    """A limit change taking effect on 1 Feb, before every record operation: the refusals
    and warnings are those of the second version alone, whichever version the evaluation
    starts from (the one in force on the day asked, NOTICE-3)."""
    first, second = acme(old), acme(new, date(2026, 2, 1), warning=ratio)
    events = record_history(steps)
    alone = rec_outcomes(second, [second], events)[:2]
    assert rec_outcomes(first, [first, second], events)[:2] == alone
    assert rec_outcomes(second, [first, second], events)[:2] == alone


# --- NOTICE-4: refusing a change cancels the instance effective that day ----------------------


def invoices(store: UnitOfWorkFactory, until: date) -> list[tuple[date, Decimal]]:
    bill_tenant(store(), "t1", until)
    with store() as uow:
        stored = sorted(uow.invoices.for_tenant("t1"), key=lambda i: i.issued)
    return [(i.issued, sum((line.net.amount for line in i.lines), Decimal(0))) for i in stored]


def test_notice_4_refusing_a_price_change_cancels_before_it_binds(
    store: UnitOfWorkFactory,
) -> None:
    """500.00 -> 600.00 from 1 Apr (announced 1 Mar, 31 days >= 30, NOTICE-2). On 1 Apr at
    08:00, before using the service (and before that day's billing), t1 refuses: the
    instance is cancelled at 31 Mar 23:59:59.999999, the last moment before the version
    takes effect (recorded at 08:00, a late entry). Billed to 30 Jun: 1 Feb 500.00 and
    1 Mar 500.00 (1 seat x 500.00), no April invoice at 600.00, nothing refunded of March
    (BILL-3); status cancelled (END-1)."""
    save_vendor(store(), dearer(), announced=ANNOUNCED)
    done = refuse_terms(store(), "t1", EFFECTIVE, at("2026-04-01", 8))
    last = datetime(2026, 4, 1, tzinfo=PRAGUE) - timedelta(microseconds=1)
    assert done.events == (Cancelled(last, recorded=at("2026-04-01", 8)),)
    assert invoices(store, date(2026, 6, 30)) == [
        (date(2026, 2, 1), Decimal("500.00")),
        (date(2026, 3, 1), Decimal("500.00")),
    ]
    with store() as uow:
        assert tenant_status(uow, "t1", date(2026, 4, 1)).status is TenantStatus.CANCELLED


def test_notice_4_refusing_a_mid_period_limit_change_keeps_the_paid_month(
    store: UnitOfWorkFactory,
) -> None:
    """standard holds 50 records from 10 Apr (announced 20 Mar, 21 days >= 15, NOTICE-3).
    t1 has not used the service since; it refuses on 12 Apr: cancelled at 9 Apr
    23:59:59.999999. April's invoice (1 Apr, 500.00) stands, nothing refunded (BILL-3, END-4);
    nothing after it. A creation on 12 Apr is refused: the instance is cancelled (END-4)."""
    save_vendor(store(), acme(50, date(2026, 4, 10)), announced=date(2026, 3, 20))
    refuse_terms(store(), "t1", date(2026, 4, 10), at("2026-04-12"))
    assert history(store)[-1].at == datetime(2026, 4, 10, tzinfo=PRAGUE) - timedelta(microseconds=1)
    assert invoices(store, date(2026, 6, 30)) == [
        (date(2026, m, 1), Decimal("500.00")) for m in (2, 3, 4)
    ]
    assert refusal(store, RecordsCreated(at("2026-04-12", 10), "client", 1))[0] == "END-4"


def test_notice_4_a_change_that_cannot_be_refused_stores_nothing(
    store: UnitOfWorkFactory,
) -> None:
    """Refused with NOTICE-4, nothing stored: no version takes effect on 2 Apr; 1 Jan is the
    vendor's first version (nothing changed); on 31 Mar the version is not in effect yet;
    after a creation of records on 1 Apr 09:00, using the service accepted it."""
    save_vendor(store(), dearer(), announced=ANNOUNCED)
    cases = [
        (date(2026, 4, 2), at("2026-04-02")),
        (date(2026, 1, 1), at("2026-04-01")),
        (EFFECTIVE, at("2026-03-31", 23)),
    ]
    for effective, moment in cases:
        with pytest.raises(CommandRefused) as refused:
            refuse_terms(store(), "t1", effective, moment)
        assert (refused.value.field, refused.value.rule) == ("refuse_terms", "NOTICE-4")
    record(store(), "t1", RecordsCreated(at("2026-04-01"), "client", 1))
    stored = history(store)
    with pytest.raises(CommandRefused) as refused:
        refuse_terms(store(), "t1", EFFECTIVE, at("2026-04-01", 10))
    assert refused.value.rule == "NOTICE-4"
    assert "used on 2026-04-01 (create_records)" in refused.value.problem
    assert history(store) == stored


def test_notice_4_an_api_call_since_the_change_accepts_it(store: UnitOfWorkFactory) -> None:
    """One API call counted on 2 Apr (API-1) is use of the service after the change took
    effect on 1 Apr: the refusal on 3 Apr is refused (NOTICE-4)."""
    save_vendor(store(), dearer(), announced=ANNOUNCED)
    count_api_call(store(), "t1", at("2026-04-02"))
    with pytest.raises(CommandRefused) as refused:
        refuse_terms(store(), "t1", EFFECTIVE, at("2026-04-03"))
    assert refused.value.rule == "NOTICE-4"
    assert "2026-04-02 (API calls)" in refused.value.problem


def test_notice_4_after_the_new_terms_were_invoiced_a_correction_credits_them(
    store: UnitOfWorkFactory,
) -> None:
    """Billing ran on 1 Apr: April's invoice at 600.00 is stored. A refusal that same day is
    refused (BILL-6): a late entry's corrections correct the invoices issued before its day,
    and that one would stay. Refused on 2 Apr (not used since): cancelled at 31 Mar
    23:59:59.999999, recorded 2 Apr; a correction issued 2 Apr credits April in full:
    600.00 - 600.00 = 0.00 net, 126.00 - 126.00 = 0.00 VAT (21 %). February and March stand."""
    save_vendor(store(), dearer(), announced=ANNOUNCED)
    assert invoices(store, EFFECTIVE)[-1] == (EFFECTIVE, Decimal("600.00"))
    stored = history(store)
    with pytest.raises(CommandRefused) as refused:
        refuse_terms(store(), "t1", EFFECTIVE, at("2026-04-01", 10))
    assert refused.value.rule == "BILL-6"
    assert history(store) == stored
    refuse_terms(store(), "t1", EFFECTIVE, at("2026-04-02"))
    bill_tenant(store(), "t1", date(2026, 6, 30))
    with store() as uow:
        documents = sorted(uow.invoices.for_tenant("t1"), key=lambda i: (i.issued, i.number))
    april = documents[2]
    assert [(d.issued, d.net.amount, d.vat.amount, d.corrects) for d in documents] == [
        (date(2026, 2, 1), Decimal("500.00"), Decimal("105.00"), None),
        (date(2026, 3, 1), Decimal("500.00"), Decimal("105.00"), None),
        (EFFECTIVE, Decimal("600.00"), Decimal("126.00"), None),
        (date(2026, 4, 2), Decimal("-600.00"), Decimal("-126.00"), april.number),
    ]


def test_notice_4_a_prepaid_term_runs_to_expiry(store: UnitOfWorkFactory) -> None:
    """t2 prepaid 6 months on 1 Feb (TERM-1): the cancellation a refusal records is refused
    like any cancellation of a prepaid term (TERM-2); its prices are kept anyway (NOTICE-2)."""
    save_vendor(store(), stricter(), announced=ANNOUNCED)
    register_tenant(store(), "t2", "acme", at("2026-01-05"))
    record(store(), "t2", Prepaid(at("2026-02-01"), "standard", 6, 1))
    with pytest.raises(CommandRefused) as refused:
        refuse_terms(store(), "t2", EFFECTIVE, at("2026-04-01"))
    assert (refused.value.field, refused.value.rule) == ("cancel", "TERM-2")


# Effective days after the 1 Feb activation; the first of a month (a period start) often.
effective_days = st.one_of(
    st.sampled_from([date(2026, month, 1) for month in range(3, 8)]),
    st.integers(1, 150).map(lambda n: date(2026, 2, 1) + timedelta(days=n)),
)


@given(effective=effective_days, late=st.integers(0, 20), seats=st.integers(1, 3))
def test_notice_4_property_refusal_keeps_what_came_before_and_nets_nothing_after(
    effective: date, late: int, seats: int
) -> None:
    """A price change taking effect on day E (after the 1 Feb activation), refused on day R,
    ``late`` days after E, without using the service: the documents issued before E are
    exactly those without the refusal (nothing refunded, BILL-3); from E on there are only
    the invoices issued from E to the day before R and the corrections issued on R, and they
    net to zero, VAT included (none of the new version is paid, NOTICE-4)."""
    until = date(2026, 9, 30)
    refused_on = effective + timedelta(days=late)

    def bill(refused: bool) -> list[Any]:
        storage = InMemoryStorage()
        save_vendor(storage.unit_of_work(), acme())
        save_vendor(storage.unit_of_work(), acme(100, effective, price="600.00"))
        register_tenant(storage.unit_of_work(), "t1", "acme", at("2026-01-05"))
        record(storage.unit_of_work(), "t1", Activated(at("2026-02-01"), "standard", seats=seats))
        if refused:
            refuse_terms(storage.unit_of_work(), "t1", effective, at(refused_on.isoformat()))
        return list(bill_tenant(storage.unit_of_work(), "t1", until).issued)

    documents = bill(True)
    assert [d for d in documents if d.issued < effective] == [
        i for i in bill(False) if i.issued < effective
    ]
    after = [d for d in documents if d.issued >= effective]
    assert all(
        (d.corrects is None and d.issued < refused_on)
        or (d.corrects is not None and d.issued == refused_on)
        for d in after
    )
    assert sum(d.net.amount for d in after) == 0
    assert sum(d.vat.amount for d in after) == 0


def test_vendor_refuse_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``crmcore vendor refuse``: exit 0 and one line; bad input (no version that day, an
    unknown tenant, a time without its offset) exit 2 and one line on stderr."""
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    factory: UnitOfWorkFactory = lambda: crmcore_sql.unit_of_work(engine)  # noqa: E731
    save_vendor(factory(), acme())
    save_vendor(factory(), dearer(), announced=ANNOUNCED)
    register_tenant(factory(), "t1", "acme", at("2026-01-05"))
    engine.dispose()
    refuse = ["vendor", "refuse", "--db", url, "--tenant"]
    bad = [
        (
            [*refuse, "t1", "--effective", "2026-04-02", "--at", "2026-04-02T09:00+02:00"],
            "--effective: ",
            "(NOTICE-4)",
        ),
        (
            [*refuse, "t9", "--effective", "2026-04-01", "--at", "2026-04-02T09:00+02:00"],
            "--tenant: ",
            "",
        ),
        ([*refuse, "t1", "--effective", "2026-04-01", "--at", "2026-04-02T09:00"], "--at: ", ""),
        (
            [*refuse, "t1", "--effective", "1 April", "--at", "2026-04-02T09:00+02:00"],
            "--effective: ",
            "",
        ),
    ]
    for argv, start, end in bad:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(start) and err[0].endswith(end), err
    ok = [*refuse, "t1", "--effective", "2026-04-01", "--at", "2026-04-01T08:00+02:00"]
    assert main(ok) == 0
    assert capsys.readouterr().out == (
        "t1: refused the terms of acme taking effect on 2026-04-01; cancelled from that day"
        " (NOTICE-4)\n"
    )


def test_notice_4_the_daily_job_credits_what_it_issued_under_the_refused_version(
    tmp_path: Path,
) -> None:
    """``crmcore bill`` run daily (``bill_up_to``) on SQLite issued 1 Apr at 600.00 under the
    new version; t1 refuses on 2 Apr; the runs of 2 Apr, 1 May and 1 Jun issue one
    correction, on 2 Apr, of -600.00 naming April's invoice, and nothing more."""
    engine = crmcore_sql.create_engine(f"sqlite:///{tmp_path / 'j.db'}")
    crmcore_sql.migrate(engine)
    factory: UnitOfWorkFactory = lambda: crmcore_sql.unit_of_work(engine)  # noqa: E731
    save_vendor(factory(), acme())
    register_tenant(factory(), "t1", "acme", at("2026-01-05"))
    record(factory(), "t1", Activated(at("2026-02-01"), "standard", seats=1))
    save_vendor(factory(), dearer(), announced=ANNOUNCED)
    for day in (date(2026, 2, 1), date(2026, 3, 1), EFFECTIVE):
        bill_up_to(engine, day)
    refuse_terms(factory(), "t1", EFFECTIVE, at("2026-04-02"))
    for day in (date(2026, 4, 2), date(2026, 5, 1), date(2026, 6, 1)):
        assert bill_up_to(engine, day).failed == ()
    with factory() as uow:
        stored = sorted(uow.invoices.for_tenant("t1"), key=lambda i: (i.issued, i.number))
    engine.dispose()
    assert [(d.issued, d.net.amount, d.corrects) for d in stored] == [
        (date(2026, 2, 1), Decimal("500.00"), None),
        (date(2026, 3, 1), Decimal("500.00"), None),
        (EFFECTIVE, Decimal("600.00"), None),
        (date(2026, 4, 2), Decimal("-600.00"), stored[2].number),
    ]


# --- PLAN-2, BILL-4: an invoice keeps the VAT rate and fee of its issue day --------------------


def taxed() -> Vendor:
    """The second version, from 1 Apr: VAT 23 % in Czechia and a transfer fee of 50.00."""
    return attrs.evolve(
        acme(100, EFFECTIVE),
        vat_rates={"CZ": Decimal("0.23")},
        fees={"transfer": Money.of("50.00", "CZK")},
    )


def test_plan_2_bill_4_a_new_version_never_rates_again_what_was_issued_before_it(
    store: UnitOfWorkFactory,
) -> None:
    """t2 pays by transfer from 1 Feb (standard, one seat): February's and March's invoices
    are 500.00 x 1.21 = 605.00, due 14 days after issue, no fee (acme's first version), each
    paid in full on the 10th. The version in force from 1 Apr (VAT 23 %, a 50.00 transfer
    fee) rates April's invoice only, (500.00 + 50.00) x 1.23 = 676.50: the ones issued before
    keep 21 %, so t2 owes nothing on 2 Apr and is active (rated again at 23 %, 615.00 each,
    it was blocked from 19 Feb, PAY-2). t1 (card) likewise: 605.00, 605.00, 615.00."""
    register_tenant(store(), "t2", "acme", at("2026-01-05"))
    record(store(), "t2", Activated(at("2026-02-01"), "standard", payment=PaymentMethod.TRANSFER))
    for day in ("2026-02-10", "2026-03-10"):
        record(store(), "t2", PaymentReceived(at(day), Decimal("605.00")))
    save_vendor(store(), taxed(), announced=ANNOUNCED)
    view = tenant_status(store(), "t2", date(2026, 4, 2))
    assert (view.status, [s.status for s in view.statuses]) == (
        TenantStatus.ACTIVE,
        ["trial", "active"],
    )
    for tenant, april in (("t2", ("676.50", date(2026, 4, 15))), ("t1", ("615.00", None))):
        bill_tenant(store(), tenant, date(2026, 4, 30))
        with store() as uow:
            issued = sorted(uow.invoices.for_tenant(tenant), key=lambda i: i.issued)
        assert [(str(i.vat_rate), str(i.gross.amount)) for i in issued] == [
            ("0.21", "605.00"),
            ("0.21", "605.00"),
            ("0.23", april[0]),
        ], tenant
        if april[1] is not None:
            assert [i.due for i in issued] == [date(2026, 2, 15), date(2026, 3, 15), april[1]]
    # April's invoice is left unpaid: blocked from 15 Apr + 4 = 19 Apr (PAY-2), not before
    view = tenant_status(store(), "t2", date(2026, 4, 30))
    assert [(s.on, s.status) for s in view.statuses][1:] == [
        (date(2026, 2, 1), "active"),
        (date(2026, 4, 19), "blocked"),
    ]
