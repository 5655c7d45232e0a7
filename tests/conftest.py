"""Shared fixtures: populations generated once per test session at fixed seeds, the command line run in
process; the server skip summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pii_gen import GenerateConfig, PersonGenerator  # noqa: E402
from servers import SKIP_PREFIX  # noqa: E402


@pytest.fixture(scope="session")
def population() -> dict:
    """20,000 people at seed 7, strict mode."""
    return PersonGenerator(GenerateConfig(seed=7)).generate(20_000)


@pytest.fixture(scope="session")
def realistic_population() -> dict:
    return PersonGenerator(GenerateConfig(seed=8, pii_mode="realistic")).generate(10_000)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Runs ``pii_gen ARGS...`` in this process: (exit status, stdout, stderr)."""
    from pii_gen.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Without pytest-xdist (not installed, or ``-p no:xdist``) pyproject's ``--numprocesses``/``--dist`` are
    accepted and ignored: the tests run in this one process, as they do with ``-n 0``."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "pytest-xdist is not loaded: these options do nothing")
    group.addoption("--numprocesses", dest="numprocesses", default=None, help="ignored without pytest-xdist")
    group.addoption("--dist", dest="dist", default="no", help="ignored without pytest-xdist")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001 - pytest's hook
    """One line saying how many tests skipped for want of a server, and why, so none is skipped silently."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if SKIP_PREFIX in reason:
            reason = reason.split(SKIP_PREFIX, 1)[1].strip()
            reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        why = "; ".join(f"{n} because {reason}" for reason, n in sorted(reasons.items()))
        terminalreporter.write_line(
            f"pii_gen: {sum(reasons.values())} tests needing a server were skipped ({why}); set the "
            "PII_GEN_TEST_* variables or start the servers (.ci/run does both)",
            yellow=True,
        )
