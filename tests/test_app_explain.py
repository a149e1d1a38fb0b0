"""``crmcore.app.explain`` (issue 17, section 3): every line of a stored invoice with its rule,
period and PRO-1 fraction, the price and seats used, the events that caused it and a sentence in
the tenant's language (I18N-1), the same in memory and on SQLite; and ``crmcore explain`` through
``crmcore.cli.main`` on a SQLite file. Amounts by hand below."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.app.explain import explain_invoice
from crmcore.app.simulation import simulate_stored
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.cli import main
from crmcore.errors import NotFound, ValidationError
from crmcore.events import (
    Activated,
    OutageRecorded,
    PaymentMethod,
    PlanChanged,
    SeatsAdded,
    SeatsRemoved,
)
from crmcore.i18n import LOCALES
from crmcore.invoices import LineKind
from crmcore.memory import InMemoryStorage
from crmcore.money import Money
from crmcore.ports import UnitOfWork
from crmcore.testing.storage import sample_invoice
from crmcore.vendors import TenantBillingProfile, Vendor, vendor_from_preset

PRAGUE = ZoneInfo("Europe/Prague")
UnitOfWorkFactory = Callable[[], UnitOfWork]


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=PRAGUE)


def czk(amount: Decimal | str) -> Money:
    return Money(Decimal(amount), "CZK").rounded()


def plain(text: str) -> str:
    """Babel separates amounts with no-break spaces; the expected texts are written with spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def setup(unit_of_work: UnitOfWorkFactory) -> None:
    """Vendor acme (raynet's terms, Prague, CZ; VAT 21 %; a 50.00 CZK fee on transfer
    invoices): standard 500.00, premium 800.00 a seat a month.

    t1: created 5 Jan, activated 20 Jan with 2 seats of standard paying by transfer; 1 seat
    bought on 3 Feb; a 5-hour outage on 10 Mar; upgraded to premium on 16 Mar. Invoices:
    2026/0001 (20 Jan), /0002 (1 Feb), /0003 (1 Mar), /0004 (1 Apr).

    t2: created 1 Feb, activated 1 Mar with 3 seats paying by card; a 16-hour outage on 10 Mar;
    2 seats removed on 20 Mar. Invoices /0005 (1 Mar), /0006 (1 Apr), /0007 (1 May)."""
    plans = Catalog(
        [
            Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")]),
            Plan("premium", 2, [Price("CZK", Cycle.MONTHLY, "800.00")]),
        ]
    )
    vendor = vendor_from_preset(
        "raynet",
        name="acme",
        effective=date(2026, 1, 1),
        catalog=plans,
        vat_rates={"CZ": "0.21", "SK": "0.23"},
        fees={"transfer": "50.00"},
    )
    save_vendor(unit_of_work(), vendor)
    register_tenant(unit_of_work(), "t1", "acme", at("2026-01-05", 9))
    record(
        unit_of_work(),
        "t1",
        Activated(at("2026-01-20"), "standard", seats=2, payment=PaymentMethod.TRANSFER),
    )
    record(unit_of_work(), "t1", SeatsAdded(at("2026-02-03"), 1))
    record(unit_of_work(), "t1", OutageRecorded(at("2026-03-10"), at("2026-03-10", 15)))
    record(unit_of_work(), "t1", PlanChanged(at("2026-03-16"), "premium"))
    register_tenant(
        unit_of_work(),
        "t2",
        "acme",
        at("2026-02-01", 9),
        profile=TenantBillingProfile(country="SK", billing_email="billing@firma.sk"),
    )
    record(unit_of_work(), "t2", Activated(at("2026-03-01"), "standard", seats=3))
    record(unit_of_work(), "t2", OutageRecorded(at("2026-03-10", 8), at("2026-03-11", 0)))
    record(unit_of_work(), "t2", SeatsRemoved(at("2026-03-20"), 2))
    for month_end in (date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)):
        bill_tenant(unit_of_work(), "t1", month_end)
    for month_end in (date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)):
        bill_tenant(unit_of_work(), "t2", month_end)


