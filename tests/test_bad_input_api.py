"""Bad input to the Python API (found by an audit, each failing before its fix): a typed
``ValidationError`` naming the field and the rule, nothing stored, and the unit of work
usable afterwards, on memory, SQLite and the servers (when their URL variable is set)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor, set_billing_profile
from crmcore.app.queries import tenant_status
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.errors import ValidationError
from crmcore.events import Activated, SeatsAdded, TenantCreated
from crmcore.ports import UnitOfWork, User
from crmcore.vendors import vendor_from_preset
from stored_paths import fresh_store

PRAGUE = ZoneInfo("Europe/Prague")
Factory = Callable[[], UnitOfWork]


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=PRAGUE)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Factory:
    """acme (raynet's terms, standard at 500.00) and t1, created 5 Jan, active from 20 Jan."""
    factory: Factory = fresh_store(request.param, engines)
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
    save_vendor(
        factory(),
        vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1), catalog=plans),
    )
    register_tenant(factory(), "t1", "acme", at("2026-01-05", 9))
    record(factory(), "t1", Activated(at("2026-01-20"), "standard", seats=2))
    return factory


def _version(store: Factory) -> int:
    with store() as uow:
        return uow.tenants.version("t1")


def test_time_1_an_instant_past_the_last_day_a_tenant_is_billed_on_is_refused(
    store: Factory,
) -> None:
    """An event on 31 Dec 9999 could never be billed (an evaluation looks a period ahead):
    refused when it is built, naming ``at``; nothing stored, the store usable."""
    with pytest.raises(ValidationError) as refused:
        register_tenant(store(), "t9", "acme", datetime(9999, 12, 31, 23, tzinfo=PRAGUE))
    assert (refused.value.field, refused.value.rule) == ("at", "TIME-1")
    with pytest.raises(ValidationError):
        SeatsAdded(datetime(9999, 12, 31, 23, tzinfo=UTC), 1)
    with store() as uow:
        assert uow.tenants.ids() == ["t1"]
    assert tenant_status(store(), "t1", date(2026, 2, 3)).status.value == "active"


@pytest.mark.parametrize(
    "day", [at("2026-02-03"), "2026-02-03", None, date(9999, 12, 31)], ids=repr
)
def test_time_2_a_query_or_billing_day_is_a_date_in_range(store: Factory, day: object) -> None:
    for call, field in ((tenant_status, "as_of"), (bill_tenant, "up_to")):
        with pytest.raises(ValidationError) as refused:
            call(store(), "t1", day)  # type: ignore[operator]
        assert (refused.value.field, refused.value.rule) == (field, "TIME-2")


@pytest.mark.parametrize("value", [None, {"at": "x"}, "pay"], ids=repr)
def test_record_refuses_what_is_not_an_event(store: Factory, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        record(store(), "t1", value)  # type: ignore[arg-type]
    assert refused.value.field == "event"
    assert _version(store) == 2


def test_bill_5_a_profile_is_a_tenant_billing_profile(store: Factory) -> None:
    with pytest.raises(ValidationError) as refused:
        set_billing_profile(store(), "t1", at("2026-02-03"), {"country": "CZ"})  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.rule) == ("profile", "BILL-5")
    assert _version(store) == 2


@pytest.mark.parametrize("version", ["2", 2.0, None, -1, True], ids=repr)
def test_ten_1_an_expected_version_is_a_whole_number(store: Factory, version: object) -> None:
    """Not a ConcurrencyError (a retry would never help): a ValidationError, nothing
    appended, and the same unit of work commits other work."""
    with store() as uow:
        with pytest.raises(ValidationError) as refused:
            uow.tenants.append("t1", [SeatsAdded(at("2026-02-03"), 1)], version)  # type: ignore[arg-type]
        assert refused.value.field == "expected_version"
        created = TenantCreated(at("2026-01-06"), "t2")
        uow.tenants.add("t2", "acme", [created])
        uow.commit()
    with store() as uow:
        assert (uow.tenants.version("t1"), uow.tenants.ids()) == (2, ["t1", "t2"])


def test_api_1_a_counter_day_is_a_date(store: Factory) -> None:
    """A datetime as the day made a counter per instant in memory (the limit never reached)
    and a driver error on SQL."""
    with store() as uow:
        for day in (at("2026-02-03"), "2026-02-03"):
            with pytest.raises(ValidationError) as refused:
                uow.api_calls.try_count("t1", day, 5)  # type: ignore[arg-type]
            assert refused.value.field == "day"
        assert uow.api_calls.try_count("t1", date(2026, 2, 3), 5).allowed
        uow.commit()
    with store() as uow:
        assert uow.api_calls.calls("t1", date(2026, 2, 3)) == 1


def test_a_vendor_day_of_the_wrong_type_leaves_the_unit_of_work_usable(store: Factory) -> None:
    """PostgreSQL aborts a transaction on a statement comparing a date with a string: the
    day is checked before any statement, and the work before and after it commits."""
    with store() as uow:
        uow.tenants.add("pa", "acme", [TenantCreated(at("2026-01-06"), "pa")])
        with pytest.raises(ValidationError) as refused:
            uow.vendors.get("acme", "2026-02-01")  # type: ignore[arg-type]
        assert refused.value.field == "on"
        uow.tenants.add("pb", "acme", [TenantCreated(at("2026-01-06"), "pb")])
        uow.commit()
    with store() as uow:
        assert uow.tenants.ids() == ["pa", "pb", "t1"]


@pytest.mark.parametrize(
    ("tenant", "user", "field"),
    [("t1", 5, "user.user_id"), ("t1", "u" * 65, "user.user_id"), ("t1", "a\x00b", "user.user_id")],
    ids=["int", "65 chars", "NUL"],
)
def test_seat_4_a_user_id_is_checked_alike_on_every_engine(
    tenant: str, user: object, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        User(tenant, user)  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.rule) == (field, "SEAT-4")


def test_bill_6_an_invoice_stored_twice_or_a_number_taken_is_refused_alike(
    store: Factory,
) -> None:
    """The same invoice again: ``DuplicateInvoice`` on ``key`` on every engine (PostgreSQL
    reported the series' unique number first, as a bare StorageError); another invoice with
    a number its series has: ``DuplicateInvoice`` on ``number`` (memory stored it). The unit
    of work commits other work after either."""
    import attrs

    from crmcore.errors import DuplicateInvoice

    issued = bill_tenant(store(), "t1", date(2026, 1, 31)).issued[0]
    for again, field in ((issued, "key"), (attrs.evolve(issued, key="other"), "number")):
        with store() as uow:
            with pytest.raises(DuplicateInvoice) as refused:
                uow.invoices.add(again)
            assert (refused.value.field, refused.value.rule) == (field, "BILL-6")
            uow.tenants.add(f"t-{field}", "acme", [TenantCreated(at("2026-01-06"), f"t-{field}")])
            uow.commit()
    with store() as uow:
        assert [i.key for i in uow.invoices.for_tenant("t1")] == [issued.key]
        assert uow.tenants.ids() == ["t-key", "t-number", "t1"]
