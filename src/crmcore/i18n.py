"""placeholder"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for extraction into the catalogues without translating it here."""
    return message
