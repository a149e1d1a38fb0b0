"""What a unit of work read that its later statements need not read again (issue 14: a
command's round trips).

A command (:func:`crmcore.app.commands.record`) starts with its tenant's history.
:meth:`SqlTenantRepository.history <crmcore_sql.repositories.SqlTenantRepository.history>`
reads the tenant's row in one statement with what the command asks for next: the stamp of
its vendor's versions (:data:`VendorStamp`), the invoice issued last and the last stored
event. Later calls in the same transaction answer from that read:

- ``invoices.last_issued``, until the transaction writes an invoice;
- ``vendors.versions``, from the engine's cache of vendors (:mod:`crmcore_sql.histories`)
  when the stamp it was read with is the one just read, until the transaction writes a vendor;
- ``tenants.append`` right after the history: the version and the event it follows are the
  ones read (its ``UPDATE ... WHERE version = expected`` still refuses a writer that came
  first, with ``ConcurrencyError``).

After a successful commit, the histories the transaction read and then appended to go into
the engine's history cache (the update proved that nobody else wrote in between), so the
next command on that tenant reads no events, only the tenant's row, which still checks the
last event. The events kept are copies of the caller's (:func:`_own`). A rollback forgets
what the transaction read: ``uow.rollback()`` (``TransactionState.reset``), and a rollback the
caller makes through the connection, to a savepoint of its own or of the whole transaction
(:meth:`TransactionReads.forget`, called by the unit of work's connection listener). Every
unit of work starts empty.
"""

from __future__ import annotations

from datetime import date

import attrs

from crmcore.events import Event

__all__ = ["TenantRead", "TransactionReads", "VendorStamp"]

#: How many versions a vendor has, the day its latest takes effect and the greatest of their
#: tokens (``vendors.token``, random, migration 0016). Versions are only ever added after the
#: latest (``check_vendor_version``) and never change, and versions deleted and stored again
#: get new tokens, so this names them.
VendorStamp = tuple[int, date | None, str | None]


@attrs.frozen
class TenantRead:
    """A tenant's row as a command read it, with what the command needs next."""

    vendor: str
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
        for read in reversed(self.tenants.values()):  # the latest read
            if read.vendor == name:
                return read.vendor_stamp
        return None

    def appended(self, tenant_id: str, expected_version: int, events: tuple[Event, ...]) -> None:
        """``events`` were appended after version ``expected_version``: what the history is
        now, and what it is once this transaction commits, when the history this transaction
        knew ends there (else it knows nothing more of the tenant)."""
        known = self.histories.pop(tenant_id, None)
        read = self.tenants.get(tenant_id)
        incarnation = None if read is None else read.incarnation
        before = self.committed.pop((tenant_id, incarnation), None) if incarnation else None
        if known is None or len(known) != expected_version:
            return
        history = self.histories[tenant_id] = (*known, *_own(events))
        if incarnation is not None and (before is None or before == known):
            self.committed[(tenant_id, incarnation)] = history

    def added(self, tenant_id: str, incarnation: str, events: tuple[Event, ...]) -> None:
        """A tenant was added with ``events``: its whole history, once committed."""
        history = self.histories[tenant_id] = _own(events)
        self.committed[(tenant_id, incarnation)] = history

    def forget(self) -> None:
        """The caller rolled back (to a savepoint, or the whole transaction through the
        connection): what was read or appended may be undone, so nothing is known of it. The
        written flags stay: the transaction's own writes before the savepoint remain."""
        self.tenants.clear()
        self.histories.clear()
        self.committed.clear()


def _own(events: tuple[Event, ...]) -> tuple[Event, ...]:
    """Copies of the caller's events, for the histories kept: each event of a history is its
    own object (evaluations tell events apart by identity), however the caller reuses its
    objects later (the same object appended twice, or recorded again)."""
    return tuple(attrs.evolve(event) for event in events)
