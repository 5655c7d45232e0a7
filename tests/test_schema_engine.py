"""The schema engine end to end: a schema file compiled to a run plan and generated block by block through the
local backend into files.  Exact invariants: byte-identical files at any worker count and batch size, dense
keys, every foreign key resolving, per-parent counts equal to the fanout draws, lookups equal to a join
computed in DuckDB, and a column's values unchanged when other columns or tables are added."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from pii_gen import dsl, schema_run
from pii_gen.core.plan import RunPlan
from pii_gen.dsl.model import Schema
from pii_gen.errors import SchemaError
from pii_gen.packs.schema.engine import Engine
from pii_gen.packs.schema.pack import SchemaPack

SHOP = {
    "version": 1, "name": "shop", "seed": 7,
    "tables": {
        "regions": {"kind": "vocab", "key": "code",
                    "data": [{"code": "N", "label": "North"}, {"code": "S", "label": "South"},
                             {"code": "W", "label": "West"}]},
        "stores": {"kind": "entity", "rows": 12_345, "key": "store_id", "columns": {
            "store_id": {"gen": "sequence", "start": 100},
            "region": {"gen": "ref", "to": "regions"},
            "region_label": {"gen": "lookup", "via": "region", "column": "label"},
            "opened": {"gen": "datetime", "start": "2020-01-01", "end": "2023-12-31", "type": "date"},
        }},
        "customers": {"kind": "entity", "rows": 25_001, "key": "customer_id", "columns": {
            "customer_id": {"gen": "sequence", "format": "C-{:07d}"},
            "home_store": {"gen": "ref", "to": "stores", "pick": {"zipf": {"s": 1.1}}},
            "store_region": {"gen": "lookup", "via": ["home_store", "region"], "column": "label"},
            "income": {"gen": "distribution", "dist": "lognormal", "mu": 10.5, "sigma": 0.5, "decimals": 2},
            "vip": {"gen": "bool", "p": 0.1},
        }},
        "orders": {"kind": "fact", "parent": "customers", "key": "order_id",
                   "fanout": {"dist": "poisson", "mean": "0.5 + parent.income / 40000"}, "columns": {
            "order_id": {"gen": "sequence"},
            "store_id": {"gen": "ref", "to": "stores"},
            "income_then": {"gen": "lookup", "via": "parent", "column": "income"},
            "store_opened": {"gen": "expression", "expr": "lookup(store_id, stores.opened)"},
            "amount": {"gen": "distribution", "dist": "gamma", "shape": 2.0, "scale": 20.0, "decimals": 2},
        }},
        "items": {"kind": "fact", "parent": "orders", "key": "item_id",
                  "fanout": {"dist": "uniform", "min": 1, "max": 4}, "columns": {
            "item_id": {"gen": "sequence"},
            "customer": {"gen": "lookup", "via": ["parent", "parent"], "column": "customer_id"},
            "qty": {"gen": "distribution", "dist": "poisson", "mean": 2, "min": 1},
        }},
        "events": {"kind": "fact", "rows": 30_000, "key": "event_id", "columns": {
            "event_id": {"gen": "uuid"},
            "customer_id": {"gen": "ref", "to": "customers"},
            "at": {"gen": "datetime", "start": "2024-01-01", "end": "2024-12-31", "granularity": "second"},
        }},
    },
}


def checked(data: dict) -> Schema:
    """The schema as a file would be loaded: validated and checked as a whole."""
    return dsl.loads(json.dumps(data), json_text=True)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.name != "manifest.json"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop") / "out"
    schema_run.generate_schema(checked(SHOP), out=str(out), format="parquet", workers=1)
    return out


def sql(folder: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    for p in folder.glob("*.parquet"):
        con.execute(f"CREATE VIEW {p.stem} AS SELECT * FROM read_parquet('{p}')")
    return con.execute(query).fetchall()


def test_same_bytes_at_any_worker_count_and_batch_size(tmp_path: Path) -> None:
    schema = checked(SHOP)
    runs = [(1, 10_000), (2, 10_000), (2, 30_000)]
    found = []
    for i, (workers, batch) in enumerate(runs):
        out = tmp_path / f"run{i}"
        schema_run.generate_schema(schema, out=str(out), format="csv", workers=workers, batch_size=batch)
        found.append(digests(out))
    assert len(found[0]) == 6
    assert found[0] == found[1] == found[2]


def test_rows_keys_and_manifest(shop: Path) -> None:
    manifest = json.loads((shop / "manifest.json").read_text())
    assert manifest["schema"] == "shop" and manifest["seed"] == 7 and len(manifest["schema_sha256"]) == 64
    rows = {t: info["rows"] for t, info in manifest["tables"].items()}
    assert rows["regions"] == 3 and rows["stores"] == 12_345 and rows["customers"] == 25_001
    assert rows["events"] == 30_000
    for table, key in (("stores", "store_id"), ("orders", "order_id"), ("items", "item_id")):
        first = 100 if table == "stores" else 1
        assert sql(shop, f"SELECT min({key}), max({key}), count(DISTINCT {key}), count(*) FROM {table}") == [
            (first, first + rows[table] - 1, rows[table], rows[table])]
    assert sql(shop, "SELECT min(customer_id), max(customer_id), count(DISTINCT customer_id) FROM customers") == [
        ("C-0000001", "C-0025001", 25_001)]
    assert sql(shop, "SELECT count(DISTINCT event_id) FROM events") == [(30_000,)]


def test_every_foreign_key_resolves(shop: Path) -> None:
    checks = {
        "stores.region": "SELECT count(*) FROM stores s LEFT JOIN regions r ON s.region = r.code WHERE r.code IS NULL",
        "customers.home_store": "SELECT count(*) FROM customers c LEFT JOIN stores s ON c.home_store = s.store_id "
                                "WHERE s.store_id IS NULL",
        "orders.customer_id": "SELECT count(*) FROM orders o LEFT JOIN customers c USING (customer_id) "
                              "WHERE c.income IS NULL",
        "orders.store_id": "SELECT count(*) FROM orders o LEFT JOIN stores s USING (store_id) WHERE s.region IS NULL",
        "items.order_id": "SELECT count(*) FROM items i LEFT JOIN orders o USING (order_id) WHERE o.amount IS NULL",
        "events.customer_id": "SELECT count(*) FROM events e LEFT JOIN customers c USING (customer_id) "
                              "WHERE c.income IS NULL",
    }
    for name, query in checks.items():
        assert sql(shop, query) == [(0,)], name


def test_lookups_equal_the_join(shop: Path) -> None:
    joins = {
        "via ref": "SELECT count(*) FROM stores s JOIN regions r ON s.region = r.code WHERE s.region_label <> r.label",
        "two hops": "SELECT count(*) FROM customers c JOIN stores s ON c.home_store = s.store_id "
                    "JOIN regions r ON s.region = r.code WHERE c.store_region <> r.label",
        "via parent": "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) "
                      "WHERE o.income_then <> c.income",
        "expression lookup": "SELECT count(*) FROM orders o JOIN stores s USING (store_id) "
                             "WHERE o.store_opened <> s.opened",
        "parent of parent": "SELECT count(*) FROM items i JOIN orders o USING (order_id) "
                            "WHERE i.customer <> o.customer_id",
    }
    for name, query in joins.items():
        assert sql(shop, query) == [(0,)], name
    assert sql(shop, "SELECT count(*) FROM orders WHERE store_opened IS NULL OR income_then IS NULL") == [(0,)]


def test_children_follow_the_fanout_draws(shop: Path) -> None:
    plan = SchemaPack().plan(checked(SHOP))
    engine = Engine(Schema.model_validate(plan.settings["schema"]), plan.seed, plan.settings["block_rows"])
    drawn = np.concatenate([engine.counts("orders", k) for k in range(plan.blocks)])
    per_customer = sql(shop, "SELECT count(o.order_id) FROM customers c LEFT JOIN orders o USING (customer_id) "
                             "GROUP BY c.customer_id ORDER BY c.customer_id")
    assert len(drawn) == 25_001 and drawn.sum() > 0
    assert np.array_equal(np.array([r[0] for r in per_customer]), drawn)
    # children are in parent order and the keys dense in generation order
    assert sql(shop, "SELECT count(*) FROM (SELECT customer_id, order_id, lag(customer_id) OVER (ORDER BY order_id) "
                     "AS before FROM orders) WHERE customer_id < before") == [(0,)]
    lo, hi = sql(shop, "SELECT min(c), max(c) FROM (SELECT count(*) AS c FROM items GROUP BY order_id)")[0]
    assert (lo, hi) == (1, 4)
    orphans = "SELECT count(*) FROM orders o LEFT JOIN items i USING (order_id) WHERE i.item_id IS NULL"
    assert sql(shop, orphans) == [(0,)]


def test_zipf_refs_favour_the_first_rows(shop: Path) -> None:
    counts = dict(sql(shop, "SELECT home_store - 100, count(*) FROM customers GROUP BY 1"))
    assert counts[0] > counts.get(1, 0) > counts.get(100, 0)
    # P(first) under zipf(s=1.1) over 12,345 positions, within four standard errors
    weights = np.arange(1, 12_346, dtype=float) ** -1.1
    p = weights[0] / weights.sum()
    assert abs(counts[0] - 25_001 * p) <= 4 * np.sqrt(25_001 * p * (1 - p))


def test_adding_columns_or_tables_changes_no_other_column(tmp_path: Path, shop: Path) -> None:
    more = copy.deepcopy(SHOP)
    more["tables"]["customers"]["columns"] = {"extra": {"gen": "pattern", "template": "??##"},
                                              **more["tables"]["customers"]["columns"]}
    more["tables"]["orders"]["columns"]["note"] = {"gen": "uuid"}
    more["tables"] = {"aaa": {"kind": "entity", "rows": 50_000, "columns": {"x": {"gen": "bool"}}}, **more["tables"]}
    out = tmp_path / "more"
    schema_run.generate_schema(checked(more), out=str(out), format="parquet", workers=1)
    for table in SHOP["tables"]:
        before = pq.read_table(shop / f"{table}.parquet")
        after = pq.read_table(out / f"{table}.parquet").select(before.column_names)
        assert after.equals(before), table


def test_a_file_runs_and_its_hash_is_recorded(tmp_path: Path) -> None:
    data = copy.deepcopy(SHOP)
    data["tables"]["regions"] = {"kind": "vocab", "key": "code", "file": "regions.csv"}
    (tmp_path / "regions.csv").write_text("code,label\nN,North\nS,South\nW,West\n")
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "out"
    result = schema_run.generate_schema(path, out=str(out), format="jsonl", scale=0.1, seed=8)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and manifest["seed"] == 8
    assert result.rows["stores"] == 1_234 and result.rows["regions"] == 3  # scaled, vocab not
    assert sum(1 for _ in (out / "customers.jsonl").open()) == 2_500
    labels = {json.loads(line)["region_label"] for line in (out / "stores.jsonl").open()}
    assert labels == {"North", "South", "West"}  # the lookup reads the vocab file's column
    data["tables"]["stores"]["columns"]["region_label"]["column"] = "name"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match="^tables.stores.columns.region_label.column: table regions has no column"):
        schema_run.generate_schema(path, out=str(tmp_path / "bad"))


def test_preview_and_ddl() -> None:
    schema = checked(SHOP)
    rows = schema_run.preview(schema, rows=5)
    assert {t: r.num_rows for t, r in rows.items()} == {
        "regions": 3, "stores": 5, "customers": 5, "orders": 5, "items": 5, "events": 5}
    text = schema_run.schema_ddl(schema, "postgresql")
    assert 'FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id")' in text
    assert 'CONSTRAINT "pk_orders" PRIMARY KEY ("order_id")' in text


def test_plan_round_trips_through_json() -> None:
    plan = SchemaPack().plan(checked(SHOP))
    again = RunPlan.from_json(plan.to_json())
    assert again == plan
    assert plan.settings["block_rows"]["stores"] == [10_000, 2_345, 0]


def test_an_effect_timed_by_a_number_is_refused_before_any_row() -> None:
    data = copy.deepcopy(SHOP)
    data["effects"] = [{"name": "sale", "table": "orders", "time": "amount", "window": {"start": "2024-11-29",
                                                                                       "end": "2024-12-02"},
                        "rate": 2.0}]
    with pytest.raises(SchemaError, match=r"^effects\[0\]\.time: orders.amount is float: the time column must be a "
                                          "date or timestamp$"):
        SchemaPack().plan(Schema.model_validate(data))


def test_unique_and_self_refs(tmp_path: Path) -> None:
    data = {"version": 1, "seed": 9, "tables": {
        "desks": {"kind": "entity", "rows": 30_000, "key": "desk_id", "columns": {"desk_id": {"gen": "sequence"}}},
        "staff": {"kind": "entity", "rows": 25_000, "key": "staff_id", "columns": {
            "staff_id": {"gen": "sequence", "start": 1000},
            "desk": {"gen": "ref", "to": "desks", "unique": True},
            "manager": {"gen": "ref", "to": "self", "root_share": 0.2},
        }},
    }}
    runs = []
    for workers in (1, 2):
        out = tmp_path / f"staff{workers}"
        schema_run.generate_schema(checked(data), out=str(out), format="parquet", workers=workers)
        runs.append(digests(out))
    assert runs[0] == runs[1]
    out = tmp_path / "staff1"
    assert sql(out, "SELECT count(DISTINCT desk), count(*), min(desk) >= 1, max(desk) <= 30000 FROM staff") == [
        (25_000, 25_000, True, True)]
    assert sql(out, "SELECT count(*) FROM staff s LEFT JOIN staff m ON s.manager = m.staff_id "
                    "WHERE s.manager IS NOT NULL AND (m.staff_id IS NULL OR m.staff_id >= s.staff_id)") == [(0,)]
    roots = sql(out, "SELECT count(*) FROM staff WHERE manager IS NULL")[0][0]
    assert abs(roots - 0.2 * 25_000) <= 4 * np.sqrt(25_000 * 0.2 * 0.8) + 1
    assert sql(out, "SELECT manager FROM staff WHERE staff_id = 1000") == [(None,)]
    data["tables"]["staff"]["rows"] = 30_001
    with pytest.raises(SchemaError, match="tables.staff.columns.desk.unique: 30001 rows cannot each take"):
        SchemaPack().plan(Schema.model_validate(data))


def test_weighted_and_filtered_refs(tmp_path: Path) -> None:
    data = {"version": 1, "seed": 3, "tables": {
        "plans": {"kind": "vocab", "key": "plan", "data": [
            {"plan": "free", "weight": 6, "active": True}, {"plan": "pro", "weight": 3, "active": True},
            {"plan": "team", "weight": 1, "active": True}, {"plan": "legacy", "weight": 50, "active": False}]},
        "accounts": {"kind": "entity", "rows": 3_000, "key": "account_id", "columns": {
            "account_id": {"gen": "sequence"},
            "score": {"gen": "distribution", "dist": "uniform", "min": 0, "max": 1}}},
        "subs": {"kind": "fact", "rows": 40_000, "key": "sub_id", "columns": {
            "sub_id": {"gen": "sequence"},
            "plan": {"gen": "ref", "to": "plans", "pick": {"weighted_by": "weight"}, "where": "active"},
            "account": {"gen": "ref", "to": "accounts", "where": "score > 0.8", "pick": {"zipf": {"s": 1.2}}},
        }},
    }}
    out = tmp_path / "subs"
    schema_run.generate_schema(checked(data), out=str(out), format="parquet", workers=1)
    shares = dict(sql(out, "SELECT plan, count(*) / 40000 FROM subs GROUP BY plan"))
    assert set(shares) == {"free", "pro", "team"}  # the inactive plan is never picked, however heavy
    for plan, p in (("free", 0.6), ("pro", 0.3), ("team", 0.1)):
        assert abs(shares[plan] - p) <= 4 * np.sqrt(p * (1 - p) / 40_000), plan
    assert sql(out, "SELECT count(*) FROM subs s JOIN accounts a ON s.account = a.account_id WHERE a.score <= 0.8") \
        == [(0,)]
    eligible = [r[0] for r in sql(out, "SELECT account_id FROM accounts WHERE score > 0.8 ORDER BY account_id")]
    top = sql(out, "SELECT account, count(*) FROM subs GROUP BY account ORDER BY 2 DESC LIMIT 1")[0][0]
    assert top == eligible[0]  # zipf over the eligible rows' order


def test_population_people_are_the_generated_persons(tmp_path: Path) -> None:
    from pii_gen.packs.person.pack import PersonGenerator

    data = {"version": 1, "seed": 5, "tables": {
        "people": {"kind": "entity", "from": "population", "start": 4_000, "rows": 12_000, "key": "no", "columns": {
            "no": {"gen": "sequence"},
            "pid": {"gen": "person", "field": "person_id"},
            "first": {"gen": "person", "field": "first_name"},
            "last": {"gen": "person", "field": "last_name"},
            "born": {"gen": "person", "field": "date_of_birth"},
            "city": {"gen": "person", "field": "city"},
            "email": {"gen": "person", "field": "email"},
        }},
        "visits": {"kind": "fact", "rows": 5_000, "key": "visit_id", "columns": {
            "visit_id": {"gen": "sequence"},
            "who": {"gen": "ref", "to": "people"},
            "who_last": {"gen": "person", "field": "last_name", "of": "who"},
        }},
    }}
    out = tmp_path / "pop"
    schema_run.generate_schema(checked(data), out=str(out), format="parquet", workers=1)
    tables = PersonGenerator(seed=5).generate(16_000)  # the population is as large as its tables reach
    con = duckdb.connect()
    con.register("persons", tables["persons"])
    con.register("addresses", tables["addresses"])
    con.register("emails", tables["email_addresses"])
    con.execute(f"CREATE VIEW people AS SELECT * FROM read_parquet('{out / 'people.parquet'}')")
    con.execute(f"CREATE VIEW visits AS SELECT * FROM read_parquet('{out / 'visits.parquet'}')")
    assert con.execute("SELECT min(pid), max(pid), count(*) FROM people").fetchall() == [(4_001, 16_000, 12_000)]
    mismatches = con.execute(
        "SELECT count(*) FROM people x JOIN persons p ON x.pid = p.person_id "
        "JOIN addresses a ON a.person_id = p.person_id AND a.address_type = 'home' "
        "JOIN emails e ON e.person_id = p.person_id AND e.is_primary "
        "WHERE x.first <> p.first_name OR x.last <> p.last_name OR x.born <> p.date_of_birth "
        "OR x.city <> a.city OR x.email <> e.email").fetchall()
    matched = con.execute("SELECT count(*) FROM people x JOIN persons p ON x.pid = p.person_id").fetchall()
    assert mismatches == [(0,)] and matched == [(12_000,)]
    assert con.execute("SELECT count(*) FROM visits v JOIN people x ON v.who = x.no "
                       "WHERE v.who_last <> x.last").fetchall() == [(0,)]


def test_faker_columns_sample_a_seeded_vocabulary(tmp_path: Path) -> None:
    pytest.importorskip("faker")
    data = {"version": 1, "seed": 2, "tables": {"firms": {"kind": "entity", "rows": 20_000, "columns": {
        "name": {"gen": "faker", "method": "company", "vocabulary": 40},
        "phrase": {"gen": "faker", "method": "catch_phrase", "vocabulary": 25}}}}}
    runs = []
    for workers in (1, 2):
        out = tmp_path / f"firms{workers}"
        schema_run.generate_schema(checked(data), out=str(out), format="csv", workers=workers)
        runs.append(digests(out))
    assert runs[0] == runs[1]
    assert sql_csv(tmp_path / "firms1", "SELECT count(DISTINCT name), count(DISTINCT phrase), count(*) FROM firms") \
        == [(40, 25, 20_000)]
    data["tables"]["firms"]["columns"]["name"]["method"] = "no_such_method"
    with pytest.raises(SchemaError, match="tables.firms.columns.name.method: Faker has no method 'no_such_method'"):
        schema_run.generate_schema(checked(data), out=str(tmp_path / "bad"), format="csv", workers=1)
    assert not (tmp_path / "bad").exists()


def sql_csv(folder: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    for p in folder.glob("*.csv"):
        con.execute(f"CREATE VIEW {p.stem} AS SELECT * FROM read_csv_auto('{p}')")
    return con.execute(query).fetchall()


def test_row_estimates_of_a_population_table_follow_the_scale_as_the_run_does() -> None:
    """``schema check --scale`` and the progress bar's total: a ``from: population`` table without ``rows:``
    has the population's size times the scale, as the plan makes it."""
    schema = dsl.load(Path(__file__).resolve().parents[1] / "examples" / "shop.yaml")
    plan = SchemaPack().plan(schema, scale=2)
    made = sum(plan.settings["block_rows"]["customers"])
    assert made == 2 * schema.population.size
    assert dsl.row_estimates(schema, 2)["customers"] == made


