"""crmcore_sql: SQLAlchemy 2.0 storage adapters for crmcore (SQLite, PostgreSQL, MariaDB/MySQL).

Install with the ``sql`` extra: ``pip install 'crmcore[sql]'``.

>>> import crmcore_sql
>>> engine = crmcore_sql.create_engine("sqlite://")
>>> crmcore_sql.migrate(engine)
>>> with crmcore_sql.unit_of_work(engine) as uow:
...     uow.seats.set_bought("t1", 2)
...     uow.commit()
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from crmcore_sql.engine import create_engine
from crmcore_sql.migrate import migrate, require_migrated
from crmcore_sql.unit_of_work import SqlUnitOfWork, create_records

__all__ = [
    "SqlUnitOfWork",
    "create_engine",
    "create_records",
    "migrate",
    "require_migrated",
    "unit_of_work",
]


def unit_of_work(engine: Engine) -> SqlUnitOfWork:
    """The composition function: a unit of work over every SQL repository."""
    return SqlUnitOfWork(engine)
