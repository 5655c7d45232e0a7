"""Time generators: datetime (uniform in a range) and datetime_series (weekday/hour/month/holiday profiles)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from ..base import Context, Expr, Generator, Params, When, check_profiles, ordered
from ._arrow import weighted_indices

_UNIT_US = {"day": 86_400_000_000, "hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000}
_DAY_US = _UNIT_US["day"]


def micros(value: Any, ctx: Context, n: int) -> np.ndarray | int:
    """A date, timestamp or expression as microseconds since the epoch (an array for an expression)."""
    value = ctx.value(value, n)
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_date(value.type):
            value = pc.cast(value, pa.timestamp("us"))
        return pc.cast(pc.cast(value, pa.timestamp("us")), pa.int64()).to_numpy(zero_copy_only=False)
    if isinstance(value, dt.datetime):
        return int((value.replace(tzinfo=None) - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
    return (value - dt.date(1970, 1, 1)).days * _DAY_US


def as_time(us: np.ndarray, kind: str) -> pa.Array:
    """Microseconds as a date32 (whole days) or timestamp[us] array."""
    if kind == "date":
        return pa.array((us // _DAY_US).astype(np.int32), pa.date32())
    return pa.array(us.astype(np.int64), pa.timestamp("us"))


class DatetimeParams(Params):
    start: When = None
    end: When = None
    granularity: Literal["day", "hour", "minute", "second"] = "second"

    @model_validator(mode="after")
    def _order(self) -> "DatetimeParams":
        ordered(self.start, self.end, "end", "must not be before start")
        return self


class Datetime(Generator):
    """Uniform in [start, end] at a granularity; defaults to the calendar; ``type: date`` makes dates."""

    name = "datetime"
    Params = DatetimeParams
    summary = "uniform in [`start`, `end`] (literals or expressions), `granularity: day|hour|minute|second`"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        if type_ in ("date", "timestamp"):
            return type_
        return "date" if params.granularity == "day" and type_ is None else "timestamp"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        unit = _UNIT_US[p.granularity]
        lo = np.asarray(micros(p.start if p.start is not None else ctx.calendar[0], ctx, n)) // unit
        hi = np.asarray(micros(p.end if p.end is not None else ctx.calendar[1], ctx, n)) // unit
        steps = np.maximum(hi - lo, 0) + 1
        us = (lo + np.floor(rng.random(n) * steps).astype(np.int64)) * unit
        return as_time(us, self.kind(p, getattr(p, "type", None)))


class Holidays(Params):
    dates: list[dt.date]
    weight: float = Field(3.0, ge=0)


class SeriesParams(Params):
    within: tuple[When, When] | None = None
    weekday: list[float] | None = None
    hour: list[float] | None = None
    month: list[float] | None = None
    holidays: Holidays | None = None
    sorted: bool = False

    @model_validator(mode="after")
    def _lengths(self) -> "SeriesParams":
        check_profiles(self)
        if self.within is not None:
            ordered(*self.within, "within", "must not end before it starts")
        return self


class DatetimeSeries(Generator):
    """Event times whose day-of-week, hour and month shares follow the weights (holidays weigh more).

    A day is drawn with probability proportional to weekday x month x holiday weight over every day of the
    window, then an hour by the hour weights and a uniform minute and second: so the shares hold exactly
    in expectation, whatever the window. ``sorted`` orders the times ascending within each parent.
    """

    name = "datetime_series"
    Params = SeriesParams
    summary = "event times with `weekday` [7], `hour` [24], `month` [12] weights, `holidays`, `sorted`, `within`"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "timestamp"

    def day_weights(self, first_day: int, days: int) -> np.ndarray:
        p = self.params
        day = np.arange(first_day, first_day + days).astype("datetime64[D]")
        weekday = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
        month = day.astype("datetime64[M]").astype(np.int64) % 12
        w = np.ones(days)
        if p.weekday is not None:
            w *= np.asarray(p.weekday)[weekday]
        if p.month is not None:
            w *= np.asarray(p.month)[month]
        if p.holidays is not None:
            holiday = np.isin(day, np.array(p.holidays.dates, dtype="datetime64[D]"))
            w[holiday] *= p.holidays.weight
        return w

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        lo, hi = p.within if p.within is not None else ctx.calendar
        if isinstance(lo, Expr) or isinstance(hi, Expr):
            raise NotImplementedError("a window from expressions is the engine's (per-parent windows)")
        first = int(micros(lo, ctx, n)) // _DAY_US
        last = int(micros(hi, ctx, n)) // _DAY_US
        weights = self.day_weights(first, last - first + 1)
        day = first + weighted_indices(weights / weights.sum(), n, rng)
        hours = np.asarray(p.hour if p.hour is not None else np.ones(24), dtype=np.float64)
        hour = weighted_indices(hours / hours.sum(), n, rng)
        us = day * _DAY_US + hour * _UNIT_US["hour"] + rng.integers(0, _UNIT_US["hour"] // 1_000_000, n) * 1_000_000
        if p.sorted:
            us = us[np.lexsort((us, ctx.groups(n)))]
        return as_time(us, "timestamp")
