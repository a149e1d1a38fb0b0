"""Trial lengths, conversion grace, purge and abuse (TRIAL-1..6)."""

from __future__ import annotations

from datetime import datetime

import pytest

from crmcore.dates import zone
from crmcore.errors import TrialError
from crmcore.presets import preset
from crmcore.tenancy.trials import (
    check_trial_allowed,
    conversion_deadline,
    normalise_identity,
    purge_at,
    trial_end,
)

WARSAW = zone("Europe/Warsaw")


def test_trial_1_dst_never_shortens_the_trial() -> None:
    """Created 5 Oct 09:00 Warsaw (+02:00); clocks go back 25 Oct; ends 4 Nov 09:00 (+01:00)."""
    created = datetime(2026, 10, 5, 9, 0, tzinfo=zone("Europe/Warsaw"))
    end = trial_end(created, preset("livespace").with_overrides({"trial": {"length": 30}}))
    assert end.isoformat() == "2026-11-04T09:00:00+01:00"
    elapsed = end.astimezone(zone("UTC")) - created.astimezone(zone("UTC"))
    assert elapsed.total_seconds() == 30 * 86400 + 3600


def test_trial_1_the_instant_is_read_in_the_vendor_zone() -> None:
    """23:30 UTC on 4 Jan is 00:30 on 5 Jan in Prague: the trial ends 4 Feb 00:30 Prague."""
    created = datetime.fromisoformat("2026-01-04T23:30:00+00:00")
    assert trial_end(created, preset("raynet")).isoformat() == "2026-02-04T00:30:00+01:00"


def test_trial_1_chmiuro_one_month_clamps_to_month_end_time_4() -> None:
    created = datetime.fromisoformat("2028-01-31T10:00:00+01:00")
    assert trial_end(created, preset("chmiuro")).isoformat() == "2028-02-29T10:00:00+01:00"


def test_trial_3_raynet_grace_and_trial_4_purge() -> None:
    created = datetime.fromisoformat("2026-01-05T09:00:00+01:00")
    raynet = preset("raynet")
    assert conversion_deadline(created, raynet).isoformat() == "2026-02-19T09:00:00+01:00"
    purge = purge_at(created, raynet)
    assert purge is not None and purge.isoformat() == "2026-05-05T09:00:00+02:00"
    assert purge_at(created, preset("chmiuro")) is None  # TRIAL-4: chmiuro deletes nothing
    livespace = preset("livespace")
    assert conversion_deadline(created, livespace) == trial_end(created, livespace)


def test_trial_6_abuse_allowance_is_a_parameter() -> None:
    raynet = preset("raynet")
    with pytest.raises(TrialError, match="TRIAL-6"):
        check_trial_allowed("Ann@Acme.cz", ["bob@acme.CZ"], raynet)
    generous = raynet.with_overrides({"trial": {"abuse_allowance": 2}})
    check_trial_allowed("ann@acme.cz", ["bob@acme.cz"], generous)
    check_trial_allowed("CZ123", ["CZ124"], raynet)


def test_trial_6_a_tax_id_is_one_identity_however_it_is_spaced() -> None:
    """TRIAL-6: "CZ12345678" after "CZ 1234 5678" (or "cz-1234-5678") is the same tax ID, a
    second trial refused; a domain given alone keeps its hyphen (my-shop.cz is not
    myshop.cz); an e-mail counts by its domain."""
    raynet = preset("raynet")
    for earlier in ("CZ 1234 5678", "cz-1234-5678", " CZ12345678\t"):
        with pytest.raises(TrialError, match="TRIAL-6"):
            check_trial_allowed("CZ12345678", [earlier], raynet)
    assert normalise_identity("CZ 1234-5678") == "cz12345678"
    assert normalise_identity("My-Shop.cz") == "my-shop.cz" != normalise_identity("myshop.cz")
    assert normalise_identity("Ann@My-Shop.CZ") == "my-shop.cz"
    check_trial_allowed("my-shop.cz", ["myshop.cz"], raynet)


def test_no_trial_where_the_seed_states_none_trial_1_trial_3_trial_4() -> None:
    """smartmail and optimasales state no trial (``trial=None``): the trial ends at creation,
    buying is open at any time (no TRIAL-3 deadline), nothing is purged (no TRIAL-4), and
    TRIAL-6 has nothing to refuse."""
    created = datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW)
    for name in ("smartmail", "optimasales"):
        policy = preset(name)
        assert trial_end(created, policy) == created
        assert conversion_deadline(created, policy) is None
        assert purge_at(created, policy) is None
        check_trial_allowed("ann@acme.pl", ["bob@acme.pl", "eve@acme.pl"], policy)


def test_no_trial_tenant_buys_whenever_it_likes_and_is_never_purged() -> None:
    """Without a trial a new tenant has no access (``trial_expired``) until it buys; an
    activation a year later is accepted, and the unconverted tenant is never purged."""
    from datetime import date

    from crmcore.catalog import Cycle
    from crmcore.events import Activated, TenantCreated
    from crmcore.tenancy.aggregate import TenantStatus, replay
    from crmcore.testing.billing import TWO_PLANS

    policy = preset("optimasales")
    created = datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW)
    history = [
        TenantCreated(created, "t"),
        Activated(datetime(2027, 1, 5, tzinfo=WARSAW), "standard", Cycle.MONTHLY, 1),
    ]
    timeline = replay(history, TWO_PLANS, policy, until=datetime(2027, 2, 1, tzinfo=WARSAW))
    assert timeline.refusals == ()
    assert timeline.initial.status is TenantStatus.TRIAL_EXPIRED
    assert timeline.state_on(date(2026, 12, 31)).status is TenantStatus.TRIAL_EXPIRED
    assert timeline.final.status is TenantStatus.ACTIVE