@pytest.fixture(params=["memory", "sqlite"])
def unit_of_work(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnitOfWorkFactory]:
    if request.param == "memory":
        factory: UnitOfWorkFactory = InMemoryStorage().unit_of_work
        setup(factory)
        yield factory
        return
    engine = crmcore_sql.create_engine(f"sqlite:///{tmp_path / 'explain.sqlite'}")
    crmcore_sql.migrate(engine)
    factory = lambda: crmcore_sql.unit_of_work(engine)  # noqa: E731
    setup(factory)
    yield factory
    engine.dispose()


def test_pro_1_activation_line_with_its_price_seats_fraction_and_event(
    unit_of_work: UnitOfWorkFactory,
) -> None:
    """BILL-1/PRO-1: activated on 20 Jan with 2 seats at 500.00: 20..31 Jan is 12 of 31 days,
    2 × 500.00 × 12/31 = 387.096... → 387.10; BILL-4: the 50.00 fee, payment by transfer
    chosen by that activation."""
    explained = explain_invoice(unit_of_work(), "2026/0001", locale="en")
    first, fee = explained.lines
    assert first.line.net == czk(Decimal("500.00") * 2 * 12 / 31) == czk("387.10")
    assert (first.line.rule, first.rules, first.unit, first.line.seats) == (
        "BILL-1",
        ("BILL-1", "PRO-1"),
        czk("500.00"),
        2,
    )
    assert [c.event for c in first.causes] == [
        Activated(at("2026-01-20"), "standard", seats=2, payment=PaymentMethod.TRANSFER)
    ]
    assert first.causes[0].effective == first.causes[0].recorded == at("2026-01-20")
    assert plain(first.text) == (
        "2 seats × CZK500.00 × 12/31 = CZK387.10 (BILL-1, PRO-1),"
        " from the activation on Jan 20, 2026."
    )
    assert (fee.line.rule, fee.fee, fee.unit) == ("BILL-4", czk("50.00"), None)
    assert plain(fee.text) == (
        "CZK50.00 (BILL-4, PLAN-4), the price list's bank transfer fee,"
        " payment by transfer chosen on Jan 20, 2026."
    )
    # 387.10 + 50.00 = 437.10 net; 21 % VAT 91.791 → 91.79; 528.89 gross
    assert plain(explained.text) == (
        "Invoice 2026/0001 of t1, issued Jan 20, 2026: net CZK437.10, VAT CZK91.79, total CZK528.89"
    )


def test_pro_1_the_same_line_in_czech_the_vendors_language(
    unit_of_work: UnitOfWorkFactory,
) -> None:
    """I18N-1: without a locale, the vendor's country's (CZ: cs); amounts and dates by Babel."""
    explained = explain_invoice(unit_of_work(), "2026/0001")
    assert explained.locale == "cs"
    assert plain(explained.lines[0].text) == (
        "2 licence × 500,00 Kč × 12/31 = 387,10 Kč (BILL-1, PRO-1), z aktivace dne 20. 1. 2026."
    )
    assert plain(explained.render()).splitlines()[2] == (
        "   activate: účinné 20. 1. 2026 10:00:00, zaznamenané 20. 1. 2026 10:00:00"
    )


def test_bill_2_period_line_caused_by_the_last_change_before_the_period(
    unit_of_work: UnitOfWorkFactory,
) -> None:
    """BILL-2: 1 Mar charges March at the 3 seats in force at its start, 3 × 500.00 = 1500.00;
    the last change before it is the seat bought on 3 Feb."""
    explained = explain_invoice(unit_of_work(), "2026/0003", locale="en")
    period = explained.lines[0]
    assert period.line.net == czk(Decimal("500.00") * 3)
    assert [c.event for c in period.causes] == [SeatsAdded(at("2026-02-03"), 1)]
    assert plain(period.text) == (
        "3 seats × CZK500.00 = CZK1,500.00 (BILL-2), paid in advance for"
        " Mar 1, 2026 – Mar 31, 2026, at the plan and seats in force since Feb 3, 2026."
    )


