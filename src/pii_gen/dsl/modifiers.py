"""Modifiers of ``modify:``, applied in order after a column's generator, each vectorized over a block.

Every numeric parameter may be an expression. Modifiers never touch keys or foreign keys (the loader
refuses them there). ``noise`` needs the population's noise types and runs in the engine.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import AfterValidator, Field, model_validator

from ..core.contract import KINDS
from ..variability.registry import noise_type
from .base import Context, Modifier, Num, Params, check_profiles, fail, ordered
from .generators._arrow import as_numpy
from .fields import PERSON_KINDS

Number = Num()
Rate = Num(ge=0, le=1)
NUMERIC = frozenset({"int", "float"})


def _numbers(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def _like(x: np.ndarray, values: pa.Array) -> pa.Array:
    """``x`` back as Arrow, whole numbers staying whole, the input's nulls kept."""
    out = pa.array(np.rint(x).astype(np.int64) if pa.types.is_integer(values.type) else x)
    return pc.if_else(pc.is_null(values), pa.scalar(None, out.type), out) if values.null_count else out


class MultiplyParams(Params):
    by: Number


class Multiply(Modifier):
    name = "multiply"
    kinds = NUMERIC
    Params = MultiplyParams
    summary = "multiplies by `by`"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        return _like(_numbers(values) * as_numpy(ctx.value(self.params.by, len(values))), values)


class AddParams(Params):
    value: Number


class Add(Modifier):
    name = "add"
    kinds = NUMERIC
    Params = AddParams
    summary = "adds `value`"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        return _like(_numbers(values) + as_numpy(ctx.value(self.params.value, len(values))), values)


class ClampParams(Params):
    min: Number = None
    max: Number = None

    @model_validator(mode="after")
    def _some(self) -> "ClampParams":
        if self.min is None and self.max is None:
            raise fail("needs min, max or both", "min")
        ordered(self.min, self.max)
        return self


class Clamp(Modifier):
    name = "clamp"
    kinds = NUMERIC
    Params = ClampParams
    summary = "limits to [`min`, `max`]"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        n = len(values)
        lo = as_numpy(ctx.value(self.params.min, n)) if self.params.min is not None else None
        hi = as_numpy(ctx.value(self.params.max, n)) if self.params.max is not None else None
        return _like(np.clip(_numbers(values), lo, hi), values)


class RoundParams(Params):
    decimals: int = Field(0, ge=0, le=12)


class Round(Modifier):
    name = "round"
    kinds = NUMERIC
    Params = RoundParams
    summary = "rounds to `decimals` (half to even)"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        return _like(np.round(_numbers(values), self.params.decimals), values)


class JitterParams(Params):
    sd: Num(ge=0) = None  # type: ignore[valid-type]
    pct: Num(ge=0) = None  # type: ignore[valid-type]
    dist: Literal["normal", "uniform"] = "normal"

    @model_validator(mode="after")
    def _one(self) -> "JitterParams":
        if (self.sd is None) == (self.pct is None):
            raise fail("takes sd or pct (one of them)", "sd")
        return self


class Jitter(Modifier):
    name = "jitter"
    kinds = NUMERIC
    Params = JitterParams
    summary = "adds noise of `sd` (absolute) or `pct` (relative), `dist: normal | uniform` (uniform: ±sd·√3)"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        x = _numbers(values)
        n = len(x)
        scale = (as_numpy(ctx.value(self.params.sd, n)) if self.params.sd is not None
                 else np.abs(x) * as_numpy(ctx.value(self.params.pct, n)))
        unit = rng.standard_normal(n) if self.params.dist == "normal" else rng.uniform(-np.sqrt(3), np.sqrt(3), n)
        return _like(x + unit * scale, values)


class MapParams(Params):
    mapping: dict[Any, Any]
    default: Any = None


class MapValues(Modifier):
    name = "map_values"
    Params = MapParams
    summary = "replaces values by `mapping`; others become `default` (null when not given, kept when `default: keep`)"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        keys = list(self.params.mapping)
        index = pc.index_in(values, value_set=pa.array(keys))
        mapped = pa.array(list(self.params.mapping.values())).take(index)
        if self.params.default == "keep":
            return pc.coalesce(mapped, pc.cast(values, mapped.type))
        return pc.fill_null(mapped, self.params.default) if self.params.default is not None else mapped


