"""The ``vendors`` table: one row per version of a vendor (crmcore.vendors.Vendor).

A version is stored as its JSON document (``Vendor.to_document``), so rates and fees keep
their exact decimal text and the document read back is the one written. The name compares
exactly on every engine: on MariaDB/MySQL the table gets the exact collation of every
crmcore table (``crmcore_sql.metadata.exact_collation``: binary, without trailing-space
padding; the default collations there ignore case and trailing spaces).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, PrimaryKeyConstraint, String, Table, Text

from crmcore_sql.metadata import metadata

__all__ = ["VENDOR_NAME", "vendors"]

#: The vendor name column's type (exact on MariaDB/MySQL by the table's collation).
VENDOR_NAME = String(64)

vendors = Table(
    "vendors",
    metadata,
    Column("name", VENDOR_NAME, nullable=False),
    Column("effective", Date, nullable=False),
    Column("document", Text, nullable=False),
    # a random token written with the version (migration 0016): the greatest of a vendor's
    # tokens is part of the stamp that names its versions (crmcore_sql.reads.VendorStamp)
    Column("token", String(32), nullable=True),
    PrimaryKeyConstraint("name", "effective"),
)
