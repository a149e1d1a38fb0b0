"""One role vocabulary for accounts and visibility (issue 16): ``crmcore.visibility.language.Role``.

An account's role (``crmcore.ports.User.role``, SEAT-4, VIS-7) and a principal's (VIS-2, VIS-3,
VIS-6) are the same enum; the accounts' former spelling ``"user"`` names ``Role.EMPLOYEE`` on
input and is never output (stored and printed as ``"employee"``).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.app.services import USER_ROLES
from crmcore.errors import SeatError, ValidationError
from crmcore.ports import User
from crmcore.tenancy.seats import ACCOUNT_CREATORS, check_account_creation
from crmcore.visibility.language import EMPLOYER_ROLES, Role

#: What accounts accepted before the one enum (``app.services.USER_ROLES`` was this text).
FORMER_ACCOUNT_ROLES = ("owner", "administrator", "supervisor", "user", "external")
#: What visibility accepted (the ``users.role`` column of the visibility tables).
VISIBILITY_ROLES = ("owner", "administrator", "supervisor", "employee", "external")
SPELLINGS = frozenset(FORMER_ACCOUNT_ROLES) | frozenset(VISIBILITY_ROLES)


def test_vis7_every_former_spelling_of_either_vocabulary_is_still_accepted() -> None:
    """VIS-7, SEAT-4: both vocabularies' five words read as the five roles, the one word they
    differed in (``user`` / ``employee``) as the same member; output is the member's value."""
    accounts = [Role(text) for text in FORMER_ACCOUNT_ROLES]
    visibility = [Role(text) for text in VISIBILITY_ROLES]
    assert accounts == visibility == list(Role)
    assert Role("user") is Role.EMPLOYEE
    assert str(Role("user")) == "employee" == Role.EMPLOYEE.value
    assert [str(User("t", "ann", text).role) for text in FORMER_ACCOUNT_ROLES] == list(
        VISIBILITY_ROLES
    )
    assert frozenset(Role) == USER_ROLES
    assert all(text in USER_ROLES for text in VISIBILITY_ROLES)  # a StrEnum is its text


def test_vis7_an_account_made_with_user_equals_one_made_with_employee() -> None:
    """VIS-7: ``User(..., "user")``, ``User(..., "employee")``, ``User(..., Role.EMPLOYEE)`` and
    the default are one account (equal, one hash): stored once, read back equal."""
    made = {
        User("t", "ann", "user"),
        User("t", "ann", "employee"),
        User("t", "ann", Role.EMPLOYEE),
        User("t", "ann"),
    }
    assert made == {User("t", "ann", Role.EMPLOYEE)}
    (only,) = made
    assert only.role is Role.EMPLOYEE


@given(st.text(max_size=20).filter(lambda text: text not in SPELLINGS))
def test_vis7_any_other_text_is_refused_naming_field_value_and_rule(text: str) -> None:
    """VIS-7: text naming no role (``"admin"``, ``"Owner"``, ``"employee "``, ``""``) is refused
    when the account is made: a ValidationError naming ``user.role``, the value and VIS-7."""
    with pytest.raises(ValidationError) as refused:
        User("t", "ann", text)
    assert (refused.value.field, refused.value.rule) == ("user.role", "VIS-7")
    assert repr(text)[:20] in str(refused.value)
    with pytest.raises(ValidationError) as parsed:
        Role.parse(text, field="principal.role", rule="VIS-2")
    assert (parsed.value.field, parsed.value.rule) == ("principal.role", "VIS-2")


@pytest.mark.parametrize(
    "value", ["Owner", "ADMINISTRATOR", " user", "employee ", "admin", None, 1]
)
def test_vis7_spellings_are_exact(value: object) -> None:
    """VIS-7: no case folding or trimming (a role stored as ``OWNER`` is a row written outside
    crmcore: refused, not guessed), and a value that is not text is refused the same way."""
    with pytest.raises(ValidationError) as refused:
        User("t", "ann", value)  # type: ignore[arg-type]
    assert refused.value.field == "user.role"
    assert refused.value.rule == "VIS-7"


@given(st.sampled_from(sorted(SPELLINGS)) | st.text(max_size=15) | st.sampled_from(list(Role)))
def test_seat4_account_creation_is_allowed_exactly_to_the_employers(creator: str) -> None:
    """SEAT-4 against VIS-2 (differential): an account is created by exactly the roles that
    are the employer's (owner, administrator), whichever way the creator's role is spelled;
    text naming no role is refused by SEAT-4 (a refusal, not an input error), naming it."""
    try:
        role: Role | None = Role(creator)
    except ValueError:
        role = None
    if role is not None and role in EMPLOYER_ROLES:
        assert check_account_creation(creator) is role
        assert role in ACCOUNT_CREATORS
        return
    with pytest.raises(SeatError) as refused:
        check_account_creation(creator)
    assert (refused.value.field, refused.value.rule) == ("creator_role", "SEAT-4")
    assert repr(str(creator))[:20] in str(refused.value)


def test_seat4_the_employee_spelled_user_creates_no_account() -> None:
    """SEAT-4: ``"user"`` (an employee) and ``Role.EMPLOYEE`` are refused alike, each named as
    given; ACCOUNT_CREATORS = {owner, administrator} = EMPLOYER_ROLES."""
    assert ACCOUNT_CREATORS == EMPLOYER_ROLES == {Role.OWNER, Role.ADMINISTRATOR}
    for creator, shown in (("user", "'user'"), (Role.EMPLOYEE, "'employee'")):
        with pytest.raises(SeatError, match=shown):
            check_account_creation(creator)
