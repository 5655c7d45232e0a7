"""The ERP pack as users run it: `packs scenarios erp`, `generate --pack erp --scenario --from --to --multiplier`,
`validate --pack erp --scenario`, custom scenario files.

Real processes and files; checks in SQL (DuckDB over the output).  Rates are compared with their configured
value within four binomial standard errors of the run's size (runs of one month at a multiplier, so that the
bound is about half a percentage point or less where the rate allows)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pii_gen.dsl import packs
from pii_gen.dsl.packs import scenarios
from pii_gen.errors import ConfigError
from pii_gen.validate.schema import links

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("anomaly-heavy", "growth-phase", "normal-ops", "payment-crisis", "peak-season", "warehouse-outage")
#: Each day-keyed table's key, and the power of ten it holds beyond the day number (yyyymmdd) of its row.
DAY_KEYS = {
    "days": ("day_id", 0),
    "orders": ("order_id", 6),
    "order_items": ("order_item_id", 8),
    "inventory_movements": ("movement_id", 9),
    "shipments": ("shipment_id", 7),
    "payments": ("payment_id", 7),
    "discounts": ("discount_id", 7),
    "refunds": ("refund_id", 7),
    "audit_logs": ("log_id", 7),
    "inventory_receipts": ("movement_id", 5),
    "maintenance_visits": ("visit_id", 5),
}
FIXED = ("users", "companies", "contacts", "branches", "products", "categories")
Z = 4.0


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pii_gen", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


def generate(out: Path, *args: str) -> Path:
    done = run("generate", "--pack", "erp", "--seed", "5", "--format", "parquet", "--out", str(out), "-q", *args)
    assert done.returncode == 0, done.stderr
    return out


def connect(out: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for path in sorted(out.glob("*.parquet")):
        con.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM read_parquet('{path}')")
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchone()  # type: ignore[return-value]


def near(con: duckdb.DuckDBPyConnection, table: str, where: str, among: str, p: float) -> float:
    """The share of rows where ``where`` holds among those where ``among`` does, asserted within Z binomial
    standard errors of ``p``; returns the bound."""
    hits, n = one(con, f"SELECT COUNT(*) FILTER (WHERE {where}), COUNT(*) FROM {table} WHERE {among}")
    bound = Z * math.sqrt(p * (1 - p) / n)
    assert abs(hits / n - p) <= bound, f"{table} {where}: {hits / n:.4f} vs {p} (n {n}, bound {bound:.4f})"
    return bound


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("erp") / "year")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, duckdb.DuckDBPyConnection]:
    """One month (or the scenario's window) of each scenario at a multiplier, for its rates."""
    base = tmp_path_factory.mktemp("scenarios")
    plan = {
        "normal-ops": ("2024-03-01", "2024-03-31", "30"),
        "anomaly-heavy": ("2024-03-01", "2024-03-31", "20"),
        "peak-season": ("2024-11-01", "2024-12-31", "4"),
        "warehouse-outage": ("2024-07-01", "2024-07-31", "10"),
        "payment-crisis": ("2024-03-01", "2024-04-30", "10"),
        "normal-ops-peak": ("2024-11-01", "2024-12-31", "4"),
    }
    out = {}
    for name, (start, end, multiplier) in plan.items():
        scenario = name.removesuffix("-peak")
        out[name] = connect(
            generate(base / name, "--scenario", scenario, "--from", start, "--to", end, "--multiplier", multiplier)
        )
    return out


def test_packs_scenarios_lists_every_scenario_and_its_base() -> None:
    done = run("packs", "scenarios", "erp")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()[2:]}
    assert tuple(sorted(rows)) == SCENARIOS == tuple(scenarios.names("erp"))
    assert rows == {name: "-" if name == "normal-ops" else "normal-ops" for name in SCENARIOS}
    assert "erp  " in run("packs", "list").stdout


