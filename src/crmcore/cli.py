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
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from crmcore.errors import CrmError, ValidationError

__all__ = ["build_parser", "main", "read_scenario_file"]

Handler = Callable[[argparse.Namespace], int]


def read_scenario_file(name: str) -> object:
    """The JSON document of a scenario file, read strictly
    (:func:`crmcore.serialization.read_json`); an unreadable file, bytes that are not UTF-8 or
    malformed or hostile JSON are a :class:`~crmcore.errors.ValidationError` naming the file."""
    from crmcore.serialization import read_json  # imported on use: the CLI starts fast

    path = Path(name)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ValidationError("is a directory, not a scenario file", field=str(path)) from None
    except OSError as exc:
        raise ValidationError(f"cannot read ({exc.strerror or exc})", field=str(path)) from None
    document: object = read_json(data, root="")
    return document


def _simulate(args: argparse.Namespace) -> int:
    """``crmcore simulate FILE``: every bad input (an unreadable file, bytes that are not UTF-8,
    malformed or hostile JSON, a bad value) is one line on stderr and exit status 2."""
    from crmcore.scenario.runner import dumps, run  # imported on use: the CLI starts fast

    try:
        result = run(read_scenario_file(args.file))
    except CrmError as exc:  # no database here: every refusal is about the input
        print(str(exc), file=sys.stderr)
        return 2
    sys.stdout.write(dumps(result))
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
    except BrokenPipeError:
        # The reader went away (``crmcore invoices | head``): no traceback; stdout is pointed
        # at /dev/null so that flushing it at exit does not fail again (exit 1: not all of
        # the output was written).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except CrmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
