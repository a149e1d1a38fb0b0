"""Alembic migrations: upgrade from empty works on every engine and yields exactly the
metadata the code uses (no drift)."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Numeric, column, insert, inspect, select, table, text

import crmcore_sql
import crmcore_sql.tables
import crmcore_sql.tables_visibility
from crmcore.events import TenantCreated
from crmcore.money import Money
from crmcore_sql.metadata import exact_collation, metadata
from crmcore_sql.migrate import current_revision, head_revision
from crmcore_sql.tables import (
    invoice_lines,
    invoices,
    payments,
    seat_assignments,
    seat_counts,
    tenants,
)
from crmcore_sql.testing import temporary_database

# the conversion of migration 0004, to give a database the collations it had before it
convert_tables = importlib.import_module(
    "crmcore_sql.migrations.versions.0004_exact_collation"
).convert_tables


def test_upgrade_from_empty_matches_the_metadata(database_url: str) -> None:
    # a fresh database of its own: the session one is shared with other modules
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine)
            crmcore_sql.migrate(engine)  # idempotent
            with engine.connect() as connection:
                assert current_revision(connection) == head_revision()
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                assert compare_metadata(context, metadata) == []
            names = set(inspect(engine).get_table_names())
            assert set(metadata.tables) <= names
            crmcore_sql.require_migrated(engine)
        finally:
            engine.dispose()


def _string_collations(engine: Engine) -> dict[tuple[str, str], str | None]:
    """MariaDB/MySQL: the collation of every string column of the crmcore tables."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                " WHERE table_schema = DATABASE() AND collation_name IS NOT NULL"
            )
        ).all()
    return {(t, c): collation for t, c, collation in rows if t in metadata.tables}


def test_vis1_upgrade_to_0004_makes_ids_compare_exactly(database_url: str) -> None:
    """VIS-1: a 0003 database whose tables have MariaDB's default collation (case-, accent-
    and trailing-space-insensitive) is converted by 0004: every string column of every crmcore
    table is exact, the rows are kept, and ``ACME``/``acme``/``acme ``/``ácme`` are four
    tenants on every engine."""
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0003")
            if engine.dialect.name == "mysql":  # as 0001..0003 created them before 0004
                with engine.begin() as connection:
                    convert_tables(connection, None)
                assert "utf8mb4_general_ci" in _string_collations(engine).values()
            with engine.begin() as connection:
                connection.execute(insert(tenants).values(tenant_id="ACME", vendor="v", version=0))
                connection.execute(insert(seat_counts).values(tenant_id="ACME", bought=2, used=1))
                connection.execute(insert(seat_assignments).values(tenant_id="ACME", person="ann"))
            crmcore_sql.migrate(engine)
            if engine.dialect.name == "mysql":
                exact = exact_collation(engine.dialect)
                collations = _string_collations(engine)
                assert collations and set(collations.values()) == {exact}, collations
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.seats.assigned("ACME") == {"ann"}
                for twin in ("acme", "acme ", "ácme"):
                    created = TenantCreated(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), twin)
                    uow.tenants.add(twin, "raynet", [created])  # a replayable history (TEN-1)
                    assert uow.seats.assigned(twin) == frozenset()
                    uow.seats.set_bought(twin, 1)
                    uow.seats.assign(twin, "ann")
                uow.commit()
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.tenants.ids() == sorted(["ACME", "acme", "acme ", "ácme"])
                assert [uow.seats.bought(t) for t in ("ACME", "acme", "acme ", "ácme")] == [
                    2,
                    1,
                    1,
                    1,
                ]
        finally:
            engine.dispose()


