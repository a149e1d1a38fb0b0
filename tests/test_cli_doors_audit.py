"""Defects found by trying the command-line doors as a new user would (issue 14), each with
the test that failed before its fix: ``simulate --db`` beside another tenant of the same
preset, a scenario the storage cannot hold, payments dated after today, order errors naming
the option, malformed ``--db`` URLs, a database at an unknown revision, a late ``--as-of``
and invoice-number templates that give one number twice (BILL-6)."""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from crmcore.app.commands import save_vendor
from crmcore.errors import ValidationError
from crmcore.memory import InMemoryStorage
from crmcore.policies import BillingPolicy, check_numbering
from crmcore.vendors import vendor_from_preset
from stored_paths import crmcore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "docs/scenarios/scenarios_md_example.json").read_text())


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _scenario(tmp_path: Path, name: str, **changes: Any) -> str:
    """scenarios_md_example.json (tenant acme, raynet's terms: CZK, VAT 21 %, standard 500.00)
    with ``changes`` to its top-level keys, written to ``name``."""
    document = copy.deepcopy(EXAMPLE) | changes
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def _delta(tmp_path: Path) -> str:
    """Another tenant of the same preset on other terms (VAT 10 %, standard at 600.00),
    created 1 Mar."""
    plans = copy.deepcopy(EXAMPLE["plans"])
    plans[0]["price"]["monthly"] = "600.00"
    return _scenario(
        tmp_path,
        "delta.json",
        tenant={"id": "delta", "created": "2026-03-01T09:00:00+01:00"},
        vat_rate="0.10",
        plans=plans,
        events=[{"on": "2026-03-02", "do": "activate", "plan": plans[0]["code"], "seats": 1}],
    )


def test_simulate_db_beside_another_tenant_of_the_preset_changes_nothing_of_it(
    tmp_path: Path,
) -> None:
    """acme is simulated first (vendor raynet), then delta on other terms: delta's answer is
    the bytes ``simulate FILE`` prints (its own invoice series from 2026/0001, BILL-6) and
    acme's stored invoices and what they were paid stay as they were (its vendor got no new
    version: it was rated again at 10 %, NOTICE-2)."""
    db = f"sqlite:///{tmp_path / 'x.db'}"
    acme = _scenario(tmp_path, "acme.json")
    assert crmcore("simulate", "--db", db, acme).returncode == 0
    before = crmcore("invoices", "--db", db, "--tenant", "acme", "--json").stdout
    delta = _delta(tmp_path)
    stored = crmcore("simulate", "--db", db, delta)
    assert (stored.returncode, stored.stderr) == (0, "")
    assert stored.stdout == crmcore("simulate", delta).stdout
    assert crmcore("invoices", "--db", db, "--tenant", "acme", "--json").stdout == before
    # the same creation day as acme's and other terms: no NOTICE-2 refusal either
    same_day = _scenario(
        tmp_path, "same.json", tenant={"id": "same", "created": EXAMPLE["tenant"]["created"]}
    )
    document = json.loads(Path(same_day).read_text())
    document["vat_rate"] = "0.10"
    Path(same_day).write_text(json.dumps(document))
    again = crmcore("simulate", "--db", db, same_day)
    assert (again.returncode, again.stdout) == (0, crmcore("simulate", same_day).stdout)


def test_simulate_db_refuses_what_storage_cannot_hold_before_creating_anything(
    tmp_path: Path,
) -> None:
    """A price of 999999999999999.99 for 100000 seats is within the scenario's bounds but
    its invoice, 38710677419354838322.57 CZK, is more than 2**63 - 1 minor units (BILL-7):
    refused with one line and exit 2, and the database file is not even created. A scenario
    refused by its input likewise leaves no file."""
    plans = copy.deepcopy(EXAMPLE["plans"])
    plans[0]["price"]["monthly"] = "999999999999999.99"
    huge = _scenario(
        tmp_path,
        "huge.json",
        plans=plans,
        events=[{"on": "2026-01-20", "do": "activate", "plan": plans[0]["code"], "seats": 100000}],
    )
    assert crmcore("simulate", huge).returncode == 0  # in memory: exact, nothing stored
    file = tmp_path / "huge.db"
    refused = crmcore("simulate", "--db", f"sqlite:///{file}", huge)
    assert refused.returncode == 2
    assert "too large to store" in _one_line(refused.stderr)
    assert not file.exists()
    bad = _scenario(tmp_path, "bad.json", events=[{"on": "2026-01-20", "do": "add_seats"}])
    assert crmcore("simulate", "--db", f"sqlite:///{file}", bad).returncode == 2
    assert not file.exists()


