"""The application layer's commands on what a tenant uses (issue 14): TRIAL-6 at registration,
SEAT-4 user accounts, API-1 calls per vendor day, STOR-1 pooled storage and FILE-1 names, in
memory and on SQLite, PostgreSQL and MariaDB (servers when their URL variable is set).

The vendor is livespace's terms (14-day trial, Europe/Warsaw) with two plans whose limits are
chosen by hand: ``crm`` (3 API calls a day, 3 GB per seat) and ``sales`` (10 calls a day, 8 GB
per seat, RULES.md STOR-1's "CRM + sales automation"). During the trial the top plan
(``sales``) is in force (TRIAL-1).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

import crmcore_sql
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.app.services import (
    BYTES_PER_GB,
    count_api_call,
    create_user,
    remove_file,
    store_file,
)
from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
from crmcore.errors import CommandRefused, ConcurrencyError, NotFound, StorageError, ValidationError
from crmcore.events import Activated, PersonAssigned, SeatsAdded, SeatsRemoved
from crmcore.memory import InMemoryStorage
from crmcore.outcomes import ApiCallRefusal, StorageRefusal
from crmcore.ports import UnitOfWork, User
from crmcore.vendors import vendor_from_preset
from crmcore_sql.testing import temporary_database

WARSAW = ZoneInfo("Europe/Warsaw")
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW)  # trial ends 19 Jan 09:00 (14 days)
GB = 1024**3  # STOR-1 decision: binary gigabytes
assert BYTES_PER_GB == GB

Factory = Callable[[], UnitOfWork]

_SERVERS = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgresql", "mysql"])
def unit_of_work(request: pytest.FixtureRequest) -> Iterator[Factory]:
    """A fresh unit of work on one storage (one store per module; every test uses its own
    vendor and tenants)."""
    kind = request.param
    if kind == "memory":
        storage = InMemoryStorage()
        yield storage.unit_of_work
        return
    server = "sqlite://" if kind == "sqlite" else os.environ.get(_SERVERS[kind])
    if not server:
        pytest.skip(f"{_SERVERS[kind]} is unset: no {kind} server to test against")
    with temporary_database(server) as url:
        engine = crmcore_sql.create_engine(url)
        crmcore_sql.migrate(engine)
        yield lambda: crmcore_sql.unit_of_work(engine)
        engine.dispose()


def _plans(crm_calls: int | None = 3) -> Catalog:
    price = [Price("PLN", Cycle.MONTHLY, "49.00")]
    return Catalog(
        [
            Plan("crm", 1, price, Limits(api_calls_per_day=crm_calls, storage_per_seat_gb=3)),
            Plan("sales", 2, price, Limits(api_calls_per_day=10, storage_per_seat_gb=8)),
        ]
    )


def _vendor(
    unit_of_work: Factory, preset: str = "livespace", allowance: int | None = None, **kw: object
) -> str:
    name = f"v{uuid.uuid4().hex[:10]}"
    vendor = vendor_from_preset(
        preset,
        name=name,
        effective=date(2026, 1, 1),
        catalog=_plans(**kw),  # type: ignore[arg-type]
        vat_rates={"PL": "0.23"},
    )
    if allowance is not None:
        assert vendor.policy.trial is not None
        trial = attrs.evolve(vendor.policy.trial, abuse_allowance=allowance)
        vendor = attrs.evolve(vendor, policy=attrs.evolve(vendor.policy, trial=trial))
    save_vendor(unit_of_work(), vendor)
    return name


def _tenant(unit_of_work: Factory, vendor: str, identity: str | None = None) -> str:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    register_tenant(unit_of_work(), tenant, vendor, CREATED, identity)
    return tenant


def _paid(unit_of_work: Factory, plan: str, seats: int, **kw: object) -> str:
    """A tenant converted on 10 Jan 09:00 to ``plan`` with ``seats`` seats."""
    vendor = _vendor(unit_of_work, **kw)
    tenant = _tenant(unit_of_work, vendor)
    record(
        unit_of_work(),
        tenant,
        Activated(datetime(2026, 1, 10, 9, tzinfo=WARSAW), plan, seats=seats),
    )
    return tenant


def _history_length(unit_of_work: Factory, tenant: str) -> int:
    with unit_of_work() as uow:
        return uow.tenants.version(tenant)


# --- TRIAL-6 -------------------------------------------------------------------------------------


def test_trial_6_a_second_trial_of_an_identity_is_refused_and_nothing_stored(
    unit_of_work: Factory,
) -> None:
    """TRIAL-6 (allowance 1): ann@acme.cz has a trial, so bob@ACME.cz (the same domain) is
    refused a second one and no tenant is stored; another domain, no identity, and the same
    domain at another vendor are each a first trial."""
    vendor = _vendor(unit_of_work)
    domain = f"acme-{uuid.uuid4().hex[:6]}.cz"
    _tenant(unit_of_work, vendor, f"ann@{domain}")
    with pytest.raises(CommandRefused) as refused:
        register_tenant(unit_of_work(), "t-second", vendor, CREATED, f" Bob@{domain.upper()}")
    assert (refused.value.rule, refused.value.field) == ("TRIAL-6", "create_tenant")
    assert f"'{domain}' has used 1 trial(s) of 1 allowed" in str(refused.value)
    with unit_of_work() as uow, pytest.raises(NotFound):
        uow.tenants.history("t-second")
    _tenant(unit_of_work, vendor, f"ann@other-{domain}")
    _tenant(unit_of_work, vendor)
    _tenant(unit_of_work, _vendor(unit_of_work), f"ann@{domain}")


def test_trial_6_concurrent_registrations_of_one_identity_never_pass_the_allowance(
    unit_of_work: Factory,
) -> None:
    """TRIAL-6 under concurrency: two threads register 3 tenants each with the same identity
    (allowance 1): exactly one is stored, 5 are refused, on every engine."""
    vendor = _vendor(unit_of_work)
    identity = f"ann@race-{uuid.uuid4().hex[:6]}.cz"
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def registrar() -> None:
        try:
            for _ in range(3):
                tenant = f"t{uuid.uuid4().hex[:10]}"
                while True:
                    try:
                        register_tenant(unit_of_work(), tenant, vendor, CREATED, identity)
                        outcomes.append("stored")
                    except CommandRefused as refused:
                        assert refused.rule == "TRIAL-6"
                        outcomes.append("refused")
                    except ConcurrencyError:  # a deadlock the database broke: retry
                        continue
                    break
        except BaseException as exc:  # the assertion below names it
            errors.append(exc.with_traceback(None))

    threads = [threading.Thread(target=registrar) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(outcomes) == ["refused"] * 5 + ["stored"]
    with unit_of_work() as uow:
        assert uow.tenants.trials_of(vendor, identity) == 1


def test_trial_6_the_allowance_is_the_vendors_parameter(unit_of_work: Factory) -> None:
    """TRIAL-6 with ``abuse_allowance=2``: two trials of CZ12345678, the third is refused."""
    vendor = _vendor(unit_of_work, allowance=2)
    tax_id = f"CZ{uuid.uuid4().int % 10**8:08d}"
    _tenant(unit_of_work, vendor, tax_id)
    _tenant(unit_of_work, vendor, tax_id.lower())
    with pytest.raises(CommandRefused, match="has used 2 trial\\(s\\) of 2 allowed") as refused:
        _tenant(unit_of_work, vendor, f" {tax_id} ")
    assert refused.value.rule == "TRIAL-6"


def test_trial_6_a_vendor_without_a_trial_refuses_no_identity(unit_of_work: Factory) -> None:
    """TRIAL-6: smartmail states no trial, so there is no trial to abuse."""
    vendor = _vendor(unit_of_work, preset="smartmail")
    for _ in range(3):
        _tenant(unit_of_work, vendor, "ann@acme.cz")


# --- SEAT-4 --------------------------------------------------------------------------------------


def test_seat_4_an_administrator_or_the_owner_creates_user_accounts(unit_of_work: Factory) -> None:
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    at = datetime(2026, 1, 6, 10, tzinfo=WARSAW)
    boss = User(tenant, "boss", "administrator")
    ann = User(tenant, "ann", "user", supervisor="boss")
    assert create_user(unit_of_work(), tenant, "owner", boss, at) == boss
    assert create_user(unit_of_work(), tenant, "administrator", ann, at) == ann
    with unit_of_work() as uow:
        assert uow.users.for_tenant(tenant) == [ann, boss]
    with pytest.raises(StorageError):
        create_user(unit_of_work(), tenant, "administrator", ann, at)


def test_seat_1_seat_5_an_account_takes_a_seat_a_paid_tenant_pays_for(
    unit_of_work: Factory,
) -> None:
    """SEAT-1: the fee counts the accounts (used + free); SEAT-5: an account needs a free one.
    Converted with 2 seats on 10 Jan: the administrator's and ann's accounts take both; a
    third is refused naming create_user and SEAT-5, and nothing is stored (no user, no
    event); after one more seat is bought it is created. Each account is assigned in the
    history (``PersonAssigned``), the one count the seats are checked against."""
    tenant = _paid(unit_of_work, "crm", 2)
    at = datetime(2026, 1, 12, 10, tzinfo=WARSAW)
    create_user(unit_of_work(), tenant, "owner", User(tenant, "boss", "administrator"), at)
    create_user(unit_of_work(), tenant, "administrator", User(tenant, "ann"), at)
    stored = _history_length(unit_of_work, tenant)
    with pytest.raises(CommandRefused) as refused:
        create_user(unit_of_work(), tenant, "administrator", User(tenant, "bo"), at)
    assert (refused.value.field, refused.value.rule) == ("create_user", "SEAT-5")
    assert _history_length(unit_of_work, tenant) == stored
    with unit_of_work() as uow:
        assert [u.user_id for u in uow.users.for_tenant(tenant)] == ["ann", "boss"]
    record(unit_of_work(), tenant, SeatsAdded(datetime(2026, 1, 13, 9, tzinfo=WARSAW), 1))
    later = datetime(2026, 1, 13, 10, tzinfo=WARSAW)
    create_user(unit_of_work(), tenant, "administrator", User(tenant, "bo"), later)
    with unit_of_work() as uow:
        assigned = [e.person for e in uow.tenants.history(tenant) if isinstance(e, PersonAssigned)]
    assert assigned == ["boss", "ann", "bo"]


def test_mail_4_a_mailbox_vendors_users_are_unlimited_and_take_no_seat(
    unit_of_work: Factory,
) -> None:
    """MAIL-4 (smartmail): users are unlimited. A mailbox bought for 1 seat: the owner and
    three more users are created (each refused SEAT-5 before: "all 1 seats are used"), no
    seat is assigned, the fee stays the mailbox's."""
    tenant = _paid(unit_of_work, "crm", 1, preset="smartmail")
    at = datetime(2026, 1, 12, 10, tzinfo=WARSAW)
    create_user(unit_of_work(), tenant, "owner", User(tenant, "boss", "administrator"), at)
    for name in ("ann", "bob", "cyril"):
        create_user(unit_of_work(), tenant, "administrator", User(tenant, name), at)
    with unit_of_work() as uow:
        assert [u.user_id for u in uow.users.for_tenant(tenant)] == ["ann", "bob", "boss", "cyril"]
        history = uow.tenants.history(tenant)
    assert not [e for e in history if isinstance(e, PersonAssigned)]


