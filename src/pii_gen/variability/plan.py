"""The effective noise of a run: a named profile with the config's per-column rates laid over it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the config imports the noise registry, so this package reads config objects it is given
    from ..config import NoiseConfig


@dataclass(frozen=True)
class Duplicates:
    """People recorded more than once: the share of them and the most extra records of one."""

    rate: float
    max_variants: int


@dataclass(frozen=True)
class NoisePlan:
    """What noise a run applies: rates per (table, column) and noise type (only those above 0)."""

    profile: str
    rates: dict[tuple[str, str], dict[str, float]]
    duplicates: Duplicates
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
            "duplicates": {"rate": self.duplicates.rate, "max_variants": self.duplicates.max_variants},
            "magnitude": self.magnitude,
            "log": self.log,
        }

    @classmethod
    def from_description(cls, described: dict[str, object]) -> NoisePlan:
        """The plan :meth:`describe` recorded (how a worker rebuilds it from the run plan's JSON)."""
        rates = {tuple(key.split(".", 1)): dict(r) for key, r in described["rates"].items()}  # type: ignore[union-attr]
        return cls(
            profile=described["profile"],  # type: ignore[arg-type]
            rates=rates,  # type: ignore[arg-type]
            duplicates=Duplicates(**described["duplicates"]),  # type: ignore[arg-type]
            magnitude=described["magnitude"],  # type: ignore[arg-type]
            log=described["log"],  # type: ignore[arg-type]
        )


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
        duplicates=Duplicates(**noise.effective_duplicates().model_dump()),
        magnitude=noise.effective_magnitude(),
        log=noise.log,
    )
