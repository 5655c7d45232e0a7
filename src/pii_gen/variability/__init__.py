"""Data-quality noise with ground truth: typos, name variants, missing values, format drift,
wrong values, outliers and duplicate records, each at a configured rate per column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.contract import Table
from .contract import contract
from .engine import VariabilityEngine
from .plan import NoisePlan, make_plan
from .registry import noise_types

if TYPE_CHECKING:  # the config imports the noise registry: this package only reads configs it is given
    from ..config import GenerateConfig


def tables_for(config: GenerateConfig) -> dict[str, Table]:
    """The output contract of a run with this config (the clean one without noise)."""
    return contract(make_plan(config.noise))


__all__ = ["NoisePlan", "VariabilityEngine", "contract", "make_plan", "noise_types", "tables_for"]
