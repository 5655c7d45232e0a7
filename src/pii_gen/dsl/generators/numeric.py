"""Numeric generators: distribution (ten families, clamps, decimals, integers) and partition_of."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from ..base import Context, Expr, Generator, Num, Params, fail, ordered
from ._arrow import as_numpy

Number = Num()
Whole = Num(ge=0, integer=True)

#: Each distribution's parameters, and the bound a literal value must keep (None: any number).
DISTRIBUTIONS: dict[str, dict[str, tuple[str, float] | None]] = {
    "uniform": {"min": None, "max": None},
    "normal": {"mean": None, "sd": (">", 0)},
    "lognormal": {"mu": None, "sigma": (">", 0)},
    "exponential": {"mean": (">", 0)},
    "gamma": {"shape": (">", 0), "scale": (">", 0)},
    "beta": {"a": (">", 0), "b": (">", 0)},
    "poisson": {"mean": (">=", 0)},
    "binomial": {"n": (">=", 0), "p": ("[0,1]", 0)},
    "pareto": {"alpha": (">", 0), "min": (">", 0)},
    "zipf": {"s": (">", 1)},
}
#: Distributions whose values are whole numbers: they refuse ``decimals``.
INTEGER = frozenset({"poisson", "binomial", "zipf"})


class DistributionParams(Params):
    dist: Literal[tuple(DISTRIBUTIONS)]  # type: ignore[valid-type]
    min: Number = None
    max: Number = None
    mean: Number = None
    sd: Number = None
    mu: Number = None
    sigma: Number = None
    shape: Number = None
    scale: Number = None
    a: Number = None
    b: Number = None
    n: Number = None
    p: Number = None
    alpha: Number = None
    s: Number = None
    decimals: int | None = Field(None, ge=0, le=12)
    integer: bool = False

    @model_validator(mode="after")
    def _per_distribution(self) -> "DistributionParams":
        wanted = DISTRIBUTIONS[self.dist]
        for key in ("mean", "sd", "mu", "sigma", "shape", "scale", "a", "b", "n", "p", "alpha", "s"):
            value = getattr(self, key)
            if key not in wanted and value is not None:
                raise fail(f"is not a parameter of dist {self.dist} (it takes {', '.join(wanted)})", key)
        for key, bound in wanted.items():
            value = getattr(self, key)
            if value is None:
                raise fail(f"required by dist {self.dist}", key)
            if isinstance(value, Expr) or bound is None:
                continue
            op, limit = bound
            if op == ">" and not value > limit:
                raise fail(f"must be > {limit:g}", key)
            if op == ">=" and not value >= limit:
                raise fail(f"must be >= {limit:g}", key)
            if op == "[0,1]" and not 0 <= value <= 1:
                raise fail("must be between 0 and 1", key)
        ordered(self.min, self.max)
        if self.dist in INTEGER and self.decimals is not None:
            raise fail(f"dist {self.dist} makes whole numbers: decimals does not apply", "decimals")
        if self.integer and self.decimals is not None:
            raise fail("integer: true makes whole numbers: decimals does not apply", "decimals")
        return self


class Distribution(Generator):
    """Numbers from a named distribution, then clamped to ``min``/``max``, rounded to ``decimals`` or made
    whole by ``integer`` (integer-only distributions are whole already)."""

    name = "distribution"
    Params = DistributionParams
    summary = ("numbers: " + " · ".join(f"`{d}` ({', '.join(p)})" for d, p in DISTRIBUTIONS.items())
               + "; `min`/`max` clamp, `decimals`, `integer`")

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        if type_:
            return super().kind(params, type_)
        return "int" if params.dist in INTEGER or params.integer else "float"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        v = {k: as_numpy(ctx.value(getattr(p, k), n)) for k in ("min", "max", *DISTRIBUTIONS[p.dist])}
        draw = {
            "uniform": lambda: rng.uniform(v["min"], v["max"], n),
            "normal": lambda: rng.normal(v["mean"], v["sd"], n),
            "lognormal": lambda: rng.lognormal(v["mu"], v["sigma"], n),
            "exponential": lambda: rng.exponential(v["mean"], n),
            "gamma": lambda: rng.gamma(v["shape"], v["scale"], n),
            "beta": lambda: rng.beta(v["a"], v["b"], n),
            "poisson": lambda: rng.poisson(v["mean"], n),
            "binomial": lambda: rng.binomial(np.asarray(v["n"]).astype(np.int64), v["p"], n),
            "pareto": lambda: v["min"] * (1.0 + rng.pareto(v["alpha"], n)),
            "zipf": lambda: rng.zipf(v["s"], n),
        }[p.dist]
        x = draw()
        if p.dist != "uniform" and (p.min is not None or p.max is not None):
            x = np.clip(x, v["min"] if p.min is not None else None, v["max"] if p.max is not None else None)
        if p.dist in INTEGER or p.integer:
            return pa.array(np.rint(x).astype(np.int64))
        if p.decimals is not None:
            x = np.round(x, p.decimals)
        return pa.array(np.asarray(x, dtype=np.float64))


class PartitionParams(Params):
    total: str
    alpha: float = Field(1.0, gt=0)
    decimals: int = Field(2, ge=0, le=9)

    @model_validator(mode="after")
    def _parent(self) -> "PartitionParams":
        if not self.total.startswith("parent."):
            raise fail("must be parent.COLUMN", "total")
        return self


def split_exactly(totals: np.ndarray, groups: np.ndarray, shares: np.ndarray, decimals: int) -> np.ndarray:
    """Per-row amounts in units of 10**-decimals whose sum per group equals the group's total exactly.

    Largest remainders: each row gets the floor of its share, and the units left over go to the rows with
    the largest remainders, so rounding never makes a group's sum drift.
    """
    unit = 10.0**decimals
    units = np.rint(totals * unit).astype(np.int64)  # per row: its group's total
    raw = shares * units
    floor = np.floor(raw).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    left = units[starts] - np.add.reduceat(floor, starts)
    order = np.lexsort((-(raw - floor), groups))  # by group, then largest remainder first
    rank = np.empty(len(order), dtype=np.int64)
    first_of_group = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    rank[order] = np.arange(len(order)) - first_of_group
    floor += rank < np.repeat(left, np.diff(np.r_[starts, len(groups)]))
    return floor / unit


class PartitionOf(Generator):
    """Children's shares of a parent total (Dirichlet with ``alpha``) that sum to it exactly at ``decimals``."""

    name = "partition_of"
    Params = PartitionParams
    summary = "children's values sum exactly to `total: parent.COLUMN` (Dirichlet `alpha`, `decimals` 2)"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "int" if params.decimals == 0 else "float"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        totals = as_numpy(ctx.parent[self.params.total.split(".", 1)[1]])
        groups = ctx.groups(n)
        weights = rng.gamma(self.params.alpha, 1.0, n)
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        sums = np.repeat(np.add.reduceat(weights, starts), np.diff(np.r_[starts, n]))
        values = split_exactly(np.asarray(totals), groups, weights / sums, self.params.decimals)
        return pa.array(values.astype(np.int64) if self.params.decimals == 0 else values)
