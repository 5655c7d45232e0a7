"""Shared fixtures: populations generated once per test session at fixed seeds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pii_gen import GenerateConfig, PersonGenerator  # noqa: E402


@pytest.fixture(scope="session")
def population() -> dict:
    """20,000 people at seed 7, strict mode."""
    return PersonGenerator(GenerateConfig(seed=7)).generate(20_000)


@pytest.fixture(scope="session")
def realistic_population() -> dict:
    return PersonGenerator(GenerateConfig(seed=8, pii_mode="realistic")).generate(10_000)
