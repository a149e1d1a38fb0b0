"""The one SQLAlchemy MetaData every crmcore_sql table belongs to.

VIS-1 on MariaDB/MySQL: their default collations (``utf8mb4_general_ci``) compare ``ACME``,
``acme``, ``acme `` and ``ácme`` as equal, in WHERE clauses and in primary and unique keys, so
tenants that differ only so would share seats, records and counters. Every table of this
metadata is therefore created with an exact collation (:func:`exact_collation`: binary and
without trailing-space padding) as its default, so every id, key and code column compares
byte for byte; the migration ``0004`` converts the tables of older databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table, event
from sqlalchemy.engine import Dialect

__all__ = ["EXACT", "exact_collation", "metadata"]

#: ``Table(..., info={EXACT: True})``: an application table created with the exact collation on
#: MariaDB/MySQL, like crmcore's own.
EXACT = "crmcore_exact_collation"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def exact_collation(dialect: Dialect) -> str | None:
    """The utf8mb4 collation comparing strings exactly on a MariaDB/MySQL server (``None`` on
    other engines, which compare exactly already): MariaDB's ``utf8mb4_nopad_bin``, MySQL 8's
    ``utf8mb4_0900_bin`` (``utf8mb4_bin`` pads trailing spaces: ``'acme' = 'acme '``), and
    ``utf8mb4_bin`` on an older MySQL, which has no binary collation without padding."""
    if dialect.name != "mysql":
        return None
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    version = dialect.server_version_info or (0,)
    return "utf8mb4_0900_bin" if version >= (8, 0) else "utf8mb4_bin"


@event.listens_for(Table, "before_create")
def _exact_on_mysql(table: Table, connection: Any, **_: Any) -> None:
    """Give every crmcore table created on MariaDB/MySQL (by ``create_all`` or by a migration's
    ``op.create_table`` of a table of this metadata) the exact collation as its default. The
    application's own tables are left as they are, unless they ask for it with
    ``info={EXACT: True}`` (as a table of records keyed by tenant id should, VIS-1)."""
    collation = exact_collation(connection.dialect)
    if collation is None or not (table.name in metadata.tables or table.info.get(EXACT)):
        return
    table.dialect_kwargs["mysql_charset"] = "utf8mb4"
    table.dialect_kwargs["mysql_collate"] = collation