def test_bill7_upgrade_to_0005_converts_stored_amounts_exactly(database_url: str) -> None:
    """BILL-7: amounts stored by 0003 as NUMERIC (on SQLite a binary float: 2427.1) become
    integer minor units with every value as it was written: 2427.10 PLN is 242710, 0.10 PLN
    is 10, 999999999999.99 PLN (15 digits, what a float keeps) is 99999999999999, 1234 JPY
    is 1234, -2.50 PLN is -250; the invoice and the payment read back equal."""
    amounts = [
        ("2427.10", "PLN", 242710),
        ("0.10", "PLN", 10),
        ("999999999999.99", "PLN", 99999999999999),
        ("1234", "JPY", 1234),
        ("-2.50", "PLN", -250),
    ]
    old_invoices = table(
        "invoices",
        *(column(n) for n in ("id", "tenant_id", "key", "series", "number", "issued", "due")),
        column("currency"),
        column("vat_rate", Numeric(7, 4)),
        column("net", Numeric(19, 4)),
    )
    old_lines = table(
        "invoice_lines",
        *(column(n) for n in ("invoice_id", "position", "tenant_id", "kind", "rule")),
        column("net", Numeric(19, 4)),
        column("currency"),
        column("description"),
    )
    old_payments = table(
        "payments",
        *(column(n) for n in ("tenant_id", "at_utc", "at_zone", "currency", "reference")),
        column("amount", Numeric(19, 4)),
    )
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0004")
            with engine.begin() as connection:
                for index, (amount, currency, _) in enumerate(amounts, start=1):
                    connection.execute(
                        insert(old_invoices).values(
                            id=index,
                            tenant_id="t",
                            key=f"k{index}",
                            series="S",
                            number=str(index),
                            issued=date(2026, 3, 1),
                            due=date(2026, 3, 15),
                            currency=currency,
                            vat_rate=Decimal("0.23"),
                            net=Decimal(amount),
                        )
                    )
                    connection.execute(
                        insert(old_lines).values(
                            invoice_id=index,
                            position=0,
                            tenant_id="t",
                            kind="sla_credit" if amount[0] == "-" else "transfer_fee",
                            rule="SLA-6" if amount[0] == "-" else "BILL-4",
                            net=Decimal(amount),
                            currency=currency,
                            description="",
                        )
                    )
                    if not amount.startswith("-"):
                        connection.execute(
                            insert(old_payments).values(
                                tenant_id="t",
                                at_utc=datetime(2026, 3, index),
                                at_zone="UTC",
                                currency=currency,
                                reference=str(index),
                                amount=Decimal(amount),
                            )
                        )
            crmcore_sql.migrate(engine)
            with engine.connect() as connection:
                stored = connection.execute(
                    select(invoices.c.net, invoice_lines.c.net)
                    .join(invoice_lines, invoice_lines.c.invoice_id == invoices.c.id)
                    .order_by(invoices.c.id)
                ).all()
                paid = connection.execute(select(payments.c.amount).order_by(payments.c.id))
                assert [tuple(row) for row in stored] == [(u, u) for _, _, u in amounts]
                assert list(paid.scalars()) == [u for a, _, u in amounts if a[0] != "-"]
            with crmcore_sql.unit_of_work(engine) as uow:
                loaded = uow.invoices.for_tenant("t")
                assert [invoice.net for invoice in loaded] == [
                    Money(Decimal(a), c) for a, c, _ in amounts
                ]
                assert [p.amount for p in uow.payments.for_tenant("t")] == [
                    Money(Decimal(a), c) for a, c, _ in amounts if a[0] != "-"
                ]
        finally:
            engine.dispose()


