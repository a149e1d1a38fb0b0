"""BACKUP-1..4 and EXPORT-1."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.backups import (
    BackupKind,
    CopyRequest,
    CustomerNarrowing,
    advanced_export_charge,
    authorise_request,
    backup_times,
    copy_charge,
    half_year_of,
    last_copy_charge,
    restore_points,
)
from crmcore.errors import BackupRefused, RequestNotAuthorised, TermNotStated, ValidationError
from crmcore.money import Money
from crmcore.policies import CopyRequester, VerificationMethod
from crmcore.presets import preset

RAYNET = preset("raynet")
LIVESPACE = preset("livespace")
PRICE = Money.of("490.00", "CZK")
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def test_backup_1_raynet_daily_at_two_prague_time() -> None:
    """BACKUP-1: one local backup a day at 02:00 Europe/Prague (01:00 UTC in winter)."""
    assert backup_times(date(2026, 1, 15), RAYNET) == (
        (datetime(2026, 1, 15, 1, 0, tzinfo=UTC), BackupKind.LOCAL),
    )
    # summer time: 02:00 CEST = 00:00 UTC
    ((at, _),) = backup_times(date(2026, 7, 15), RAYNET)
    assert at == datetime(2026, 7, 15, 0, 0, tzinfo=UTC)


def test_backup_1_the_spring_forward_backup_shows_the_time_the_clocks_showed() -> None:
    """BACKUP-1 on 29 Mar 2026 (Prague skips 02:00-03:00): the 02:00 backup runs at the
    instant 02:00 CET names, 01:00 UTC, shown as 03:00 CEST (+02:00), a time the clocks did
    show, not as 02:00+01:00, one they never did. On 25 Oct (02:00 comes twice) it is the
    first 02:00, CEST: 00:00 UTC."""
    ((spring, _),) = backup_times(date(2026, 3, 29), RAYNET)
    assert spring == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert (spring.hour, spring.utcoffset()) == (3, timedelta(hours=2))
    assert spring.isoformat() == "2026-03-29T03:00:00+02:00"
    ((autumn, _),) = backup_times(date(2026, 10, 25), RAYNET)
    assert autumn.isoformat() == "2026-10-25T02:00:00+02:00"
    # (an ambiguous wall time never compares equal across zones, PEP 495: compare in UTC)
    assert autumn.astimezone(UTC) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)


def test_backup_1_livespace_12h_local_24h_offsite() -> None:
    """BACKUP-1: livespace local every 12 hours, off-site every 24 hours, from the hour the
    vendor sets (its seed states none; 03:00 here, not raynet's 02:00)."""
    livespace = LIVESPACE.with_overrides({"backup": {"first_backup_at": "03:00"}})
    runs = backup_times(date(2026, 1, 15), livespace)
    assert [(at.astimezone(UTC).hour, kind) for at, kind in runs] == [
        (2, BackupKind.LOCAL),  # 03:00 CET
        (2, BackupKind.OFFSITE),
        (14, BackupKind.LOCAL),  # 15:00 CET
    ]


@pytest.mark.parametrize("name", ["livespace", "smartmail"])
def test_backup_1_a_vendor_stating_no_backup_hour_is_refused_not_given_raynets(name: str) -> None:
    """BACKUP-1: livespace (every 12 h) and smartmail (daily) state no hour; raynet's 02:00
    is not borrowed: listing the backups or the restore points names the parameter."""
    day, now = date(2026, 1, 15), datetime(2026, 1, 16, tzinfo=UTC)
    for ask in (
        lambda: backup_times(day, preset(name)),
        lambda: restore_points(day, now, preset(name)),
    ):
        with pytest.raises(TermNotStated) as caught:
            ask()
        assert (caught.value.field, caught.value.rule) == ("backup.first_backup_at", "BACKUP-1")
        assert str(caught.value) == (
            f"backup.first_backup_at: {name} states no BACKUP-1 hour at which its backup "
            "schedule starts (None); set the parameter to use this (BACKUP-1)"
        )


def test_backup_1_restore_points_kept_90_days() -> None:
    """BACKUP-1: the 1 Jan backup is restorable until 02:00 on 1 Apr (90 days later)."""
    day = date(2026, 1, 1)
    taken = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert restore_points(day, taken - timedelta(seconds=1), RAYNET) == ()  # not yet taken
    assert restore_points(day, taken, RAYNET) == ((taken, BackupKind.LOCAL),)
    # 1 Jan + 90 days = 1 Apr (31 + 28 + 31 = 90); 02:00 CEST = 00:00 UTC
    expiry = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert restore_points(day, expiry - timedelta(seconds=1), RAYNET) == (
        (taken, BackupKind.LOCAL),
    )
    assert restore_points(day, expiry, RAYNET) == ()


def test_backup_1_inactive_tenants_backed_up() -> None:
    """BACKUP-1: blocked, cancelled and awaiting-purge instances are backed up too."""
    assert RAYNET.backup.backs_up_inactive_tenants


@pytest.mark.parametrize(
    ("day", "first", "last"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), date(2026, 6, 30)),
        (date(2026, 6, 30), date(2026, 1, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 7, 1), date(2026, 12, 31)),
        (date(2028, 12, 31), date(2028, 7, 1), date(2028, 12, 31)),
    ],
)
def test_backup_2_calendar_half_years(day: date, first: date, last: date) -> None:
    """BACKUP-2 decision: Jan-Jun and Jul-Dec."""
    window = half_year_of(day)
    assert (window.first_day, window.last_day) == (first, last)