def test_every_foreign_key_resolves_in_sql(year: Path) -> None:
    con = connect(year)
    schema = packs.load("erp")
    checked = 0
    for table, refs in links(schema).items():
        for column, (target, key) in refs.items():
            if column == "parent":
                continue
            (dangling,) = one(
                con,
                f"SELECT COUNT(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {target} r WHERE r.{key} = t.{column})",
            )
            assert dangling == 0, f"{table}.{column} -> {target}.{key}"
            checked += 1
    assert checked >= 20
    # the ids the audit trail and the discounts name without a declared key
    for entity, table, key in (
        ("order", "orders", "order_id"),
        ("shipment", "shipments", "shipment_id"),
        ("payment", "payments", "payment_id"),
        ("company", "companies", "company_id"),
    ):
        (dangling,) = one(
            con,
            f"SELECT COUNT(*) FROM audit_logs a WHERE entity_type = '{entity}' AND NOT EXISTS "
            f"(SELECT 1 FROM {table} r WHERE r.{key} = a.entity_id)",
        )
        assert dangling == 0, entity
    assert one(
        con,
        "SELECT COUNT(*) FROM discounts d WHERE level = 'item' AND NOT EXISTS (SELECT 1 FROM order_items i "
        "WHERE i.order_item_id = d.order_item_id AND i.order_id = d.order_id)",
    ) == (0,)
    # what the rows say of each other: one refund per returned order, payments summing to the order's total
    assert one(
        con,
        "SELECT COUNT(*) FROM orders o WHERE returned <> EXISTS (SELECT 1 FROM refunds r "
        "WHERE r.order_id = o.order_id)",
    ) == (0,)
    assert one(
        con,
        "SELECT COUNT(*) FROM (SELECT p.order_id, SUM(amount) paid, MAX(order_total) total FROM payments p "
        "GROUP BY 1) WHERE abs(paid - total) > 0.011",
    ) == (0,)
    assert one(con, "SELECT COUNT(*) FROM shipments WHERE attempted_at < shipped_at") == (0,)


def test_volumes_and_roles(year: Path, tmp_path: Path) -> None:
    con = connect(year)
    counts = dict(con.execute("SELECT role, COUNT(*) FROM users GROUP BY 1").fetchall())
    assert counts == {"admin": 1, "manager": 3, "sales": 10, "support": 6}
    assert one(con, "SELECT COUNT(*) FROM companies") == (100,) and one(con, "SELECT COUNT(*) FROM products") == (200,)
    assert one(con, "SELECT COUNT(*) FROM days") == (366,)
    (orders,) = one(con, "SELECT COUNT(*) FROM orders")
    assert abs(orders / 366 - 50 * 1.039) < Z * math.sqrt(50 * 1.039 / 366)  # 50 a day times the month factors' mean
    (branches,) = one(con, "SELECT COUNT(*) FROM branches")
    assert abs(branches / 100 - 0.3) < Z * math.sqrt(0.31 / 100)
    weekly_visits = one(con, "SELECT COUNT(*) FROM maintenance_visits")[0] * 7 / 366
    assert abs(weekly_visits - 10) < Z * math.sqrt(10 * 366 / 7) * 7 / 366
    assert one(con, "SELECT COUNT(*) FROM maintenance_visits WHERE isodow(visited_at) >= 6") == (0,)
    children = (
        one(
            con,
            "SELECT (SELECT COUNT(*) FROM order_items) + (SELECT COUNT(*) FROM inventory_movements) + "
            "(SELECT COUNT(*) FROM shipments) + (SELECT COUNT(*) FROM payments) + "
            "(SELECT COUNT(*) FROM discounts) + (SELECT COUNT(*) FROM refunds) + "
            "(SELECT COUNT(*) FROM audit_logs)",
        )[0]
        / orders
    )
    assert 7.5 < children < 8.5  # the benchmark's shape: about 8 child rows per order
    (top,) = one(
        con,
        "SELECT SUM(n) / (SELECT COUNT(*) FROM order_items) FROM (SELECT COUNT(*) n FROM order_items "
        "GROUP BY product_id ORDER BY n DESC LIMIT 40)",
    )
    assert 0.76 < top < 0.85  # Zipf popularity: the top 20% of the products about 80% of the lines
    (nov_dec,) = one(con, "SELECT AVG((month(ordered_at) >= 11)::int) FROM orders")
    assert abs(nov_dec - 0.19) < 0.01
    # --multiplier scales every volume: roles stay exact in every 20 users
    big = connect(generate(tmp_path / "x5", "--from", "2024-01-01", "--to", "2024-01-02", "--multiplier", "5"))
    assert dict(big.execute("SELECT role, COUNT(*) FROM users GROUP BY 1").fetchall()) == {
        "admin": 5,
        "manager": 15,
        "sales": 50,
        "support": 30,
    }
    assert one(big, "SELECT COUNT(*) FROM companies") == (500,) and one(big, "SELECT COUNT(*) FROM contacts") == (1000,)


