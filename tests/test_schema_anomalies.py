"""Anomalies of schema files: each kind changes (or, ``duplicate``, adds) exactly its configured count of rows,
among the rows its ``where`` and ``effect`` allow, each labelled once in ``anomaly_labels`` (two on one row:
both); the run beside its clean twin differs exactly at the labelled rows (a full outer join by key in
DuckDB); runs are byte-identical at any worker count and batch size; bad anomalies are one-line errors."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from pii_gen import dsl, schema_run
from pii_gen.dsl.model import Schema
from pii_gen.errors import SchemaError

BASE = {
    "version": 1,
    "name": "ax",
    "seed": 5,
    "tables": {
        "customers": {
            "kind": "entity",
            "rows": 1_500,
            "key": "customer_id",
            "columns": {
                "customer_id": {"gen": "sequence", "format": "C{:05d}"},
                "tier": {"gen": "choice", "values": ["gold", "basic"], "weights": [1, 3]},
            },
        },
        "orders": {
            "kind": "fact",
            "parent": "customers",
            "key": "order_id",
            "fanout": {"dist": "poisson", "mean": 9},
            "columns": {
                "order_id": {"gen": "sequence"},
                "ordered_at": {"gen": "datetime", "start": "2024-01-01", "end": "2024-12-31", "granularity": "second"},
                "qty": {"gen": "distribution", "dist": "poisson", "mean": 3, "min": 1},
                "price": {"gen": "distribution", "dist": "gamma", "shape": 2, "scale": 20, "decimals": 2},
                "tier": {"gen": "lookup", "via": "parent", "column": "tier"},
                "referrer": {"gen": "ref", "to": "customers"},
            },
        },
        "payments": {
            "kind": "fact",
            "parent": "orders",
            "key": "payment_id",
            "fanout": {"dist": "fixed", "n": 1},
            "columns": {
                "payment_id": {"gen": "sequence", "format": "P{:07d}"},
                "paid_on": {"gen": "datetime", "start": "2024-01-01", "end": "2024-12-31", "type": "date"},
                "amount": {"gen": "lookup", "via": "parent", "column": "price"},
            },
        },
        "visits": {
            "kind": "fact",
            "rows": 200,
            "columns": {
                "customer": {"gen": "ref", "to": "customers"},
                "minutes": {"gen": "distribution", "dist": "uniform", "min": 1, "max": 60, "integer": True},
            },
        },
    },
    "effects": [
        {
            "name": "sale",
            "table": "orders",
            "time": "ordered_at",
            "window": {"start": "2024-11-01", "end": "2024-12-01"},
            "column": "price",
            "multiply": 0.5,
            "label": True,
        }
    ],
    "constraints": [{"range": {"column": "orders.qty", "min": 1}}],
}
ANOMALIES = [
    {"name": "spikes", "kind": "spike", "table": "orders", "column": "price", "count": 120, "severity": "high"},
    {"name": "negative_qty", "kind": "negative", "table": "orders", "column": "qty", "rate": 0.01},
    {"name": "sale_spikes", "kind": "spike", "table": "orders", "column": "price", "factor": 3, "count": 25,
     "effect": "sale", "group": "black-week"},
    {"name": "gold_night", "kind": "off_hours", "table": "orders", "column": "ordered_at", "count": 40,
     "where": "tier == 'gold'", "hours": [1, 4]},
    {"name": "late_pay", "kind": "late", "table": "payments", "column": "paid_on", "count": 30, "min": "5d",
     "max": "20d"},
    {"name": "double_pay", "kind": "duplicate", "table": "payments", "time": "paid_on", "count": 50,
     "severity": "critical"},
    {"name": "lost_referrer", "kind": "orphan", "table": "orders", "column": "referrer", "count": 15},
    {"name": "double_order", "kind": "duplicate", "table": "orders", "time": "ordered_at", "within": "2m", "count": 7},
]  # fmt: skip
KEYS = {"customers": "customer_id", "orders": "order_id", "payments": "payment_id"}


def schema(anomalies: list[dict] = ANOMALIES, **changes: object) -> Schema:
    data = copy.deepcopy(BASE)
    data["anomalies"] = copy.deepcopy(anomalies)
    data.update(changes)
    return dsl.loads(json.dumps(data), json_text=True)


def views(con: duckdb.DuckDBPyConnection, out: Path, prefix: str = "") -> None:
    for p in out.glob("*.parquet"):
        con.execute(f"CREATE VIEW {prefix}{p.stem} AS SELECT * FROM read_parquet('{p}')")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, duckdb.DuckDBPyConnection]:
    """The run (views as named) and its clean twin (views prefixed ``c_``)."""
    root = tmp_path_factory.mktemp("anomalies")
    schema_run.generate_schema(schema(), out=str(root / "run"), format="parquet", workers=1,
                               clean_twin=str(root / "twin"))  # fmt: skip
    con = duckdb.connect()
    views(con, root / "run")
    views(con, root / "twin", "c_")
    return root / "run", root / "twin", con


def test_each_anomaly_labels_exactly_its_configured_count(both):
    _, _, con = both
    got = dict(con.execute("SELECT anomaly, count(*) FROM anomaly_labels GROUP BY 1").fetchall())
    orders = con.execute("SELECT count(*) FROM c_orders").fetchone()[0]
    want = {a["name"]: a.get("count", round(a.get("rate", 0) * orders)) for a in ANOMALIES}
    assert got == want
    # each anomaly's rows are distinct, and its labels say its kind, severity, effect and causal group
    assert con.execute("SELECT count(*) FROM (SELECT anomaly, row_key FROM anomaly_labels GROUP BY ALL "
                       "HAVING count(*) > 1)").fetchone()[0] == 0  # fmt: skip
    rows = set(con.execute("SELECT DISTINCT anomaly, kind, severity, effect, \"table\", \"column\", causal_group "
                           "FROM anomaly_labels").fetchall())  # fmt: skip
    assert ("sale_spikes", "spike", "medium", "sale", "orders", "price", "black-week") in rows
    assert ("double_pay", "duplicate", "critical", None, "payments", None, "double_pay") in rows


def test_a_diff_of_the_run_and_its_clean_twin_by_key_is_exactly_the_labels(both):
    _, twin, con = both
    assert not (twin / "anomaly_labels.parquet").exists()
    diff = set()
    for table, key in KEYS.items():
        diff |= set(
            con.execute(f"""
            SELECT '{table}', CAST(coalesce(a.{key}, b.{key}) AS VARCHAR) FROM {table} a
            FULL OUTER JOIN c_{table} b ON a.{key} = b.{key}
            WHERE a.{key} IS NULL OR b.{key} IS NULL OR a IS DISTINCT FROM b""").fetchall()
        )
    labels = set(con.execute('SELECT "table", row_key FROM anomaly_labels').fetchall())
    assert diff == labels
    assert len(labels) > 300
    # the effects' ledger is the scenario's, not an anomaly: the same in both
    assert con.execute("SELECT count(*) FROM (SELECT * FROM _effects EXCEPT ALL SELECT * FROM c__effects)"
                       ).fetchone()[0] == 0  # fmt: skip


def test_each_kind_changes_its_rows_as_it_says(both):
    _, _, con = both

    def joined(anomaly: str, table: str, column: str) -> list[tuple]:
        key = KEYS[table]
        return con.execute(f"""
            SELECT b.{column}, a.{column} FROM anomaly_labels l JOIN {table} a ON CAST(a.{key} AS VARCHAR) = l.row_key
            JOIN c_{table} b ON a.{key} = b.{key} WHERE l.anomaly = '{anomaly}'
            AND l.row_key NOT IN (SELECT row_key FROM anomaly_labels WHERE anomaly <> '{anomaly}'
                                  AND "table" = '{table}')""").fetchall()

    spiked = joined("spikes", "orders", "price")
    assert len(spiked) > 100 and all(abs(after - before * 10) < 0.006 for before, after in spiked)
    assert all(after < 0 and after == -before for before, after in joined("negative_qty", "orders", "qty"))
    late = joined("late_pay", "payments", "paid_on")
    assert late and all(5 <= (after - before).days <= 20 for before, after in late)
    lost = con.execute("""SELECT count(*) FILTER (WHERE a.referrer IS NULL AND b.referrer IS NOT NULL)
        FROM anomaly_labels l JOIN orders a ON CAST(a.order_id AS VARCHAR) = l.row_key
        JOIN c_orders b ON a.order_id = b.order_id WHERE l.anomaly = 'lost_referrer'""").fetchone()[0]
    assert lost == 15
    night = joined("gold_night", "orders", "ordered_at")
    assert night and all(
        1 <= after.hour < 4
        and after.hour != before.hour
        and after.date() == before.date()
        and (after.minute, after.second) == (before.minute, before.second)
        for before, after in night
    )
    # where and effect: the rows were eligible in the clean run
    not_gold = """SELECT count(*) FROM anomaly_labels l JOIN c_orders o
        ON CAST(o.order_id AS VARCHAR) = l.row_key WHERE l.anomaly = 'gold_night' AND o.tier <> 'gold'"""
    assert con.execute(not_gold).fetchone()[0] == 0
    sale = con.execute("""SELECT min(o.ordered_at), max(o.ordered_at) FROM anomaly_labels l JOIN c_orders o
        ON CAST(o.order_id AS VARCHAR) = l.row_key WHERE l.anomaly = 'sale_spikes'""").fetchone()
    assert dt.datetime(2024, 11, 1) <= sale[0] and sale[1] < dt.datetime(2024, 12, 2)  # a date end: its whole day


def test_a_duplicate_is_a_copy_under_a_key_after_the_tables_last_its_time_a_little_later(both):
    _, _, con = both
    n = con.execute("SELECT count(*) FROM c_payments").fetchone()[0]
    copies = con.execute("""SELECT p.payment_id, p.paid_on, p.amount, p.order_id FROM anomaly_labels l
        JOIN payments p ON p.payment_id = l.row_key WHERE l.anomaly = 'double_pay'""").fetchall()
    assert sorted(c[0] for c in copies) == [f"P{i:07d}" for i in range(n + 1, n + 51)]
    # each copy matches one clean payment of its order with the same amount, a day later (a date column)
    matched = con.execute("""SELECT count(DISTINCT p.payment_id) FROM anomaly_labels l
        JOIN payments p ON p.payment_id = l.row_key JOIN c_payments c ON c.order_id = p.order_id
        AND c.amount IS NOT DISTINCT FROM p.amount AND p.paid_on - c.paid_on = 1
        WHERE l.anomaly = 'double_pay'""").fetchone()[0]  # fmt: skip
    assert matched == 50
    # a copy is of the row as written (after the anomalies before it in the file): the same but key and time
    orders = con.execute("SELECT count(*) FROM c_orders").fetchone()[0]
    gaps = con.execute(f"""SELECT o.order_id, min(epoch(o.ordered_at - r.ordered_at)) FROM orders o JOIN orders r
        ON r.customer_id = o.customer_id AND r.qty = o.qty AND r.price = o.price AND r.tier = o.tier
        WHERE o.order_id > {orders} AND r.order_id <= {orders} AND o.ordered_at > r.ordered_at
        AND o.ordered_at - r.ordered_at <= INTERVAL 2 MINUTE GROUP BY 1""").fetchall()
    assert sorted(g[0] for g in gaps) == list(range(orders + 1, orders + 8))


def test_two_anomalies_on_one_row_both_change_it_and_both_are_labelled(tmp_path):
    small = copy.deepcopy(BASE)
    small["tables"]["customers"]["rows"] = 20
    small["tables"]["orders"]["fanout"] = {"dist": "fixed", "n": 5}
    small["anomalies"] = [
        {"name": "a", "kind": "spike", "table": "orders", "column": "price", "count": 70},
        {"name": "b", "kind": "spike", "table": "orders", "column": "price", "count": 70, "factor": 2},
        {"name": "c", "kind": "negative", "table": "orders", "column": "qty", "count": 60},
    ]
    schema_run.generate_schema(dsl.loads(json.dumps(small), json_text=True), out=str(tmp_path / "r"),
                               format="parquet", workers=1, clean_twin=str(tmp_path / "t"))  # fmt: skip
    con = duckdb.connect()
    views(con, tmp_path / "r")
    views(con, tmp_path / "t", "c_")
    both = con.execute("""SELECT o.price, c.price FROM orders o JOIN c_orders c USING (order_id)
        WHERE CAST(order_id AS VARCHAR) IN (SELECT row_key FROM anomaly_labels WHERE anomaly = 'a')
        AND CAST(order_id AS VARCHAR) IN (SELECT row_key FROM anomaly_labels WHERE anomaly = 'b')""").fetchall()
    assert len(both) >= 40  # 70 of 100 twice: at least 40 rows picked by both
    assert all(abs(after - before * 20) < 0.02 for after, before in both)
    assert con.execute("SELECT count(*) FROM anomaly_labels").fetchone()[0] == 200
    changed = con.execute("""SELECT count(*) FROM orders o JOIN c_orders c USING (order_id)
        WHERE o IS DISTINCT FROM c""").fetchone()[0]
    assert changed == con.execute("SELECT count(DISTINCT row_key) FROM anomaly_labels").fetchone()[0]


def test_a_keyless_tables_labels_key_its_rows_by_position(tmp_path):
    keyless = [{"name": "long", "kind": "spike", "table": "visits", "column": "minutes", "count": 12}]
    schema_run.generate_schema(schema(keyless), out=str(tmp_path / "r"), format="parquet", workers=1,
                               clean_twin=str(tmp_path / "t"))  # fmt: skip
    con = duckdb.connect()
    views(con, tmp_path / "r")
    views(con, tmp_path / "t", "c_")
    numbered = "SELECT row_number() OVER () - 1 AS pos, * FROM {}"
    changed = con.execute(f"""SELECT CAST(a.pos AS VARCHAR) FROM ({numbered.format("visits")}) a
        JOIN ({numbered.format("c_visits")}) b USING (pos) WHERE a.minutes <> b.minutes""").fetchall()
    labels = con.execute("SELECT row_key FROM anomaly_labels").fetchall()
    assert len(labels) == 12 and sorted(changed) == sorted(labels)


def test_a_run_with_anomalies_is_byte_identical_at_any_worker_count_and_batch_size(tmp_path):
    data = copy.deepcopy(BASE)
    data["tables"]["customers"]["rows"] = 25_000  # three blocks, their picks and copies each their own
    data["tables"]["orders"]["fanout"] = {"dist": "poisson", "mean": 1.5}
    data["anomalies"] = ANOMALIES
    big = dsl.loads(json.dumps(data), json_text=True)

    def digests(out: Path, **kw: object) -> dict:
        schema_run.generate_schema(big, out=str(out), format="csv", **kw)
        return json.loads((out / "manifest.json").read_text())["files"]

    one = digests(tmp_path / "a", workers=1)
    assert one == digests(tmp_path / "b", workers=2, batch_size=10_000)
    assert one == digests(tmp_path / "c", workers=2, batch_size=30_000)
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert len(manifest["files"]) == 6
    assert manifest["clean_twin"] is False
    assert {a["name"]: a["rows"] for a in manifest["anomalies"]}["double_pay"] == 50


def test_a_database_load_writes_the_same_rows_and_labels_as_the_files(both):
    from pii_gen import api
    from pii_gen.config import build_config
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse

    from servers import server_url

    _, _, files = both
    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    db_schema = "ax_anomalies"
    conn = connect(parse(url), db_schema)
    conn.execute(f"DROP SCHEMA IF EXISTS {db_schema} CASCADE")
    conn.commit()
    try:
        api.generate_schema(schema(), build_config({}, db=url, db_schema=db_schema, quiet=True, workers=1))
        q = conn.dialect.q
        got = conn.execute(f"SELECT anomaly, {q('table')}, row_key FROM {conn.table('anomaly_labels')}")
        want = files.execute('SELECT anomaly, "table", row_key FROM anomaly_labels').fetchall()
        assert sorted(tuple(r) for r in got) == sorted(want)
        # the spikes and the copies as in the files (a sum of floats in another order: to a relative 1e-9)
        ((rows, total),) = conn.execute(f"SELECT count(*), sum(price) FROM {conn.table('orders')}")
        ((want_rows, want_total),) = files.execute("SELECT count(*), sum(price) FROM orders").fetchall()
        assert rows == want_rows and abs(float(total) - want_total) < 1e-9 * want_total
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {db_schema} CASCADE")
        conn.commit()
        conn.close()


def test_the_dry_run_plan_counts_every_tables_rows_and_every_anomaly(tmp_path):
    plan = schema_run.dry_run(schema())
    rows = {t["name"]: t["rows"] for t in plan["tables"]}
    out = tmp_path / "r"
    result = schema_run.generate_schema(schema(), out=str(out), format="parquet", workers=1)
    assert {name: rows[name] for name in result.rows if name != "_effects"} == \
        {name: n for name, n in result.rows.items() if name != "_effects"}  # fmt: skip
    assert [t["name"] for t in plan["tables"]] == ["customers", "orders", "payments", "visits", "anomaly_labels"]
    sale = next(a for a in plan["anomalies"] if a["name"] == "sale_spikes")
    assert sale["window"] == ["2024-11-01", "2024-12-01"] and sale["rows"] == 25 and 25 < sale["eligible"] < 2_000
    assert plan["effects"][0]["name"] == "sale"


@pytest.mark.parametrize("anomaly, message", [
    ({"kind": "spiky", "column": "price", "count": 1}, "anomalies[0].kind: unknown anomaly kind 'spiky' (one of: "),
    ({"kind": "spike", "column": "price"}, "anomalies[0].count: needs count: N or rate: SHARE (one of them)"),
    ({"kind": "spike", "column": "price", "count": 1, "rate": 0.1}, "anomalies[0].count: needs count: N or rate"),
    ({"kind": "spike", "column": "cost", "count": 1}, "anomalies[0].column: table orders has no column 'cost'"),
    ({"kind": "spike", "column": "order_id", "count": 1}, "anomalies[0].column: order_id is a key or a foreign key"),
    ({"kind": "spike", "column": "ordered_at", "count": 1},
     "anomalies[0].column: orders.ordered_at is timestamp: anomaly spike changes float or int columns"),
    ({"kind": "spike", "column": "price", "count": 1, "factor": 1.5}, "anomalies[0].factor: must be >= 2"),
    ({"kind": "late", "column": "ordered_at", "count": 1, "min": "2d", "max": "1d"}, "anomalies[0].max: must be >="),
    ({"kind": "off_hours", "column": "ordered_at", "count": 1, "hours": [3, 4]}, "anomalies[0].hours: must be"),
    ({"kind": "spike", "column": "price", "count": 1, "effect": "nope"}, "anomalies[0].effect: no effect named 'nope'"),
    ({"kind": "spike", "column": "price", "count": 1, "where": "qty + 1"}, "anomalies[0].where: must be a condition"),
    ({"kind": "spike", "column": "price", "count": 1, "severity": "huge"}, "anomalies[0].severity: must be"),
    ({"kind": "duplicate", "table": "visits", "count": 1}, "anomalies[0].table: a duplicate needs a table with one "
                                                           "plain sequence key"),
    ({"kind": "negative", "table": "visits", "column": "customer", "count": 1},
     "anomalies[0].column: customer is a key or a foreign key: anomalies never change those"),
    ({"kind": "spike", "table": "anomaly_labels", "column": "x", "count": 1}, "anomalies[0].table: no table named"),
    ({"kind": "orphan", "column": "qty", "count": 1}, "anomalies[0].column: orders.qty is not a ref column"),
])  # fmt: skip
def test_a_bad_anomaly_is_a_one_line_error_naming_its_path(anomaly, message):
    with pytest.raises(SchemaError) as err:
        schema([{"name": "x", "table": "orders", **anomaly}])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_more_rows_than_the_table_has_eligible_is_refused_before_any_row(tmp_path):
    data = [{"name": "x", "kind": "spike", "table": "orders", "column": "price", "count": 30,
             "effect": "sale", "where": "qty > 9"}]  # fmt: skip
    wanted = r"^anomalies\[0\].count: 30 rows wanted, table orders has \d+ eligible rows$"
    with pytest.raises(SchemaError, match=wanted):
        schema_run.generate_schema(schema(data), out=str(tmp_path / "r"), format="csv", workers=1)
    assert not (tmp_path / "r").exists()
    second = [{"name": "x", "kind": "spike", "table": "orders", "column": "price", "count": 1}] * 2
    with pytest.raises(SchemaError, match=r"anomalies\[1\].name: a second anomaly named 'x'"):
        schema(second)


def test_validate_reads_the_run_and_its_clean_twin_alike_and_counts_what_the_anomalies_break(both):
    from pii_gen.validate.schema import validate_schema

    run, twin, con = both

    def qty_range(folder: Path) -> int:
        report = validate_schema(schema(), folder)
        return next(c for c in report.checks if c.name == "range orders.qty min 1").metrics["violations"]

    # the rows as written: the negative quantities (and copies of them) break the range; the twin (no labels
    # table) breaks nothing
    broken = con.execute("SELECT count(*) FROM orders WHERE qty < 1").fetchone()[0]
    negatives = con.execute("SELECT count(*) FROM anomaly_labels WHERE anomaly = 'negative_qty'").fetchone()[0]
    unlabelled = con.execute("""SELECT count(*) FROM orders WHERE qty < 1 AND CAST(order_id AS VARCHAR) NOT IN
        (SELECT row_key FROM anomaly_labels WHERE anomaly IN ('negative_qty', 'double_order'))""").fetchone()[0]
    assert negatives <= broken <= negatives + 7 and unlabelled == 0
    assert (qty_range(run), qty_range(twin)) == (broken, 0)
