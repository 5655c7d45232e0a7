"""Row estimates of a schema's tables (what ``pii_gen schema check`` prints beside the generation order).

Entity and fact tables with ``rows:`` are scaled; a fact with a parent gets the parent's rows times the
fanout's expected count; vocab tables are never scaled; a table of the population's household rows is
unknown until they are drawn. An expected count that depends on parent
attributes (an expression) or that diverges is unknown (None), never guessed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import portable
from .base import Expr
from .checks import order
from .model import Schema


def expected_count(fanout: Any) -> float | None:
    """The mean number of children per parent of a fanout, before clamps (None when it depends on rows)."""
    if any(isinstance(v, Expr) for _, v in fanout):
        return None
    dist = fanout.dist
    if dist == "fixed":
        return float(fanout.n)
    if dist == "uniform":
        return (np.floor(fanout.min) + np.floor(fanout.max)) / 2
    if dist in ("poisson", "negbin"):
        return float(fanout.mean)
    if dist == "explicit":
        w = np.array(list(fanout.weights.values()), dtype=float)
        return float(portable.matmul(np.array(list(fanout.weights), dtype=float), w) / w.sum())
    k = np.arange(1, int(fanout.max) + 1 if fanout.max is not None else 1_000_001, dtype=float)
    if fanout.max is None and fanout.s <= 2:
        return None  # the mean of an untruncated Zipf with s <= 2 is infinite
    p = portable.power(k, -float(fanout.s))
    return float(portable.matmul(k, p) / p.sum())


def row_estimates(schema: Schema, scale: float | None = None, population: int | None = None) -> dict[str, int | None]:
    """Estimated rows per table in generation order; ``scale`` and ``population`` override the file's."""
    scale = schema.scale if scale is None else scale
    if population is None and schema.population is not None:
        population = schema.population.size
    out: dict[str, int | None] = {}
    for name in order(schema):
        table = schema.tables[name]
        rows: float | None
        if table.kind == "vocab":
            rows = len(table.data) if table.data is not None else None
        elif table.rows is not None:
            rows = table.rows * scale
        elif table.from_ == "population":
            # As the engine makes it: the population's size at the scale (``start`` only shifts which people).
            rows = None if population is None else population * scale
        elif table.from_ == "calendar":
            rows = (schema.calendar.end - schema.calendar.start).days + 1  # one row per day, never scaled
        elif table.from_ is not None:
            rows = None  # as many as the population's people live in: known once they are drawn
        else:
            parent = out.get(table.parent or "")
            mean = expected_count(table.fanout)
            rows = None if parent is None or mean is None else parent * mean
        out[name] = None if rows is None else int(round(rows))
    return out
