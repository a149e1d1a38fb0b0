"""A scenario (SCENARIOS.md) through the application layer, on any storage.

:func:`simulate_stored` is ``crmcore simulate --db``: the scenario's vendor is saved, its
tenant registered, each event sent as its command on the day it was entered (its
``recorded`` day for a late entry; a refused command is a refusal of the result, nothing
stored) and the billing use case run up to the day before each event is entered and then up
to ``until``, so invoices are issued day by day as a billing script would. The answer is
built from what was stored, in the shape of :func:`crmcore.scenario.runner.run`'s, and is equal to
it: the same engine (:func:`crmcore.app.evaluation.evaluate_tenant`) decided both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import attrs

from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.dates import vendor_date
from crmcore.errors import CommandRefused, NotFound, ShownRefusal, ValidationError
from crmcore.events import TenantCreated, entered
from crmcore.outcomes import RuleRefusal
from crmcore.ports import UnitOfWork
from crmcore.scenario.input import ParsedScenario, parse
from crmcore.scenario.runner import result_json
from crmcore.vendors import Vendor

__all__ = ["scenario_vendor", "simulate_stored"]


def scenario_vendor(scenario: ParsedScenario) -> Vendor:
    """The scenario's vendor as data: its policy (in the scenario's currency) and plans,
    currency, the VAT rate as the rate of the vendor's own country (PLAN-2) and the transfer
    fee (BILL-4, PLAN-4), in force from the tenant's creation day."""
    terms = scenario.terms
    fees = {} if terms.transfer_fee is None else {"transfer": terms.transfer_fee}
    # the scenario's currency is the invoices' whatever the preset's (as the runner bills)
    policy = attrs.evolve(scenario.policy, currency=terms.currency)
    return Vendor(
        name=scenario.policy.name,
        policy=policy,
        catalog=scenario.catalog,
        effective=scenario.created_day,
        vat_rates={scenario.policy.country: terms.vat_rate},
        fees=fees,
        currency=terms.currency,
    )


def simulate_stored(document: object, unit_of_work: Callable[[], UnitOfWork]) -> dict[str, Any]:
    """Run the scenario ``document`` through the commands and billing on ``unit_of_work``'s
    storage; refused when the storage already holds its tenant."""
    scenario = parse(document)
    tenant_id = scenario.tenant_id
    with unit_of_work() as uow:
        try:
            uow.tenants.version(tenant_id)
        except NotFound:
            pass
        else:
            raise ValidationError(
                f"the database already holds tenant {tenant_id!r}", field="tenant.id"
            )
    vendor = _own_vendor(unit_of_work, scenario_vendor(scenario), tenant_id)
    created = scenario.history[0]
    assert isinstance(created, TenantCreated)  # parse() starts every history with it
    register_tenant(unit_of_work(), tenant_id, vendor.name, created.at, created.identity)
    refusals: list[tuple[int, ShownRefusal]] = []  # (the event's place, its refusal)
    tz = scenario.policy.timezone
    for place, event in enumerate(scenario.history):
        if place == 0:
            continue
        day = vendor_date(entered(event), tz)  # the day it was entered (BILL-6: late entries)
        if vendor_date(event.at, tz) > scenario.until or day > scenario.until:
            continue  # the scenario's answer ends with ``until``: later events are not replayed
        day_before = day - timedelta(days=1)
        if day_before >= scenario.created_day:
            bill_tenant(unit_of_work(), tenant_id, day_before)
        try:
            record(unit_of_work(), tenant_id, event)
        except CommandRefused as refused:
            refusals.append((place, _refusal(refused, vendor_date(event.at, tz))))
    billed = bill_tenant(unit_of_work(), tenant_id, scenario.until)
    with unit_of_work() as uow:
        stored = uow.invoices.for_tenant(tenant_id)  # in issue order
    result = result_json(billed.evaluation, stored)
    # by day, then in the order of the events, as the runner lists them: the rules' refusals
    # of stored events and the commands' refusals merged
    places = {id(e): i for i, e in enumerate(scenario.history)}
    ruled = [
        (_place(refusal.event, scenario.history, places), refusal)
        for refusal in billed.evaluation.refusals
    ]
    merged = sorted([*ruled, *refusals], key=lambda item: (item[1].on, item[0]))
    result["refusals"] = [refusal.to_json() for _place_, refusal in merged]
    return result


def _place(event: object, history: Sequence[object], places: Mapping[int, int]) -> int:
    """Where the stored ``event`` (read back: equal, not the same object) is in the
    scenario's history; after every event when unknown."""
    if id(event) in places:
        return places[id(event)]
    for index, candidate in enumerate(history):
        if candidate == event:
            return index
    return len(history)


def _own_vendor(unit_of_work: Callable[[], UnitOfWork], vendor: Vendor, tenant_id: str) -> Vendor:
    """The scenario's vendor, saved: under its policy's name (``raynet``) when no vendor nor
    catalogue of that name is stored, else under a name of the tenant's own (``raynet.`` and
    a digest of the tenant id). Another tenant's vendor is never given a new version (its
    invoices would be rated again, NOTICE-2), and the scenario's invoices are numbered in a
    series of their own from 1 (BILL-6), as ``crmcore simulate FILE`` numbers them."""
    with unit_of_work() as uow:
        taken = bool(uow.vendors.versions(vendor.name)) or _catalogued(uow, vendor.name)
    if taken:
        digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:12]
        name = f"{vendor.name[: 64 - len(digest) - 1]}.{digest}"
        policy = attrs.evolve(vendor.policy, name=name)
        vendor = attrs.evolve(vendor, name=name, policy=policy)
        with unit_of_work() as uow:
            if vendor in uow.vendors.versions(name):  # a run refused before it registered
                return vendor
    save_vendor(unit_of_work(), vendor)
    return vendor


def _catalogued(uow: UnitOfWork, name: str) -> bool:
    """Whether a catalogue of ``name`` is stored: tenants stored under a preset's name are
    billed with it, numbered in the series of that name (the earlier way, docs/storage.md)."""
    try:
        uow.catalogs.get(name)
    except NotFound:
        return False
    return True


def _refusal(refused: CommandRefused, on: date) -> ShownRefusal:
    """The command's refusal (a scenario result shows its ``to_json()``)."""
    if refused.refusal is not None:
        return refused.refusal
    return RuleRefusal.of(on, str(refused.field), str(refused.rule), refused)
