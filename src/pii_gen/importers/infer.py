"""What a sample of values says about a column, as aggregates only: its type, its categories (each seen at
least ``MIN_CATEGORY_COUNT`` times), a fitted distribution, the weekday/hour shares of its dates, and a
fitted fanout from per-parent counts.  Never a value of one row: no minimum, maximum or example is kept
for writing (distribution bounds are whole-sample figures: moments, a sign, a count)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from typing import Any

import numpy as np

from ..core import portable
from .source import MIN_CATEGORY_COUNT, ColumnStats, SourceColumn

#: Examples kept in memory for value-shape detection (never written).
EXAMPLES = 50
#: A column is categorical when its categories cover this share of its non-null values.
CATEGORY_COVER = 0.9
#: ... and have at most this many values.
MAX_CATEGORIES = 50
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
INT32 = 2**31 - 1


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def value_type(values: list[Any]) -> str:
    """The DSL type of non-null JSON values: bool, int, bigint, float, date, timestamp or string."""
    if not values:
        return "string"
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "bigint" if max(abs(v) for v in values) > INT32 else "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        if all(_DATE.match(v) for v in values):
            return "date"
        if all(_STAMP.match(v) for v in values):
            return "timestamp"
    return "string"


def _decimals(values: list[float]) -> int:
    places = [len(repr(float(v)).split(".")[1].rstrip("0")) for v in values if math.isfinite(v)]
    return min(max(places, default=0), 4)


def fit_numbers(values: list[float], integer: bool) -> dict[str, Any]:
    """A ``gen: distribution`` spec fitted to numbers: lognormal for positive right-skewed values, else
    normal; clamped at 0 when every value is non-negative (never at a value seen)."""
    x = np.asarray(values, dtype=np.float64)
    spec: dict[str, Any]
    mean, sd = float(x.mean()), float(x.std())
    d = x - mean
    skew = float((d * d * d).mean() / sd**3) if sd > 0 else 0.0
    if sd == 0:
        spec = {"dist": "normal", "mean": _round(mean), "sd": _round(abs(mean) * 1e-6 or 1e-6)}
    elif x.min() > 0 and skew > 1.0:
        logs = portable.log(x)
        spec = {"dist": "lognormal", "mu": _round(float(logs.mean())), "sigma": _round(max(float(logs.std()), 1e-6))}
    else:
        spec = {"dist": "normal", "mean": _round(mean), "sd": _round(sd)}
    if x.min() >= 0 and spec["dist"] == "normal":
        spec["min"] = 0
    if integer:
        spec["integer"] = True
    else:
        spec["decimals"] = _decimals(values)
    return spec


def _round(v: float) -> float:
    return float(f"{v:.4g}")


def fit_fanout(counts: list[int]) -> dict[str, Any]:
    """A ``fanout:`` spec fitted to children-per-parent counts (zeros included): fixed when they never vary,
    Poisson when the variance is near the mean, else negative binomial; clamped to the largest count."""
    x = np.asarray(counts, dtype=np.float64)
    mean, var = float(x.mean()), float(x.var())
    top = int(x.max()) if len(x) else 0
    if var == 0:
        return {"dist": "fixed", "n": int(mean)}
    if var <= mean * 1.2 or mean == 0:
        return {"dist": "poisson", "mean": _round(mean), "max": top}
    return {"dist": "negbin", "mean": _round(mean), "dispersion": _round(mean**2 / (var - mean)), "max": top}


def shares(counter: Counter[int], size: int) -> list[float]:
    total = sum(counter.values()) or 1
    return [round(counter.get(i, 0) / total, 4) for i in range(size)]


def _month_bounds(first: dt.datetime, last: dt.datetime) -> tuple[str, str]:
    """The whole months the values fall in (a bound, not a value of one row)."""
    start = dt.date(first.year, first.month, 1)
    nxt = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    return start.isoformat(), (nxt - dt.timedelta(days=1)).isoformat()


def column_stats(values: list[Any], type_: str) -> ColumnStats:
    """Aggregates of one column's sample (``values`` with its nulls as None)."""
    present = [v for v in values if v is not None]
    stats = ColumnStats(count=len(values), nulls=len(values) - len(present))
    if not present:
        return stats
    hashable = [v if not isinstance(v, (dict, list)) else repr(v) for v in present]
    counts = Counter(hashable)
    stats.distinct = len(counts)
    common = {v: n for v, n in counts.most_common() if n >= MIN_CATEGORY_COUNT}
    if common and len(common) <= MAX_CATEGORIES and sum(common.values()) >= CATEGORY_COVER * len(present):
        stats.categories = common
    if type_ in ("int", "bigint", "float"):
        stats.distribution = fit_numbers([float(v) for v in present], integer=type_ != "float")
    elif type_ in ("date", "timestamp"):
        stamps = [_instant(str(v)) for v in present]
        stats.start, stats.end = _month_bounds(min(stamps), max(stamps))
        stats.weekday = shares(Counter(s.weekday() for s in stamps), 7)
        if type_ == "timestamp":
            stats.hour = shares(Counter(s.hour for s in stamps), 24)
    elif type_ == "string":
        stats.max_length = max(len(str(v)) for v in present)
    return stats


def column_from_values(name: str, values: list[Any]) -> SourceColumn:
    """A source column from a sample's values (None for a missing or null value)."""
    present = [v for v in values if v is not None]
    type_ = value_type(present)
    return SourceColumn(name=name, type=type_, nullable=len(present) < len(values), source_type="json",
                        unique=bool(present) and len(set(map(repr, present))) == len(present) == len(values),
                        stats=column_stats(values, type_), examples=present[:EXAMPLES])