def test_pro_2_seat_bought_mid_month_charged_on_the_next_invoice(
    unit_of_work: UnitOfWorkFactory,
) -> None:
    """PRO-2: 1 seat bought on 3 Feb, 3..28 Feb is 26 of 28 days: 1 × 500.00 × 26/28 =
    464.2857... → 464.29, on the 1 Mar invoice."""
    explained = explain_invoice(unit_of_work(), "2026/0003", locale="en")
    seats = explained.lines[1]
    assert seats.line.net == czk(Decimal("500.00") * 1 * 26 / 28) == czk("464.29")
    assert (seats.line.rule, seats.line.fraction, seats.unit) == (
        "PRO-2",
        Fraction(26, 28),
        czk("500.00"),
    )
    assert [c.event for c in seats.causes] == [SeatsAdded(at("2026-02-03"), 1)]
    assert plain(seats.text) == (
        "1 seat × CZK500.00 × 26/28 = CZK464.29 (PRO-2, PRO-1), from the seats bought on"
        " Feb 3, 2026."
    )


def test_pro_4_upgrade_line_prices_the_difference(unit_of_work: UnitOfWorkFactory) -> None:
    """PRO-4: standard → premium on 16 Mar: (800.00 − 500.00) × 3 seats × 16/31 (16..31 Mar) =
    464.516... → 464.52, on the 1 Apr invoice."""
    explained = explain_invoice(unit_of_work(), "2026/0004", locale="en")
    upgrade = explained.lines[1]
    difference = Decimal("800.00") - Decimal("500.00")
    assert upgrade.line.net == czk(difference * 3 * 16 / 31) == czk("464.52")
    assert upgrade.unit == czk(difference)
    assert [c.event for c in upgrade.causes] == [PlanChanged(at("2026-03-16"), "premium")]
    assert plain(upgrade.text) == (
        "3 seats × CZK300.00 × 16/31 = CZK464.52 (PRO-4, PRO-1), from the upgrade from"
        " standard to premium on Mar 16, 2026."
    )


def test_sla_credit_line_with_its_month_availability_percentage_and_outage(
    unit_of_work: UnitOfWorkFactory,
) -> None:
    """SLA-2/SLA-3/SLA-5/SLA-6: March 2026 in Prague has 31 × 1440 − 60 = 44580 minutes (the
    29 Mar DST change); 5 hours down: (44580 − 300) / 44580 = 99.327...%, from 98.00 up to
    below 99.50: 35 % of the fee of the period that began in March, 1500.00: 525.00 off the
    1 Apr invoice, from the outage recorded on 10 Mar."""
    explained = explain_invoice(unit_of_work(), "2026/0004", locale="en")
    sla = explained.lines[3]
    [credit] = sla.credits
    assert (credit.year, credit.month) == (2026, 3)
    assert credit.availability_percent == Fraction(44580 - 300, 44580) * 100
    assert credit.ratio == Decimal("0.35")
    assert credit.fee == czk("1500.00")
    assert credit.credit == credit.used == czk(Decimal("1500.00") * Decimal("0.35"))
    assert sla.line.net == -czk("525.00")
    assert [o.event for o in credit.outages] == [
        OutageRecorded(at("2026-03-10"), at("2026-03-10", 15))
    ]
    assert plain(sla.text) == (
        "-CZK525.00 (SLA-6, SLA-2, SLA-3): 35% of the fee CZK1,500.00 for March 2026"
        " (availability 99.327%), from the outage recorded on Mar 10, 2026."
    )
    document = explained.to_json()["lines"][3]["sla"][0]
    assert {k: document[k] for k in ("month", "availability_percent", "credit_percent")} == {
        "month": "2026-03",
        "availability_percent": "99.3270",  # cut, never rounded up (SLA-2 compares exactly)
        "credit_percent": "35.00",
    }


