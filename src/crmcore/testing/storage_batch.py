"""The storage contract of the batch reads (issue 17, ``crmcore reprice``): tenant ids of one
vendor, many histories at once, the documents of many tenants issued in a window.
:class:`crmcore.testing.storage.StorageContract` inherits these tests.

Each batch read must give exactly what the one-tenant reads give (``history``,
``for_tenant`` filtered by issue day): differential tests, two paths that must agree.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.events import Activated, SeatsAdded, TenantCreated
from crmcore.invoices import Invoice, InvoiceLine, LineKind
from crmcore.money import Money
from crmcore.ports import UnitOfWork

__all__ = ["BatchReadContract"]

_PRAGUE = ZoneInfo("Europe/Prague")
_AT = datetime(2026, 1, 5, 9, 0, tzinfo=_PRAGUE)


def _unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _document(tenant_id: str, key: str, issued: date, net: str, number: str) -> Invoice:
    """An invoice of one subscription line (or, ``key`` ending in ``c``, a correction of
    ``-net``) issued on ``issued``."""
    correction = key.endswith("c")
    amount = Money.of(net, "CZK")
    return Invoice(
        tenant_id=tenant_id,
        number=number,
        series=f"S-{tenant_id}",
        issued=issued,
        due=issued + timedelta(days=14),
        currency="CZK",
        vat_rate=Decimal("0.21"),
        lines=(  # type: ignore[arg-type]  # attrs converter=tuple
            InvoiceLine(
                LineKind.SUBSCRIPTION,
                "BILL-6" if correction else "BILL-2",
                -amount if correction else amount,
                plan="standard",
                seats=2,
                description=f"document {key}",
            ),
            InvoiceLine(LineKind.TRANSFER_FEE, "BILL-4", Money.of("50.00", "CZK")),
        ),
        key=key,
        corrects="1" if correction else None,
        corrected_net=amount if correction else None,
    )


class BatchReadContract:
    """Abstract; :meth:`unit_of_work` is provided by the storage contract's subclass."""

    __test__ = False

    def unit_of_work(self) -> UnitOfWork:
        raise NotImplementedError

    def test_ids_of_one_vendor_are_filtered_by_the_storage(self) -> None:
        """``ids(vendor=)``: only that vendor's tenants, in order; ``limit`` counts those
        (a batch of 2 is 2 of the vendor's, however many others lie between)."""
        prefix = _unique("vendor-ids")
        owners = ["raynet", "livespace", "livespace", "raynet", "livespace", "raynet"]
        names = [f"{prefix}-{index}" for index in range(len(owners))]
        with self.unit_of_work() as uow:
            for name, owner in zip(names, owners, strict=True):
                uow.tenants.add(name, owner, [TenantCreated(_AT, name)])
            uow.commit()
        raynet = [n for n, o in zip(names, owners, strict=True) if o == "raynet"]
        with self.unit_of_work() as uow:
            first = uow.tenants.ids(after=prefix, limit=2, vendor="raynet")
            assert first == raynet[:2]
            rest = uow.tenants.ids(after=first[-1], vendor="raynet")
            assert [n for n in rest if n.startswith(prefix)] == raynet[2:]
            every = uow.tenants.ids(after=prefix, limit=len(names))
            assert every == names  # vendor=None: every vendor's

    def test_count_is_the_number_of_ids(self) -> None:
        """``count(vendor=)`` against ``len(ids(vendor=))`` (two paths that must agree), before
        and after adding 2 tenants of ``raynet`` and 1 of ``livespace`` in one transaction,
        read inside it too."""
        prefix = _unique("count")
        with self.unit_of_work() as uow:
            before = {v: uow.tenants.count(v) for v in ("raynet", "livespace", None)}
            for index, owner in enumerate(["raynet", "livespace", "raynet"]):
                uow.tenants.add(
                    f"{prefix}-{index}", owner, [TenantCreated(_AT, f"{prefix}-{index}")]
                )
            inside = {v: uow.tenants.count(v) for v in ("raynet", "livespace", None)}
            uow.commit()
        with self.unit_of_work() as uow:
            for vendor, added in (("raynet", 2), ("livespace", 1), (None, 3)):
                assert uow.tenants.count(vendor) == inside[vendor] == before[vendor] + added
                assert uow.tenants.count(vendor) == len(uow.tenants.ids(vendor=vendor))
            assert uow.tenants.count("no-such-vendor") == 0

    def test_histories_are_each_tenants_history(self) -> None:
        """``histories`` of several tenants equals ``history`` of each (events in version
        order across several appends); an unknown id is absent; no ids, no rows."""
        prefix = _unique("histories")
        names = [f"{prefix}-{index}" for index in range(3)]
        with self.unit_of_work() as uow:
            for index, name in enumerate(names):
                uow.tenants.add(name, "raynet", [TenantCreated(_AT, name)])
                activated = Activated(_AT + timedelta(days=1), "business", seats=1 + index)
                version = uow.tenants.append(name, [activated], expected_version=1)
                for more in range(index):
                    added = SeatsAdded(_AT + timedelta(days=2 + more), 1)
                    version = uow.tenants.append(name, [added], expected_version=version)
            uow.commit()
        with self.unit_of_work() as uow:
            unknown = _unique("histories-unknown")
            found = uow.tenants.histories([names[2], unknown, names[0], names[1]])
            assert found == {name: uow.tenants.history(name) for name in names}
            assert [len(found[name]) for name in names] == [2, 3, 4]
            assert uow.tenants.histories([]) == {}

    @settings(max_examples=10, deadline=None)
    @given(
        days=st.lists(st.integers(min_value=0, max_value=120), min_size=0, max_size=6),
        window=st.tuples(
            st.integers(min_value=0, max_value=120), st.integers(min_value=0, max_value=60)
        ),
    )
    def test_issued_between_is_for_tenant_in_the_window(
        self, days: list[int], window: tuple[int, int]
    ) -> None:
        """BILL-6, BILL-7: ``issued_between`` gives each tenant's documents (invoices and
        corrections, every line, exact amounts) issued from ``first`` to ``last``, both
        included, as ``for_tenant`` filtered by issue day; a tenant with none is absent.
        ``last_issued`` names the first of the latest day's, as ``for_tenant`` orders them."""
        start = date(2026, 1, 1)
        first = start + timedelta(days=window[0])
        last = first + timedelta(days=window[1])
        tenants = [_unique("window"), _unique("window"), _unique("window")]
        with self.unit_of_work() as uow:
            for index, day in enumerate(days):
                owner = tenants[index % 2]  # the third tenant has no documents
                key = f"k{index}c" if index % 3 == 2 else f"k{index}"
                net = f"{1000 + index}.{index:02d}"
                issued = start + timedelta(days=day)
                uow.invoices.add(_document(owner, key, issued, net, _unique("n")))
            uow.commit()
        with self.unit_of_work() as uow:
            found = uow.invoices.issued_between(tenants, first, last)
            expected = {
                tenant: [i for i in uow.invoices.for_tenant(tenant) if first <= i.issued <= last]
                for tenant in tenants
            }
            assert found == {tenant: docs for tenant, docs in expected.items() if docs}
            assert uow.invoices.issued_between([], first, last) == {}
            for tenant in tenants:  # BILL-6: what a command checks, in one light read
                docs = uow.invoices.for_tenant(tenant)
                latest = max((doc.issued for doc in docs), default=None)
                first_of_latest = next((d for d in docs if d.issued == latest), None)
                assert uow.invoices.last_issued(tenant) == (
                    None
                    if first_of_latest is None
                    else (first_of_latest.number, first_of_latest.issued)
                )

    def test_issued_between_keeps_the_window_edges_and_exact_amounts(self) -> None:
        """Hand-computed: documents on 31 Jan, 1 Feb, 28 Feb and 1 Mar; the window 1..28 Feb
        holds the middle two: 1000.10 + 50.00 = 1050.10 and -999.99 + 50.00 = -949.99 net."""
        tenant = _unique("edges")
        issued = [date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 1)]
        nets = ["1.00", "1000.10", "999.99", "2.00"]
        keys = ["a", "b", "cc", "d"]  # "cc": a correction of -999.99
        with self.unit_of_work() as uow:
            for day, net, key in zip(issued, nets, keys, strict=True):
                uow.invoices.add(_document(tenant, key, day, net, _unique("n")))
            uow.commit()
        with self.unit_of_work() as uow:
            (documents,) = uow.invoices.issued_between(
                [tenant], date(2026, 2, 1), date(2026, 2, 28)
            ).values()
        assert [(d.issued, d.net.amount, d.type) for d in documents] == [
            (date(2026, 2, 1), Decimal("1050.10"), "invoice"),
            (date(2026, 2, 28), Decimal("-949.99"), "correction"),
        ]
        assert documents[1] == attrs.evolve(
            _document(tenant, "cc", date(2026, 2, 28), "999.99", "x"),
            number=documents[1].number,
        )
