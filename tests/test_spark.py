"""The Spark backend (``pii_gen.spark``, ``generate --engine spark``): the same rows as a local run at any number of
partitions, progress through the backend's events, cancel, saveAsTable, and one-line errors.

One SparkSession (``local[2]``, UI off) serves the module.  Without pyspark or Java the Spark tests skip with the
reason, unless PII_GEN_REQUIRE_SPARK=1 (as in CI), which makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pii_gen import api, schema_run
from pii_gen import spark as pii_spark
from pii_gen.backends import BlockDone, CancelToken, Interrupted, Memory
from pii_gen.cli import main
from pii_gen.config import GenerateConfig, build_config
from pii_gen.db.guard import Overrides, Refused
from pii_gen.errors import ConfigError, OutputError

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PEOPLE = 35_000  # four blocks: five partitions leave one empty
#: Each source as the Spark API takes it, with what makes the same rows locally.
SOURCES = {
    "population": dict(source=GenerateConfig(count=PEOPLE, seed=11)),
    "shop": dict(source=EXAMPLES / "shop.yaml", scale=3.0),
    "hr": dict(source=EXAMPLES / "hr.yaml", scale=4.0),
}


def _missing() -> str | None:
    """Why Spark cannot run here, or None."""
    try:
        import pyspark  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as err:
        return f"pyspark is not installed ({err.name}): pip install \"pii-gen[spark]\""
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    if shutil.which(java) is None:
        return "Java is not installed (Debian: default-jre-headless)"
    return None


@pytest.fixture(scope="module")
def pyspark_here() -> None:
    """Skips (or fails, with PII_GEN_REQUIRE_SPARK=1) without pyspark or Java."""
    reason = _missing()
    if reason is not None:
        if os.environ.get("PII_GEN_REQUIRE_SPARK") == "1":
            pytest.fail(f"PII_GEN_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(f"Spark tests need pyspark and Java: {reason}")


@pytest.fixture(scope="module")
def spark(pyspark_here, tmp_path_factory: pytest.TempPathFactory):
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("warehouse")
    session = (SparkSession.builder.master("local[2]").appName("pii_gen tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").config("spark.sql.warehouse.dir", str(warehouse))
               .config("spark.driver.memory", "1g").getOrCreate())  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each source run once by the local backend into Parquet (made on first use)."""
    made: dict[str, Path] = {}

    class Runs(dict):
        def __missing__(self, name: str) -> Path:
            out = tmp_path_factory.mktemp(f"local-{name}")
            spec = SOURCES[name]
            if isinstance(spec["source"], GenerateConfig):
                config = build_config(spec["source"].model_dump(), format="parquet", out=out, workers=1)
                api.write_files(config)
            else:
                schema_run.generate_schema(spec["source"], out=str(out), scale=spec["scale"], format="parquet",
                                           workers=1)
            self[name] = out
            return out

    return Runs(made)


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in table.column_names])


def _spark_table(folder: Path, schema: pa.Schema) -> pa.Table:
    """A table Spark wrote (any number of part files), as the local file's schema."""
    return ds.dataset(folder, format="parquet").to_table().select(schema.names).cast(schema)


@pytest.mark.parametrize("partitions", [2, 5])
@pytest.mark.parametrize("name", list(SOURCES))
def test_same_rows_as_local(spark, local_runs, tmp_path: Path, name: str, partitions: int) -> None:
    spec = SOURCES[name]
    events: list = []
    tables = pii_spark.dataframes(spark, spec["source"], scale=spec.get("scale"), partitions=partitions)
    assert tables.blocks.rdd.getNumPartitions() == partitions
    result = pii_spark.write(tables, tmp_path / "spark", on_event=events.append)
    local = local_runs[name]
    assert set(result.rows) == set(tables.plan.tables)
    for table, rows in result.rows.items():
        mine = pq.read_table(local / f"{table}.parquet")
        theirs = _spark_table(tmp_path / "spark" / table, mine.schema)
        assert theirs.num_rows == rows == mine.num_rows, table
        assert _sorted(theirs).equals(_sorted(mine)), f"{name}.{table} differs from the local run's"
    done = [e for e in events if isinstance(e, BlockDone)]
    assert sum(e.rows for e in done) == sum(result.rows.values())
    assert sum(e.people for e in done) == result.people
    if name == "population":
        assert result.people == PEOPLE and result.rows["persons"] >= PEOPLE
    assert any(isinstance(e, Memory) and e.rss > 100 << 20 for e in events)  # the JVM is in the process tree
    assert result.peak_rss >= max(e.rss for e in events if isinstance(e, Memory))