def test_a_date_window_is_a_slice_of_the_full_year(year: Path, tmp_path: Path) -> None:
    whole = connect(year)
    for start, end in (("2024-01-01", "2024-06-30"), ("2024-03-01", "2024-03-31")):
        part = generate(tmp_path / start, "--from", start, "--to", end)
        lo, hi = int(start.replace("-", "")), int(end.replace("-", ""))
        for table, (key, digits) in DAY_KEYS.items():
            sliced = f"SELECT * FROM {table} WHERE {key} // {10**digits} BETWEEN {lo} AND {hi}"
            other = f"SELECT * FROM read_parquet('{part}/{table}.parquet')"
            (n,) = one(whole, f"SELECT COUNT(*) FROM ({other})")
            assert n and one(whole, f"SELECT COUNT(*) FROM ({sliced})") == (n,), table
            assert one(whole, f"SELECT COUNT(*) FROM ({sliced} EXCEPT ALL {other})") == (0,), table
        for table in FIXED:
            other = f"SELECT * FROM read_parquet('{part}/{table}.parquet')"
            assert one(whole, f"SELECT COUNT(*) FROM ({other} EXCEPT ALL SELECT * FROM {table})") == (0,), table
    # the window's own targets pass (the whole-year ones, such as the November-December share, are dropped)
    done = run("validate", "--pack", "erp", "--from", "2024-03-01", "--to", "2024-03-31", str(part))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nov_dec" not in done.stdout + done.stderr and "returns" in done.stdout + done.stderr


def test_validate_passes_the_packs_own_targets(year: Path) -> None:
    done = run("validate", "--pack", "erp", "--scenario", "normal-ops", str(year), "-q")
    assert done.returncode == 0, done.stdout + done.stderr


def test_normal_rates_within_the_binomial_bound(runs: dict[str, duckdb.DuckDBPyConnection]) -> None:
    con = runs["normal-ops"]
    # about 46,000 orders: four standard errors are about half a percentage point
    assert near(con, "orders", "late", "NOT cancelled", 0.08) <= 0.0055
    assert near(con, "shipments", "status = 'delivered'", "attempt = 1", 0.955) <= 0.004
    near(con, "orders", "returned", "NOT cancelled", 0.16)
    near(con, "orders", "overdue", "NOT cancelled", 0.445)
    near(con, "orders", "cancelled", "TRUE", 0.02)
    near(con, "refunds", "status = 'rejected'", "TRUE", 0.1)
    # the order's flag is what its payments show
    assert one(con, "SELECT COUNT(*) FROM payments p JOIN orders o USING (order_id) WHERE p.overdue <> o.overdue") == (
        0,
    )