def test_seat_5_accounts_made_in_the_trial_need_their_seats_at_conversion(
    unit_of_work: Factory,
) -> None:
    """In the trial nothing is bought, so accounts are created freely (SEAT-2 only); the
    conversion then buys a seat per account: 3 accounts, activating 2 seats is refused
    (SEAT-5), 3 are accepted."""
    vendor = _vendor(unit_of_work)
    tenant = _tenant(unit_of_work, vendor)
    at = datetime(2026, 1, 6, 10, tzinfo=WARSAW)
    for name in ("boss", "ann", "bo"):
        create_user(unit_of_work(), tenant, "owner", User(tenant, name), at)
    convert = datetime(2026, 1, 10, 9, tzinfo=WARSAW)
    with pytest.raises(CommandRefused, match="SEAT-5"):
        record(unit_of_work(), tenant, Activated(convert, "crm", seats=2))
    record(unit_of_work(), tenant, Activated(convert, "crm", seats=3))


@pytest.mark.parametrize("role", ["user", "supervisor", "external", "Administrator"])
def test_seat_4_no_one_else_creates_user_accounts_and_nothing_is_stored(
    unit_of_work: Factory, role: str
) -> None:
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    at = datetime(2026, 1, 6, 10, tzinfo=WARSAW)
    with pytest.raises(CommandRefused) as refused:
        create_user(unit_of_work(), tenant, role, User(tenant, "eve"), at)
    assert (refused.value.rule, refused.value.field) == ("SEAT-4", "create_user")
    with unit_of_work() as uow:
        assert uow.users.for_tenant(tenant) == []


