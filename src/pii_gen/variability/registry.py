"""The noise types: every NoiseType subclass in this package, and which columns each can change."""

from __future__ import annotations

from ..errors import RegistryError
from ..core.registry import discover
from ..packs.person.contract import TABLES
from .base import REGISTRY, NoiseType


def noise_types() -> tuple[type[NoiseType], ...]:
    """Every noise type, by position: the order of a column's rates (and of the config's fields)."""
    discover(__package__)
    return tuple(sorted(REGISTRY, key=lambda t: t.position))


def noise_type(name: str) -> type[NoiseType]:
    """The noise type called ``name``."""
    noise_types()
    if name not in REGISTRY:
        raise RegistryError(
            f"no noise type is called '{name}' (noise types: {', '.join(t.name for t in noise_types())})"
        )
    return REGISTRY[name]


def check_column(key: str, noise_types_named: list[str]) -> tuple[str, str]:
    """Split 'table.column' and check every named noise type can change it; ValueError says what fits."""
    table, _, column = key.partition(".")
    if table not in TABLES or column not in TABLES[table].column_names:
        raise ValueError(f"unknown column '{key}' in noise.columns (expected table.column, e.g. persons.first_name)")
    kind = TABLES[table].column(column).kind
    for name in noise_types_named:
        if not noise_type(name).supports(kind):
            fits = [t.name for t in noise_types() if t.supports(kind)]
            raise ValueError(f"{name} noise cannot change {key} (noise types for it: {', '.join(fits) or 'none'})")
    return table, column
