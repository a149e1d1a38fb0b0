"""The ``crmcore`` command line: the jobs a billing script runs.

The core provides ``simulate`` (a scenario file, SCENARIOS.md). Storage jobs (``demo``,
``bill``, ``dunning``, ``migrate``) come from plugins registered under the entry-point group
``crmcore.commands``; ``crmcore_sql`` registers them when the ``sql`` extra is installed. This
keeps the core free of database code.

Exit status: 0 success, 2 bad input (one line on stderr naming the path and rule), 1 other
failures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

from crmcore.errors import CrmError, ValidationError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def _simulate(args: argparse.Namespace) -> int:
    scenario: Any = import_module("crmcore.scenario")
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
        return 2
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        print(
            f"$: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file=sys.stderr
        )
        return 2
    result = scenario.run(document)
    sys.stdout.write(scenario.dumps(result))
    return 0


def _load_plugins(subparsers: Any) -> list[str]:
    """Let installed plugins add their sub-commands; returns problems to report."""
    problems: list[str] = []
    for entry in metadata.entry_points(group="crmcore.commands"):
        try:
            register = entry.load()
        except ImportError as exc:
            problems.append(
                f"plugin {entry.name!r} unavailable ({exc}); "
                "install the extra: pip install 'crmcore[sql]'"
            )
            continue
        register(subparsers)
    return problems


def build_parser() -> tuple[argparse.ArgumentParser, list[str]]:
    parser = argparse.ArgumentParser(
        prog="crmcore", description="The commercial terms of a CRM/SaaS vendor as code."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    simulate = subparsers.add_parser(
        "simulate", help="replay a scenario file and print the result JSON (SCENARIOS.md)"
    )
    simulate.add_argument("file", help="path to the scenario JSON file")
    simulate.set_defaults(handler=_simulate)
    problems = _load_plugins(subparsers)
    return parser, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser, problems = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    try:
        return handler(args)
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except CrmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