def test_seat_4_a_user_of_another_tenant_an_unknown_role_or_supervisor_is_refused(
    unit_of_work: Factory,
) -> None:
    """VIS-1: an account is created in its own tenant; its role is one of USER_ROLES and its
    supervisor (VIS-2) one of the tenant's users."""
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    at = datetime(2026, 1, 6, 10, tzinfo=WARSAW)
    bad: list[tuple[Callable[[], User], str]] = [
        (lambda: User("someone-else", "eve"), "user.tenant_id"),
        (lambda: User(tenant, "eve", "admin"), "user.role"),  # refused when made (VIS-7)
        (lambda: User(tenant, "eve", supervisor="nobody"), "user.supervisor"),
        (lambda: User(tenant, "x" * 65), "user.user_id"),
    ]
    for user, field in bad:
        with pytest.raises(ValidationError) as refused:
            create_user(unit_of_work(), tenant, "administrator", user(), at)
        assert refused.value.field == field
    with unit_of_work() as uow:
        assert uow.users.for_tenant(tenant) == []


def test_seat_4_a_tenant_without_access_creates_no_account(unit_of_work: Factory) -> None:
    """TRIAL-5: livespace's trial ended 19 Jan 09:00 unconverted; at 09:00 it has no access
    (an hour before, it still had)."""
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    before = datetime(2026, 1, 19, 8, 0, tzinfo=WARSAW)
    create_user(unit_of_work(), tenant, "administrator", User(tenant, "ann"), before)
    with pytest.raises(CommandRefused) as refused:
        create_user(
            unit_of_work(),
            tenant,
            "administrator",
            User(tenant, "bob"),
            before + timedelta(hours=1),
        )
    assert refused.value.rule == "TRIAL-5"
    with unit_of_work() as uow:
        assert [u.user_id for u in uow.users.for_tenant(tenant)] == ["ann"]


