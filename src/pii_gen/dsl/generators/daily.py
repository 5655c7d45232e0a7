"""Keys of day-keyed tables (``from: calendar`` and its descendants): functions of the day and of the row's
place under its parent, never of its table-wide position, so a run over part of a calendar makes the same keys
for those days as a run over all of it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from ...errors import SchemaError
from ..base import Context, Generator, Num, Params


class CalendarDayParams(Params):
    format: Literal["date", "number"] = "date"


class CalendarDay(Generator):
    """The day of a ``from: calendar`` row (the first day of the run's first calendar block + its position:
    blocks are aligned, see the engine); ``format: number`` writes it as yyyymmdd (an integer key that reads
    as the date)."""

    name = "calendar_day"
    Params = CalendarDayParams
    summary = "the day of a `from: calendar` row: a date, or `format: number` for yyyymmdd"
    unique = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "int" if params.format == "number" else "date"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        per = ctx.engine.schema.calendar.days_per_block if ctx.engine is not None else 1
        first = (ctx.calendar[0] - dt.date(1970, 1, 1)).days // per * per + ctx.first_row
        days = np.arange(first, first + n, dtype=np.int64).astype("datetime64[D]")
        if self.params.format == "date":
            return pa.array(days, pa.date32())
        months = days.astype("datetime64[M]")
        year = days.astype("datetime64[Y]").astype(np.int64) + 1970
        month = months.astype(np.int64) % 12 + 1
        day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
        return pa.array(year * 10000 + month * 100 + day, pa.int64())


class DailyKeyParams(Params):
    base: Num(ge=0, integer=True)  # type: ignore[valid-type]  # the parent's unique integer key: parent.day_id
    digits: int = Field(5, ge=1, le=9)


class DailyKey(Generator):
    """A child's key from its parent's: ``base * 10**digits + index_in_parent + 1`` (unique when the base is
    the parent's unique key and no parent has ``10**digits`` children, which generation checks)."""

    name = "daily_key"
    Params = DailyKeyParams
    summary = "a child's key from its parent's: `base` x 10^`digits` + its place under the parent + 1"
    unique = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "int"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        index = np.arange(n, dtype=np.int64) if ctx.index_in_parent is None else ctx.index_in_parent
        width = 10**self.params.digits
        if n and int(index.max()) + 1 >= width:
            raise SchemaError(
                f"tables.{self.table}.columns.{self.column}.digits: a parent has "
                f"{int(index.max()) + 1} children, more than {self.params.digits} digits hold"
            )
        base = ctx.value(self.params.base, n)
        base = np.asarray(
            base.to_numpy(zero_copy_only=False) if isinstance(base, (pa.Array, pa.ChunkedArray)) else base,
            dtype=np.int64,
        )
        return pa.array(base * width + index + 1, pa.int64())
