"""Vendor policies and presets: seed values, overrides, JSON/TOML files (RULES.md decisions)."""

from __future__ import annotations

import pickle
import tomllib
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import PolicyError, UnknownPreset, ValidationError
from crmcore.policies import (
    DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH,
    DEFAULT_CARD_DUE_DAYS,
    DEFAULT_TRANSFER_DUE_DAYS,
    MAX_POLICY_DAYS,
    MAX_POLICY_MONTHS,
    BackupPolicy,
    BillingPolicy,
    CopyRequester,
    DowngradeTiming,
    LimitsPolicy,
    SlaTier,
    TrialExpiry,
    TrialPolicy,
    TrialUnit,
    VendorPolicy,
    VerificationMethod,
    check_invoice_series,
    toml_document,
)
from crmcore.presets import PRESETS, preset
from crmcore.testing.strategies import policies


def test_raynet_preset_values_TRIAL_1_PAY_6_SLA_2_TIME_2() -> None:
    raynet = preset("raynet")
    assert (raynet.timezone, raynet.country, raynet.currency) == ("Europe/Prague", "CZ", "CZK")
    assert (raynet.trial.length, raynet.trial.unit) == (30, TrialUnit.DAYS)
    assert raynet.trial.conversion_grace_days == 15  # TRIAL-3
    assert (raynet.trial.on_expiry, raynet.trial.purge_after_days) == (TrialExpiry.PURGE, 90)
    assert raynet.trial.abuse_allowance == 1  # TRIAL-6 decision
    d = raynet.dunning
    assert (d.block_after_days, d.cancel_after_days, d.purge_after_days) == (3, 60, 150)
    assert raynet.billing.transfer_due_days == 14  # BILL-4
    assert raynet.billing.downgrade_takes_effect is DowngradeTiming.IMMEDIATELY  # PRO-6
    assert raynet.sla.target == Decimal("99.50")
    assert raynet.limits.record_warning_ratio == Decimal("0.9")  # REC-2
    assert raynet.business_calendar().country == "CZ"  # TIME-3


def test_sla_credit_tiers_compare_exact_values_SLA_2() -> None:
    sla = preset("raynet").sla
    assert sla.credit_ratio(Decimal("99.50")) == 0
    assert sla.credit_ratio(Decimal("99.499999")) == Decimal("0.35")
    assert sla.credit_ratio(Decimal("98.00")) == Decimal("0.35")
    assert sla.credit_ratio(Decimal("97.999")) == Decimal("0.50")
    assert preset("livespace").sla.credit_ratio(Decimal("50")) == 0  # SLA-7: no tiers


def test_polish_presets_TRIAL_1_TRIAL_4_TIME_2() -> None:
    livespace, chmiuro = preset("livespace"), preset("chmiuro")
    assert (livespace.trial.length, livespace.trial.unit) == (14, TrialUnit.DAYS)
    assert livespace.trial.on_expiry is TrialExpiry.BLOCK_THEN_PURGE
    assert livespace.trial.purge_after_days == 30  # TRIAL-4 decision
    assert livespace.sla.target == Decimal("99.98")  # SLA-7
    assert (chmiuro.trial.length, chmiuro.trial.unit) == (1, TrialUnit.MONTHS)
    assert chmiuro.trial.on_expiry is TrialExpiry.FREE_PLAN
    assert chmiuro.trial.top_plan_during_trial
    for name in ("livespace", "chmiuro", "smartmail", "optimasales"):
        assert (preset(name).timezone, preset(name).country) == ("Europe/Warsaw", "PL")
    assert preset("optimasales").incident.authority_deadline_hours == 72  # GDPR-2
    assert preset("smartmail").mail.max_message_bytes == 20 * 1024 * 1024  # MAIL-3
    calendar = preset("livespace").business_calendar()
    assert not calendar.is_business_day(date(2026, 6, 4))  # Corpus Christi, TIME-3


def test_unknown_preset_lists_known_names() -> None:
    with pytest.raises(UnknownPreset) as caught:
        preset("hubspot")
    assert str(caught.value) == (
        "preset: unknown preset 'hubspot' "
        "(known: chmiuro, livespace, optimasales, raynet, smartmail)"
    )
    assert isinstance(caught.value, LookupError)