def test_backup_2_one_free_copy_per_half_year_then_price_list() -> None:
    """BACKUP-2: first copy in Jan-Jun free, second priced; a July copy is free again."""
    first = copy_charge(date(2026, 2, 10), [], PRICE, RAYNET.backup)
    assert (first.free, first.price, first.used, first.allowance) == (
        True,
        Money.zero("CZK"),
        0,
        1,
    )
    earlier = [CopyRequest(date(2026, 2, 10), free=True)]
    second = copy_charge(date(2026, 6, 30), earlier, PRICE, RAYNET.backup)
    assert (second.free, second.price, second.rule) == (
        False,
        Money.of("490.00", "CZK"),
        "BACKUP-2",
    )
    third = copy_charge(date(2026, 7, 1), earlier, PRICE, RAYNET.backup)
    assert third.free


@given(DAYS, st.lists(DAYS, max_size=6))
def test_backup_2_property_free_iff_no_free_copy_in_same_half_year(
    day: date, earlier_days: list[date]
) -> None:
    """BACKUP-2 property: free exactly when no free copy fell in the same half-year."""
    earlier = [CopyRequest(d, free=True) for d in earlier_days]
    charge = copy_charge(day, earlier, PRICE, RAYNET.backup)
    same = [d for d in earlier_days if d.year == day.year and (d.month <= 6) == (day.month <= 6)]
    assert charge.free == (not same)
    assert charge.price == (Money.zero("CZK") if charge.free else PRICE)


def test_backup_3_last_copy_free_within_80_days() -> None:
    """BACKUP-3: ended 31 Jan 2026 → free through 21 Apr 2026 (28 + 31 + 21 = 80 days)."""
    ended = date(2026, 1, 31)
    charge = last_copy_charge(ended, date(2026, 4, 21), PRICE, RAYNET.backup)
    assert (charge.free, charge.rule, charge.window.last_day) == (
        True,
        "BACKUP-3",
        date(2026, 4, 21),
    )
    with pytest.raises(
        BackupRefused, match=r"80 days .*2026-01-31.*2026-04-21.*2026-04-22.*BACKUP-3"
    ):
        last_copy_charge(ended, date(2026, 4, 22), PRICE, RAYNET.backup)


@given(DAYS, st.integers(min_value=0, max_value=200))
def test_backup_3_property_window(ended: date, after: int) -> None:
    """BACKUP-3 property: free for 0..80 days after the end, refused from day 81."""
    requested = ended + timedelta(days=after)
    if after <= 80:
        assert last_copy_charge(ended, requested, PRICE, RAYNET.backup).free
    else:
        with pytest.raises(BackupRefused):
            last_copy_charge(ended, requested, PRICE, RAYNET.backup)


def test_backup_4_authorised_people_and_methods() -> None:
    """BACKUP-4: a board member of a legal person by data box is honoured; a proxy by e-mail
    is not (method); a board member of a natural person's contract is not (person)."""
    policy = RAYNET.backup
    authorise_request(
        CopyRequester.BOARD_MEMBER,
        VerificationMethod.DATA_BOX,
        policy,
        customer_is_legal_person=True,
    )
    with pytest.raises(RequestNotAuthorised, match=r"requester: .*board_member.*BACKUP-4"):
        authorise_request(CopyRequester.BOARD_MEMBER, VerificationMethod.DATA_BOX, policy)
    authorise_request(CopyRequester.CUSTOMER, VerificationMethod.ONLINE_SIGNATURE, policy)