def test_save_as_table(spark) -> None:
    spark.sql("CREATE DATABASE IF NOT EXISTS synth")
    tables = pii_spark.dataframes(spark, EXAMPLES / "hr.yaml", seed=5)
    result = pii_spark.write(tables, database="synth", if_exists="replace")
    assert result.outputs == {name: f"synth.{name}" for name in tables}
    for name, rows in result.rows.items():
        assert spark.table(f"synth.{name}").count() == rows > 0
    again = pii_spark.write(pii_spark.dataframes(spark, EXAMPLES / "hr.yaml", seed=5), database="synth",
                            if_exists="append")
    assert spark.table("synth.employees").count() == 2 * again.rows["employees"]
    marked = spark.table("synth.pii_gen_marker").orderBy("position").collect()
    assert [(r["kind"], r["name"], r["position"]) for r in marked] == [
        ("table", name, i) for i, name in enumerate(tables)]  # named once, though written twice


def test_catalog_writes_pass_the_guard(spark, monkeypatch: pytest.MonkeyPatch) -> None:
    """saveAsTable meets the database guard's rules, each refusal before anything is written, each override
    letting it through."""
    def attempt(database: str, **allowed: bool) -> None:
        pii_spark.write(pii_spark.dataframes(spark, EXAMPLES / "hr.yaml", seed=5), database=database,
                        if_exists="replace", overrides=Overrides(**allowed))

    spark.sql("CREATE DATABASE IF NOT EXISTS sales_prod")
    with pytest.raises(Refused, match="schema name 'sales_prod' matches the production pattern 'prod'"):
        attempt("sales_prod")
    assert spark.catalog.listTables("sales_prod") == []
    spark.sql("CREATE DATABASE IF NOT EXISTS theirs")
    spark.sql("CREATE TABLE IF NOT EXISTS theirs.accounts (id INT) USING parquet")
    with pytest.raises(Refused, match=r"holds 1 tables \(accounts\) but no pii_gen_marker.*--allow-unmarked"):
        attempt("theirs")
    spark.sql("CREATE DATABASE IF NOT EXISTS flagged")
    spark.sql("CREATE TABLE IF NOT EXISTS flagged.pii_gen_production (id INT) USING parquet")
    with pytest.raises(Refused, match="holds the table pii_gen_production"):
        attempt("flagged", allow_unmarked=True)
    monkeypatch.setenv("PII_GEN_ENV", "production")
    with pytest.raises(Refused, match="PII_GEN_ENV is 'production'"):
        attempt("synth")
    assert {t.name for t in spark.catalog.listTables("theirs")} == {"accounts"}
    monkeypatch.delenv("PII_GEN_ENV")
    attempt("theirs", allow_unmarked=True)
    assert "employees" in {t.name for t in spark.catalog.listTables("theirs")}
    attempt("flagged", allow_production=True, allow_unmarked=True)


def test_cancel_stops_the_jobs(spark, tmp_path: Path) -> None:
    cancel = CancelToken()
    tables = pii_spark.dataframes(spark, GenerateConfig(count=PEOPLE, seed=2), partitions=4)

    def stop(event: object) -> None:
        if isinstance(event, BlockDone):
            cancel.cancel()

    with pytest.raises(Interrupted, match="interrupted"):
        pii_spark.write(tables, tmp_path / "out", cancel=cancel, on_event=stop)
    written = [name for name in tables if (tmp_path / "out" / name / "_SUCCESS").exists()]
    assert len(written) < len(tables)


def test_write_errors_are_one_line(spark, tmp_path: Path) -> None:
    tables = pii_spark.dataframes(spark, EXAMPLES / "hr.yaml")
    pii_spark.write(tables, tmp_path)
    with pytest.raises(OutputError, match="Spark cannot write .*departments"):
        pii_spark.write(pii_spark.dataframes(spark, EXAMPLES / "hr.yaml"), tmp_path)
    with pytest.raises(ConfigError, match="no Delta Lake"):  # this session has no delta-spark
        pii_spark.write(pii_spark.dataframes(spark, EXAMPLES / "hr.yaml"), tmp_path / "d", format="delta")
    with pytest.raises(ConfigError, match="scale applies to a schema"):
        pii_spark.dataframes(spark, GenerateConfig(count=10), scale=2.0)


