"""The exception hierarchy: one root, builtin bases, messages with path and rule ID."""

from __future__ import annotations

import pickle

import pytest

from crmcore import errors
from crmcore.errors import (
    CatalogError,
    CrmError,
    CurrencyMismatchError,
    MultipleValidationErrors,
    NaiveDatetimeError,
    NotFound,
    PolicyError,
    SeatError,
    StorageError,
    UnknownPlan,
    ValidationError,
    VisibilityError,
)


def test_message_names_field_and_rule_SEAT_1() -> None:
    error = SeatError("must be a positive integer, got -2", field="events[3].count", rule="SEAT-1")
    assert str(error) == "events[3].count: must be a positive integer, got -2 (SEAT-1)"
    assert (error.field, error.rule, error.problem) == (
        "events[3].count",
        "SEAT-1",
        "must be a positive integer, got -2",
    )
    assert str(CrmError("plain")) == "plain"


@pytest.mark.parametrize(
    ("error_class", "builtin"),
    [
        (ValidationError, ValueError),
        (NaiveDatetimeError, ValueError),
        (CurrencyMismatchError, ValueError),
        (UnknownPlan, LookupError),
        (NotFound, LookupError),
        (VisibilityError, PermissionError),
        (StorageError, RuntimeError),
        (SeatError, ValueError),
    ],
)
def test_errors_also_subclass_the_matching_builtin(
    error_class: type[CrmError], builtin: type[Exception]
) -> None:
    assert issubclass(error_class, CrmError)
    assert issubclass(error_class, builtin)


def test_every_public_error_is_a_crm_error() -> None:
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, Exception)
    ]
    assert len(classes) > 20
    assert all(issubclass(cls, CrmError) for cls in classes)


def test_naive_datetime_error_names_field_and_TIME_1() -> None:
    error = NaiveDatetimeError("created_at", "2026-01-05 09:00")
    assert str(error) == "created_at: must be timezone-aware, got naive '2026-01-05 09:00' (TIME-1)"


def test_multiple_errors_list_every_path() -> None:
    error = CatalogError(["$.a: bad", "$.b: worse"], what="catalogue", rule="PLAN-1")
    assert error.errors == ("$.a: bad", "$.b: worse")
    assert str(error) == "2 invalid value(s) in catalogue: $.a: bad; $.b: worse (PLAN-1)"
    assert isinstance(error, MultipleValidationErrors)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    "error",
    [
        SeatError("no free account", field="person", rule="SEAT-5"),
        NaiveDatetimeError("at", "x"),
        CatalogError(["$.a: bad"], what="catalogue", rule="PLAN-1"),
        PolicyError(["$.b: bad"], what="policy"),
    ],
)
def test_errors_survive_pickling_with_type_field_and_rule(error: CrmError) -> None:
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is type(error)
    assert str(restored) == str(error)
    assert (restored.field, restored.rule) == (error.field, error.rule)
