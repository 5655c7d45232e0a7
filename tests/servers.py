"""Where the tests find the real database and message servers (``.ci/run`` sets the variables)."""

from __future__ import annotations

import os

import pytest


def server_url(var: str) -> str:
    """The URL in ``var``; unset, the test skips, or fails when PII_GEN_REQUIRE_DB=1 (as in CI)."""
    url = os.environ.get(var)
    if not url:
        reason = f"{var} is not set (a server URL); .ci/run sets it"
        if os.environ.get("PII_GEN_REQUIRE_DB") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return url
