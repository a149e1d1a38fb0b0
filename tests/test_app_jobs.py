"""The billing and dunning jobs bill what ``crmcore simulate`` bills (issue 14, "one
pipeline"): tenants of a vendor stored as data are recorded through the commands, then
``crmcore_sql.jobs.bill_period`` runs month after month; the stored invoices equal the
runner's, line for line and number for number, on SQLite, PostgreSQL and MariaDB. And the
demo (``crmcore demo``) invoices nobody after a cancellation or a purge (PAY-3, PAY-4), bills
its Czech tenants at 21 % (PLAN-2) and puts its SLA credit on a later invoice (SLA-6)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.app.evaluation import evaluate_tenant
from crmcore.app.queries import tenant_status
from crmcore.app.simulation import scenario_vendor
from crmcore.dates import vendor_date
from crmcore.errors import CommandRefused, CrmError
from crmcore.events import TenantCreated
from crmcore.invoices import LineKind
from crmcore.periods import Period
from crmcore.scenario.runner import dumps, parse, result_json, run, scenario_terms
from crmcore.testing.billing import life_scenario_documents
from crmcore_sql.demo import OUTAGE_TENANT, run_demo
from crmcore_sql.jobs import bill_period, dunning_as_of
from crmcore_sql.testing import empty_tables


def _months(first: date, last: date) -> list[Period]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(Period.calendar_month(day.year, day.month))
        day = months[-1].last_day + timedelta(days=1)
    return months


def _billed_by_the_job(document: dict[str, Any], engine: Engine) -> str | None:
    """The scenario's events as commands, then the monthly job; the result as the runner
    would print it (None when the runner refuses the document)."""
    try:
        scenario = parse(document)
    except CrmError:
        return None
    empty_tables(engine)

    def uow() -> crmcore_sql.SqlUnitOfWork:
        return crmcore_sql.unit_of_work(engine)

    vendor = scenario_vendor(scenario)
    save_vendor(uow(), vendor)
    created = scenario.history[0]
    assert isinstance(created, TenantCreated)
    register_tenant(uow(), scenario.tenant_id, vendor.name, created.at, created.identity)
    for event in scenario.history[1:]:
        if vendor_date(event.at, scenario.policy.timezone) > scenario.until:
            break  # not replayed by the runner either
        with contextlib.suppress(CommandRefused):  # refused: stored nowhere, as in the runner
            record(uow(), scenario.tenant_id, event)
    for month in _months(scenario.created_day, scenario.until):
        bill_period(engine, month)
        _, counts = dunning_as_of(engine, month.last_day)
        # the dunning job's status is the one crmcore status gives (lifecycle and delay)
        status = tenant_status(uow(), scenario.tenant_id, month.last_day).status.value
        assert counts == {status: 1}, (month, counts, status)
    with uow() as unit:
        stored = sorted(
            unit.invoices.for_tenant(scenario.tenant_id), key=lambda i: (i.issued, i.number)
        )
        history = unit.tenants.history(scenario.tenant_id)
    evaluation = evaluate_tenant(scenario_terms(scenario), history, scenario.until)
    return dumps({"invoices": result_json(evaluation, stored)["invoices"]})


# Each example bills month by month through SQL on three engines: a few dozen lives per engine
# keep the suite within its budget (the memory properties run the full profile).
@settings(
    max_examples=20,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=life_scenario_documents())
def test_the_billing_job_issues_what_the_runner_issues(
    document: dict[str, Any], engine: Engine
) -> None:
    """BILL-1..6, PRO, TERM, PAY-3/4 (no invoice after the contract ended), SLA-6 (credit
    lines), BILL-4 (transfer fee lines): the job's invoices are the runner's, byte for byte.
    ``until`` is moved to the end of its month, the job's period end."""
    until = date.fromisoformat(document["until"])
    document["until"] = _months(until, until)[0].last_day.isoformat()
    billed = _billed_by_the_job(document, engine)
    if billed is None:
        return
    assert billed == dumps({"invoices": run(document)["invoices"]})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    engine = crmcore_sql.create_engine(url)
    run_demo(engine, io.StringIO())
    yield engine
    engine.dispose()


def test_pay_3_pay_4_the_demo_invoices_nobody_after_the_contract_ended(demo: Engine) -> None:
    with crmcore_sql.unit_of_work(demo) as uow:
        tenants = uow.tenants.ids()
        invoices = {t: uow.invoices.for_tenant(t) for t in tenants}
    ended = 0
    for tenant in tenants:
        view = tenant_status(crmcore_sql.unit_of_work(demo), tenant, date(2026, 6, 30))
        closed = [s.on for s in view.statuses if s.status in ("cancelled", "purged")]
        if closed:
            ended += 1
            assert all(i.issued < closed[0] for i in invoices[tenant]), tenant
    assert ended >= 2  # the never-paying demo-03 (purged) and demo-13 at least


def test_plan_2_the_demo_bills_its_czech_tenants_at_21_percent(demo: Engine) -> None:
    """PLAN-2 by the customer's country: the Czech tenants at 21 %, the Slovak ones (every
    tenth, demo-08, demo-18, ...) at 23 %; BILL-5: each invoice to the tenant's address."""
    with crmcore_sql.unit_of_work(demo) as uow:
        invoices = [i for t in uow.tenants.ids() for i in uow.invoices.for_tenant(t)]
    slovak = {f"demo-{index:02d}" for index in range(8, 50, 10)}
    assert {i.vat_rate for i in invoices if i.tenant_id not in slovak} == {Decimal("0.21")}
    assert {i.vat_rate for i in invoices if i.tenant_id in slovak} == {Decimal("0.23")}
    assert all(
        i.billing_email == f"billing@{i.tenant_id}.{'sk' if i.tenant_id in slovak else 'cz'}"
        for i in invoices
    )


def test_sla_6_the_demo_credit_is_a_line_of_a_later_invoice(demo: Engine) -> None:
    """10 hours down on 8 Apr: 43,200 - 600 = 42,600 of 43,200 minutes = 98.61 %, from 98.00
    up to below 99.50: 35 % (SLA-2) of demo-07's April fee, 2 seats x 690.00 = 1380.00:
    483.00 off the first invoice issued after April (1 May)."""
    with crmcore_sql.unit_of_work(demo) as uow:
        invoices = uow.invoices.for_tenant(OUTAGE_TENANT)
    credits = [
        (i.issued, line.net.amount)
        for i in invoices
        for line in i.lines
        if line.kind is LineKind.SLA_CREDIT
    ]
    assert credits == [(date(2026, 5, 1), -(Decimal("1380.00") * Decimal("0.35")))]
