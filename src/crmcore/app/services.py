"""Commands on what a tenant uses: user accounts (SEAT-4), API calls (API-1), stored files
(STOR-1, FILE-1).

Like :mod:`crmcore.app.commands`, each takes plain values and a unit of work, validates
against the tenant's state and the rules, refuses with :class:`~crmcore.errors.CommandRefused`
naming the rule (``field`` is the command, nothing stored), stores through the unit of work's
repositories and commits. The plan and seats in force are those of the tenant's evaluation
(:func:`crmcore.app.evaluation.evaluate_tenant`) at the instant given: during a trial, the
top plan (the trial is complete, TRIAL-1), as the record limits do. A tenant without access
at that instant is refused first: trial expired (TRIAL-5), purged (TRIAL-4), cancelled
(END-4), blocked, cancelled or purged for payment delay (PAY-2, PAY-3, PAY-4).

Counters are kept in storage, atomic under concurrency: ``uow.api_calls.try_count`` and
``uow.files.try_store`` decide and count in one step (on a server database a conditional
``UPDATE`` of the tenant's counter row, locked until the commit), so no interleaving of
callers passes a limit (the REC-6 pattern).

>>> from datetime import date, datetime
>>> from zoneinfo import ZoneInfo
>>> from crmcore.app.commands import register_tenant, save_vendor
>>> from crmcore.catalog import Catalog, Cycle, Limits, Plan, Price
>>> from crmcore.memory import InMemoryStorage
>>> from crmcore.vendors import vendor_from_preset
>>> storage = InMemoryStorage()
>>> crm = Plan("crm", 1, [Price("PLN", Cycle.MONTHLY, "49.00")],
...            Limits(api_calls_per_day=2, storage_per_seat_gb=3))
>>> save_vendor(storage.unit_of_work(), vendor_from_preset(
...     "livespace", name="ls", effective=date(2026, 1, 1), catalog=Catalog([crm]),
...     vat_rates={"PL": "0.23"}))
>>> warsaw = ZoneInfo("Europe/Warsaw")
>>> _ = register_tenant(storage.unit_of_work(), "t1", "ls", datetime(2026, 1, 5, 9, tzinfo=warsaw))
>>> at = datetime(2026, 1, 6, 10, tzinfo=warsaw)
>>> [count_api_call(storage.unit_of_work(), "t1", at).used for _ in range(2)]
[0, 1]
>>> count_api_call(storage.unit_of_work(), "t1", at)
Traceback (most recent call last):
crmcore.errors.CommandRefused: api_call: 2 of 2 API calls of 2026-01-06 used; \
retry at 2026-01-07T00:00:00+01:00 (API-1)
>>> store_file(storage.unit_of_work(), "t1", at, "offer.pdf", 2 * 1024**3).limit  # 3 GB x 1
3221225472
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NoReturn

import attrs

from crmcore.app.commands import record_in, tenant_terms
from crmcore.app.evaluation import TenantTerms, evaluate_tenant
from crmcore.app.rules import paid_access_on
from crmcore.catalog import Plan
from crmcore.dates import require_aware, vendor_date
from crmcore.dunning.status import DunningStatus
from crmcore.errors import (
    N_,
    CommandRefused,
    CrmError,
    SeatError,
    UploadRefused,
    ValidationError,
    wording,
)
from crmcore.events import PersonAssigned
from crmcore.files import allowed_extension
from crmcore.invoices import Invoice, subscription_lines_on
from crmcore.limits import ApiCallDecision, api_call_decision, storage_decision
from crmcore.outbox import limit_reached_event, refusal_event
from crmcore.outcomes import ApiCallRefusal, StorageRefusal
from crmcore.ports import UnitOfWork, User
from crmcore.roles import Role
from crmcore.tenancy.aggregate import Timeline, access_rule
from crmcore.tenancy.seats import check_account_creation
from crmcore.tenancy.state import TenantState, TenantStatus

__all__ = [
    "BYTES_PER_GB",
    "USER_ROLES",
    "StorageUse",
    "TenantInForce",
    "count_api_call",
    "create_user",
    "in_force",
    "remove_file",
    "store_file",
]

#: STOR-1 decision: a storage allowance's gigabytes are binary (like MAIL-1, MAIL-3):
#: 3 GB per seat is 3 x 1024**3 bytes.
BYTES_PER_GB = 1024**3

#: The roles of a user account (:class:`crmcore.ports.User`, VIS-2, VIS-7): every
#: :class:`~crmcore.visibility.language.Role` (the accounts' ``"user"`` is ``Role.EMPLOYEE``).
USER_ROLES: frozenset[Role] = frozenset(Role)

_MAX_ID = 64  # the id columns of every SQL engine (crmcore_sql.tables)

# Lifecycle statuses without access and the rule that takes it away (as the record limits of
# crmcore.app.rules): TRIAL-5, TRIAL-4 (livespace blocks at trial end), END-4.
_NO_ACCESS: Mapping[TenantStatus, str] = {
    TenantStatus.TRIAL_EXPIRED: "TRIAL-5",
    TenantStatus.BLOCKED: "TRIAL-4",
    TenantStatus.PURGED: "TRIAL-4",
    TenantStatus.CANCELLED: "END-4",
}
# Payment delay (PAY-2..4): the latest dunning transition at or before the instant.
_DUNNING_RULE: Mapping[DunningStatus, str] = {
    DunningStatus.BLOCKED: "PAY-2",
    DunningStatus.CANCELLED: "PAY-3",
    DunningStatus.PURGED: "PAY-4",
}


@attrs.frozen
class TenantInForce:
    """What is in force for a tenant at ``at``: its terms, its state (``plan``, ``seats``),
    the plan whose limits apply (the top plan during a trial, TRIAL-1) and the vendor day."""

    terms: TenantTerms
    state: TenantState
    plan: Plan
    day: date
    at: datetime
    #: the seats of the subscription invoiced for the billing period holding ``day`` (BILL-3)
    paid_seats: int = 0

    @property
    def storage_seats(self) -> int:
        """STOR-1 decision: the seats a storage pool counts are the seats bought, and to the
        end of a paid period at least the seats paid for it (BILL-3: seats removed mid-period
        stay paid, and usable, to its end); where none are bought (trial, free plan) the
        accounts in use, and at least the administrator's one (SEAT-3)."""
        return max(self.state.seats, self.paid_seats, self.state.used_seats, 1)


