"""Hypothesis strategies for the service families (MAIL, BACKUP, NOTICE, GDPR, FILE).

Public, so users can property-test their own code with crmcore's values; to be merged into
``crmcore.testing.strategies`` when the foundation's module is on main.

>>> from hypothesis import find
>>> find(mail_items(), lambda item: item.spam).spam
True
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from crmcore.files import ALLOWED_EXTENSIONS
from crmcore.incidents import DataCategory, Incident, IncidentType, Risk
from crmcore.mailbox import EntryKind, MailItem, ThreadEntry

__all__ = [
    "allowed_file_names",
    "contract_days",
    "elapsed",
    "incidents",
    "instants",
    "mail_items",
    "thread_entries",
]

_ZONES = st.sampled_from([UTC, ZoneInfo("Europe/Warsaw"), ZoneInfo("Europe/Prague")])


def instants() -> st.SearchStrategy[datetime]:
    """Aware instants 2000-2090 in UTC or a vendor zone, DST changes included (TIME-1)."""
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=_ZONES
    )


def contract_days() -> st.SearchStrategy[date]:
    """Calendar days 2000-2090, leap days included (NOTICE, END, BACKUP)."""
    return st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def mail_items() -> st.SearchStrategy[MailItem]:
    """Stored messages up to 30 MiB, spam or not (MAIL-2)."""
    return st.builds(
        MailItem,
        message_id=st.uuids().map(str),
        size_bytes=st.integers(min_value=0, max_value=30 * 1024 * 1024),
        received_at=instants(),
        spam=st.booleans(),
    )


def thread_entries() -> st.SearchStrategy[ThreadEntry]:
    """Thread entries, messages and internal notes (MAIL-6)."""
    return st.builds(
        ThreadEntry,
        kind=st.sampled_from(list(EntryKind)),
        author=st.sampled_from(["anna", "bob", "customer@example.com"]),
        at=instants(),
        text=st.text(max_size=40),
    )


def incidents() -> st.SearchStrategy[Incident]:
    """Valid incident records (GDPR-1)."""
    return st.builds(
        Incident,
        incident_id=st.uuids().map(str),
        types=st.frozensets(st.sampled_from(list(IncidentType)), min_size=1),
        category=st.sampled_from(list(DataCategory)),
        people_affected=st.integers(min_value=0, max_value=10**6),
        consequences=st.sampled_from(["loss of confidentiality", "identity theft risk"]),
        detected_at=instants(),
        risk=st.sampled_from(list(Risk)),
    )


def allowed_file_names() -> st.SearchStrategy[str]:
    """File names with an allowed extension in any letter case (FILE-1)."""
    stems = st.text(alphabet="abcxyz_-0123456789 ", min_size=1, max_size=12).map(str.strip)
    extensions = st.sampled_from(sorted(ALLOWED_EXTENSIONS)).flatmap(
        lambda ext: st.lists(st.booleans(), min_size=len(ext), max_size=len(ext)).map(
            lambda upper: "".join(c.upper() if u else c for c, u in zip(ext, upper, strict=True))
        )
    )
    return st.tuples(stems.filter(bool), extensions).map(lambda pair: f"{pair[0]}.{pair[1]}")


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Elapsed time between two aware instants (compared in UTC, not on the wall clock)."""
    return end.astimezone(UTC) - start.astimezone(UTC)
