"""Reprice the book (issue 17 §2): versioned terms, parts, memory flat, batch reads.

- NOTICE-2: the vendor document is in force from ``--from``; the stored versions before it
  price the periods before the window as they really were (hand-computed);
- the parts of ``n`` processes (a stable hash of the tenant id, ``in_part``) are disjoint,
  cover every tenant, and their ``combine`` is the one-process report exactly, for any n;
- ``by_tenant=False`` gives the same totals and the same biggest changes as the full report;
- reprice under the stored terms changes nothing, exactly, on memory and every SQL engine;
  ``before`` is the exact sum of the documents stored in the window (read another way);
- SQL: three statements per batch of tenants, however many tenants and documents;
- the command line's table: the ``--top`` biggest changes first, the same from 2 processes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.billing import bill_tenant
from crmcore.app.commands import record, register_tenant, save_vendor
from crmcore.app.whatif import (
    REPRICE_BATCH,
    RepriceReport,
    Totals,
    biggest,
    combine,
    in_part,
    reprice,
    reprice_versions,
)
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.cli import main
from crmcore.errors import ValidationError
from crmcore.events import Activated, SeatsAdded
from crmcore.memory import InMemoryStorage
from crmcore.ports import UnitOfWork
from crmcore.vendors import Vendor, vendor_from_preset
from crmcore_sql.cli_app import progress_bar

PRAGUE = ZoneInfo("Europe/Prague")
JAN, MAR = date(2026, 1, 1), date(2026, 3, 1)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=PRAGUE)


def vendor(name: str, standard: str, effective: date) -> Vendor:
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, standard)])])
    return vendor_from_preset(
        "raynet", name=name, effective=effective, catalog=plans, vat_rates={"CZ": "0.21"}
    )


def unique_vendor() -> str:
    return f"acme{uuid.uuid4().hex[:10]}"


def build_book(
    uow: Callable[[], UnitOfWork], name: str, tenants: int, dearer: bool = True
) -> list[str]:
    """``tenants`` tenants of vendor ``name`` (500.00 from 1 Jan and, ``dearer``, 600.00
    from 1 Mar, announced 1 Jan), created on the 5th of January to March and activated later
    that month with 1-3 seats, every other one a seat more in March, billed to 30 Jun."""
    save_vendor(uow(), vendor(name, "500.00", JAN))
    if dearer:
        save_vendor(uow(), vendor(name, "600.00", MAR), announced=JAN)
    ids = []
    for index in range(tenants):
        tenant = f"{name}-t{index:03d}"
        month, day = 1 + index % 3, 10 + index % 15
        register_tenant(uow(), tenant, name, at(f"2026-0{month}-05"))
        record(
            uow(),
            tenant,
            Activated(at(f"2026-0{month}-{day:02d}"), "standard", seats=1 + index % 3),
        )
        if index % 2:
            record(uow(), tenant, SeatsAdded(at(f"2026-03-{day + 2:02d}"), 1))
        bill_tenant(uow(), tenant, date(2026, 6, 30))
        ids.append(tenant)
    return ids


def stored_totals(uow: Callable[[], UnitOfWork], ids: list[str], first: date, last: date) -> Totals:
    """The documents stored in the window, read tenant by tenant (``for_tenant``)."""
    total = Totals.zero("CZK")
    with uow() as work:
        for tenant in ids:
            window = [i for i in work.invoices.for_tenant(tenant) if first <= i.issued <= last]
            total = total + Totals.of(window, "CZK")
    return total


def shape(report: RepriceReport) -> tuple[Any, ...]:
    return report.to_json(), report.biggest, report.tenants


# --- NOTICE-2: the version in force per period -----------------------------------------------


def test_notice_2_reprice_keeps_the_stored_prices_before_the_window() -> None:
    """Stored: 500.00 from 1 Jan, 600.00 from 1 Mar, 650.00 from 1 May. A tenant activated
    on 1 Feb with 2 seats adds one on 20 Mar. Repriced under 700.00 from 1 Apr to 31 May.

    Stored in the window:
      1 Apr: April 3 x 600.00 = 1800.00 (BILL-2) + March's seat 600.00 x 12/31 = 232.258...
             -> 232.26 (PRO-2, 20..31 Mar): 2032.26 net, VAT 21 % 426.7746 -> 426.77
      1 May: 3 x 650.00 = 1950.00 net, VAT 409.50
      before: 3982.26 net, 836.27 VAT, 4818.53 gross
    Repriced (700.00 in force from 1 Apr; March stays at the stored 600.00, NOTICE-2):
      1 Apr: 3 x 700.00 = 2100.00 + 232.26 (March's price) = 2332.26, VAT 489.7746 -> 489.77
      1 May: 3 x 700.00 = 2100.00, VAT 441.00 (the stored 650.00 from 1 May is replaced)
      after: 4432.26 net, 930.77 VAT, 5363.03 gross
    difference: 300.00 + 150.00 = 450.00 net, 94.50 VAT, 544.50 gross. (The FILE for every
    period, the old behaviour, would price March's seat at 700.00 x 12/31 = 270.97.)"""
    storage = InMemoryStorage()
    uow = storage.unit_of_work
    save_vendor(uow(), vendor("acme", "500.00", JAN))
    save_vendor(uow(), vendor("acme", "600.00", MAR), announced=JAN)
    save_vendor(uow(), vendor("acme", "650.00", date(2026, 5, 1)), announced=JAN)
    register_tenant(uow(), "t1", "acme", at("2026-01-05"))
    record(uow(), "t1", Activated(at("2026-02-01"), "standard", seats=2))
    record(uow(), "t1", SeatsAdded(at("2026-03-20"), 1))
    bill_tenant(uow(), "t1", date(2026, 5, 31))
    file = vendor("acme", "700.00", JAN)  # its own effective day is replaced by --from
    report = reprice(uow, file, date(2026, 4, 1), date(2026, 5, 31))
    assert report.before.to_json() == {"net": "3982.26", "vat": "836.27", "gross": "4818.53"}
    assert report.after.to_json() == {"net": "4432.26", "vat": "930.77", "gross": "5363.03"}
    assert report.difference.to_json() == {"net": "450.00", "vat": "94.50", "gross": "544.50"}


def test_notice_2_reprice_versions_are_the_stored_ones_before_from_then_the_file() -> None:
    """NOTICE-2/3: versions effective before ``--from`` kept, those from it on replaced."""
    stored = [vendor("acme", p, d) for p, d in (("5.00", JAN), ("6.00", MAR))]
    stored.append(vendor("acme", "7.00", date(2026, 4, 1)))
    file = vendor("acme", "9.00", date(2027, 1, 1))
    chosen = reprice_versions(stored, file, date(2026, 4, 1))
    assert [(v.effective, v.catalog) for v in chosen] == [
        (JAN, stored[0].catalog),
        (MAR, stored[1].catalog),
        (date(2026, 4, 1), file.catalog),
    ]
    assert reprice_versions([], file, JAN) == [attrs.evolve(file, effective=JAN)]


# --- parts: a stable hash of the tenant id -------------------------------------------------


@given(ids=st.lists(st.text(min_size=1, max_size=12), unique=True), parts=st.integers(1, 9))
def test_in_part_parts_are_disjoint_and_cover_every_tenant(ids: list[str], parts: int) -> None:
    """Each id is in exactly one part of ``n``: ``crc32(utf-8) mod n``."""
    for tenant in ids:
        assert sum(in_part(tenant, (k, parts)) for k in range(parts)) == 1


def test_in_part_is_the_crc32_of_the_utf8_id() -> None:
    """zlib.crc32(b"t1") = 0x5B54AE37 = 1532276279 (fixed by the CRC-32 standard, not by the
    process): 1532276279 mod 2 = 1, mod 3 = 1532276279 - 3 x 510758759 = 2."""
    assert in_part("t1", (1, 2)) and not in_part("t1", (0, 2))
    assert in_part("t1", (2, 3)) and not in_part("t1", (1, 3))
    assert in_part("t1", (0, 1))


@pytest.fixture(scope="module")
def memory_book() -> tuple[InMemoryStorage, list[str]]:
    storage = InMemoryStorage()
    return storage, build_book(storage.unit_of_work, "acme", 24)


@settings(max_examples=15, deadline=None)
@given(
    parts=st.integers(1, 7),
    price=st.sampled_from(["600.00", "650.00", "555.55", "1.00"]),
    first_month=st.integers(1, 6),
    top=st.integers(0, 30),
)
def test_the_parts_combined_are_the_one_process_report_for_any_n(
    memory_book: tuple[InMemoryStorage, list[str]],
    parts: int,
    price: str,
    first_month: int,
    top: int,
) -> None:
    """Differential: ``combine`` of the ``n`` parts equals the one-process report exactly
    (totals, every tenant, the biggest changes), each part holding only its own tenants."""
    storage, ids = memory_book
    file = vendor("acme", price, JAN)
    first, last = date(2026, first_month, 1), date(2026, 6, 30)
    whole = reprice(storage.unit_of_work, file, first, last, top=top)
    pieces = [
        reprice(storage.unit_of_work, file, first, last, part=(k, parts), top=top)
        for k in range(parts)
    ]
    assert shape(combine(pieces)) == shape(whole)
    assert whole.tenants == len(ids) == sum(piece.tenants for piece in pieces)
    for k, piece in enumerate(pieces):
        assert all(in_part(tenant, (k, parts)) for tenant in piece.by_tenant)


@settings(max_examples=10, deadline=None)
@given(price=st.sampled_from(["600.00", "450.00", "601.01"]), top=st.integers(1, 30))
def test_without_by_tenant_the_totals_and_the_biggest_changes_are_the_same(
    memory_book: tuple[InMemoryStorage, list[str]], price: str, top: int
) -> None:
    """Memory flat: ``by_tenant=False`` keeps no per-tenant totals, only the ``top`` biggest
    changes, which are those of the full report sorted by |gross difference|."""
    storage, _ = memory_book
    file = vendor("acme", price, JAN)
    window = (date(2026, 3, 1), date(2026, 6, 30))
    full = reprice(storage.unit_of_work, file, *window)
    flat = reprice(storage.unit_of_work, file, *window, by_tenant=False, top=top)
    assert flat.by_tenant == {}
    assert (flat.tenants, flat.before, flat.after) == (full.tenants, full.before, full.after)
    everyone = [(t, before, after) for t, (before, after) in full.by_tenant.items()]
    ordered = sorted(everyone, key=lambda c: (-abs((c[2] - c[1]).gross.amount), c[0]))
    assert flat.biggest == tuple(ordered[:top]) == biggest(everyone, top)
    assert len(flat.biggest) == min(top, full.tenants)


def test_bad_part_and_top_are_refused() -> None:
    storage = InMemoryStorage()
    for part in [(2, 2), (-1, 2), (0, 0)]:
        with pytest.raises(ValidationError) as refused:
            reprice(storage.unit_of_work, vendor("acme", "1.00", JAN), JAN, MAR, part=part)
        assert refused.value.field == "part"
    with pytest.raises(ValidationError) as refused:
        reprice(storage.unit_of_work, vendor("acme", "1.00", JAN), JAN, MAR, top=-1)
    assert refused.value.field == "top"


# --- the same terms: exactly zero, on every engine; before is what is stored ----------------


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def unit_of_work(
    request: pytest.FixtureRequest, engines: dict[str, Engine]
) -> Iterator[Callable[[], UnitOfWork]]:
    if request.param == "memory":
        yield InMemoryStorage().unit_of_work
        return
    engine = engines[request.param]
    yield lambda: crmcore_sql.unit_of_work(engine)


@pytest.mark.parametrize(
    ("first", "dearer"),
    [(JAN, False), (date(2026, 2, 15), False), (MAR, True), (date(2026, 4, 1), True)],
)
def test_reprice_under_the_stored_terms_is_exactly_zero_and_before_is_what_is_stored(
    unit_of_work: Callable[[], UnitOfWork], first: date, dearer: bool
) -> None:
    """NOTICE-2, BILL-7: the book (one stored version, 500.00, or two, 600.00 from 1 Mar)
    repriced from ``first`` under the version in force then (the last one) changes nothing,
    to the haléř; ``before`` equals the stored documents of the window summed tenant by
    tenant; a tenant of another vendor in the same storage is not counted."""
    name = unique_vendor()
    ids = build_book(unit_of_work, name, 7, dearer)
    other = unique_vendor()
    build_book(unit_of_work, other, 1)
    file = vendor(name, "600.00" if dearer else "500.00", JAN)
    last = date(2026, 6, 30)
    report = reprice(unit_of_work, file, first, last)
    assert report.tenants == 7 and sorted(report.by_tenant) == ids
    assert report.difference.to_json() == {"net": "0.00", "vat": "0.00", "gross": "0.00"}
    assert report.before == report.after == stored_totals(unit_of_work, ids, first, last)
    assert report.before.net.amount > Decimal("0")


# --- batch reads ------------------------------------------------------------------------------


def test_sql_reads_three_statements_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch reads: per batch of tenant ids one statement for the ids, one for the histories
    and one for the documents with their lines, however many tenants and invoices (5 tenants
    in batches of 2: 3 batches x 3 = 9 statements, and 1 for the vendor's versions)."""
    engine = crmcore_sql.create_engine("sqlite://")
    crmcore_sql.migrate(engine)
    uow = lambda: crmcore_sql.unit_of_work(engine)  # noqa: E731
    build_book(uow, "acme", 5)
    monkeypatch.setattr("crmcore.app.whatif.REPRICE_BATCH", 2)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        if text.lstrip().upper().startswith("SELECT"):
            statements.append(text)

    event.listen(engine, "before_cursor_execute", count)
    report = reprice(uow, vendor("acme", "600.00", JAN), JAN, date(2026, 6, 30))
    event.remove(engine, "before_cursor_execute", count)
    assert report.tenants == 5
    assert len(statements) == 1 + 3 * 3, statements
    assert REPRICE_BATCH == 500
    engine.dispose()


# --- the command line -------------------------------------------------------------------------


def test_reprice_table_shows_the_top_biggest_changes_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``--json``: the ``--top`` biggest changes of gross, biggest first, then the
    totals; the same table from 2 processes; ``--top`` outside 1..10000 exits 2. The rows
    are those of ``--json``'s ``by_tenant`` sorted by |gross difference|."""
    url = f"sqlite:///{tmp_path / 'book.db'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    build_book(lambda: crmcore_sql.unit_of_work(engine), "acme", 9)
    engine.dispose()
    path = tmp_path / "dearer.json"
    path.write_text(vendor("acme", "650.00", JAN).dumps_json(), encoding="utf-8")
    window = ["--db", url, "--vendor", str(path), "--from", "2026-03-01", "--to", "2026-06-30"]
    assert main(["reprice", *window, "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    rows = sorted(
        full["by_tenant"].items(),
        key=lambda item: (-abs(Decimal(item[1]["difference"]["gross"])), item[0]),
    )
    assert main(["reprice", *window, "--top", "3"]) == 0
    shown = capsys.readouterr()
    one = shown.out.splitlines()
    assert shown.err.splitlines() == ["repriced 9 of 9 tenants"]  # one batch; not a terminal
    assert "the 3 biggest changes of 9 tenants" in one[0]
    assert [line.split() for line in one[1:4]] == [
        [tenant, t["before"]["gross"], t["after"]["gross"], t["difference"]["gross"]]
        for tenant, t in rows[:3]
    ]
    assert one[4].startswith("9 tenants of acme, 2026-03-01..2026-06-30: ")
    assert f"difference {full['difference']['gross']} CZK gross" in one[4]
    assert main(["reprice", *window, "--top", "3", "--workers", "2"]) == 0
    shown = capsys.readouterr()
    assert shown.out.splitlines() == one
    counts = [int(line.split()[1]) for line in shown.err.splitlines()]  # "repriced k of 9 ..."
    assert counts == sorted(counts) and counts[-1] == 9, shown.err
    assert all(line.endswith(" of 9 tenants") for line in shown.err.splitlines())
    assert main(["reprice", *window, "--top", "0"]) == 2
    assert capsys.readouterr().err.strip().startswith("--top: ")


def test_the_progress_bar_on_a_terminal() -> None:
    """``crmcore reprice`` on a terminal: 3,000 of 10,000 is 30 % of 30 characters, 9 filled
    (30 × 3000 // 10000 = 9); 1 of 3 in 3 characters is 1 filled and 33 % (100 // 3); no
    tenant at all is complete."""
    assert progress_bar(3000, 10_000) == f"[{'#' * 9}{'.' * 21}]  30% 3000/10000 tenants"
    assert progress_bar(1, 3, width=3) == "[#..]  33% 1/3 tenants"
    assert progress_bar(10_000, 10_000, width=4) == "[####] 100% 10000/10000 tenants"
    assert progress_bar(0, 0, width=2) == "[##] 100% 0/0 tenants"