@pytest.mark.parametrize(("requester", "legal"), [("customer", True), ("board_member", False)])
def test_BACKUP_4_requester_given_as_text_gets_the_same_answer_as_the_enum(
    requester: str, legal: bool
) -> None:
    """BACKUP-4: a legal person's "customer" and a natural person's board member are refused,
    whether the requester is the enum member or its text."""
    policy = RAYNET.backup
    for value in (CopyRequester(requester), requester):
        with pytest.raises(RequestNotAuthorised, match=rf"requester: .*{requester}.*BACKUP-4"):
            authorise_request(
                value,  # type: ignore[arg-type]
                VerificationMethod.DATA_BOX,
                policy,
                customer_is_legal_person=legal,
            )
    authorise_request("customer", "data_box", policy)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requester", "method", "field"),
    [
        ("hacker", VerificationMethod.DATA_BOX, "requester"),
        (None, VerificationMethod.DATA_BOX, "requester"),
        (CopyRequester.CUSTOMER, "fax", "method"),
        (CopyRequester.CUSTOMER, 3, "method"),
    ],
)
def test_BACKUP_4_unknown_requester_or_method_is_a_typed_error(
    requester: object, method: object, field: str
) -> None:
    """BACKUP-4: an unknown requester or method is a ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        authorise_request(requester, method, RAYNET.backup)  # type: ignore[arg-type]
    assert caught.value.field == field and caught.value.rule == "BACKUP-4"


def test_backup_4_customer_narrows_people_and_methods() -> None:
    """BACKUP-4: the customer accepts only board members with a qualified e-signature."""
    narrowing = CustomerNarrowing(
        requesters=frozenset({CopyRequester.BOARD_MEMBER}),
        methods=frozenset({VerificationMethod.QUALIFIED_ESIGNATURE_WITH_TIMESTAMP}),
    )
    policy = RAYNET.backup
    authorise_request(
        CopyRequester.BOARD_MEMBER,
        VerificationMethod.QUALIFIED_ESIGNATURE_WITH_TIMESTAMP,
        policy,
        narrowing,
        customer_is_legal_person=True,
    )
    with pytest.raises(RequestNotAuthorised, match=r"method: .*data_box.*accepted: qualified"):
        authorise_request(
            CopyRequester.BOARD_MEMBER,
            VerificationMethod.DATA_BOX,
            policy,
            narrowing,
            customer_is_legal_person=True,
        )
    with pytest.raises(RequestNotAuthorised, match=r"requester: .*proxy.*accepted: board_member"):
        authorise_request(
            CopyRequester.PROXY,
            VerificationMethod.QUALIFIED_ESIGNATURE_WITH_TIMESTAMP,
            policy,
            narrowing,
            customer_is_legal_person=True,
        )


def test_export_1_one_free_advanced_export_for_paying_customers() -> None:
    """EXPORT-1: livespace: the first advanced export of a non-trial customer is free."""
    policy = LIVESPACE.backup
    assert advanced_export_charge(False, 0, policy).free
    assert advanced_export_charge(False, 0, policy).free_left_after == 0
    assert not advanced_export_charge(False, 1, policy).free
    assert not advanced_export_charge(True, 0, policy).free  # trial customers pay
    assert not advanced_export_charge(False, 0, RAYNET.backup).free  # raynet: no free export


def test_backup_4_policy_lists_round_trip_and_override_by_name() -> None:
    """BACKUP-4 parameters load from JSON names; an unknown method is refused by path."""
    import json

    from crmcore.errors import PolicyError
    from crmcore.policies import VendorPolicy

    assert VendorPolicy.from_dict(json.loads(json.dumps(LIVESPACE.to_dict()))) == LIVESPACE
    narrowed = RAYNET.with_overrides({"backup": {"accepted_methods": ["data_box"]}})
    assert narrowed.backup.accepted_methods == {VerificationMethod.DATA_BOX}
    with pytest.raises(
        PolicyError,
        match=r"\$\.overrides\.backup\.accepted_methods\[0\]: must be one of .*got 'fax'",
    ):
        RAYNET.with_overrides({"backup": {"accepted_methods": ["fax"]}})


@pytest.mark.parametrize("hours", [0, 25, -1])
def test_backup_1_interval_must_fit_a_day(hours: int) -> None:
    """BACKUP-1: intervals are 1..24 hours (a zero interval would never advance)."""
    import attrs

    from crmcore.errors import ValidationError

    with pytest.raises(
        ValidationError, match=rf"local_interval_hours: must be 1\.\.24 hours, got {hours}"
    ):
        attrs.evolve(RAYNET.backup, local_interval_hours=hours)


@pytest.mark.parametrize("name", ["livespace", "smartmail"])
def test_backup_2_to_4_a_vendor_stating_none_is_refused_not_given_raynets(name: str) -> None:
    """BACKUP-2..4 are raynet's (1 free copy per half-year, the last copy free within 80 days,
    the lists of who may ask and how): livespace and smartmail state none, so pricing a copy,
    the last copy and authorising a request raise TermNotStated naming the parameter."""
    policy = preset(name).backup
    assert policy is not None
    cases = [
        (
            lambda: copy_charge(date(2026, 2, 10), [], PRICE, policy),
            "free_copies_per_half_year",
            "BACKUP-2",
        ),
        (
            lambda: last_copy_charge(date(2026, 1, 31), date(2026, 2, 1), PRICE, policy),
            "last_copy_window_days",
            "BACKUP-3",
        ),
        (
            lambda: authorise_request(CopyRequester.CUSTOMER, VerificationMethod.DATA_BOX, policy),
            "authorised_requesters",
            "BACKUP-4",
        ),
    ]
    for ask, field, rule in cases:
        with pytest.raises(TermNotStated) as caught:
            ask()
        assert (caught.value.field, caught.value.rule) == (f"backup.{field}", rule)
        assert f"states no {rule} " in str(caught.value)
    people = attrs.evolve(policy, authorised_requesters=frozenset(CopyRequester))
    with pytest.raises(TermNotStated) as caught:
        authorise_request(CopyRequester.CUSTOMER, VerificationMethod.DATA_BOX, people)
    assert (caught.value.field, caught.value.rule) == ("backup.accepted_methods", "BACKUP-4")