@attrs.frozen
class StorageUse:
    """A tenant's pooled file storage (STOR-1) after a command: ``used`` bytes of ``limit``
    (``None``: the plan states no allowance, unlimited) = ``per_seat_gb`` x ``seats`` x
    :data:`BYTES_PER_GB`."""

    tenant_id: str
    used: int
    limit: int | None
    seats: int
    per_seat_gb: Decimal | None


def in_force(uow: UnitOfWork, tenant_id: str, at: datetime, command: str) -> TenantInForce:
    """The tenant's terms, state and plan at ``at``, read in ``uow`` (already entered);
    ``CommandRefused`` naming ``command`` and the rule when the tenant has no access then."""
    require_aware(at, "at")
    vendor = uow.vendors.get(uow.tenants.vendor(tenant_id))
    day = vendor_date(at, vendor.policy.timezone)
    history = uow.tenants.history(tenant_id)
    if at < history[0].at:
        raise ValidationError(
            f"{at.isoformat()} is before the tenant was created ({history[0].at.isoformat()})",
            field="at",
            rule="TEN-1",
        )
    terms = tenant_terms(uow, tenant_id, day)
    evaluation = evaluate_tenant(terms, history, day)
    state = evaluation.timeline.state_at(at)
    if state.status in _NO_ACCESS and not paid_access_on(
        evaluation.timeline, evaluation.invoices, at, day
    ):
        raise CommandRefused(
            N_("the instance is {status}"),
            {"status": state.status.value},
            field=command,
            rule=access_rule(state, _NO_ACCESS[state.status]),
        )
    dunning = evaluation.dunning_at(at)  # PAY-5: none after the lifecycle ended
    if dunning is not None and dunning in _DUNNING_RULE:
        raise CommandRefused(
            N_("the instance is {status}"),
            {"status": dunning.value},
            field=command,
            rule=_DUNNING_RULE[dunning],
        )
    plan = terms.catalog.get(state.plan) if state.plan else terms.catalog.top
    paid = _paid_seats(evaluation.invoices, evaluation.timeline, day, at)
    return TenantInForce(terms, state, plan, day, at, paid)


