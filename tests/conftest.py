"""Test configuration: hypothesis profiles and database URLs.

Hypothesis profile: ``CRMCORE_HYPOTHESIS_PROFILE`` = ``dev`` (quick, the default) or ``ci``
(thorough; ``.ci/run`` sets it).

Server tests read ``CRMCORE_TEST_POSTGRES_URL`` / ``CRMCORE_TEST_MYSQL_URL``; they are skipped
with a reason when the variable is unset and fail when it is set but the server is unreachable.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("CRMCORE_HYPOTHESIS_PROFILE", "dev"))


# --- database servers --------------------------------------------------------------------------

from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

SERVER_VARIABLES = {
    "postgresql": "CRMCORE_TEST_POSTGRES_URL",
    "mysql": "CRMCORE_TEST_MYSQL_URL",
}


def server_url_or_skip(kind: str) -> str:
    """The server URL from the environment, or skip the test with the reason."""
    variable = SERVER_VARIABLES[kind]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is unset: no {kind} server to test against")
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql", "mysql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh empty database per session on each engine: SQLite always, the servers when their
    URL variable is set (an unreachable server then fails the test, it does not skip)."""
    from crmcore_sql.testing import temporary_database

    kind = request.param
    server = "sqlite://" if kind == "sqlite" else server_url_or_skip(kind)
    with temporary_database(server) as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on :func:`database_url` per test module (a module may define its own
    ``engine``, which then takes precedence)."""
    import crmcore_sql

    engine = crmcore_sql.create_engine(database_url)
    crmcore_sql.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    """One migrated temporary database per engine, made when a test first asks for it
    (``engines["sqlite"]``; a server engine whose URL variable is unset skips the test)."""
    import contextlib

    with contextlib.ExitStack() as stack:
        yield _Engines(stack)


class _Engines(dict[str, Engine]):
    def __init__(self, stack: Any) -> None:
        super().__init__()
        self.stack = stack

    def __missing__(self, kind: str) -> Engine:
        import crmcore_sql
        from crmcore_sql.testing import temporary_database

        server = "sqlite://" if kind == "sqlite" else server_url_or_skip(kind)
        url = self.stack.enter_context(temporary_database(server))
        engine = crmcore_sql.create_engine(url.render_as_string(hide_password=False))
        self.stack.callback(engine.dispose)
        crmcore_sql.migrate(engine)
        self[kind] = engine
        return engine