def test_plan2_upgrade_to_0008_keeps_every_stored_vat_rate(database_url: str) -> None:
    """PLAN-2: rates stored by 0007 as NUMERIC(7, 4) (on SQLite a binary float) become their
    exact decimal text, as the adapter read them before (4 decimals, no trailing zeros):
    0.23 -> "0.23", 0.0512 -> "0.0512", 0.2300 -> "0.23", 0.9999 -> "0.9999", 0 -> "0"; the
    invoices read back with those rates, and a downgrade to 0007 gives the NUMERIC back."""
    from alembic import command

    from crmcore_sql.migrate import alembic_config

    rates = [("0.23", "0.23"), ("0.0512", "0.0512"), ("0.2300", "0.23"), ("0.9999", "0.9999")]
    rates.append(("0", "0"))
    old_invoices = table(
        "invoices",
        *(column(n) for n in ("id", "tenant_id", "key", "series", "number", "issued", "due")),
        column("currency"),
        column("vat_rate", Numeric(7, 4)),
        column("net"),
    )
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0007")
            with engine.begin() as connection:
                for index, (rate, _) in enumerate(rates, start=1):
                    connection.execute(
                        insert(old_invoices).values(
                            id=index,
                            tenant_id="t",
                            key=f"k{index}",
                            series="S",
                            number=str(index),
                            issued=date(2026, 3, 1),
                            due=date(2026, 3, 15),
                            currency="PLN",
                            vat_rate=Decimal(rate),
                            net=0,
                        )
                    )
            crmcore_sql.migrate(engine)
            with engine.connect() as connection:
                stored = connection.execute(select(invoices.c.vat_rate).order_by(invoices.c.id))
                assert list(stored.scalars()) == [text for _, text in rates]
            with crmcore_sql.unit_of_work(engine) as uow:
                loaded = sorted(uow.invoices.for_tenant("t"), key=lambda invoice: invoice.key)
                assert [str(invoice.vat_rate) for invoice in loaded] == [t for _, t in rates]
            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "0007")
            with engine.connect() as connection:
                back = connection.execute(select(old_invoices.c.vat_rate).order_by("id"))
                assert list(back.scalars()) == [Decimal(t) for _, t in rates]
        finally:
            engine.dispose()


def test_downgrade_to_0003_and_upgrade_again_keeps_the_invoices(database_url: str) -> None:
    """0005 and 0004 can be undone: an invoice stored at head survives a downgrade to 0003
    (amounts back to NUMERIC, default collations) and the upgrade again, digit for digit."""
    from alembic import command

    from crmcore.testing.storage import sample_invoice
    from crmcore_sql.migrate import alembic_config

    invoice = sample_invoice("t-down", "2026-02")
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine)
            with crmcore_sql.unit_of_work(engine) as uow:
                uow.invoices.add(invoice)
                uow.commit()
            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "0003")
            with engine.connect() as connection:
                assert current_revision(connection) == "0003"
            crmcore_sql.migrate(engine)
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.invoices.for_tenant("t-down") == [invoice]
        finally:
            engine.dispose()


def test_trial_6_upgrade_to_0014_merges_the_counts_of_one_identity_spelt_apart(
    database_url: str,
) -> None:
    """TRIAL-6: counts stored under keys that now normalise alike are added up ("cz 1234
    5678" and "cz12345678": 1 + 1 = 2 at raynet), per vendor (livespace's stays 1, re-keyed);
    a domain keeps its hyphen ("my-shop.cz"); a key with a hyphen and no dot loses it ("cz-9":
    2). ``trials_of`` then counts every spelling as one."""
    from crmcore_sql.tables import trial_identities

    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0013")
            with engine.begin() as connection:
                connection.execute(
                    insert(trial_identities),
                    [
                        {"vendor": "raynet", "identity": "cz 1234 5678", "trials": 1},
                        {"vendor": "raynet", "identity": "cz12345678", "trials": 1},
                        {"vendor": "raynet", "identity": "my-shop.cz", "trials": 1},
                        {"vendor": "raynet", "identity": "cz-9", "trials": 2},
                        {"vendor": "livespace", "identity": "cz 1234 5678", "trials": 1},
                    ],
                )
            crmcore_sql.migrate(engine)
            with engine.connect() as connection:
                rows = connection.execute(
                    select(
                        trial_identities.c.vendor,
                        trial_identities.c.identity,
                        trial_identities.c.trials,
                    ).order_by(trial_identities.c.vendor, trial_identities.c.identity)
                ).all()
            assert [tuple(row) for row in rows] == [
                ("livespace", "cz12345678", 1),
                ("raynet", "cz12345678", 2),
                ("raynet", "cz9", 2),
                ("raynet", "my-shop.cz", 1),
            ]
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.tenants.trials_of("raynet", "CZ 1234-5678") == 2
                assert uow.tenants.trials_of("raynet", "ann@my-shop.cz") == 1
        finally:
            engine.dispose()


