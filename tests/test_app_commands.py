"""The application layer's commands, queries and billing (crmcore.app; issue 14), in memory
and on SQLite, PostgreSQL and MariaDB (the servers when their URL variable is set).

The vendor ``acme`` (raynet terms: CZ, Europe/Prague, transfer due in 14 days, BILL-4;
dunning 3 / 60 / 150 days, PAY-6) sells ``standard`` at 500.00 CZK per seat and month and
``premium`` at 800.00; ``standard`` holds 100 records (REC-3); VAT 21 % (PLAN-2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from sqlalchemy.engine import Engine

from crmcore.app.billing import bill_tenant
from crmcore.app.commands import (
    PRICED_EVENTS,
    _added_lines,
    record,
    register_tenant,
    save_vendor,
    terms_of,
)
from crmcore.app.evaluation import CHARGE_HORIZON, evaluate_tenant
from crmcore.app.queries import Access, tenant_invoices, tenant_status
from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.dates import vendor_date
from crmcore.errors import (
    CommandRefused,
    ConcurrencyError,
    NotFound,
    StorageError,
    UnknownPreset,
    ValidationError,
)
from crmcore.events import (
    Activated,
    Cancelled,
    Event,
    PaymentMethod,
    PaymentReceived,
    PersonAssigned,
    Prepaid,
    RecordsCreated,
    RecordsDeleted,
    Reinstated,
    SeatsAdded,
)
from crmcore.ports import UnitOfWork
from crmcore.testing.billing import TWO_PLANS, tenant_histories
from crmcore.vendors import Vendor, vendor_from_preset
from stored_paths import fresh_store

PRAGUE = ZoneInfo("Europe/Prague")
UnitOfWorkFactory = Callable[[], UnitOfWork]


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), PRAGUE).replace(hour=hour)


def acme() -> Vendor:
    catalog = Catalog(
        [
            Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")], Limits(records=100)),
            Plan("premium", 2, [Price("CZK", Cycle.MONTHLY, "800.00")], Limits(records=1000)),
        ]
    )
    return vendor_from_preset(
        "raynet", name="acme", effective=date(2026, 1, 1), catalog=catalog, vat_rates={"CZ": "0.21"}
    )


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> UnitOfWorkFactory:
    """A fresh store holding vendor acme and tenant t1, created 5 Jan 2026 09:00 (trial)."""
    factory: UnitOfWorkFactory = fresh_store(request.param, engines)
    save_vendor(factory(), acme())
    register_tenant(factory(), "t1", "acme", at("2026-01-05"))
    return factory


def version(store: UnitOfWorkFactory, tenant: str = "t1") -> int:
    with store() as uow:
        return uow.tenants.version(tenant)


def test_ten_1_a_tenant_needs_a_stored_vendor(store: UnitOfWorkFactory) -> None:
    with pytest.raises((NotFound, UnknownPreset)):
        register_tenant(store(), "t2", "nobody", at("2026-01-05"))
    with pytest.raises(NotFound):  # no version of acme in force in 2025
        register_tenant(store(), "t3", "acme", at("2025-12-31"))
    with store() as uow:
        assert uow.tenants.ids() == ["t1"]


def test_ten_1_a_tenant_is_registered_once(store: UnitOfWorkFactory) -> None:
    """A second registration of t1 is refused naming TEN-1 and the id; t1's history is the
    one of its first registration."""
    with pytest.raises(StorageError, match="tenant_id: tenant 't1' already exists") as twice:
        register_tenant(store(), "t1", "acme", at("2026-02-01"))
    assert twice.value.rule == "TEN-1"
    with store() as uow:
        history = uow.tenants.history("t1")
    assert len(history) == 1 and history[0].at == at("2026-01-05")


def test_pro_1_activation_reports_its_charge(store: UnitOfWorkFactory) -> None:
    """PRO-1: 2 seats from 20 Jan: 2 x 500.00 x 12/31 = 387.10 (387.096...), then February's
    full month 2 x 500.00 = 1000.00 on the 1 Feb invoice (BILL-2)."""
    done = record(store(), "t1", Activated(at("2026-01-20"), "standard", seats=2))
    assert done.version == 2 == version(store)
    assert [line.net.rounded().amount for line in done.charges] == [
        (Decimal(2 * 500 * 12) / 31).quantize(Decimal("0.01")),
        Decimal("1000.00"),
    ]
    assert done.replaced == ()


def test_seat_5_a_refused_command_stores_nothing(store: UnitOfWorkFactory) -> None:
    record(store(), "t1", Activated(at("2026-01-20"), "standard", seats=1))
    record(store(), "t1", PersonAssigned(at("2026-01-21"), "ada"))
    with pytest.raises(CommandRefused) as refused:
        record(store(), "t1", PersonAssigned(at("2026-01-22"), "bo"))
    assert (refused.value.field, refused.value.rule) == ("assign", "SEAT-5")
    assert version(store) == 3  # created, activated, ada: bo was not stored


def test_concurrent_commands_one_wins(store: UnitOfWorkFactory) -> None:
    """Optimistic concurrency: the append of a command that read an older version fails."""
    record(store(), "t1", Activated(at("2026-01-20"), "standard", seats=1))
    with store() as uow:
        stale = uow.tenants.version("t1")
    record(store(), "t1", SeatsAdded(at("2026-01-21"), 1))
    with store() as uow, pytest.raises(ConcurrencyError):
        uow.tenants.append("t1", [SeatsAdded(at("2026-01-22"), 1)], expected_version=stale)
    assert version(store) == 3


def test_rec_3_records_over_the_limit_are_refused_with_the_plan_that_fits(
    store: UnitOfWorkFactory,
) -> None:
    """REC-3/REC-4: 95 of 100 clients, then 10 more: 105 > 100, premium (1000) fits;
    REC-2: 95 >= 90 % of 100 is a warning."""
    record(store(), "t1", Activated(at("2026-01-20"), "standard", seats=1))
    done = record(store(), "t1", RecordsCreated(at("2026-01-21"), "client", 95))
    assert [w.to_json() for w in done.warnings] == [
        {"on": "2026-01-21", "rule": "REC-2", "records": 95, "limit": 100}
    ]
    with pytest.raises(CommandRefused) as refused:
        record(store(), "t1", RecordsCreated(at("2026-01-22"), "client", 10))
    assert (refused.value.rule, refused.value.suggested_plan) == ("REC-3", "premium")
    assert version(store) == 3


def never_paid(store: UnitOfWorkFactory) -> None:
    """Activated 1 Feb by transfer, never paid: the 1 Feb invoice is due 15 Feb (BILL-4)."""
    record(
        store(),
        "t1",
        Activated(at("2026-02-01"), "standard", seats=2, payment=PaymentMethod.TRANSFER),
    )


def test_pay_2_to_4_status_access_and_next_transitions(store: UnitOfWorkFactory) -> None:
    """Due 15 Feb: blocked when more than 3 days overdue (19 Feb, PAY-2), cancelled after 60
    (15 Feb + 61 = 17 Apr, PAY-3), purged after 150 (15 Feb + 151 = 16 Jul, PAY-4)."""
    never_paid(store)
    due = date(2026, 2, 15)
    view = tenant_status(store(), "t1", date(2026, 2, 18))
    assert (view.status.value, view.access) == ("active", Access.FULL)
    assert [(n.on, n.status, n.rule) for n in view.next] == [
        (due + timedelta(days=4), "blocked", "PAY-2"),
        (due + timedelta(days=61), "cancelled", "PAY-3"),
        (due + timedelta(days=151), "purged", "PAY-4"),
    ]
    blocked = tenant_status(store(), "t1", due + timedelta(days=4))
    assert (blocked.status.value, blocked.access) == ("blocked", Access.NONE)
    assert blocked.to_json()["statuses"][-1] == {"on": "2026-02-19", "status": "blocked"}


def _transfer_from_20_january(store: UnitOfWorkFactory) -> None:
    """Converted on 20 Jan with 2 seats, paying by transfer: the first invoice (2 x 500.00 x
    12/31 = 387.10 net), issued that day, is due 14 days later, on 3 Feb (BILL-4)."""
    record(
        store(),
        "t1",
        Activated(at("2026-01-20"), "standard", seats=2, payment=PaymentMethod.TRANSFER),
    )


def test_pay_5_a_customers_cancellation_is_not_followed_by_payment_delay_statuses(
    store: UnitOfWorkFactory,
) -> None:
    """END-4 on 25 Jan, the invoice due 3 Feb never paid: the status stays ``cancelled``
    (PAY-5: states only move forward; it was ``blocked`` on 7 Feb = 3 Feb + 4, PAY-2, and
    ``cancelled`` again on 5 Apr = 3 Feb + 61, PAY-3) until the purge on 3 Feb + 151 = 4 Jul
    (PAY-4), the one transition announced."""
    _transfer_from_20_january(store)
    record(store(), "t1", Cancelled(at("2026-01-25")))
    purge = (date(2026, 7, 4), "purged", "PAY-4")
    assert date(2026, 2, 3) + timedelta(days=151) == purge[0]
    for day in (date(2026, 1, 26), date(2026, 2, 7), date(2026, 4, 5)):
        view = tenant_status(store(), "t1", day)
        assert view.status.value == "cancelled", day
        assert [(n.on, n.status, n.rule) for n in view.next] == [purge], day
    view = tenant_status(store(), "t1", date(2026, 7, 4))
    assert [(s.on.isoformat(), s.status) for s in view.statuses] == [
        ("2026-01-05", "trial"),
        ("2026-01-20", "active"),
        ("2026-01-25", "cancelled"),
        ("2026-07-04", "purged"),
    ]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_pay_5_a_customers_cancellation_is_not_blocked_at_any_door(
    kind: str, engines: dict[str, Engine]
) -> None:
    """END-4 on 10 Feb, the 1 Feb invoice (due 15 Feb) never paid, March prepaid for none:
    the paid access lasts to 28 Feb (BILL-3) and no door blocks it on 19 Feb = 15 Feb + 4
    (PAY-2) nor cancels it again on 15 Feb + 61 = 17 Apr (PAY-3): an API call on 20 Feb is
    allowed, and the dunning job reports no change on those days, the tenant counted as
    cancelled (PAY-5)."""
    from crmcore.app.services import count_api_call
    from crmcore.events import Cancelled as Cancel
    from crmcore_sql.jobs import dunning_as_of
    from stored_paths import fresh_store

    store = fresh_store(kind, engines)
    save_vendor(store(), acme())
    register_tenant(store(), "t1", "acme", at("2026-01-05"))
    transfer = Activated(at("2026-02-01"), "standard", payment=PaymentMethod.TRANSFER)
    record(store(), "t1", transfer)
    record(store(), "t1", Cancel(at("2026-02-10")))
    bill_tenant(store(), "t1", date(2026, 2, 28))
    view = tenant_status(store(), "t1", date(2026, 2, 20))
    assert (view.status.value, view.access) == ("cancelled", Access.FULL)
    assert count_api_call(store(), "t1", at("2026-02-20")).outcome.value == "allowed"
    if kind == "sqlite":
        for day in (date(2026, 2, 19), date(2026, 4, 17)):
            assert dunning_as_of(engines["sqlite"], day) == ([], {"cancelled": 1})


def test_pay_2_a_blocked_debtors_own_cancellation_gives_no_access_back(
    store: UnitOfWorkFactory,
) -> None:
    """Blocked on 7 Feb (the 20 Jan invoice due 3 Feb, 3 Feb + 4, PAY-2), then cancelled by
    the customer on 10 Feb (END-4): only paying unblocks (PAY-2), so ``tenant_status`` says
    ``cancelled``, access none, as the commands refuse (PAY-2); it said access full (the
    period invoiced, BILL-3). A cancellation before the block keeps the access it paid for
    (the test above)."""
    _transfer_from_20_january(store)
    assert tenant_status(store(), "t1", date(2026, 2, 7)).access is Access.NONE  # blocked
    record(store(), "t1", Cancelled(at("2026-02-10")))
    view = tenant_status(store(), "t1", date(2026, 2, 12))
    assert [s.status for s in view.statuses][-2:] == ["blocked", "cancelled"]
    assert (view.status.value, view.access) == ("cancelled", Access.NONE)
    with pytest.raises(CommandRefused) as refused:
        record(store(), "t1", RecordsCreated(at("2026-02-12"), "client", 1))
    assert refused.value.rule == "PAY-2"


def test_pay_5_no_records_are_deleted_after_a_purge_for_payment_delay(
    store: UnitOfWorkFactory,
) -> None:
    """Never paid, purged on 3 Feb + 151 = 4 Jul (PAY-4): deleting records on 5 Jul is
    refused (PAY-5: a purge is final) and nothing is stored; on 25 Jan, with access, it was
    accepted, and on 3 Jul, cancelled (PAY-3) and not yet purged, it is refused as a creation
    is: the tenant has no access."""
    _transfer_from_20_january(store)
    record(store(), "t1", RecordsCreated(at("2026-01-21"), "client", 10))
    record(store(), "t1", RecordsDeleted(at("2026-01-25"), "client", 1))
    with pytest.raises(CommandRefused) as cancelled:
        record(store(), "t1", RecordsDeleted(at("2026-07-03"), "client", 1))
    assert cancelled.value.rule == "PAY-3"
    stored = version(store)
    with pytest.raises(CommandRefused) as refused:
        record(store(), "t1", RecordsDeleted(at("2026-07-05"), "client", 5))
    assert (refused.value.rule, refused.value.field) == ("PAY-5", "delete_records")
    assert version(store) == stored


def test_bill_7_a_payment_finer_than_the_minor_unit_is_refused(store: UnitOfWorkFactory) -> None:
    """A payment of 528.885 CZK (a tenth of a haler) would leave 0.005 unpaid for ever (PAY-1)
    and the tenant blocked (PAY-2): refused naming the amount and BILL-7, nothing stored, the
    store usable; 528.89 is accepted."""
    _transfer_from_20_january(store)
    stored = version(store)
    with pytest.raises(ValidationError) as refused:
        record(store(), "t1", PaymentReceived(at("2026-01-22"), Decimal("528.885")))
    assert (refused.value.field, refused.value.rule) == ("event.amount", "BILL-7")
    assert "528.885" in str(refused.value)
    assert version(store) == stored
    record(store(), "t1", PaymentReceived(at("2026-01-22"), Decimal("528.89")))
    assert version(store) == stored + 1


def test_pay_3_a_new_term_after_cancellation_is_refused_until_reinstated(
    store: UnitOfWorkFactory,
) -> None:
    never_paid(store)
    with pytest.raises(CommandRefused) as refused:
        record(store(), "t1", Prepaid(at("2026-05-01"), "standard", 3, 2))
    assert refused.value.rule == "PAY-3"
    record(store(), "t1", PaymentReceived(at("2026-05-02")))
    record(store(), "t1", Reinstated(at("2026-05-03")))
    assert tenant_status(store(), "t1", date(2026, 5, 3)).status.value == "active"


def test_bill_6_billing_stores_each_invoice_once_numbered_in_the_vendor_series(
    store: UnitOfWorkFactory,
) -> None:
    """BILL-2: 1 Feb (2 x 500.00), 1 Mar, 1 Apr; after the 17 Apr cancellation (PAY-3) no
    invoice is issued on 1 May or later; numbers 2026/0001.. gapless; a second run stores
    nothing. 1000.00 net + 21 % VAT = 1210.00 gross."""
    never_paid(store)
    first = bill_tenant(store(), "t1", date(2026, 3, 31))
    assert [i.number for i in first.issued] == ["2026/0001", "2026/0002"]
    later = bill_tenant(store(), "t1", date(2026, 8, 31))
    assert [i.number for i in later.issued] == ["2026/0003"]  # 1 Apr; none from 1 May on
    assert bill_tenant(store(), "t1", date(2026, 8, 31)).issued == ()
    stored = tenant_invoices(store(), "t1")
    assert [i.issued for i in stored] == [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
    assert {i.gross.amount for i in stored} == {Decimal("1000.00") * Decimal("1.21")}


@settings(max_examples=max(20, settings().max_examples // 2))
@given(tenant_histories())
def test_pro_2_to_4_a_commands_charge_reads_only_the_documents_from_its_day(
    history: list[Event],
) -> None:
    """Fast path against the plain path (PRO-2, PRO-3, PRO-4, BILL-6): ``record`` reports a
    priced change's charge (and what it replaces) by comparing the evaluations with and
    without it among the documents issued on or after its day only; compared over every
    document, the lines are the same, for each priced event of a random life."""
    vendor = vendor_from_preset(
        "raynet",
        name="acme",
        effective=date(2020, 1, 1),
        catalog=TWO_PLANS,
        vat_rates={"CZ": "0.21"},
    )
    terms = terms_of(vendor, "t")
    for index in range(2, len(history)):
        event = history[index]
        if not isinstance(event, PRICED_EVENTS):
            continue
        day = vendor_date(event.at, vendor.policy.timezone)
        before = evaluate_tenant(terms, history[:index], day + CHARGE_HORIZON)
        after = evaluate_tenant(terms, history[: index + 1], day + CHARGE_HORIZON)
        for one, other in ((before, after), (after, before)):
            assert _added_lines(one, other, day) == _added_lines(one, other, date.min)


def test_end_4_bill_3_a_customers_cancellation_leaves_access_to_the_end_of_the_paid_period() -> (
    None
):
    """END-4 ends the contract the same day; BILL-3: access lasts to the end of the paid
    period. customer_cancellation: monthly from 1 Mar, March invoiced in advance, cancelled on
    20 Mar: status ``cancelled`` from 20 Mar, but access full through 31 Mar (a record created
    on 25 Mar is accepted), none from 1 Apr (one created on 2 Apr is refused, END-4). The
    stored path and ``tenant_status`` say the same. A ``reinstate`` on 26 Mar is refused naming
    END-4: the customer ended the contract (only a PAY-3 cancellation is reinstated)."""
    import copy
    import json
    from pathlib import Path

    from crmcore.app.simulation import simulate_stored
    from crmcore.memory import InMemoryStorage
    from crmcore.scenario.runner import run
    from stored_paths import same_as_runner

    root = Path(__file__).resolve().parents[1]
    document = copy.deepcopy(
        json.loads((root / "docs/scenarios/customer_cancellation.json").read_text())
    )
    for day in ("2026-03-25", "2026-04-02"):
        document["events"].append({"on": day, "do": "create_records", "kind": "client", "count": 1})
    document["events"].insert(-1, {"on": "2026-03-26", "do": "reinstate"})
    result = run(document)
    assert {"on": "2026-03-20", "status": "cancelled"} in result["statuses"]
    assert [(r["on"], r["do"], r["rule"]) for r in result["refusals"]] == [
        ("2026-03-26", "reinstate", "END-4"),
        ("2026-04-02", "create_records", "END-4"),
    ]
    # a reinstatement restores a PAY-3 cancellation only; it said "it is active" here
    assert result["refusals"][0]["message"].startswith("the customer cancelled on 2026-03-20;")
    same_as_runner(document, InMemoryStorage().unit_of_work)
    storage = InMemoryStorage()
    simulate_stored(document, storage.unit_of_work)
    for day, access in (
        (date(2026, 3, 25), Access.FULL),
        (date(2026, 3, 31), Access.FULL),
        (date(2026, 4, 1), Access.NONE),
    ):
        view = tenant_status(storage.unit_of_work(), "acme", day)
        assert (view.status.value, view.access) == ("cancelled", access), day