def test_sla_6_credit_above_the_invoice_carries_forward(unit_of_work: UnitOfWorkFactory) -> None:
    """SLA-6: t2 was down 16 hours in March: (44580 − 960) / 44580 = 97.846...% < 98.00: 50 %
    of 1500.00 = 750.00. The 1 Apr invoice is 1 seat × 500.00 = 500.00: it takes 500.00, the
    250.00 left goes on the 1 May invoice. In Slovak, the tenant's billing country (I18N-1)."""
    april = explain_invoice(unit_of_work(), "2026/0006")
    assert april.locale == "sk"
    [credit] = april.lines[-1].credits
    assert credit.credit == czk(Decimal("1500.00") * Decimal("0.50"))
    assert (credit.used, credit.carried) == (czk("500.00"), czk("250.00"))
    assert plain(april.lines[-1].text) == (
        "-500,00 CZK (SLA-6, SLA-2, SLA-3): 50 % z poplatku 1 500,00 CZK za marec 2026"
        " (dostupnosť 97,846 %),"
        " z výpadku zaznamenaného dňa 10. 3. 2026, z toho 500,00 CZK na tejto faktúre,"
        " zvyšok sa prenáša ďalej."
    )
    may = explain_invoice(unit_of_work(), "2026/0007", locale="en")
    [credit] = may.lines[-1].credits
    assert (credit.used, credit.carried) == (czk("250.00"), czk("0.00"))
    assert plain(may.lines[-1].text).endswith(
        "of which CZK250.00 on this invoice, the rest on earlier invoices."
    )


def test_explain_in_polish(unit_of_work: UnitOfWorkFactory) -> None:
    """I18N-1: the locale asked for, with its seat plural."""
    explained = explain_invoice(unit_of_work(), "2026/0003", locale="pl")
    assert plain(explained.lines[1].text) == (
        "1 licencja × 500,00 CZK × 26/28 = 464,29 CZK (PRO-2, PRO-1), z licencji dokupionych"
        " w dniu 3 lut 2026."
    )


def test_unknown_invoice_and_locale_refused(unit_of_work: UnitOfWorkFactory) -> None:
    """BILL-6: an unknown number is NotFound naming it; I18N-1: an unsupported locale is
    refused before anything is read."""
    with pytest.raises(NotFound, match=r"invoice: no invoice numbered '2026/9999' \(BILL-6\)"):
        explain_invoice(unit_of_work(), "2026/9999")
    with pytest.raises(ValidationError, match="unsupported locale 'xx'"):
        explain_invoice(unit_of_work(), "2026/0001", locale="xx")


def test_notice_2_each_line_priced_from_the_version_in_force_when_its_period_starts() -> None:
    """NOTICE-2: acme's standard goes from 500.00 to 600.00 on 1 Mar. The 1 Mar invoice
    charges March at the new price, 3 × 600.00 = 1800.00 (BILL-2), and the seat bought on
    3 Feb at February's, 1 × 500.00 × 26/28 = 464.29 (PRO-2): explain names both prices."""
    storage = InMemoryStorage()
    unit_of_work = storage.unit_of_work

    def acme(price: str, effective: date) -> Vendor:
        plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, price)])])
        return vendor_from_preset(
            "raynet", name="acme", effective=effective, catalog=plans, vat_rates={"CZ": "0.21"}
        )

    save_vendor(unit_of_work(), acme("500.00", date(2026, 1, 1)))
    save_vendor(unit_of_work(), acme("600.00", date(2026, 3, 1)))
    register_tenant(unit_of_work(), "t1", "acme", at("2026-01-05", 9))
    record(unit_of_work(), "t1", Activated(at("2026-01-20"), "standard", seats=2))
    record(unit_of_work(), "t1", SeatsAdded(at("2026-02-03"), 1))
    bill_tenant(unit_of_work(), "t1", date(2026, 3, 31))
    period, seats = explain_invoice(unit_of_work(), "2026/0003", "en").lines
    assert (period.unit, period.line.net) == (czk("600.00"), czk(Decimal("600.00") * 3))
    assert (seats.unit, seats.line.net) == (czk("500.00"), czk(Decimal("500.00") * 26 / 28))
    assert plain(period.text).startswith("3 seats × CZK600.00 = CZK1,800.00 (BILL-2)")


