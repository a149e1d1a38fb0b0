"""A bounded, thread-safe cache of values that grow (issue 14: the command caches).

:class:`BoundedCache` keeps at most ``size`` entries and ``budget`` units of weight in all
(a prefix's or a history's events), the least recently used dropped. The evaluation's
prefixes (:class:`crmcore.app.evaluation.PrefixCache`) and SQL storage's histories
(:class:`crmcore_sql.histories.HistoryCache`) are such caches: caches, never the record.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from crmcore.errors import ValidationError

__all__ = ["BoundedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most ``size`` entries and ``budget`` of ``weight`` in all, least recently used
    dropped; a value weighing more than the whole budget is not kept. ``replaces(old, new)``
    says whether ``new`` takes the place of a value already kept (by default always)."""

    def __init__(
        self,
        weight: Callable[[V], int],
        size: int = 256,
        budget: int = 200_000,
        replaces: Callable[[V, V], bool] = lambda _old, _new: True,
        budget_field: str = "budget",
    ) -> None:
        for name, value in (("size", size), (budget_field, budget)):
            if value < 1:
                raise ValidationError(f"must be at least 1, got {value}", field=name)
        self.size = size
        self.budget = budget
        self._weight = weight
        self._replaces = replaces
        self._values: OrderedDict[K, V] = OrderedDict()
        self._held = 0  # the weight of the values kept
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            known = self._values.get(key)
            if known is not None:
                if not self._replaces(known, value):
                    return
                self._held -= self._weight(self._values.pop(key))
            weight = self._weight(value)
            if weight > self.budget:
                return  # larger than the whole cache: not kept
            self._values[key] = value
            self._held += weight
            while len(self._values) > self.size or self._held > self.budget:
                _, dropped = self._values.popitem(last=False)
                self._held -= self._weight(dropped)

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._held = 0
