"""Seat rules (SEAT-1..5) as pure checks on counts and the set of assigned people.

- SEAT-1: a tenant pays for used + free accounts (``seats``); ``persons`` are the used ones.
- SEAT-2: one account per person; re-assigning is an unassign then an assign.
- SEAT-3: the administrator's account is a seat, so a paid tenant keeps at least one.
- SEAT-5: assigning needs a free account; seats never go below the used accounts.

>>> check_assignment(frozenset({"ann"}), 1, "bob", paid=True)
Traceback (most recent call last):
...
crmcore.errors.SeatError: person: no free account for 'bob' ... (SEAT-5)
"""

from __future__ import annotations

from crmcore.errors import SeatError

__all__ = ["check_assignment", "check_release", "check_seats_cover", "check_unassignment"]


def check_assignment(persons: frozenset[str], seats: int, person: str, *, paid: bool) -> None:
    """SEAT-2 and SEAT-5. Unpaid tenants (trial, free plan) buy no seats, so only SEAT-2."""
    if person in persons:
        raise SeatError(f"{person!r} already has an account", field="person", rule="SEAT-2")
    if paid and seats - len(persons) <= 0:
        raise SeatError(
            f"no free account for {person!r} ({seats} seat(s), all used); buy a seat first",
            field="person",
            rule="SEAT-5",
        )


def check_unassignment(persons: frozenset[str], person: str) -> None:
    if person not in persons:
        raise SeatError(f"{person!r} has no account", field="person", rule="SEAT-2")


def check_release(persons: frozenset[str], seats: int, count: int) -> None:
    """Releasing ``count`` seats keeps every used account and the administrator's (SEAT-3)."""
    used = len(persons)
    if seats - count < max(used, 1):
        raise SeatError(
            f"cannot release {count} of {seats} seat(s): {used} used, {max(seats - used, 0)} free",
            field="count",
            rule="SEAT-5",
        )


def check_seats_cover(persons: frozenset[str], seats: int) -> None:
    """A conversion buys at least one seat per person already assigned (SEAT-5, SEAT-3)."""
    if seats < max(len(persons), 1):
        raise SeatError(
            f"{seats} seat(s) for {len(persons)} assigned person(s)", field="seats", rule="SEAT-5"
        )
