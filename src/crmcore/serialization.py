"""One cattrs converter for crmcore's values, with strict hooks.

- ``Decimal`` from a decimal string or int only; a float is refused (BILL-7) and dumped as str.
- ``datetime`` from an ISO 8601 string with an offset; naive ones refused (TIME-1).
- ``date`` from ``YYYY-MM-DD``.
- ``Fraction`` from ``"19/28"`` (or an int), dumped as that string.
- enums only from one of their values (``StrEnum`` would otherwise pass as any ``str``).
- ``frozenset``/``tuple`` from lists, dumped as lists (sets sorted, so output is deterministic).

Errors are collected with cattrs' detailed validation and turned into one
:class:`~crmcore.errors.MultipleValidationErrors` subclass that lists every bad path at once.
"""

from __future__ import annotations

import enum
import json
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import ClassValidationError, IterableValidationError
from cattrs.v import transform_error

from crmcore.dates import parse_aware_datetime, parse_date, require_aware
from crmcore.errors import CrmError, MultipleValidationErrors
from crmcore.money import parse_decimal

__all__ = ["converter", "error_paths", "parse_document", "structure_strict"]

T = TypeVar("T")

converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)


def _value_error(exc: CrmError) -> ValueError:
    # A hook runs at the attribute's own path: drop the error's placeholder field name so the
    # path is not repeated, keep the message and the rule.
    return ValueError(exc.problem + (f" ({exc.rule})" if exc.rule else ""))


def _structure_decimal(value: object, _type: type) -> Decimal:
    try:
        return parse_decimal(value, "value")
    except CrmError as exc:
        raise _value_error(exc) from exc


def _structure_datetime(value: object, _type: type) -> datetime:
    try:
        if isinstance(value, datetime):
            return require_aware(value, "value")
        return parse_aware_datetime(value, "value")
    except CrmError as exc:
        raise _value_error(exc) from exc


def _structure_date(value: object, _type: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return parse_date(value, "value")
    except CrmError as exc:
        raise _value_error(exc) from exc


def _structure_fraction(value: object, _type: type) -> Fraction:
    # Exact proration fractions (PRO-1) travel as "19/28" strings (or ints); floats are refused.
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be a fraction string such as '19/28', got {value!r}")
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"must be a fraction string such as '19/28', got {value!r}") from None


def _structure_enum(value: object, type_: type[enum.Enum]) -> enum.Enum:
    try:
        return type_(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in type_)
        raise ValueError(f"must be one of {allowed}, got {value!r}") from None


def _structure_time(value: object, _type: type) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be an HH:MM time string, got {value!r}")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be an HH:MM time, got {value!r}") from None


