"""Helpers the differential tests share: a store on an emptied SQL engine, and the check that
the stored path (``crmcore simulate --db``) prints the runner's bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore.app.simulation import simulate_stored
from crmcore.errors import CrmError
from crmcore.ports import UnitOfWork
from crmcore.scenario import dumps, run
from crmcore_sql.testing import empty_tables


def emptied(engine: Engine) -> Callable[[], UnitOfWork]:
    """Units of work on ``engine`` after every table was emptied."""
    empty_tables(engine)
    return lambda: crmcore_sql.unit_of_work(engine)


def same_as_runner(document: dict[str, Any], unit_of_work: Callable[[], UnitOfWork]) -> None:
    """The scenario through the application layer on ``unit_of_work``'s storage prints what
    the runner prints, byte for byte (a document the runner refuses is no life to compare)."""
    try:
        expected = dumps(run(document))
    except CrmError:
        return
    assert dumps(simulate_stored(document, unit_of_work)) == expected
