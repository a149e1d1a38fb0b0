"""REC-6 benchmark: guarded record creation vs unguarded inserts, 8 concurrent writers.

    PYTHONPATH=src python bench/records.py [URL] [INSERTS_PER_WRITER]

URL defaults to $CRMCORE_TEST_POSTGRES_URL (a temporary database is created and dropped).
Guarded = one transaction: ``try_create`` (conditional UPDATE of the tenant's counter row) +
the record insert. Unguarded = the record insert alone. Target: guarded >= 0.7 x unguarded.
Two layouts: each writer on its own tenant, and all 8 on one tenant (the counter row is hot).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time

from sqlalchemy import insert

import crmcore_sql
from crmcore_sql.testing import temporary_database
from crmcore_sql.workers import record_rows, scratch

WRITERS = 8


def writer(url: str, tenant: str, count: int, guarded: bool) -> None:
    engine = crmcore_sql.create_engine(url, pool_size=1)
    try:
        for _ in range(count):
            with crmcore_sql.unit_of_work(engine) as uow:
                if guarded:
                    uow.records.try_create(tenant, "contact", 1, limit=10**9)
                uow.connection.execute(insert(record_rows), {"tenant_id": tenant, "kind": "c"})
                uow.commit()
    finally:
        engine.dispose()


def run(url: str, count: int, guarded: bool, shared_tenant: bool) -> float:
    context = multiprocessing.get_context("spawn")
    jobs = [(url, "hot" if shared_tenant else f"w{n}", count, guarded) for n in range(WRITERS)]
    with context.Pool(WRITERS) as pool:
        pool.starmap(writer, [(url, "warm", 1, guarded)] * WRITERS)  # start-up outside timing
        start = time.perf_counter()
        pool.starmap(writer, jobs)
        elapsed = time.perf_counter() - start
    return WRITERS * count / elapsed


def main() -> None:
    server = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CRMCORE_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("give a server URL or set CRMCORE_TEST_POSTGRES_URL")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with temporary_database(server, prefix="crmcore_bench") as url:
        engine = crmcore_sql.create_engine(url)
        crmcore_sql.migrate(engine)
        scratch.create_all(engine)
        engine.dispose()
        text = url.render_as_string(hide_password=False)
        for shared in (False, True):
            unguarded = run(text, count, guarded=False, shared_tenant=shared)
            guarded = run(text, count, guarded=True, shared_tenant=shared)
            layout = "one tenant" if shared else "own tenants"
            print(
                f"{WRITERS} writers, {layout}: unguarded {unguarded:,.0f}/s, guarded "
                f"{guarded:,.0f}/s, ratio {guarded / unguarded:.2f} (target >= 0.7)"
            )


if __name__ == "__main__":
    main()