# --- API-1 ---------------------------------------------------------------------------------------


def test_api_1_calls_per_vendor_day_are_limited_by_the_plan_in_force(unit_of_work: Factory) -> None:
    """API-1: on ``crm`` (3 calls a day) the 4th call of 20 Jan is refused until 00:00 of
    21 Jan, Warsaw time: 23:30 UTC on 20 Jan is already 00:30 on the 21st, a new day."""
    tenant = _paid(unit_of_work, "crm", 2)
    at = datetime(2026, 1, 20, 10, tzinfo=WARSAW)
    used = [count_api_call(unit_of_work(), tenant, at).used for _ in range(3)]
    assert used == [0, 1, 2]
    with pytest.raises(CommandRefused) as refused:
        count_api_call(unit_of_work(), tenant, datetime(2026, 1, 20, 23, 59, tzinfo=WARSAW))
    assert (refused.value.rule, refused.value.field) == ("API-1", "api_call")
    assert refused.value.refusal is not None
    assert refused.value.refusal.to_json()["retry_at"] == "2026-01-21T00:00:00+01:00"
    assert refused.value.refusal == ApiCallRefusal(
        date(2026, 1, 20), "api_call", "API-1", 3, 3, "2026-01-21T00:00:00+01:00"
    )
    next_day = datetime(2026, 1, 20, 23, 30, tzinfo=ZoneInfo("UTC"))
    decision = count_api_call(unit_of_work(), tenant, next_day)
    assert (decision.day, decision.used, decision.limit) == (date(2026, 1, 21), 0, 3)
    with unit_of_work() as uow:
        assert uow.api_calls.calls(tenant, date(2026, 1, 20)) == 3  # the refusal counted none
    assert _history_length(unit_of_work, tenant) == 2  # no event recorded for a call


