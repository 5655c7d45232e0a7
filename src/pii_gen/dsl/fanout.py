"""Fanout: how many children each parent row gets, drawn for a whole block of parents at once.

Counts are drawn before any child value, so a child's table-wide position (and so a dense key) is the
prefix sum of the counts before it. Any numeric parameter may be an expression over the parent row.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Discriminator, Tag, model_validator

from .base import Context, Expr, Num, Params, fail, ordered
from .generators._arrow import as_numpy

Count = Num(ge=0)
Positive = Num(gt=0)


class _Clamp(Params):
    min: Count = None
    max: Count = None

    @model_validator(mode="after")
    def _order(self) -> "_Clamp":
        ordered(self.min, self.max)
        return self


class Fixed(_Clamp):
    dist: Literal["fixed"]
    n: Count


class Uniform(_Clamp):
    dist: Literal["uniform"]
    min: Count
    max: Count


class Poisson(_Clamp):
    dist: Literal["poisson"]
    mean: Count


class NegBin(_Clamp):
    dist: Literal["negbin"]
    mean: Positive
    dispersion: Positive  # the size k: variance = mean + mean**2 / k


class Zipf(_Clamp):
    dist: Literal["zipf"]
    s: Num(gt=1)  # type: ignore[valid-type]
    max: Count = None


class Explicit(_Clamp):
    dist: Literal["explicit"]
    weights: dict[int, float]

    @model_validator(mode="after")
    def _weights(self) -> "Explicit":
        if any(k < 0 for k in self.weights) or any(w < 0 for w in self.weights.values()):
            raise fail("counts and weights must be >= 0", "weights")
        if not sum(self.weights.values()) > 0:
            raise fail("must have a positive sum", "weights")
        return self


FANOUTS = (Fixed, Uniform, Poisson, NegBin, Zipf, Explicit)


def _tag(value: Any) -> str | None:
    if isinstance(value, Params):  # a validated fanout, being serialized
        return f"§dist:{value.dist}"  # type: ignore[attr-defined]
    return f"§dist:{value.get('dist')}" if isinstance(value, dict) else None


#: A fanout spec: one model per ``dist``, told apart by it.
Fanout = Annotated[Union[tuple(Annotated[f, Tag(f"§dist:{f.model_fields['dist'].annotation.__args__[0]}")]
                               for f in FANOUTS)], Discriminator(_tag)]


def draw_counts(spec: Params, n: int, rng: np.random.Generator, ctx: Context) -> np.ndarray:
    """The number of children of each of ``n`` parent rows (``ctx.parent`` holds those rows' columns)."""
    value = lambda key: as_numpy(ctx.value(getattr(spec, key), n))  # noqa: E731
    dist = spec.dist
    if dist == "fixed":
        counts = np.broadcast_to(np.rint(value("n")), (n,)).astype(np.int64)
    elif dist == "uniform":
        lo, hi = np.floor(value("min")), np.floor(value("max"))
        counts = (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.int64)
    elif dist == "poisson":
        counts = rng.poisson(value("mean"), n)
    elif dist == "negbin":
        k, mean = value("dispersion"), value("mean")
        counts = rng.negative_binomial(k, k / (k + mean), n)
    elif dist == "zipf":
        counts = rng.zipf(value("s"), n)
    else:
        keys = np.array(list(spec.weights), dtype=np.int64)
        w = np.array(list(spec.weights.values()), dtype=np.float64)
        cdf = np.cumsum(w) / w.sum()
        counts = keys[np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(keys) - 1)]
    if dist != "uniform" and (spec.min is not None or spec.max is not None):
        counts = np.clip(counts, value("min") if spec.min is not None else None,
                         value("max") if spec.max is not None else None)
    return np.maximum(np.asarray(counts, dtype=np.int64), 0)  # an expression may compute a negative count


def expressions(spec: Params) -> dict[str, Expr]:
    """The parameters of a fanout that are expressions (over the parent row), by name."""
    return {k: v for k, v in spec if isinstance(v, Expr)}


