"""Anomaly kinds of ``anomalies:`` (a schema file's injected, exactly labelled anomalies), one class each.

A kind declares its ``name`` (what users write as ``kind:``), a pydantic ``Params`` model (its parameters
beside the common ones: see :class:`~pii_gen.dsl.model.AnomalyBase`), the column kinds it changes and a
vectorized ``apply`` over the picked rows' values.  Every kind changes each value it is given (a detector
can see every labelled row, and a run's clean twin differs from it exactly at the labels); ``duplicate``
adds a copy of each picked row instead.  Subclassing registers the class, so the file model, the JSON
Schema and the reference come from the registry.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from ..core.registry import Registry
from .base import CheckedRegistry, Params, fail
from .modifiers import Span, span_us

#: Microseconds in a day (what a date column's delays are counted in) and in a second (a timestamp's: delays
#: are whole seconds, so a column of whole seconds keeps them).
DAY_US = 86_400_000_000
SECOND_US = 1_000_000


class Anomaly:
    """One anomaly kind: ``apply`` returns the picked rows' values changed (each one differs from before)."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    summary: ClassVar[str]
    #: The kinds of column it changes (None: it changes no column, it adds rows; or, with ``refs``, any kind).
    kinds: ClassVar[frozenset[str] | None] = None
    #: It changes a ref column (which no other kind may touch), never a key or the parent link.
    refs: ClassVar[bool] = False

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            ANOMALIES.add(cls)

    def __init__(self, params: Any) -> None:
        self.params = params

    def apply(self, values: pa.Array, rng: np.random.Generator) -> pa.Array:
        raise NotImplementedError(f"anomaly {self.name} adds rows (the engine copies them)")


ANOMALIES: Registry[type[Anomaly]] = CheckedRegistry("schema anomaly kind")


def _numbers(values: pa.Array) -> np.ndarray:
    return np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _back(x: np.ndarray, values: pa.Array) -> pa.Array:
    """``x`` as the type of ``values`` (whole numbers rounded)."""
    return pa.array(np.rint(x).astype(np.int64) if pa.types.is_integer(values.type) else x).cast(values.type)


def _micros(values: pa.Array) -> np.ndarray:
    return np.asarray(
        pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64
    )


class ColumnParams(Params):
    column: str


class SpikeParams(ColumnParams):
    factor: float = Field(10.0, ge=2)


class Spike(Anomaly):
    """A price spike: the value times ``factor`` (at least 2, so a rounded value still changes)."""

    name = "spike"
    kinds = frozenset({"int", "float"})
    Params = SpikeParams
    summary = "multiplies `column` by `factor` (>= 2; a zero becomes `factor`)"

    def apply(self, values: pa.Array, rng: np.random.Generator) -> pa.Array:
        x = _numbers(values)
        return _back(np.where(x == 0, self.params.factor, x * self.params.factor), values)


class Negative(Anomaly):
    """A negative quantity: a positive value negated, any other one less one (always below what it was)."""

    name = "negative"
    kinds = frozenset({"int", "float"})
    Params = ColumnParams
    summary = "makes `column` negative (`-x`; a value <= 0 becomes `x - 1`)"

    def apply(self, values: pa.Array, rng: np.random.Generator) -> pa.Array:
        x = _numbers(values)
        return _back(np.where(x > 0, -x, x - 1), values)


class LateParams(ColumnParams):
    min: Span = "3d"
    max: Span = "30d"

    @model_validator(mode="after")
    def _spans(self) -> "LateParams":
        if not span_us(self.min) > 0:  # type: ignore[operator]
            raise fail("must be longer than 0", "min")
        if span_us(self.max) < span_us(self.min):  # type: ignore[operator]
            raise fail(f"must be >= min ({self.min})", "max")
        return self


