"""``crmcore events [--db URL] [--after ID] [--limit N] [--tenant ID] [--json]`` and
``--consumer NAME [--ack ID]`` (issue 15): the events out of the database, in id order
(:mod:`crmcore.outbox`; ``id``, ``type``, ``tenant``, ``at``, ``data``).

With ``--consumer`` the listing starts after that consumer's acknowledged position;
``--ack ID`` moves the position to ``ID`` (never back) and lists nothing.

Exit status: 0 done; 2 bad input (one line on stderr naming the option); 1 an unreachable or
unmigrated database.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from crmcore.errors import ValidationError
from crmcore_sql.cli_options import DEFAULT_DB, engine_for
from crmcore_sql.migrate import require_migrated
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["register_events"]

MAX_LIMIT = 1_000_000


def register_events(
    subparsers: Any, one_line_errors: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add ``events`` to the parser."""
    command = subparsers.add_parser(
        "events", help="the events out (invoices, status changes, warnings, refusals) by id"
    )
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--after", default=None, help="only the events after this id")
    command.add_argument("--limit", default=None, help="at most this many events")
    command.add_argument("--tenant", default=None, help="only this tenant's events")
    command.add_argument("--consumer", default=None, help="start after this consumer's position")
    command.add_argument("--ack", default=None, help="with --consumer: acknowledge up to this id")
    command.add_argument("--json", action="store_true", help="print a JSON array")
    command.set_defaults(handler=_events)
    one_line_errors(command)


def _whole(text: str | None, option: str, most: int) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or int(text) > most:
        raise ValidationError(
            f"must be a whole number from 0 to {most}, got {text!r}", field=option
        )
    return int(text)


def _events(args: argparse.Namespace) -> int:
    after = _whole(args.after, "--after", 2**63 - 1)
    limit = _whole(args.limit, "--limit", MAX_LIMIT)
    ack = _whole(args.ack, "--ack", 2**63 - 1)
    if ack is not None and args.consumer is None:
        raise ValidationError("needs --consumer NAME", field="--ack")
    if ack is not None and (after is not None or limit is not None or args.json):
        raise ValidationError("acknowledges only; no listing options", field="--ack")
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        with SqlUnitOfWork(engine) as uow:
            if ack is not None:
                uow.outbox.acknowledge(args.consumer, ack)
                uow.commit()
                print(f"{args.consumer}: acknowledged up to {uow.outbox.position(args.consumer)}")
                return 0
            start = after if after is not None else 0
            if args.consumer is not None:
                start = max(start, uow.outbox.position(args.consumer))
            events = uow.outbox.read(after=start, limit=limit, tenant_id=args.tenant)
    finally:
        engine.dispose()
    if args.json:
        sys.stdout.write(json.dumps([e.to_json() for e in events], indent=2) + "\n")
        return 0
    for event in events:
        data = json.dumps(dict(event.data), separators=(",", ":"), sort_keys=True)
        print(f"{event.id} {event.at.isoformat()} {event.tenant_id} {event.type} {data}")
    return 0
