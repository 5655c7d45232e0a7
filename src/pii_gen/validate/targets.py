"""Targets of a schema file (section 7) measured on stored tables, and the automatic ones ``auto_targets`` adds.

A declared target passes when its measured value is inside the bounds it states (``between``, ``mean``,
``min``/``max``, ``max_mape``).  TVD, KS and MAPE are never zero on a finite sample, so their bound is the
declared one or the sampling allowance, whichever is larger.  An automatic target compares a declared
parameter (weights, a distribution, a fanout, a series profile, an effect) with the data, with the tolerance
``max(floor, Z * standard error)`` (see the README, "Checking a dataset against its schema").
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dsl.base import Context, Expr
from ..dsl.checks import parent_column
from ..dsl.generators.categorical import popularity
from ..dsl.generators.temporal import rated_cells
from ..dsl.model import Effect, Schema, Target
from ..packs.schema.effects import Effects
from .dataset import Source, quote
from .model import Check, Status, sampling_allowance
from . import svg

if TYPE_CHECKING:
    from .schema import Evaluator

GROUP, AUTO = "targets", "auto targets"
Z = 4.0  # standard errors chance may move an automatic target's measure (chance exceeds it < 1 in 10,000)
KS_C = 2.23  # Kolmogorov: P(sqrt(n) D > 2.23) ~ 1e-4, the KS analogue of Z
FLOOR = {"tvd": 0.005, "ks": 0.005, "rel": 0.01}  # the least tolerance: what a generator may legitimately miss by
DIMS = {"weekday": (7, "isodow({c}) - 1", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
        "hour": (24, "hour({c})", [str(h) for h in range(24)]),
        "month": (12, "month({c}) - 1", ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                         "Dec"])}
EPOCH = dt.date(1970, 1, 1).toordinal()


def day(value: dt.date | dt.datetime) -> int:
    """Days since the epoch of a date or timestamp."""
    return (value.date() if isinstance(value, dt.datetime) else value).toordinal() - EPOCH


def _window(effect: Effect) -> tuple[dt.datetime, dt.datetime] | None:
    """An effect's window as [start, end): a date end is inclusive (the whole day)."""
    if effect.window is None:
        return None
    start, end = effect.window.start, effect.window.end
    as_ts = lambda v: v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())  # noqa: E731
    return as_ts(start), as_ts(end) + (dt.timedelta(days=1) if not isinstance(end, dt.datetime) else dt.timedelta())


def _literal(value: Any) -> bool:
    return value is not None and not isinstance(value, Expr)