def test_api_1_the_trial_has_the_top_plans_limit(unit_of_work: Factory) -> None:
    """API-1, TRIAL-1: during the trial ``sales`` (10 a day) is in force: 10 calls, then
    refused."""
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    at = datetime(2026, 1, 6, 10, tzinfo=WARSAW)
    assert [count_api_call(unit_of_work(), tenant, at).used for _ in range(10)] == list(range(10))
    with pytest.raises(CommandRefused, match="10 of 10 API calls of 2026-01-06 used"):
        count_api_call(unit_of_work(), tenant, at)


def test_api_1_a_plan_without_a_limit_refuses_no_call(unit_of_work: Factory) -> None:
    tenant = _paid(unit_of_work, "crm", 1, crm_calls=None)
    at = datetime(2026, 1, 20, 10, tzinfo=WARSAW)
    decisions = [count_api_call(unit_of_work(), tenant, at) for _ in range(12)]
    assert decisions[-1].used == 11 and decisions[-1].limit is None


def test_api_1_a_tenant_without_access_is_refused_and_nothing_counted(
    unit_of_work: Factory,
) -> None:
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    at = datetime(2026, 1, 19, 9, 0, tzinfo=WARSAW)  # the trial's end (TRIAL-5)
    with pytest.raises(CommandRefused) as refused:
        count_api_call(unit_of_work(), tenant, at)
    assert refused.value.rule == "TRIAL-5"
    with unit_of_work() as uow:
        assert uow.api_calls.calls(tenant, date(2026, 1, 19)) == 0


def test_api_1_two_threads_never_pass_the_limit(unit_of_work: Factory) -> None:
    """API-1 under concurrency (REC-6 style): two threads of 4 commands each against
    ``crm``'s 3 calls a day: exactly 3 are counted, 5 refused, on every engine."""
    tenant = _paid(unit_of_work, "crm", 1)
    at = datetime(2026, 1, 20, 10, tzinfo=WARSAW)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            for _ in range(4):
                while True:
                    try:
                        count_api_call(unit_of_work(), tenant, at)
                        outcomes.append("counted")
                    except CommandRefused as refused:
                        assert refused.rule == "API-1"
                        outcomes.append("refused")
                    except ConcurrencyError:  # a deadlock the database broke: retry
                        continue
                    break
        except BaseException as exc:  # the assertion below names it
            errors.append(exc.with_traceback(None))

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(outcomes) == ["counted"] * 3 + ["refused"] * 5
    with unit_of_work() as uow:
        assert uow.api_calls.calls(tenant, date(2026, 1, 20)) == 3


# --- STOR-1, FILE-1 ------------------------------------------------------------------------------


def test_stor_1_the_pool_is_3_gb_per_seat_and_exactly_the_pool_fits(unit_of_work: Factory) -> None:
    """STOR-1: ``crm`` with 2 seats pools 3 GB x 2 = 6 GB = 6 x 1024**3 bytes: 4 GB and 2 GB
    fit exactly, one byte more is refused and nothing stored; removing the 2 GB file frees
    it; 3 more seats make 3 GB x 5 = 15 GB."""
    tenant = _paid(unit_of_work, "crm", 2)
    at = datetime(2026, 1, 20, 10, tzinfo=WARSAW)
    pool = 3 * 2 * GB
    assert pool == 6_442_450_944
    assert store_file(unit_of_work(), tenant, at, "a.zip", 4 * GB).used == 4 * GB
    use = store_file(unit_of_work(), tenant, at, "b.zip", 2 * GB)
    assert (use.used, use.limit, use.seats, use.per_seat_gb) == (pool, pool, 2, Decimal(3))
    with pytest.raises(CommandRefused) as refused:
        store_file(unit_of_work(), tenant, at, "c.txt", 1)
    assert (refused.value.rule, refused.value.field) == ("STOR-1", "store_file")
    assert refused.value.refusal is not None
    stor = refused.value.refusal
    assert isinstance(stor, StorageRefusal)
    assert (stor.rule, stor.used, stor.requested, stor.limit) == ("STOR-1", pool, 1, pool)
    with unit_of_work() as uow:
        assert uow.files.sizes(tenant) == {"a.zip": 4 * GB, "b.zip": 2 * GB}
    assert remove_file(unit_of_work(), tenant, at, "b.zip").used == 4 * GB
    record(unit_of_work(), tenant, SeatsAdded(datetime(2026, 1, 21, 9, tzinfo=WARSAW), 3))
    later = datetime(2026, 1, 21, 10, tzinfo=WARSAW)
    use = store_file(unit_of_work(), tenant, later, "c.zip", 15 * GB - 4 * GB)
    assert (use.used, use.limit, use.seats) == (15 * GB, 3 * 5 * GB, 5)
    with pytest.raises(CommandRefused, match="STOR-1"):
        store_file(unit_of_work(), tenant, later, "d.txt", 1)