def test_overrides_and_evolve_change_one_parameter_PAY_6() -> None:
    raynet = preset("raynet")
    changed = raynet.with_overrides({"dunning": {"block_after_days": 5}, "currency": "EUR"})
    assert changed.dunning.block_after_days == 5
    assert changed.dunning.cancel_after_days == 60
    assert changed.currency == "EUR"
    assert raynet.dunning.block_after_days == 3  # presets are frozen values
    evolved = attrs.evolve(raynet, trial=attrs.evolve(raynet.trial, length=45))
    assert evolved.trial.length == 45
    none_grace = raynet.with_overrides({"trial": {"conversion_grace_days": None}})
    assert none_grace.trial.conversion_grace_days is None


def test_overrides_with_unknown_parameters_list_every_bad_path() -> None:
    with pytest.raises(PolicyError) as caught:
        preset("raynet").with_overrides(
            {"dunning": {"block_days": 5}, "trial": {"lenght": 7, "length": 3}, "colour": "x"}
        )
    assert list(caught.value.errors) == [
        "$.overrides.dunning.block_days: unknown policy parameter",
        "$.overrides.trial.lenght: unknown policy parameter",
        "$.overrides.colour: unknown policy parameter",
    ]


def test_overrides_with_bad_values_list_every_bad_path_PAY_6() -> None:
    with pytest.raises(PolicyError) as caught:
        preset("raynet").with_overrides(
            {
                "dunning": {"block_after_days": 100},
                "trial": {"length": 0, "unit": "weeks"},
                "billing": {"transfer_due_days": "14"},
            }
        )
    assert list(caught.value.errors) == [
        "$.overrides.trial.unit: must be one of 'days', 'months', got 'weeks'",
        "$.overrides.billing.transfer_due_days: must be an integer, got '14'",
        "$.overrides.dunning: thresholds must increase: block < cancel < purge, "
        "got 100 / 60 / 150 (PAY-6)",
    ]
    with pytest.raises(
        PolicyError, match=r"\$.overrides.trial.length: must be > 0, got 0 \(TRIAL-1\)"
    ):
        preset("raynet").with_overrides({"trial": {"length": 0}})
    with pytest.raises(
        PolicyError, match=r"\$.overrides.timezone: unknown IANA time zone 'Mars/X'"
    ):
        preset("raynet").with_overrides({"timezone": "Mars/X"})


def test_policy_files_in_json_and_toml_keep_none_values(tmp_path: Path) -> None:
    livespace = preset("livespace")
    assert livespace.trial.conversion_grace_days is None
    for name in ("livespace.json", "livespace.toml"):
        path = tmp_path / name
        livespace.dump(path)
        assert VendorPolicy.load(path) == livespace
    toml_text = (tmp_path / "livespace.toml").read_text()
    assert 'null = [\n    "trial.conversion_grace_days",' in toml_text


def test_hand_written_toml_policy_with_null_paths() -> None:
    text = """
null = ["trial.purge_after_days"]
name = "acme"
timezone = "Europe/Warsaw"

[trial]
length = 7
on_expiry = "free_plan"
"""
    policy = VendorPolicy.from_dict(toml_document(text))
    assert policy.trial.length == 7
    assert policy.trial.purge_after_days is None
    assert policy.trial.on_expiry is TrialExpiry.FREE_PLAN
    assert policy.dunning == preset("raynet").dunning  # defaults = RULES.md values
    with pytest.raises(PolicyError, match=r"\$.null: must be a list of dotted paths"):
        toml_document('null = "trial.length"')
    with pytest.raises(PolicyError, match="not valid TOML"):
        VendorPolicy.loads_toml("name = ")


def test_policy_load_reports_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x", "timezone": "Europe/Warsaw", "trial": {"length": "7"}}')
    with pytest.raises(PolicyError) as caught:
        VendorPolicy.load(path)
    assert caught.value.errors == ("$.trial.length: must be an integer, got '7'",)
    restored = pickle.loads(pickle.dumps(caught.value))
    assert type(restored) is PolicyError
    assert restored.errors == caught.value.errors


@given(policies())
def test_to_dict_from_dict_round_trip(policy: VendorPolicy) -> None:
    assert VendorPolicy.from_dict(policy.to_dict()) == policy


@given(policies())
def test_json_and_toml_round_trip(policy: VendorPolicy) -> None:
    assert VendorPolicy.loads_json(policy.dumps_json()) == policy
    assert VendorPolicy.loads_toml(policy.dumps_toml()) == policy


def test_every_preset_round_trips() -> None:
    for policy in PRESETS.values():
        assert VendorPolicy.loads_toml(policy.dumps_toml()) == policy
        assert VendorPolicy.loads_json(policy.dumps_json()) == policy


