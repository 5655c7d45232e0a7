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
    return literal_us(value)


def literal_us(value: dt.date | dt.datetime) -> int:
    """A date (its midnight) or a timestamp as microseconds since the epoch."""
    if isinstance(value, dt.datetime):
        return int((value.replace(tzinfo=None) - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
    return (value - dt.date(1970, 1, 1)).days * _DAY_US


def window_us(start: Any, end: Any) -> tuple[int, int]:
    """A window's [start, end) in microseconds: a date end covers its whole day (the end date is inside)."""
    return literal_us(start), literal_us(end + dt.timedelta(days=1) if type(end) is dt.date else end)


def bounds_us(values: pa.Array, end: bool) -> np.ndarray:
    """A column of window bounds (dates, timestamps or ISO text) in microseconds; an end date (an ISO date
    of text) covers its whole day."""
    day = np.zeros(len(values), dtype=bool)
    if pa.types.is_date(values.type):
        day[:] = True
    elif pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        day = np.asarray(pc.fill_null(pc.equal(pc.utf8_length(values), 10), False).to_numpy(zero_copy_only=False),
                         dtype=bool)
    us = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64()).to_numpy(zero_copy_only=False)
    return us + _DAY_US * (day & end)


def draw_rated(edges: np.ndarray, mass: np.ndarray, windows: tuple[np.ndarray, np.ndarray, np.ndarray], unit: int,
               n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` times (µs, multiples of ``unit``) from a piecewise-constant density whose cells ``edges`` carry
    ``mass``, where each window (starts, ends, rates) multiplies the density inside it by its rate.

    Cells are split at the window bounds (snapped up to the ``unit`` grid, so a grid point is inside exactly
    when its time is), a sub-cell is drawn by its weighted mass, then a uniform grid point inside it."""
    cuts, weights = rated_cells(edges, mass, windows, unit)
    cell = weighted_indices(weights / weights.sum(), n, rng)
    steps = (cuts[cell + 1] - cuts[cell]) // unit
    return cuts[cell] + np.floor(rng.random(n) * steps).astype(np.int64) * unit


def rated_cells(edges: np.ndarray, mass: np.ndarray, windows: tuple[np.ndarray, np.ndarray, np.ndarray],
                unit: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells of :func:`draw_rated` split at the windows' bounds, and each one's mass times its rates."""
    starts, ends, rates = windows
    snap = lambda t: -(-np.clip(t, edges[0], edges[-1]) // unit) * unit  # noqa: E731
    cuts = np.union1d(edges, np.concatenate([snap(starts), snap(ends)]))
    owner = np.searchsorted(edges, cuts[:-1], side="right") - 1
    weights = mass[owner] * (cuts[1:] - cuts[:-1]) / (edges[owner + 1] - edges[owner])
    for lo, hi, rate in zip(snap(starts), snap(ends), rates):
        weights[(cuts[:-1] >= lo) & (cuts[:-1] < hi)] *= rate
    return cuts, weights


def growth(edges: np.ndarray, mass: np.ndarray, windows: tuple[np.ndarray, np.ndarray, np.ndarray],
           unit: int) -> float:
    """How many times more rows the windows' rates make over the density (weighted mass / plain mass)."""
    return float(rated_cells(edges, mass, windows, unit)[1].sum() / mass.sum())


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

    def cells(self, ctx: Context) -> tuple[np.ndarray, np.ndarray, int]:
        """Its density as cells (µs edges, mass) on its grid: one uniform cell [start, end + one step)."""
        p = self.params
        unit = _UNIT_US[p.granularity]
        lo = int(micros(p.start if p.start is not None else ctx.calendar[0], ctx, 1)) // unit
        hi = int(micros(p.end if p.end is not None else ctx.calendar[1], ctx, 1)) // unit
        return np.array([lo, max(hi, lo) + 1], dtype=np.int64) * unit, np.ones(1), unit

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        rated = ctx.engine.rates(ctx, n) if ctx.engine is not None else None
        if rated is not None:
            return as_time(draw_groups(self.cells(ctx), rated, n, rng), self.kind(p, getattr(p, "type", None)))
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

    def _days(self, ctx: Context) -> tuple[int, int]:
        lo, hi = self.params.within if self.params.within is not None else ctx.calendar
        if isinstance(lo, Expr) or isinstance(hi, Expr):
            raise NotImplementedError("a window from expressions is the engine's (per-parent windows)")
        return int(micros(lo, ctx, 1)) // _DAY_US, int(micros(hi, ctx, 1)) // _DAY_US

    def cells(self, ctx: Context) -> tuple[np.ndarray, np.ndarray, int]:
        """Its density as hour cells (µs edges, day weight x hour weight) on a one-second grid."""
        first, last = self._days(ctx)
        days = last - first + 1
        hours = np.asarray(self.params.hour if self.params.hour is not None else np.ones(24), dtype=np.float64)
        mass = np.outer(self.day_weights(first, days), hours / hours.sum()).ravel()
        edges = first * _DAY_US + np.arange(days * 24 + 1, dtype=np.int64) * _UNIT_US["hour"]
        return edges, mass, _UNIT_US["second"]

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        rated = ctx.engine.rates(ctx, n) if ctx.engine is not None else None
        if rated is not None:
            us = draw_groups(self.cells(ctx), rated, n, rng)
            return as_time(us[np.lexsort((us, ctx.groups(n)))] if p.sorted else us, "timestamp")
        first, last = self._days(ctx)
        weights = self.day_weights(first, last - first + 1)
        day = first + weighted_indices(weights / weights.sum(), n, rng)
        hours = np.asarray(p.hour if p.hour is not None else np.ones(24), dtype=np.float64)
        hour = weighted_indices(hours / hours.sum(), n, rng)
        us = day * _DAY_US + hour * _UNIT_US["hour"] + rng.integers(0, _UNIT_US["hour"] // 1_000_000, n) * 1_000_000
        if p.sorted:
            us = us[np.lexsort((us, ctx.groups(n)))]
        return as_time(us, "timestamp")


def draw_groups(cells: tuple[np.ndarray, np.ndarray, int], rated: tuple[np.ndarray, list[Any]], n: int,
                rng: np.random.Generator) -> np.ndarray:
    """Times of a block whose rows fall into groups (``rated``: each row's group, and each group's windows
    as (starts, ends, rates)), each group drawn from the cells weighted by its windows, in group order."""
    edges, mass, unit = cells
    groups, windows = rated
    us = np.empty(n, dtype=np.int64)
    for g, group in enumerate(windows):
        rows = np.flatnonzero(groups == g)
        if len(rows):
            us[rows] = draw_rated(edges, mass, group, unit, len(rows), rng)
    return us