def test_stor_1_seats_released_mid_period_keep_their_storage_to_its_end(
    unit_of_work: Factory,
) -> None:
    """STOR-1 with BILL-3: ``crm`` (3 GB a seat) with 20 seats from 10 Jan, January invoiced
    for 20 seats; 40 GB stored; 10 seats released on 13 Jan stay paid, and usable, to 31 Jan:
    the pool is still 3 GB x 20 = 60 GB (one more byte fits; it was 30 GB, already passed).
    From 1 Feb, invoiced for 10 seats, it is 3 GB x 10 = 30 GB: nothing more fits."""
    tenant = _paid(unit_of_work, "crm", 20)
    store_file(unit_of_work(), tenant, datetime(2026, 1, 11, 9, tzinfo=WARSAW), "a.zip", 40 * GB)
    record(unit_of_work(), tenant, SeatsRemoved(datetime(2026, 1, 13, 9, tzinfo=WARSAW), 10))
    use = store_file(unit_of_work(), tenant, datetime(2026, 1, 13, 10, tzinfo=WARSAW), "b.txt", 1)
    assert (use.used, use.limit, use.seats) == (40 * GB + 1, 3 * 20 * GB, 20)
    use = store_file(unit_of_work(), tenant, datetime(2026, 1, 31, 23, tzinfo=WARSAW), "c.txt", 1)
    assert use.limit == 60 * GB
    with pytest.raises(CommandRefused, match="STOR-1") as refused:
        store_file(unit_of_work(), tenant, datetime(2026, 2, 1, 10, tzinfo=WARSAW), "d.txt", 1)
    stor = refused.value.refusal
    assert isinstance(stor, StorageRefusal) and stor.limit == 3 * 10 * GB


def test_stor_1_seats_bought_mid_period_then_released_keep_their_storage_to_its_end(
    unit_of_work: Factory,
) -> None:
    """STOR-1 with PRO-2 and BILL-3: ``crm`` (3 GB a seat) with 2 seats from 10 Jan; a seat
    bought on 12 Jan is charged to 31 Jan (in arrears, on February's invoice) and, released
    on 13 Jan, stays paid to 31 Jan: the pool stays 3 GB x 3 = 9 GB to the period's end
    (1 + 8 GB stored on 13 Jan fit, one byte more on 31 Jan does not), and is 3 GB x 2 =
    6 GB from 1 Feb."""
    tenant = _paid(unit_of_work, "crm", 2)
    record(unit_of_work(), tenant, SeatsAdded(datetime(2026, 1, 12, 9, tzinfo=WARSAW), 1))
    use = store_file(unit_of_work(), tenant, datetime(2026, 1, 12, 10, tzinfo=WARSAW), "a.pdf", GB)
    assert (use.limit, use.seats) == (3 * 3 * GB, 3)
    record(unit_of_work(), tenant, SeatsRemoved(datetime(2026, 1, 13, 9, tzinfo=WARSAW), 1))
    use = store_file(
        unit_of_work(), tenant, datetime(2026, 1, 13, 10, tzinfo=WARSAW), "b.zip", 8 * GB
    )
    assert (use.used, use.limit, use.seats) == (9 * GB, 9 * GB, 3)
    with pytest.raises(CommandRefused, match="STOR-1"):
        store_file(unit_of_work(), tenant, datetime(2026, 1, 31, 23, tzinfo=WARSAW), "c.txt", 1)
    with pytest.raises(CommandRefused, match="STOR-1") as refused:
        store_file(unit_of_work(), tenant, datetime(2026, 2, 1, 10, tzinfo=WARSAW), "d.txt", 1)
    stor = refused.value.refusal
    assert isinstance(stor, StorageRefusal) and stor.limit == 3 * 2 * GB