CALENDAR_SCHEMA = """
version: 1
calendar: {start: 2024-01-01, end: 2024-03-31}
tables:
  days:
    kind: entity
    from: calendar
    key: day_id
    columns:
      day_id: {gen: calendar_day, format: number}
      day: {gen: calendar_day}
      rate: {gen: distribution, dist: uniform, min: 2, max: 12}
  orders:
    kind: fact
    parent: days
    key: order_id
    fanout: {dist: poisson, mean: parent.rate}
    columns:
      order_id: {gen: daily_key, base: parent.day_id, digits: 4}
      amount: {gen: distribution, dist: lognormal, mu: 3, sigma: 1}
  items:
    kind: fact
    parent: orders
    key: item_id
    fanout: {dist: uniform, min: 1, max: 4}
    columns:
      item_id: {gen: daily_key, base: parent.order_id, digits: 1}
      qty: {gen: distribution, dist: poisson, mean: 2}
"""


def _calendar_run(start: str, end: str) -> dict:
    text = CALENDAR_SCHEMA.replace("2024-01-01", start).replace("2024-03-31", end)
    plan = SchemaPack().plan(dsl.loads(text), seed=9)
    runtime = SchemaPack().runtime(plan)
    return {name: t.to_pylist() for name, t in runtime.batch(plan.count, 0, runtime.engine.blocks).items()}


