"""Delta Lake output (``--format delta``): the rows of the local Parquet output, read back by deltalake and by
DuckDB; one commit per table at the end of a run, none for a run that is killed; append and replace as
one new version per table."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pii_gen import api, build_config
from pii_gen.errors import OutputError
from pii_gen.sinks import delta
from pii_gen.sinks.files import STAGING_PREFIX

deltalake = pytest.importorskip("deltalake", reason="deltalake is not installed (pip install 'pii-gen[delta]')")

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "examples" / "shop.yaml"
PEOPLE = 25_000  # three tasks of 10,000 people: several parts per table


def _people(out: Path, fmt: str, workers: int = 2, seed_offset: int = 0, count: int = PEOPLE,
            **extra: object) -> api.RunResult:
    config = build_config({}, count=count, seed=5 + seed_offset, batch_size=10_000, workers=workers, format=fmt,
                          out=out, quiet=True, **extra)  # fmt: skip
    return api.generate(config)


def _shop(out: Path, fmt: str, workers: int = 2) -> api.RunResult:
    config = build_config({}, workers=workers, format=fmt, out=out, quiet=True)
    return api.generate_schema(SHOP, config, seed=11, scale=0.5)


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


def _duckdb_rows(table_dir: Path) -> tuple[int, int, int]:
    """(rows, and the table's rows DuckDB finds again in the Parquet file both ways round: 0 and 0 when equal)
    with the Delta table read through ``to_pyarrow_dataset`` and the Parquet file beside it."""
    con = duckdb.connect()
    con.register("d", deltalake.DeltaTable(str(table_dir)).to_pyarrow_dataset())
    parquet = f"read_parquet('{table_dir.parent.parent / 'parquet' / (table_dir.name + '.parquet')}')"
    rows = con.execute("SELECT count(*) FROM d").fetchone()[0]
    extra = con.execute(f"SELECT count(*) FROM (SELECT * FROM d EXCEPT ALL SELECT * FROM {parquet})").fetchone()[0]
    missing = con.execute(f"SELECT count(*) FROM (SELECT * FROM {parquet} EXCEPT ALL SELECT * FROM d)").fetchone()[0]
    return rows, extra, missing


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """A population written as Parquet and as Delta tables (same seed): (folder of both, rows by table)."""
    root = tmp_path_factory.mktemp("people")
    _people(root / "parquet", "parquet")
    result = _people(root / "delta", "delta")
    return root, result.rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("shop")
    _shop(root / "parquet", "parquet")
    result = _shop(root / "delta", "delta")
    return root, result.rows


@pytest.mark.parametrize("which", ["population", "shop"])
def test_delta_tables_hold_the_rows_of_the_parquet_output(request, which):
    root, rows = request.getfixturevalue(which)
    manifest = json.loads((root / "delta" / "manifest.json").read_text())
    assert manifest["format"] == "delta" and set(manifest["files"]) == set(rows)
    for name, count in rows.items():
        want = pq.read_table(root / "parquet" / f"{name}.parquet")
        table = deltalake.DeltaTable(str(root / "delta" / name))
        assert table.version() == 0 and manifest["files"][name]["delta_version"] == 0
        got = table.to_pyarrow_table()
        assert got.num_rows == want.num_rows == count, name
        assert got.schema == want.schema, name
        assert _sorted(got).equals(_sorted(want)), name
        # DuckDB: through the dataset deltalake opens, and over the current version's Parquet files.
        assert _duckdb_rows(root / "delta" / name) == (count, 0, 0), name
        files = ", ".join(f"'{u}'" for u in table.file_uris())
        n = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet([{files}])").fetchone()[0] if files else 0
        assert n == count, name
    assert sum(rows.values()) > 10_000


def test_each_task_is_one_part_in_task_order_and_the_manifest_checks_them(population):
    root, rows = population
    persons = deltalake.DeltaTable(str(root / "delta" / "persons"))
    names = [u.rsplit("/", 1)[1] for u in persons.file_uris()]
    assert [n.split("-")[1] for n in names] == ["00000", "00001", "00002"]
    listed = json.loads((root / "delta" / "manifest.json").read_text())["files"]["persons"]
    assert [p["path"] for p in listed["parts"]] == names
    assert sum(p["rows"] for p in listed["parts"]) == rows["persons"] == PEOPLE
    assert listed["bytes"] == sum((root / "delta" / "persons" / n).stat().st_size for n in names)
    # In log order the rows come back as generated: person ids 1.. in sequence.
    ids = persons.to_pyarrow_table().column("person_id").to_numpy()
    assert (ids == range(1, PEOPLE + 1)).all()
    assert not list((root / "delta").glob(f"{STAGING_PREFIX}*"))


def test_the_part_statistics_are_exact_so_filtered_reads_skip_no_matching_row(tmp_path, population):
    root, _ = population
    table = deltalake.DeltaTable(str(root / "delta" / "persons"))
    full = table.to_pyarrow_table()
    for column, op, value in [("person_id", ">", 20_000), ("last_name", "=", full["last_name"][7].as_py()),
                              ("date_of_birth", "<", full["date_of_birth"][3].as_py())]:  # fmt: skip
        got = table.to_pyarrow_table(filters=[(column, op, value)])
        fn = {">": pc.greater, "=": pc.equal, "<": pc.less}[op]
        want = full.filter(fn(full[column], pa.scalar(value, full.schema.field(column).type)))
        assert 0 < got.num_rows == want.num_rows, (column, op)
    # Statistics from the Parquet writer's, over several row groups, are those of the rows.
    some = full.slice(0, 1000)
    written = delta.write_part(tmp_path, "p.parquet", "persons", some)
    assert pq.read_metadata(tmp_path / "p.parquet").num_row_groups == 1
    stats = json.loads(delta.part_stats(some.schema, pq.read_metadata(pa.BufferReader(_in_groups(some, 300))), some))
    assert stats == json.loads(written.stats)
    read = delta.read_part(tmp_path, "p.parquet")  # a file another engine wrote: its footer alone
    assert (read.size, read.rows, read.crc32) == (written.size, written.rows, written.crc32)
    assert json.loads(read.stats) == stats  # persons has no float column: nothing is left out
    assert stats["numRecords"] == 1000 and stats["minValues"]["person_id"] == 1
    assert stats["maxValues"]["person_id"] == 1000 and stats["nullCount"]["person_id"] == 0
    names = some["last_name"]
    assert stats["minValues"]["last_name"] == pc.min(names).as_py()[:32]
    assert stats["nullCount"]["middle_name"] == some["middle_name"].null_count > 0
    assert stats["minValues"]["date_of_birth"] == pc.min(some["date_of_birth"]).as_py().isoformat()


def _in_groups(table: pa.Table, rows: int) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=rows)
    return sink.getvalue()


def test_the_parts_are_the_same_bytes_at_1_and_2_workers(tmp_path, population):
    root, rows = population
    _people(tmp_path / "one", "delta", workers=1)
    for name in rows:
        one = sorted((tmp_path / "one" / name).glob("part-*.parquet"))
        two = sorted((root / "delta" / name).glob("part-*.parquet"))
        assert len(one) == len(two) > 0, name
        assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two], name


def test_append_adds_one_version_replace_overwrites_and_fail_refuses(tmp_path):
    out = tmp_path / "d"
    first = _people(out, "delta")
    with pytest.raises(OutputError, match=r"already exists \(version 0\).*--if-exists append"):
        _people(out, "delta")
    appended = _people(out, "delta", seed_offset=1, if_exists="append")
    for name, rows in first.rows.items():
        table = deltalake.DeltaTable(str(out / name))
        assert table.version() == 1, name
        assert table.to_pyarrow_table().num_rows == rows + appended.rows[name], name
        assert [h["operation"] for h in table.history()] == ["WRITE", "CREATE TABLE"]
    # As an append to a database: the new people continue the ids after the next whole block, keys stay unique.
    ids = deltalake.DeltaTable(str(out / "persons")).to_pyarrow_table().column("person_id")
    assert pc.count_distinct(ids).as_py() == len(ids) == 2 * PEOPLE
    assert pc.min(ids.filter(pc.greater(ids, PEOPLE))).as_py() == 30_001
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["first_person_id"] == 30_001 and manifest["files"]["persons"]["rows"] == PEOPLE
    assert manifest["files"]["persons"]["delta_version"] == 1 and manifest["files"]["persons"]["mode"] == "append"
    replaced = _people(out, "delta", count=12_000, if_exists="replace")
    for name, rows in replaced.rows.items():
        table = deltalake.DeltaTable(str(out / name))
        assert table.version() == 2 and table.to_pyarrow_table().num_rows == rows, name
        assert deltalake.DeltaTable(str(out / name), version=1).to_pyarrow_table().num_rows > rows  # history kept
    # The command line says it in one line, status 2, and leaves the tables alone.
    command = ["generate", "-n", "100", "--format", "delta", "--out", str(out), "--quiet"]
    r = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *command], capture_output=True, text=True,
                       timeout=300)  # fmt: skip
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "already exists" in r.stderr
    assert deltalake.DeltaTable(str(out / "persons")).version() == 2


def test_a_schema_file_append_is_refused_as_for_a_database(tmp_path):
    """A schema file's keys start at 1 on every run: appended, they would clash with the rows there."""
    out = tmp_path / "d"
    _shop(out, "delta")
    config = build_config({}, format="delta", out=out, quiet=True, if_exists="append")
    with pytest.raises(OutputError, match=r"keys start at 1 again.*another --out"):
        api.generate_schema(SHOP, config, seed=12)
    replaced = api.generate_schema(SHOP, config.model_copy(update={"if_exists": "replace"}), seed=12, scale=0.2)
    assert deltalake.DeltaTable(str(out / "orders")).version() == 1
    assert deltalake.DeltaTable(str(out / "orders")).to_pyarrow_table().num_rows == replaced.rows["orders"]


def test_an_append_of_other_columns_is_refused_before_any_row(tmp_path):
    out = tmp_path / "d"
    _shop(out, "delta")
    config = build_config({}, count=100, format="delta", out=out, quiet=True, if_exists="replace")
    (out / "persons").mkdir()
    (out / "persons" / "notes.txt").write_text("someone's")
    with pytest.raises(OutputError, match="is not a Delta table"):
        api.generate(config)
    schema = pa.schema([("id", pa.int64())])
    with pytest.raises(OutputError, match="has other columns"):
        delta.commit_parts(str(out / "orders"), schema, [], "append")
    delta.commit_parts(str(tmp_path / "p" / "persons"), schema, [])
    with pytest.raises(OutputError, match=r"'.*persons' has other columns than this run's \(id\)"):
        api.generate(config.model_copy(update={"if_exists": "append", "out": tmp_path / "p"}))
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["persons"]

    assert deltalake.DeltaTable(str(out / "orders")).version() == 0
    assert sorted(p.name for p in (out / "persons").iterdir()) == ["notes.txt"]


def test_commit_parts_commits_parquet_files_another_engine_wrote(tmp_path):
    """What a Spark job does with its executors' files: write parts into the table folder, commit them once."""
    table_dir = tmp_path / "t"
    table_dir.mkdir()
    data = pa.table({"id": pa.array(range(10), pa.int64()), "name": pa.array([f"n{i}" for i in range(10)])})
    parts = [delta.write_part(table_dir, delta.part_name(0, "spark"), "t", data.slice(0, 5))]
    pq.write_table(data.slice(5), table_dir / "part-00001-other.parquet")  # a file of another writer's
    parts.append(delta.read_part(table_dir, "part-00001-other.parquet"))
    (table_dir / "part-00009-stray.parquet").write_bytes(b"never committed")
    assert delta.commit_parts(str(table_dir), data.schema, parts) == 0
    table = deltalake.DeltaTable(str(table_dir))
    assert table.to_pyarrow_table().equals(data)
    assert sorted(u.rsplit("/", 1)[1] for u in table.file_uris()) == sorted(p.path for p in parts)
    assert delta.commit_parts(str(table_dir), data.schema, parts[:1], "overwrite") == 1
    assert deltalake.DeltaTable(str(table_dir)).to_pyarrow_table().equals(data.slice(0, 5))


def _parts_written(out: Path) -> int:
    return len(list(out.glob(f"{STAGING_PREFIX}*/persons/part-*.parquet")))


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_run_killed_mid_write_leaves_every_table_at_its_previous_version(tmp_path, how):
    out = tmp_path / "d"
    _people(out, "delta", workers=1)
    before = {n: deltalake.DeltaTable(str(out / n)).file_uris() for n in ("persons", "addresses")}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", "2000000", "--batch-size", "10000",
         "--workers", "2", "--format", "delta", "--out", str(out), "--if-exists", "append", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _parts_written(out) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None and _parts_written(out) >= 3, "the run ended before it could be killed"
        proc.send_signal(how)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == (-signal.SIGKILL if how == signal.SIGKILL else 128 + signal.SIGTERM), err
    for name, files in before.items():
        table = deltalake.DeltaTable(str(out / name))
        assert table.version() == 0 and table.file_uris() == files, name
        assert sorted(p.name for p in (out / name).glob("*.parquet")) == sorted(f.rsplit("/", 1)[1] for f in files)
    assert deltalake.DeltaTable(str(out / "persons")).to_pyarrow_table().num_rows == PEOPLE
    if how == signal.SIGTERM:  # a cancel cleans up after itself
        assert not list(out.glob(f"{STAGING_PREFIX}*"))
        return
    # SIGKILL: the parts stay in the dead run's staging folder, which the next run into the folder removes.
    time.sleep(0.5)  # the workers end with their parent (PDEATHSIG)
    assert _parts_written(out) >= 3
    _people(out, "delta", workers=1, if_exists="append")
    assert not list(out.glob(f"{STAGING_PREFIX}*"))
    table = deltalake.DeltaTable(str(out / "persons"))
    assert table.version() == 1 and table.to_pyarrow_table().num_rows == 2 * PEOPLE


def _validate(folder: Path, report: Path, *extra: str) -> dict:
    r = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), "validate", str(folder), "--json", str(report),
                        "--quiet", *extra], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(report.read_text())


def test_validate_reads_a_delta_output_folder(tmp_path, population, shop):
    root, rows = population
    report = _validate(root / "delta", tmp_path / "people.json")
    assert report["ok"] and report["rows"]["persons"] == rows["persons"]
    checksums = next(c for c in report["checks"] if c["name"] == "files match the manifest's checksums")
    parts = sum(len(list((root / "delta" / n).glob("part-*.parquet"))) for n in rows)
    assert checksums["status"] == "pass" and checksums["metrics"] == {"files": parts, "mismatched": []}
    root, rows = shop
    report = _validate(root / "delta", tmp_path / "shop.json", "--schema", str(SHOP))
    assert report["ok"] and report["rows"] == rows


def test_a_missing_deltalake_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "deltalake", None)  # as if it were not installed
    config = build_config({}, count=10, format="delta", out=tmp_path / "d", quiet=True)
    with pytest.raises(OutputError, match=r'pip install "pii-gen\[delta\]"'):
        api.generate(config)
    assert not (tmp_path / "d").exists()
