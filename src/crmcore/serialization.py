"""One cattrs converter for crmcore's values, with strict hooks.

- ``Decimal`` from a decimal string or int only; a float is refused (BILL-7) and dumped as a
  string in plain notation.
- ``datetime`` from an ISO 8601 string with an offset; naive ones refused (TIME-1).
- ``date`` from ``YYYY-MM-DD``.
- ``Fraction`` from ``"19/28"`` (or an int), dumped as that string.
- enums only from one of their values (``StrEnum`` would otherwise pass as any ``str``).
- ``frozenset``/``tuple`` from lists, dumped as lists (sets sorted, so output is deterministic).

JSON text is read by :func:`read_json`, strictly: UTF-8 only, no duplicate keys (the last would
silently win), no ``NaN``/``Infinity``, no lone surrogates, at most :data:`MAX_JSON_DEPTH`
levels of nesting (deeper documents would exhaust the parser's recursion) and integers of at
most :data:`MAX_JSON_INTEGER_DIGITS` digits. Every refusal is a
:class:`~crmcore.errors.ValidationError` naming the JSON path (or ``$`` with the line and
column):

>>> read_json('{"a": {"b": 1, "b": 2}}')
Traceback (most recent call last):
...
crmcore.errors.ValidationError: $.a.b: duplicate key "b"

Errors are collected with cattrs' detailed validation and turned into one
:class:`~crmcore.errors.MultipleValidationErrors` subclass that lists every bad path at once.

Long because one converter and every strict hook registered on it; apart, a hook could be
missed.
"""

from __future__ import annotations

import enum
import json
import re
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
from crmcore.errors import (
    SHOWN_CHARACTERS,
    CrmError,
    MultipleValidationErrors,
    ValidationError,
    short_repr,
)
from crmcore.money import parse_decimal, plain

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_JSON_INTEGER_DIGITS",
    "check_depth",
    "converter",
    "error_paths",
    "json_path",
    "parse_document",
    "read_document_file",
    "read_json",
    "show_value",
    "structure_strict",
]

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
        raise ValueError(f"must be a fraction string such as '19/28', got {short_repr(value)}")
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(
            f"must be a fraction string such as '19/28', got {short_repr(value)}"
        ) from None


def _structure_enum(value: object, type_: type[enum.Enum]) -> enum.Enum:
    try:
        return type_(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in type_)
        raise ValueError(f"must be one of {allowed}, got {short_repr(value)}") from None


def _structure_time(value: object, _type: type) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be an HH:MM time string, got {short_repr(value)}")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be an HH:MM time, got {short_repr(value)}") from None


