"""The storage tables (SQLAlchemy 2.0 Core, no ORM classes).

Money is an integer of the currency's minor units (``BIGINT``: ``12.34`` PLN is ``1234``) with
a currency column, exact on every engine (SQLite's ``NUMERIC`` is a binary float) (BILL-7); a
VAT rate is its exact decimal text (``0.2300``; ``crmcore_sql.convert.vat_rate_to_column``)
(PLAN-2);
instants are stored as UTC (``*_utc``, naive, always UTC) with the zone name kept beside them
(``*_zone``), so nothing depends on a server's local time (TIME-1). Every tenant-owned table
starts its primary key or unique key with ``tenant_id`` (VIS-1).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from crmcore_sql.metadata import metadata

__all__ = [
    "api_call_counts",
    "billing_checkpoints",
    "billing_failures",
    "billing_marks",
    "catalogs",
    "file_usage",
    "invoice_lines",
    "invoice_series",
    "invoices",
    "outages",
    "outbox_consumers",
    "outbox_counter",
    "outbox_events",
    "payments",
    "record_counts",
    "record_totals",
    "seat_assignments",
    "seat_counts",
    "stored_files",
    "tenant_events",
    "tenants",
    "trial_identities",
    "users",
    "users_counter",
]

AMOUNT = BigInteger  # integer minor units of the row's currency (crmcore_sql.convert)
VAT_RATE_LENGTH = 24  # a VAT rate's exact decimal text: "0.2300", about 20 decimals at most
ID = 64
ROLE = 32  # a crmcore.roles.Role's value

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(ID), primary_key=True),
    Column("vendor", String(ID), nullable=False),
    Column("version", Integer, nullable=False),
    # a random token written when the tenant is added (migration 0015): with the tenant id and
    # a count of events, it names committed events that never change (the history's cache)
    Column("incarnation", String(32), nullable=True),
)

# TRIAL-6: the tenants of a vendor created with an identity (normalised,
# crmcore.tenancy.trials.normalise_identity), one row per vendor and identity, counted by the
# upsert of ``tenants.add``: ``trials_of`` reads one row, no history, and the row stays locked
# until the registration commits, so registrations of one identity are decided one after the other.
trial_identities = Table(
    "trial_identities",
    metadata,
    Column("vendor", String(ID), nullable=False),
    Column("identity", String(255), nullable=False),
    Column("trials", Integer, nullable=False),
    PrimaryKeyConstraint("vendor", "identity"),
)

tenant_events = Table(
    "tenant_events",
    metadata,
    Column("tenant_id", String(ID), ForeignKey("tenants.tenant_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("at_utc", DateTime(), nullable=False),
    Column("at_zone", String(ID), nullable=False),
    Column("payload", Text, nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
)

catalogs = Table(
    "catalogs",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("document", Text, nullable=False),
)

invoice_series = Table(
    "invoice_series",
    metadata,
    Column("series", String(ID), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(ID), nullable=False),
    Column("key", String(128), nullable=False),
    Column("series", String(ID), nullable=False),
    Column("number", String(ID), nullable=False),
    Column("issued", Date, nullable=False),
    Column("due", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("vat_rate", String(VAT_RATE_LENGTH), nullable=False),  # exact decimal text
    Column("billing_email", String(255)),
    Column("period_first_day", Date),
    Column("period_last_day", Date),
    Column("net", AMOUNT, nullable=False),
    Column("corrects", String(ID)),  # a correction (BILL-6): the number it corrects
    Column("corrected_net", AMOUNT),  # and that invoice's net before it, in minor units
    UniqueConstraint("tenant_id", "key", name="uq_invoices_tenant_key"),
    UniqueConstraint("series", "number", name="uq_invoices_series_number"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", Integer, ForeignKey("invoices.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("tenant_id", String(ID), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("rule", String(20), nullable=False),
    Column("net", AMOUNT, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("plan", String(ID)),
    Column("seats", Integer),
    Column("first_day", Date),
    Column("last_day", Date),
    Column("fraction_numerator", Integer),
    Column("fraction_denominator", Integer),
    Column("description", Text, nullable=False),
    PrimaryKeyConstraint("invoice_id", "position"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(ID), nullable=False, index=True),
    Column("at_utc", DateTime(), nullable=False),
    Column("at_zone", String(ID), nullable=False),
    Column("amount", AMOUNT, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reference", String(255), nullable=False),
)

outages = Table(
    "outages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(ID), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("at_utc", DateTime(), nullable=False),
    Column("at_zone", String(ID), nullable=False),
)

# REC-6: one counter row per tenant, changed only by a conditional UPDATE, plus the
# per-kind breakdown updated in the same transaction.
record_totals = Table(
    "record_totals",
    metadata,
    Column("tenant_id", String(ID), primary_key=True),
    Column("total", Integer, nullable=False),
)

record_counts = Table(
    "record_counts",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("kind", String(ID), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind"),
)

# SEAT-5: ``used`` only grows by a conditional UPDATE ... WHERE used < bought.
seat_counts = Table(
    "seat_counts",
    metadata,
    Column("tenant_id", String(ID), primary_key=True),
    Column("bought", Integer, nullable=False),
    Column("used", Integer, nullable=False),
)

seat_assignments = Table(
    "seat_assignments",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("person", String(255), nullable=False),
    PrimaryKeyConstraint("tenant_id", "person"),
)

# API-1: one counter row per tenant and vendor day, changed only by a conditional UPDATE
# (``calls < limit``), so concurrent callers never pass the day's limit.
api_call_counts = Table(
    "api_call_counts",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("day", Date, nullable=False),
    Column("calls", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day"),
)

# STOR-1: the tenant's stored bytes, changed only by a conditional UPDATE
# (``used + size <= limit``), then the file's row, in the same step (lock order: file_usage,
# then stored_files).
file_usage = Table(
    "file_usage",
    metadata,
    Column("tenant_id", String(ID), primary_key=True),
    Column("used", BigInteger, nullable=False),
)

stored_files = Table(
    "stored_files",
    metadata,
    Column("tenant_id", String(ID), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "name"),
)

# The one table of a tenant's users (issue 16): the accounts of crmcore.ports.User (SEAT-3,
# SEAT-4, VIS-7; ``account`` is ``User.user_id``, unique per tenant) and the principals the
# visibility filters read (crmcore_sql.visibility: ``id``, ``role``, ``supervisor_id``), one row
# per person. ``id`` is the integer key tasks, assignees, permissions and supervisor links refer
# to: an account's is given by the users repository from ``users_counter`` (locked until its
# transaction ends) and above every stored id, so rows inserted with ids of their own (the
# visibility loaders, the benchmarks) never collide with it. A row without ``account`` is a
# principal only (loaded by an application). ``role`` is crmcore.roles.Role's value
# (``employee``, never the accounts' former ``user``); ``supervisor_id`` the supervisor's row
# (an account's supervisor is ``User.supervisor`` by account). Migration 0013 merged the former
# ``tenant_users`` into it.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", String(ID), nullable=False),
    Column("role", String(ROLE), nullable=False),
    # the supervisor link of the org chart; NULL at the top
    Column("supervisor_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("account", String(ID), nullable=True),
    Index("ix_users_tenant_id_role", "tenant_id", "role"),
    Index("ix_users_supervisor_id", "supervisor_id"),
    # one account per name in a tenant (NULLs, principals without an account, never collide)
    Index("ix_users_tenant_id_account", "tenant_id", "account", unique=True),
)

# The last ``users.id`` given to an account (one row, ``name`` = "users"), locked by the writer
# until its commit: account creators queue for it, so no two take one id.
users_counter = Table(
    "users_counter",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
)

# The billing job's marks: a tenant billed by the run up to a day (``period`` is that day,
# ``YYYY-MM-DD``; ``crmcore bill --period YYYY-MM`` runs up to the month's last day). A mark
# only shares one run's work between workers; the invoice keys make billing idempotent.
billing_marks = Table(
    "billing_marks",
    metadata,
    Column("period", String(10), nullable=False),
    Column("tenant_id", String(ID), nullable=False),
    PrimaryKeyConstraint("period", "tenant_id"),
)

# The billing job's checkpoints (crmcore.billing.checkpoint.BillingCheckpoint): where each
# tenant's billing stood after its last run, written with that run's invoices. A cache: a run
# whose checkpoint is missing, of another basis (catalogue, VAT rate, engine version) or
# overtaken by a late event replays the whole history, and gives the same invoices either way.
billing_checkpoints = Table(
    "billing_checkpoints",
    metadata,
    Column("tenant_id", String(ID), primary_key=True),
    Column("basis", String(64), nullable=False),  # sha256 of what the walk depends on
    Column("events", Integer, nullable=False),  # events of the history it has consumed
    Column("day", Date, nullable=False),  # the last day billed
    Column(
        "payload", Text, nullable=False
    ),  # crmcore.billing.checkpoint.checkpoint_to_data as JSON
)

# The tenants the billing job could not bill (a stored history that cannot be billed: an unknown
# plan, a catalogue without a plan in use, an unreadable event): one row per tenant, its latest
# failure. The tenant is not marked, so the next run tries it again; a run that bills it
# deletes the row (``crmcore bill --failures`` lists them).
billing_failures = Table(
    "billing_failures",
    metadata,
    Column("tenant_id", String(ID), primary_key=True),
    Column("period", String(10), nullable=False),  # the day the failed run billed up to
    Column("error", Text, nullable=False),  # the error's one line, the tenant not repeated
    Column("rule", String(16), nullable=True),  # the rule ID of the refusal, if any
)

# Events out (issue 15, crmcore.outbox): written in the transaction of the change each reports.
# ``id`` is taken from ``outbox_counter`` (one row, locked until the writing transaction ends,
# like ``invoice_series``), not from AUTO_INCREMENT or a sequence: ids then grow in commit
# order, so a reader never finds a committed event below an id it has read. ``key`` is the
# dedupe key within the tenant (NULL: never deduplicated; NULLs do not collide in a unique key).
outbox_events = Table(
    "outbox_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", String(ID), nullable=False),
    Column("type", String(32), nullable=False),
    Column("at", String(64), nullable=False),  # ISO 8601 with its offset (exact, any engine)
    Column("data", Text, nullable=False),  # a JSON object
    Column("key", String(128), nullable=True),
    UniqueConstraint("tenant_id", "key", name="uq_outbox_events_tenant_id_key"),
)

outbox_counter = Table(
    "outbox_counter",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
)

outbox_consumers = Table(
    "outbox_consumers",
    metadata,
    Column("consumer", String(ID), primary_key=True),
    Column("position", BigInteger, nullable=False),  # the id acknowledged last
)
