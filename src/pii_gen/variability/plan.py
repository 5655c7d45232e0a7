"""The effective noise of a run: a named profile with the config's per-column rates laid over it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the config imports the noise registry, so this package reads config objects it is given
    from ..config import DuplicatesConfig, NoiseConfig


@dataclass(frozen=True)
class NoisePlan:
    """What noise a run applies: rates per (table, column) and noise type (only those above 0)."""

    profile: str
    rates: dict[tuple[str, str], dict[str, float]]
    duplicates: DuplicatesConfig
    magnitude: float
    log: bool

    @property
    def active(self) -> bool:
        return bool(self.rates) or self.duplicates.rate > 0

    def describe(self) -> dict[str, object]:
        """The plan as the manifest records it."""
        return {
            "profile": self.profile,
            "rates": {f"{t}.{c}": dict(r) for (t, c), r in self.rates.items()},
            "duplicates": self.duplicates.model_dump(),
            "magnitude": self.magnitude,
            "log": self.log,
        }


def make_plan(noise: NoiseConfig) -> NoisePlan:
    """Lay the config's per-column rates (only the fields it sets) over its profile's."""
    rates: dict[tuple[str, str], dict[str, float]] = {}
    for key, col in noise.merged_columns().items():
        table, _, column = key.partition(".")
        chosen = {name: rate for name, rate in col.rates().items() if rate > 0}
        if chosen:
            rates[(table, column)] = chosen
    return NoisePlan(
        profile=noise.profile,
        rates=rates,
        duplicates=noise.effective_duplicates(),
        magnitude=noise.effective_magnitude(),
        log=noise.log,
    )
