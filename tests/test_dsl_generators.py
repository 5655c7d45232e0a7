"""Column generators, fanout and modifiers of schema files at fixed seeds: shares and moments within
sampling error (four standard errors, so a wrong formula fails and chance does not), exact invariants
(dense keys, bijections, exact sums), and streams that do not move when other columns or tables change."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow as pa
import pytest
from scipy import special, stats

from pii_gen.dsl.base import Context, stream
from pii_gen.dsl.columns import table_block
from pii_gen.dsl.fanout import draw_counts
from pii_gen.dsl.generators.keys import permute
from pii_gen.dsl.model import Schema

N = 200_000


def schema(columns: dict, **table) -> Schema:
    return Schema.model_validate({"version": 1, "seed": 11, "tables": {
        "t": {"kind": "entity", "rows": N, "columns": columns, **table}}})


def values(spec, n: int = N, **context) -> np.ndarray:
    """One column ``c`` of ``n`` rows (block 0) as numpy; other columns can be given beside it."""
    columns = spec if isinstance(spec, dict) and "c" in spec else {"c": spec}
    out = table_block(schema(columns), "t", 0, 0, n, **context).column("c")
    return out.to_numpy(zero_copy_only=False)


def within(observed: float, expected: float, se: float, k: float = 4.0) -> None:
    assert abs(observed - expected) <= k * se, f"{observed} vs {expected} (se {se})"


def shares(x: np.ndarray, categories) -> np.ndarray:
    return np.array([(x == c).mean() for c in categories])


def check_shares(x: np.ndarray, categories, p) -> None:
    p = np.asarray(p, dtype=float) / np.sum(p)
    for got, want in zip(shares(x, categories), p):
        within(got, want, np.sqrt(want * (1 - want) / len(x)))


# ---- determinism -----------------------------------------------------------------------------------------


def test_adding_a_column_or_a_table_never_changes_another_column():
    cols = {"x": {"gen": "distribution", "dist": "normal", "mean": 0, "sd": 1},
            "y": {"gen": "choice", "values": ["a", "b", "c"]}}
    before = table_block(Schema.model_validate({"version": 1, "seed": 3, "tables": {
        "t": {"kind": "entity", "rows": 1000, "columns": cols}}}), "t", 2, 2000, 1000)
    wider = {"w": {"gen": "uuid"}, **cols, "z": {"gen": "bool", "p": 0.5}}
    after = table_block(Schema.model_validate({"version": 1, "seed": 3, "tables": {
        "other": {"kind": "entity", "rows": 5, "columns": {"q": {"gen": "sequence"}}},
        "t": {"kind": "entity", "rows": 1000, "columns": wider}}}), "t", 2, 2000, 1000)
    assert after.column("x").equals(before.column("x")) and after.column("y").equals(before.column("y"))
    again = table_block(Schema.model_validate({"version": 1, "seed": 3, "tables": {
        "t": {"kind": "entity", "rows": 1000, "columns": cols}}}), "t", 2, 2000, 1000)
    assert again.equals(before)
    other_block = table_block(Schema.model_validate({"version": 1, "seed": 3, "tables": {
        "t": {"kind": "entity", "rows": 1000, "columns": cols}}}), "t", 3, 2000, 1000)
    assert not other_block.column("x").equals(before.column("x"))


def test_streams_hash_names_stably_not_with_python_hash():
    # Pinned draws fix the derivation (CRC-32 of the names into a SeedSequence), the same in every process:
    # Python's str hash is salted per process, so a scheme built on it could not pass this.
    assert stream(7, "orders", "amount", 0).integers(0, 1000, 3).tolist() == [613, 518, 698]
    assert stream(7, "orders", "amount", 0).random() != stream(7, "orders", "amount2", 0).random()
    assert stream(7, "orders", "amount", 0).random() != stream(7, "order", "samount", 0).random()


# ---- keys --------------------------------------------------------------------------------------------------


def test_a_sequence_is_dense_from_start_by_step_at_any_block():
    spec = {"gen": "sequence", "start": 10, "step": 5}
    blocks = [table_block(schema({"c": spec}), "t", b, b * 300, 300).column("c").to_pylist() for b in range(3)]
    assert sum(blocks, []) == [10 + 5 * i for i in range(900)]


def test_a_formatted_sequence_pads_like_python_format():
    got = values({"gen": "sequence", "format": "ORD-{:08d}/x", "start": 99}, n=3).tolist()
    assert got == ["ORD-{:08d}/x".format(i) for i in (99, 100, 101)]


@pytest.mark.parametrize("size", [1, 2, 7, 1000, 65_537])
def test_permute_is_a_bijection_computed_per_position(size):
    whole = permute(np.arange(size), size, 5, "t", "id")
    assert sorted(whole.tolist()) == list(range(size))
    cut = size // 3
    parts = np.r_[permute(np.arange(cut), size, 5, "t", "id"), permute(np.arange(cut, size), size, 5, "t", "id")]
    assert (parts == whole).all()
    if size >= 1000:
        assert (whole != np.arange(size)).mean() > 0.99
        assert abs(stats.spearmanr(whole, np.arange(size))[0]) < 0.05


def test_a_permuted_key_is_unique_and_dense():
    got = values({"gen": "sequence", "permute": True}, n=5000, total_rows=5000)
    assert sorted(got.tolist()) == list(range(1, 5001)) and got[:10].tolist() != list(range(1, 11))


def test_uuids_are_version_4_and_distinct():
    got = values({"gen": "uuid"}, n=100_000)
    pattern = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(u) for u in got[:2000]) and len(set(got)) == len(got)


def test_a_pattern_fills_each_placeholder_from_its_class():
    got = values({"gen": "pattern", "template": "INV-#%?^-\\#"}, n=50_000)
    assert all(re.match(r"^INV-[0-9][1-9][A-Z][0-9a-f]-#$", s) for s in got[:5000])
    digits = np.array([s[4] for s in got])
    check_shares(digits, list("0123456789"), np.ones(10))
    letters = np.array([s[6] for s in got])
    assert len(set(letters)) == 26


# ---- categorical -------------------------------------------------------------------------------------------


def test_choice_weights_hold_within_sampling_error():
    got = values({"gen": "choice", "values": ["a", "b", "c", "d"], "weights": [0.5, 0.3, 0.15, 0.05]})
    check_shares(got, "abcd", [0.5, 0.3, 0.15, 0.05])


def test_choice_weights_by_value():
    got = values({"gen": "choice", "weights": {"x": 1, "y": 3}})
    check_shares(got, "xy", [1, 3])


def test_choice_zipf_follows_list_order_ranks():
    got = values({"gen": "choice", "values": list("abcdefgh"), "dist": "zipf", "s": 1.5})
    check_shares(got, "abcdefgh", 1 / np.arange(1, 9) ** 1.5)
    slope = np.polyfit(np.log(np.arange(1, 9)), np.log(shares(got, "abcdefgh")), 1)[0]
    within(slope, -1.5, 0.02)


def test_choice_head_tail_gives_the_head_its_share():
    got = values({"gen": "choice", "values": list("abcdefghij"), "dist": "head_tail", "head": 2, "head_share": 0.8})
    check_shares(got, "abcdefghij", [0.4, 0.4] + [0.025] * 8)


def test_choice_cycle_takes_values_in_order_by_row_position():
    got = table_block(schema({"c": {"gen": "choice", "values": [1, 2, 3], "cycle": True}}), "t", 1, 4, 5)
    assert got.column("c").to_pylist() == [2, 3, 1, 2, 3]


def test_choice_from_a_vocab_column():
    vocab = pa.table({"region": ["N", "S", "E"]})
    got = values({"gen": "choice", "from": "v.region", "weights": [1, 1, 2]}, tables={"v": vocab})
    check_shares(got, "NSE", [1, 1, 2])


def test_bool_is_true_with_p_and_p_may_be_an_expression():
    within(values({"gen": "bool", "p": 0.3}).mean(), 0.3, np.sqrt(0.21 / N))
    got = values({"i": {"gen": "sequence", "start": 0}, "c": {"gen": "bool", "p": "0.9 if i % 2 == 0 else 0.1"}})
    within(got[0::2].mean(), 0.9, np.sqrt(0.09 / (N / 2)))
    within(got[1::2].mean(), 0.1, np.sqrt(0.09 / (N / 2)))


# ---- distributions -----------------------------------------------------------------------------------------

MOMENTS = [
    ({"dist": "uniform", "min": 2, "max": 5}, 3.5, 9 / 12),
    ({"dist": "normal", "mean": 10, "sd": 3}, 10, 9),
    ({"dist": "lognormal", "mu": 1, "sigma": 0.5}, np.exp(1.125), (np.exp(0.25) - 1) * np.exp(2.25)),
    ({"dist": "exponential", "mean": 4}, 4, 16),
    ({"dist": "gamma", "shape": 2, "scale": 3}, 6, 18),
    ({"dist": "beta", "a": 2, "b": 5}, 2 / 7, 10 / (49 * 8)),
    ({"dist": "poisson", "mean": 3.5}, 3.5, 3.5),
    ({"dist": "binomial", "n": 20, "p": 0.3}, 6, 4.2),
    ({"dist": "pareto", "alpha": 5, "min": 2}, 2.5, 4 * 5 / (16 * 3)),
]


@pytest.mark.parametrize("params,mean,var", MOMENTS, ids=[m[0]["dist"] for m in MOMENTS])
def test_a_distribution_has_its_mean_and_variance(params, mean, var):
    got = values({"gen": "distribution", **params}).astype(float)
    within(got.mean(), mean, np.sqrt(var / N))
    # the variance's standard error from the sample's own fourth moment
    se_var = np.sqrt(max(np.mean((got - got.mean()) ** 4) - got.var() ** 2, 1e-12) / N)
    within(got.var(), var, se_var, k=5)


def test_zipf_counts_follow_their_rank_law():
    got = values({"gen": "distribution", "dist": "zipf", "s": 2.0})
    assert got.dtype == np.int64 and got.min() >= 1
    p = 1 / np.arange(1, 4) ** 2 / 1.6449340668
    for k, want in zip((1, 2, 3), p):
        within((got == k).mean(), want, np.sqrt(want * (1 - want) / N))


def test_clamps_decimals_and_integer():
    got = values({"gen": "distribution", "dist": "normal", "mean": 0, "sd": 1, "min": -1, "max": 1.5, "decimals": 2})
    assert got.min() == -1 and got.max() == 1.5
    assert np.allclose(got * 100, np.round(got * 100))
    within((got == -1).mean(), stats.norm.cdf(-1), 0.002)
    whole = values({"gen": "distribution", "dist": "gamma", "shape": 2, "scale": 3, "integer": True})
    assert whole.dtype == np.int64
    within(whole.mean(), 6, np.sqrt(18 / N) + 0.01)


def test_distribution_parameters_may_be_expressions_over_the_row():
    got = values({"i": {"gen": "sequence", "start": 0},
                  "c": {"gen": "distribution", "dist": "normal", "mean": "100 * (i % 2)", "sd": 1}})
    within(got[0::2].mean(), 0, np.sqrt(1 / (N / 2)))
    within(got[1::2].mean(), 100, np.sqrt(1 / (N / 2)))


# ---- time --------------------------------------------------------------------------------------------------


def test_datetime_is_uniform_in_its_range_at_its_granularity():
    got = values({"gen": "datetime", "start": "2024-03-01", "end": "2024-03-10", "granularity": "hour"})
    ts = got.astype("datetime64[us]")
    assert ts.min() >= np.datetime64("2024-03-01") and ts.max() <= np.datetime64("2024-03-10")
    assert (ts.astype("datetime64[h]") == ts).all()
    hours = (ts - np.datetime64("2024-03-01")).astype("timedelta64[h]").astype(int)
    check_shares(hours // 24, range(9), np.ones(9))  # 9 full days (+ the single end hour)
    days = values({"gen": "datetime", "granularity": "day"})
    assert days.dtype == "datetime64[D]" and days.min() == np.datetime64("2024-01-01")
    assert days.max() == np.datetime64("2024-12-31")


def test_datetime_bounds_from_other_columns():
    got = table_block(schema({
        "s": {"gen": "datetime", "granularity": "day"},
        "c": {"gen": "datetime", "start": "s", "end": "date_add(s, 3, 'day')", "granularity": "day"}}), "t", 0, 0, N)
    gap = (got.column("c").to_numpy() - got.column("s").to_numpy()).astype(int)
    assert gap.min() == 0 and gap.max() == 3
    check_shares(gap, range(4), np.ones(4))


WEEKDAY = [1, 1, 1, 1, 1.5, 3, 2]
HOUR = [0.2] * 6 + [1] * 12 + [2] * 6
MONTH = [1] * 10 + [2, 3]


def test_datetime_series_weekday_hour_and_month_shares():
    got = values({"gen": "datetime_series", "weekday": WEEKDAY, "hour": HOUR, "month": MONTH}).astype("datetime64[us]")
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2025-01-01"))
    w = np.array(WEEKDAY)[(days.astype(int) + 3) % 7] * np.array(MONTH)[days.astype("datetime64[M]").astype(int) % 12]
    day = got.astype("datetime64[D]")
    weekday = (day.astype(int) + 3) % 7
    check_shares(weekday, range(7), [w[(days.astype(int) + 3) % 7 == k].sum() for k in range(7)])
    month = day.astype("datetime64[M]").astype(int) % 12
    check_shares(month, range(12), [w[days.astype("datetime64[M]").astype(int) % 12 == k].sum() for k in range(12)])
    hour = (got - day).astype("timedelta64[h]").astype(int)
    check_shares(hour, range(24), HOUR)


def test_datetime_series_holidays_weigh_more_and_sorted_is_ascending_per_parent():
    got = values({"gen": "datetime_series", "within": ["2024-12-01", "2024-12-31"],
                  "holidays": {"dates": ["2024-12-24", "2024-12-25"], "weight": 4}}).astype("datetime64[D]")
    share = (got == np.datetime64("2024-12-25")).mean()  # 29 plain days + 2 holidays of weight 4
    within(share, 4 / 37, np.sqrt(4 / 37 * 33 / 37 / N))
    ctx_counts = np.array([3, 1, 4, 2] * 1000)
    index = np.concatenate([np.arange(c) for c in ctx_counts])
    n = len(index)
    out = table_block(schema({"c": {"gen": "datetime_series", "sorted": True}}), "t", 0, 0, n,
                      index_in_parent=index, parent_count=np.repeat(ctx_counts, ctx_counts)).column("c").to_numpy()
    groups = np.cumsum(index == 0)
    same = groups[1:] == groups[:-1]
    assert (out[1:][same] >= out[:-1][same]).all() and not (out[1:] >= out[:-1]).all()


# ---- parent-driven -----------------------------------------------------------------------------------------


def parents(counts: np.ndarray, **columns) -> dict:
    index = np.concatenate([np.arange(c) for c in counts])
    return {"index_in_parent": index, "parent_count": np.repeat(counts, counts),
            "parent": {k: pa.array(np.repeat(v, counts)) for k, v in columns.items()}}


@pytest.mark.parametrize("decimals", [0, 2])
def test_partition_of_sums_exactly_to_the_parent_total(decimals):
    rng = np.random.default_rng(1)
    counts = rng.integers(1, 8, 20_000)
    totals = np.round(rng.uniform(0, 5000, len(counts)), decimals)
    ctx = parents(counts, total=totals)
    sch = Schema.model_validate({"version": 1, "tables": {
        "p": {"kind": "entity", "rows": 1, "key": "id", "columns": {"id": {"gen": "sequence"}, "total": 1.0}},
        "t": {"kind": "fact", "parent": "p", "fanout": {"dist": "fixed", "n": 1},
              "columns": {"c": {"gen": "partition_of", "total": "parent.total", "decimals": decimals}}}}})
    got = table_block(sch, "t", 0, 0, int(counts.sum()), **ctx).column("c").to_numpy()
    units = np.rint(got * 10**decimals).astype(np.int64)
    assert np.allclose(units, got * 10**decimals) and units.min() >= 0
    sums = np.add.reduceat(units, np.r_[0, np.cumsum(counts)[:-1]])
    assert (sums == np.rint(totals * 10**decimals).astype(np.int64)).all()
    # with alpha 1 the first of two children takes a uniform share
    pairs = counts == 2
    first = got[np.r_[0, np.cumsum(counts)[:-1]]][pairs] / np.maximum(totals[pairs], 1e-9)
    within(first[totals[pairs] > 100].mean(), 0.5, np.sqrt(1 / 12 / (totals[pairs] > 100).sum()))


def counts_of(spec: dict, n: int = N, **columns) -> np.ndarray:
    from pii_gen.dsl.model import Table

    fanout = Table.model_validate({"kind": "fact", "parent": "p", "fanout": spec}).fanout
    ctx = Context(seed=1, table="t", block=0, first_row=0, calendar=(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
                  parent={k: pa.array(v) for k, v in columns.items()})
    return draw_counts(fanout, n, stream(1, "t", "_fanout", 0), ctx)


def test_fanout_fixed_uniform_and_explicit():
    assert (counts_of({"dist": "fixed", "n": 3}) == 3).all()
    u = counts_of({"dist": "uniform", "min": 0, "max": 5})
    check_shares(u, range(6), np.ones(6))
    e = counts_of({"dist": "explicit", "weights": {0: 0.1, 1: 0.6, 2: 0.3}})
    check_shares(e, range(3), [0.1, 0.6, 0.3])


def test_fanout_poisson_and_negbin_means_and_dispersions():
    p = counts_of({"dist": "poisson", "mean": 2.5})
    within(p.mean(), 2.5, np.sqrt(2.5 / N))
    within(p.var() / p.mean(), 1.0, 0.02)
    nb = counts_of({"dist": "negbin", "mean": 2.5, "dispersion": 1.5})
    var = 2.5 + 2.5**2 / 1.5
    within(nb.mean(), 2.5, np.sqrt(var / N))
    within(nb.var(), var, 0.1)


def test_fanout_zipf_and_clamps():
    z = counts_of({"dist": "zipf", "s": 1.8, "max": 500})
    assert z.min() >= 1 and z.max() == 500
    within((z == 1).mean(), 1 / special.zeta(1.8), 0.005)
    clamped = counts_of({"dist": "poisson", "mean": 3, "min": 1, "max": 4})
    assert clamped.min() == 1 and clamped.max() == 4
    within((clamped == 1).mean(), stats.poisson.cdf(1, 3), 0.004)


def test_fanout_means_can_depend_on_parent_attributes():
    income = np.repeat([20_000.0, 100_000.0], N // 2)
    got = counts_of({"dist": "poisson", "mean": "0.5 + parent.income / 40000"}, income=income)
    within(got[: N // 2].mean(), 1.0, np.sqrt(1.0 / (N / 2)))
    within(got[N // 2:].mean(), 3.0, np.sqrt(3.0 / (N / 2)))


# ---- modifiers ---------------------------------------------------------------------------------------------

BASE = {"gen": "distribution", "dist": "uniform", "min": 10, "max": 20}


def modified(*steps, base=BASE, n: int = N, extra: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(values before, values after) of column c with the given modify steps."""
    plain = values({**(extra or {}), "c": base}, n=n)
    return plain, values({**(extra or {}), "c": {**base, "modify": list(steps)}}, n=n)