class SeasonalityParams(Params):
    on: str
    weekday: list[float] | None = None
    hour: list[float] | None = None
    month: list[float] | None = None
    mode: Literal["multiply", "add"] = "multiply"

    @model_validator(mode="after")
    def _lengths(self) -> "SeasonalityParams":
        if not check_profiles(self):
            raise fail("needs weekday, hour or month weights", "weekday")
        return self


class Seasonality(Modifier):
    name = "seasonality"
    kinds = NUMERIC
    Params = SeasonalityParams
    summary = "scales (or shifts, `mode: add`) by the `weekday` [7] / `hour` [24] / `month` [12] factor of column `on`"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        on = ctx.columns[self.params.on]
        p = self.params
        x = _numbers(values)
        factor = np.ones(len(x)) if p.mode == "multiply" else np.zeros(len(x))
        # only the profiles given: a date column has no hour
        parts = (("weekday", lambda: pc.day_of_week(on)), ("hour", lambda: pc.hour(on)),
                 ("month", lambda: pc.subtract(pc.month(on), 1)))
        for key, part in parts:
            w = getattr(p, key)
            if w is not None:
                f = np.asarray(w)[np.asarray(part().to_numpy(zero_copy_only=False), dtype=np.int64)]
                factor = factor * f if p.mode == "multiply" else factor + f
        return _like(x * factor if p.mode == "multiply" else x + factor, values)


_SPAN = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_SPAN_US = {"s": 1e6, "m": 60e6, "h": 3600e6, "d": 86400e6}


def span_us(text: str) -> float | None:
    """A span like ``'30s'``, ``'15m'``, ``'2h'`` or ``'1d'`` in microseconds (None: not a span)."""
    match = _SPAN.match(text)
    return None if match is None else float(match.group(1)) * _SPAN_US[match.group(2)]


def _span(text: str) -> str:
    if span_us(text) is None:
        raise fail("must be a span like '30s', '15m', '2h' or '1d'")
    return text


#: A time span parameter: ``'30s'``, ``'15m'``, ``'2h'``, ``'1d'``.
Span = Annotated[str, AfterValidator(_span)]


class TimeJitterParams(Params):
    sd: Span


class TimeJitter(Modifier):
    name = "time_jitter"
    kinds = frozenset({"timestamp"})
    Params = TimeJitterParams
    summary = "moves timestamps by normal noise of `sd` ('15m', '2h', '1d'), to the microsecond"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        us = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64()).to_numpy(zero_copy_only=False)
        moved = us + np.rint(rng.standard_normal(len(values)) * span_us(self.params.sd)).astype(np.int64)
        return pa.array(moved, pa.timestamp("us"), mask=np.asarray(values.is_null()))


class NullsParams(Params):
    rate: Rate


class Nulls(Modifier):
    name = "nulls"
    Params = NullsParams
    summary = "makes a `rate` share of values null"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        hit = rng.random(len(values)) < as_numpy(ctx.value(self.params.rate, len(values)))
        return pc.if_else(pa.array(hit), pa.scalar(None, values.type), values)


class OutliersParams(Params):
    rate: Rate
    mode: Literal["spike", "drop"] = "spike"
    factor: Num(gt=0) = 10.0  # type: ignore[valid-type]
    label: bool = False


class Outliers(Modifier):
    """Spikes (x factor) or drops (/ factor) a ``rate`` share of values; ``label`` lists them in the ledger."""

    name = "outliers"
    kinds = NUMERIC
    Params = OutliersParams
    summary = "multiplies (`spike`) or divides (`drop`) a `rate` share by `factor`; `label` records them"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        n = len(values)
        hit = rng.random(n) < as_numpy(ctx.value(self.params.rate, n))
        f = as_numpy(ctx.value(self.params.factor, n))
        scale = np.where(hit, f if self.params.mode == "spike" else 1.0 / np.asarray(f), 1.0)
        if self.params.label:
            ctx.labels[(ctx.column, ctx.step)] = (np.flatnonzero(hit & np.asarray(values.is_valid())), values)
        return _like(_numbers(values) * scale, values)


