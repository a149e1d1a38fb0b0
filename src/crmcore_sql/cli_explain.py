"""``crmcore explain --db URL --invoice NUMBER [--json] [--locale LL] [--series S]`` (issue 17):
every line of a stored invoice with its rule, period and fraction, the price and seats used and
the events that caused it, in the tenant's language (I18N-1):
:func:`crmcore.app.explain.explain_invoice` on the database of ``--db``.

Exit status: 0 done; 2 an unknown invoice, a number in several series, an unsupported locale
(one line on stderr); 1 an unreachable or unmigrated database.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from crmcore.app.explain import explain_invoice
from crmcore.errors import NotFound
from crmcore_sql.cli_options import DEFAULT_DB, engine_for
from crmcore_sql.migrate import require_migrated
from crmcore_sql.unit_of_work import SqlUnitOfWork

__all__ = ["register_explain"]


def register_explain(
    subparsers: Any, one_line_errors: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add ``explain`` to the parser."""
    command = subparsers.add_parser(
        "explain", help="every line of an invoice: rule, period, price, seats and causes"
    )
    command.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    command.add_argument("--invoice", required=True, help="the invoice number, e.g. 2026/0001")
    command.add_argument(
        "--series", default=None, help="its series, when two vendors' series have the number"
    )
    command.add_argument(
        "--locale", default=None, help="language, e.g. en, cs, pl (default: the tenant's)"
    )
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(handler=_explain)
    one_line_errors(command)


def _explain(args: argparse.Namespace) -> int:
    engine = engine_for(args.db)
    try:
        require_migrated(engine)
        explained = explain_invoice(
            SqlUnitOfWork(engine), args.invoice, locale=args.locale, series=args.series
        )
    except NotFound as exc:  # an unknown invoice is bad input
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.json:
        sys.stdout.write(json.dumps(explained.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(explained.render())
    return 0