def test_multiply_add_clamp_and_round_are_exact():
    before, after = modified({"multiply": {"by": 3}}, {"add": {"value": -40}}, {"clamp": {"min": -5, "max": 15}},
                             {"round": {"decimals": 1}})
    assert np.array_equal(after, np.round(np.clip(before * 3 - 40, -5, 15), 1))


def test_jitter_adds_noise_of_its_sd_or_pct():
    before, after = modified({"jitter": {"sd": 2}})
    within((after - before).std(), 2, 2 / np.sqrt(2 * N))
    before, after = modified({"jitter": {"pct": 0.1, "dist": "uniform"}})
    rel = (after - before) / before
    within(rel.std(), 0.1, 0.1 / np.sqrt(N))
    assert np.abs(rel).max() <= 0.1 * np.sqrt(3) + 1e-12


def test_map_values_with_and_without_default():
    base = {"gen": "choice", "values": ["a", "b", "c"]}
    before, after = modified({"map_values": {"mapping": {"a": "A", "b": "B"}, "default": "?"}}, base=base, n=1000)
    assert after.tolist() == [{"a": "A", "b": "B"}.get(v, "?") for v in before]
    before, after = modified({"map_values": {"mapping": {"a": "A"}, "default": "keep"}}, base=base, n=1000)
    assert after.tolist() == [{"a": "A"}.get(v, v) for v in before]


