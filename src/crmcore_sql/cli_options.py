"""The options the storage and application sub-commands share: ``--db`` and day options
(one check each, so every command refuses the same bad input the same way)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.engine import Engine

from crmcore.errors import ConfigurationError, ValidationError
from crmcore_sql.engine import create_engine

__all__ = ["DEFAULT_DB", "FIRST_OPTION_DAY", "LAST_OPTION_DAY", "engine_for", "parse_day"]

#: The database of the commands whose --db is optional (vendor, record, status, invoices).
DEFAULT_DB = "sqlite:///crmcore.sqlite"

# The days a job may be run for: wide enough for any real billing, narrow enough that every
# period, due date and dunning threshold (150 days on) after them is still a valid date.
FIRST_OPTION_DAY = date(1900, 1, 1)
LAST_OPTION_DAY = date(9998, 12, 31)


def engine_for(url: str) -> Engine:
    """The engine of a ``--db`` URL; a malformed one is a ValidationError naming ``--db``."""
    try:
        return create_engine(url)
    except ConfigurationError as exc:
        raise ValidationError(str(exc).removeprefix("--db: "), field="--db") from exc


def parse_day(text: str, option: str) -> date:
    """A day option: ``YYYY-MM-DD`` from FIRST_OPTION_DAY to LAST_OPTION_DAY."""
    from crmcore.dates import parse_date

    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) is None:
        raise ValidationError(f"must be a day YYYY-MM-DD, got {text!r}", field=option)
    day = parse_date(text, option)
    if not FIRST_OPTION_DAY <= day <= LAST_OPTION_DAY:
        raise ValidationError(
            f"must be a day from {FIRST_OPTION_DAY} to {LAST_OPTION_DAY}, got {text!r}",
            field=option,
        )
    return day