def test_anomaly_heavy_rates(runs: dict[str, duckdb.DuckDBPyConnection]) -> None:
    con = runs["anomaly-heavy"]
    near(con, "orders", "late", "NOT cancelled", 0.25)
    near(con, "shipments", "status = 'delivered'", "attempt = 1", 0.85)
    near(con, "orders", "overdue", "NOT cancelled", 0.6)
    near(con, "orders", "cancelled", "TRUE", 0.06)
    near(con, "refunds", "status = 'rejected'", "TRUE", 0.3)
    march, burst = one(
        con,
        "SELECT COUNT(*) FILTER (WHERE day_id <> 20240312 AND isodow(ordered_at) = 2), "
        "COUNT(*) FILTER (WHERE day_id = 20240312) FROM orders",
    )
    tuesdays = march / 3  # the other Tuesdays of March 2024: 5, 19, 26
    assert abs(burst / tuesdays - 4) < Z * 4 * math.sqrt(1 / burst + 1 / march)
    assert one(con, "SELECT effect, COUNT(*) FROM _effects GROUP BY 1") == ("burst_march", 1)


def test_peak_season_is_three_times_on_event_days_and_labels_its_days(
    runs: dict[str, duckdb.DuckDBPyConnection],
) -> None:
    peak, normal = runs["peak-season"], runs["normal-ops-peak"]

    def per_day(con: duckdb.DuckDBPyConnection, lo: int, hi: int) -> int:
        return one(con, f"SELECT COUNT(*) FROM orders WHERE day_id BETWEEN {lo} AND {hi}")[0]

    event, base = per_day(peak, 20241129, 20241202), per_day(normal, 20241129, 20241202)
    assert abs(event / base - 3) < Z * 3 * math.sqrt(1 / event + 1 / base)
    rush, rush_base = per_day(peak, 20241115, 20241128), per_day(normal, 20241115, 20241128)
    assert abs(rush / rush_base - 1.4) < Z * 1.4 * math.sqrt(1 / rush + 1 / rush_base)
    assert per_day(peak, 20241101, 20241114) == per_day(normal, 20241101, 20241114)  # outside: the same days
    near(peak, "orders", "late", "NOT cancelled AND day_id BETWEEN 20241115 AND 20241223", 0.12)
    near(peak, "orders", "overdue", "NOT cancelled AND day_id BETWEEN 20241115 AND 20241231", 0.495)
    labelled = dict(peak.execute("SELECT effect, COUNT(*) FROM _effects GROUP BY 1").fetchall())
    assert labelled == {
        "holiday_rush": 39,
        "black_friday_to_cyber_monday": 4,
        "carrier_strain_late": 39,
        "carrier_strain_attempts": 39,
        "season_payment_delays": 47,
    }


def test_warehouse_outage_stops_fulfilment_then_catches_up(runs: dict[str, duckdb.DuckDBPyConnection]) -> None:
    con = runs["warehouse-outage"]
    inside = "moved_at >= TIMESTAMP '2024-07-08' AND moved_at < TIMESTAMP '2024-07-15'"
    assert one(con, f"SELECT COUNT(*) FROM inventory_movements WHERE movement_type = 'fulfilment' AND {inside}") == (0,)
    assert one(
        con,
        "SELECT COUNT(*) FROM shipments WHERE shipped_at >= TIMESTAMP '2024-07-08' "
        "AND shipped_at < TIMESTAMP '2024-07-15'",
    ) == (0,)
    # every order of the outage waits for it and arrives late; the backlog ships in the catch-up week
    assert one(
        con, "SELECT COUNT(*) FROM orders WHERE day_id BETWEEN 20240707 AND 20240714 AND NOT cancelled AND NOT late"
    ) == (0,)
    assert one(
        con, "SELECT MIN(shipped_at) >= TIMESTAMP '2024-07-17' FROM orders WHERE day_id BETWEEN 20240708 AND 20240714"
    ) == (True,)
    near(con, "orders", "cancelled", "day_id BETWEEN 20240708 AND 20240714", 0.16)
    near(con, "orders", "returned", "day_id BETWEEN 20240708 AND 20240714 AND NOT cancelled", 0.24)
    near(con, "orders", "late", "day_id BETWEEN 20240722 AND 20240731 AND NOT cancelled", 0.08)
    (late_catch_up,) = one(
        con, "SELECT AVG(late::int) FROM orders WHERE day_id BETWEEN 20240715 AND 20240721 AND NOT cancelled"
    )
    assert late_catch_up > 0.2  # 2.5x, and the backlog's delay on top
    assert (
        one(
            con,
            "SELECT COUNT(*) FROM refunds r JOIN orders o USING (order_id) WHERE o.day_id BETWEEN "
            "20240708 AND 20240714",
        )[0]
        > 0
    )


