"""GDPR-1..4: incident record, 72-hour authority deadline, subjects' notice, register."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import NaiveDatetimeError, ValidationError
from crmcore.incidents import (
    AuthorityNotice,
    DataCategory,
    Incident,
    IncidentRegister,
    IncidentReport,
    IncidentType,
    Risk,
    authority_deadline,
    incident_status,
    subjects_must_be_told,
)
from crmcore.presets import preset
from crmcore.testing.services import elapsed, incidents

POLICY = preset("optimasales").incident
WARSAW = ZoneInfo("Europe/Warsaw")


def incident(risk: Risk = Risk.RISK, detected: datetime | None = None, key: str = "I1") -> Incident:
    return Incident(
        key,
        frozenset({IncidentType.UNAUTHORISED_ACCESS, IncidentType.DISCLOSURE}),
        DataCategory.SPECIAL,
        120,
        "health data of 120 patients readable by a third party",
        detected or datetime(2028, 2, 27, 22, 30, tzinfo=WARSAW),
        risk,
    )


def notice(sent_at: datetime) -> AuthorityNotice:
    return AuthorityNotice(
        "I1", "shared link left public", "dpo@example.com", "120 people", "link revoked", sent_at
    )


def test_gdpr_1_record_validates_its_fields() -> None:
    """GDPR-1: types, category, people affected, consequences, aware detection time."""
    record = incident()
    assert record.types == {IncidentType.UNAUTHORISED_ACCESS, IncidentType.DISCLOSURE}
    with pytest.raises(ValidationError, match=r"types: .*GDPR-1"):
        Incident("I2", frozenset(), DataCategory.ORDINARY, 1, "x", record.detected_at, Risk.NONE)
    with pytest.raises(ValidationError, match=r"people_affected: .*-1.*GDPR-1"):
        Incident(
            "I2", {IncidentType.LOSS}, DataCategory.ORDINARY, -1, "x", record.detected_at, Risk.NONE
        )
    with pytest.raises(NaiveDatetimeError):
        Incident(
            "I2",
            {IncidentType.LOSS},
            DataCategory.ORDINARY,
            1,
            "x",
            datetime(2026, 1, 1),
            Risk.NONE,
        )


def test_GDPR_3_GDPR_2_risk_given_as_text_is_read_as_the_enum() -> None:
    """GDPR-3 / GDPR-2: "high" tells the people affected, "none" needs no authority notice."""
    high = incident("high")  # type: ignore[arg-type]
    none = incident("none")  # type: ignore[arg-type]
    assert high.risk is Risk.HIGH and subjects_must_be_told(high)
    assert none.risk is Risk.NONE and authority_deadline(none, POLICY) is None


def test_GDPR_1_incident_enums_given_as_text_are_read_as_the_enum() -> None:
    """GDPR-1: the types and category may be given as their text."""
    record = Incident(
        "I2",
        ["loss", "disclosure"],
        "special",
        3,
        "x",
        datetime(2026, 3, 28, 11, tzinfo=UTC),
        "risk",
    )  # type: ignore[arg-type]
    assert record.types == {IncidentType.LOSS, IncidentType.DISCLOSURE}
    assert record.category is DataCategory.SPECIAL and record.risk is Risk.RISK


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("types", "loss"),
        ("types", {"foo"}),
        ("types", 3),
        ("category", "bogus"),
        ("category", None),
        ("risk", "HIGH"),
        ("risk", None),
        ("people_affected", "12"),
        ("people_affected", True),
        ("people_affected", 1.5),
        ("consequences", None),
        ("incident_id", 7),
    ],
)
def test_GDPR_1_incident_fields_of_the_wrong_kind_are_refused(field: str, value: object) -> None:
    """GDPR-1: an unknown type, category or risk, a bare text for the types, a count that is
    not a whole number and a non-text description are ValidationErrors naming the field."""
    fields: dict[str, object] = {
        "incident_id": "I2",
        "types": {IncidentType.LOSS},
        "category": DataCategory.ORDINARY,
        "people_affected": 3,
        "consequences": "laptop lost",
        "detected_at": datetime(2026, 3, 28, 11, tzinfo=UTC),
        "risk": Risk.RISK,
    }
    fields[field] = value
    with pytest.raises(ValidationError) as caught:
        Incident(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field and caught.value.rule == "GDPR-1"


def test_gdpr_2_deadline_72_hours_after_detection_across_leap_day() -> None:
    """GDPR-2: detected 27 Feb 2028 22:30 Warsaw → 1 Mar 2028 22:30 (27→28→29 Feb→1 Mar)."""
    deadline = authority_deadline(incident(), POLICY)
    assert deadline == datetime(2028, 3, 1, 22, 30, tzinfo=WARSAW)


def test_gdpr_2_deadline_is_elapsed_hours_across_dst() -> None:
    """GDPR-2: 72 real hours; detected 28 Mar 2026 12:00 CET → 31 Mar 13:00 CEST (= 11:00 UTC)."""
    detected = datetime(2026, 3, 28, 12, 0, tzinfo=WARSAW)
    deadline = authority_deadline(incident(detected=detected), POLICY)
    assert deadline == datetime(2026, 3, 31, 11, 0, tzinfo=UTC)


def test_gdpr_2_no_risk_no_authority_notice() -> None:
    """GDPR-2: without risk to people's rights nothing goes to the authority."""
    assert authority_deadline(incident(Risk.NONE), POLICY) is None
    status = incident_status(incident(Risk.NONE), datetime(2030, 1, 1, tzinfo=UTC), POLICY)
    assert not status.authority_notice_required
    assert not status.overdue