def _structure_int(value: object, _type: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, got {short_repr(value)}")
    return value


def _structure_str(value: object, _type: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {short_repr(value)}")
    return value


def _structure_bool(value: object, _type: type) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {short_repr(value)}")
    return value


converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_unstructure_hook(Decimal, plain)  # "1000", never "1E+3"
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
        raise ValueError(f"must be a list, got {short_repr(value)}")
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
            raise ValueError(f"must be an object, got {short_repr(value)}")
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
    if fmt != "toml":
        try:
            return read_json(text)
        except ValidationError as exc:
            raise error([str(exc)]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error([f"$: not valid TOML ({exc})"]) from None
    except RecursionError:
        raise error([f"$: not valid TOML (nested more than {MAX_JSON_DEPTH} levels)"]) from None
    try:
        check_depth(data)
    except ValidationError as exc:
        raise error([str(exc)]) from None
    return data


def read_document_file(
    path: Any, *, error: Callable[[list[str]], MultipleValidationErrors]
) -> tuple[str, str]:
    """The suffix format (``"json"`` or ``"toml"``) and UTF-8 text of a document file; a file
    that cannot be read or is not UTF-8 becomes ``error`` at ``$`` (never an ``OSError`` or a
    ``UnicodeDecodeError``)."""
    from pathlib import Path

    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise error([f"$: cannot read {file} ({exc.strerror or exc})"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            [f"$: not valid UTF-8: byte {data[exc.start]:#04x} at offset {exc.start}"]
        ) from None
    return ("toml" if file.suffix.lower() == ".toml" else "json"), text


# --- strict JSON ---------------------------------------------------------------------------------

#: The deepest nesting of objects and arrays a document may have. Every crmcore document needs
#: fewer than 8 levels; the bound keeps a hostile document from exhausting the recursion of the
#: parser, the validators and the error reporting.
MAX_JSON_DEPTH = 32
#: The longest integer literal read (Python refuses to convert longer ones from text).
MAX_JSON_INTEGER_DIGITS = 4000

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_path(parent: str, key: str | int) -> str:
    """The path of ``key`` below ``parent``: ``$.plans[0].code``; with the root ``""`` the
    scenario style ``plans[0].code``."""
    if isinstance(key, int):
        return f"{parent or '$'}[{key}]" if not parent else f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def show_value(value: object) -> str:
    """``value`` as JSON text for an error message: on one line, cut to
    :data:`SHOWN_CHARACTERS` characters (a huge number or string must not make a huge
    message)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 190:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
        if not all(c.isprintable() or c == " " for c in text):
            text = json.dumps(value, default=str)  # \u escapes: one line, encodable
    except (TypeError, ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    if len(text) > SHOWN_CHARACTERS:
        text = text[: SHOWN_CHARACTERS - 3] + "..."
    return text


class _Pairs(dict[str, Any]):
    """An object whose text repeated a key (``duplicate`` names the first repeated key)."""

    duplicate: str


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            flagged = _Pairs(pairs)
            flagged.duplicate = key
            return flagged
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValidationError(f"not valid JSON: {name} is not a JSON number", field="$")


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_INTEGER_DIGITS:
        raise ValidationError(
            f"not valid JSON: an integer of {digits} digits is too long "
            f"(at most {MAX_JSON_INTEGER_DIGITS})",
            field="$",
        )
    return int(text)


def _text_depth(text: str) -> tuple[int, int]:
    """The deepest nesting of ``text`` and the offset where it first passes the bound."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(lambda m: " " * len(m.group()), text)):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return depth, match.start()
        else:
            depth -= 1
    return depth, -1


def read_json(data: str | bytes, root: str = "$") -> Any:
    """Parse one JSON document strictly (see the module docstring); ``root`` starts the paths
    of the errors (``"$"``, or ``""`` for the scenario style ``events[0].on``)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"not valid UTF-8: byte {data[exc.start]:#04x} at offset {exc.start}",
                field=root or "$",
            ) from None
    else:
        text = data
    _depth, offset = _text_depth(text)
    if offset >= 0:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise ValidationError(
            f"nested more than {MAX_JSON_DEPTH} levels deep at line {line} column {column}",
            field=root or "$",
        )
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_pairs,
            parse_constant=_no_constant,
            parse_int=_integer,
        )
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field=root or "$",
        ) from None
    except ValidationError as exc:
        raise ValidationError(exc.problem, field=root or "$") from None
    except (ValueError, RecursionError) as exc:  # a number Python cannot convert
        raise ValidationError(f"not valid JSON: {exc}", field=root or "$") from None
    _check_parsed(document, root)
    return document


def _check_parsed(document: Any, root: str) -> None:
    """Duplicate keys and lone surrogates, found in document order with their path."""
    stack: list[tuple[str, Any]] = [(root, document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _Pairs):
            raise ValidationError(
                f"duplicate key {show_value(value.duplicate)}",
                field=json_path(path, value.duplicate),
            )
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ValidationError(
                    "not valid JSON text: a lone UTF-16 surrogate", field=path or "$"
                )
        elif isinstance(value, dict):
            for key in value:
                if _SURROGATE.search(key):
                    raise ValidationError(
                        "not valid JSON text: a lone UTF-16 surrogate in a key", field=path or "$"
                    )
            stack.extend((json_path(path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((json_path(path, i), v) for i, v in reversed(list(enumerate(value))))


def check_depth(document: object, root: str = "$", limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a document (already parsed, e.g. a dict built in Python) nested more than
    ``limit`` levels deep, naming the path of the first container past the bound. Iterative,
    so it cannot itself run out of recursion."""
    stack: list[tuple[str, object, int]] = [(root, document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                raise ValidationError(f"nested more than {limit} levels deep", field=path or "$")
            if isinstance(value, dict):
                items: list[tuple[str | int, object]] = list(value.items())
            else:
                items = list(enumerate(value))
            for key, item in reversed(items):
                if isinstance(key, str | int):
                    stack.append((json_path(path, key), item, depth + 1))