def test_cli_engine_spark(spark, tmp_path: Path, local_runs) -> None:
    """``generate --engine spark`` uses the running session (as under spark-submit) and writes a folder per table."""
    out = tmp_path / "cli"
    main(["generate", "--engine", "spark", "--master", "local[2]", "--partitions", "3", "--schema",
          str(EXAMPLES / "shop.yaml"), "--scale", "3", "--out", str(out), "-q"])
    for table in ("categories", "products", "customers", "orders", "order_items"):
        mine = pq.read_table(local_runs["shop"] / f"{table}.parquet")
        assert _sorted(_spark_table(out / table, mine.schema)).equals(_sorted(mine))


@pytest.mark.parametrize("args, message", [
    (["--db", "duckdb:///x.db"], "--db does not apply to --engine spark"),
    (["--workers", "2"], "--workers does not apply to --engine spark"),
    (["--format", "csv"], "--engine spark writes parquet or delta"),
    (["--out", "o", "--db-schema", "main.synth"], "two destinations"),
    (["--scale", "2"], "--scale needs --schema"),
    (["--pack", "identity-graph", "--set", "campaign_reach=5"], "--set campaign_reach=5: must be <= 1"),
    (["--pack", "identity-graph", "--noise", "light"], "--noise does not apply to --pack"),
])  # fmt: skip
def test_cli_bad_combinations(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    """Refused in one line with exit status 2, before Spark starts (no Java needed)."""
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--engine", "spark", *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("args", [["--master", "local[2]"], ["--partitions", "3"]])
def test_spark_options_need_the_engine(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["generate", *args])
    assert exit_.value.code == 2 and "needs --engine spark" in capsys.readouterr().err


def test_missing_pyspark_names_the_extra() -> None:
    code = ("import sys; sys.modules['pyspark'] = None\n"
            "from pii_gen import spark\n"
            "try:\n    spark.session()\nexcept Exception as err:\n    print(type(err).__name__, err)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.startswith("ConfigError") and 'pip install "pii-gen[spark]"' in out


def test_a_task_that_failed_on_an_executor_is_one_line_naming_its_python_error(spark):
    """What a Python worker raised reaches the user as pii_gen's one line, with what executors need when it
    was pii_gen itself that could not be imported; an error of pii_gen's own passes through unchanged."""
    from pyspark.errors import PySparkException

    trace = ("Job aborted due to stage failure: Task 0 in stage 0.0 failed 1 times\n"
             "org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
             '  File "worker.py", line 1, in main\n'
             "ModuleNotFoundError: No module named 'pii_gen'\n\tat org.apache.spark.api.python.BasePythonRunner")
    err = pii_spark._task_error(PySparkException(message=trace))
    assert isinstance(err, OutputError)
    assert str(err) == ("a Spark task failed: ModuleNotFoundError: No module named 'pii_gen'; every executor "
                        'needs pii_gen installed (pip install "pii-gen[spark]", or the wheel as a cluster library)')
    other = pii_spark._task_error(PySparkException(message="Traceback\nValueError: block 3 is out of range\n"))
    assert str(other) == "a Spark task failed: ValueError: block 3 is out of range"
    assert pii_spark._task_error(ConfigError("mine")) is None


# -- the direct write: executors write the parts with pyarrow, the driver moves or commits them ------------------

def _read_output(folder: Path, fmt: str, schema: pa.Schema) -> pa.Table:
    """A table of a direct write: its Delta table's current version, or its folder of Parquet parts."""
    if fmt == "delta":
        from deltalake import DeltaTable

        return DeltaTable(str(folder)).to_pyarrow_table().select(schema.names).cast(schema)
    return _spark_table(folder, schema)


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
@pytest.mark.parametrize("partitions", [2, 5])
@pytest.mark.parametrize("name", ["population", "shop"])
def test_direct_same_rows_as_local(spark, local_runs, tmp_path: Path, name: str, partitions: int, fmt: str) -> None:
    spec = SOURCES[name]
    out = tmp_path / "direct"
    events: list = []
    result = pii_spark.write_direct(spark, spec["source"], out, format=fmt, scale=spec.get("scale"),
                                    partitions=partitions, on_event=events.append)
    assert result.partitions == partitions and result.extra == {"direct": True}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "spark" and manifest["format"] == fmt
    local = local_runs[name]
    for table, rows in result.rows.items():
        mine = pq.read_table(local / f"{table}.parquet")
        theirs = _read_output(out / table, fmt, mine.schema)
        assert theirs.num_rows == rows == mine.num_rows == manifest["tables"][table]["rows"], table
        assert _sorted(theirs).equals(_sorted(mine)), f"{name}.{table} ({fmt}) differs from the local run's"
        parts = manifest["files"][table]["parts"]
        on_disk = sorted(p.name for p in (out / table).glob("*.parquet"))
        assert on_disk == sorted(p["path"] for p in parts)  # no stray part of a task attempt
        for part in parts:
            assert (out / table / part["path"]).stat().st_size == part["bytes"]
    assert not list(out.glob(".pii_gen-spark-*"))  # the staging folder is gone
    assert sum(e.rows for e in events if isinstance(e, BlockDone)) == sum(result.rows.values())


def test_direct_delta_versions_and_append(spark, tmp_path: Path) -> None:
    """Delta through Spark without delta-spark: version 0 after a run, 1 after an append that continues the ids."""
    from deltalake import DeltaTable

    out = tmp_path / "lake"
    config = GenerateConfig(count=12_000, seed=4)
    first = pii_spark.write_direct(spark, config, out, format="delta", partitions=2)
    assert DeltaTable(str(out / "persons")).version() == 0
    with pytest.raises(OutputError, match="already exists"):
        pii_spark.write_direct(spark, config, out, format="delta")
    second = pii_spark.write_direct(spark, config, out, format="delta", if_exists="append", partitions=3)
    persons = DeltaTable(str(out / "persons"))
    assert persons.version() == 1
    ids = persons.to_pyarrow_table(columns=["person_id"]).column("person_id")
    assert len(ids) == first.rows["persons"] + second.rows["persons"] == pa.compute.count_distinct(ids).as_py()
    manifest = json.loads((out / "manifest.json").read_text())
    assert {info["delta_version"] for info in manifest["files"].values()} == {1}
    for table in first.rows:
        assert DeltaTable(str(out / table)).to_pyarrow_table().num_rows == first.rows[table] + second.rows[table]


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_direct_cancel_publishes_nothing(spark, tmp_path: Path, fmt: str) -> None:
    """A job stopped part-way commits no Delta table, moves no Parquet part, and leaves no part behind."""
    cancel = CancelToken()
    out = tmp_path / "out"

    def stop(event: object) -> None:
        if isinstance(event, BlockDone):
            cancel.cancel()

    with pytest.raises(Interrupted, match="interrupted"):
        pii_spark.write_direct(spark, GenerateConfig(count=PEOPLE, seed=2), out, format=fmt, partitions=4,
                               cancel=cancel, on_event=stop)
    assert not [p for p in out.rglob("*") if p.is_file()], "a cancelled run left files"
    assert not list(out.rglob("_delta_log"))


def test_direct_parquet_if_exists(spark, tmp_path: Path) -> None:
    out = tmp_path / "hr"
    first = pii_spark.write_direct(spark, EXAMPLES / "hr.yaml", out, partitions=2)
    with pytest.raises(OutputError, match="already holds files"):
        pii_spark.write_direct(spark, EXAMPLES / "hr.yaml", out)
    pii_spark.write_direct(spark, EXAMPLES / "hr.yaml", out, if_exists="append")
    assert _spark_table(out / "employees", pq.read_schema(next((out / "employees").glob("*.parquet")))).num_rows \
        == 2 * first.rows["employees"]
    pii_spark.write_direct(spark, EXAMPLES / "hr.yaml", out, if_exists="replace", seed=9)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 9
    for table in first.rows:  # only the new run's parts are left
        assert sorted(p.name for p in (out / table).iterdir()) == sorted(
            p["path"] for p in manifest["files"][table]["parts"])
        assert ds.dataset(out / table).count_rows() == manifest["tables"][table]["rows"]


def test_direct_retried_task_rewrites_the_same_parts(pyspark_here, tmp_path: Path) -> None:
    """A task run twice (a retry, a speculative copy) writes the same file names with the same bytes, leaves no
    temporary file, and reports the same parts: the driver keeps one list, so nothing is committed twice."""
    from types import SimpleNamespace

    from pii_gen.spark import engine

    plan = pii_spark.plan_of(GenerateConfig(count=15_000, seed=3))
    folders = {name: str(tmp_path / name) for name in plan.tables}
    for folder in folders.values():
        os.makedirs(folder)
    made: list = []
    task = engine._write_blocks(SimpleNamespace(value=plan.to_json()), "digest-of-test", list(plan.tables),
                                SimpleNamespace(add=made.append), str(tmp_path), folders, "tok")
    ids = pa.record_batch([pa.array([0, 1], pa.int64())], names=["id"])
    first = pa.Table.from_batches(list(task(iter([ids]))))
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    second = pa.Table.from_batches(list(task(iter([ids]))))
    assert first.drop_columns(["mtime"]).equals(second.drop_columns(["mtime"]))
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
    assert sorted(p.name for p in (tmp_path / "persons").iterdir()) == ["part-00000-tok-c000.zstd.parquet",
                                                                          "part-00001-tok-c000.zstd.parquet"]
    assert sum(r for r in first.column("rows").to_pylist()) == sum(sum(m[b].values()) for m in made[:2] for b in m)


# -- a schema pack on Spark: generate --pack NAME --set ..., and settings= of the Python API -----------------

PACK_PEOPLE = 2_000
PACK_SETTINGS = {"campaign_reach": "0.1", "devices_per_household": "8"}


def _same_tables(local: Path, folder: Path, fmt: str = "parquet") -> dict[str, int]:
    """Every table of the local run ``local`` has the same rows in the Spark run ``folder``; rows per table."""
    rows = {}
    for path in sorted(local.glob("*.parquet")):
        mine = pq.read_table(path)
        theirs = _read_output(folder / path.stem, fmt, mine.schema)
        assert theirs.num_rows == mine.num_rows, path.stem
        assert _sorted(theirs).equals(_sorted(mine)), f"{path.stem} ({fmt}) differs from the local run's"
        rows[path.stem] = mine.num_rows
    return rows


def test_pack_with_settings_on_spark_has_the_local_rows(spark, tmp_path: Path) -> None:
    """``generate --engine spark --pack identity-graph -n N --set ...`` writes every table of the pack (events
    included) with the rows of the same command on the local engine."""
    from pii_gen.dsl import packs

    local = tmp_path / "local"
    schema_run.generate_schema(packs.load("identity-graph", PACK_SETTINGS, people=PACK_PEOPLE), out=str(local),
                               format="parquet", workers=1)
    sets = [arg for name, value in PACK_SETTINGS.items() for arg in ("--set", f"{name}={value}")]
    main(["generate", "--engine", "spark", "--pack", "identity-graph", "-n", str(PACK_PEOPLE), *sets,
          "--partitions", "2", "--out", str(tmp_path / "spark"), "-q"])
    rows = _same_tables(local, tmp_path / "spark")
    assert len(rows) == 14 and rows["individuals"] == PACK_PEOPLE and rows["campaign_exposures"] > 0
    manifest = json.loads((tmp_path / "spark" / "manifest.json").read_text())
    assert manifest["engine"] == "spark" and manifest["schema"] == "identity-graph"
    assert {t: info["rows"] for t, info in manifest["tables"].items()} == rows


def test_settings_of_a_schema_file_through_the_spark_api(spark, tmp_path: Path) -> None:
    """``pii_spark.generate(FILE, settings=...)`` applies the settings as ``--set`` does (here into Delta); a
    wrong one is one line before any job, and settings of a config are refused."""
    from pii_gen.dsl import packs

    copy = tmp_path / "graph.yaml"
    copy.write_text(packs.text("identity-graph").replace("size: 10000", f"size: {PACK_PEOPLE}"))
    local = tmp_path / "local"
    schema_run.generate_schema(packs.load("identity-graph", PACK_SETTINGS, people=PACK_PEOPLE), out=str(local),
                               format="parquet", workers=1)
    result = pii_spark.generate(copy, out=tmp_path / "lake", format="delta", settings=PACK_SETTINGS, spark=spark,
                                partitions=2)
    assert result.rows == _same_tables(local, tmp_path / "lake", "delta")
    with pytest.raises(ConfigError, match="--set campaign_reach=2: must be <= 1"):
        pii_spark.generate(copy, out=tmp_path / "x", settings={"campaign_reach": "2"}, spark=spark)
    with pytest.raises(ConfigError, match="settings apply to a schema file"):
        pii_spark.plan_of(GenerateConfig(count=10), settings={"campaign_reach": "0.1"})
    assert not (tmp_path / "x").exists()