def test_simulate_db_takes_the_scenarios_currency_as_simulate_does(tmp_path: Path) -> None:
    """raynet's terms are in CZK; a scenario in EUR is billed in EUR by both doors alike."""
    plans = copy.deepcopy(EXAMPLE["plans"])
    for plan in plans:
        plan["price"] = {cycle: "20.00" for cycle in plan["price"]}
    euro = _scenario(tmp_path, "eur.json", currency="EUR", plans=plans, fees={})
    plain = crmcore("simulate", euro)
    assert plain.returncode == 0
    stored = crmcore("simulate", "--db", f"sqlite:///{tmp_path / 'e.db'}", euro)
    assert (stored.returncode, stored.stdout) == (0, plain.stdout)


def test_invoices_count_payments_dated_after_today(tmp_path: Path) -> None:
    """A tenant of 2127 that paid its first invoice in full: ``crmcore invoices`` says paid,
    as ``simulate --db`` does (it evaluated only up to today and the last issue day)."""
    future = _scenario(
        tmp_path,
        "future.json",
        tenant={"id": "fut", "created": "2127-01-05T09:00:00+01:00"},
        events=[
            {
                "on": "2127-01-20",
                "do": "activate",
                "plan": "standard",
                "seats": 1,
                "payment": "transfer",
            },
            {"on": "2127-01-25", "do": "pay", "everything": True},
        ],
        until="2127-01-31",
    )
    db = f"sqlite:///{tmp_path / 'f.db'}"
    result = json.loads(crmcore("simulate", "--db", db, future).stdout)
    [invoice] = result["invoices"]
    assert invoice["paid"] == invoice["gross"]
    [listed] = json.loads(crmcore("invoices", "--db", db, "--json").stdout)
    assert (listed["number"], listed["paid"]) == (invoice["number"], invoice["gross"])


def test_record_order_errors_name_the_option(tmp_path: Path) -> None:
    """An event before the last one names ``--event.at`` (BILL-6); one before the tenant was
    created is refused naming TEN-1, without the hint that ``recorded`` would make it valid."""
    db = f"sqlite:///{tmp_path / 'o.db'}"
    assert crmcore("simulate", "--db", db, _scenario(tmp_path, "a.json")).returncode == 0
    early = crmcore(
        "record",
        "--db",
        db,
        "--tenant",
        "acme",
        "--event",
        '{"on": "2026-01-19", "do": "pay", "everything": true}',
    )
    assert early.returncode == 2
    assert _one_line(early.stderr).startswith("--event.at: 2026-01-19T00:00:00+01:00 is before")
    event = '{"on": "2026-01-01", "do": "pay", "everything": true, "recorded": "2026-12-01"}'
    before = crmcore("record", "--db", db, "--tenant", "acme", "--event", event)
    assert before.returncode == 2
    line = _one_line(before.stderr)
    assert line.startswith("--event.at: 2026-01-01T00:00:00+01:00 is before the tenant was")
    assert line.endswith("(TEN-1)") and "recorded" not in line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://root@127.0.0.1:3306/", "names no database"),
        ("postgresql+pg8000://postgres@127.0.0.1/x", "no driver for"),
        ("sqlite+aiosqlite:///{tmp}/a.db", "no driver for"),
        ("postgresql://postgres@[::1/x", "not a database URL"),
        ("postgresql://postgres@127.0.0.1:99999/x", "port 99999 is not in 1..65535"),
        ("sqlite:///{tmp}/a.db?timeout=abc", "could not convert"),
    ],
)
def test_a_malformed_db_url_is_one_line_and_exit_2(tmp_path: Path, url: str, says: str) -> None:
    done = crmcore("status", "--db", url.format(tmp=tmp_path), "--tenant", "t1")
    assert done.returncode == 2, done.stderr
    line = _one_line(done.stderr)
    assert line.startswith("--db: ") and says in line


def test_migrate_a_database_at_an_unknown_revision_is_one_line(tmp_path: Path) -> None:
    """A database written by a newer crmcore (a revision these migrations do not know)."""
    file = tmp_path / "m.db"
    assert crmcore("migrate", "--db", f"sqlite:///{file}").returncode == 0
    with sqlite3.connect(file) as connection:
        connection.execute("update alembic_version set version_num = 'ffff9999'")
    done = crmcore("migrate", "--db", f"sqlite:///{file}")
    assert done.returncode == 1
    assert "at revision ffff9999" in _one_line(done.stderr)


