"""The effective noise of a run: a named profile with the config's per-column rates laid over it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..config import ColumnNoise, DuplicatesConfig, NoiseConfig, build_config
from ..errors import ConfigError

DEFAULT_MAGNITUDE = 10.0


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


def profile_dir() -> Path:
    """config/noise: inside the installed package, else the source checkout's."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "config" / "noise", here.parent.parent / "config" / "noise"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("noise profiles not found: reinstall pii-gen (config/noise is missing)")


@lru_cache(maxsize=None)
def load_profile(name: str) -> NoiseConfig:
    """A named profile, validated like a user's config."""
    if name == "none":
        return NoiseConfig()
    path = profile_dir() / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    # Validated as profile "none" (a profile is not laid over itself), then named.
    return build_config({"noise": data}).noise.model_copy(update={"profile": name})


def merge_columns(profile: str, overrides: dict[str, ColumnNoise]) -> dict[str, ColumnNoise]:
    """The profile's per-column rates with the fields each override sets laid over them.

    Raises ValueError naming the column when a merged column's rates add up to more than 1.
    """
    columns: dict[str, ColumnNoise] = dict(load_profile(profile).columns)
    for key, override in overrides.items():
        given = {f: getattr(override, f) for f in override.model_fields_set}
        merged = {**(columns[key].rates() if key in columns else {}), **given}
        total = sum(merged.values())
        if total > 1 + 1e-9:
            raise ValueError(
                f"noise.columns.{key} with profile {profile}: rates add up to {total:.4g}; "
                "a value gets at most one kind of noise, so they must not exceed 1"
            )
        columns[key] = ColumnNoise.model_validate(merged)
    return columns


def make_plan(noise: NoiseConfig) -> NoisePlan:
    """Lay the config's per-column rates (only the fields it sets) over its profile's."""
    base = load_profile(noise.profile)
    columns = merge_columns(noise.profile, noise.columns)
    rates: dict[tuple[str, str], dict[str, float]] = {}
    for key, col in columns.items():
        table, _, column = key.partition(".")
        chosen = {name: rate for name, rate in col.rates().items() if rate > 0}
        if chosen:
            rates[(table, column)] = chosen
    return NoisePlan(
        profile=noise.profile,
        rates=rates,
        duplicates=noise.duplicates or base.duplicates or DuplicatesConfig(),
        magnitude=noise.magnitude or base.magnitude or DEFAULT_MAGNITUDE,
        log=noise.log,
    )
