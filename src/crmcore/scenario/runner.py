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
from collections.abc import Mapping, Sequence
from typing import Any

from crmcore.app.evaluation import (
    EXTENSIONS,
    Evaluation,
    EvaluationContext,
    Extension,
    TenantTerms,
    evaluate_tenant,
)
from crmcore.billing.proration import fraction_text
from crmcore.invoices import Invoice, InvoiceLine
from crmcore.money import Money
from crmcore.scenario.input import ParsedScenario, parse

__all__ = [
    "EXTENSIONS",
    "ScenarioContext",
    "dumps",
    "parse",
    "result_json",
    "run",
    "scenario_terms",
]

#: What an extension is called with (the evaluation's context; the name the runner gave it).
ScenarioContext = EvaluationContext


def scenario_terms(scenario: ParsedScenario) -> TenantTerms:
    """The scenario's vendor terms for its tenant."""
    return TenantTerms(scenario.tenant_id, scenario.policy, scenario.catalog, scenario.terms)


def run(document: object, extensions: Sequence[Extension] | None = None) -> dict[str, Any]:
    """Validate and replay a scenario document; the result of SCENARIOS.md "Output"."""
    scenario = parse(document)
    chosen = EXTENSIONS if extensions is None else extensions
    evaluation = evaluate_tenant(scenario_terms(scenario), scenario.history, scenario.until, chosen)
    return result_json(evaluation)


def result_json(
    evaluation: Evaluation, invoices: Sequence[Invoice] | None = None
) -> dict[str, Any]:
    """The scenario result of an evaluation (SCENARIOS.md "Output"); ``invoices`` instead of
    the evaluation's own when they were stored (numbered by the store), paid as evaluated."""
    if invoices is None:
        shown = list(evaluation.invoices)
        paid: Mapping[str, Money] = evaluation.paid
    else:
        # in the evaluation's issue order (a day's corrections before its invoices)
        position = {invoice.key: index for index, invoice in enumerate(evaluation.invoices)}
        shown = sorted(invoices, key=lambda i: position.get(i.key, len(position)))
        by_key = {i.key: evaluation.paid.get(i.number) for i in evaluation.invoices}
        paid = {i.number: amount for i in shown if (amount := by_key.get(i.key)) is not None}
    return {
        "invoices": [invoice_json(invoice, paid) for invoice in shown],
        "statuses": [s.to_json() for s in evaluation.statuses],
        "refusals": [r.to_json() for r in evaluation.refusals],
        "warnings": [w.to_json() for w in evaluation.warnings],
    }


def dumps(result: Mapping[str, Any]) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(result, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


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


def invoice_json(invoice: Invoice, paid: Mapping[str, Money]) -> dict[str, Any]:
    """A document of a scenario result: ``type`` ``invoice``, or ``correction`` with
    ``corrects``, the number of the invoice it corrects (BILL-6)."""
    data = {
        "type": invoice.type,
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
    if invoice.corrects is not None:
        data["corrects"] = invoice.corrects
    return data