def test_status_on_the_last_day_an_option_takes(tmp_path: Path) -> None:
    """``--as-of 9998-12-31`` (the last day a day option takes): the 400 days looked ahead
    end with the calendar, no OverflowError."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    trial = _scenario(tmp_path, "t.json", events=[], until="2026-01-05")
    assert crmcore("simulate", "--db", db, trial).returncode == 0
    done = crmcore("status", "--db", db, "--tenant", "acme", "--as-of", "9998-12-31", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["status"] == "purged"  # TRIAL-4, ages ago


@pytest.mark.parametrize(
    ("invoice_series", "correction_series", "field"),
    [
        ("INV-{number:04d}", "KOR/{year}/{number:04d}", "invoice_series"),
        ("{year}/{number:04d}", "KOR-{number}", "correction_series"),
        ("{year}/{number}", "{year}/{number:d}", "correction_series"),
        ("{year}{number}", "{year}1{number}", "correction_series"),  # 2026 + 11 = 2026 + 1 + 1
    ],
)
def test_bill_6_a_template_giving_one_number_twice_is_refused(
    invoice_series: str, correction_series: str, field: str
) -> None:
    """BILL-6: numbers are unique per vendor. A series starts from 1 again every year, so a
    template without ``{year}`` gives 2026's first number again in 2027; and an invoice and
    a correction may not share a number, though their templates differ as text."""
    billing = BillingPolicy(invoice_series=invoice_series, correction_series=correction_series)
    with pytest.raises(ValidationError) as refused:
        check_numbering(billing, "policy.billing.")
    assert (refused.value.field, refused.value.rule) == (f"policy.billing.{field}", "BILL-6")


def test_bill_6_a_vendor_stored_with_such_a_template_stays_readable_and_correctable() -> None:
    """Checked when terms are saved, not when stored ones are read: a version stored with
    ``FV-{number:06d}`` (before the check) is read and billed by, a version with it again is
    refused naming the template, and one with ``{year}`` is saved."""
    old = BillingPolicy(invoice_series="FV-{number:06d}")
    vendor = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1))
    vendor = attrs.evolve(vendor, policy=attrs.evolve(vendor.policy, billing=old))
    storage = InMemoryStorage()
    with storage.unit_of_work() as uow:  # stored as before the check: the repository as is
        uow.vendors.add(vendor)
        uow.commit()
    with storage.unit_of_work() as uow:
        assert uow.vendors.get("acme").policy.billing.invoice_series == "FV-{number:06d}"
    again = attrs.evolve(vendor, effective=date(2026, 6, 1))
    with pytest.raises(ValidationError) as refused:
        save_vendor(storage.unit_of_work(), again)
    assert (refused.value.field, refused.value.rule) == ("policy.billing.invoice_series", "BILL-6")
    fixed = attrs.evolve(old, invoice_series="FV-{year}-{number:06d}")
    save_vendor(
        storage.unit_of_work(),
        attrs.evolve(again, policy=attrs.evolve(again.policy, billing=fixed)),
    )
    with storage.unit_of_work() as uow:
        assert [v.effective for v in uow.vendors.versions("acme")] == [
            date(2026, 1, 1),
            date(2026, 6, 1),
        ]


def test_bill_6_numbers_past_a_power_of_ten_are_compared_too() -> None:
    """``{year}/{number:04d}`` and ``{year}/{number}`` differ below 1000 (2026/0001, 2026/1)
    and are alike from it on: invoice 1000 and correction 1000 are both 2026/1000."""
    billing = BillingPolicy(
        invoice_series="{year}/{number:04d}", correction_series="{year}/{number}"
    )
    with pytest.raises(ValidationError, match="2026/1000"):
        check_numbering(billing)


def test_simulate_db_beside_tenants_stored_under_the_presets_name(tmp_path: Path) -> None:
    """A tenant stored under ``raynet`` with a catalogue of that name (the earlier way, billed
    in the series ``raynet/2026``): a raynet scenario numbers its invoices in a series of its
    own, from 2026/0001 as ``simulate FILE`` does, not on from the other tenant's."""
    from zoneinfo import ZoneInfo

    import crmcore_sql
    from crmcore.catalog import Catalog, Cycle, Plan, Price
    from crmcore.events import Activated, TenantCreated
    from crmcore.periods import Period
    from crmcore_sql.jobs import bill_period

    prague = ZoneInfo("Europe/Prague")
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = crmcore_sql.create_engine(url)
    crmcore_sql.migrate(engine)
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.catalogs.save("raynet", plans)
        created = TenantCreated(datetime(2026, 1, 5, 9, tzinfo=prague), "legacy")
        activated = Activated(datetime(2026, 1, 6, 9, tzinfo=prague), "standard")
        uow.tenants.add("legacy", "raynet", [created, activated])
        uow.commit()
    bill_period(engine, Period.calendar_month(2026, 1))
    engine.dispose()
    scenario = _scenario(tmp_path, "s.json")
    stored = crmcore("simulate", "--db", url, scenario)
    assert (stored.returncode, stored.stdout) == (0, crmcore("simulate", scenario).stdout)