def test_seasonality_scales_by_the_timestamps_weekday_factor():
    extra = {"at": {"gen": "datetime_series"}}
    weights = [1, 1, 1, 1, 1, 2, 3]
    before, after = modified({"seasonality": {"on": "at", "weekday": weights}}, extra=extra)
    day = table_block(schema({**extra, "c": BASE}), "t", 0, 0, N).column("at").to_numpy().astype("datetime64[D]")
    weekday = (day.astype(int) + 3) % 7
    assert np.allclose(after, before * np.array(weights)[weekday])


def test_time_jitter_moves_timestamps_by_its_sd():
    base = {"gen": "datetime_series"}
    before, after = modified({"time_jitter": {"sd": "15m"}}, base=base)
    moved = (after.astype("datetime64[us]") - before.astype("datetime64[us]")).astype(float) / 60e6
    within(moved.std(), 15, 15 / np.sqrt(2 * N))
    within(moved.mean(), 0, 15 / np.sqrt(N))


def test_nulls_and_null_rate_make_their_share_null():
    _, after = modified({"nulls": {"rate": 0.2}})
    within(np.isnan(after).mean(), 0.2, np.sqrt(0.16 / N))
    got = table_block(schema({"c": {**BASE, "null_rate": 0.05}}), "t", 0, 0, N).column("c")
    within(got.null_count / N, 0.05, np.sqrt(0.0475 / N))