def test_currency_and_country_are_validated_TIME_3_BILL_7() -> None:
    with pytest.raises(
        PolicyError, match=r"\$.overrides.currency: unknown ISO 4217 currency 'XXQ'"
    ):
        preset("raynet").with_overrides({"currency": "XXQ"})
    with pytest.raises(
        PolicyError, match=r"\$.overrides.country: no public-holiday data .* \(TIME-3\)"
    ):
        preset("raynet").with_overrides({"country": "XX"})


def test_override_files_in_toml_and_json(tmp_path: Path) -> None:
    toml_file = tmp_path / "overrides.toml"
    toml_file.write_text('null = ["trial.purge_after_days"]\n[trial]\nlength = 21\n')
    custom = preset("raynet").with_overrides_from(toml_file)
    assert (custom.trial.length, custom.trial.purge_after_days) == (21, None)
    assert custom.trial.conversion_grace_days == 15  # unchanged
    json_file = tmp_path / "overrides.json"
    json_file.write_text('{"sla": {"target": "99.9", "colour": 1}, "dunning": {"x": 1}}')
    with pytest.raises(PolicyError) as caught:
        preset("raynet").with_overrides_from(json_file)
    assert caught.value.errors == (
        "$.sla.colour: unknown policy parameter",
        "$.dunning.x: unknown policy parameter",
    )


# --- issue 13: every parameter has a bound; invoice series checked when built ------------------


@pytest.mark.parametrize(
    ("section", "name", "too_big", "rule"),
    [
        ("trial", "length", MAX_POLICY_DAYS + 1, "TRIAL-1"),
        ("trial", "conversion_grace_days", MAX_POLICY_DAYS + 1, "TRIAL-3"),
        ("trial", "purge_after_days", 10**30, "TRIAL-4"),
        ("billing", "transfer_due_days", 10**30, "BILL-4"),
        ("billing", "card_due_days", MAX_POLICY_DAYS + 1, "BILL-4"),
        ("billing", "annual_immediate_except_month", 13, "PRO-3"),
        ("dunning", "purge_after_days", MAX_POLICY_DAYS + 1, "PAY-6"),
        ("sla", "maintenance_lead_hours", 10**9, "SLA-4"),
        ("mail", "spam_retention_days", 10**9, "MAIL-2"),
        ("backup", "retention_days", 10**9, "BACKUP-1"),
        ("notice", "vendor_notice_months", MAX_POLICY_MONTHS + 1, "END-2"),
        ("incident", "authority_deadline_hours", 10**9, "GDPR-2"),
        ("limits", "esign_signing_window_days", 10**9, "SIGN-1"),
        ("limits", "api_monthly_transfer_gb", 2**51, "API-2"),
        ("limits", "support_minutes_per_user_month", 10**12, "SUP-1"),
        ("backup", "last_copy_window_days", 10**9, "BACKUP-3"),
    ],
)
def test_policy_parameters_are_bounded_when_the_policy_is_built(
    section: str, name: str, too_big: int, rule: str
) -> None:
    """``trial.length: 10**7`` used to raise OverflowError in the replay; now the policy is
    refused naming the path and the rule."""
    # each family on a preset that states it (raynet has no mailbox, no incident procedure)
    vendor = {"mail": "smartmail", "incident": "optimasales"}.get(section, "raynet")
    with pytest.raises(PolicyError) as caught:
        preset(vendor).with_overrides({section: {name: too_big}})
    (entry,) = caught.value.errors
    assert entry.startswith(f"$.overrides.{section}.{name}: must be ")
    assert entry.endswith(f"({rule})")


def test_a_trial_in_months_is_bounded_in_months_TRIAL_1() -> None:
    assert TrialPolicy(length=MAX_POLICY_MONTHS, unit=TrialUnit.MONTHS).length == 120
    with pytest.raises(ValidationError, match=r"^length: must be at most 120 months, got 121"):
        TrialPolicy(length=MAX_POLICY_MONTHS + 1, unit=TrialUnit.MONTHS)