class Targets:
    """Measures the declared and automatic targets of one schema over an opened source."""

    def __init__(self, src: Source, schema: Schema, evaluator: Evaluator) -> None:
        self.src, self.schema, self.ev = src, schema, evaluator
        self.plots: list[tuple[str, str]] = []
        self._effects: Effects | None = None

    def one(self, sql: str) -> tuple:
        return self.src.one(sql)

    def run(self) -> list[Check]:
        out = [self.declared(i, t) for i, t in enumerate(self.schema.targets)]
        if self.schema.auto_targets:
            out += self.automatic()
        return out

    # -- declared ----------------------------------------------------------------------------------------

    def declared(self, i: int, t: Target) -> Check:
        name = t.name or f"{t.metric} {t.table or t.effect or ''}".strip() + f" (targets.{i})"
        measure = getattr(self, f"_{t.metric}")(t)
        if measure is None:
            return Check(GROUP, name, "skip", "nothing to measure", weight=t.weight)
        value, metrics, floor = measure
        lo, hi = self._bounds(t, floor)
        status: Status = "pass" if (lo is None or value >= lo) and (hi is None or value <= hi) else "fail"
        allowed = f"[{'-inf' if lo is None else f'{lo:.4g}'}, {'inf' if hi is None else f'{hi:.4g}'}]"
        return Check(GROUP, name, status, f"{t.metric} {value:.4g}", f"allowed {allowed}",
                     {"metric": t.metric, "value": value, "allowed": [lo, hi], **metrics}, t.weight)

    @staticmethod
    def _bounds(t: Target, floor: float | None) -> tuple[float | None, float | None]:
        if t.between is not None:
            return t.between
        if t.mean is not None:
            return t.mean
        if t.max_mape is not None:
            return None, max(t.max_mape, floor or 0.0)
        hi = t.max if t.max is None or floor is None else max(t.max, floor)
        return t.min, hi if hi is not None or floor is None else floor

    def _weekend_share(self, t: Target) -> tuple[float, dict, None] | None:
        n, weekend = self.one(f"SELECT COUNT({quote(t.column)}), COUNT(*) FILTER (WHERE isodow({quote(t.column)}) "
                              f">= 6) FROM {quote(t.table)}")  # type: ignore[arg-type]
        return None if not n else (weekend / n, {"n": n}, None)

    def _mean_in_range(self, t: Target) -> tuple[float, dict, None] | None:
        n, mean, sd = self.one(f"SELECT COUNT({quote(t.column)}), AVG({quote(t.column)}), "
                               f"STDDEV_SAMP({quote(t.column)}) FROM {quote(t.table)}")  # type: ignore[arg-type]
        return None if not n else (float(mean), {"n": n, "standard_error": (sd or 0) / math.sqrt(n)}, None)

    def _share(self, t: Target) -> tuple[float, dict, None] | None:
        hits = total = 0
        for rows, values in self.ev.values(t.table, [t.where] + ([t.among] if t.among else [])):  # type: ignore[list-item]
            held = pc.fill_null(values[0], False)
            if t.among:  # only the rows ``among`` holds for count, in the numerator and the denominator
                among = pc.fill_null(values[1], False)
                held = pc.and_(held, among)
                total += int(pc.sum(among).as_py() or 0)
            else:
                total += rows.num_rows
            hits += int(pc.sum(held).as_py() or 0)
        return None if not total else (hits / total, {"n": total}, None)

    def _corr(self, t: Target) -> tuple[float, dict, None] | None:
        xs, ys = [], []
        for _, (x, y) in self.ev.values(t.table, [t.x, t.y]):  # type: ignore[arg-type, list-item]
            xs.append(pc.cast(x, pa.float64()).to_numpy(zero_copy_only=False))
            ys.append(pc.cast(y, pa.float64()).to_numpy(zero_copy_only=False))
        x, y = np.concatenate(xs or [np.zeros(0)]), np.concatenate(ys or [np.zeros(0)])
        keep = ~(np.isnan(x) | np.isnan(y))
        x, y = x[keep], y[keep]
        if len(x) < 3 or x.std() == 0 or y.std() == 0:
            return None
        if t.method == "spearman":
            x, y = _ranks(x), _ranks(y)
        r = float(np.corrcoef(x, y)[0, 1])
        return r, {"n": int(len(x)), "method": t.method}, None

    def _per_parent_count(self, t: Target) -> tuple[float, dict, None] | None:
        counts = self.fanout(t.table, t.parent)  # type: ignore[arg-type]
        if counts is None or not counts.sum():
            return None
        k = np.arange(len(counts))
        mean = float((k * counts).sum() / counts.sum())
        return mean, {"parents": int(counts.sum())}, None

    def _composite_effect(self, t: Target) -> tuple[float, dict, float] | None:
        expected = self.expected_profile(t.table, t.column, t.dims or ["weekday", "hour"])  # type: ignore[arg-type]
        if expected is None:
            return None
        observed, n = self.profile(t.table, t.column, t.dims or ["weekday", "hour"])  # type: ignore[arg-type]
        if not n:
            return None
        cells = expected > 0
        mape = float(np.mean(np.abs(observed[cells] - expected[cells]) / expected[cells]))
        q = expected[cells]
        sampling = float(np.mean(np.sqrt(2 / math.pi) * np.sqrt(q * (1 - q) / n) / q))  # E[MAPE] by chance alone
        return mape, {"n": n, "cells": int(cells.sum()), "sampling_mape": sampling}, sampling * 1.5 + 2 / n

    def _tvd(self, t: Target) -> tuple[float, dict, float] | None:
        expected = self.declared_shares(t.table, t.column)  # type: ignore[arg-type]
        if expected is None:
            return None
        tvd, n, _ = self.tvd(t.table, t.column, expected)  # type: ignore[arg-type]
        return None if not n else (tvd, {"n": n}, max(FLOOR["tvd"], sampling_allowance(list(expected.values()), n)))

    def _ks(self, t: Target) -> tuple[float, dict, float] | None:
        measured = self.ks(t.table, t.column)  # type: ignore[arg-type]
        if measured is None:
            return None
        d, n = measured
        return d, {"n": n}, max(FLOOR["ks"], KS_C / math.sqrt(n))

    def _effect_lift(self, t: Target) -> tuple[float, dict, None] | None:
        effect = next(e for e in self.schema.effects if e.name == t.effect)
        lift = self.lift(effect)
        return None if lift is None else (lift[0], lift[1], None)

    # -- measures ------------------------------------------------------------------------------------------

    def fanout(self, table: str, parent: str) -> np.ndarray | None:
        """Parents by number of children (index: children), through the parent link or a ref to ``parent``."""
        spec = self.schema.tables[table]
        link = parent_column(self.schema, spec) if spec.parent == parent else next(
            (c for c, col in spec.columns.items() if col.gen == "ref" and col.to.partition(".")[0] == parent), None)
        if link is None:
            return None
        key = self.schema.tables[parent].keys[0]
        rows = self.src.all(
            f"SELECT n, COUNT(*) FROM (SELECT p.{quote(key)}, COUNT(c.{quote(link)}) AS n FROM {quote(parent)} p "
            f"LEFT JOIN {quote(table)} c ON c.{quote(link)} = p.{quote(key)} GROUP BY p.{quote(key)}) GROUP BY n")
        if not rows:
            return None
        counts = np.zeros(max(int(r[0]) for r in rows) + 1)
        for k, c in rows:
            counts[int(k)] = c
        return counts

    def profile(self, table: str, column: str, dims: list[str]) -> tuple[np.ndarray, int]:
        """Observed shares of the column's times over the cells of ``dims`` (row-major), and the rows counted."""
        sizes = [DIMS[d][0] for d in dims]
        cell = " + ".join(f"({DIMS[d][1].format(c=quote(column))}) * {int(np.prod(sizes[i + 1:]))}"
                          for i, d in enumerate(dims))
        out = np.zeros(int(np.prod(sizes)))
        for k, c in self.src.all(f"SELECT {cell} AS k, COUNT(*) FROM {quote(table)} WHERE {quote(column)} "
                                 "IS NOT NULL GROUP BY k"):
            out[int(k)] = c
        n = int(out.sum())
        return (out / n if n else out), n

    def day_weights(self, table: str, column: str, without: str | None = None
                    ) -> tuple[int, np.ndarray, np.ndarray] | None:
        """(first day, each day's expected weight, the 24 hour weights) of a time column with a literal window
        (``datetime_series``, or a uniform ``datetime``); a global ``rate`` effect weighs its window's days
        (except the effect named ``without``)."""
        col = self.schema.tables[table].columns.get(column)
        if col is None or col.modify:
            return None
        cal = self.schema.calendar
        if col.gen == "datetime_series":
            from ..dsl.generators.temporal import DatetimeSeries

            lo, hi = col.within if col.within is not None else (cal.start, cal.end)
            if isinstance(lo, Expr) or isinstance(hi, Expr):
                return None
            first, last = day(lo), day(hi)
            weights = DatetimeSeries(col, table, column).day_weights(first, last - first + 1)
            hours = np.asarray(col.hour if col.hour is not None else np.ones(24), dtype=np.float64)
        elif col.gen == "datetime":
            lo = col.start if col.start is not None else cal.start
            hi = col.end if col.end is not None else cal.end
            if isinstance(lo, Expr) or isinstance(hi, Expr) or (col.granularity != "day" and (
                    isinstance(lo, dt.datetime) or isinstance(hi, dt.datetime))):
                return None
            first, last = day(lo), day(hi)
            weights = np.ones(last - first + 1)
            hours = np.ones(24) if col.granularity != "day" and col.type != "date" else np.r_[1.0, np.zeros(23)]
        else:
            return None
        for effect in self.schema.effects:
            window = _window(effect)
            if effect.table == table and effect.time == column and effect.rate and window and effect.where is None \
                    and effect.name != without:
                days = np.arange(first, first + len(weights))
                inside = (days >= day(window[0])) & (days < day(window[1]))
                weights = weights * np.where(inside, effect.rate, 1.0)
        return first, weights, hours / hours.sum()

    def expected_profile(self, table: str, column: str, dims: list[str]) -> np.ndarray | None:
        """Expected shares over the cells of ``dims`` (row-major) from the column's declared weights."""
        made = self.day_weights(table, column)
        if made is None:
            return None
        first, weights, hours = made
        days = np.arange(first, first + len(weights)).astype("datetime64[D]")
        index = {"weekday": (days.astype(np.int64) + 3) % 7,
                 "month": days.astype("datetime64[M]").astype(np.int64) % 12}
        day_dims = [d for d in dims if d != "hour"]
        sizes = [DIMS[d][0] for d in day_dims]
        cell = np.zeros(len(days), dtype=np.int64)
        for d, size in zip(day_dims, sizes):
            cell = cell * size + index[d]
        by_day = np.bincount(cell, weights=weights, minlength=int(np.prod(sizes)) if sizes else 1)
        by_day = by_day / by_day.sum()
        joint = by_day if "hour" not in dims else np.outer(by_day, hours).ravel()
        if "hour" in dims and dims.index("hour") != len(dims) - 1:  # cells follow the order of dims
            shape = sizes + [24]
            order = [day_dims.index(d) if d != "hour" else len(day_dims) for d in dims]
            joint = joint.reshape(shape).transpose(order).ravel()
        return joint

    def declared_shares(self, table: str, column: str) -> dict[Any, float] | None:
        """The shares a ``choice`` (or ``bool``) column declares for its values (None: nothing literal)."""
        col = self.schema.tables[table].columns.get(column)
        if col is None or col.modify:
            return None
        if col.gen == "bool":
            return {True: col.p, False: 1 - col.p} if _literal(col.p) else None
        if col.gen != "choice" or col.cycle:
            return None
        if col.from_ is not None:
            vocab, vcol = col.from_.split(".")
            values = [row.get(vcol) for row in (self.schema.tables[vocab].data or [])]
        else:
            values = list(col.values if col.values is not None else col.weights)  # type: ignore[arg-type]
        shares: dict[Any, float] = {}
        for v, p in zip(values, popularity(len(values), col)):
            shares[v] = shares.get(v, 0.0) + float(p)
        return shares

    def tvd(self, table: str, column: str, expected: dict[Any, float]) -> tuple[float, int, list[tuple]]:
        """TVD of the column's non-null values from ``expected``, the rows counted, and (value, obs, exp) rows."""
        rows = self.src.all(f"SELECT {quote(column)}, COUNT(*) FROM {quote(table)} WHERE {quote(column)} IS NOT NULL "
                            "GROUP BY 1")
        n = sum(c for _, c in rows)
        if not n:
            return 0.0, 0, []
        observed = {v: c / n for v, c in rows}
        keys = list(expected) + [k for k in observed if k not in expected]
        total = sum(expected.values())
        cells = [(k, observed.get(k, 0.0), expected.get(k, 0.0) / total) for k in keys]
        return 0.5 * sum(abs(o - e) for _, o, e in cells), n, cells

    def ks(self, table: str, column: str) -> tuple[float, int] | None:
        """Kolmogorov-Smirnov distance of the column's non-null values from its declared distribution."""
        col = self.schema.tables[table].columns.get(column)
        if col is None or col.gen != "distribution" or col.modify:
            return None
        from ..dsl.generators.numeric import DISTRIBUTIONS, INTEGER

        params = {k: getattr(col, k) for k in DISTRIBUTIONS[col.dist]}
        clamp = {k: getattr(col, k) for k in ("min", "max") if col.dist != "uniform"}
        if not all(_literal(v) for v in params.values()) or any(isinstance(v, Expr) for v in clamp.values()):
            return None
        cdf = _cdf(col.dist, params)
        discrete = col.dist in INTEGER
        half = 0.5 if col.integer and not discrete else (0.5 * 10.0 ** -col.decimals if col.decimals is not None
                                                         else 0.0)
        atoms = discrete or half > 0
        lo, hi = clamp.get("min"), clamp.get("max")
        n = int(self.one(f"SELECT COUNT({quote(column)}) FROM {quote(table)}")[0])
        if not n:
            return None
        worst, seen = 0.0, 0
        reader = self.src.con.cursor().sql(
            f"SELECT {quote(column)}::DOUBLE AS v, COUNT(*) AS c FROM {quote(table)} WHERE {quote(column)} IS NOT NULL "
            "GROUP BY 1 ORDER BY 1").to_arrow_reader(100_000)
        for batch in reader:
            v = batch.column(0).to_numpy(zero_copy_only=False)
            cum = seen + np.cumsum(batch.column(1).to_numpy(zero_copy_only=False))
            prev = np.r_[seen, cum[:-1]]
            seen = int(cum[-1])
            g = cdf(v + half)
            left = cdf(v) if not atoms else None
            if lo is not None:
                g = np.where(v < lo, 0.0, g)
            if hi is not None:
                g = np.where(v >= hi, 1.0, g)
            worst = max(worst, float(np.max(np.abs(cum / n - g))))
            if left is not None:
                if lo is not None:
                    left = np.where(v <= lo, 0.0, left)
                worst = max(worst, float(np.max(np.abs(prev / n - left))))
        return worst, n

    def effects(self) -> Effects:
        """The engine's effects of the schema, their ``source:`` windows read from the stored tables."""
        if self._effects is None:
            self._effects = Effects(self.schema, {}, 0, lambda table: self.src.con.cursor().sql(
                f"SELECT * FROM {quote(table)}").to_arrow_reader(100_000).read_all())
        return self._effects

    def lift(self, effect: Effect) -> tuple[float, dict[str, Any]] | None:
        """A rate effect's rows inside its windows over those outside, each side per unit of the time column's
        own expected density (days times their declared weights: so a month or weekday profile is no lift),
        or a column effect's mean inside over outside (the difference for ``add:``), among the rows its
        ``where`` selects.  With ``source:`` windows a row counts inside the windows of its ``on`` key, and
        the rate's ratio pools the keys (each key's rows outside, scaled by its windows' expected share)."""
        fx = self.effects()
        windows = fx.windows(effect)
        w = len(windows.starts)
        counts = {"in": np.zeros(w), "out": np.zeros(w)}  # a rate's rows per window group
        stats = {"in": [0, 0.0, 0.0], "out": [0, 0.0, 0.0]}  # a column effect's rows, sum, sum of squares
        changed = [0.0, 0]  # a column effect's multiplier (or addend) summed over the rows inside, and those rows
        per_day: dict[int, int] = {}
        win_group = np.zeros(w, dtype=np.int64)
        for rows, ctx in self.ev.contexts(effect.table):
            n = rows.num_rows
            eligible, group, win_group, hit, first = fx.locate(effect, dict(ctx.columns), ctx, n)
            inside = np.zeros(n, dtype=bool)
            inside[hit] = True
            shown = eligible if windows.keys == [] else group >= 0
            ts = pc.cast(pc.cast(rows.column(effect.time), pa.timestamp("s")), pa.int64())
            days = np.asarray(pc.fill_null(ts, 0).to_numpy(zero_copy_only=False), dtype=np.int64) // 86_400
            for d, c in zip(*np.unique(days[shown], return_counts=True)):
                per_day[int(d)] = per_day.get(int(d), 0) + int(c)
            if effect.column is None:
                for side, mask in (("in", inside), ("out", ~inside)):
                    counts[side] += np.bincount(group[mask & (group >= 0)], minlength=w)
                continue
            values = pc.cast(rows.column(effect.column), pa.float64()).to_numpy(zero_copy_only=False)
            for side, mask in (("in", inside & eligible), ("out", ~inside & eligible)):
                v = values[mask]
                v = v[~np.isnan(v)]
                stats[side][0] += len(v)
                stats[side][1] += float(v.sum())
                stats[side][2] += float((v * v).sum())
            amount = _amount(effect, windows, first)
            if amount is not None:
                valid = ~np.isnan(values[hit])
                changed[0] += float(np.sum(np.broadcast_to(amount, hit.shape)[valid]))
                changed[1] += int(valid.sum())
        made = self._rate_lift(effect, windows, win_group, counts, per_day) if effect.column is None else \
            self._column_lift(effect, stats, changed)
        if made is not None:
            self._window_plot(effect, windows, per_day)
        return made

    def _rate_lift(self, effect: Effect, windows: Any, win_group: np.ndarray, counts: dict[str, np.ndarray],
                   per_day: dict[int, int]) -> tuple[float, dict[str, Any]] | None:
        cells = self._cells(effect, per_day)
        if cells is None:
            return None
        edges, mass = cells
        n_in = n_out = scaled = expected = 0.0
        for g in np.flatnonzero(counts["in"] + counts["out"]):
            mine = np.flatnonzero(win_group == g)
            s, e = windows.starts[mine], windows.ends[mine]
            cuts, plain = rated_cells(edges, mass, (s, e, np.ones(len(mine))), 1)
            start = cuts[:-1, None]
            over = ((start >= s) & (start < e)).sum(axis=1)  # windows over each cell: their rates multiply
            within, rated = over > 0, plain * float(effect.rate) ** over  # type: ignore[operator]
            m_in, m_out = float(plain[within].sum()), float(plain[~within].sum())
            if m_out <= 0 or m_in <= 0:
                continue
            n_in += counts["in"][g]
            n_out += counts["out"][g]
            scaled += counts["out"][g] * m_in / m_out  # the rows inside this key would have without the effect
            expected += counts["out"][g] * float(rated[within].sum()) / m_out
        if not n_in or not n_out or not scaled:
            return None
        return float(n_in / scaled), {"rows_inside": int(n_in), "rows_outside": int(n_out),
                                      "expected": float(expected / scaled),
                                      "keys": int(len(np.unique(win_group[win_group >= 0]))),
                                      "rel_se": math.sqrt(1 / n_in + 1 / n_out)}

    def _cells(self, effect: Effect, per_day: dict[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """The time column's expected density without this effect, as hour cells (µs edges, mass): its
        declared day and hour weights, else flat over the days the rows span."""
        made = self.day_weights(effect.table, effect.time, without=effect.name)
        if made is not None:
            first, weights, hours = made
        elif per_day:
            first, weights, hours = min(per_day), np.ones(max(per_day) - min(per_day) + 1), np.full(24, 1 / 24)
        else:
            return None
        edges = (first * 24 + np.arange(len(weights) * 24 + 1, dtype=np.int64)) * 3_600_000_000
        return edges, np.outer(weights, hours).ravel()

    @staticmethod
    def _column_lift(effect: Effect, stats: dict[str, list], changed: list) -> tuple[float, dict[str, Any]] | None:
        n_in, n_out = stats["in"][0], stats["out"][0]
        if not n_in or not n_out:
            return None
        metrics: dict[str, Any] = {"rows_inside": n_in, "rows_outside": n_out}
        if changed[1]:
            metrics["expected"] = changed[0] / changed[1]
        m_in, m_out = stats["in"][1] / n_in, stats["out"][1] / n_out
        var = {s: max(stats[s][2] / stats[s][0] - (stats[s][1] / stats[s][0]) ** 2, 0.0) for s in stats}
        se_in, se_out = math.sqrt(var["in"] / n_in), math.sqrt(var["out"] / n_out)
        if effect.add is not None:
            metrics["se"] = math.sqrt(se_in**2 + se_out**2)
            return m_in - m_out, metrics
        metrics["rel_se"] = math.sqrt((se_in / m_in) ** 2 + (se_out / m_out) ** 2) if m_in and m_out else 0.0
        return (m_in / m_out if m_out else math.nan), metrics

    # -- automatic ---------------------------------------------------------------------------------------

    def automatic(self) -> list[Check]:
        out: list[Check] = []
        for name, spec in self.schema.tables.items():
            if spec.parent is not None and spec.fanout is not None:
                out += self._auto_fanout(name, spec)
            for cname, col in spec.columns.items():
                if col.null_rate >= 1:
                    continue
                if self.declared_shares(name, cname) is not None:
                    out.append(self._auto_tvd(name, cname))
                elif col.gen == "distribution":
                    check = self._auto_ks(name, cname)
                    if check is not None:
                        out.append(check)
                elif col.gen == "datetime_series":
                    out += self._auto_profile(name, cname, col)
        for effect in self.schema.effects:
            check = self._auto_lift(effect)
            if check is not None:
                out.append(check)
        return out

    @staticmethod
    def _tolerance(name: str, measured: float, expected: float, tolerance: float, what: str, **metrics: Any) -> Check:
        status: Status = "pass" if abs(measured - expected) <= tolerance else "fail"
        return Check(AUTO, name, status, f"{what} {measured:.4g} (expected {expected:.4g})",
                     f"allowed [{expected - tolerance:.4g}, {expected + tolerance:.4g}]",
                     {"value": measured, "expected": expected, "tolerance": tolerance,
                      "allowed": [expected - tolerance, expected + tolerance], **metrics})

    @staticmethod
    def _at_most(name: str, measured: float, limit: float, what: str, **metrics: Any) -> Check:
        status: Status = "pass" if measured <= limit else "fail"
        return Check(AUTO, name, status, f"{what} {measured:.4f}", f"allowed [0, {limit:.4f}]",
                     {"value": measured, "allowed": [0.0, limit], **metrics})

    def _auto_tvd(self, table: str, column: str) -> Check:
        expected = self.declared_shares(table, column) or {}
        tvd, n, cells = self.tvd(table, column, expected)
        limit = max(FLOOR["tvd"], sampling_allowance([p / sum(expected.values()) for p in expected.values()], n))
        if len(cells) <= 40:
            self.plots.append((f"{table}.{column}: shares vs declared weights",
                               svg.bars([str(k) for k, _, _ in cells], [o for _, o, _ in cells],
                                        [e for _, _, e in cells], f"{table}.{column}")))
        return self._at_most(f"weights {table}.{column}", tvd, limit, "TVD", n=n, cells=len(cells))

    def _auto_ks(self, table: str, column: str) -> Check | None:
        measured = self.ks(table, column)
        if measured is None:
            return None
        d, n = measured
        return self._at_most(f"distribution {table}.{column}", d, max(FLOOR["ks"], KS_C / math.sqrt(n)), "KS", n=n)

    def _auto_profile(self, table: str, column: str, col: Any) -> list[Check]:
        out = []
        for dim in ("weekday", "hour", "month"):
            if getattr(col, dim) is None:
                continue
            expected = self.expected_profile(table, column, [dim])
            if expected is None:
                return out
            observed, n = self.profile(table, column, [dim])
            if not n:
                return out
            tvd = 0.5 * float(np.abs(observed - expected).sum())
            limit = max(FLOOR["tvd"], sampling_allowance(list(expected), n))
            self.plots.append((f"{table}.{column}: share by {dim} vs expected",
                               svg.bars(DIMS[dim][2], list(observed), list(expected), f"{table}.{column} by {dim}")))
            out.append(self._at_most(f"series {table}.{column} by {dim}", tvd, limit, "TVD", n=n))
        return out

    def _auto_fanout(self, table: str, spec: Any) -> list[Check]:
        pmf = _fanout_pmf(spec.fanout)
        counts = self.fanout(table, spec.parent)
        if pmf is None or counts is None:
            return []
        pmf = self._grown_fanout(table, spec, pmf)
        n = float(counts.sum())
        k = np.arange(len(pmf))
        mean, var = float((k * pmf).sum()), float((k * k * pmf).sum() - (k * pmf).sum() ** 2)
        m4 = float((((k - mean) ** 4) * pmf).sum())
        ko = np.arange(len(counts))
        obs_mean = float((ko * counts).sum() / n)
        obs_var = float((ko * ko * counts).sum() / n - obs_mean**2)
        width = min(max(len(pmf), len(counts)), 40)
        self.plots.append((f"{table} per {spec.parent}: children per parent vs fanout",
                           svg.bars([str(i) for i in range(width)], list(np.r_[counts / n, np.zeros(width)][:width]),
                                    list(np.r_[pmf, np.zeros(width)][:width]), f"{table} per parent")))
        se_mean = math.sqrt(var / n)
        out = [self._tolerance(f"fanout {table} mean", obs_mean, mean,
                               max(FLOOR["rel"] * max(mean, 1.0), Z * se_mean), "mean children per parent",
                               parents=int(n), standard_error=se_mean)]
        if mean > 0 and var > 0:
            se_ratio = math.sqrt(max(m4 - var**2, 0.0) / n) / mean
            out.append(self._tolerance(f"fanout {table} dispersion", obs_var / obs_mean if obs_mean else 0.0,
                                       var / mean, max(FLOOR["rel"] * var / mean, Z * se_ratio),
                                       "variance/mean", parents=int(n), standard_error=se_ratio))
        return out

    def _grown_fanout(self, table: str, spec: Any, pmf: np.ndarray) -> np.ndarray:
        """The children per parent a fanout gives once rate effects grew it as the engine does: a global rate
        every parent's count by ``g``, a rate keyed by the parent the covered parents' by their own (a mixture
        over the parents' growths, counted on the stored parents)."""
        fx = self.effects()
        if not any(e.table == table and e.rate for e in self.schema.effects):
            return pmf
        g = fx.growth(table)
        levels: dict[float, int] = {}
        if any(fx.by_parent(e) for e in fx.by_table[table]):
            link, key = parent_column(self.schema, spec), self.schema.tables[spec.parent].keys[0]
            calendar = (self.schema.calendar.start, self.schema.calendar.end)
            reader = self.src.con.cursor().sql(f"SELECT {quote(key)} FROM {quote(spec.parent)}").to_arrow_reader(
                100_000)
            for batch in reader:
                keys = batch.column(0)
                ctx = Context(seed=0, table=table, block=0, first_row=0, calendar=calendar, engine=self.ev.lookups,
                              columns={link: keys})  # type: ignore[dict-item]
                for level, n in zip(*np.unique(g * fx.parent_growth(table, ctx, len(keys)), return_counts=True)):
                    levels[float(level)] = levels.get(float(level), 0) + int(n)
        else:
            levels[g] = 1
        total = sum(levels.values())
        parts = [(n / total, _grown(pmf, level)) for level, n in levels.items()]
        out = np.zeros(max(len(p) for _, p in parts))
        for share, part in parts:
            out[:len(part)] += share * part
        return out

    def _auto_lift(self, effect: Effect) -> Check | None:
        if effect.column is not None and self.schema.tables[effect.table].columns[effect.column].modify:
            return None  # its modify steps (a seasonality, say) move the mean outside the window too
        made = self.lift(effect)
        if made is None or "expected" not in made[1]:
            return None  # an expression's multiplier: nothing declared to compare with
        lift, m = made
        expected = m.pop("expected")
        if effect.column is not None and effect.add is not None:
            tol = max(FLOOR["rel"] * abs(expected), Z * m["se"])
        else:
            tol = max(FLOOR["rel"] * expected, Z * expected * m["rel_se"])
        return self._tolerance(f"effect {effect.name} lift", lift, expected, tol, "lift", **m)

    def _window_plot(self, effect: Effect, windows: Any, per_day: dict[int, int]) -> None:
        if not per_day or any(c == f"effect {effect.name}" for c, _ in self.plots):
            return
        first, last = min(per_day), max(per_day)
        series = [per_day.get(d, 0) for d in range(first, last + 1)]
        us_day = 86_400_000_000
        shades = sorted({(int(s // us_day) - first, int(-(-e // us_day)) - first)
                         for s, e in zip(windows.starts, windows.ends)})[:200]
        self.plots.append((f"effect {effect.name}: rows per day, window shaded",
                           svg.line(series, shades, f"{effect.table} rows per day ({effect.name})")))


def _amount(effect: Effect, windows: Any, first: np.ndarray) -> np.ndarray | float | None:
    """What a column effect multiplies (or adds to) the rows inside by, ``first`` their windows: a literal,
    or each one's window's value (None: an expression, nothing declared to compare with)."""
    spec = effect.multiply if effect.multiply is not None else effect.add
    if spec == "value" and effect.source is not None and windows.values is not None:
        return np.asarray(windows.values, dtype=np.float64)[first]
    # an effect's multiply/add text is an expression (the file model keeps it a plain str, not an Expr)
    return float(spec) if _literal(spec) and not isinstance(spec, str) else None  # type: ignore[arg-type]


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's rho needs."""
    from scipy.stats import rankdata

    return rankdata(x)


def _cdf(dist: str, p: dict[str, float]) -> Any:
    from scipy import stats

    made = {
        "uniform": lambda: stats.uniform(loc=p.get("min"), scale=(p.get("max") or 0) - (p.get("min") or 0)),
        "normal": lambda: stats.norm(p["mean"], p["sd"]),
        "lognormal": lambda: stats.lognorm(s=p["sigma"], scale=math.exp(p["mu"])),
        "exponential": lambda: stats.expon(scale=p["mean"]),
        "gamma": lambda: stats.gamma(p["shape"], scale=p["scale"]),
        "beta": lambda: stats.beta(p["a"], p["b"]),
        "poisson": lambda: stats.poisson(p["mean"]),
        "binomial": lambda: stats.binom(int(p["n"]), p["p"]),
        "pareto": lambda: stats.pareto(p["alpha"], scale=p["min"]),
        "zipf": lambda: stats.zipf(p["s"]),
    }[dist]()
    return made.cdf


def _grown(pmf: np.ndarray, g: float) -> np.ndarray:
    """The distribution of a count drawn from ``pmf`` and grown by ``g`` as the engine grows it: plus
    Poisson(count x (g - 1)) above 1, each one kept with probability ``g`` below."""
    from scipy import stats

    if g == 1.0:
        return pmf
    b = np.arange(len(pmf))
    if g > 1:
        t = np.arange(len(pmf) + int(stats.poisson.ppf(1 - 1e-12, b[-1] * (g - 1))) + 1)
        spread = stats.poisson.pmf(t[None, :] - b[:, None], (b * (g - 1))[:, None])
    else:
        spread = stats.binom.pmf(b[None, :], b[:, None], g)
    grown = pmf @ spread
    return grown / grown.sum()


def _fanout_pmf(spec: Any) -> np.ndarray | None:
    """The probability of each number of children 0..K under a literal fanout, clamps applied (None: an
    expression parameter, or an unbounded Zipf)."""
    from scipy import stats

    if any(isinstance(v, Expr) for _, v in spec):
        return None
    lo, hi = spec.min, spec.max
    if spec.dist == "fixed":
        pmf = np.zeros(int(round(spec.n)) + 1)
        pmf[-1] = 1.0
    elif spec.dist == "uniform":
        pmf = np.r_[np.zeros(int(lo)), np.full(int(hi) - int(lo) + 1, 1.0 / (int(hi) - int(lo) + 1))]
        lo = hi = None
    elif spec.dist == "explicit":
        pmf = np.zeros(max(spec.weights) + 1)
        for k, w in spec.weights.items():
            pmf[k] += w
        pmf /= pmf.sum()
    else:
        dist = {"poisson": lambda: stats.poisson(spec.mean),
                "negbin": lambda: stats.nbinom(spec.dispersion, spec.dispersion / (spec.dispersion + spec.mean)),
                "zipf": lambda: stats.zipf(spec.s)}[spec.dist]()
        if spec.dist == "zipf" and hi is None:
            return None
        top = int(hi) if hi is not None else int(dist.ppf(1 - 1e-12))
        pmf = dist.pmf(np.arange(top + 1))
        pmf[-1] += max(0.0, 1.0 - pmf.sum())  # what lies beyond the clamp (or the negligible tail) sits at the top
    if hi is not None and len(pmf) > int(hi) + 1:
        pmf = np.r_[pmf[:int(hi)], pmf[int(hi):].sum()]
    if lo is not None and int(lo) > 0:
        pmf = np.r_[np.zeros(int(lo)), pmf[:int(lo)].sum() + pmf[int(lo)], pmf[int(lo) + 1:]] if len(pmf) > lo else pmf
    return pmf / pmf.sum()