def test_outliers_spike_a_rate_share_by_factor():
    before, after = modified({"outliers": {"rate": 0.01, "factor": 10}})
    ratio = after / before
    assert set(np.round(np.unique(ratio), 9)) == {1.0, 10.0}
    within((ratio == 10).mean(), 0.01, np.sqrt(0.0099 / N))
    before, after = modified({"outliers": {"rate": 0.5, "mode": "drop", "factor": 4}})
    within((after < before).mean(), 0.5, np.sqrt(0.25 / N))


def test_a_datetime_column_typed_date_holds_dates_at_any_granularity():
    got = table_block(schema({"c": {"gen": "datetime", "granularity": "hour", "type": "date"},
                              "d": {"gen": "datetime", "granularity": "day", "type": "timestamp"}}), "t", 0, 0, 100)
    assert got.column("c").type == pa.date32() and got.column("d").type == pa.timestamp("us")


def test_children_of_parent_blocks_have_dense_keys_their_parents_key_and_exact_shares():
    from pii_gen.dsl.columns import fact_block, fanout_counts

    sch = Schema.model_validate({"version": 1, "seed": 5, "tables": {
        "customers": {"kind": "entity", "rows": 40_000, "key": "customer_id", "columns": {
            "customer_id": {"gen": "sequence"},
            "income": {"gen": "choice", "values": [20_000.0, 100_000.0]},
            "budget": {"gen": "distribution", "dist": "uniform", "min": 10, "max": 500, "decimals": 2}}},
        "orders": {"kind": "fact", "parent": "customers", "key": "order_id",
                   "fanout": {"dist": "poisson", "mean": "0.5 + parent.income / 40000", "max": 12},
                   "columns": {"order_id": {"gen": "sequence"},
                               "position": {"gen": "expression", "expr": "index_in_parent + 1"},
                               "spend": {"gen": "partition_of", "total": "parent.budget"}}}}})
    tables, first = [], 0
    for block, (start, size) in enumerate([(0, 15_000), (15_000, 25_000)]):
        parents = table_block(sch, "customers", block, start, size)
        counts = fanout_counts(sch, "orders", parents, block)
        assert (counts == fanout_counts(sch, "orders", parents, block)).all()
        child = fact_block(sch, "orders", parents, counts, block, first)
        assert child.column_names == ["customer_id", "order_id", "position", "spend"]
        assert child.column("customer_id").to_pylist() == np.repeat(parents.column("customer_id").to_numpy(),
                                                                     counts).tolist()
        income = parents.column("income").to_numpy()
        for level, mean in ((20_000.0, 1.0), (100_000.0, 3.0)):
            within(counts[income == level].mean(), mean, np.sqrt(mean / (income == level).sum()))
        has = counts > 0
        sums = np.add.reduceat(np.rint(child.column("spend").to_numpy() * 100).astype(np.int64),
                               (np.cumsum(counts) - counts)[has])
        assert (sums == np.rint(parents.column("budget").to_numpy()[has] * 100)).all()
        first += len(child)
        tables.append(child)
    keys = np.concatenate([t.column("order_id").to_numpy() for t in tables])
    assert (keys == np.arange(1, first + 1)).all()
    positions = np.concatenate([t.column("position").to_numpy() for t in tables])
    assert positions.min() == 1 and positions.max() == 12
