"""The scenario runner (SCENARIOS.md): replay one tenant's life and report what crmcore does.

:func:`run` takes the scenario document (a dict parsed from JSON), validates every field
(errors are :class:`~crmcore.errors.ValidationError` naming the JSON path, e.g.
``events[3].count: must be a positive integer, got -2``) and answers with the invoices, status
changes, refusals and warnings. :func:`dumps` renders the answer deterministically (sorted keys).

The core handles the commercial life (TEN, SEAT, TRIAL, BILL, PRO, TERM, END-4) and ``pay``.
``reinstate``, ``outage``, ``create_records`` and ``delete_records`` are parsed, validated and
kept in the history; their behaviour (PAY, SLA, REC) plugs in through :data:`EXTENSIONS`:
functions called with the :class:`ScenarioContext` after the core replay, free to add statuses,
refusals, warnings or invoice lines.

>>> import json
>>> doc = json.load(open("docs/scenarios/mid_month_activation.json"))
>>> result = run(doc)
>>> invoice = result["invoices"][0]
>>> invoice["net"], invoice["vat"], invoice["gross"]
('1017.74', '213.73', '1231.47')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs

from crmcore.billing import (
    InMemoryInvoiceNumbering,
    apply_payments,
    drafts_from_timeline,
    issue,
)
from crmcore.catalog import Catalog
from crmcore.dates import local_midnight, vendor_date, zone
from crmcore.dunning import DunningTransition
from crmcore.events import Event, PaymentMethod, PaymentReceived
from crmcore.invoices import Invoice, InvoiceLine, Payment
from crmcore.money import Money
from crmcore.policies import VendorPolicy
from crmcore.proration import fraction_text
from crmcore.scenario_input import ParsedScenario, parse
from crmcore.scenario_rules import CONTRACT_EVENTS, apply_rules, contract_closed_by
from crmcore.tenancy import Timeline, replay

__all__ = ["EXTENSIONS", "ScenarioContext", "dumps", "parse", "run"]


@attrs.define
class ScenarioContext:
    """Everything one run knows; extensions read it and append to the mutable lists."""

    scenario: ParsedScenario
    history: Sequence[Event]  # the events replayed (without those refused by PAY-3/PAY-4)
    timeline: Timeline
    card_keys: frozenset[str]  # invoices charged to a card at issue (BILL-4)
    invoices: list[Invoice]
    payments: list[Payment]
    statuses: list[dict[str, Any]]
    refusals: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    dunning: Sequence[DunningTransition] = ()  # set by apply_rules

    @property
    def policy(self) -> VendorPolicy:
        return self.scenario.policy

    @property
    def catalog(self) -> Catalog:
        return self.scenario.catalog

    def refresh_payments(self) -> None:
        """Recompute ``payments`` after an extension changed ``invoices`` (e.g. an SLA-6
        credit line): ``pay everything`` pays what the invoices then ask for."""
        self.payments = _payments(self.scenario, self.timeline, self.invoices, self.card_keys)


Extension = Callable[[ScenarioContext], None]

#: Behaviour of the other rule families (PAY-2..5 dunning statuses and ``reinstate``, SLA credits
#: from ``outage``, REC limits for ``create_records``/``delete_records``). Each is called in
#: order after the core replay; the default is :func:`crmcore.scenario_rules.apply_rules`.
EXTENSIONS: tuple[Extension, ...] = (apply_rules,)


def run(document: object, extensions: Sequence[Extension] | None = None) -> dict[str, Any]:
    """Validate and replay a scenario document; the result of SCENARIOS.md "Output"."""
    scenario = parse(document)
    chosen = EXTENSIONS if extensions is None else extensions
    history = list(scenario.history)
    ended: list[dict[str, Any]] = []  # events refused because the contract had ended (PAY-3/4)
    while True:
        context = _replay_once(scenario, history, chosen)
        refused = _first_after_contract_ended(context, history)
        if refused is None:
            break
        event, rule = refused
        del history[next(i for i, e in enumerate(history) if e is event)]
        ended.append(
            {
                "on": vendor_date(event.at, scenario.policy.timezone).isoformat(),
                "do": scenario.verbs[id(event)],
                "rule": rule,
                "message": "the contract ended for payment delay; only a recorded"
                " reinstatement restores it",
            }
        )
    if ended:
        context.refusals = sorted([*context.refusals, *ended], key=lambda r: str(r["on"]))
    paid = apply_payments(context.invoices, context.payments)
    return {
        "invoices": [_invoice_json(invoice, paid) for invoice in context.invoices],
        "statuses": context.statuses,
        "refusals": context.refusals,
        "warnings": context.warnings,
    }


def _replay_once(
    scenario: ParsedScenario, history: Sequence[Event], extensions: Sequence[Extension]
) -> ScenarioContext:
    """The core replay of ``history``, then every extension."""
    policy = scenario.policy
    tz = zone(policy.timezone)
    end = local_midnight(scenario.until + timedelta(days=1), tz) - timedelta(microseconds=1)
    timeline = replay(history, scenario.catalog, policy, until=end)
    drafts = drafts_from_timeline(
        timeline, scenario.catalog, policy, scenario.terms, scenario.until
    )
    invoices = issue(
        drafts, InMemoryInvoiceNumbering(), tenant_id=scenario.tenant_id, policy=policy
    )
    card_keys = frozenset(d.key for d in drafts if d.payment is PaymentMethod.CARD)
    context = ScenarioContext(
        scenario=scenario,
        history=tuple(history),
        timeline=timeline,
        card_keys=card_keys,
        invoices=invoices,
        payments=_payments(scenario, timeline, invoices, card_keys),
        statuses=_statuses(scenario, timeline),
        refusals=[
            {
                "on": refusal.day.isoformat(),
                "do": scenario.verbs[id(refusal.event)],
                "rule": refusal.error.rule,
                "message": refusal.error.problem,
            }
            for refusal in timeline.refusals
        ],
        warnings=[],
    )
    for extension in extensions:
        extension(context)
    return context


def _first_after_contract_ended(
    context: ScenarioContext, history: Sequence[Event]
) -> tuple[Event, str] | None:
    """The first event that needs a running contract while PAY-3/PAY-4 had ended it (not
    reopened by a recorded reinstatement), with that rule; None when there is none. The
    runner replays again without it: dropping it can only remove invoices, so the
    cancellation stands and the loop ends after at most one pass per such event. An event
    the lifecycle refused anyway is refused by PAY-3/PAY-4 too: that is the reason."""
    for event in history:
        if not isinstance(event, CONTRACT_EVENTS):
            continue
        rule = contract_closed_by(context.dunning, event.at)
        if rule is not None:
            return event, rule
    return None


def dumps(result: Mapping[str, Any]) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(result, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _statuses(scenario: ParsedScenario, timeline: Timeline) -> list[dict[str, Any]]:
    """Every status change with the vendor day it took effect, starting with the trial."""
    result = [{"on": scenario.created_day.isoformat(), "status": timeline.initial.status.value}]
    for step in timeline.steps:
        if step.after.status is not step.before.status:
            result.append({"on": step.day.isoformat(), "status": step.after.status.value})
    return result


def _payments(
    scenario: ParsedScenario,
    timeline: Timeline,
    invoices: Sequence[Invoice],
    card_keys: frozenset[str],
) -> list[Payment]:
    """Card charges at issue (BILL-4) and ``pay`` events; ``everything`` pays what is unpaid on
    the invoices issued by that day."""
    currency = scenario.terms.currency
    tz = zone(scenario.policy.timezone)
    charges = [
        (
            local_midnight(i.issued, tz),
            Payment(scenario.tenant_id, local_midnight(i.issued, tz), i.gross, f"card {i.number}"),
        )
        for i in invoices
        if i.key in card_keys and i.gross.amount > 0
    ]
    result: list[Payment] = []
    received = Money.zero(currency)
    for step in timeline.steps:
        event = step.cause
        if not isinstance(event, PaymentReceived):
            continue
        while charges and charges[0][0] <= event.at:
            received = received + charges[0][1].amount
            result.append(charges.pop(0)[1])
        if event.amount is None:
            issued = [i.gross for i in invoices if i.issued <= step.day]
            owed = sum(issued, Money.zero(currency)) - received
            if owed.amount <= 0:
                continue
            amount = owed
        else:
            amount = Money(event.amount, currency)
        result.append(Payment(scenario.tenant_id, event.at, amount))
        received = received + amount
    result.extend(payment for _, payment in charges)
    return result


def _money(value: Money) -> str:
    return str(value.rounded().amount)


def _line_json(line: InvoiceLine) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": line.kind.value, "rule": line.rule, "net": _money(line.net)}
    if line.plan is not None:
        data["plan"] = line.plan
    if line.seats is not None:
        data["seats"] = line.seats
    if line.first_day is not None:
        data["from"] = line.first_day.isoformat()
    if line.last_day is not None:
        data["to"] = line.last_day.isoformat()
    fraction = fraction_text(line)
    if fraction is not None:
        data["fraction"] = fraction
    if line.description:
        data["description"] = line.description
    return data


def _invoice_json(invoice: Invoice, paid: Mapping[str, Money]) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "key": invoice.key,
        "issued": invoice.issued.isoformat(),
        "due": invoice.due.isoformat(),
        "lines": [_line_json(line) for line in invoice.lines],
        "net": _money(invoice.net),
        "vat": _money(invoice.vat),
        "gross": _money(invoice.gross),
        "paid": _money(paid.get(invoice.number, Money.zero(invoice.currency))),
    }
