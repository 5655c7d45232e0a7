"""Effects of schema files (section 5) against the ledger and against the same file run without them: column
effects change exactly the rows inside their windows (global, keyed, windows from a table with ``on`` and
``value``, overlapping ones in file order), a rate lifts rows per day inside its window to the rate within
sampling error with the rows outside unchanged, the ledger lists every touched row (outliers and noise too),
runs are byte-identical at any worker count and batch size, and bad effects are one-line errors."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from pii_gen import api, dsl, schema_run
from pii_gen.config import build_config
from pii_gen.db.loaders import connect
from pii_gen.db.url import parse
from pii_gen.dsl.model import Schema
from pii_gen.errors import SchemaError

from servers import server_url

BASE = {
    "version": 1, "name": "fx", "seed": 11,
    "tables": {
        "regions": {"kind": "vocab", "key": "code", "data": [{"code": "N"}, {"code": "S"}, {"code": "W"}]},
        "promos": {"kind": "vocab", "data": [
            {"store_id": 1, "starts_at": "2024-03-01", "ends_at": "2024-03-10", "lift": 1.5},
            {"store_id": 2, "starts_at": "2024-06-01", "ends_at": "2024-06-05", "lift": 2.0},
            {"store_id": 1, "starts_at": "2024-03-05", "ends_at": "2024-03-20", "lift": 3.0},
            {"store_id": 4, "starts_at": "2024-09-01T12:00:00", "ends_at": "2024-09-02T06:00:00", "lift": 0.5}]},
        "stores": {"kind": "entity", "rows": 6, "key": "store_id", "columns": {
            "store_id": {"gen": "sequence"}, "region": {"gen": "ref", "to": "regions"}}},
        "customers": {"kind": "entity", "rows": 3_000, "key": "customer_id", "columns": {
            "customer_id": {"gen": "sequence", "format": "C{:05d}"}}},
        "orders": {"kind": "fact", "parent": "customers", "key": "order_id", "fanout": {"dist": "poisson", "mean": 4},
                   "columns": {
                       "order_id": {"gen": "sequence"},
                       "store_id": {"gen": "ref", "to": "stores"},
                       "ordered_at": {"gen": "datetime_series", "hour": [1] * 8 + [3] * 12 + [1] * 4},
                       "qty": {"gen": "distribution", "dist": "poisson", "mean": 3, "min": 1},
                       "amount": {"gen": "distribution", "dist": "gamma", "shape": 2, "scale": 20, "decimals": 2}}},
    },
}
FEB = {"start": "2024-02-01", "end": "2024-02-29"}
#: How far a changed amount may be from the exact product: it is rounded to the column's 2 decimals.
CENT = 0.00501


def checked(data: dict) -> Schema:
    return dsl.loads(json.dumps(data), json_text=True)


def run(data: dict, out: Path, **kw) -> duckdb.DuckDBPyConnection:
    """The schema generated into Parquet under ``out``, its tables as DuckDB views."""
    schema_run.generate_schema(checked(data), out=str(out), format="parquet", workers=kw.pop("workers", 1), **kw)
    con = duckdb.connect()
    for p in out.glob("*.parquet"):
        con.execute(f"CREATE VIEW {p.stem} AS SELECT * FROM read_parquet('{p}')")
    return con


def with_effects(*effects: dict) -> dict:
    data = copy.deepcopy(BASE)
    data["effects"] = list(effects)
    return data


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "out"
    run(BASE, out)
    return out


def compare(data: dict, out: Path, clean: Path) -> duckdb.DuckDBPyConnection:
    """A run of ``data`` beside the clean run (view ``c`` of its orders, ``o`` of the new orders joined)."""
    con = run(data, out)
    con.execute(f"CREATE VIEW c AS SELECT * FROM read_parquet('{clean / 'orders.parquet'}')")
    con.execute("CREATE VIEW j AS SELECT o.order_id, o.amount AS new, c.amount AS old, o.ordered_at, o.store_id, "
                "o.qty FROM orders o JOIN c USING (order_id)")
    return con


def ledger(con: duckdb.DuckDBPyConnection, effect: str) -> list[tuple]:
    return con.execute(f"SELECT CAST(row_key AS BIGINT), CAST(original AS DOUBLE) FROM _effects "
                       f"WHERE effect = '{effect}' ORDER BY 1").fetchall()


def test_a_global_multiply_changes_the_rows_inside_its_window_only(tmp_path: Path, clean: Path) -> None:
    con = compare(with_effects({"name": "feb", "table": "orders", "time": "ordered_at", "window": FEB,
                                "column": "amount", "multiply": 0.8, "label": True}), tmp_path / "o", clean)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == con.execute("SELECT count(*) FROM c").fetchone()
    inside = "ordered_at >= '2024-02-01' AND ordered_at < '2024-03-01'"  # the end date is inside, whole
    wrong = con.execute(f"SELECT count(*) FROM j WHERE CASE WHEN {inside} THEN abs(new - old * 0.8) > {CENT} "
                        "ELSE new <> old END").fetchone()[0]
    assert wrong == 0
    expected = con.execute(f"SELECT order_id, old FROM j WHERE {inside} ORDER BY 1").fetchall()
    assert len(expected) > 500 and ledger(con, "feb") == expected
    assert con.execute("SELECT DISTINCT \"table\", \"column\" FROM _effects").fetchall() == [("orders", "amount")]


def test_a_keyed_add_changes_the_rows_where_it_holds(tmp_path: Path, clean: Path) -> None:
    where = "lookup(store_id, stores.region) == 'S' and qty >= 2"
    con = compare(with_effects({"name": "south", "table": "orders", "time": "ordered_at", "window": FEB,
                                "where": where, "column": "amount", "add": "qty * 1.5", "label": True}),
                  tmp_path / "o", clean)
    inside = ("ordered_at >= '2024-02-01' AND ordered_at < '2024-03-01' AND qty >= 2 "
              "AND store_id IN (SELECT store_id FROM stores WHERE region = 'S')")
    hit = con.execute(f"SELECT order_id FROM j WHERE {inside} ORDER BY 1").fetchall()
    assert len(hit) > 50 and [(k,) for k, _ in ledger(con, "south")] == hit
    assert con.execute(f"SELECT count(*) FROM j WHERE CASE WHEN {inside} THEN abs(new - (old + qty * 1.5)) "
                       f"> {CENT} ELSE new <> old END").fetchone()[0] == 0


def test_windows_from_a_table_match_their_rows_on_the_key_and_bring_their_value(tmp_path: Path, clean: Path) -> None:
    con = compare(with_effects({"name": "promos", "table": "orders", "time": "ordered_at",
                                "source": {"table": "promos", "start": "starts_at", "end": "ends_at",
                                           "on": {"store_id": "store_id"}, "value": "lift"},
                                "column": "amount", "multiply": "value", "label": True}), tmp_path / "o", clean)
    # each row takes its first window (the table's order): store 1 from 03-01 to 03-10 x1.5, then to 03-20 x3;
    # a date end covers its day, a timestamp end is exclusive
    factor = ("CASE WHEN store_id = 1 AND ordered_at >= '2024-03-01' AND ordered_at < '2024-03-11' THEN 1.5 "
              "WHEN store_id = 1 AND ordered_at >= '2024-03-11' AND ordered_at < '2024-03-21' THEN 3.0 "
              "WHEN store_id = 2 AND ordered_at >= '2024-06-01' AND ordered_at < '2024-06-06' THEN 2.0 "
              "WHEN store_id = 4 AND ordered_at >= '2024-09-01 12:00:00' AND ordered_at < '2024-09-02 06:00:00' "
              "THEN 0.5 END")
    rows = con.execute(f"SELECT order_id, {factor} AS f, old, new FROM j").fetchall()
    hit = sorted(k for k, f, _, _ in rows if f is not None)
    assert all(abs(new - old * float(f)) < CENT if f is not None else new == old for _, f, old, new in rows)
    assert len({f for _, f, _, _ in rows}) == 5  # every window (and none) is met
    assert [k for k, _ in ledger(con, "promos")] == hit


def test_overlapping_effects_apply_in_file_order_and_are_listed_once_each(tmp_path: Path, clean: Path) -> None:
    first = {"name": "first", "table": "orders", "time": "ordered_at", "window": FEB, "column": "amount",
             "multiply": 2, "label": True}
    second = {"name": "second", "table": "orders", "time": "ordered_at",
              "window": {"start": "2024-02-20", "end": "2024-03-10"}, "column": "amount", "add": 1, "label": True}
    con = compare(with_effects(first, second), tmp_path / "o", clean)
    both = con.execute("SELECT order_id, old, new FROM j WHERE ordered_at >= '2024-02-20' "
                       "AND ordered_at < '2024-03-01' ORDER BY 1").fetchall()
    assert len(both) > 50 and all(abs(new - (old * 2 + 1)) < CENT for _, old, new in both)
    twice = con.execute("SELECT CAST(row_key AS BIGINT), list(effect ORDER BY effect), list(original) FROM _effects "
                        "GROUP BY 1 HAVING count(*) > 1 ORDER BY 1").fetchall()
    assert [k for k, _, _ in twice] == [k for k, _, _ in both]
    # the second effect saw the first one's value: its original is the doubled amount
    assert all(e == ["first", "second"] and abs(float(o[1]) - old * 2) < CENT
               for (_, e, o), (_, old, _) in zip(twice, both))


def test_outliers_and_noise_are_labelled_beside_the_effects(tmp_path: Path, clean: Path) -> None:
    data = copy.deepcopy(BASE)
    amount = data["tables"]["orders"]["columns"]["amount"]
    amount["modify"] = [{"outliers": {"rate": 0.02, "factor": 10, "label": True}}]
    data["tables"]["customers"]["columns"]["note"] = {"gen": "choice", "values": ["alpha", "bravo", "charlie"],
                                                      "modify": [{"noise": {"type": "typo", "rate": 0.1,
                                                                            "label": True}}]}
    con = compare(data, tmp_path / "o", clean)
    changed = con.execute("SELECT order_id, old FROM j WHERE new <> old ORDER BY 1").fetchall()
    assert len(changed) > 100 and ledger(con, "outliers:orders.amount") == changed
    noisy = con.execute("SELECT row_key, original FROM _effects WHERE effect = 'noise:customers.note'").fetchall()
    assert 200 < len(noisy) < 400 and {o for _, o in noisy} <= {"alpha", "bravo", "charlie"}
    written = dict(con.execute("SELECT customer_id, note FROM customers").fetchall())
    assert all(written[k] != o for k, o in noisy)
    assert con.execute("SELECT count(*) FROM customers WHERE note NOT IN ('alpha', 'bravo', 'charlie')"
                       ).fetchone()[0] == len(noisy)


RATE = {"name": "bf", "table": "orders", "time": "ordered_at", "window": {"start": "2024-11-29", "end": "2024-12-02"},
        "rate": 2.5, "label": True}
INSIDE = "ordered_at >= '2024-11-29' AND ordered_at < '2024-12-03'"


def lift(con: duckdb.DuckDBPyConnection, where: str = "true") -> tuple[float, float, int]:
    """Rows per day inside the window over rows per day outside, its standard error, and the rows inside."""
    inside, outside = con.execute(f"SELECT count(*) FILTER ({INSIDE}), count(*) FILTER (NOT ({INSIDE})) "
                                  f"FROM orders WHERE {where}").fetchone()
    value = (inside / 4) / (outside / 362)
    return value, value * (1 / inside + 1 / outside) ** 0.5, inside


def test_a_rate_lifts_rows_per_day_inside_its_window_and_grows_the_table(tmp_path: Path, clean: Path) -> None:
    data = with_effects(RATE)
    data["tables"]["customers"]["rows"] = 9_000  # ~36,000 orders in one year, ~400 of them in 4 days
    con = run(data, tmp_path / "o")
    value, se, inside = lift(con)
    assert abs(value - 2.5) < 4 * se, (value, se)
    # outside the window rows per day are the plain run's: the fanout grew by the window's extra mass
    growth = 1 + 1.5 * 4 / 366
    orders, customers = con.execute("SELECT count(*), count(DISTINCT customer_id) FROM orders").fetchone()
    expected = 9_000 * 4 * growth
    assert abs(orders - expected) < 4 * expected ** 0.5, (orders, expected)
    outside = orders - inside
    assert abs(outside - 9_000 * 4 * 362 / 366) < 4 * (9_000 * 4) ** 0.5
    # keys stay dense, times keep their hour profile, and the ledger lists every row inside the window
    assert con.execute("SELECT min(order_id), max(order_id), count(DISTINCT order_id) FROM orders").fetchone() == (
        1, orders, orders)
    day = con.execute("SELECT count(*) FILTER (hour(ordered_at) BETWEEN 8 AND 19) / count(*) FROM orders "
                      f"WHERE {INSIDE}").fetchone()[0]
    assert abs(day - 36 / 48) < 0.05
    rows = con.execute(f"SELECT order_id FROM orders WHERE {INSIDE} ORDER BY 1").fetchall()
    assert [(k,) for k, _ in ledger(con, "bf")] == rows
    assert con.execute("SELECT count(*) FROM _effects WHERE \"column\" IS NOT NULL OR original IS NOT NULL"
                       ).fetchone()[0] == 0


def test_a_rate_on_rows_grows_the_count_by_the_windows_mass(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tables"]["events"] = {"kind": "fact", "rows": 30_000, "key": "event_id", "columns": {
        "event_id": {"gen": "uuid"},
        "happened": {"gen": "datetime", "granularity": "minute"}}}
    data["effects"] = [{"name": "spike", "table": "events", "time": "happened", "window": {"start": "2024-06-01",
                                                                                     "end": "2024-06-07"}, "rate": 4}]
    con = run(data, tmp_path / "o")
    # a datetime runs from the calendar's first midnight to its last (365 days and a minute's step)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == round(30_000 * (1 + 3 * 7 * 1440 /
                                                                                     (365 * 1440 + 1)))
    inside, outside = con.execute(
        "SELECT count(*) FILTER (happened >= '2024-06-01' AND happened < '2024-06-08'), "
        "count(*) FILTER (happened < '2024-06-01' OR happened >= '2024-06-08') FROM events").fetchone()
    value = (inside / 7) / (outside / 358)
    assert abs(value - 4) < 4 * value * (1 / inside + 1 / outside) ** 0.5, value
    assert not (tmp_path / "o" / "_effects.parquet").exists()  # nothing labelled, no ledger


def test_a_keyed_rate_lifts_its_rows_only(tmp_path: Path) -> None:
    keyed = {**RATE, "where": "lookup(store_id, stores.region) == 'S'", "rate": 3.0}
    data = with_effects(keyed)
    data["tables"]["customers"]["rows"] = 9_000
    con = run(data, tmp_path / "o")
    south = "store_id IN (SELECT store_id FROM stores WHERE region = 'S')"
    value, se, _ = lift(con, south)
    assert abs(value - 3.0) < 4 * se, (value, se)
    other, se, _ = lift(con, f"NOT ({south})")
    assert abs(other - 1.0) < 4 * se, (other, se)
    assert con.execute(f"SELECT count(*) FROM orders WHERE {INSIDE} AND {south}").fetchone()[0] == len(
        ledger(con, "bf"))


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.name != "manifest.json"}


def test_effects_and_the_ledger_are_the_same_at_any_worker_count_and_batch_size(tmp_path: Path) -> None:
    data = with_effects(RATE, {"name": "promos", "table": "orders", "time": "ordered_at",
                               "source": {"table": "promos", "start": "starts_at", "end": "ends_at",
                                          "on": {"store_id": "store_id"}, "value": "lift"},
                               "column": "amount", "multiply": "value", "label": True},
                        {"name": "south", "table": "orders", "time": "ordered_at", "window": FEB,
                         "where": "lookup(store_id, stores.region) == 'S'", "column": "amount", "add": 5,
                         "label": True},
                        {"name": "first", "table": "orders", "time": "ordered_at", "window": FEB, "rate": 3.0,
                         "where": "lookup(customer_id, customers.customer_id) < 'C06000'", "label": True})
    data["tables"]["customers"]["rows"] = 12_000  # two blocks
    data["tables"]["orders"]["fanout"] = {"dist": "poisson", "mean": 1.5}
    data["tables"]["orders"]["columns"]["amount"]["modify"] = [{"outliers": {"rate": 0.01, "label": True}}]
    found = []
    for i, (workers, batch) in enumerate([(1, 10_000), (2, 10_000), (2, 30_000)]):
        out = tmp_path / f"run{i}"
        schema_run.generate_schema(checked(data), out=str(out), format="csv", workers=workers, batch_size=batch)
        found.append(digests(out))
    assert "_effects.csv" in found[0] and found[0] == found[1] == found[2]
    manifest = json.loads((tmp_path / "run0" / "manifest.json").read_text())
    assert manifest["tables"]["_effects"]["rows"] > 1_000
    con = duckdb.connect()
    first = con.execute(f"SELECT count(*) FROM read_csv('{tmp_path / 'run0' / '_effects.csv'}') "
                        "WHERE effect = 'first'").fetchone()[0]
    assert first == con.execute(f"SELECT count(*) FROM read_csv('{tmp_path / 'run0' / 'orders.csv'}') WHERE "
                                "customer_id < 'C06000' AND ordered_at >= '2024-02-01' AND ordered_at < '2024-03-01'"
                                ).fetchone()[0] > 500  # the first block's customers, keyed by the parent


def test_the_ledger_loads_into_a_database_with_its_tables(tmp_path: Path) -> None:
    data = with_effects({"name": "feb", "table": "orders", "time": "ordered_at", "window": FEB,
                         "column": "amount", "multiply": 0.5, "label": True})
    data["tables"]["customers"]["rows"] = 500
    path = tmp_path / "fx.json"
    path.write_text(json.dumps(data))
    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    db_schema = "fx_ledger"
    conn = connect(parse(url), db_schema)
    conn.execute(f"DROP SCHEMA IF EXISTS {db_schema} CASCADE")
    conn.commit()
    try:
        api.generate_schema(path, build_config({}, db=url, db_schema=db_schema, workers=1))
        files = run(data, tmp_path / "o")
        rows = conn.execute(f"SELECT effect, row_key, {conn.dialect.q('column')}, original "
                            f"FROM {conn.table('_effects')} ORDER BY CAST(row_key AS BIGINT)")
        want = files.execute("SELECT effect, row_key, \"column\", original FROM _effects "
                             "ORDER BY CAST(row_key AS BIGINT)").fetchall()
        assert len(want) > 20 and [tuple(r) for r in rows] == want
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {db_schema} CASCADE")
        conn.commit()
        conn.close()


ORDERS = "tables.orders.columns"
BAD = {
    "time_not_a_time": ({"time": "amount"}, "effects[0].time: orders.amount is float: the time column must be a date "
                                            "or timestamp"),
    "unknown_column": ({"column": "price"}, "effects[0].column: table orders has no column 'price'"),
    "column_is_a_key": ({"column": "store_id"}, "effects[0].column: store_id is a key or a foreign key: effects never "
                                                "change those"),
    "column_not_a_number": ({"column": "ordered_at"}, "effects[0].column: orders.ordered_at is timestamp: a column "
                                                      "effect multiplies or adds to numbers"),
    "vocab_table": ({"table": "regions", "time": "code"}, "effects[0].table: table regions is a vocab table: effects "
                                                          "change entity and fact tables"),
    "where_not_a_condition": ({"where": "qty + 1"}, "effects[0].where: must be a condition (true or false)"),
    "window_backwards": ({"window": {"start": "2024-03-01", "end": "2024-02-01"}},
                         "effects[0].window.end: must not be before start"),
    "source_not_small": ({"window": None, "source": {"table": "orders", "start": "a", "end": "b"}},
                         "effects[0].source.table: table orders is not a vocab table or a rows: table of at most "
                         "100000 rows: windows come from a small table (one row per window)"),
    "source_unknown_column": ({"window": None, "source": {"table": "promos", "start": "begins", "end": "ends_at"}},
                              "effects[0].source.start: table promos has no column 'begins'"),
    "source_bound_not_iso": ({"window": None, "source": {"table": "promos", "start": "store_id", "end": "ends_at"}},
                             "effects[0].source.start: promos.store_id is int: a window bound is a date or timestamp"),
    "source_on_unknown": ({"window": None, "source": {"table": "promos", "start": "starts_at", "end": "ends_at",
                                                      "on": {"shop": "store_id"}}},
                          "effects[0].source.on.shop: table orders has no column 'shop'"),
    "value_without_source_value": ({"window": None, "multiply": "value",
                                    "source": {"table": "promos", "start": "starts_at", "end": "ends_at"}},
                                   "effects[0].multiply: takes the source's value: name it with source.value"),
    "rate_on_a_number_column_time": ({"column": None, "multiply": None, "rate": 2, "time": "when"},
                                     "effects[0].time: a rate draws the times: orders.when must be a datetime_series "
                                     "or datetime column"),
    "rate_where_after_time": ({"column": None, "multiply": None, "rate": 2, "where": "qty > 2"},
                              "effects[0].where: 'qty' comes after ordered_at: a rate decides which rows it covers "
                              "from the columns made before the times"),
}


@pytest.mark.parametrize("change,message", BAD.values(), ids=list(BAD))
def test_bad_effects_are_one_line_errors_before_any_row(change: dict, message: str) -> None:
    effect = {"name": "e", "table": "orders", "time": "ordered_at", "window": FEB, "column": "amount",
              "multiply": 2, **change}
    data = with_effects({k: v for k, v in effect.items() if v is not None})
    data["tables"]["orders"]["columns"]["when"] = {"gen": "expression", "expr": "ordered_at"}
    with pytest.raises(SchemaError) as caught:
        checked(data)
    assert str(caught.value) == f"<schema>:1: {message}" and "\n" not in message


def test_a_table_cannot_take_the_ledgers_name() -> None:
    data = copy.deepcopy(BASE)
    data["tables"]["_effects"] = {"kind": "entity", "rows": 1, "columns": {"n": {"gen": "sequence"}}}
    with pytest.raises(SchemaError, match=r"^<schema>:1: tables\._effects: _effects is the name of the effects "
                                          "ledger a run writes$"):
        checked(data)


def test_a_rate_keyed_by_the_parent_grows_its_parents_children_only(tmp_path: Path) -> None:
    """A rate whose ``where`` reads only the parent link (a lookup through it) multiplies the rows per day
    inside its window for the covered parents' children and adds them: their rows outside stay the plain
    run's, other parents get exactly the plain run's children, keys stay dense and the ledger lists the
    covered rows inside the window, labelled with the effect."""
    plain = copy.deepcopy(BASE)
    plain["tables"]["customers"]["rows"] = 9_000
    plain["tables"]["customers"]["columns"]["segment"] = {"gen": "choice", "values": ["vip", "regular"],
                                                          "weights": [0.3, 0.7]}
    data = copy.deepcopy(plain)
    data["effects"] = [{**RATE, "window": {"start": "2024-11-01", "end": "2024-11-30"}, "rate": 4.0,
                        "where": "lookup(customer_id, customers.segment) == 'vip'"}]
    con = run(data, tmp_path / "o")
    run(plain, tmp_path / "c")
    con.execute(f"CREATE VIEW c AS SELECT * FROM read_parquet('{tmp_path / 'c' / 'orders.parquet'}')")
    vip = "customer_id IN (SELECT customer_id FROM customers WHERE segment = 'vip')"
    per_parent = "SELECT customer_id, count(*) FROM {} WHERE NOT ({}) GROUP BY 1 ORDER BY 1"
    # parents the effect does not cover: the very same number of children as without it
    assert con.execute(per_parent.format("orders", vip)).fetchall() == con.execute(per_parent.format("c", vip)
                                                                                    ).fetchall()
    inside = "ordered_at >= '2024-11-01' AND ordered_at < '2024-12-01'"
    count = "SELECT count(*) FILTER ({i}), count(*) FILTER (NOT ({i})) FROM {t} WHERE {w}"
    vip_in, vip_out = con.execute(count.format(i=inside, t="orders", w=vip)).fetchone()
    was_in, was_out = con.execute(count.format(i=inside, t="c", w=vip)).fetchone()
    growth = 1 + 3 * 30 / 366  # the window's 30 days of a flat year, weighted x4
    assert abs((vip_in + vip_out) - (was_in + was_out) * growth) < 4 * (was_in + was_out) ** 0.5
    assert abs(vip_out - was_out) < 4 * (2 * was_out) ** 0.5, (vip_out, was_out)  # rows outside unchanged
    assert abs(vip_in - 4 * was_in) < 4 * (16 * was_in + vip_in) ** 0.5, (vip_in, was_in)  # inside x4
    value = (vip_in / 30) / (vip_out / 336)
    assert abs(value - 4) < 4 * value * (1 / vip_in + 1 / vip_out) ** 0.5, value
    other_in, other_out = con.execute(count.format(i=inside, t="orders", w=f"NOT ({vip})")).fetchone()
    other = (other_in / 30) / (other_out / 336)
    assert abs(other - 1) < 4 * other * (1 / other_in + 1 / other_out) ** 0.5, other
    orders = con.execute("SELECT count(*), min(order_id), max(order_id), count(DISTINCT order_id) FROM orders"
                         ).fetchone()
    assert orders == (orders[0], 1, orders[0], orders[0])
    rows = con.execute(f"SELECT order_id FROM orders WHERE {inside} AND {vip} ORDER BY 1").fetchall()
    assert [(k,) for k, _ in ledger(con, "bf")] == rows and len(rows) == vip_in
    assert con.execute("SELECT DISTINCT effect, \"table\" FROM _effects").fetchall() == [("bf", "orders")]