def _paid_seats(invoices: Sequence[Invoice], timeline: Timeline, day: date, at: datetime) -> int:
    """The seats paid for the billing period holding ``day``: the most a subscription line
    invoiced for it is for, or the most held since the period began up to ``at`` when more:
    a seat bought mid-period is charged to the period's end (PRO-2 in arrears, PRO-3 at
    once) and one released stays paid to its end (BILL-3)."""
    lines = subscription_lines_on(invoices, day)
    if not lines:
        return 0
    began = min(line.first_day for line in lines if line.first_day is not None)
    paid = max(line.seats or 0 for line in lines)
    for step in timeline.steps:
        if step.at > at:
            break
        if step.day >= began:
            paid = max(paid, step.after.seats)
    return paid


def _refused(error: CrmError, command: str) -> NoReturn:
    raise CommandRefused(*wording(error), field=command, rule=error.rule) from error


# --- SEAT-4 -------------------------------------------------------------------------------------


def create_user(
    uow: UnitOfWork, tenant_id: str, creator_role: Role | str, user: User, at: datetime
) -> User:
    """Create ``user``'s account at ``at`` (SEAT-4): refused unless ``creator_role`` is an
    administrator's (or the owner's, :data:`crmcore.tenancy.seats.ACCOUNT_CREATORS`), and when the
    tenant has no access. The user must belong to ``tenant_id`` (VIS-1), have a role of
    :data:`USER_ROLES` and a supervisor, if any, among the tenant's users. ``StorageError``
    when the user id is taken.

    The account is a used one (SEAT-1): it is assigned to the user, a ``PersonAssigned`` of
    ``user.user_id`` recorded with it in the same transaction, so a paid tenant needs a free
    account for it (SEAT-5: refused, naming ``create_user``, until a seat is bought) and the
    seats stay the one count of accounts the fee is for; in a trial or on the free plan only
    SEAT-2 (one account per person) applies, and converting then buys a seat per account.
    A vendor with mailbox terms (``policy.mail``, smartmail) prices mailboxes, not accounts:
    its users are unlimited (MAIL-4) and take no seat."""
    _check_user(tenant_id, user)
    with uow:
        tenant = in_force(uow, tenant_id, at, "create_user")
        try:
            check_account_creation(creator_role)
        except SeatError as error:
            _refused(error, "create_user")
        if user.supervisor is not None:
            supervisors = {u.user_id for u in uow.users.for_tenant(tenant_id)}
            if user.supervisor not in supervisors:
                raise ValidationError(
                    f"no user {user.supervisor!r} in tenant {tenant_id!r}",
                    field="user.supervisor",
                    rule="VIS-2",
                )
        uow.users.add(user)
        if tenant.terms.policy.mail is not None:  # MAIL-4: users are unlimited, take no seat
            uow.commit()
            return user
        try:  # SEAT-1/SEAT-5: the account takes a seat; commits with the user's row
            record_in(uow, tenant_id, PersonAssigned(at, user.user_id))
        except CommandRefused as refused:
            raise refused.naming("create_user") from None
    return user


def _check_user(tenant_id: str, user: User) -> None:
    if not isinstance(user, User):
        raise ValidationError(f"must be a crmcore.ports.User, got {user!r}", field="user")
    if user.tenant_id != tenant_id:
        raise ValidationError(
            f"belongs to tenant {user.tenant_id!r}, not {tenant_id!r}",
            field="user.tenant_id",
            rule="VIS-1",
        )
    for field, value in (("user.user_id", user.user_id), ("user.supervisor", user.supervisor)):
        if value is None and field == "user.supervisor":
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID:
            raise ValidationError(
                f"must be 1..{_MAX_ID} characters, got {value!r}", field=field, rule="SEAT-2"
            )
    # the role is a Role: User reads it when made (VIS-7, ValidationError on ``user.role``)


# --- API-1 --------------------------------------------------------------------------------------


