"""What a unit of work read that its later statements need not read again (issue 14: a
command's round trips).

A command (:func:`crmcore.app.commands.record`) starts with its tenant's history.
:meth:`SqlTenantRepository.history <crmcore_sql.repositories.SqlTenantRepository.history>`
reads the tenant's row in one statement with what the command asks for next: the stamp of
its vendor's versions (how many, the day the latest takes effect), the invoice issued last and
the last stored event. Later calls in the same transaction answer from that read:

- ``invoices.last_issued``, until the transaction writes an invoice;
- ``vendors.versions``, from the engine's cache of vendors (:mod:`crmcore_sql.histories`)
  when the stamp it was read with is the one just read, until the transaction writes a vendor;
- ``tenants.append`` right after the history: the version and the event it follows are the
  ones read (its ``UPDATE ... WHERE version = expected`` still refuses a writer that came
  first, with ``ConcurrencyError``).

After a successful commit, the histories the transaction read and then appended to go into
the engine's history cache (the update proved that nobody else wrote in between), so the
next command on that tenant reads no events, only the tenant's row, which still checks the
last event. A rolled-back transaction knows nothing (``TransactionState.reset``), and neither
does a new one: every unit of work starts empty.
"""

from __future__ import annotations

from datetime import date

import attrs

from crmcore.events import Event

__all__ = ["TenantRead", "TransactionReads", "VendorStamp"]

#: How many versions a vendor has and the day its latest takes effect. Versions are only ever
#: added after the latest (``check_vendor_version``) and never change, so this names them.
VendorStamp = tuple[int, date | None]


@attrs.frozen
class TenantRead:
    """A tenant's row as a command read it, with what the command needs next."""

    vendor: str
    version: int
    incarnation: str | None
    vendor_stamp: VendorStamp
    last_issued: tuple[str, date] | None


class TransactionReads:
    """Shared by a unit of work's repositories (on its ``TransactionState``)."""

    __slots__ = ("committed", "histories", "invoices_written", "tenants", "vendors_written")

    def __init__(self) -> None:
        self.tenants: dict[str, TenantRead] = {}
        #: a tenant's history as this transaction knows it: read, then with what it appended
        self.histories: dict[str, tuple[Event, ...]] = {}
        #: (tenant id, incarnation): the history stored once this transaction commits
        self.committed: dict[tuple[str, str], tuple[Event, ...]] = {}
        self.invoices_written = False
        self.vendors_written = False

    def last_issued(self, tenant_id: str) -> TenantRead | None:
        """The read that knows ``tenant_id``'s invoice issued last, if any still does."""
        return None if self.invoices_written else self.tenants.get(tenant_id)

    def vendor_stamp(self, name: str) -> VendorStamp | None:
        """The stamp of ``name``'s versions read in this transaction, if still true."""
        if self.vendors_written:
            return None
        for read in self.tenants.values():
            if read.vendor == name:
                return read.vendor_stamp
        return None

    def appended(self, tenant_id: str, expected_version: int, events: tuple[Event, ...]) -> None:
        """``events`` were appended after version ``expected_version``: what the history is
        now, and what it is once this transaction commits, when the history this transaction
        knew ends there (else it knows nothing more of the tenant)."""
        known = self.histories.pop(tenant_id, None)
        read = self.tenants.get(tenant_id)
        if known is None or len(known) != expected_version:
            return
        if not {id(event) for event in known}.isdisjoint(id(event) for event in events):
            return  # one object twice: a history's events must be distinct objects
        history = self.histories[tenant_id] = (*known, *events)
        if read is not None and read.incarnation is not None:
            self.committed[(tenant_id, read.incarnation)] = history

    def added(self, tenant_id: str, incarnation: str, events: tuple[Event, ...]) -> None:
        """A tenant was added with ``events``: its whole history, once committed."""
        self.histories[tenant_id] = events
        self.committed[(tenant_id, incarnation)] = events
