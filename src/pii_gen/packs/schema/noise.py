"""The ``noise`` modifier: the population's noise types (typos, name variants, missing values, format drift,
wrong values) applied to a schema column, one block at a time.

A step draws one uniform number per row from its own stream (seed, table, column, block, step); the rows under
``rate`` that the type can change (a typo needs an ASCII string, most types a value) are handed to the noise
type exactly as the population's VariabilityEngine hands it a column's cells, with the column's population
kind (a person field's, ``kind:``, or one its values suggest).  Only rows whose value really changed count as
touched; their mask is what a ledger lists.  A noise type that also rewrites a sibling column in the
population (a swapped first name writes the surname too) changes only this column here: a modifier changes
its own column, so adding a noise step never changes another column.

``where`` keeps the draw to the rows an expression holds for (an identifier column's rows of one id type),
``key`` draws once per value of an expression (a pure function of (seed, step, value): a person's cookie on a
device churns as a whole), and ``by`` hands a noise type that takes a value from another row (a borrowed
device) the groups to take it within.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...config import build_config
from ...core.contract import Column, Table
from ...dsl.base import GENERATORS, Context
from ...dsl.expr import evaluate
from ...dsl.generators._arrow import as_numpy
from ...dsl.generators.identity import keyed_unit
from ...dsl.modifiers import column_kind, noise_kind
from ...variability.base import Cells, NoiseType
from ...variability.engine import _differs, _scatter
from ...variability.identity import BY
from ...variability.registry import noise_types
from ..person.reference import Reference, load

__all__ = ["Noiser", "column_kind", "step_kind"]


def step_kind(column: Any, params: Any) -> str:
    """The population kind a noise step treats the column's values as (the checks refused a step without)."""
    kind = noise_kind(column, params, GENERATORS[column.gen].kind(column, column.type))
    assert kind is not None, "checked when the file was read"
    return kind


class Noiser:
    """The noise types of one engine, with the reference data and the mode (strict keeps SSNs unissuable)."""

    def __init__(self, strict: bool, config: dict[str, Any], seed: int) -> None:
        self.ref: Reference = load()
        self.strict = strict
        self.as_of: dt.date = build_config(config, seed=seed).as_of  # the population's day (ages, dates)
        self.types: dict[str, NoiseType] = {t.name: t() for t in noise_types()}

    def apply(self, params: Any, kind: str, values: pa.Array, rng: np.random.Generator, ctx: Context,
              siblings: dict[str, str]) -> tuple[pa.Array, np.ndarray]:
        """``values`` with a ``params.rate`` share changed by ``params.type``, and the mask of rows changed.

        ``siblings`` are the kinds of the block's other columns made so far (what a type reads beside the
        column: the surname a swapped first name takes)."""
        n = len(values)
        noise = self.types[params.type]
        target = noise.contract_column(Column(ctx.column, values.type, True, kind=kind)).type
        base = values if values.type == target else values.cast(target)  # a drifted date column is text
        touched = np.zeros(n, dtype=bool)
        u = rng.random(n)
        if params.key is not None:
            keys = np.asarray(evaluate(params.key, ctx, n).fill_null(0).to_numpy(zero_copy_only=False), np.int64)
            u = keyed_unit(keys, ctx.seed, f"noise/{ctx.table}.{ctx.column}.{ctx.step}")
        drawn = u < as_numpy(ctx.value(params.rate, n))
        if params.where is not None:
            drawn &= np.asarray(pc.fill_null(evaluate(params.where, ctx, n).cast(pa.bool_()), False), dtype=bool)
        rows = np.flatnonzero(drawn)
        before = values.take(pa.array(rows, pa.int64()))
        keep = noise.eligible(kind, before)
        if keep is not None and not keep.all():
            rows, before = rows[keep], before.filter(pa.array(keep))
        if not len(rows):
            return base, touched
        table = {**ctx.columns, ctx.column: values}
        if params.by is not None:
            table[BY] = evaluate(params.by, ctx, n)
        spec = Table(ctx.table, tuple(Column(c, a.type, True, kind=kind if c == ctx.column else siblings.get(c, ""))
                                      for c, a in table.items()), "")
        change = noise.apply(Cells(table, ctx.column, kind, spec, rows, before, target, [rng], np.array([0, n]),
                                   self.ref, self.strict, self.as_of, 1.0))
        applied = change.applied & _differs(before, change.values, target)
        done = rows[applied]
        touched[done] = True
        return _scatter(base, [(done, change.values.filter(pa.array(applied)))], target), touched