def test_bill_6_a_number_in_two_series_needs_the_series() -> None:
    """BILL-6: numbers are unique in a series only; two vendors' series may both have
    2026/0001: refused naming both, until ``series`` chooses one. An invoice whose tenant is
    not stored (e.g. stored by the legacy job) is explained as stored: rule and amount."""
    storage = InMemoryStorage()
    with storage.unit_of_work() as uow:
        uow.invoices.add(sample_invoice("x1", "k", number="2026/0001", series="a/2026"))
        uow.invoices.add(sample_invoice("x2", "k", number="2026/0001", series="b/2026"))
        uow.commit()
    with pytest.raises(ValidationError, match=r"several series \(a/2026, b/2026\).*\(BILL-6\)"):
        explain_invoice(storage.unit_of_work(), "2026/0001")
    explained = explain_invoice(storage.unit_of_work(), "2026/0001", "en", series="b/2026")
    assert explained.invoice.tenant_id == "x2" and explained.vendor is None
    # sample_invoice: 2 × 500.00 × 19/28 = 678.571... → 678.57, and a 15.00 fee
    assert [plain(line.text) for line in explained.lines] == [
        "PLN678.57 (PRO-1).",
        "PLN15.00 (BILL-4, PLAN-4).",
    ]


SCENARIOS = Path(__file__).resolve().parents[1] / "docs" / "scenarios"


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json")),
)
def test_every_line_of_every_scenario_is_explained(name: str) -> None:
    """PLAN-3/PRO/TERM: on every invoice the scenarios store, each priced line's amount is
    reproduced by the catalogue's unit price × seats × PRO-1 fraction and names the events
    behind it; each SLA-6 line names its months and outages (SLA-2/SLA-3); in all eight
    locales (I18N-1) every sentence cites the line's rule and ends with one full stop."""
    storage = InMemoryStorage()
    simulate_stored(json.loads((SCENARIOS / name).read_text()), storage.unit_of_work)
    with storage.unit_of_work() as uow:
        stored = [i for t in uow.tenants.ids() for i in uow.invoices.for_tenant(t)]
    for invoice in stored:
        explained = explain_invoice(storage.unit_of_work(), invoice.number, "en")
        for line in explained.lines:
            if line.line.rule == "BILL-6":  # a correction's line: the late entries behind it
                assert line.causes and all(c.recorded > c.effective for c in line.causes)
                assert invoice.corrects is not None and invoice.corrects in line.text
            elif line.line.kind is LineKind.SLA_CREDIT:
                assert line.credits and all(c.outages for c in line.credits), line.text
                assert sum((c.used for c in line.credits), czk("0")) == -line.line.net
            else:
                assert line.causes, line.text
            if line.line.seats is not None:
                assert line.unit is not None, line.text
        for locale in LOCALES:
            for line in explain_invoice(storage.unit_of_work(), invoice.number, locale).lines:
                assert f"({line.line.rule}" in line.text
                # one full stop, even after a date a locale abbreviates ("мар. 2026 г.", ru)
                assert line.text.endswith(".") and not line.text.endswith(".."), line.text


def test_memory_and_sqlite_explain_alike(tmp_path: Path) -> None:
    """One engine: the same stored invoices explained the same, effective times in the
    vendor's zone whichever zone the store returns (TIME-2)."""
    memory = InMemoryStorage().unit_of_work
    setup(memory)
    engine = crmcore_sql.create_engine(f"sqlite:///{tmp_path / 'alike.sqlite'}")
    crmcore_sql.migrate(engine)
    setup(lambda: crmcore_sql.unit_of_work(engine))
    try:
        for number in ("2026/0001", "2026/0003", "2026/0004", "2026/0006"):
            assert (
                explain_invoice(crmcore_sql.unit_of_work(engine), number).to_json()
                == explain_invoice(memory(), number).to_json()
            )
    finally:
        engine.dispose()


# --- the command line ---------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The tenants of tests/test_app_explain.py, billed, in a SQLite file."""
    url = f"sqlite:///{tmp_path / 'explain.sqlite'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    setup(lambda: crmcore_sql.unit_of_work(engine))
    engine.dispose()
    return url


