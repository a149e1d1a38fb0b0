"""Rules about what a tenant pays for and how a trial ends, checked end to end with hand
arithmetic: PLAN-2, PLAN-3, PLAN-4, BILL-5, SEAT-3, SEAT-4, TRIAL-2, TRIAL-5, MAIL-4."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from crmcore.billing.engine import BillingTerms, invoices_due
from crmcore.billing.numbering import InMemoryInvoiceNumbering, issue
from crmcore.catalog import Catalog, Cycle
from crmcore.errors import SeatError
from crmcore.events import Activated, PaymentMethod, TenantCreated
from crmcore.mailbox import MailItem, accept_incoming, mailbox_usage
from crmcore.policies import MailPolicy
from crmcore.presets import preset
from crmcore.scenario import runner as scenario
from crmcore.tenancy.seats import check_account_creation, check_release

PRAGUE = ZoneInfo("Europe/Prague")
PLANS = [
    {"code": "standard", "rank": 1, "price": {"monthly": "500.00", "annual": "5000.00"}},
    {"code": "premium", "rank": 2, "price": {"monthly": "800.00", "annual": "8000.00"}},
]


def document(events: list[dict[str, Any]], until: str, **extra: Any) -> dict[str, Any]:
    return {
        "preset": "raynet",
        "currency": "CZK",
        "vat_rate": "0.21",
        "fees": {"transfer": "50.00"},
        "plans": PLANS,
        "tenant": {"id": "acme", "created": "2026-01-05T09:00:00+01:00"},
        "events": events,
        "until": until,
        **extra,
    }


def first_invoice(events: list[dict[str, Any]], until: str) -> dict[str, Any]:
    result = scenario.run(document(events, until))
    invoice: dict[str, Any] = result["invoices"][0]
    return invoice


ACTIVATE_FEB_1 = {
    "on": "2026-02-01",
    "do": "activate",
    "plan": "standard",
    "cycle": "monthly",
    "seats": 3,
    "payment": "transfer",
}


def test_plan_3_base_fee_counts_used_and_free_accounts() -> None:
    """PLAN-3 / SEAT-1: 3 accounts bought, 2 assigned: the fee is for all 3."""
    events = [
        {"on": "2026-01-20", "do": "assign", "person": "ann"},
        {"on": "2026-01-21", "do": "assign", "person": "bob"},
        ACTIVATE_FEB_1,
    ]
    invoice = first_invoice(events, "2026-02-01")
    subscription = [line for line in invoice["lines"] if line["kind"] == "subscription"]
    assert len(subscription) == 1
    assert subscription[0]["seats"] == 3
    assert Decimal(subscription[0]["net"]) == Decimal("500.00") * 3  # 1500.00, free seat included


def test_plan_4_transfer_fee_is_a_price_list_line() -> None:
    """PLAN-4 / BILL-4: paying by transfer adds the price-list fee (50.00 CZK) as its own line."""
    invoice = first_invoice([ACTIVATE_FEB_1], "2026-02-01")
    fees = [line for line in invoice["lines"] if line["kind"] == "transfer_fee"]
    assert [Decimal(line["net"]) for line in fees] == [Decimal("50.00")]


def test_plan_2_prices_are_net_and_vat_is_added_at_the_customer_rate() -> None:
    """PLAN-2 / BILL-7: net 1500.00 + 50.00 = 1550.00; VAT 21 % = 325.50; gross 1875.50."""
    invoice = first_invoice([ACTIVATE_FEB_1], "2026-02-01")
    net = Decimal("500.00") * 3 + Decimal("50.00")
    vat = (net * Decimal("0.21")).quantize(Decimal("0.01"))
    assert (Decimal(invoice["net"]), Decimal(invoice["vat"])) == (net, vat)
    assert Decimal(invoice["gross"]) == net + vat == Decimal("1875.50")


def test_bill_5_the_invoice_carries_the_billing_email() -> None:
    """BILL-5: invoices go out by e-mail; the library puts the address on the invoice."""
    raynet = preset("raynet")
    catalog = Catalog.from_dict(
        {
            "plans": [
                {
                    "code": "standard",
                    "rank": 1,
                    "prices": [{"currency": "CZK", "cycle": "monthly", "amount": "500.00"}],
                }
            ]
        }
    )
    created = datetime(2026, 1, 5, 9, tzinfo=PRAGUE)
    history = [
        TenantCreated(created, "acme"),
        Activated(
            datetime(2026, 1, 20, tzinfo=PRAGUE), "standard", Cycle.MONTHLY, 2, PaymentMethod.CARD
        ),
    ]
    drafts = invoices_due(
        history, catalog, raynet, BillingTerms("CZK", Decimal("0.21")), date(2026, 2, 1)
    )
    invoices = issue(
        drafts,
        InMemoryInvoiceNumbering(),
        tenant_id="acme",
        policy=raynet,
        billing_email="billing@acme.example",
    )
    assert invoices, "an activated tenant is invoiced"
    assert {invoice.billing_email for invoice in invoices} == {"billing@acme.example"}


def test_seat_3_the_administrator_account_keeps_a_seat() -> None:
    """SEAT-3: the administrator is a user account too, so the last seat cannot be released,
    and the refusal says so (it said "0 used, 1 free (SEAT-5)"); with a named person holding
    the seats, SEAT-5 is the reason."""
    with pytest.raises(SeatError, match=r"administrator's account takes one \(SEAT-3\)$"):
        check_release(frozenset(), seats=1, count=1)
    with pytest.raises(SeatError, match="SEAT-3"):
        check_release(frozenset(), seats=2, count=2)
    check_release(frozenset(), seats=2, count=1)  # one seat stays for the administrator
    with pytest.raises(SeatError, match=r"1 used, 1 free \(SEAT-5\)$"):
        check_release(frozenset({"ann"}), seats=2, count=2)


@pytest.mark.parametrize("role", ["administrator", "owner"])
def test_seat_4_administrators_create_accounts(role: str) -> None:
    """SEAT-4: an administrator (and the owner, who has every administrator right) may."""
    check_account_creation(role)


@pytest.mark.parametrize("role", ["employee", "supervisor", "external"])
def test_seat_4_nobody_else_creates_accounts(role: str) -> None:
    """SEAT-4: anyone else is refused with the rule and the field named."""
    with pytest.raises(SeatError) as refused:
        check_account_creation(role)
    assert refused.value.rule == "SEAT-4"
    assert refused.value.field == "creator_role"


def statuses(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["on"], s["status"]) for s in result["statuses"]]


def test_trial_2_conversion_ends_the_trial_early() -> None:
    """TRIAL-2: converting on 20 Jan ends the 30-day trial that day (not on 4 Feb)."""
    result = scenario.run(document([{**ACTIVATE_FEB_1, "on": "2026-01-20"}], "2026-02-10"))
    assert statuses(result)[:2] == [("2026-01-05", "trial"), ("2026-01-20", "active")]
    assert ("2026-02-04", "trial_expired") not in statuses(result)


def test_trial_2_cancellation_by_the_administrator_ends_the_trial() -> None:
    """TRIAL-2: the administrator cancels on 10 Jan: the trial ends then, not at expiry."""
    result = scenario.run(document([{"on": "2026-01-10", "do": "cancel"}], "2026-02-10"))
    assert statuses(result)[:2] == [("2026-01-05", "trial"), ("2026-01-10", "cancelled")]
    assert all(status != "trial_expired" for _, status in statuses(result))


def test_trial_5_no_access_between_trial_end_and_conversion() -> None:
    """TRIAL-5: created 5 Jan 09:00 + 30 days = trial ends 4 Feb; converting on 10 Feb (inside
    the 15-day grace of TRIAL-3) ends the `trial_expired` gap."""
    trial_end = date(2026, 1, 5) + timedelta(days=30)
    assert trial_end == date(2026, 2, 4)
    result = scenario.run(document([{**ACTIVATE_FEB_1, "on": "2026-02-10"}], "2026-02-20"))
    assert statuses(result)[:3] == [
        ("2026-01-05", "trial"),
        (trial_end.isoformat(), "trial_expired"),
        ("2026-02-10", "active"),
    ]


def test_mail_4_folders_accounts_and_users_are_not_limited() -> None:
    """MAIL-4: only capacity limits a mailbox (MAIL-5): 5,000 small messages from 5,000 senders
    in as many folders all fit in 1.2 GB; the policy has no folder, account or user limit."""
    policy = MailPolicy()
    names = {f.name for f in attrs.fields(MailPolicy)}
    assert not {n for n in names if "folder" in n or "user" in n or "account" in n}
    usage = 0
    received = datetime(2026, 3, 1, 12, tzinfo=ZoneInfo("Europe/Warsaw"))
    items = []
    for number in range(5000):
        item = MailItem(f"folder-{number}/msg", 10_000, received)
        usage = accept_incoming(usage, Decimal("1.2"), item, policy)
        items.append(item)
    assert usage == mailbox_usage(items) == 5000 * 10_000


@pytest.mark.parametrize("name", ["raynet", "livespace"])
def test_term_2_a_new_term_or_cycle_after_a_prepaid_term_lapsed(name: str) -> None:
    """TERM-2 / END-1: a 3-month term from 10 Jan lapses on 10 Apr (cancelled: no free plan);
    a new prepay on 10 May is accepted, and after that term (10 May → 9 Aug) lapses, so is a
    monthly activation on 20 Aug. A customer's own cancellation (END-4) stays final."""
    from crmcore.events import Cancelled, Prepaid
    from crmcore.tenancy.aggregate import TenantStatus, replay
    from crmcore.testing.billing import TWO_PLANS as catalog

    policy = preset(name)
    zone = ZoneInfo(policy.timezone)

    def on(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone)

    history = [
        TenantCreated(datetime(2026, 1, 5, 9, tzinfo=zone), "acme"),
        Prepaid(on(date(2026, 1, 10)), "standard", 3, 2),
        Prepaid(on(date(2026, 5, 10)), "premium", 3, 4),
        Activated(on(date(2026, 8, 20)), "standard", Cycle.MONTHLY, 2),
    ]
    timeline = replay(history, catalog, policy, until=on(date(2026, 9, 1)))
    assert timeline.refusals == ()
    assert timeline.state_on(date(2026, 4, 9)).status is TenantStatus.ACTIVE
    assert timeline.state_on(date(2026, 4, 10)).status is TenantStatus.CANCELLED
    renewed = timeline.state_on(date(2026, 5, 10))
    assert (renewed.status, renewed.plan, renewed.seats) == (TenantStatus.ACTIVE, "premium", 4)
    assert renewed.term is not None
    assert (renewed.term.first_day, renewed.term.last_day) == (date(2026, 5, 10), date(2026, 8, 9))
    assert timeline.state_on(date(2026, 8, 10)).status is TenantStatus.CANCELLED
    monthly = timeline.final
    assert (monthly.status, monthly.cycle, monthly.term) == (
        TenantStatus.ACTIVE,
        Cycle.MONTHLY,
        None,
    )
    cancelled = [
        TenantCreated(datetime(2026, 1, 5, 9, tzinfo=zone), "acme"),
        Activated(on(date(2026, 1, 10)), "standard", Cycle.MONTHLY, 2),
        Cancelled(on(date(2026, 3, 2))),
        Prepaid(on(date(2026, 4, 1)), "standard", 3, 2),
    ]
    refused = replay(cancelled, catalog, policy).refusals
    assert [r.error.rule for r in refused] == ["TRIAL-3"]
