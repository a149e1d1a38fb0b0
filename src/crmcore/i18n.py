"""placeholder"""
from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction"
    """Mark ``message`` for extraction into the catalogues without translating it here."""
    return message
