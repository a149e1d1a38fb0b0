"""``SqlVendorRepository``: vendors and their versions in the ``vendors`` table."""

from __future__ import annotations

import json
import uuid
from datetime import date
from functools import lru_cache

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from crmcore.dates import require_day
from crmcore.errors import ConcurrencyError
from crmcore.vendors import Vendor, check_vendor_version, is_vendor_name, vendor_not_found
from crmcore_sql.histories import vendor_cache
from crmcore_sql.repositories import _SqlRepository
from crmcore_sql.tables_vendors import vendors

__all__ = ["SqlVendorRepository"]


class SqlVendorRepository(_SqlRepository):
    """The SQL :class:`~crmcore.ports.VendorRepository`, on the unit of work's connection."""

    def add(self, vendor: Vendor) -> None:
        """Refused before any write when not after the latest version (the transaction stays
        usable). Adds of one stored vendor are serialised by locking its versions; two first
        versions of a new vendor on the same day: the second gets ``ConcurrencyError``. One
        step (a savepoint): a refusal or a lost race leaves the unit of work as it was."""
        same_name = vendors.c.name == vendor.name
        self._state.reads.vendors_written = True  # its stamps read before are stale
        with self._translating("storing the vendor"), self._atomic():
            # Lock the vendor's versions first: a concurrent add of this vendor waits until
            # the other transaction ends, and the next statement then sees its version (READ
            # COMMITTED). SQLite serialises writers anyway (BEGIN IMMEDIATE).
            self.connection.execute(select(vendors.c.effective).where(same_name).with_for_update())
            latest = self.connection.execute(
                select(func.max(vendors.c.effective)).where(same_name)
            ).scalar_one_or_none()
            check_vendor_version(vendor, latest)
            try:
                self.connection.execute(
                    insert(vendors).values(
                        name=vendor.name,
                        effective=vendor.effective,
                        document=json.dumps(vendor.to_document(), sort_keys=True),
                        token=uuid.uuid4().hex,
                    )
                )
            except IntegrityError as exc:
                raise ConcurrencyError(
                    f"vendor {vendor.name!r}: another writer stored a version taking effect "
                    f"on {vendor.effective} first, retry",
                    field="effective",
                ) from exc

    def get(self, name: str, on: date | None = None) -> Vendor:
        if on is not None:
            require_day(on, "on")  # before any statement: PostgreSQL aborts on a bad type
        if not is_vendor_name(name):  # exact names on every collation (MariaDB pads spaces)
            raise vendor_not_found(name, on)
        query = select(vendors.c.document).where(vendors.c.name == name)
        if on is not None:
            query = query.where(vendors.c.effective <= on)
        with self._translating("reading the vendor"):
            document = self.connection.execute(
                query.order_by(vendors.c.effective.desc()).limit(1)
            ).scalar_one_or_none()
        if document is None:
            raise vendor_not_found(name, on)
        return _parsed(document)

    def versions(self, name: str) -> list[Vendor]:
        """Read, or known from the engine's cache when a tenant's row read in this
        transaction gave the stamp they were read with (:mod:`crmcore_sql.reads`)."""
        if not is_vendor_name(name):
            return []
        cache = vendor_cache(self.connection.engine)
        stamp = self._state.reads.vendor_stamp(name)
        known = cache.get(name) if stamp is not None else None
        if known is not None and known[0] == stamp and self._alive():
            return list(known[1])
        with self._translating("reading the vendor"):
            rows = self.connection.execute(
                select(vendors.c.document, vendors.c.token)
                .where(vendors.c.name == name)
                .order_by(vendors.c.effective)
            ).all()
            read = [_parsed(row.document) for row in rows]
        if not self._state.reads.vendors_written:  # committed versions only
            latest = read[-1].effective if read else None
            token = max((row.token for row in rows if row.token is not None), default=None)
            cache.put(name, ((len(read), latest, token), tuple(read)))
        return read

    def names(self) -> list[str]:
        with self._translating("reading the vendors"):
            return list(
                self.connection.execute(
                    select(vendors.c.name).distinct().order_by(vendors.c.name)
                ).scalars()
            )


@lru_cache(maxsize=256)
def _parsed(document: str) -> Vendor:
    """The vendor a stored document holds, parsed once per process (a vendor is a frozen value
    and its document never changes: every command reads its vendor's versions)."""
    return Vendor.from_document(json.loads(document))
