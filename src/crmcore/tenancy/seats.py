"""Seat rules (SEAT-1..5) as pure checks on counts and the set of assigned people.

- SEAT-1: a tenant pays for used + free accounts (``seats``); ``persons`` are the used ones.
- SEAT-2: one account per person; re-assigning is an unassign then an assign.
- SEAT-3: the administrator's account is a seat, so a paid tenant keeps at least one.
- SEAT-4: only an administrator creates user accounts (decision: the owner, who holds every
  administrator right, may too; ``ACCOUNT_CREATORS`` is the set).
- SEAT-5: assigning needs a free account; seats never go below the used accounts.

>>> check_assignment(frozenset({"ann"}), 1, "bob", paid=True)
Traceback (most recent call last):
...
crmcore.errors.SeatError: person: no free account for 'bob' ... (SEAT-5)
"""

from __future__ import annotations

from crmcore.errors import N_, SeatError, short_repr
from crmcore.roles import Role

__all__ = [
    "ACCOUNT_CREATORS",
    "check_account_creation",
    "check_assignment",
    "check_release",
    "check_seats_cover",
    "check_unassignment",
]

#: Roles that may create user accounts (SEAT-4).
ACCOUNT_CREATORS: frozenset[Role] = frozenset({Role.ADMINISTRATOR, Role.OWNER})


def check_account_creation(
    creator_role: Role | str, creators: frozenset[Role] = ACCOUNT_CREATORS
) -> Role:
    """Refuse account creation by anyone but an administrator (SEAT-4); the creator's
    :class:`~crmcore.visibility.language.Role` when allowed. A role given as text is read as
    :class:`Role` reads it (exact spellings, ``"user"`` is an employee's); text naming no
    role is refused like any other creator.

    >>> check_account_creation("employee")
    Traceback (most recent call last):
    ...
    crmcore.errors.SeatError: creator_role: only an administrator may create user accounts, \
not 'employee' (SEAT-4)
    >>> check_account_creation("owner")
    <Role.OWNER: 'owner'>
    """
    try:
        role = Role(creator_role)
    except ValueError:
        role = None
    if role is None or role not in creators:
        raise SeatError(
            N_("only an administrator may create user accounts, not {role}"),
            {"role": short_repr(str(creator_role))},
            field="creator_role",
            rule="SEAT-4",
        )
    return role


def check_assignment(persons: frozenset[str], seats: int, person: str, *, paid: bool) -> None:
    """SEAT-2 and SEAT-5. Unpaid tenants (trial, free plan) buy no seats, so only SEAT-2."""
    if person in persons:
        raise SeatError(
            N_("{person} already has an account"),
            {"person": repr(person)},
            field="person",
            rule="SEAT-2",
        )
    if paid and seats - len(persons) <= 0:
        raise SeatError(
            N_("no free account for {person} ({seats} seat(s), all used); buy a seat first"),
            {"person": repr(person), "seats": seats},
            field="person",
            rule="SEAT-5",
        )


def check_unassignment(persons: frozenset[str], person: str) -> None:
    if person not in persons:
        raise SeatError(
            N_("{person} has no account"), {"person": repr(person)}, field="person", rule="SEAT-2"
        )


def check_release(persons: frozenset[str], seats: int, count: int) -> None:
    """Releasing ``count`` seats keeps every used account and the administrator's (SEAT-3)."""
    used = len(persons)
    if used == 0 and 0 <= seats - count < 1:  # only the administrator's account is in the way
        raise SeatError(
            N_("cannot release {count} of {seats} seat(s): the administrator's account takes one"),
            {"count": count, "seats": seats},
            field="count",
            rule="SEAT-3",
        )
    if seats - count < max(used, 1):
        raise SeatError(
            N_("cannot release {count} of {seats} seat(s): {used} used, {free} free"),
            {"count": count, "seats": seats, "used": used, "free": max(seats - used, 0)},
            field="count",
            rule="SEAT-5",
        )


def check_seats_cover(persons: frozenset[str], seats: int) -> None:
    """A conversion buys at least one seat per person already assigned (SEAT-5, SEAT-3)."""
    if seats < max(len(persons), 1):
        raise SeatError(
            N_("{seats} seat(s) for {assigned} assigned person(s)"),
            {"seats": seats, "assigned": len(persons)},
            field="seats",
            rule="SEAT-5",
        )
