"""What the rules answer besides invoices: status changes, refusals and warnings, as typed
values (one class per shape), each with the ``to_json()`` of a scenario result (SCENARIOS.md
"Output": ``statuses``, ``refusals``, ``warnings``).

Every door builds its answer from these: the scenario runner, ``crmcore simulate --db``, the
commands' :class:`crmcore.errors.CommandRefused`, the outbox events, ``crmcore status`` and
``crmcore preview``. A refusal or warning knows the event it is about (``event``, where known;
it takes no part in equality and is not shown).

>>> from datetime import date
>>> RuleRefusal(date(2026, 3, 2), "add_seats", "PAY-3", "the contract ended").to_json()
{'on': '2026-03-02', 'do': 'add_seats', 'rule': 'PAY-3', 'message': 'the contract ended'}
>>> LimitRefusal(date(2026, 3, 2), "create_records", "REC-4", "business").message
"over the plan's record limit; plan business fits"
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

import attrs

from crmcore.errors import N_, wording

if TYPE_CHECKING:
    from crmcore.events import Event

__all__ = [
    "ApiCallRefusal",
    "LimitRefusal",
    "LimitWarning",
    "Refusal",
    "RuleRefusal",
    "StatusChange",
    "StorageRefusal",
]


@attrs.frozen
class StatusChange:
    """The tenant's status from ``on`` (a lifecycle word such as ``trial`` or ``cancelled``,
    or a payment-delay one such as ``blocked``: SCENARIOS.md "statuses")."""

    on: date
    status: str

    def to_json(self) -> dict[str, str]:
        return {"on": self.on.isoformat(), "status": self.status}


@attrs.frozen
class Refusal:
    """An event or command the rules refused on vendor day ``on``: ``do`` is its verb (the
    scenario format's), ``rule`` the rule ID. The subclasses say what else it shows."""

    on: date
    do: str
    rule: str
    event: Event | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)

    @property
    def message(self) -> str:
        """The refusal in English words (the text of its ``CommandRefused``)."""
        template, params = self.wording()
        return template if params is None else template.format(**params)

    @property
    def template(self) -> str | None:
        """The gettext msgid of :attr:`message` (I18N-1), ``None`` for a plain English one."""
        template, params = self.wording()
        return None if params is None else template

    @property
    def params(self) -> dict[str, object]:
        """The values filling :attr:`template`."""
        return self.wording()[1] or {}

    def wording(self) -> tuple[str, dict[str, object] | None]:
        """The template and its params (``None``: the text is plain English), to raise the
        refusal as a translatable ``CommandRefused`` (I18N-1)."""
        raise NotImplementedError

    def to_json(self) -> dict[str, object]:
        """The refusal as a scenario result shows it."""
        return {"on": self.on.isoformat(), "do": self.do, "rule": self.rule, **self._shown()}

    def about(self, event: Event) -> Refusal:
        """This refusal, about ``event``."""
        return attrs.evolve(self, event=event)

    def _shown(self) -> dict[str, object]:
        return {"message": self.message}


@attrs.frozen
class RuleRefusal(Refusal):
    """A refusal with its reason in words (TRIAL, SEAT, PAY, REC-3 and the others); built by
    :meth:`worded` or :meth:`of`, it keeps the words' template and params (I18N-1)."""

    text: str = attrs.field(alias="message")
    msgid: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    values: Mapping[str, object] = attrs.field(factory=dict, eq=False, repr=False, kw_only=True)

    @classmethod
    def worded(
        cls,
        on: date,
        do: str,
        rule: str,
        template: str,
        params: Mapping[str, object],
        *,
        event: Event | None = None,
    ) -> RuleRefusal:
        """The refusal whose words are ``template`` (a msgid marked ``N_``) with ``params``."""
        text = template.format(**params)
        return cls(on, do, rule, text, event=event, msgid=template, values=dict(params))

    @classmethod
    def of(
        cls, on: date, do: str, rule: str, error: Exception, *, event: Event | None = None
    ) -> RuleRefusal:
        """The refusal in the words of ``error`` (a ``RuleViolation``), template kept."""
        template, params = wording(error)
        if params is None:
            return cls(on, do, rule, template, event=event)
        return cls.worded(on, do, rule, template, params, event=event)

    @property
    def message(self) -> str:
        return self.text

    def wording(self) -> tuple[str, dict[str, object] | None]:
        if self.msgid is None:
            return self.text, None
        return self.msgid, dict(self.values)


@attrs.frozen
class LimitRefusal(Refusal):
    """Records over the plan's limit (REC-1): the cheapest plan that fits, if any (REC-4)."""

    suggested_plan: str | None

    def wording(self) -> tuple[str, dict[str, object] | None]:
        if self.suggested_plan:
            return N_("over the plan's record limit; plan {plan} fits"), {
                "plan": self.suggested_plan
            }
        return N_("over the plan's record limit; no plan fits, contact the vendor"), {}

    def _shown(self) -> dict[str, object]:
        return {"suggested_plan": self.suggested_plan}


@attrs.frozen
class ApiCallRefusal(Refusal):
    """An API call over the vendor day's allowance (API-1): ``used`` of ``limit`` counted,
    and when the client may retry (an ISO instant, the next vendor midnight)."""

    used: int
    limit: int | None
    retry_at: str | None

    def wording(self) -> tuple[str, dict[str, object] | None]:
        template = N_("{used} of {limit} API calls of {day} used; retry at {retry_at}")
        values = {"used": self.used, "limit": self.limit, "day": self.on}
        return template, {**values, "retry_at": self.retry_at}

    def _shown(self) -> dict[str, object]:
        return {"used": self.used, "limit": self.limit, "retry_at": self.retry_at}


@attrs.frozen
class StorageRefusal(Refusal):
    """A file that would pass the tenant's pooled storage (STOR-1): bytes ``used`` before
    it, ``requested``, and the pool's ``limit``."""

    used: int
    requested: int
    limit: int | None

    def wording(self) -> tuple[str, dict[str, object] | None]:
        template = N_("{used} + {requested} bytes would pass the pool of {limit} bytes")
        return template, {"used": self.used, "requested": self.requested, "limit": self.limit}

    def _shown(self) -> dict[str, object]:
        return {"used": self.used, "requested": self.requested, "limit": self.limit}


@attrs.frozen
class LimitWarning:
    """Records nearing the plan's limit (REC-2): ``records`` held after the event, of
    ``limit``."""

    on: date
    rule: str
    records: int
    limit: int | None
    event: Event | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)

    def to_json(self) -> dict[str, object]:
        return {
            "on": self.on.isoformat(),
            "rule": self.rule,
            "records": self.records,
            "limit": self.limit,
        }
