"""Versioned terms (issue 17, NOTICE-1..3): a new vendor version is refused when announced
too late; a price change binds from the first billing period that starts on or after its
effective day, and a prepaid term keeps its prices until it ends (NOTICE-2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.cli import main
from crmcore.errors import NoticeRefused
from crmcore.events import Activated, Prepaid
from crmcore.memory import InMemoryStorage
from crmcore.vendors import Vendor, vendor_from_preset

PRAGUE = ZoneInfo("Europe/Prague")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=PRAGUE)


def acme(price: str, effective: date) -> Vendor:
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, price)])])
    return vendor_from_preset(
        "raynet", name="acme", effective=effective, catalog=plans, vat_rates={"CZ": "0.21"}
    )


def subscription(storage: InMemoryStorage, until: date) -> list[tuple[date, Decimal]]:
    bill_tenant(storage.unit_of_work(), "t1", until)
    with storage.unit_of_work() as uow:
        invoices = sorted(uow.invoices.for_tenant("t1"), key=lambda i: i.issued)
    return [(i.issued, i.lines[0].net.amount) for i in invoices]


@pytest.mark.parametrize(
    ("effective", "first_dearer"),
    [(date(2026, 4, 1), date(2026, 4, 1)), (date(2026, 4, 10), date(2026, 5, 1))],
)
def test_notice_2_a_price_change_binds_from_the_next_period_start(
    effective: date, first_dearer: date
) -> None:
    """500.00 -> 600.00 per seat, announced 1 Mar (31 and 40 days ahead, >= 30): effective
    1 Apr binds from April's period; effective 10 Apr from May's (April began before it).
    One seat, monthly from 1 Feb: 500.00 until then, 600.00 from then (BILL-2)."""
    storage = InMemoryStorage()
    save_vendor(storage.unit_of_work(), acme("500.00", date(2026, 1, 1)))
    register_tenant(storage.unit_of_work(), "t1", "acme", at("2026-01-05"))
    record(storage.unit_of_work(), "t1", Activated(at("2026-02-01"), "standard", seats=1))
    save_vendor(storage.unit_of_work(), acme("600.00", effective), announced=date(2026, 3, 1))
    months = subscription(storage, date(2026, 6, 30))
    assert months == [
        (
            date(2026, m, 1),
            Decimal("600.00") if date(2026, m, 1) >= first_dearer else Decimal("500.00"),
        )
        for m in range(2, 7)
    ]


def test_notice_2_a_prepaid_term_keeps_its_price() -> None:
    """A 6-month term prepaid on 1 Feb at 500.00 (6 x 500.00 = 3000.00, TERM-1) is not
    repriced by the 600.00 in force from 1 Apr, inside the term."""
    storage = InMemoryStorage()
    save_vendor(storage.unit_of_work(), acme("500.00", date(2026, 1, 1)))
    save_vendor(
        storage.unit_of_work(), acme("600.00", date(2026, 4, 1)), announced=date(2026, 3, 1)
    )
    register_tenant(storage.unit_of_work(), "t1", "acme", at("2026-01-05"))
    record(storage.unit_of_work(), "t1", Prepaid(at("2026-02-01"), "standard", 6, 1))
    assert subscription(storage, date(2026, 7, 31)) == [(date(2026, 2, 1), Decimal("3000.00"))]


def test_notice_1_2_announced_too_late_is_refused_and_stores_nothing() -> None:
    """Announced 15 Mar for 1 Apr: 17 days. A price change needs 30 (NOTICE-2): refused. A
    change of other terms needs 15 (NOTICE-1): accepted with 17, refused with 10."""
    storage = InMemoryStorage()
    first = acme("500.00", date(2026, 1, 1))
    save_vendor(storage.unit_of_work(), first)
    with pytest.raises(NoticeRefused) as refused:
        save_vendor(storage.unit_of_work(), acme("600.00", date(2026, 4, 1)), date(2026, 3, 15))
    assert (refused.value.field, refused.value.rule) == ("effective", "NOTICE-2")
    with storage.unit_of_work() as uow:
        assert [v.effective for v in uow.vendors.versions("acme")] == [date(2026, 1, 1)]
    lenient = first.policy.with_overrides({"dunning": {"block_after_days": 5}})
    terms = attrs.evolve(first, policy=lenient, effective=date(2026, 4, 1))
    with pytest.raises(NoticeRefused) as refused:
        save_vendor(storage.unit_of_work(), terms, date(2026, 4, 1) - timedelta(days=10))
    assert refused.value.rule == "NOTICE-1"
    save_vendor(storage.unit_of_work(), terms, date(2026, 3, 15))
    with storage.unit_of_work() as uow:
        assert len(uow.vendors.versions("acme")) == 2


def test_vendor_import_announced_too_late_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    engine.dispose()
    first, dearer = tmp_path / "v1.json", tmp_path / "v2.json"
    first.write_text(acme("500.00", date(2026, 1, 1)).dumps_json(), encoding="utf-8")
    dearer.write_text(acme("600.00", date(2026, 1, 1)).dumps_json(), encoding="utf-8")
    assert main(["vendor", "import", str(first), "--db", url]) == 0
    late = ["--announced", "2026-03-15", "--effective", "2026-04-01"]
    assert main(["vendor", "import", str(dearer), "--db", url, *late]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--effective: ") and err[0].endswith("(NOTICE-2)")
    early = ["--announced", "2026-03-01", "--effective", "2026-04-01"]
    assert main(["vendor", "import", str(dearer), "--db", url, *early]) == 0
    assert main(["vendor", "list", "--db", url]) == 0
    listed = capsys.readouterr().out
    assert "2026-04-01" in listed  # the second version is stored
