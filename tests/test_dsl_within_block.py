"""gen: aggregate and gen: pick, which read another table's rows of the same block: summaries equal to the GROUP BY
that DuckDB computes over the output, picks that always match their row's keys (and lookups through them equal
to the join), identical at any worker count, and refused with a one-line path when misnamed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from pii_gen import dsl, schema_run
from pii_gen.errors import SchemaError

PEOPLE = 23_456  # more than two blocks, the last one partial

DATA = {
    "version": 1, "seed": 11, "population": {"size": PEOPLE},
    "calendar": {"start": "2024-01-01", "end": "2024-03-31"},
    "tables": {
        "people": {"kind": "entity", "from": "population", "key": "person_id", "columns": {
            "person_id": {"gen": "person", "field": "person_id"},
            "household_id": {"gen": "person", "field": "household_id"},
        }},
        "homes": {"kind": "entity", "from": "households", "key": "household_id", "columns": {
            "household_id": {"gen": "person", "field": "household_id"},
        }},
        "devices": {"kind": "fact", "parent": "homes", "key": "device_id",
                    "fanout": {"dist": "poisson", "mean": 2.5}, "columns": {
            "device_id": {"gen": "sequence", "format": "D{:07d}"},
            "kind": {"gen": "choice", "values": ["tv", "phone", "tablet"]},
            "owner": {"gen": "pick", "of": "people", "match": [{"key": "household_id"}], "column": "person_id",
                      "null_rate": 0.3},
        }},
        "events": {"kind": "fact", "parent": "people", "key": "event_id",
                   "fanout": {"dist": "negbin", "mean": 3, "dispersion": 0.5, "max": 60}, "columns": {
            "event_id": {"gen": "sequence"},
            "household_id": {"gen": "lookup", "via": "parent", "column": "household_id"},
            "device_id": {"gen": "pick", "of": "devices", "match": [
                {"key": "household_id", "where": "coalesce(owner, 0) == 0"}, {"key": "person_id", "by": "owner"}]},
            "device_kind": {"gen": "lookup", "via": "device_id", "column": "kind"},
            "kind": {"gen": "choice", "values": ["view", "click", "share"], "weights": [6, 3, 1]},
            "ts": {"gen": "datetime_series", "hour": [1] * 24},
            "minutes": {"gen": "distribution", "dist": "exponential", "mean": 20, "decimals": 1},
        }},
        "per_person": {"kind": "fact", "parent": "people", "fanout": {"dist": "fixed", "n": 1}, "columns": {
            "events": {"gen": "aggregate", "of": "events", "key": "person_id"},
            "views": {"gen": "aggregate", "of": "events", "key": "person_id", "where": "kind == 'view'"},
            "view_share": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "share",
                           "where": "kind == 'view'", "default": 0.0},
            "minutes": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "sum", "column": "minutes"},
            "mean_minutes": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "mean",
                             "column": "minutes"},
            "first_at": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "min", "column": "ts"},
            "last_at": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "max", "column": "ts"},
            "top_kind": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "mode", "column": "kind"},
            "kinds": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "distinct", "column": "kind"},
        }},
        # two rows per person: a key the summarising table holds twice (each row gets the summary)
        "per_person_twice": {"kind": "fact", "parent": "people", "fanout": {"dist": "fixed", "n": 2}, "columns": {
            "minutes": {"gen": "aggregate", "of": "events", "key": "person_id", "fn": "sum", "column": "minutes"},
        }},
        "per_household": {"kind": "entity", "from": "households", "key": "household_id", "columns": {
            "household_id": {"gen": "person", "field": "household_id"},
            "events": {"gen": "aggregate", "of": "events", "key": "household_id"},
        }},
    },
}


def loaded(data: dict) -> dsl.model.Schema:
    return dsl.loads(json.dumps(data), json_text=True)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("agg") / "out"
    schema_run.generate_schema(loaded(DATA), out=str(folder), format="parquet", workers=1)
    return folder


def sql(folder: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    for p in folder.glob("*.parquet"):
        con.execute(f"CREATE VIEW {p.stem} AS SELECT * FROM read_parquet('{p}')")
    return con.execute(query).fetchall()


def test_person_summaries_equal_the_group_by(out: Path) -> None:
    truth = """
        WITH g AS (SELECT person_id, count(*) n, count(*) FILTER (WHERE kind = 'view') v, sum(minutes) m,
                          min(ts) lo, max(ts) hi, count(DISTINCT kind) k FROM events GROUP BY person_id)
        SELECT count(*) FROM per_person a LEFT JOIN g USING (person_id)
        WHERE a.events <> coalesce(g.n, 0) OR a.views <> coalesce(g.v, 0) OR a.kinds <> coalesce(g.k, 0)
           OR abs(coalesce(a.minutes, 0) - coalesce(g.m, 0)) > 1e-6
           OR a.first_at IS DISTINCT FROM g.lo OR a.last_at IS DISTINCT FROM g.hi
           OR abs(a.view_share - coalesce(g.v / g.n, 0)) > 1e-12
           OR abs(a.mean_minutes - g.m / g.n) > 1e-6 OR (g.n IS NULL) <> (a.mean_minutes IS NULL)"""
    assert sql(out, truth) == [(0,)]
    assert sql(out, "SELECT count(*) > 1000 FROM per_person WHERE events = 0 AND mean_minutes IS NULL") == [(True,)]
    assert sql(out, "SELECT count(*), sum(events) FROM per_person") == \
        [(PEOPLE, sql(out, "SELECT count(*) FROM events")[0][0])]


def test_a_key_held_by_several_rows_gives_each_of_them_the_summary(out: Path) -> None:
    wrong = """SELECT count(*) FROM per_person_twice t JOIN per_person p USING (person_id)
               WHERE t.minutes IS DISTINCT FROM p.minutes"""
    assert sql(out, wrong) == [(0,)]
    assert sql(out, "SELECT count(*) FROM per_person_twice") == [(2 * PEOPLE,)]


def test_mode_is_the_most_frequent_value_ties_to_the_smallest(out: Path) -> None:
    wrong = """
        WITH c AS (SELECT person_id, kind, count(*) n FROM events GROUP BY ALL),
             r AS (SELECT person_id, kind, row_number() OVER (PARTITION BY person_id ORDER BY n DESC, kind) i FROM c)
        SELECT count(*) FROM per_person a LEFT JOIN r ON r.person_id = a.person_id AND r.i = 1
        WHERE a.top_kind IS DISTINCT FROM r.kind"""
    assert sql(out, wrong) == [(0,)]


def test_household_summaries_cover_every_member(out: Path) -> None:
    wrong = """SELECT count(*) FROM per_household h LEFT JOIN
                 (SELECT household_id, count(*) n FROM events GROUP BY 1) g USING (household_id)
               WHERE h.events <> coalesce(g.n, 0)"""
    assert sql(out, wrong) == [(0,)]
    assert sql(out, "SELECT sum(events) FROM per_household") == sql(out, "SELECT count(*) FROM events")


def test_picks_match_their_keys_and_lookups_read_through_them(out: Path) -> None:
    assert sql(out, "SELECT count(*) FROM devices d JOIN people p ON d.owner = p.person_id "
                    "WHERE p.household_id <> d.household_id") == [(0,)]
    assert sql(out, "SELECT count(*) FROM devices WHERE owner IS NULL")[0][0] > 1000
    # Each event's device is a shared device of the person's home or the person's own, and its kind the join's.
    wrong = """SELECT count(*) FROM events e JOIN devices d USING (device_id)
               WHERE d.household_id <> e.household_id OR (d.owner IS NOT NULL AND d.owner <> e.person_id)
                  OR d.kind <> e.device_kind"""
    assert sql(out, wrong) == [(0,)]
    # Null exactly where the person has no candidate device.
    candidates = """WITH c AS (SELECT p.person_id, count(d.device_id) n FROM people p LEFT JOIN devices d
                      ON d.household_id = p.household_id AND (d.owner IS NULL OR d.owner = p.person_id) GROUP BY 1)
                    SELECT count(*) FILTER (WHERE (e.device_id IS NULL) <> (c.n = 0)), count(*) FILTER (WHERE c.n > 1)
                    FROM events e JOIN c USING (person_id)"""
    bad, several = sql(out, candidates)[0]
    assert bad == 0 and several > 10_000
    # Uniform among the candidates: a person's own devices take their share of the picks.
    own = sql(out, """SELECT avg(CASE WHEN d.owner IS NULL THEN 0 ELSE 1 END) FROM events e JOIN devices d
                      USING (device_id)""")[0][0]
    assert 0.3 < own < 0.7


def test_same_bytes_at_one_and_two_workers(tmp_path: Path, out: Path) -> None:
    two = tmp_path / "two"
    schema_run.generate_schema(loaded(DATA), out=str(two), format="parquet", workers=2)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    for name in ("devices.parquet", "events.parquet", "per_person.parquet", "per_household.parquet"):
        assert digest(out / name) == digest(two / name)


@pytest.mark.parametrize("change, message", [
    ({"of": "nowhere"}, "tables.per_person.columns.events.of: no table named 'nowhere'"),
    ({"key": "nope"}, "tables.per_person.columns.events.key: 'nope' is not an earlier column of per_person"),
    ({"fn": "sum"}, "tables.per_person.columns.events.column: fn sum needs column: (a column of events)"),
    ({"fn": "max", "column": "size"}, "tables.per_person.columns.events.column: table events has no column 'size'"),
    ({"where": "colour == 1"}, "tables.per_person.columns.events.where:"),
    ({"gen": "pick", "of": "devices", "match": [{"key": "person_id", "by": "holder"}]},
     "tables.per_person.columns.events.match[0].by: table devices has no column 'holder'"),
    ({"gen": "pick", "of": "devices", "match": []}, "tables.per_person.columns.events.match:"),
])
def test_misnamed_parameters_are_one_line_errors(change: dict, message: str) -> None:
    data = json.loads(json.dumps(DATA))
    columns = data["tables"]["per_person"]["columns"]
    columns["events"] = change if "gen" in change else {**columns["events"], **change}
    with pytest.raises(SchemaError) as err:
        loaded(data)
    assert message in str(err.value) and "\n" not in str(err.value)
