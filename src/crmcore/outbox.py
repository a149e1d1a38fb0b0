"""Events out: the transactional outbox (issue 15, section 4).

Every change crmcore decides that the outside world may care about becomes an
:class:`OutboxEvent` row, written by :class:`crmcore.ports.OutboxRepository` in the same
transaction as the change it reports: an invoice issued (``invoice_issued``, with
``sla_credit`` when it carries an SLA-6 credit line), a status change (``trial_expired``,
``activated``, ``blocked``, ``unblocked``, ``cancelled``, ``purged``, ``reinstated``, ...), a
limit warning (``limit_warning``, REC-2) and a refusal (``event_refused`` for a stored event
the rules refuse, ``command_refused`` for a command that stored nothing, ``limit_reached`` the
first time a day's API calls are refused, API-1).

Each event has a monotonic ``id`` (ids grow in commit order, so a reader that has seen id *n*
never later finds a committed event below *n*) and, when it reports something the rules
derive again on every run, a ``key`` unique within its tenant: a re-run, or two workers
deriving the same change, store it once. This module builds the events from the rules'
values; it stores nothing.

>>> from datetime import date
>>> status_event_type("trial", "trial_expired"), status_event_type("blocked", "active")
('trial_expired', 'unblocked')
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from crmcore.dates import local_midnight
from crmcore.errors import ValidationError
from crmcore.invoices import Invoice, LineKind

if TYPE_CHECKING:  # the application layer imports this module, not the other way round
    from crmcore.app.evaluation import Evaluation

__all__ = [
    "MAX_EVENT_DATA",
    "MAX_EVENT_KEY",
    "OutboxEvent",
    "checked_outbox_events",
    "evaluation_events",
    "invoice_event",
    "invoice_event_type",
    "invoice_events",
    "limit_reached_event",
    "next_change_after",
    "refusal_event",
    "status_event_type",
]

#: The longest dedupe key and the largest ``data`` document (JSON characters) an adapter stores.
MAX_EVENT_KEY = 128
MAX_EVENT_DATA = 65_535
_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MAX_TENANT = 64


@attrs.frozen
class OutboxEvent:
    """One event out. ``at`` is the aware instant the change took effect (an invoice: the
    start of its issue day in the vendor's zone), ``data`` a JSON object, ``key`` the dedupe key
    within the tenant (None: never deduplicated, e.g. a refused command). ``id`` is 0 until
    the outbox stores it."""

    type: str
    tenant_id: str
    at: datetime
    data: Mapping[str, Any] = attrs.field(factory=dict)
    key: str | None = None
    id: int = 0

    def to_json(self) -> dict[str, Any]:
        """The event as ``crmcore events --json`` prints it: ``id``, ``type``, ``tenant``,
        ``at`` (ISO 8601 with offset) and ``data``."""
        return {
            "id": self.id,
            "type": self.type,
            "tenant": self.tenant_id,
            "at": self.at.isoformat(),
            "data": dict(self.data),
        }


def checked_outbox_events(events: Sequence[OutboxEvent]) -> tuple[OutboxEvent, ...]:
    """``events`` as a tuple if every adapter can store each one the same way, else
    ``ValidationError`` naming ``events[i]``: a type of 1..32 lower-case letters, digits and
    ``_``; a tenant id of 1..64 printable characters; an aware ``at``; a JSON object ``data``
    of at most :data:`MAX_EVENT_DATA` characters; a key of 1..:data:`MAX_EVENT_KEY`
    printable characters or None; no two events with the same tenant and key."""
    checked = tuple(events)
    seen: set[tuple[str, str]] = set()
    for index, event in enumerate(checked):
        field = f"events[{index}]"
        if not isinstance(event, OutboxEvent):
            raise ValidationError(f"must be an OutboxEvent, got {event!r}", field=field)
        if not isinstance(event.type, str) or not _TYPE.fullmatch(event.type):
            raise ValidationError(
                f"must be 1..32 lower-case letters, digits and _, got {event.type!r}",
                field=f"{field}.type",
            )
        tenant = event.tenant_id
        if (
            not isinstance(tenant, str)
            or not tenant.strip()
            or len(tenant) > _MAX_TENANT
            or not tenant.isprintable()
        ):
            raise ValidationError(
                f"must be 1..{_MAX_TENANT} printable characters, got {tenant!r}",
                field=f"{field}.tenant_id",
                rule="TEN-1",
            )
        if not isinstance(event.at, datetime) or event.at.utcoffset() is None:
            raise ValidationError(
                f"must be an aware datetime, got {event.at!r}", field=f"{field}.at", rule="TIME-1"
            )
        if not isinstance(event.data, Mapping):
            raise ValidationError(
                f"must be a JSON object, got {event.data!r}", field=f"{field}.data"
            )
        try:
            text = json.dumps(dict(event.data), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"must hold JSON values only: {exc}", field=f"{field}.data"
            ) from None
        if len(text) > MAX_EVENT_DATA:
            raise ValidationError(
                f"must be at most {MAX_EVENT_DATA} characters of JSON, got {len(text)}",
                field=f"{field}.data",
            )
        key = event.key
        if key is not None:
            if not isinstance(key, str) or not key or len(key) > MAX_EVENT_KEY:
                raise ValidationError(
                    f"must be None or 1..{MAX_EVENT_KEY} characters, got {key!r}",
                    field=f"{field}.key",
                )
            if (tenant, key) in seen:
                raise ValidationError(
                    f"tenant {tenant!r} has key {key!r} twice", field=f"{field}.key"
                )
            seen.add((tenant, key))
    return checked


# --- invoices ------------------------------------------------------------------------------------


def invoice_event_type(invoice: Invoice) -> str:
    """The event type of an issued document: ``invoice_issued``, or ``correction_issued`` for
    a correction document (BILL-6, one that ``corrects`` an invoice)."""
    return "invoice_issued" if invoice.corrects is None else "correction_issued"


def invoice_events(invoice: Invoice, tz: str) -> list[OutboxEvent]:
    """The events of one issued (numbered) invoice: its ``invoice_issued`` (number, issue and
    due days, currency, net, VAT, gross; keyed by the invoice's key, BILL-6) and, when it
    carries SLA-6 credit lines, one ``sla_credit`` with their sum (a negative amount). A
    correction document's is ``correction_issued`` with the number it ``corrects``."""
    at = local_midnight(invoice.issued, tz)
    data: dict[str, Any] = {
        "number": invoice.number,
        "series": invoice.series,
        "issued": invoice.issued.isoformat(),
        "due": invoice.due.isoformat(),
        "currency": invoice.currency,
        "net": str(invoice.net.amount),
        "vat": str(invoice.vat.amount),
        "gross": str(invoice.gross.amount),
    }
    if invoice.corrects is not None:
        data["corrects"] = invoice.corrects  # the number of the invoice it corrects
    kind = invoice_event_type(invoice)
    found = [invoice_event(kind, invoice, at, data)]
    credits = [line for line in invoice.lines if line.kind is LineKind.SLA_CREDIT]
    if credits:
        total = sum((line.net.amount for line in credits), start=credits[0].net.amount * 0)
        credit = {
            "invoice": invoice.number,
            "currency": invoice.currency,
            "amount": str(total),
            "rule": "SLA-6",
        }
        found.append(invoice_event("sla_credit", invoice, at, credit))
    return found


def invoice_event(
    kind: str, invoice: Invoice, at: datetime, data: Mapping[str, Any]
) -> OutboxEvent:
    """An event of ``invoice`` keyed ``KIND:INVOICE-KEY`` (one per kind and invoice)."""
    key = f"{kind}:{invoice.key}"[:MAX_EVENT_KEY]
    return OutboxEvent(kind, invoice.tenant_id, at, data, key=key)


# --- statuses, warnings and refusals derived by the evaluation ----------------------------------

_STATUS_TYPES = {
    ("blocked", "active"): "unblocked",  # PAY-2
    ("cancelled", "active"): "reinstated",  # PAY-3
    ("trial", "active"): "activated",
}


def status_event_type(previous: str, status: str) -> str:
    """The event type of a status change: the new status (``trial_expired``, ``blocked``,
    ``cancelled``, ``purged``, ``free``, ``active``) except ``activated`` (from the trial),
    ``unblocked`` (PAY-2) and ``reinstated`` (PAY-3)."""
    return _STATUS_TYPES.get((previous, status), status)


def evaluation_events(
    evaluation: Evaluation, tz: str, up_to: date, since: date | None = None
) -> list[OutboxEvent]:
    """The status changes, limit warnings (REC-2) and refusals of stored events that
    ``evaluation`` derives for vendor days up to ``up_to`` (and from ``since``, when given),
    each keyed by its type, day and rank among the same on that day, so that any later
    evaluation of the same history derives the same keys."""
    tenant = _tenant_of(evaluation)
    found: list[OutboxEvent] = []
    ranks: dict[str, int] = {}

    def keyed(kind: str, on: str, detail: str) -> str:
        base = f"{kind}:{on}:{detail}"
        ranks[base] = ranks.get(base, 0) + 1
        return f"{base}:{ranks[base]}"[:MAX_EVENT_KEY]

    def wanted(on: date) -> bool:
        return on <= up_to and (since is None or on >= since)

    rules = {(t.on.isoformat(), str(t.status)): t for t in evaluation.dunning}
    statuses = list(evaluation.statuses)
    for previous, change in itertools.pairwise(statuses):
        on = change.on
        before, status = previous.status, change.status
        kind = status_event_type(before, status)
        key = keyed(kind, on.isoformat(), status)
        if not wanted(on):
            continue
        data: dict[str, Any] = {"on": on.isoformat(), "previous": before, "status": status}
        transition = rules.get((on.isoformat(), status))
        at = local_midnight(on, tz)
        if transition is not None:
            data["rule"] = transition.rule
            data["days_overdue"] = transition.days_overdue
            at = transition.at
        found.append(OutboxEvent(kind, tenant, at, data, key))
    for warning in evaluation.warnings:
        on, event = warning.on, warning.event
        key = keyed("limit_warning", on.isoformat(), warning.rule)
        if wanted(on):
            at = event.at if event is not None else local_midnight(on, tz)
            found.append(OutboxEvent("limit_warning", tenant, at, _plain(warning.to_json()), key))
    for refusal in evaluation.refusals:
        on, event = refusal.on, refusal.event
        key = keyed("event_refused", on.isoformat(), f"{refusal.do}:{refusal.rule}")
        if wanted(on):
            at = event.at if event is not None else local_midnight(on, tz)
            found.append(OutboxEvent("event_refused", tenant, at, _plain(refusal.to_json()), key))
    return found


def next_change_after(evaluation: Evaluation, day: date) -> date | None:
    """The first vendor day after ``day`` on which ``evaluation`` changes the status (a
    trial expiring, a block for payment delay): a daily run must evaluate the tenant again
    that day even when nothing is due."""
    later = [status.on for status in evaluation.statuses if status.on > day]
    return min(later) if later else None


def refusal_event(tenant_id: str, at: datetime, refusal: Mapping[str, Any]) -> OutboxEvent:
    """``command_refused``: a command the rules refused (nothing of it is stored; this event
    is written in a transaction of its own). Never deduplicated: each attempt is an event."""
    return OutboxEvent("command_refused", tenant_id, at, _plain(refusal))


def limit_reached_event(tenant_id: str, at: datetime, refusal: Mapping[str, Any]) -> OutboxEvent:
    """``limit_reached``: a counted limit refused a call (API-1), once per tenant, rule and
    vendor day (keyed by them: every later refusal that day writes nothing, so a throttled
    client cannot flood the outbox)."""
    key = f"limit_reached:{refusal.get('rule')}:{refusal.get('on')}"[:MAX_EVENT_KEY]
    return OutboxEvent("limit_reached", tenant_id, at, _plain(refusal), key)


def _tenant_of(evaluation: Evaluation) -> str:
    created = evaluation.history[0] if evaluation.history else None
    tenant: str = getattr(created, "tenant_id", "")
    return tenant


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A refusal or warning as JSON values (dates and other values as text)."""
    result: dict[str, Any] = {}
    for name, value in item.items():
        if value is None or isinstance(value, bool | int | str):
            result[name] = value
        elif isinstance(value, float):
            result[name] = str(value)
        elif isinstance(value, date | datetime):
            result[name] = value.isoformat()
        elif isinstance(value, timedelta):
            result[name] = value.total_seconds()
        else:
            result[name] = str(value)
    return result
