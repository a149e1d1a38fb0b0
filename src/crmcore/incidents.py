"""Personal-data incidents (GDPR-1..4, optimasales): record, deadlines, register.

>>> from datetime import datetime, timezone
>>> from crmcore.policies import IncidentPolicy
>>> detected = datetime(2026, 2, 27, 10, 0, tzinfo=timezone.utc)
>>> incident = Incident("INC-1", frozenset({IncidentType.LOSS}), DataCategory.ORDINARY, 40,
...                     "a laptop with contact lists was lost", detected, Risk.RISK)
>>> authority_deadline(incident, IncidentPolicy())  # 72 h later, across the month end
datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import attrs

from crmcore.dates import require_aware
from crmcore.errors import ValidationError, enum_member, short_repr
from crmcore.policies import IncidentPolicy

__all__ = [
    "AuthorityNotice",
    "DataCategory",
    "Incident",
    "IncidentRegister",
    "IncidentReport",
    "IncidentStatus",
    "IncidentType",
    "Risk",
    "authority_deadline",
    "incident_status",
    "subjects_must_be_told",
]


class IncidentType(enum.StrEnum):
    """GDPR-1 incident types."""

    UNAUTHORISED_ACCESS = "unauthorised_access"
    DISCLOSURE = "disclosure"
    LOSS = "loss"
    IMPROPER_PROCESSING = "improper_processing"
    SUSPECTED_INTRUSION = "suspected_intrusion"


class DataCategory(enum.StrEnum):
    ORDINARY = "ordinary"
    SPECIAL = "special"  # special categories of personal data


class Risk(enum.StrEnum):
    """The assessed risk to people's rights (GDPR-2, GDPR-3)."""

    NONE = "none"  # unlikely to put anyone's rights at risk: register only (GDPR-4)
    RISK = "risk"  # notify the authority within 72 h (GDPR-2)
    HIGH = "high"  # also tell the people affected (GDPR-3)


def _non_empty(_i: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError(
            f"must be text, got {short_repr(value)}", field=attribute.name, rule="GDPR-1"
        )
    if not value.strip():
        raise ValidationError("must not be empty", field=attribute.name, rule="GDPR-1")


_Choice = TypeVar("_Choice", IncidentType, DataCategory, Risk)


def _choice(value: object, kind: type[_Choice], field: str) -> _Choice:
    """``value`` as a member of ``kind``, its text accepted; else ``ValidationError`` (GDPR-1)."""
    return enum_member(value, kind, field, "GDPR-1")


def _types(value: object) -> frozenset[IncidentType]:
    # a bare text is one string, not a set of letters: ``"loss"`` is refused, not {l, o, s}
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"must be a set of incident types, got {short_repr(value)}",
            field="types",
            rule="GDPR-1",
        )
    return frozenset(_choice(item, IncidentType, "types") for item in value)


def _category(value: object) -> DataCategory:
    return _choice(value, DataCategory, "category")


def _risk(value: object) -> Risk:
    return _choice(value, Risk, "risk")


def _people(_i: object, _a: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"must be a whole number >= 0, got {short_repr(value)}",
            field="people_affected",
            rule="GDPR-1",
        )


