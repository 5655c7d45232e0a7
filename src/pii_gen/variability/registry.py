"""The one table of noise types, and which columns each can change."""

from __future__ import annotations

from ..schema import TABLES
from .base import NoiseType
from .formats import FormatDrift
from .missing import Missing
from .names import NameVariant
from .outliers import Outlier
from .typos import Typo
from .wrong import WrongValue

#: Every noise type, in the order a column's rates are laid out (and the config's field order).
NOISE_TYPES: tuple[type[NoiseType], ...] = (Typo, NameVariant, Missing, FormatDrift, WrongValue, Outlier)
BY_NAME: dict[str, type[NoiseType]] = {t.name: t for t in NOISE_TYPES}


def check_column(key: str, noise_types: list[str]) -> tuple[str, str]:
    """Split 'table.column' and check every named noise type can change it; ValueError says what fits."""
    table, _, column = key.partition(".")
    if table not in TABLES or column not in TABLES[table].column_names:
        raise ValueError(f"unknown column '{key}' in noise.columns (expected table.column, e.g. persons.first_name)")
    for name in noise_types:
        if not BY_NAME[name].supports(table, column):
            fits = [t.name for t in NOISE_TYPES if t.supports(table, column)]
            raise ValueError(f"{name} noise cannot change {key} (noise types for it: {', '.join(fits) or 'none'})")
    return table, column