def test_a_calendar_window_is_a_slice_of_a_longer_run() -> None:
    whole, february = _calendar_run("2024-01-01", "2024-03-31"), _calendar_run("2024-02-01", "2024-02-29")
    assert [d["day_id"] for d in whole["days"]] == [int(f"2024{m:02d}{d:02d}") for m, n in ((1, 31), (2, 29), (3, 31))
                                                    for d in range(1, n + 1)]
    assert len(february["days"]) == 29 and february["days"][0]["day"].isoformat() == "2024-02-01"
    day_of = {"days": lambda r: r["day_id"], "orders": lambda r: r["order_id"] // 10**4,
              "items": lambda r: r["item_id"] // 10**5}
    for table, day in day_of.items():
        feb = [r for r in whole[table] if 20240201 <= day(r) <= 20240229]
        assert feb and feb == february[table], table
    # daily keys: the day, then the row's place under its parent from 1 (unique, dense under each parent)
    orders = whole["orders"]
    assert len({r["order_id"] for r in orders}) == len(orders)
    first = [r["order_id"] for r in orders if r["day_id"] == 20240101]
    assert first == [20240101 * 10**4 + i for i in range(1, len(first) + 1)]
    assert all(r["item_id"] // 10 == r["order_id"] for r in whole["items"])


def test_a_calendar_table_takes_no_rows_and_a_full_parent_is_refused() -> None:
    with pytest.raises(SchemaError, match=r"tables.days.rows: a from: calendar table has one row per day"):
        dsl.loads(CALENDAR_SCHEMA.replace("    from: calendar\n", "    from: calendar\n    rows: 5\n"))
    crowded = CALENDAR_SCHEMA.replace("{dist: uniform, min: 1, max: 4}", "{dist: fixed, n: 12}")
    with pytest.raises(SchemaError, match=r"tables.items.columns.item_id.digits: a parent has 12 children"):
        plan = SchemaPack().plan(dsl.loads(crowded), seed=9)
        runtime = SchemaPack().runtime(plan)
        runtime.batch(plan.count, 0, 1)


@pytest.mark.parametrize("source", ["pack:erp", "bank.yaml", "gov_cases.yaml", "hr.yaml", "saas.yaml", "shop.yaml"])
def test_counting_reads_only_the_parent_columns_a_fanout_needs_with_the_same_counts(
        source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan counts children from the parent columns their fanout reads (and what those read), not the
    whole parent: the same counts per block as from whole parent blocks, and for the ERP pack no people drawn."""
    from pii_gen.dsl import packs
    from pii_gen.packs.schema import engine as engine_module

    schema = packs.load("erp", {"multiplier": "2", "to": "2024-02-29"}) if source == "pack:erp" else \
        dsl.load(Path(__file__).resolve().parents[1] / "examples" / source)
    narrow = Engine.counting(schema, 7, 1.0)
    made = {key[0] for key in narrow._cache}
    monkeypatch.setattr(engine_module, "column_closure", lambda table, texts: None)
    whole = Engine.counting(schema, 7, 1.0)
    assert narrow.block_rows.keys() == whole.block_rows.keys()
    for name in whole.block_rows:
        assert narrow.block_rows[name].tolist() == whole.block_rows[name].tolist(), name
    if source == "pack:erp":
        assert "orders@order_id,cancelled,first_attempt_failed" in made and "orders" not in made
        assert narrow._people is None  # the people of users and contacts are the run's, not the plan's