def test_ratios_and_tiers_are_bounded_SLA_2_REC_2_TERM_1() -> None:
    with pytest.raises(ValidationError) as caught:
        SlaTier(Decimal("99.5"), Decimal("10.01"))
    assert (caught.value.field, caught.value.rule) == ("credit", "SLA-2")
    with pytest.raises(PolicyError, match=r"record_warning_ratio: must be in \(0, 1\]"):
        preset("raynet").with_overrides({"limits": {"record_warning_ratio": "0"}})
    with pytest.raises(PolicyError, match=r"term_discounts\[0\]\[1\]: must be below 1"):
        preset("raynet").with_overrides({"billing": {"term_discounts": [[12, "1"]]}})
    with pytest.raises(PolicyError, match=r"business_hours_end: must be after"):
        preset("raynet").with_overrides({"sla": {"business_hours_start": "18:00"}})


@pytest.mark.parametrize(
    "template",
    [
        "{foo}",
        "{number:s}",
        "{year}",
        "FV",
        "{number",
        "{number.real}",
        "{number[0]}",
        "{number:>999999999}",
        "{number:{year}}",
        "{0}",
        "{}",
        "{number:c}" * 30,
        "x" * 65,
    ],
)
def test_an_invoice_series_that_cannot_number_invoices_is_refused_BILL_6(template: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BillingPolicy(invoice_series=template)
    assert (caught.value.field, caught.value.rule) == ("invoice_series", "BILL-6")
    with pytest.raises(PolicyError, match=r"\$\.overrides\.billing\.invoice_series: .*\(BILL-6\)"):
        preset("raynet").with_overrides({"billing": {"invoice_series": template}})


@given(st.text(alphabet="{}:/year numb0-9dxefg%c<>!r.,_", max_size=20))
def test_an_accepted_series_numbers_every_invoice_distinctly_BILL_6(template: str) -> None:
    """A template is refused when built, or numbers 1..10**9 into distinct short texts."""
    try:
        check_invoice_series(template)
    except ValidationError as error:
        assert error.rule == "BILL-6"
        return
    numbers = [1, 2, 10, 9999, 123456788, 123456789, 10**9 - 1]
    texts = [template.format(year=2026, number=n) for n in numbers]
    assert len(set(texts)) == len(texts)
    assert all(len(text) <= 64 for text in texts)


def test_the_preset_series_is_accepted_BILL_6() -> None:
    assert check_invoice_series("{year}/{number:04d}") == "{year}/{number:04d}"
    assert all(check_invoice_series(p.billing.invoice_series) for p in PRESETS.values())


# --- presets state every value themselves (issue 13, section 4) ---------------------------------


def test_presets_are_built_without_any_class_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No preset takes a value from a policy class's defaults (raynet's values): presets.py is
    rebuilt with every policy class replaced by one that refuses a missing field."""
    import importlib

    import crmcore.policies as policies_module
    import crmcore.presets as presets_module

    missing: list[str] = []

    def strict(cls: type) -> object:
        names = [field.name for field in attrs.fields(cls)]

        def build(*args: object, **kwargs: object) -> object:
            given = set(names[: len(args)]) | set(kwargs)
            missing.extend(f"{cls.__name__}.{name}" for name in names if name not in given)
            return cls(*args, **kwargs)

        return build

    classes = [
        getattr(policies_module, name)
        for name in dir(policies_module)
        if isinstance(getattr(policies_module, name), type)
        and attrs.has(getattr(policies_module, name))
    ]
    assert {c.__name__ for c in classes} >= {"VendorPolicy", "TrialPolicy", "SlaTier"}
    try:
        with monkeypatch.context() as patch:
            for cls in classes:
                patch.setattr(policies_module, cls.__name__, strict(cls))
            rebuilt = importlib.reload(presets_module).PRESETS
    finally:
        importlib.reload(presets_module)
    assert missing == []
    assert rebuilt == presets_module.PRESETS


def test_presets_without_a_trial_have_none_not_raynets() -> None:
    """TRIAL-1: smartmail's and optimasales' seeds state no trial: ``None``, not raynet's
    30-day trial, 15-day grace and 90-day purge."""
    for name in ("smartmail", "optimasales"):
        assert preset(name).trial is None
    assert [n for n in PRESETS if preset(n).trial is not None] == ["raynet", "livespace", "chmiuro"]


def test_record_kinds_are_counted_only_where_a_record_limit_is_stated_REC_1_REC_5() -> None:
    """REC-1 (raynet's 15 kinds) is raynet's; livespace has no record limit (REC-5); chmiuro,
    smartmail and optimasales state none: nothing counted."""
    raynet = preset("raynet").limits.counted_record_kinds
    assert len(raynet) == 3 + 6 + 6  # contact base, sales, activities
    for name in ("livespace", "chmiuro", "smartmail", "optimasales"):
        assert preset(name).limits.counted_record_kinds == frozenset()


def test_every_preset_has_the_values_of_rules_md_and_its_seed() -> None:
    """Each family of each preset as RULES.md and the seed give it; ``None`` = not stated."""
    raynet, livespace, chmiuro, smartmail, optimasales = (
        preset(n) for n in ("raynet", "livespace", "chmiuro", "smartmail", "optimasales")
    )
    assert [(p.timezone, p.country, p.currency) for p in PRESETS.values()] == [
        ("Europe/Prague", "CZ", "CZK"),  # TIME-2, TIME-3
        *[("Europe/Warsaw", "PL", "PLN")] * 4,
    ]
    # TRIAL-1, TRIAL-3, TRIAL-4 (livespace's 30-day purge is the RULES.md decision)
    trials = {
        n: (t.length, t.unit, t.conversion_grace_days, t.on_expiry, t.purge_after_days)
        for n, p in PRESETS.items()
        if (t := p.trial) is not None
    }
    assert trials == {
        "raynet": (30, TrialUnit.DAYS, 15, TrialExpiry.PURGE, 90),
        "livespace": (14, TrialUnit.DAYS, None, TrialExpiry.BLOCK_THEN_PURGE, 30),
        "chmiuro": (1, TrialUnit.MONTHS, None, TrialExpiry.FREE_PLAN, None),
    }
    assert chmiuro.trial is not None and chmiuro.trial.top_plan_during_trial
    # PAY-6: raynet only
    assert raynet.dunning is not None
    assert (raynet.dunning.block_after_days, raynet.dunning.cancel_after_days) == (3, 60)
    assert raynet.dunning.purge_after_days == 150
    assert [n for n, p in PRESETS.items() if p.dunning is not None] == ["raynet"]
    # SLA-1/SLA-2 raynet, SLA-7 livespace, nobody else
    assert raynet.sla is not None and raynet.sla.target == Decimal("99.50")
    assert [(t.below, t.credit) for t in raynet.sla.tiers] == [
        (Decimal("99.50"), Decimal("0.35")),
        (Decimal("98.00"), Decimal("0.50")),
    ]
    assert livespace.sla is not None
    assert (livespace.sla.target, livespace.sla.tiers) == (Decimal("99.98"), ())
    assert [n for n, p in PRESETS.items() if p.sla is None] == [
        "chmiuro",
        "smartmail",
        "optimasales",
    ]
    # MAIL-1..3 smartmail only; GDPR-2 optimasales only; NOTICE/END-2 raynet only
    assert smartmail.mail is not None and smartmail.mail.max_attachments == 3
    assert [n for n, p in PRESETS.items() if p.mail is not None] == ["smartmail"]
    assert optimasales.incident is not None
    assert (optimasales.incident.authority_deadline_hours, optimasales.incident.authority_name) == (
        72,
        "UODO",
    )
    assert [n for n, p in PRESETS.items() if p.incident is not None] == ["optimasales"]
    assert raynet.notice is not None and raynet.notice.terms_change_days == 15
    assert [n for n, p in PRESETS.items() if p.notice is not None] == ["raynet"]
    # BACKUP-1: raynet daily from 02:00 kept 90 days; livespace 12 h / 24 h off-site;
    # smartmail daily, restorable from the previous day; chmiuro, optimasales state none.
    assert raynet.backup is not None and livespace.backup is not None
    assert smartmail.backup is not None
    assert (raynet.backup.local_interval_hours, raynet.backup.retention_days) == (24, 90)
    assert (livespace.backup.local_interval_hours, livespace.backup.offsite_interval_hours) == (
        12,
        24,
    )
    assert livespace.backup.free_advanced_exports == 1  # EXPORT-1
    assert livespace.backup.retention_days is None  # no period: any chosen day and hour
    assert (smartmail.backup.local_interval_hours, smartmail.backup.retention_days) == (24, 1)
    assert chmiuro.backup is None and optimasales.backup is None
    # BACKUP-1's 02:00 and BACKUP-2..4 are raynet's: livespace and smartmail state none
    for backup in (livespace.backup, smartmail.backup):
        assert (backup.first_backup_at, backup.free_copies_per_half_year) == (None, None)
        assert (backup.last_copy_window_days, backup.authorised_requesters) == (None, None)
    assert (raynet.backup.first_backup_at, raynet.backup.last_copy_window_days) == (time(2), 80)
    # API-2, SUP-1, SIGN-1 raynet's; STOR-1's linked files livespace's; nobody else states them
    limits = {
        n: (
            p.limits.api_monthly_transfer_gb,
            p.limits.api_remedy_business_days,
            p.limits.support_minutes_per_user_month,
            p.limits.esign_free_documents_per_month,
            p.limits.esign_signing_window_days,
            p.limits.esign_archive_years,
            p.limits.linked_files_count_toward_storage,
        )
        for n, p in PRESETS.items()
    }
    assert limits == {
        "raynet": (100, 5, 60, 4, 7, 3, None),
        "livespace": (None, None, None, None, None, None, False),
        **{n: (None,) * 7 for n in ("chmiuro", "smartmail", "optimasales")},
    }
    # BILL-4, PRO-3: raynet's 14 days, card at issue, 12th month (the other presets take
    # crmcore's Decisions: test_bill_4_and_pro_3_defaults_are_named_decisions)
    billing = raynet.billing
    assert (billing.transfer_due_days, billing.card_due_days) == (14, 0)
    assert billing.annual_immediate_except_month == 12


def test_overriding_a_family_a_preset_leaves_out_needs_every_parameter() -> None:
    """A family that is ``None`` (not stated) cannot be half-overridden: the rest would come
    from the class defaults, i.e. raynet's terms. Every missing path is named; a whole family
    is accepted, and so is ``None``."""
    with pytest.raises(PolicyError) as caught:
        preset("livespace").with_overrides({"dunning": {"block_after_days": 5}})
    assert caught.value.errors == (
        "$.overrides.dunning.cancel_after_days: required, livespace states no dunning terms",
        "$.overrides.dunning.purge_after_days: required, livespace states no dunning terms",
    )
    whole = {"block_after_days": 5, "cancel_after_days": 30, "purge_after_days": 90}
    dunning = preset("livespace").with_overrides({"dunning": whole}).dunning
    assert dunning is not None and dunning.block_after_days == 5
    assert preset("raynet").with_overrides({"mail": None}).mail is None
    assert preset("raynet").with_overrides({"trial": {"length": 7}}).trial == attrs.evolve(
        preset("raynet").trial, length=7
    )


def test_backups_of_presets_that_state_none_or_no_retention_BACKUP_1() -> None:
    """BACKUP-1: chmiuro and optimasales state no backups: none listed; livespace states no
    retention period, so a backup of 15 Jan 2026 can still be restored a year later (once
    the vendor sets the hour its schedule starts, which the seed does not state); raynet's
    is gone after 90 days."""
    from datetime import UTC, datetime, timedelta

    from crmcore.backups import backup_times, restore_points

    day = date(2026, 1, 15)
    later = datetime(2027, 1, 15, tzinfo=UTC)
    for name in ("chmiuro", "optimasales"):
        assert backup_times(day, preset(name)) == ()
        assert restore_points(day, later, preset(name)) == ()
    livespace = preset("livespace").with_overrides({"backup": {"first_backup_at": "03:00"}})
    assert len(restore_points(day, later, livespace)) == 3  # 03:00 x2, 15:00
    assert restore_points(day, later, preset("raynet")) == ()
    taken = backup_times(day, preset("raynet"))[0][0]
    assert restore_points(day, taken + timedelta(days=89), preset("raynet")) != ()


#: Parameters only one vendor's terms state (RULES.md and the seeds): the presets of the others
#: have ``None`` (not stated), never the stating vendor's value.
ONE_VENDOR_TERMS: dict[tuple[str, str], tuple[str, object]] = {
    ("limits", "api_monthly_transfer_gb"): ("raynet", 100),  # API-2
    ("limits", "api_remedy_business_days"): ("raynet", 5),  # API-2
    ("limits", "support_minutes_per_user_month"): ("raynet", 60),  # SUP-1
    ("limits", "esign_free_documents_per_month"): ("raynet", 4),  # SIGN-1
    ("limits", "esign_signing_window_days"): ("raynet", 7),  # SIGN-1
    ("limits", "esign_archive_years"): ("raynet", 3),  # SIGN-1
    ("limits", "linked_files_count_toward_storage"): ("livespace", False),  # STOR-1
    ("backup", "first_backup_at"): ("raynet", time(2, 0)),  # BACKUP-1: from 02:00
    ("backup", "backs_up_inactive_tenants"): ("raynet", True),  # BACKUP-1
    ("backup", "free_copies_per_half_year"): ("raynet", 1),  # BACKUP-2
    ("backup", "last_copy_window_days"): ("raynet", 80),  # BACKUP-3
    ("backup", "authorised_requesters"): ("raynet", frozenset(CopyRequester)),  # BACKUP-4
    ("backup", "accepted_methods"): ("raynet", frozenset(VerificationMethod)),  # BACKUP-4
}


@pytest.mark.parametrize(("family", "field"), sorted(ONE_VENDOR_TERMS))
def test_a_term_one_vendor_states_is_none_in_every_other_preset_API_2_SUP_1_SIGN_1_BACKUP_2(
    family: str, field: str
) -> None:
    """API-2, SUP-1, SIGN-1, BACKUP-1..4 are raynet's, STOR-1's linked files livespace's: a
    preset whose seed does not state one has ``None``, not the other vendor's value."""
    stating, value = ONE_VENDOR_TERMS[(family, field)]
    found = {
        name: getattr(part, field)
        for name, p in PRESETS.items()
        if (part := getattr(p, family)) is not None
    }
    assert found == {name: value if name == stating else None for name in found}


#: Where a preset of another vendor may hold the value raynet's preset holds: a RULES.md
#: Decision (crmcore's own, the same for every vendor), an empty list, or the vendor's own seed.
SHARED_WITH_RAYNET = {
    "billing.transfer_due_days": "BILL-4 Decision DEFAULT_TRANSFER_DUE_DAYS",
    "billing.card_due_days": "BILL-4 Decision DEFAULT_CARD_DUE_DAYS",
    "billing.annual_immediate_except_month": "PRO-3 Decision DEFAULT_ANNUAL_IMMEDIATE_...",
    "billing.downgrade_takes_effect": "PRO-6 Decision",
    "billing.invoice_series": "BILL-6 Decision",
    "billing.correction_series": "BILL-6 Decision (crmcore's: KOR/{year}/{number:04d})",
    "billing.term_discounts": "empty: no discount table",
    "limits.record_warning_ratio": "REC-2 Decision",
    "limits.uncounted_record_kinds": "empty: no kinds declared",
    "trial.abuse_allowance": "TRIAL-6 Decision",
    "sla.business_hours_start": "SLA-4 Decision",
    "sla.business_hours_end": "SLA-4 Decision",
    "sla.maintenance_lead_hours": "SLA-4 Decision",
}
OWN_SEED = {
    "livespace": {"trial.unit", "trial.top_plan_during_trial"},  # TRIAL-1: 14 days
    "smartmail": {
        "backup.local_interval_hours",  # "raz dziennie": once a day
        "backup.free_advanced_exports",  # EXPORT-1 is livespace's: none free
    },
}


def _leaves(value: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(value, dict):
        return {prefix[:-1]: value}
    leaves: dict[str, object] = {}
    for key, item in value.items():
        leaves.update(_leaves(item, f"{prefix}{key}."))
    return leaves


def test_no_preset_holds_a_raynet_value_that_is_not_a_decision_or_its_own() -> None:
    """A value another preset shares with raynet is a RULES.md Decision or stated by that
    vendor's own seed; a value copied from raynet's terms (API-2's 100 GB, SUP-1's hour,
    BACKUP-3's 80 days, ...) fails here."""
    raynet = _leaves(preset("raynet").to_dict())
    for name, policy in PRESETS.items():
        if name == "raynet":
            continue
        own = _leaves(policy.to_dict())
        shared = {
            path
            for path, value in own.items()
            if value is not None and path.count(".") == 1 and raynet.get(path) == value
        }
        assert shared - set(SHARED_WITH_RAYNET) - OWN_SEED.get(name, set()) == set(), name


def test_a_borrowed_value_is_caught_API_2() -> None:
    """The check above fails on a preset given raynet's API-2 100 GB (it cannot pass on any
    policy): the same comparison on a livespace that borrowed it names the path."""
    raynet = _leaves(preset("raynet").to_dict())
    borrowed = attrs.evolve(
        preset("livespace"),
        limits=attrs.evolve(preset("livespace").limits, api_monthly_transfer_gb=100),
    )
    shared = {
        path
        for path, value in _leaves(borrowed.to_dict()).items()
        if value is not None and path.count(".") == 1 and raynet.get(path) == value
    }
    assert shared - set(SHARED_WITH_RAYNET) - OWN_SEED["livespace"] == {
        "limits.api_monthly_transfer_gb"
    }


def test_bill_4_and_pro_3_defaults_are_named_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """BILL-4's 14 days and card at issue and PRO-3's 12th month are raynet's; the other
    presets take crmcore's named Decisions, not a literal copy: changing a constant and
    rebuilding the presets moves them and leaves raynet's own values alone."""
    import importlib

    import crmcore.policies as policies_module
    import crmcore.presets as presets_module

    assert (DEFAULT_TRANSFER_DUE_DAYS, DEFAULT_CARD_DUE_DAYS) == (14, 0)
    assert DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH == 12
    assert BillingPolicy() == BillingPolicy(
        transfer_due_days=DEFAULT_TRANSFER_DUE_DAYS,
        card_due_days=DEFAULT_CARD_DUE_DAYS,
        annual_immediate_except_month=DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH,
    )
    try:
        with monkeypatch.context() as patch:
            patch.setattr(policies_module, "DEFAULT_TRANSFER_DUE_DAYS", 21)
            patch.setattr(policies_module, "DEFAULT_CARD_DUE_DAYS", 2)
            patch.setattr(policies_module, "DEFAULT_ANNUAL_IMMEDIATE_EXCEPT_MONTH", 11)
            rebuilt = importlib.reload(presets_module).PRESETS
    finally:
        importlib.reload(presets_module)
    billing = {
        n: (b.transfer_due_days, b.card_due_days, b.annual_immediate_except_month)
        for n, p in rebuilt.items()
        if (b := p.billing)
    }
    assert billing == {
        "raynet": (14, 0, 12),  # BILL-4, PRO-3: raynet's own
        **{n: (21, 2, 11) for n in ("livespace", "chmiuro", "smartmail", "optimasales")},
    }


def test_terms_not_stated_round_trip_as_null_in_json_and_toml(tmp_path: Path) -> None:
    """API-2, SUP-1, SIGN-1, STOR-1, BACKUP-1..4 left out (``None``) come back as ``None``
    from JSON (``null``) and TOML (the ``null`` list), not as the class defaults (raynet's)."""
    for name in ("livespace", "smartmail"):
        policy = preset(name)
        data = policy.to_dict()
        assert data["limits"]["api_monthly_transfer_gb"] is None
        assert data["backup"]["authorised_requesters"] is None
        assert '"support_minutes_per_user_month": null' in policy.dumps_json()
        for suffix in ("json", "toml"):
            path = tmp_path / f"{name}.{suffix}"
            policy.dump(path)
            assert VendorPolicy.load(path) == policy
        nulls = tomllib.loads(policy.dumps_toml())["null"]
        assert {
            "limits.api_monthly_transfer_gb",
            "limits.support_minutes_per_user_month",
            "limits.esign_archive_years",
            "backup.first_backup_at",
            "backup.free_copies_per_half_year",
            "backup.accepted_methods",
        } <= set(nulls)
        # STOR-1: livespace states that linked files do not count; smartmail states nothing
        linked = "limits.linked_files_count_toward_storage" in nulls
        assert linked is (name == "smartmail")


def test_a_term_left_out_may_be_set_and_unset_by_override_API_2_BACKUP_4() -> None:
    """Overrides set a term a preset leaves out (livespace's own API-2 limit) and leave one
    out again (``None``); the bounds still refuse a bad value, naming the rule."""
    livespace = preset("livespace").with_overrides(
        {"limits": {"api_monthly_transfer_gb": 50}, "backup": {"accepted_methods": ["data_box"]}}
    )
    assert livespace.limits.api_monthly_transfer_gb == 50
    assert livespace.backup is not None
    assert livespace.backup.accepted_methods == frozenset({VerificationMethod.DATA_BOX})
    raynet = preset("raynet").with_overrides(
        {"limits": {"support_minutes_per_user_month": None}, "backup": {"first_backup_at": None}}
    )
    assert raynet.limits.support_minutes_per_user_month is None
    assert raynet.backup is not None and raynet.backup.first_backup_at is None
    assert LimitsPolicy(api_monthly_transfer_gb=None).api_monthly_transfer_gb is None
    assert BackupPolicy(authorised_requesters=None).authorised_requesters is None
    with pytest.raises(PolicyError) as caught:
        preset("livespace").with_overrides({"limits": {"api_remedy_business_days": -1}})
    assert caught.value.errors == (
        "$.overrides.limits.api_remedy_business_days: must be >= 0, got -1 (API-2)",
    )