class Late(Anomaly):
    """A late event (a shipment weeks after its order): the time moved later by a delay in [min, max]."""

    name = "late"
    kinds = frozenset({"date", "timestamp"})
    Params = LateParams
    summary = (
        "moves `column` later by a uniform delay in [`min`, `max`] ('3d', '12h'; whole seconds, whole days on dates)"
    )

    def apply(self, values: pa.Array, rng: np.random.Generator) -> pa.Array:
        lo, hi = span_us(self.params.min), span_us(self.params.max)
        delay = rng.uniform(lo, hi, len(values))  # type: ignore[arg-type]
        if pa.types.is_date(values.type):
            days = np.maximum(1, np.rint(delay / DAY_US)).astype(np.int32)
            before = np.asarray(values.cast(pa.int32()).to_numpy(zero_copy_only=False))
            return pa.array(before + days, pa.int32()).cast(values.type)
        moved = _micros(values) + np.maximum(1, np.rint(delay / SECOND_US)).astype(np.int64) * SECOND_US
        return pa.array(moved, pa.timestamp("us")).cast(values.type)


class OffHoursParams(ColumnParams):
    hours: tuple[int, int] = (0, 5)

    @model_validator(mode="after")
    def _hours(self) -> "OffHoursParams":
        lo, hi = self.hours
        if not 0 <= lo < hi <= 24 or hi - lo < 2:
            raise fail("must be [FIRST, END) hours with 0 <= FIRST, FIRST + 2 <= END <= 24", "hours")
        return self


class OffHours(Anomaly):
    """An out-of-hours action: the timestamp moved to another hour of its day in ``hours`` (minutes kept)."""

    name = "off_hours"
    kinds = frozenset({"timestamp"})
    Params = OffHoursParams
    summary = "moves `column` to another hour of its day in `hours` [first, end) (minutes and seconds kept)"

    def apply(self, values: pa.Array, rng: np.random.Generator) -> pa.Array:
        lo, hi = self.params.hours
        us = _micros(values)
        hour_us = 3_600_000_000
        day, within = us // DAY_US, us % DAY_US
        hour, rest = within // hour_us, within % hour_us
        new = lo + rng.integers(0, hi - lo - 1, len(us))  # one hour fewer: the current one is skipped
        new = np.where((hour >= lo) & (hour < hi) & (new >= hour), new + 1, new)
        return pa.array(day * DAY_US + new * hour_us + rest, pa.timestamp("us")).cast(values.type)


class Orphan(Anomaly):
    """An orphan-looking row (a shipment whose order seems gone): its ref emptied, so the foreign key still
    holds (a null references nothing) while the row no longer says what it belongs to."""

    name = "orphan"
    refs = True
    Params = ColumnParams
    summary = "empties the ref `column` (null): the row looks orphaned, foreign keys still hold"

    def apply(self, values: pa.Array, rng: np.random.Generator) -> pa.Array:
        return pa.nulls(len(values), values.type)


class DuplicateParams(Params):
    time: str | None = None
    within: Span = "10m"


class Duplicate(Anomaly):
    """A duplicate (a payment made twice): a copy of the row under a new key after the table's last one,
    its ``time`` column (when named) later by up to ``within``."""

    name = "duplicate"
    Params = DuplicateParams
    summary = "adds a copy of the row under a new key (after the table's last), `time` later by up to `within`"

    def shift(self, values: pa.Array, rng: np.random.Generator) -> pa.Array:
        """The copies' times: each later than its row's by (0, within] (a whole day at least on a date)."""
        delay = rng.uniform(0, span_us(self.params.within), len(values)) + 1  # type: ignore[arg-type]
        if pa.types.is_date(values.type):
            before = np.asarray(values.cast(pa.int32()).to_numpy(zero_copy_only=False))
            return pa.array(before + np.maximum(1, np.ceil(delay / DAY_US)).astype(np.int32)).cast(values.type)
        seconds = np.maximum(1, np.rint(delay / SECOND_US)).astype(np.int64)
        return pa.array(_micros(values) + seconds * SECOND_US, pa.timestamp("us")).cast(values.type)