def _structure_int(value: object, _type: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, got {value!r}")
    return value


def _structure_str(value: object, _type: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    return value


def _structure_bool(value: object, _type: type) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_unstructure_hook(Decimal, str)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_unstructure_hook(datetime, lambda v: v.isoformat())
converter.register_structure_hook(date, _structure_date)
converter.register_unstructure_hook(date, lambda v: v.isoformat())
converter.register_structure_hook(time, _structure_time)
converter.register_unstructure_hook(time, lambda v: v.isoformat(timespec="minutes"))
converter.register_structure_hook(Fraction, _structure_fraction)
converter.register_unstructure_hook(Fraction, str)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(bool, _structure_bool)
# StrEnum subclasses str: without these, the str hook would accept any string for an enum field
# (singledispatch follows the MRO, and StrEnum/IntEnum precede str/int in it).
converter.register_structure_hook(enum.Enum, _structure_enum)
converter.register_structure_hook(enum.StrEnum, _structure_enum)
converter.register_structure_hook(enum.IntEnum, _structure_enum)


_COLLECTIONS = (tuple, frozenset, set, list)


def _is_collection(type_: Any) -> bool:
    return type_ in _COLLECTIONS or get_origin(type_) in _COLLECTIONS


def _structure_collection(value: object, type_: Any) -> Any:
    # cattrs would iterate any iterable: a string "api" would become the features {"a", "p",
    # "i"} and a dict its keys. Collections come from JSON/TOML arrays only.
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValueError(f"must be a list, got {value!r}")
    origin = get_origin(type_) or type_
    if origin is tuple:
        return converter._structure_tuple(value, type_)
    if origin is frozenset:
        return converter._structure_set(value, type_, structure_to=frozenset)
    if origin is set:
        return converter._structure_set(value, type_)
    return list_structure_factory(type_, converter)(value, type_)


def _attrs_structure_factory(cls: Any) -> Callable[[Any, Any], Any]:
    # An attrs value comes from a JSON/TOML object only; without this check a list or a number
    # fails deep inside cattrs with an AttributeError or TypeError text.
    structure_fields = converter.gen_structure_attrs_fromdict(cls)

    def structure(value: Any, type_: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError(f"must be an object, got {value!r}")
        return structure_fields(value, type_)

    return structure


def _is_frozenset(type_: Any) -> bool:
    return type_ is frozenset or getattr(type_, "__origin__", None) is frozenset


converter.register_structure_hook_func(_is_collection, _structure_collection)
converter.register_structure_hook_factory(attrs.has, _attrs_structure_factory)
converter.register_unstructure_hook_func(
    _is_frozenset, lambda v: sorted(converter.unstructure(x) for x in v)
)

_NESTED = "\x00"
_FIELD = "\x01"


def _format_exception(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, MultipleValidationErrors):
        # A constructor already listed its own paths: keep them as they are.
        return _NESTED + "\x1f".join(exc.errors)
    if isinstance(exc, CrmError):
        text = exc.problem + (f" ({exc.rule})" if exc.rule else "")
        if exc.field:
            # Raised by a constructor or validator: its field is below the reported path.
            return _FIELD + exc.field + _FIELD + text
        return text
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown field(s) {sorted(exc.extra_fields)}"
    if isinstance(exc, ValueError | TypeError):
        return str(exc) or type(exc).__name__
    return f"invalid value ({type(exc).__name__}: {exc})"


def error_paths(exc: ClassValidationError | IterableValidationError, root: str = "$") -> list[str]:
    """Every failure inside a cattrs validation error as ``"path: message"`` strings."""
    messages = transform_error(exc, path=root, format_exception=_format_exception)
    return _reorder(messages)


def _reorder(messages: list[str]) -> list[str]:
    # transform_error yields "message @ path"; present as "path: message".
    result: list[str] = []
    for message in messages:
        if message.startswith(_NESTED):
            result.extend(message[1:].rsplit(" @ ", 1)[0].split("\x1f"))
        elif " @ " in message:
            text, path = message.rsplit(" @ ", 1)
            if text.startswith(_FIELD):
                _, field, text = text.split(_FIELD, 2)
                if not path.endswith(f".{field}") and not field.startswith("$"):
                    path = f"{path}.{field}"
            result.append(f"{path}: {text}")
        elif message.startswith(_FIELD):
            _, field, text = message.split(_FIELD, 2)
            result.append(f"{field}: {text}")
        else:
            result.append(message)
    return result


def structure_strict(
    data: object,
    cls: type[T],
    *,
    error: Callable[[list[str]], MultipleValidationErrors],
    root: str = "$",
) -> T:
    """``converter.structure`` that turns every failure into one typed error listing paths."""
    try:
        return converter.structure(data, cls)
    except (ClassValidationError, IterableValidationError) as exc:
        raise error(error_paths(exc, root)) from exc
    except MultipleValidationErrors as exc:
        raise error(list(exc.errors)) from exc
    except CrmError as exc:
        raise error([f"{root}: {exc}"]) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise error([f"{root}: {_format_exception(exc, cls)}"]) from exc


def parse_document(
    text: str, fmt: str, *, error: Callable[[list[str]], MultipleValidationErrors]
) -> Any:
    """Parse ``text`` as ``fmt`` (``"json"`` or ``"toml"``); a syntax error becomes ``error``
    with the path ``$`` and the parser's message, so a file's syntax and its values are refused
    the same way."""
    try:
        return tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise error([f"$: not valid {fmt.upper()} ({exc})"]) from None
