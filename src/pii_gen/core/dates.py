"""Calendar arithmetic on whole columns of dates, held as int32 days since 1970-01-01."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

EPOCH = dt.date(1970, 1, 1)
DAYS_PER_YEAR = 365.2425


def as_of_days(as_of: dt.date) -> int:
    return (as_of - EPOCH).days


def years_before(as_of: dt.date, years: np.ndarray) -> np.ndarray:
    """Day number of the date ``years`` calendar years before ``as_of`` (Feb 29 becomes Mar 1)."""
    y = (np.asarray(years, dtype=np.int64) * -1 + as_of.year - 1970).astype("datetime64[Y]")
    d = y.astype("datetime64[M]") + (as_of.month - 1)
    return (d.astype("datetime64[D]") + (as_of.day - 1)).astype(np.int64)


def birth_days_for_age(as_of: dt.date, age: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A birth date, uniform over the days that make the person exactly ``age`` on ``as_of``."""
    latest = years_before(as_of, age)  # turned ``age`` on this day at the latest
    earliest = years_before(as_of, np.asarray(age, dtype=np.int64) + 1) + 1
    span = latest - earliest + 1
    return (earliest + np.floor(u * span).astype(np.int64)).astype(np.int32)


def age_on(as_of: dt.date, birth: np.ndarray) -> np.ndarray:
    """Completed years of age on ``as_of`` for birth dates given as day numbers."""
    b = np.asarray(birth).astype("datetime64[D]")
    by = b.astype("datetime64[Y]").astype(np.int64) + 1970
    month = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    before_birthday = (month * 100 + day) > (as_of.month * 100 + as_of.day)
    return as_of.year - by - before_birthday


def date_array(days: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Day numbers as an Arrow date32 column, null where ``null_mask`` is true."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32(), mask=null_mask).cast(pa.date32())