def test_stor_1_8_gb_per_seat_and_20_seats_pool_160_gb(unit_of_work: Factory) -> None:
    """STOR-1's own example: CRM + sales automation, 20 seats -> 8 GB x 20 = 160 GB."""
    tenant = _paid(unit_of_work, "sales", 20)
    at = datetime(2026, 1, 20, 10, tzinfo=WARSAW)
    use = store_file(unit_of_work(), tenant, at, "archive.zip", 160 * GB)
    assert use.limit == 8 * 20 * GB == 171_798_691_840
    with pytest.raises(CommandRefused, match="STOR-1"):
        store_file(unit_of_work(), tenant, at, "one-more.txt", 1)


def test_stor_1_a_trial_pools_the_top_plans_allowance_for_one_seat(unit_of_work: Factory) -> None:
    """STOR-1 decision: during the trial no seats are bought; the pool counts the
    administrator's account (SEAT-3) on the top plan: 8 GB x 1."""
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    at = datetime(2026, 1, 6, 10, tzinfo=WARSAW)
    assert store_file(unit_of_work(), tenant, at, "a.pdf", 8 * GB).limit == 8 * GB
    with pytest.raises(CommandRefused, match="STOR-1"):
        store_file(unit_of_work(), tenant, at, "b.pdf", 1)


@pytest.mark.parametrize("name", ["setup.exe", "offer.pdf.exe", "invoice.exe.pdf", "README", "a."])
def test_file_1_a_name_outside_the_allowed_extensions_is_refused(
    unit_of_work: Factory, name: str
) -> None:
    tenant = _paid(unit_of_work, "crm", 1)
    at = datetime(2026, 1, 20, 10, tzinfo=WARSAW)
    with pytest.raises(CommandRefused) as refused:
        store_file(unit_of_work(), tenant, at, name, 10)
    assert (refused.value.rule, refused.value.field) == ("FILE-1", "store_file")
    with unit_of_work() as uow:
        assert uow.files.used(tenant) == 0 and uow.files.sizes(tenant) == {}
    assert store_file(unit_of_work(), tenant, at, "Offer.PDF", 10).used == 10


def test_stor_1_files_of_a_tenant_without_access_are_neither_stored_nor_removed(
    unit_of_work: Factory,
) -> None:
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    store_file(unit_of_work(), tenant, datetime(2026, 1, 6, tzinfo=WARSAW), "a.pdf", 5)
    expired = datetime(2026, 1, 20, tzinfo=WARSAW)
    for command in (
        lambda: store_file(unit_of_work(), tenant, expired, "b.pdf", 5),
        lambda: remove_file(unit_of_work(), tenant, expired, "a.pdf"),
    ):
        with pytest.raises(CommandRefused) as refused:
            command()
        assert refused.value.rule == "TRIAL-5"
    with unit_of_work() as uow:
        assert uow.files.sizes(tenant) == {"a.pdf": 5}
    with pytest.raises(NotFound):
        remove_file(unit_of_work(), tenant, datetime(2026, 1, 7, tzinfo=WARSAW), "b.pdf")


def test_ten_1_nothing_is_used_before_the_tenant_exists(unit_of_work: Factory) -> None:
    """TEN-1: a tenant exists from its creation; a call or a file before it is an input
    error, not counted."""
    tenant = _tenant(unit_of_work, _vendor(unit_of_work))
    before = CREATED - timedelta(minutes=1)
    for command in (
        lambda: count_api_call(unit_of_work(), tenant, before),
        lambda: store_file(unit_of_work(), tenant, before, "a.pdf", 1),
    ):
        with pytest.raises(ValidationError) as refused:
            command()
        assert (refused.value.field, refused.value.rule) == ("at", "TEN-1")
    with unit_of_work() as uow:
        assert uow.api_calls.calls(tenant, CREATED.date()) == 0
        assert uow.files.used(tenant) == 0
