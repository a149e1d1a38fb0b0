"""The tenants' histories and the vendors' versions already read, per engine (issue 14,
command latency).

A tenant's events are appended with the next version and never change, and a tenant added
again under the same id (after its rows were deleted) gets a new incarnation
(``tenants.incarnation``, migration 0015). So the first ``n`` committed events of a tenant are
known by its id, its incarnation and ``n``: :meth:`SqlTenantRepository.history
<crmcore_sql.repositories.SqlTenantRepository.history>` keeps what it read (never events its
own transaction wrote, which a rollback could take back) and next time reads only the events
after them, checking that the last one it knows is still stored as it was (else it reads the
whole history). This rests on stored events never changing: a database restored or edited
underneath a running process (events rewritten in place, the incarnation kept) must not be
read through an engine that read it before; give those tenants a new incarnation (``UPDATE
tenants SET incarnation = NULL`` makes their histories be read in full) or start a new engine.

A vendor's versions are known by its name and their stamp (:data:`crmcore_sql.reads.
VendorStamp`: how many and the latest day), which a command reads with its tenant's row:
versions are only added after the latest and never change, so the same stamp means the same
versions (the same contract: a vendor's rows deleted or edited underneath a running process
need :func:`forget` or a new engine).
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy.engine import Engine

from crmcore.caches import BoundedCache
from crmcore.events import Event
from crmcore.vendors import Vendor
from crmcore_sql.reads import VendorStamp

__all__ = ["HistoryCache", "VendorCache", "forget", "history_cache", "vendor_cache"]

_Key = tuple[str, str]  # (tenant id, incarnation)


class HistoryCache(BoundedCache[_Key, tuple[Event, ...]]):
    """The events read of at most ``size`` tenants and ``events`` events in all, the least
    recently used dropped; a shorter read (an older snapshot) never replaces a longer one."""

    def __init__(self, size: int = 256, events: int = 200_000) -> None:
        super().__init__(len, size, events, _longer, budget_field="events")
        self.events = events


def _longer(known: tuple[Event, ...], read: tuple[Event, ...]) -> bool:
    return len(read) >= len(known)


#: a vendor's name: the stamp its versions were read with, and those versions
VendorCache = BoundedCache[str, tuple[VendorStamp, tuple[Vendor, ...]]]

_CACHES: weakref.WeakKeyDictionary[Engine, tuple[HistoryCache, VendorCache]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def _caches(engine: Engine) -> tuple[HistoryCache, VendorCache]:
    with _LOCK:
        caches = _CACHES.get(engine)
        if caches is None:
            versions: VendorCache = BoundedCache(lambda read: len(read[1]), 256, 100_000)
            caches = _CACHES[engine] = (HistoryCache(), versions)
        return caches


def history_cache(engine: Engine) -> HistoryCache:
    """The histories read of ``engine``'s database (one cache per engine: two databases never
    share one)."""
    return _caches(engine)[0]


def vendor_cache(engine: Engine) -> VendorCache:
    """The vendors' versions read of ``engine``'s database."""
    return _caches(engine)[1]


def forget(engine: Engine) -> None:
    """Forget every history and vendor ``engine`` read: for rows deleted or edited underneath
    (``crmcore_sql.testing.empty_tables`` calls it), which the caches cannot tell."""
    histories, versions = _caches(engine)
    histories.clear()
    versions.clear()
