"""Schema tables grounded in the population, and the engine features that read across rows: ``from: households``
tables (each row a household of the very population ``pii_gen generate`` writes), the ``noise`` modifier (the
population's noise types on a schema column, counted in the manifest) and lookups through a ``to: self`` ref.
Exact invariants at fixed seeds, checked in DuckDB against the population's own files or a clean run."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from pii_gen import dsl, schema_run
from pii_gen.api import generate
from pii_gen.config import build_config
from pii_gen.dsl.fields import PERSON_KINDS
from pii_gen.dsl.model import Schema
from pii_gen.errors import SchemaError
from pii_gen.packs.person.contract import TABLES
from pii_gen.packs.schema.pack import SchemaPack

HOMES = {
    "version": 1, "name": "homes", "seed": 11, "population": {"size": 25_000},
    "tables": {
        "homes": {"kind": "entity", "from": "households", "key": "household_id", "columns": {
            "household_id": {"gen": "person", "field": "household_id"},
            "household_type": {"gen": "person", "field": "household_type"},
            "size": {"gen": "person", "field": "household_size"},
            "is_group_quarters": {"gen": "person", "field": "is_group_quarters"},
            "address_id": {"gen": "person", "field": "address_id"},
            "household_income": {"gen": "person", "field": "household_income"},
            "city": {"gen": "person", "field": "city"},
            "zip_code": {"gen": "person", "field": "zip_code"},
            "head": {"gen": "person", "field": "full_name"},
        }},
        "people": {"kind": "entity", "from": "population", "key": "person_id", "columns": {
            "person_id": {"gen": "person", "field": "person_id"},
            "household_id": {"gen": "person", "field": "household_id"},
            "household_size": {"gen": "person", "field": "household_size"},
            "city": {"gen": "person", "field": "city"},
        }},
        "bills": {"kind": "fact", "parent": "homes", "key": "bill_id",
                  "fanout": {"dist": "poisson", "mean": "parent.size"}, "columns": {
            "bill_id": {"gen": "sequence"},
            "city": {"gen": "lookup", "via": "parent", "column": "city"},
            "amount": {"gen": "distribution", "dist": "gamma", "shape": 2.0, "scale": 40.0, "decimals": 2},
        }},
        "visits": {"kind": "fact", "rows": 3_000, "key": "visit_id", "columns": {
            "visit_id": {"gen": "sequence"},
            "home": {"gen": "ref", "to": "homes"},
            "home_income": {"gen": "person", "field": "household_income", "of": "home"},
            "head_last": {"gen": "person", "field": "last_name", "of": "home"},
        }},
    },
}

STAFF = {
    "version": 1, "seed": 4, "tables": {
        "staff": {"kind": "entity", "rows": 25_000, "key": "staff_id", "columns": {
            "staff_id": {"gen": "sequence", "start": 1000},
            "name": {"gen": "pattern", "template": "??????"},
            "level": {"gen": "distribution", "dist": "uniform", "min": 1, "max": 9, "integer": True},
            "manager": {"gen": "ref", "to": "self", "root_share": 0.1},
            "manager_name": {"gen": "lookup", "via": "manager", "column": "name"},
            "manager_level": {"gen": "expression", "expr": "lookup(manager, staff.level)"},
            "grand_name": {"gen": "lookup", "via": ["manager", "manager"], "column": "name"},
            "grand_manager_name": {"gen": "lookup", "via": ["manager", "manager"], "column": "manager_name"},
        }},
    },
}

NOISY = {
    "version": 1, "seed": 21, "population": {"size": 12_000},
    "tables": {
        "people": {"kind": "entity", "from": "population", "key": "no", "columns": {
            "no": {"gen": "sequence"},
            "last": {"gen": "person", "field": "last_name"},
            "first": {"gen": "person", "field": "first_name",
                      "modify": [{"noise": {"type": "name_variant", "rate": 0.1}}]},
            "email": {"gen": "person", "field": "email", "modify": [{"noise": {"type": "typo", "rate": 0.05}}]},
            "born": {"gen": "person", "field": "date_of_birth",
                     "modify": [{"noise": {"type": "format", "rate": 0.2}}]},
            "ssn": {"gen": "person", "field": "ssn", "modify": [{"noise": {"type": "wrong_value", "rate": 0.03}}]},
            "city": {"gen": "person", "field": "city", "modify": [{"noise": {"type": "missing", "rate": 0.04}}]},
            "tier": {"gen": "choice", "values": ["bronze", "silver", "gold"],
                     "modify": [{"noise": {"type": "typo", "rate": 0.1}}]},
            "spend": {"gen": "distribution", "dist": "lognormal", "mu": 4, "sigma": 1, "decimals": 2,
                      "modify": [{"noise": {"type": "missing", "rate": "0.05 if tier == 'gold' else 0.01"}}]},
        }},
        "orders": {"kind": "fact", "parent": "people", "key": "order_id", "fanout": {"dist": "poisson", "mean": 1.5},
                   "columns": {
            "order_id": {"gen": "sequence"},
            "note": {"gen": "pattern", "template": "Order ??-####",
                     "modify": [{"noise": {"type": "format", "rate": 0.3}}]},
        }},
    },
}


def checked(data: dict) -> Schema:
    return dsl.loads(json.dumps(data), json_text=True)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.name != "manifest.json"}


def views(con: duckdb.DuckDBPyConnection, folder: Path, prefix: str = "") -> None:
    for p in folder.glob("*.parquet"):
        con.execute(f"CREATE VIEW {prefix}{p.stem} AS SELECT * FROM read_parquet('{p}')")


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """The schema run and `pii_gen generate` of the same seed and size, side by side (``pop_*`` views)."""
    root = tmp_path_factory.mktemp("homes")
    schema_run.generate_schema(checked(HOMES), out=str(root / "schema"), format="parquet", workers=1)
    generate(build_config({"out": str(root / "pop"), "format": "parquet"}, seed=11, count=25_000))
    con = duckdb.connect()
    views(con, root / "schema")
    views(con, root / "pop", "pop_")
    return con


def test_the_households_table_is_the_generated_households_exactly(homes: duckdb.DuckDBPyConnection) -> None:
    rows = homes.execute("SELECT count(*) FROM pop_households").fetchone()[0]
    assert rows > 8_000  # three blocks of people, the last short
    assert homes.execute("SELECT count(*) FROM homes").fetchone()[0] == rows
    columns = ("household_id", "household_type", "size", "is_group_quarters", "address_id", "household_income")
    same = " AND ".join(f"h.{c} = p.{c}" for c in columns)
    assert homes.execute(f"SELECT count(*) FROM homes h JOIN pop_households p ON {same}").fetchone()[0] == rows
    # the household's address is its householder's home, and its head the householder
    assert homes.execute(
        "SELECT count(*) FROM homes h JOIN pop_addresses a ON a.address_id = h.address_id "
        "JOIN pop_persons p ON p.person_id = h.household_id "
        "WHERE a.city = h.city AND a.zip_code = h.zip_code AND h.head = p.first_name || ' ' || p.last_name"
    ).fetchone()[0] == rows


def test_people_bills_and_refs_agree_with_their_household(homes: duckdb.DuckDBPyConnection) -> None:
    people = homes.execute("SELECT count(*) FROM people").fetchone()[0]
    assert people == 25_000
    assert homes.execute(
        "SELECT count(*) FROM people x JOIN pop_persons p USING (person_id) JOIN homes h "
        "ON h.household_id = x.household_id WHERE p.household_id = x.household_id "
        "AND h.size = x.household_size").fetchone()[0] == people
    # the members of each household are as many as its size, all in it
    assert homes.execute("SELECT count(*) FROM homes h LEFT JOIN (SELECT household_id, count(*) AS n FROM people "
                         "GROUP BY household_id) m USING (household_id) WHERE m.n IS DISTINCT FROM h.size"
                         ).fetchone()[0] == 0
    # bills hang from households (fanout by size), with the parent's city; visits read the household picked
    assert homes.execute("SELECT count(*) FROM bills b LEFT JOIN homes h USING (household_id) "
                         "WHERE h.household_id IS NULL OR b.city <> h.city").fetchone()[0] == 0
    bills, homes_n, members = homes.execute(
        "SELECT (SELECT count(*) FROM bills), (SELECT count(*) FROM homes), (SELECT sum(size) FROM homes)").fetchone()
    assert abs(bills - members) < 4 * members ** 0.5 and bills > homes_n
    assert homes.execute(
        "SELECT count(*) FROM visits v JOIN homes h ON v.home = h.household_id "
        "JOIN pop_persons p ON p.person_id = h.household_id "
        "WHERE v.home_income = h.household_income AND v.head_last = p.last_name").fetchone()[0] == 3_000


def test_a_households_table_takes_its_first_rows_and_needs_a_population_size() -> None:
    data = {"version": 1, "seed": 11, "population": {"size": 25_000}, "tables": {
        "homes": {"kind": "entity", "from": "households", "rows": 5_000, "key": "household_id", "columns": {
            "household_id": {"gen": "person", "field": "household_id"}}}}}
    plan = SchemaPack().plan(checked(data))
    per_block = plan.settings["block_rows"]["homes"]
    assert per_block == [4_225, 775, 0] and plan.settings["people"] == 25_000  # block 0 holds 4,225 households
    data["tables"]["homes"]["rows"] = 25_000
    with pytest.raises(SchemaError, match=r"tables.homes.rows: 25000 households wanted, the population's 25000 "
                                          r"people live in \d+"):
        SchemaPack().plan(checked(data))
    del data["population"]
    with pytest.raises(SchemaError, match="tables.homes.from: a from: households table needs population.size"):
        SchemaPack().plan(checked(data))


def test_a_lookup_through_a_self_ref_reads_the_referenced_row(tmp_path: Path) -> None:
    runs = []
    for i, (workers, batch) in enumerate([(1, 10_000), (2, 10_000), (2, 30_000)]):
        out = tmp_path / f"staff{i}"
        schema_run.generate_schema(checked(STAFF), out=str(out), format="parquet", workers=workers, batch_size=batch)
        runs.append(digests(out))
    assert runs[0] == runs[1] == runs[2]
    con = duckdb.connect()
    views(con, tmp_path / "staff0")
    assert con.execute("SELECT count(*) FROM staff s JOIN staff m ON s.manager = m.staff_id "
                       "WHERE s.manager_name = m.name AND s.manager_level = m.level").fetchone()[0] == \
        con.execute("SELECT count(*) FROM staff WHERE manager IS NOT NULL").fetchone()[0]
    assert con.execute("SELECT count(*) FROM staff WHERE manager IS NULL AND (manager_name IS NOT NULL OR "
                       "manager_level IS NOT NULL OR grand_name IS NOT NULL)").fetchone()[0] == 0
    grand = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE s.grand_name IS NOT DISTINCT FROM g.name "
        "AND s.grand_manager_name IS NOT DISTINCT FROM g.manager_name) "
        "FROM staff s JOIN staff m ON s.manager = m.staff_id LEFT JOIN staff g ON m.manager = g.staff_id").fetchone()
    assert grand[0] > 20_000 and grand[0] == grand[1]


def test_a_lookup_through_a_self_ref_reads_earlier_columns_only() -> None:
    data = copy.deepcopy(STAFF)
    data["tables"]["staff"]["columns"]["manager_title"] = {"gen": "lookup", "via": "manager", "column": "title"}
    data["tables"]["staff"]["columns"]["title"] = {"gen": "choice", "values": ["a", "b"]}
    with pytest.raises(SchemaError, match="tables.staff.columns.manager_title.column: 'title' comes later in the "
                                          "table: a lookup through a to: self ref reads earlier columns only"):
        checked(data)
    data = copy.deepcopy(STAFF)
    data["tables"]["staff"]["columns"]["later"] = {"gen": "expression", "expr": "lookup(manager, staff.title)"}
    data["tables"]["staff"]["columns"]["title"] = {"gen": "choice", "values": ["a", "b"]}
    with pytest.raises(SchemaError, match="tables.staff.columns.later.expr: 'title' comes later in the table"):
        checked(data)


def clean(data: dict) -> dict:
    out = copy.deepcopy(data)
    for table in out["tables"].values():
        for col in table["columns"].values():
            col.pop("modify", None)
    return out


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection, dict, dict]:
    root = tmp_path_factory.mktemp("noisy")
    result = schema_run.generate_schema(checked(NOISY), out=str(root / "noisy"), format="parquet", workers=1)
    schema_run.generate_schema(checked(clean(NOISY)), out=str(root / "clean"), format="parquet", workers=1)
    con = duckdb.connect()
    views(con, root / "noisy")
    views(con, root / "clean", "clean_")
    manifest = json.loads((root / "noisy" / "manifest.json").read_text())
    return con, manifest, {(s["table"], s["column"]): s for s in result.noise}


def test_noise_changes_its_share_of_rows_and_the_manifest_counts_them(noisy) -> None:
    con, manifest, result = noisy
    steps = {(s["table"], s["column"]): s for s in manifest["noise"]}
    assert steps == result and set(steps) == {("people", c) for c in
                                              ("first", "email", "born", "ssn", "city", "tier", "spend")} | {
        ("orders", "note")}
    shares = {"first": 0.1, "email": 0.05, "born": 0.2, "ssn": 0.03, "city": 0.04, "tier": 0.1}
    for (table, column), step in steps.items():
        differs = con.execute(
            f"SELECT count(*) FROM {table} n JOIN clean_{table} c USING ({'no' if table == 'people' else 'order_id'}) "
            f"WHERE n.{column}::VARCHAR IS DISTINCT FROM c.{column}::VARCHAR").fetchone()[0]
        assert differs == step["rows"] > 0, (column, differs, step)
        if column in shares:
            expected = shares[column] * 12_000
            assert abs(differs - expected) < 5 * expected ** 0.5 + 0.02 * expected, (column, differs)
    # unchanged columns are the clean run's, byte for byte; the drifted date column is text, its clean rows ISO
    assert con.execute("SELECT count(*) FROM people n JOIN clean_people c USING (no) "
                       "WHERE n.last <> c.last").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM people n JOIN clean_people c USING (no) "
                       "WHERE n.born <> strftime(c.born, '%Y-%m-%d') AND n.born NOT LIKE '%/%' "
                       "AND n.born NOT SIMILAR TO '[0-9]{8}' AND n.born NOT LIKE '% %'").fetchone()[0] == 0
    # missing on a string column leaves empties, placeholders or nulls; on a number only nulls
    assert con.execute("SELECT count(*) FROM people WHERE spend IS NULL").fetchone()[0] == steps[("people", "spend")][
        "rows"]
    # an ssn's wrong value is still SSN-shaped; a typo stays in the e-mail's local part
    assert con.execute("SELECT count(*) FROM people WHERE NOT regexp_full_match(ssn, '\\d{3}-\\d{2}-\\d{4}')"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM people n JOIN clean_people c USING (no) "
                       "WHERE split_part(n.email, '@', 2) <> split_part(c.email, '@', 2)").fetchone()[0] == 0


def test_noise_is_the_same_at_any_worker_count_and_batch_size_and_changes_no_other_column(tmp_path: Path) -> None:
    data = copy.deepcopy(NOISY)
    data["tables"]["homes"] = copy.deepcopy(HOMES["tables"]["homes"])
    data["tables"]["homes"]["columns"]["city"]["modify"] = [{"noise": {"type": "typo", "rate": 0.2}}]
    data["tables"]["staff"] = copy.deepcopy(STAFF["tables"]["staff"])
    data["tables"]["staff"]["columns"]["manager_name"]["modify"] = [{"noise": {"type": "typo", "rate": 0.3}}]
    found, counts = [], []
    for i, (workers, batch) in enumerate([(1, 10_000), (2, 10_000), (2, 30_000)]):
        out = tmp_path / f"run{i}"
        result = schema_run.generate_schema(checked(data), out=str(out), format="csv", workers=workers,
                                            batch_size=batch)
        found.append(digests(out))
        counts.append(json.loads((out / "manifest.json").read_text())["noise"])
        assert counts[-1] == result.noise
    assert len(found[0]) == 4 and found[0] == found[1] == found[2]
    assert counts[0] == counts[1] == counts[2] and all(s["rows"] > 0 for s in counts[0])
    # one more noisy column changes no other column
    data["tables"]["people"]["columns"]["again"] = {"gen": "person", "field": "last_name",
                                                   "modify": [{"noise": {"type": "typo", "rate": 0.5}}]}
    out = tmp_path / "more"
    schema_run.generate_schema(checked(data), out=str(out), format="csv", workers=1)
    con = duckdb.connect()
    for name, folder in (("a", tmp_path / "run0"), ("b", out)):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_csv('{folder / 'people.csv'}', all_varchar=true)")
    cols = [c for c in NOISY["tables"]["people"]["columns"] if c != "no"]
    assert con.execute("SELECT count(*) FROM a JOIN b USING (no) WHERE " +
                       " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in cols)).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM b WHERE again <> last").fetchone()[0] > 5_000
    assert digests(tmp_path / "run0")["staff.csv"] == digests(out)["staff.csv"]


def test_person_field_kinds_are_the_population_contract_kinds() -> None:
    columns = {c.name: c.kind for t in TABLES.values() for c in t.columns}
    renamed = {"zip_code": "zip_code", "phone": "phone_number", "employer_name": "employer_name",
               "household_size": "size"}
    for field, kind in PERSON_KINDS.items():
        assert columns[renamed.get(field, field)] == kind, field
