"""The ``vendors`` table: one row per version of a vendor (crmcore.vendors.Vendor).

A version is stored as its JSON document (``Vendor.to_document``), so rates and fees keep
their exact decimal text and the document read back is the one written. The name compares
exactly on every engine: on MariaDB/MySQL the column uses the binary collation
``utf8mb4_bin`` (the default collations there ignore case and trailing spaces).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, PrimaryKeyConstraint, String, Table, Text
from sqlalchemy.dialects import mysql

from crmcore_sql.metadata import metadata

__all__ = ["VENDOR_NAME", "vendors"]

#: The vendor name column's type: binary collation on MariaDB/MySQL, exact elsewhere.
VENDOR_NAME = String(64).with_variant(
    mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)

vendors = Table(
    "vendors",
    metadata,
    Column("name", VENDOR_NAME, nullable=False),
    Column("effective", Date, nullable=False),
    Column("document", Text, nullable=False),
    PrimaryKeyConstraint("name", "effective"),
)
