"""Categorical generators: choice (weights, Zipf, head/tail, cycle, from a vocab table) and bool."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from ...core import portable
from ..base import Context, Generator, Num, Params, fail
from ._arrow import as_numpy, weighted_indices


class ChoiceParams(Params):
    values: list[Any] | None = None
    from_: str | None = Field(None, alias="from")
    weights: list[float] | dict[Any, float] | None = None
    dist: Literal["uniform", "zipf", "head_tail"] | None = None
    s: float = Field(1.0, gt=0)
    head: int | None = Field(None, ge=1)
    head_share: float | None = Field(None, gt=0, lt=1)
    cycle: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> "ChoiceParams":
        if self.values is None and self.from_ is None and not isinstance(self.weights, dict):
            raise fail("needs values, from: TABLE.COLUMN or weights: {value: w}", "values")
        if self.values is not None and self.from_ is not None:
            raise fail("takes values or from, not both", "from")
        if self.from_ is not None and self.from_.count(".") != 1:
            raise fail("must be TABLE.COLUMN", "from")
        if self.values is not None and not self.values:
            raise fail("must not be empty", "values")
        if self.weights is not None and self.dist is not None:
            raise fail("takes weights or dist, not both", "dist")
        w = self.weights
        if isinstance(w, list):
            if self.values is not None and len(w) != len(self.values):
                raise fail(f"has {len(w)} weights for {len(self.values)} values", "weights")
        if w is not None:
            ws = list(w.values()) if isinstance(w, dict) else w
            if any(x < 0 for x in ws) or not sum(ws) > 0:
                raise fail("must be >= 0 with a positive sum", "weights")
            if isinstance(w, dict) and self.values is not None:
                unknown = [k for k in w if k not in self.values]
                if unknown:
                    raise fail(f"names {unknown[0]!r}, which is not one of the values", "weights")
        if self.dist == "head_tail" and (self.head is None or self.head_share is None):
            raise fail("head_tail needs head and head_share", "dist")
        if self.cycle and (self.weights is not None or self.dist not in (None, "uniform")):
            raise fail("cycle takes the values in order: no weights or dist", "cycle")
        return self


def popularity(count: int, p: ChoiceParams) -> np.ndarray:
    """The probability of each of ``count`` values in list order (Zipf and head/tail favour the first)."""
    if isinstance(p.weights, list):
        w = np.asarray(p.weights, dtype=np.float64)
    elif isinstance(p.weights, dict):
        order = p.values if p.values is not None else list(p.weights)
        w = np.array([p.weights.get(v, 0.0) for v in order], dtype=np.float64)
    elif p.dist == "zipf":
        w = 1.0 / portable.power(np.arange(1, count + 1, dtype=np.float64), p.s)
    elif p.dist == "head_tail":
        head = min(p.head or 1, count)
        tail = count - head
        share = p.head_share if tail else 1.0
        w = np.r_[np.full(head, share / head), np.full(tail, (1 - share) / tail if tail else 0.0)]
    else:
        w = np.ones(count)
    return w / w.sum()


class Choice(Generator):
    """Categorical draws from a list or a vocab table's column, by weights or a popularity curve."""

    name = "choice"
    Params = ChoiceParams
    summary = "categorical draws: `weights`, or `dist: uniform | zipf (s) | head_tail (head, head_share)`, or `cycle`"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        if params.from_ is not None:
            return super().kind(params, type_)  # the vocab column's values: known when its data is read
        vals = params.values if params.values is not None else list(params.weights)
        kinds = {"bool" if isinstance(v, bool) else "int" if isinstance(v, int) else
                 "float" if isinstance(v, float) else "string" if isinstance(v, str) else "any" for v in vals}
        return kinds.pop() if len(kinds) == 1 else ("float" if kinds == {"int", "float"} else "any")

    def pool(self, ctx: Context) -> pa.Array:
        p = self.params
        if p.from_ is not None:
            table, column = p.from_.split(".")
            return ctx.tables[table].column(column).combine_chunks()
        return pa.array(p.values if p.values is not None else list(p.weights))

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        values = self.pool(ctx)
        if self.params.cycle:
            index = np.arange(ctx.first_row, ctx.first_row + n) % len(values)
        else:
            index = weighted_indices(popularity(len(values), self.params), n, rng)
        return values.take(pa.array(index))


Probability = Num(ge=0, le=1)


class BoolParams(Params):
    p: Probability = 0.5


class Bool(Generator):
    """True with probability ``p`` (an expression gives each row its own probability)."""

    name = "bool"
    Params = BoolParams
    summary = "true with probability `p`"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "bool"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = as_numpy(ctx.value(self.params.p, n))
        return pa.array(rng.random(n) < p)