def _aware(_i: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    require_aware(value, attribute.name)


@attrs.frozen
class Incident:
    """A personal-data incident (GDPR-1).

    ``types``, ``category`` and ``risk`` are the enums or their text (``"high"``, read as
    :attr:`Risk.HIGH`); an unknown value, a bare text for ``types`` or a ``people_affected``
    that is not a whole number >= 0 is a ``ValidationError`` naming the field (GDPR-1).
    """

    incident_id: str = attrs.field(validator=_non_empty)
    types: frozenset[IncidentType] = attrs.field(converter=_types)
    category: DataCategory = attrs.field(converter=_category)
    people_affected: int = attrs.field(validator=_people)
    consequences: str = attrs.field(validator=_non_empty)
    detected_at: datetime = attrs.field(validator=_aware)
    risk: Risk = attrs.field(converter=_risk)

    def __attrs_post_init__(self) -> None:
        if not self.types:
            raise ValidationError("name at least one incident type", field="types", rule="GDPR-1")


def authority_deadline(incident: Incident, policy: IncidentPolicy) -> datetime | None:
    """The instant by which the authority must be notified: 72 elapsed hours after detection
    when there is a risk (GDPR-2); ``None`` when no notification is required."""
    if incident.risk is Risk.NONE:
        return None
    # Elapsed hours, computed in UTC: Python's aware arithmetic within one zone is wall-clock
    # arithmetic and would be an hour off across a DST change.
    detected = incident.detected_at
    deadline = detected.astimezone(UTC) + timedelta(hours=policy.authority_deadline_hours)
    return deadline.astimezone(detected.tzinfo)


def subjects_must_be_told(incident: Incident) -> bool:
    """High risk: the people affected are told in plain language (GDPR-3)."""
    return incident.risk is Risk.HIGH


@attrs.frozen
class AuthorityNotice:
    """What the notice to the authority holds (GDPR-2)."""

    incident_id: str = attrs.field(validator=_non_empty)
    description: str = attrs.field(validator=_non_empty)
    contact: str = attrs.field(validator=_non_empty)
    impact: str = attrs.field(validator=_non_empty)
    remedies: str = attrs.field(validator=_non_empty)
    sent_at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class IncidentStatus:
    """Where an incident stands at ``as_of`` (GDPR-2, GDPR-3)."""

    authority_notice_required: bool
    deadline: datetime | None
    notified: bool
    overdue: bool  # the deadline has passed and no notice was sent in time
    late: bool  # a notice was sent, but after the deadline
    subjects_notice_required: bool
    rule: str = "GDPR-2"


def incident_status(
    incident: Incident,
    as_of: datetime,
    policy: IncidentPolicy,
    notice: AuthorityNotice | None = None,
) -> IncidentStatus:
    """The incident's notification status at ``as_of``; ``overdue`` once 72 h passed unreported.

    Decision: a notice sent exactly at the deadline is in time. A notice sent for another
    incident never counts as this one's: it is refused (``ValidationError`` on
    ``notice.incident_id``, GDPR-2).
    """
    now = require_aware(as_of, "as_of").astimezone(UTC)  # compare instants, not wall clocks
    if notice is not None and notice.incident_id != incident.incident_id:
        raise ValidationError(
            f"is the notice of {short_repr(notice.incident_id)}, not of "
            f"{short_repr(incident.incident_id)}",
            field="notice.incident_id",
            rule="GDPR-2",
        )
    deadline = authority_deadline(incident, policy)
    due = None if deadline is None else deadline.astimezone(UTC)
    sent_at = None if notice is None else notice.sent_at.astimezone(UTC)
    sent = sent_at is not None and sent_at <= now
    overdue = due is not None and not sent and now > due
    late = due is not None and sent_at is not None and sent and sent_at > due
    return IncidentStatus(
        authority_notice_required=deadline is not None,
        deadline=deadline,
        notified=sent,
        overdue=overdue,
        late=late,
        subjects_notice_required=subjects_must_be_told(incident),
    )


@attrs.frozen
class IncidentReport:
    """The register's report of one incident (GDPR-4)."""

    reported_on: date
    description: str = attrs.field(validator=_non_empty)
    actions: str = attrs.field(validator=_non_empty)
    impact_assessment: str = attrs.field(validator=_non_empty)


@attrs.frozen
class IncidentRegister:
    """Every incident with its report (GDPR-4); recording returns a new register."""

    entries: tuple[tuple[Incident, IncidentReport], ...] = ()

    def record(self, incident: Incident, report: IncidentReport) -> IncidentRegister:
        if any(known.incident_id == incident.incident_id for known, _ in self.entries):
            raise ValidationError(
                f"incident {incident.incident_id!r} is already registered",
                field="incident_id",
                rule="GDPR-4",
            )
        if report.reported_on < incident.detected_at.date():
            raise ValidationError(
                f"report dated {report.reported_on} before detection {incident.detected_at.date()}",
                field="reported_on",
                rule="GDPR-4",
            )
        return IncidentRegister((*self.entries, (incident, report)))

    def overdue(
        self, as_of: datetime, policy: IncidentPolicy, notices: dict[str, AuthorityNotice]
    ) -> tuple[Incident, ...]:
        """Registered incidents whose authority deadline passed without a notice (GDPR-2)."""
        return tuple(
            incident
            for incident, _ in self.entries
            if incident_status(incident, as_of, policy, notices.get(incident.incident_id)).overdue
        )