def test_explain_json_shape(capsys: pytest.CaptureFixture[str], db: str) -> None:
    """PRO-2 on the 1 Mar invoice: 1 × 500.00 × 26/28 = 464.29; BILL-2 3 × 500.00 = 1500.00;
    BILL-4 50.00: net 2014.29, VAT 21 % 423.0009 → 423.00, gross 2437.29."""
    code, out, err = run(capsys, "explain", "--db", db, "--invoice", "2026/0003", "--json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert {k: document[k] for k in ("invoice", "series", "tenant", "vendor", "locale")} == {
        "invoice": "2026/0003",
        "series": "acme/2026",
        "tenant": "t1",
        "vendor": "acme",
        "locale": "cs",
    }
    assert (document["net"], document["vat"], document["gross"]) == ("2014.29", "423.00", "2437.29")
    seats = document["lines"][1]
    assert {k: v for k, v in seats.items() if k != "text"} == {
        "position": 2,
        "kind": "seats",
        "rule": "PRO-2",
        "rules": ["PRO-2", "PRO-1"],
        "plan": "standard",
        "seats": 1,
        "from": "2026-02-03",
        "to": "2026-02-28",
        "fraction": "26/28",
        "unit": "500.00",
        "fee": None,
        "net": "464.29",
        "sla": [],
        "causes": [
            {
                "do": "add_seats",
                "effective": "2026-02-03T10:00:00+01:00",
                "recorded": "2026-02-03T10:00:00+01:00",  # = effective until issue 15
                "event": {"type": "SeatsAdded", "at": "2026-02-03T10:00:00+01:00", "count": 1},
            }
        ],
    }
    assert [line["rule"] for line in document["lines"]] == ["BILL-2", "PRO-2", "BILL-4"]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "en",
            [
                "Invoice 2026/0001 of t1, issued Jan 20, 2026: net CZK437.10, VAT CZK91.79,"
                " total CZK528.89",
                "1. 2 seats × CZK500.00 × 12/31 = CZK387.10 (BILL-1, PRO-1), from the activation"
                " on Jan 20, 2026.",
                "   activate: effective Jan 20, 2026, 10:00:00 AM, recorded Jan 20, 2026,"
                " 10:00:00 AM",
                "2. CZK50.00 (BILL-4, PLAN-4), the price list's bank transfer fee, payment by"
                " transfer chosen on Jan 20, 2026.",
                "   activate: effective Jan 20, 2026, 10:00:00 AM, recorded Jan 20, 2026,"
                " 10:00:00 AM",
            ],
        ),
        (
            "cs",
            [
                "Faktura 2026/0001 pro t1, vystavená 20. 1. 2026: základ 437,10 Kč,"
                " DPH 91,79 Kč, celkem 528,89 Kč",
                "1. 2 licence × 500,00 Kč × 12/31 = 387,10 Kč (BILL-1, PRO-1), z aktivace dne"
                " 20. 1. 2026.",
                "   activate: účinné 20. 1. 2026 10:00:00, zaznamenané 20. 1. 2026 10:00:00",
                "2. 50,00 Kč (BILL-4, PLAN-4), poplatek ceníku za bankovní převod, platba"
                " převodem zvolena dne 20. 1. 2026.",
                "   activate: účinné 20. 1. 2026 10:00:00, zaznamenané 20. 1. 2026 10:00:00",
            ],
        ),
    ],
)
def test_explain_text_in_two_languages(
    capsys: pytest.CaptureFixture[str], db: str, locale: str, expected: list[str]
) -> None:
    """BILL-1/PRO-1: 2 × 500.00 × 12/31 = 387.10 and the BILL-4 fee, read to the customer."""
    code, out, err = run(
        capsys, "explain", "--db", db, "--invoice", "2026/0001", "--locale", locale
    )
    assert (code, err) == (0, "")
    assert plain(out).splitlines() == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--invoice", "2026/9999"], "invoice: no invoice numbered '2026/9999' (BILL-6)"),
        (
            ["--invoice", "2026/0001", "--series", "other/2026"],
            "invoice: no invoice numbered '2026/0001' in series 'other/2026' (BILL-6)",
        ),
        (["--invoice", "2026/0001", "--locale", "xx"], "locale: unsupported locale 'xx'"),
        ([], "crmcore explain: the following arguments are required: --invoice"),
    ],
)
def test_explain_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str], expected: str
) -> None:
    try:
        code, out, err = run(capsys, "explain", "--db", db, *argv)
    except SystemExit as exit_:  # argparse's own errors exit through parser.exit
        code, out, err = int(str(exit_.code)), "", capsys.readouterr().err
    assert (code, out) == (2, "")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(expected)