def count_api_call(uow: UnitOfWork, tenant_id: str, at: datetime) -> ApiCallDecision:
    """Count one API call at ``at`` against the plan's calls per vendor day (API-1).

    Refused (``CommandRefused``, rule API-1, nothing counted) once the day's calls reached
    ``Limits.api_calls_per_day`` of the plan in force; ``refusal`` then carries ``retry_at``,
    00:00 of the next vendor day. A plan without a limit counts every call and refuses none.
    The day's counter is locked from the count to the commit: concurrent callers of one
    tenant queue for it, and none passes the limit."""
    with uow:
        tenant = in_force(uow, tenant_id, at, "api_call")
        limits = tenant.plan.limits
        counted = uow.api_calls.try_count(tenant_id, tenant.day, limits.api_calls_per_day)
        decision = api_call_decision(counted.used, limits, at, tenant.terms.policy.timezone)
        if not counted.allowed:
            retry = decision.retry_at.isoformat() if decision.retry_at else None
            refusal = ApiCallRefusal(
                tenant.day, "api_call", "API-1", counted.used, counted.limit, retry
            )
            error = CommandRefused(*refusal.wording(), field="api_call", rule="API-1")
            error.refusal = refusal
            # nothing was counted; the day's first refusal is an event (keyed by the day)
            uow.outbox.append([limit_reached_event(tenant_id, at, refusal.to_json())])
            uow.commit()
            raise error
        uow.commit()
    return decision


# --- STOR-1, FILE-1 -----------------------------------------------------------------------------


def _pool(tenant: TenantInForce) -> tuple[int | None, int, Decimal | None]:
    """The tenant's pool in bytes (``None``: unlimited), its seats and per-seat allowance."""
    seats = tenant.storage_seats
    limits = tenant.plan.limits
    pool = storage_decision(0, 0, seats, limits, tenant.terms.policy.limits)
    if pool.limit_gb is None:
        return None, seats, None
    return int(pool.limit_gb * BYTES_PER_GB), seats, pool.per_seat_gb


def store_file(uow: UnitOfWork, tenant_id: str, at: datetime, name: str, size: int) -> StorageUse:
    """Store file ``name`` of ``size`` bytes at ``at`` in the tenant's pooled storage (STOR-1).

    Refused (``CommandRefused``, nothing stored) when the name's extension is not allowed
    (FILE-1, :func:`crmcore.files.allowed_extension`) or when the tenant's stored bytes would
    pass the pool: the plan's ``storage_per_seat_gb`` x the seats
    (:attr:`TenantInForce.storage_seats`) x :data:`BYTES_PER_GB`; exactly the pool is allowed.
    ``StorageError`` when a file of that name is stored already."""
    try:
        allowed_extension(name)
    except UploadRefused as upload:
        _refused(upload, "store_file")
    with uow:
        tenant = in_force(uow, tenant_id, at, "store_file")
        limit, seats, per_seat = _pool(tenant)
        counted = uow.files.try_store(tenant_id, name, size, limit)
        if not counted.allowed:
            error = CommandRefused(
                N_(
                    "{used} + {size} bytes would pass the pool of {limit} bytes ({per_seat} GB x "
                    "{seats} seat(s))"
                ),
                {
                    "used": counted.used,
                    "size": size,
                    "limit": limit,
                    "per_seat": per_seat,
                    "seats": seats,
                },
                field="store_file",
                rule="STOR-1",
            )
            refusal = StorageRefusal(tenant.day, "store_file", "STOR-1", counted.used, size, limit)
            error.refusal = refusal
            uow.outbox.append([refusal_event(tenant_id, at, refusal.to_json())])  # nothing stored
            uow.commit()
            raise error
        uow.commit()
    return StorageUse(tenant_id, counted.used + size, limit, seats, per_seat)


def remove_file(uow: UnitOfWork, tenant_id: str, at: datetime, name: str) -> StorageUse:
    """Remove file ``name`` at ``at``, freeing its bytes in the pool (STOR-1); ``NotFound``
    when not stored, ``CommandRefused`` when the tenant has no access."""
    with uow:
        tenant = in_force(uow, tenant_id, at, "remove_file")
        limit, seats, per_seat = _pool(tenant)
        uow.files.remove(tenant_id, name)
        used = uow.files.used(tenant_id)
        uow.commit()
    return StorageUse(tenant_id, used, limit, seats, per_seat)
