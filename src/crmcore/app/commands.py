"""Commands: one change to a tenant, validated against its state and the rules, then stored.

Each command takes plain values and a unit of work (:class:`crmcore.ports.UnitOfWork`, in
memory or SQL, the same code): it reads the tenant's history and its vendor's terms, evaluates
the history with the new event (:func:`crmcore.app.evaluation.evaluate_tenant`, the engine of
``crmcore simulate``), and either appends the event with optimistic concurrency (the version
read; a concurrent writer makes the append raise :class:`~crmcore.errors.ConcurrencyError`,
retry the command) and commits, or raises :class:`~crmcore.errors.CommandRefused` naming the
rule, having stored nothing of the command. Events out (:mod:`crmcore.outbox`): an accepted
command writes, with its event, the status changes, REC-2 warnings and refusals its evaluation
derives up to its day (keyed: none twice); a refused one writes a ``command_refused`` event in
a transaction of its own, after its own was rolled back. The history is the one source of
truth: seats bought and assigned, records created, payments, outages and reinstatements are its
events.

Long because every command shares one path (read, evaluate, refuse or append with its events
out) and the vendor's terms by day it evaluates with (NOTICE-1..4).

>>> from datetime import date, datetime
>>> from zoneinfo import ZoneInfo
>>> from crmcore.memory import InMemoryStorage
>>> from crmcore.vendors import vendor_from_preset
>>> from crmcore.catalog import Catalog, Cycle, Plan, Price
>>> storage = InMemoryStorage()
>>> plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
>>> vendor = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1),
...                             catalog=plans, vat_rates={"CZ": "0.21"})
>>> save_vendor(storage.unit_of_work(), vendor)
>>> prague = ZoneInfo("Europe/Prague")
>>> created = datetime(2026, 1, 5, 9, tzinfo=prague)
>>> _ = register_tenant(storage.unit_of_work(), "t1", "acme", created)
>>> done = record(storage.unit_of_work(), "t1", Activated(datetime(2026, 1, 20, 9, tzinfo=prague),
...               "standard", seats=2))
>>> done.version, [str(line.net) for line in done.charges]  # 2 x 500 x 12/31, then February
(2, ['387.10 CZK', '1000.00 CZK'])
>>> record(storage.unit_of_work(), "t1", SeatsRemoved(datetime(2026, 1, 21, tzinfo=prague), 5))
Traceback (most recent call last):
crmcore.errors.CommandRefused: remove_seats: cannot release 5 of 2 seat(s): 0 used, 2 free (SEAT-5)
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from crmcore.app.evaluation import (
    CHARGE_HORIZON,
    Evaluation,
    LimitsInForce,
    PrefixCache,
    TenantTerms,
    evaluate_tenant,
    purged_before_entry,
    verb_of,
)
from crmcore.billing.engine import BillingTerms, InvoicingVersion, PriceLists
from crmcore.catalog import Catalog
from crmcore.dates import local_midnight, require_aware, vendor_date, zone
from crmcore.errors import N_, CommandRefused, OutOfOrderError, TrialError, ValidationError, wording
from crmcore.events import (
    EVENT_TYPES,
    Activated,
    BillingProfileChanged,
    Cancelled,
    Event,
    PaymentReceived,
    PlanChanged,
    Prepaid,
    SeatsAdded,
    SeatsRemoved,
    TenantCreated,
    entered,
    entry_order_problem,
)
from crmcore.invoices import InvoiceLine
from crmcore.money import Money
from crmcore.notices import (
    limits_change_effective,
    price_change_effective,
    terms_change_effective,
)
from crmcore.outbox import evaluation_events, refusal_event
from crmcore.outcomes import LimitRefusal, LimitWarning
from crmcore.policies import LimitsPolicy, check_numbering
from crmcore.ports import UnitOfWork
from crmcore.tenancy.trials import check_trials_used
from crmcore.vendors import TenantBillingProfile, Vendor, version_in_force

__all__ = [
    "COMMAND_PREFIXES",
    "PRICED_EVENTS",
    "Recorded",
    "check_notice",
    "limits_of",
    "record",
    "record_in",
    "refuse_terms",
    "register_tenant",
    "save_vendor",
    "set_billing_profile",
    "tenant_terms",
]

#: Where the tenants' replays stood at the end of the day before their last command
#: (:class:`~crmcore.app.evaluation.PrefixCache`): the next command on the same tenant
#: replays only the days since, not its whole history. A cache, never the record.
COMMAND_PREFIXES = PrefixCache()

#: Events whose charge :func:`record` reports (the invoice lines they add).
PRICED_EVENTS = (Activated, Prepaid, SeatsAdded, SeatsRemoved, PlanChanged)


@attrs.frozen
class Recorded:
    """What a command did: the events stored, the tenant's version after them, the warnings
    they caused (REC-2) and, for a priced change, its charge: the invoice lines it adds up to
    :data:`CHARGE_HORIZON` after its day (``charges``, e.g. the PRO-2 prorated seats and the
    next period's line at the new count) and the lines those replace (``replaced``, e.g. the
    next period's line at the old count)."""

    tenant_id: str
    events: tuple[Event, ...]
    version: int
    warnings: tuple[LimitWarning, ...] = ()
    charges: tuple[InvoiceLine, ...] = ()
    replaced: tuple[InvoiceLine, ...] = ()


def save_vendor(uow: UnitOfWork, vendor: Vendor, announced: date | None = None) -> None:
    """Store a new version of ``vendor`` (it must take effect after every stored version).

    A new version of a stored vendor was announced on ``announced`` (NOTICE-1..3): a change of
    prices (the plans' prices or the price-list fees, PLAN-4) needs at least 30 days' notice
    (NOTICE-2), any other change of terms 15 (NOTICE-1), a change of record limits only (the
    plans' limits, the policy's ``limits``) 15 too, named NOTICE-3; refused with
    :class:`~crmcore.errors.NoticeRefused` naming ``effective`` and the rule, nothing stored.
    Without ``announced`` no notice is checked (a vendor's first version; a version the
    caller has checked)."""
    check_numbering(vendor.policy.billing, "policy.billing.")  # BILL-6, before anything
    with uow:
        versions = uow.vendors.versions(vendor.name)
        if versions and announced is not None:
            check_notice(versions[-1], vendor, announced)
        uow.vendors.add(vendor)
        uow.commit()


def check_notice(latest: Vendor, new: Vendor, announced: date) -> None:
    """NOTICE-1..3 for ``new`` replacing ``latest``, announced on ``announced``."""
    policy = latest.policy.notice
    if policy is None:  # the vendor states no notice terms
        return
    if _prices(latest) != _prices(new) or latest.fees != new.fees:
        price_change_effective(announced, policy, new.effective)
    elif _terms(latest, limits=False) != _terms(new, limits=False):
        terms_change_effective(announced, policy, new.effective)
    elif _terms(latest) != _terms(new):  # only record limits changed
        limits_change_effective(announced, policy, new.effective)


def _terms(vendor: Vendor, *, limits: bool = True) -> dict[str, Any]:
    """The vendor's document without its effective day (and, ``limits=False``, without the
    plans' and the policy's limits: what NOTICE-3 changes)."""
    document = vendor.to_document() | {"effective": None}
    if limits:
        return document
    policy = {k: v for k, v in document["policy"].items() if k != "limits"}
    plans = [
        {k: v for k, v in plan.items() if k != "limits"} for plan in document["catalog"]["plans"]
    ]
    return document | {"policy": policy, "catalog": {"plans": plans}}


def _prices(vendor: Vendor) -> dict[str, object]:
    return {plan.code: sorted(map(str, plan.prices)) for plan in vendor.catalog}


def tenant_terms(uow: UnitOfWork, tenant_id: str, on: date) -> TenantTerms:
    """The terms a tenant is evaluated with on ``on``: its vendor's version in force that day
    (policy, catalogue, currency, VAT rates by country with its own country's by default,
    PLAN-2, and the BILL-4 transfer fee of its price list, PLAN-4), and the prices of every
    version for the billing periods that start after it takes effect (NOTICE-2) and the
    record limits of every version from its effective day (NOTICE-3).
    ``NotFound`` when the vendor is not stored."""
    name = uow.tenants.vendor(tenant_id)
    versions = uow.vendors.versions(name)
    return terms_of(version_in_force(versions, name, on), tenant_id, versions)


def terms_of(vendor: Vendor, tenant_id: str, versions: Sequence[Vendor] = ()) -> TenantTerms:
    """:func:`tenant_terms` for a vendor version already read (and, for NOTICE-2 and
    NOTICE-3, all of its versions, oldest first; none: ``vendor``'s prices for every period
    and its limits every day)."""
    rate = vendor.vat_rate(vendor.policy.country)
    invoicing = tuple(_invoicing(v) for v in sorted(versions, key=lambda v: v.effective))
    terms = BillingTerms(
        vendor.currency, rate, vendor.fees.get("transfer"), invoicing if len(versions) > 1 else ()
    )
    return TenantTerms(
        tenant_id,
        vendor.policy,
        vendor.catalog,
        terms,
        vendor.vat_rates,
        price_lists_of(versions) if len(versions) > 1 else None,
        limits_of(versions) if len(versions) > 1 else None,
    )


def _invoicing(version: Vendor) -> InvoicingVersion:
    """PLAN-2, BILL-4: what an invoice issued while ``version`` is in force takes from it."""
    billing = version.policy.billing
    return InvoicingVersion(
        version.effective,
        version.vat_rate(version.policy.country),
        version.fees.get("transfer"),
        billing.card_due_days,
        billing.transfer_due_days,
        tuple(sorted(version.vat_rates.items())),
    )


def price_lists_of(versions: Sequence[Vendor]) -> PriceLists:
    """NOTICE-2: the catalogue of the latest version taking effect on or before a billing
    period's first day (the first version's before any took effect). Of the same versions,
    the same price lists for an evaluation to resume under (:class:`PrefixCache`)."""
    ordered = sorted(versions, key=lambda v: v.effective)
    return _PriceLists(tuple(v.effective for v in ordered), tuple(v.catalog for v in ordered))


@attrs.frozen
class _PriceLists:
    """The catalogue in force for a billing period starting on a day (NOTICE-2)."""

    days: tuple[date, ...]
    catalogs: tuple[Catalog, ...]

    def __call__(self, day: date) -> Catalog:
        return self.catalogs[max(bisect.bisect_right(self.days, day) - 1, 0)]

    @property
    def fingerprint(self) -> tuple[object, ...]:
        """What it is made of, for :func:`crmcore.billing.engine.prefix_key`: the days and the
        very catalogues (a stored vendor's versions are parsed once)."""
        return (*self.days, *self.catalogs)


def limits_of(versions: Sequence[Vendor]) -> LimitsInForce:
    """NOTICE-3: the catalogue (its plans' limits) and the policy's limits of the latest
    version taking effect on or before a day (the first version's before any took effect).
    A limit change applies from its effective day, not from a billing period's start."""
    ordered = sorted(versions, key=lambda v: v.effective)
    days = [v.effective for v in ordered]

    def in_force(day: date) -> tuple[Catalog, LimitsPolicy]:
        version = ordered[max(bisect.bisect_right(days, day) - 1, 0)]
        return version.catalog, version.policy.limits

    return in_force


def register_tenant(
    uow: UnitOfWork,
    tenant_id: str,
    vendor: str,
    created: datetime,
    identity: str | None = None,
    profile: TenantBillingProfile | None = None,
) -> Recorded:
    """TEN-1: a new tenant of the stored ``vendor``, its trial starting at ``created``; with
    its billing ``profile`` (country for PLAN-2, billing e-mail for BILL-5) from the start.

    TRIAL-6: with an ``identity`` (an e-mail address counts by its domain, a tax ID as it is:
    :func:`crmcore.tenancy.trials.normalise_identity`), refused (``CommandRefused``, nothing stored)
    when the vendor's tenants already created with it have used the allowance of the terms in
    force (``policy.trial.abuse_allowance``). The tenant is added first and the identity's
    count read after (``uow.tenants.trials_of``, one stored count, no history): the adapter
    keeps that count locked until the commit, so concurrent registrations of one identity are
    decided one after the other and never pass the allowance. A vendor without a trial
    refuses nothing. An id already registered: ``StorageError`` naming ``tenant_id`` and
    TEN-1, nothing stored."""
    created_event = TenantCreated(created, tenant_id, identity)
    events: list[Event] = [created_event]
    if profile is not None:
        events.append(_profile_event(created, profile))
    refusal: CommandRefused | None = None
    with uow:
        on = vendor_date(created, uow.vendors.get(vendor).policy.timezone)
        terms = uow.vendors.get(vendor, on=on)  # NotFound: no version of the vendor in force yet
        uow.tenants.add(tenant_id, vendor, events)
        if identity is not None:
            earlier = uow.tenants.trials_of(vendor, identity) - 1  # this one is counted
            try:
                check_trials_used(identity, earlier, terms.policy)
            except TrialError as refused:  # leaving ``with uow`` rolls the tenant back
                refusal = CommandRefused(
                    *wording(refused), field=verb_of(created_event), rule="TRIAL-6"
                )
                refusal.__cause__ = refused
        if refusal is None:
            uow.commit()
    if refusal is not None:
        refusal.on = on
        _write_refusal(uow, tenant_id, created, refusal)
        raise refusal
    return Recorded(tenant_id, tuple(events), len(events))


def set_billing_profile(
    uow: UnitOfWork, tenant_id: str, at: datetime, profile: TenantBillingProfile
) -> Recorded:
    """The tenant's billing profile from ``at`` on: invoices issued from its vendor day take
    the VAT rate of ``profile.country`` (PLAN-2) and go to ``profile.billing_email``
    (BILL-5); those already issued never change."""
    return record(uow, tenant_id, _profile_event(at, profile))


def _profile_event(at: datetime, profile: TenantBillingProfile) -> BillingProfileChanged:
    if not isinstance(profile, TenantBillingProfile):
        raise ValidationError(
            f"must be a TenantBillingProfile, got {profile!r}", field="profile", rule="BILL-5"
        )
    return BillingProfileChanged(
        at, profile.country, profile.billing_email, profile.tax_id, payment=profile.payment
    )


def record(uow: UnitOfWork, tenant_id: str, event: Event) -> Recorded:
    """Validate ``event`` against the tenant's history and the rules, then append it, with
    the events out it causes (the outbox, in the same transaction).

    Raises :class:`~crmcore.errors.CommandRefused` (the rule that refused it; nothing stored
    but its ``command_refused`` event, in a transaction of its own), ``NotFound`` for an
    unknown tenant, ``OutOfOrderError`` for an event before the last one stored,
    ``ConcurrencyError`` when another writer appended first."""
    if type(event) not in EVENT_TYPES.values():
        raise ValidationError(f"must be an event of crmcore.events, got {event!r}", field="event")
    if isinstance(event, TenantCreated):
        raise ValidationError(
            "a tenant is created by register_tenant, not recorded", field="event", rule="TEN-1"
        )
    try:
        with uow:
            return _record(uow, tenant_id, event)
    except CommandRefused as refusal:  # nothing of the command stored; its refusal is an event
        _write_refusal(uow, tenant_id, event.at, refusal)
        raise


def check_payment_amount(event: Event, currency: str, field: str = "event.amount") -> None:
    """A payment is money in the tenant's currency: whole minor units (BILL-7; a scenario's
    ``pay`` is refused so too). A finer amount would leave a fraction of a minor unit unpaid
    for ever (PAY-1: oldest first), and the tenant blocked (PAY-2)."""
    amount = event.amount if isinstance(event, PaymentReceived) else None
    if amount is not None and not Money(amount, currency).is_rounded():
        raise ValidationError(
            f"has more decimals than {currency} allows, got {amount}", field=field, rule="BILL-7"
        )


def record_in(uow: UnitOfWork, tenant_id: str, event: Event) -> Recorded:
    """:func:`record` in ``uow``, already entered, with what the caller wrote in it (one
    transaction); commits, or raises ``CommandRefused`` (whose ``on`` is the day the command
    was evaluated for), leaving the rollback to the caller's ``with uow``."""
    return _record(uow, tenant_id, event)


def _record(uow: UnitOfWork, tenant_id: str, event: Event) -> Recorded:
    """:func:`record` in ``uow``, already entered; commits (or raises ``CommandRefused``,
    whose ``on`` is the day the command was evaluated for)."""
    history = uow.tenants.history(tenant_id)
    version = len(history)  # the number of events stored (TenantRepository.version)
    if event.at < history[0].at:  # no ``recorded`` makes it valid: nothing is before TEN-1
        raise OutOfOrderError(
            f"{event.at.isoformat()} is before the tenant was created"
            f" ({history[0].at.isoformat()})",
            field="event.at",
            rule="TEN-1",
        )
    problem = entry_order_problem(history[-1], event)
    if problem is not None:  # a late entry says when it was recorded (BILL-6)
        raise OutOfOrderError(problem[1], field=f"event.{problem[0]}", rule="BILL-6")
    name = uow.tenants.vendor(tenant_id)
    versions = uow.vendors.versions(name)  # one read: the day's zone and the terms in force
    timezone = version_in_force(versions, name).policy.timezone
    effective, entered_on = vendor_date(event.at, timezone), vendor_date(entered(event), timezone)
    _check_not_silently_late(uow, tenant_id, event, effective, entered_on)
    day = max(effective, entered_on)
    terms = terms_of(version_in_force(versions, name, day), tenant_id, versions)
    check_payment_amount(event, terms.terms.currency)
    horizon = day + CHARGE_HORIZON
    keep_on = day - timedelta(days=1)  # the next command resumes from that day's end
    after = evaluate_tenant(
        terms, [*history, event], horizon, prefixes=COMMAND_PREFIXES, keep_on=keep_on
    )
    refused = purged_before_entry(terms, history, event) or after.refusal_of(event)
    if refused is not None:
        error = CommandRefused(*refused.wording(), field=verb_of(event), rule=refused.rule)
        if isinstance(refused, LimitRefusal):
            error.suggested_plan = refused.suggested_plan
        error.refusal = refused
        error.on = day
        raise error
    charges: tuple[InvoiceLine, ...] = ()
    replaced: tuple[InvoiceLine, ...] = ()
    if isinstance(event, PRICED_EVENTS):
        before = evaluate_tenant(
            terms, history, horizon, prefixes=COMMAND_PREFIXES, keep_on=keep_on
        )
        charges = _added_lines(before, after, effective)
        replaced = _added_lines(after, before, effective)
    stored = uow.tenants.append(tenant_id, [event], expected_version=version)
    uow.outbox.append(evaluation_events(after, terms.policy.timezone, day))
    uow.commit()
    warned = tuple(after.warnings_of(event))
    return Recorded(tenant_id, (event,), stored, warned, charges, replaced)


def _write_refusal(uow: UnitOfWork, tenant_id: str, at: datetime, refused: CommandRefused) -> None:
    """``command_refused`` in a transaction of its own (the command's was rolled back)."""
    on = refused.on
    details = refused.refusal.to_json() if refused.refusal is not None else {}
    if on is not None:
        details["on"] = on.isoformat()
    details.update({"do": refused.field, "rule": refused.rule, "message": refused.problem})
    with uow:
        uow.outbox.append([refusal_event(tenant_id, at, details)])
        uow.commit()


def _check_not_silently_late(
    uow: UnitOfWork, tenant_id: str, event: Event, day: date, entered_on: date
) -> None:
    """An issued invoice never changes (BILL-6): an event that takes effect before an invoice
    already issued must say when it was entered (``recorded``), so that the difference goes on
    a correction; and a late entry is recorded before the billing run of its own day went out
    (a day is billed once it is over), or the invoice that run issued would not be corrected.
    ``day`` and ``entered_on`` are the vendor days of ``event.at`` and of its entry."""
    latest = uow.invoices.last_issued(tenant_id)
    if latest is None or latest[1] <= day:
        return
    number, issued = latest
    if event.recorded is None:
        raise ValidationError(
            f"takes effect on {day}, before invoice {number} issued on {issued};"
            " give 'recorded' (when it was entered) to bill it by a correction",
            field="event.recorded",
            rule="BILL-6",
        )
    if entered_on > day and issued >= entered_on:
        raise ValidationError(
            f"entered on {entered_on}, but the billing run for that day already issued"
            f" invoice {number}: record a late entry before its day is billed",
            field="event.recorded",
            rule="BILL-6",
        )


def refuse_terms(uow: UnitOfWork, tenant_id: str, effective: date, at: datetime) -> Recorded:
    """NOTICE-4: at ``at`` the tenant refuses its vendor's version taking effect on vendor day
    ``effective``. Refusing cancels the instance effective that day: a ``Cancelled`` event
    taking effect at the last microsecond before 00:00 of ``effective`` (vendor time) and
    ``recorded`` at ``at`` (a late entry, BILL-6) is recorded, so the contract has ended when
    the version takes effect and none of it binds the tenant: no billing period is invoiced
    under it (NOTICE-2), none of its limits apply (NOTICE-3); an invoice already issued from
    ``effective`` to the day before ``at``'s is credited in full by a correction document
    issued on ``at``'s day (crmcore.billing.corrections). What was invoiced before ``effective`` is
    not refunded (END-1, END-4, BILL-3). The history is in entry order, so a refusal is taken
    from the effective day on, never ahead of it (a cancellation dated ahead would make every
    later change of the tenant before that day out of order).

    Refused with :class:`~crmcore.errors.CommandRefused` (field ``refuse_terms``), nothing
    stored:

    - rule NOTICE-4: no version of the tenant's vendor takes effect on ``effective``, or that
      is the vendor's first version (it changes nothing); ``at`` is before ``effective``;
      the tenant continued to use the service since the version took effect, which accepted
      it: an event of its history taking effect at or after 00:00 of ``effective`` (any:
      records, seats, payments, ...), or an API call counted (API-1) on ``effective`` or a
      later day up to ``at``'s (one read per day);
    - rule BILL-6: an invoice issued on ``at``'s own day (and on or after ``effective``) is
      stored: the corrections of a late entry correct the invoices issued before its day, so
      that one would stay uncorrected; the refusal is taken from the next day;
    - the cancellation's own rules, as :func:`record` (END-4: already cancelled; TERM-2: a
      prepaid term runs to expiry; PAY-3/PAY-4: the contract has already ended; BILL-6: an
      event entered after ``at``).

    ``NotFound`` for an unknown tenant, ``NaiveDatetimeError`` for a naive ``at``."""
    require_aware(at, "at")
    with uow:
        vendor = uow.vendors.get(uow.tenants.vendor(tenant_id))
        timezone = vendor.policy.timezone
        versions = uow.vendors.versions(vendor.name)
        if effective not in [v.effective for v in versions[1:]]:
            raise _not_refusable(
                N_(
                    "the terms taking effect on {effective} cannot be refused: no new version of "
                    "vendor {vendor} takes effect"
                ),
                {"vendor": vendor.name},
                effective,
            )
        refused_on = vendor_date(at, timezone)
        if refused_on < effective:
            raise _not_refusable(
                N_(
                    "the terms taking effect on {effective} cannot be refused: refused on "
                    "{refused_on}, before the version takes effect; until then the current terms "
                    "apply"
                ),
                {"refused_on": refused_on},
                effective,
            )
        start = local_midnight(effective, zone(timezone))
        since = [e for e in uow.tenants.history(tenant_id) if e.at >= start]
        if since:
            used = min(since, key=lambda e: e.at)
            raise _not_refusable(
                N_(
                    "the terms taking effect on {effective} cannot be refused: the service was "
                    "used on {day} ({verb}), which accepted the version"
                ),
                {"day": vendor_date(used.at, timezone), "verb": verb_of(used)},
                effective,
            )
        day = effective
        while day <= refused_on:
            if uow.api_calls.calls(tenant_id, day) > 0:
                raise _not_refusable(
                    N_(
                        "the terms taking effect on {effective} cannot be refused: the service "
                        "was used on {day} (API calls), which accepted the version"
                    ),
                    {"day": day},
                    effective,
                )
            day += timedelta(days=1)
        today = [
            i
            for i in uow.invoices.for_tenant(tenant_id)
            if i.issued == refused_on and i.issued >= effective
        ]
        if today:  # a late entry's corrections go on later days' documents only
            raise CommandRefused(
                N_(
                    "invoice {number} was issued on {day}, the day of the refusal, before it; "
                    "corrections of a late entry correct invoices issued before its day: refuse "
                    "from the next day"
                ),
                {"number": today[0].number, "day": refused_on},
                field="refuse_terms",
                rule="BILL-6",
            )
        return _record(uow, tenant_id, Cancelled(start - timedelta(microseconds=1), recorded=at))


def _not_refusable(template: str, params: dict[str, object], effective: date) -> CommandRefused:
    """NOTICE-4: ``template`` says why the terms taking effect on ``{effective}`` stand."""
    return CommandRefused(
        template,
        {"effective": effective, **params},
        field="refuse_terms",
        rule="NOTICE-4",
    )


def _added_lines(before: Evaluation, after: Evaluation, since: date) -> tuple[InvoiceLine, ...]:
    """The invoice lines of ``after`` that ``before`` does not have (as a multiset), among the
    documents issued on or after ``since``, the vendor day the change takes effect: those
    issued before it were issued before the change was known, alike in both (BILL-6)."""
    left = Counter(
        line for invoice in before.invoices if invoice.issued >= since for line in invoice.lines
    )
    added: list[InvoiceLine] = []
    for invoice in after.invoices:
        if invoice.issued < since:
            continue
        for line in invoice.lines:
            if left[line] > 0:
                left[line] -= 1
            else:
                added.append(line)
    return tuple(added)
