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
