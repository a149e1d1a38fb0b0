"""SQL storage reads a tenant's history once (issue 14, command latency), on every engine.

``SqlTenantRepository.history`` keeps the committed events it read, per engine and tenant
incarnation (:mod:`crmcore_sql.histories`), and next time reads only the events after them.
A cache, never the record: the history read is always the stored one, whatever happened
in between (appends by another unit of work, a rolled-back append, the tenant deleted and
added again under its id, a tenant stored before migration 0015, the last event read stored
otherwise). Stored events never change; one rewritten in place underneath the process is
read right once its tenant's incarnation is cleared.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.catalog import Catalog, Cycle, Plan, Price
from crmcore.events import Activated, Event, SeatsAdded, TenantCreated
from crmcore.vendors import vendor_from_preset
from crmcore_sql import convert
from crmcore_sql.tables import tenant_events, tenants
from stored_paths import emptied

PRAGUE = ZoneInfo("Europe/Prague")
START = datetime(2026, 1, 5, 9, tzinfo=PRAGUE)


def _seat(day: int) -> SeatsAdded:
    return SeatsAdded(START + timedelta(days=day), 1)


def _stored(engine: Engine, extra: int = 3) -> None:
    """Tenant t1 of a stored vendor, activated, with ``extra`` seats bought."""
    emptied(engine)
    plans = Catalog([Plan("standard", 1, [Price("CZK", Cycle.MONTHLY, "500.00")])])
    vendor = vendor_from_preset("raynet", name="acme", effective=date(2026, 1, 1), catalog=plans)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.vendors.add(vendor)
        uow.tenants.add(
            "t1",
            "acme",
            [TenantCreated(START, "t1"), Activated(START + timedelta(hours=1), "standard")],
        )
        uow.tenants.append("t1", [_seat(day) for day in range(1, extra + 1)], 2)
        uow.commit()


def _history(engine: Engine) -> tuple[Event, ...]:
    with crmcore_sql.unit_of_work(engine) as uow:
        return uow.tenants.history("t1")


def _decoded_rows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(events known before, rows decoded) of each history read."""
    reads: list[tuple[int, int]] = []
    real = convert.events_from_rows

    def counting(rows: Any, known: tuple[Event, ...] = ()) -> tuple[Event, ...]:
        reads.append((len(known), len(rows)))
        return real(rows, known)

    monkeypatch.setattr(convert, "events_from_rows", counting)
    return reads


def test_a_second_read_decodes_only_the_events_appended_since(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stored(engine)
    first = _history(engine)
    with crmcore_sql.unit_of_work(engine) as uow:  # another writer appends two seats
        uow.tenants.append("t1", [_seat(10), _seat(11)], len(first))
        uow.commit()
    reads = _decoded_rows(monkeypatch)
    again = _history(engine)
    assert reads == [(5, 2)]  # 5 known, the 2 new ones read
    assert again[:5] == first and again[5:] == (_seat(10), _seat(11))


def test_events_of_a_rolled_back_append_are_never_read_again(engine: Engine) -> None:
    _stored(engine)
    with crmcore_sql.unit_of_work(engine) as uow:
        uow.tenants.append("t1", [_seat(20)], 5)
        assert uow.tenants.history("t1")[-1] == _seat(20)  # its own, uncommitted
        # leaving without commit: rolled back
    assert len(_history(engine)) == 5
    with crmcore_sql.unit_of_work(engine) as uow:  # the version is taken by another event
        uow.tenants.append("t1", [_seat(30)], 5)
        uow.commit()
    assert _history(engine)[-1] == _seat(30)


def test_a_tenant_added_again_under_its_id_has_its_own_history(engine: Engine) -> None:
    _stored(engine, extra=3)
    assert len(_history(engine)) == 5
    _stored(engine, extra=1)  # every table emptied, t1 added again: a new incarnation
    again = _history(engine)
    assert again[-1] == _seat(1) and len(again) == 3


def test_a_tenant_stored_before_migration_0015_is_read_in_full(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stored(engine)
    with engine.begin() as connection:
        connection.execute(update(tenants).values(incarnation=None))
    reads = _decoded_rows(monkeypatch)
    assert _history(engine) == _history(engine)
    assert reads == [(0, 5), (0, 5)]


def _rewrite(engine: Engine, version: int, event: Event) -> None:
    """Event ``version`` of t1 rewritten in place, behind the storage's back (a restore)."""
    changed = convert.event_to_row("t1", version, event)
    with engine.begin() as connection:
        connection.execute(
            update(tenant_events)
            .where(tenant_events.c.tenant_id == "t1", tenant_events.c.version == version)
            .values(payload=changed["payload"])
        )


def test_a_stored_event_unlike_the_one_read_makes_the_whole_history_read(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events never change; should the last one read be rewritten behind the storage's back
    (a restore), the history read is still the stored one."""
    _stored(engine)
    _history(engine)
    _rewrite(engine, 5, SeatsAdded(START + timedelta(days=3), 4))
    reads = _decoded_rows(monkeypatch)
    history = _history(engine)
    assert history[-1] == SeatsAdded(START + timedelta(days=3), 4)
    assert reads[-1] == (0, 5)  # read in full


def test_the_cache_holds_at_most_its_events_in_all() -> None:
    from crmcore_sql.histories import HistoryCache

    cache = HistoryCache(size=10, events=5)
    cache.put(("a", "1"), (_seat(1), _seat(2)))
    cache.put(("b", "1"), (_seat(1), _seat(2), _seat(3)))
    cache.put(("a", "1"), (_seat(1), _seat(2), _seat(3)))  # a longer read of a: b goes
    assert cache.get(("b", "1")) is None and len(cache.get(("a", "1")) or ()) == 3
    cache.put(("c", "1"), tuple(_seat(n) for n in range(6)))  # more than it holds
    assert cache.get(("c", "1")) is None and len(cache) == 1


def test_a_tenant_whose_incarnation_is_cleared_is_read_in_full(engine: Engine) -> None:
    """An earlier event rewritten in place (a restore) is read once the tenant's incarnation
    is cleared (docs/storage.md)."""
    _stored(engine)
    _history(engine)
    _rewrite(engine, 3, SeatsAdded(START + timedelta(days=1), 4))
    with engine.begin() as connection:
        connection.execute(
            update(tenants).where(tenants.c.tenant_id == "t1").values(incarnation=None)
        )
    assert _history(engine)[2] == SeatsAdded(START + timedelta(days=1), 4)