def test_payment_crisis_raises_overdue_relative_to_the_baseline(runs: dict[str, duckdb.DuckDBPyConnection]) -> None:
    con = runs["payment-crisis"]
    near(con, "orders", "overdue", "NOT cancelled AND day_id < 20240401", 0.445)
    near(con, "orders", "overdue", "NOT cancelled AND day_id >= 20240401", 0.445 * 1.5)
    near(con, "orders", "partial_payment", "TRUE", 0.24)
    assert one(con, "SELECT COUNT(*) FROM _effects WHERE effect = 'crisis_overdue'") == (30,)


def test_growth_phase_doubles_the_companies_and_grows_the_orders() -> None:
    schema = packs.load("erp", scenario="growth-phase")
    assert schema.tables["companies"].rows == 200
    assert "* max(0.1, 1 + 1.0 *" in schema.tables["days"].columns["order_rate"].expr


def test_custom_scenario_files_inherit_by_the_merge_rules(tmp_path: Path) -> None:
    custom = tmp_path / "my-peak.yaml"
    custom.write_text("""# A custom peak: the pack's peak season with later deliveries and no Black Friday.
extends: peak-season
settings: {late_share: 0.3}
remove: [black_friday_to_cyber_monday, weekend]
effects:
  - {name: holiday_rush, table: days, time: day, window: {start: 2024-12-01, end: 2024-12-20},
     column: order_rate, multiply: 1.2}
targets:
  - {name: late, metric: share, table: orders, where: "late", between: [0.25, 0.35]}
""")
    resolved = scenarios.resolve("erp", str(custom))
    assert resolved.chain == ["normal-ops", "peak-season", str(custom)] and resolved.settings == {"late_share": 0.3}
    schema = packs.load("erp", scenario=str(custom), settings={"late_share": "0.25"})  # --set wins over the file
    names = [e.name for e in schema.effects]
    assert names == ["holiday_rush", "carrier_strain_late", "carrier_strain_attempts", "season_payment_delays"]
    assert schema.effects[0].multiply == 1.2 and str(schema.effects[0].window.start) == "2024-12-01"
    assert schema.tables["days"].columns["p_late"].expr == "0.25"
    targets = {t.name: t for t in schema.targets}
    assert "weekend" not in targets and targets["late"].between == (0.25, 0.35)
    assert [t.name for t in schema.targets][:2] == ["returns", "late"]  # replaced in its place
    done = run(
        "generate",
        "--pack",
        "erp",
        "--scenario",
        str(custom),
        "--from",
        "2024-12-01",
        "--to",
        "2024-12-02",
        "--out",
        str(tmp_path / "out"),
        "-q",
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2024-13-01"), "--from 2024-13-01: not a date (YYYY-MM-DD)"),
        (("--from", "2024-06-01", "--to", "2024-05-31"), "--from 2024-06-01: after --to 2024-05-31"),
        (("--multiplier", "-2"), "--multiplier -2.0: must be > 0"),
        (("--scenario", "nope"), "--scenario nope: pack erp has no such scenario (scenarios: anomaly-heavy, "),
        (("--scenario", "missing.yaml"), "--scenario missing.yaml: no such file"),
        (("-n", "10"), "population.size: 10 people, but the from: population tables reach person 320"),
    ],
)
def test_bad_values_are_one_line_errors(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    done = run("generate", "--pack", "erp", *args, "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and done.stderr.startswith(f"pii_gen: error: {message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_bad_scenario_files_and_options_without_a_pack(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: normal-ops\nrates: {late: 0.3}\n")
    with pytest.raises(ConfigError, match=r"--scenario .*bad.yaml: rates: unknown key"):
        scenarios.resolve("erp", str(bad))
    loop = tmp_path / "loop.yaml"
    loop.write_text(f"extends: {loop}\n")
    with pytest.raises(ConfigError, match="extends itself"):
        scenarios.resolve("erp", str(loop))
    for option in ("--scenario", "--from", "--multiplier"):
        done = run("generate", option, "2", "--out", str(tmp_path / "o"))
        assert done.returncode == 2 and done.stderr == f"pii_gen: error: {option} needs --pack NAME\n", done.stderr
    done = run("validate", "--pack", "identity-graph", "--to", "2024-01-01", str(tmp_path))
    assert done.returncode == 2 and "--to: pack identity-graph has no to setting" in done.stderr


def test_same_bytes_at_one_and_two_workers(tmp_path: Path) -> None:
    window = ("--scenario", "peak-season", "--from", "2024-11-28", "--to", "2024-12-03", "--multiplier", "2")
    one_worker = generate(tmp_path / "w1", *window, "--workers", "1")
    two_workers = generate(tmp_path / "w2", *window, "--workers", "2", "--batch-size", "10000")
    files = sorted(p.name for p in one_worker.glob("*.parquet"))
    assert "_effects.parquet" in files and files == sorted(p.name for p in two_workers.glob("*.parquet"))
    for name in files:
        assert (one_worker / name).read_bytes() == (two_workers / name).read_bytes(), name


def test_anomaly_heavy_labels_every_injected_row_and_its_twin_differs_exactly_there(tmp_path: Path) -> None:
    # a window starting and ending inside calendar blocks: the days outside it are dropped with their anomalies
    window = ("--scenario", "anomaly-heavy", "--from", "2024-03-05", "--to", "2024-04-20", "--multiplier", "2")
    twin = tmp_path / "twin"
    con = connect(generate(tmp_path / "run", *window, "--clean-twin", str(twin)))
    clean = connect(twin)
    dry = run("generate", "--pack", "erp", "--seed", "5", *window, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    planned = {a["name"]: a["rows"] for a in plan["anomalies"]}
    got = dict(con.execute("SELECT anomaly, COUNT(*) FROM anomaly_labels GROUP BY anomaly").fetchall())
    assert got == planned and set(got) == {"price_spikes", "negative_payments", "very_late_payments",
                                           "night_audit_entries", "orphan_customers"}
    assert all(n > 0 for n in got.values())
    assert {t["name"]: t["rows"] for t in plan["tables"]}["orders"] == one(con, "SELECT COUNT(*) FROM orders")[0]
    (first, last), = con.execute("SELECT MIN(day_id), MAX(day_id) FROM days").fetchall()
    assert (first, last) == (20240305, 20240420)
    cases = {"price_spikes": ("order_items", "order_item_id", "line_total"),
             "negative_payments": ("payments", "payment_id", "amount"),
             "very_late_payments": ("payments", "payment_id", "paid_on"),
             "night_audit_entries": ("audit_logs", "log_id", "logged_at"),
             "orphan_customers": ("orders", "order_id", "company_id")}  # fmt: skip
    for anomaly, (table, key, column) in cases.items():
        source = tmp_path / "run" / f"{table}.parquet"
        clean.execute(f"CREATE TABLE run_{table}_{column} AS SELECT * FROM read_parquet('{source}')")
        changed = {str(k) for (k,) in clean.execute(
            f"SELECT a.{key} FROM run_{table}_{column} a JOIN {table} b USING ({key}) "
            f"WHERE a.{column} IS DISTINCT FROM b.{column}").fetchall()}  # fmt: skip
        labelled = {k for (k,) in con.execute(
            f"SELECT row_key FROM anomaly_labels WHERE anomaly = '{anomaly}'").fetchall()}  # fmt: skip
        others = {k for (k,) in con.execute(
            f"SELECT row_key FROM anomaly_labels WHERE \"table\" = '{table}' AND \"column\" = '{column}'").fetchall()}
        assert labelled <= changed == others, anomaly
    (orphans,) = one(con, "SELECT COUNT(*) FROM orders o LEFT JOIN companies c USING (company_id) "
                          "WHERE c.company_id IS NULL")  # fmt: skip
    assert orphans == planned["orphan_customers"]


def test_scenario_anomalies_merge_by_name_and_remove_drops_them(tmp_path: Path) -> None:
    assert [a["name"] for a in scenarios.resolve("erp", "normal-ops").anomalies] == []
    heavy = [a["name"] for a in scenarios.resolve("erp", "anomaly-heavy").anomalies]
    assert heavy[:2] == ["price_spikes", "negative_payments"] and len(heavy) == 5
    custom = tmp_path / "custom.yaml"
    custom.write_text("extends: anomaly-heavy\nremove: [orphan_customers]\nanomalies:\n"
                      "  - {name: price_spikes, kind: spike, table: order_items, column: line_total, count: 3}\n")
    merged = scenarios.resolve("erp", str(custom)).anomalies
    assert [a["name"] for a in merged] == heavy[:-1] and merged[0]["count"] == 3
    custom.write_text("anomalies:\n  - {kind: spike, table: orders}\n")
    with pytest.raises(ConfigError, match="anomalies.0: must be a map with a name"):
        scenarios.resolve("erp", str(custom))


def test_scenario_windows_recur_in_every_year_black_friday_on_its_weekday(tmp_path: Path) -> None:
    """A 2025-2026 run of peak-season and warehouse-outage meets the same windows as 2024 does: the rush from
    15 November, Black Friday to Cyber Monday on each year's own dates, the outage's 8-14 July with its
    backlog counted to the window's last day."""
    con = connect(generate(tmp_path / "peak", "--scenario", "peak-season", "--from", "2025-11-20",
                           "--to", "2026-12-05"))
    labelled = con.execute(
        "SELECT d.day FROM _effects e JOIN days d ON e.row_key = d.day_id::VARCHAR "
        "WHERE e.effect = 'black_friday_to_cyber_monday' ORDER BY 1").fetchall()
    assert [str(day) for (day,) in labelled] == [
        "2025-11-28", "2025-11-29", "2025-11-30", "2025-12-01", "2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
    (rush,) = one(con, "SELECT COUNT(*) FROM _effects WHERE effect = 'holiday_rush'")
    assert rush == (11 + 23) + (16 + 5)  # 20 Nov-23 Dec 2025, 15 Nov-5 Dec 2026
    con = connect(generate(tmp_path / "outage", "--scenario", "warehouse-outage", "--from", "2025-06-25",
                           "--to", "2025-08-05", "--multiplier", "4"))
    assert one(con, "SELECT COUNT(*) FROM inventory_movements WHERE movement_type = 'fulfilment' "
                    "AND moved_at >= TIMESTAMP '2025-07-08' AND moved_at < TIMESTAMP '2025-07-15'") == (0,)
    backlog = con.execute("SELECT day::VARCHAR, backlog_days FROM days WHERE day BETWEEN DATE '2025-07-06' "
                          "AND DATE '2025-07-23' ORDER BY day").fetchall()
    expected = [0, 10, 9, 8, 7, 6, 5, 4, 3, 2.3, 2.0, 1.7, 1.4, 1.1, 0.8, 0.5, 0, 0]
    assert [round(b, 6) for _, b in backlog] == pytest.approx(expected)
    assert one(con, "SELECT MIN(shipped_at) >= TIMESTAMP '2025-07-17' FROM orders "
                    "WHERE day_id BETWEEN 20250708 AND 20250714") == (True,)
