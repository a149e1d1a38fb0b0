"""The one role vocabulary of a tenant's users (issue 16): an account's role
(:class:`crmcore.ports.User`, SEAT-4, VIS-7) and a visibility principal's
(:class:`crmcore.visibility.language.Principal`, VIS-2, VIS-3, VIS-6) are one :class:`Role`.

Spelled, stored (the ``users.role`` column of ``crmcore_sql``) and output as its value; the
accounts' former spelling ``"user"`` is read as :attr:`Role.EMPLOYEE` on input, never output.
"""

from __future__ import annotations

import enum

from crmcore.errors import ValidationError, short_repr

__all__ = ["Role"]


class Role(enum.StrEnum):
    """A tenant user's role: of an account (:class:`crmcore.ports.User`, SEAT-4, VIS-7) and of
    a visibility principal (VIS-2, VIS-3, VIS-6) alike, one vocabulary.

    Spelled, stored and output as its value (``"employee"``); the accounts' former spelling
    ``"user"`` is accepted on input and names :attr:`EMPLOYEE` (``Role("user") is
    Role.EMPLOYEE``); nothing else is (``Role("Owner")`` is refused: spellings are exact).

    >>> Role("user"), str(Role("user"))
    (<Role.EMPLOYEE: 'employee'>, 'employee')
    >>> Role.parse("admin", field="user.role")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: user.role: unknown role 'admin' (known: owner, \
administrator, supervisor, employee (or user), external) (VIS-7)
    """

    OWNER = "owner"
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    EMPLOYEE = "employee"
    EXTERNAL = "external"  # a customer contact (VIS-6)

    @classmethod
    def _missing_(cls, value: object) -> Role | None:
        return cls.EMPLOYEE if value == _ACCOUNT_EMPLOYEE else None

    @classmethod
    def parse(cls, value: object, *, field: str = "role", rule: str = "VIS-7") -> Role:
        """The role ``value`` names (a member, its value or ``"user"``); a
        :class:`~crmcore.errors.ValidationError` naming ``field``, the value and ``rule``
        for anything else."""
        if isinstance(value, str):  # a member is its text
            try:
                return cls(value)
            except ValueError:
                pass
        raise ValidationError(
            f"unknown role {short_repr(value)} (known: {_KNOWN_ROLES})", field=field, rule=rule
        )


#: The accounts' former spelling of :attr:`Role.EMPLOYEE`, accepted on input (issue 16).
_ACCOUNT_EMPLOYEE = "user"

#: The spellings :meth:`Role.parse` accepts, for error messages.
_KNOWN_ROLES = ", ".join(
    f"{role.value} (or {_ACCOUNT_EMPLOYEE})" if role is Role.EMPLOYEE else role.value
    for role in Role
)