def test_a_url_that_is_not_one_does_not_show_its_password(tmp_path: Path) -> None:
    done = crmcore("status", "--db", "postgresql://u:secret@localhost:abc/db", "--tenant", "t1")
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert "secret" not in line and "u:***@localhost" in line


def test_a_connection_argument_the_server_driver_cannot_read_is_one_line_and_exit_2() -> None:
    import os

    server = os.environ.get("CRMCORE_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("CRMCORE_TEST_POSTGRES_URL is unset: no postgresql server to test against")
    done = crmcore("status", "--db", f"{server}?connect_timeout=abc", "--tenant", "t1")
    assert done.returncode == 2, done.stderr
    assert _one_line(done.stderr).startswith("--db: cannot connect with ")


def test_preview_refuses_a_payment_finer_than_the_minor_unit(tmp_path: Path) -> None:
    """BILL-7, as ``record`` refuses it: ``preview`` of a payment of 604.995 CZK is refused
    naming ``events[0].amount`` (the scenario format refuses it on the command line)."""
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from crmcore.app.simulation import simulate_stored
    from crmcore.app.whatif import preview
    from crmcore.events import PaymentReceived

    storage = InMemoryStorage()
    simulate_stored(copy.deepcopy(EXAMPLE), storage.unit_of_work)
    paid = PaymentReceived(
        datetime(2026, 6, 20, 9, tzinfo=ZoneInfo("Europe/Prague")), Decimal("604.995")
    )
    with pytest.raises(ValidationError) as refused:
        preview(storage.unit_of_work(), "acme", [paid])
    assert (refused.value.field, refused.value.rule) == ("events[0].amount", "BILL-7")


def test_invoices_lists_a_days_corrections_before_its_invoices_as_simulate(
    tmp_path: Path,
) -> None:
    """BILL-6: seats bought on 10 March, entered on 1 May, the day the May invoice is issued:
    that day's correction (KOR/2026/0001, series ``.../corrections/...``) comes before the May
    invoice in ``simulate``'s result, and so in ``crmcore invoices --json`` and in
    ``tenant_invoices`` on memory storage (they sorted by issue day and number: "2026/0005" <
    "KOR/...")."""
    from crmcore.app.queries import tenant_invoices
    from crmcore.app.simulation import simulate_stored

    document = json.loads((ROOT / "docs/scenarios/late_seat_addition.json").read_text())
    document["events"] = [
        *document["events"][:3],
        {
            "on": "2026-03-10",
            "do": "add_seats",
            "count": 1,
            "recorded": "2026-05-01T10:00:00+02:00",
        },
    ]
    path = tmp_path / "late.json"
    path.write_text(json.dumps(document))
    plain = crmcore("simulate", str(path))
    expected = [(i["issued"], i["number"]) for i in json.loads(plain.stdout)["invoices"]]
    assert expected[-2:] == [("2026-05-01", "KOR/2026/0001"), ("2026-05-01", "2026/0005")]
    db = f"sqlite:///{tmp_path / 'late.db'}"
    assert crmcore("simulate", "--db", db, str(path)).stdout == plain.stdout
    listed = json.loads(crmcore("invoices", "--db", db, "--json").stdout)
    assert [(i["issued"], i["number"]) for i in listed] == expected
    storage = InMemoryStorage()
    simulate_stored(document, storage.unit_of_work)
    stored = tenant_invoices(storage.unit_of_work(), "acme")
    assert [(i.issued.isoformat(), i.number) for i in stored] == expected