#: The noise types a schema column can take: the population's, and the identity noise of identity graphs.
NOISE_TYPES = ("typo", "name_variant", "missing", "format", "wrong_value", "email_typo", "recycled_phone",
               "ip_reassigned", "cookie_churn", "borrowed_device")


class NoiseParams(Params):
    type: Literal[NOISE_TYPES]  # type: ignore[valid-type]
    rate: Rate
    kind: Literal[tuple(k for k in KINDS if k != "id")] | None = None  # type: ignore[valid-type]
    label: bool = False
    #: An expression: only rows where it is true may be changed (an identifier column's rows of one id type).
    where: str | None = None
    #: An expression: a type that takes a value from another row (borrowed_device) takes it from a row with
    #: the same value of it.
    by: str | None = None
    #: An expression: rows with one value of it are drawn together (one draw per value, a pure function of
    #: (seed, step, value)): a person's cookie on a device churns as a whole.
    key: str | None = None


class Noise(Modifier):
    """The population's noise types on a schema column: a ``rate`` share of its values changed the way
    ``type`` changes a population column of the same kind; the rows it changed are kept per block."""

    name = "noise"
    Params = NoiseParams
    summary = ("the population's noise (`type: typo|name_variant|missing|format|wrong_value`, or identity noise "
               "`email_typo|recycled_phone|ip_reassigned|cookie_churn|borrowed_device`; `rate`) on values of "
               "`kind` (a population column kind; default: the person field's, else by the values), on rows "
               "`where` says, logged; `label` records the rows changed")
    engine = True

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        if ctx.engine is None:
            raise NotImplementedError("the noise modifier is applied by the engine")
        return ctx.engine.noise(self.params, values, rng, ctx)


#: The population kinds a column's values are treated as, by their value kind, when neither ``kind:`` nor a
#: person field says: the first of them the noise type can change (a plain string is text, or a name-like
#: word for typos and case drift; a date a recorded date).
VALUE_KINDS = {"string": ("text", "organization"), "any": ("text", "organization"), "date": ("date", "reported_date"),
               "timestamp": ("text",), "int": ("count",), "float": ("money",), "bool": ("flag",)}
#: Siblings a noise type reads beside a column of a kind: the surname a swapped first name takes, the sex an
#: added suffix needs.
SIBLINGS = {("name_variant", "given_name"): "family_name", ("name_variant", "name_suffix"): "sex"}


def noise_kind(column: Any, params: NoiseParams, value_kind: str) -> str | None:
    """The population column kind a ``noise`` step treats ``column``'s values as (None: no kind it can change)."""
    if params.kind is not None:
        return params.kind
    if column.gen == "person" and column.field in PERSON_KINDS:
        return PERSON_KINDS[column.field]
    noise = noise_type(params.type)
    return next((k for k in VALUE_KINDS.get(value_kind, ()) if noise.supports(k)), None)


def column_kind(column: Any) -> str:
    """A column's population kind as a sibling noise reads it: a person field's, else none."""
    return PERSON_KINDS.get(column.field, "") if column.gen == "person" else ""


class DigestModParams(Params):
    encoding: Literal["hex", "base64"] = "hex"
    #: An expression: the rows hashed (the others kept as they are); all rows when not given.
    where: str | None = None


class DigestValues(Modifier):
    """SHA-256 of a string column's values where ``where`` holds: the last step of an identifier whose noise
    (a mistyped e-mail, a recycled phone) must change the plain value before it is hashed."""

    name = "digest"
    kinds = frozenset({"string"})
    Params = DigestModParams
    summary = "SHA-256 (`encoding: hex|base64`) of the values on rows `where` says (all by default), nulls kept"

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        from .expr import evaluate
        from .generators.identity import sha256

        p = self.params
        if p.where is None:
            return sha256(values, p.encoding)
        rows = np.asarray(pc.fill_null(evaluate(p.where, ctx, len(values)).cast(pa.bool_()), False), dtype=bool)
        if not rows.any():
            return values
        hashed = sha256(values.filter(pa.array(rows)), p.encoding)
        index = np.arange(len(values))
        index[rows] = len(values) + np.arange(len(hashed))
        return pa.concat_arrays([values.cast(pa.string()), hashed]).take(pa.array(index))
