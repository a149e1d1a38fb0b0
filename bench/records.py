"""REC-6 benchmark: guarded record creation vs unguarded inserts, 8 concurrent writers.

    PYTHONPATH=src python bench/records.py [URL] [INSERTS_PER_WRITER] [--synchronous-commit-off]

URL defaults to $CRMCORE_TEST_POSTGRES_URL (a temporary database is created and dropped).
Every transaction creates one record. In a unit of work (``with uow: ...; uow.commit()``):

- unguarded: the application's insert alone;
- guarded: ``uow.records.create`` (the REC-6 guard and the insert, one statement on
  PostgreSQL);
- ``try_create`` + insert: the guard statement, then the application's insert (the way
  before ``records.create``, for comparison).

As a transaction of its own (autocommit on PostgreSQL, no BEGIN/COMMIT round trips):

- unguarded: the insert alone;
- guarded: ``crmcore_sql.create_records``.

Target: guarded >= 0.7 x unguarded of the same kind. Two layouts: each writer on its own
tenant, and all 8 on one tenant (its counter row is hot). The ways run in the order A B C D E
E D C B A per layout and each figure is the mean of its two runs, so a slow drift of other
load on the machine hits them alike. ``--synchronous-commit-off`` runs everything with
PostgreSQL's ``synchronous_commit=off`` (an experiment: a commit then returns before its WAL
is flushed).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

import crmcore_sql
from crmcore_sql.testing import record_rows, scratch, temporary_database

WRITERS = 8
LIMIT = 10**9
IN_UOW = ("unguarded", "guarded", "try_create + insert")
ALONE = ("unguarded alone", "guarded alone")
WAYS = (*IN_UOW, *ALONE)
_engine: Engine | None = None


def connect(url: str, synchronous_commit_off: bool) -> None:
    """Each writer process's engine, connected when the pool starts (outside the timing)."""
    global _engine
    options: dict[str, Any] = {"pool_size": 1}
    if synchronous_commit_off:
        options["connect_args"] = {"options": "-c synchronous_commit=off"}
    _engine = crmcore_sql.create_engine(url, **options)
    _engine.connect().close()


def writer(tenant: str, count: int, way: str) -> None:
    engine = _engine
    assert engine is not None
    row = {"tenant_id": tenant, "kind": "contact"}
    for _ in range(count):
        if way == "guarded alone":
            crmcore_sql.create_records(engine, tenant, "client", LIMIT, record_rows, [row])
        elif way == "unguarded alone":
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.execute(insert(record_rows), row)
        else:
            with crmcore_sql.unit_of_work(engine) as uow:
                if way == "guarded":
                    uow.records.create(tenant, "client", LIMIT, record_rows, [row])
                elif way == "try_create + insert":
                    uow.records.try_create(tenant, "client", 1, LIMIT)
                    uow.connection.execute(insert(record_rows), row)
                else:
                    uow.connection.execute(insert(record_rows), row)
                uow.commit()


def run(pool: Any, jobs: list[tuple[str, int, str]]) -> float:
    start = time.perf_counter()
    pool.starmap(writer, jobs, chunksize=1)
    elapsed = time.perf_counter() - start
    return sum(job[1] for job in jobs) / elapsed


def main() -> None:
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    synchronous_commit_off = "--synchronous-commit-off" in sys.argv[1:]
    server = arguments[0] if arguments else os.environ.get("CRMCORE_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("give a server URL or set CRMCORE_TEST_POSTGRES_URL")
    count = int(arguments[1]) if len(arguments) > 1 else 300
    with temporary_database(server, prefix="crmcore_bench") as url:
        engine = crmcore_sql.create_engine(url)
        crmcore_sql.migrate(engine)
        scratch.create_all(engine)
        engine.dispose()
        text = url.render_as_string(hide_password=False)
        print(f"{WRITERS} writer processes x {count} records, one record per transaction")
        context = multiprocessing.get_context("spawn")
        with context.Pool(WRITERS, connect, (text, synchronous_commit_off)) as pool:
            warm = [(f"warm{n}", 10, way) for way in WAYS for n in range(WRITERS)]
            pool.starmap(writer, warm, chunksize=1)
            for layout in ("own tenants", "one tenant"):
                tenants = (
                    ["hot"] * WRITERS
                    if layout == "one tenant"
                    else [f"w{n}" for n in range(WRITERS)]
                )
                rates: dict[str, list[float]] = {way: [] for way in WAYS}
                for way in (*WAYS, *reversed(WAYS)):
                    jobs = [(t, count, way) for t in tenants]
                    rates[way].append(run(pool, jobs))
                mean = {way: sum(found) / len(found) for way, found in rates.items()}
                in_uow, alone = mean["unguarded"], mean["unguarded alone"]
                print(
                    f"{layout}, in a unit of work: unguarded {in_uow:,.0f}/s; guarded "
                    f"(uow.records.create) {mean['guarded']:,.0f}/s, ratio "
                    f"{mean['guarded'] / in_uow:.2f} (target >= 0.7); try_create + insert "
                    f"{mean['try_create + insert']:,.0f}/s, ratio "
                    f"{mean['try_create + insert'] / in_uow:.2f}"
                )
                print(
                    f"{layout}, transaction of its own: unguarded {alone:,.0f}/s; guarded "
                    f"(crmcore_sql.create_records) {mean['guarded alone']:,.0f}/s, ratio "
                    f"{mean['guarded alone'] / alone:.2f} (target >= 0.7)"
                )


if __name__ == "__main__":
    main()
