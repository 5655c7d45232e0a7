"""A real browser for the tests: Playwright's sync API driving Debian's chromium (no browser is downloaded)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's package: playwright downloads no browser here


def browser() -> tuple[Any, str]:
    """Playwright's sync API and Debian's chromium, or skip (fail under PII_GEN_REQUIRE_BROWSER=1) saying
    which is missing: no browser is downloaded for the test."""
    problem = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = 'playwright is not installed (pip install "pii-gen[test]")'
    if not problem and not Path(CHROMIUM).is_file():
        problem = f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if problem:
        if os.environ.get("PII_GEN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"pages are tested in a real browser: {problem}")
        pytest.skip(f"the page test needs a real browser: {problem}")
    return sync_playwright, CHROMIUM