def test_gdpr_2_overdue_when_deadline_passed_unreported() -> None:
    """GDPR-2: overdue one second after the deadline with no notice; on time at the deadline."""
    record = incident()
    deadline = datetime(2028, 3, 1, 22, 30, tzinfo=WARSAW)
    assert not incident_status(record, deadline, POLICY).overdue
    assert incident_status(record, deadline + timedelta(seconds=1), POLICY).overdue
    on_time = incident_status(record, deadline + timedelta(days=1), POLICY, notice(deadline))
    assert (on_time.notified, on_time.overdue, on_time.late) == (True, False, False)
    late_notice = notice(deadline + timedelta(hours=1))
    late = incident_status(record, deadline + timedelta(days=1), POLICY, late_notice)
    assert (late.notified, late.overdue, late.late) == (True, False, True)


def test_GDPR_2_notice_of_another_incident_does_not_notify_this_one() -> None:
    """GDPR-2: a notice sent for another incident never counts as this incident's: refused."""
    record = incident(key="INC-1")
    other = attrs.evolve(notice(record.detected_at), incident_id="INC-2")
    with pytest.raises(ValidationError, match=r"notice.incident_id: .*INC-2.*INC-1.*GDPR-2"):
        incident_status(record, datetime(2028, 3, 5, tzinfo=UTC), POLICY, other)


@given(st.integers(min_value=0, max_value=200 * 3600))
def test_gdpr_2_property_overdue_iff_past_72_hours(seconds: int) -> None:
    """GDPR-2 property: unreported, overdue exactly when more than 72 h have elapsed."""
    record = incident()
    as_of = record.detected_at + timedelta(seconds=seconds)
    assert incident_status(record, as_of, POLICY).overdue == (seconds > 72 * 3600)


def test_gdpr_3_high_risk_tells_the_people_affected() -> None:
    """GDPR-3: only a high risk requires telling the people affected."""
    assert subjects_must_be_told(incident(Risk.HIGH))
    assert not subjects_must_be_told(incident(Risk.RISK))
    as_of = datetime(2028, 2, 28, tzinfo=UTC)
    assert incident_status(incident(Risk.HIGH), as_of, POLICY).subjects_notice_required


def test_gdpr_2_authority_notice_holds_every_part() -> None:
    """GDPR-2: description, contact data, impact and remedies are all required."""
    with pytest.raises(ValidationError, match=r"remedies: must not be empty"):
        AuthorityNotice("I1", "d", "c", "i", " ", datetime(2028, 3, 1, tzinfo=UTC))


def test_gdpr_4_every_incident_registered_with_a_report() -> None:
    """GDPR-4: the register keeps each incident with its report, refuses duplicates, and
    lists the overdue ones."""
    report = IncidentReport(date(2028, 2, 28), "public link", "link revoked", "high, 120 people")
    register = IncidentRegister().record(incident(), report)
    register = register.record(incident(Risk.NONE, key="I2"), report)
    assert [entry.incident_id for entry, _ in register.entries] == ["I1", "I2"]
    with pytest.raises(ValidationError, match=r"incident_id: .*already registered.*GDPR-4"):
        register.record(incident(), report)
    with pytest.raises(ValidationError, match=r"reported_on: .*GDPR-4"):
        IncidentRegister().record(incident(), IncidentReport(date(2028, 2, 1), "a", "b", "c"))
    as_of = datetime(2028, 3, 5, tzinfo=UTC)
    assert [i.incident_id for i in register.overdue(as_of, POLICY, {})] == ["I1"]
    sent = {"I1": notice(datetime(2028, 2, 28, 9, 0, tzinfo=UTC))}
    assert register.overdue(as_of, POLICY, sent) == ()


@given(incidents(), st.integers(min_value=-10, max_value=100 * 3600))
def test_gdpr_2_property_deadline_is_72_elapsed_hours_in_any_zone(
    record: Incident, seconds: int
) -> None:
    """GDPR-2 property: in every zone, across DST, the deadline is exactly 72 elapsed hours,
    and an unreported incident is overdue exactly after it (none without risk)."""
    deadline = authority_deadline(record, POLICY)
    as_of = record.detected_at + timedelta(seconds=seconds)
    status = incident_status(record, as_of, POLICY)
    if record.risk is Risk.NONE:
        assert deadline is None and not status.overdue
        return
    assert deadline is not None
    assert elapsed(record.detected_at, deadline) == timedelta(hours=72)
    assert status.overdue == (elapsed(record.detected_at, as_of) > timedelta(hours=72))