def test_trial_6_upgrade_to_0009_counts_the_identities_of_stored_tenants(database_url: str) -> None:
    """TRIAL-6: tenants stored before 0009 are counted by their creation's identity,
    normalised, so ``trials_of`` counts them too (two ``acme.cz`` addresses, one tenant
    without identity, one ``acme.cz`` at another vendor)."""
    from alembic import command

    from crmcore_sql.convert import event_to_row
    from crmcore_sql.migrate import alembic_config
    from crmcore_sql.tables import tenant_events

    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    created = [
        TenantCreated(at, "t-ann", " Ann@ACME.cz"),
        TenantCreated(at, "t-bob", "bob@acme.cz"),
        TenantCreated(at, "t-none"),
        TenantCreated(at, "t-other", "eve@acme.cz"),
    ]
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "0008")
            with engine.begin() as connection:
                for event in created:
                    connection.execute(
                        insert(tenants).values(
                            tenant_id=event.tenant_id,
                            vendor="livespace" if event.tenant_id == "t-other" else "raynet",
                            version=1,
                        )
                    )
                    connection.execute(
                        insert(tenant_events).values(event_to_row(event.tenant_id, 1, event))
                    )
            crmcore_sql.migrate(engine)
            with crmcore_sql.unit_of_work(engine) as uow:
                assert uow.tenants.trials_of("raynet", "carol@acme.cz") == 2
                assert uow.tenants.trials_of("livespace", "acme.cz") == 1
                assert uow.tenants.history("t-ann") == (created[0],)
                uow.tenants.add("t-new", "raynet", [TenantCreated(at, "t-new", "dan@acme.cz")])
                assert uow.tenants.trials_of("raynet", "acme.cz") == 3
        finally:
            engine.dispose()


def test_bill6_upgrade_to_0010_turns_month_marks_into_their_last_day(database_url: str) -> None:
    """BILL-6: the job marks tenants per day now (``crmcore bill --up-to``); a tenant marked
    for a month by 0008 (``2026-02``) is marked for its last day (``2026-02-28``), which is
    what ``--period 2026-02`` stands for, so a re-run of that month claims nobody again. The
    downgrade gives the month's mark back and drops a mid-month day's (a re-run then issues
    nothing twice: the invoices are keyed)."""
    from alembic import command

    from crmcore_sql.migrate import alembic_config
    from crmcore_sql.tables import billing_marks

    marks = table("billing_marks", column("period"), column("tenant_id"))
    with temporary_database(database_url) as url:
        engine = crmcore_sql.create_engine(url)
        try:
            crmcore_sql.migrate(engine, "0008")
            with engine.begin() as connection:
                connection.execute(
                    insert(marks),
                    [
                        {"period": "2026-02", "tenant_id": "a"},
                        {"period": "2024-02", "tenant_id": "a"},
                        {"period": "2026-03", "tenant_id": "b"},
                    ],
                )
            crmcore_sql.migrate(engine)
            with engine.begin() as connection:
                stored = connection.execute(
                    select(billing_marks.c.period, billing_marks.c.tenant_id).order_by(
                        billing_marks.c.period
                    )
                ).all()
                assert [tuple(row) for row in stored] == [
                    ("2024-02-29", "a"),
                    ("2026-02-28", "a"),
                    ("2026-03-31", "b"),
                ]
                connection.execute(insert(billing_marks).values(period="2026-03-10", tenant_id="a"))
            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "0008")
            with engine.connect() as connection:
                back = connection.execute(
                    select(marks.c.period, marks.c.tenant_id).order_by("period")
                )
                assert [tuple(row) for row in back] == [
                    ("2024-02", "a"),
                    ("2026-02", "a"),
                    ("2026-03", "b"),
                ]
                assert "billing_failures" not in inspect(connection).get_table_names()
        finally:
            engine.dispose()
