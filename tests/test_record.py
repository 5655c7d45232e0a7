"""The run record and the start decision: one record is a folder's manifest.json, a database's pii_gen_runs row
and what ``--resume`` and ``validate --db`` read back; resume, append and a stream into a database that holds
people are decided in one place, before the plan is built, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest

from servers import server_url

from pii_gen import PersonGenerator, api
from pii_gen.planning import build_plan
from pii_gen.config import GenerateConfig, build_config
from pii_gen.db.loaders import connect
from pii_gen.db.url import parse
from pii_gen.errors import ConfigError, OutputError
from pii_gen.record import RunRecord, config_json, read_runs
from pii_gen.packs.person.contract import TABLES
from pii_gen.sinks.database import DatabaseSink
from pii_gen.start import decide_start
from pii_gen.validate.manifest import db_manifest

ROOT = Path(__file__).resolve().parents[1]
#: manifest.json of `generate -n 300 --seed 3 --format jsonl` with NOISE, as written before the record existed.
FROZEN = ROOT / "tests" / "golden" / "manifest_jsonl_seed3.json"
NOISE = {"profile": "realistic", "columns": {"persons.first_name": {"typo": 0.2}}}


# -- the record --------------------------------------------------------------------------------------------
def test_a_file_runs_manifest_is_the_frozen_record(tmp_path):
    config = build_config({"noise": NOISE}, count=300, seed=3, format="jsonl", out=tmp_path / "o", workers=1,
                          quiet=True)  # fmt: skip
    result = api.generate(config)
    assert (tmp_path / "o" / "manifest.json").read_text(encoding="utf-8") == FROZEN.read_text(encoding="utf-8")
    record = RunRecord.of_files(config, result.files)
    frozen = json.loads(FROZEN.read_text(encoding="utf-8"))
    assert record.to_manifest() == frozen
    assert record.tables == {t: info["rows"] for t, info in frozen["tables"].items()} == result.rows
    assert record.status == "finished" and record.noise == frozen["noise"]


def test_a_database_runs_row_reads_back_as_the_same_record():
    config = build_config({"seed": 5, "count": 20_000, "batch_size": 10_000, "noise": NOISE})
    started = dt.datetime(2026, 1, 2, 3, 4, 5)
    row = RunRecord.started(config, "r-1", started).to_row()
    assert row == ("r-1", 5, 20_000, 10_000, config_json(config), started, None)
    log = [("households", 2, 1, 9_100), ("persons", 2, 1, 20_400)]
    record = RunRecord.from_row(row, log)
    assert record.to_row() == row
    assert (record.run_id, record.status, record.batches, record.gaps) == ("r-1", "running", 2, False)
    assert record.tables == {"households": 9_100, "persons": 20_400}
    assert record.config is not None and record.noise == RunRecord.started(config, "r-1", started).noise
    assert record.noise is not None and record.noise["rates"]["persons.first_name"]["typo"] == 0.2
    # A batch missing below the last one logged; a finished run; a stream, which records no count.
    assert RunRecord.from_row(row, [("persons", 1, 1, 10_000)]).gaps
    assert RunRecord.from_row(row[:-1] + (started,), log).status == "finished"
    assert RunRecord.started(config, "r-2", started, stream=True).count == 0


def test_the_validator_reads_what_this_version_cannot_as_before():
    """A stored config this version rejects still validates (no noise rates); one that is not JSON is refused."""
    row = ("r-1", 1, 10, 10_000, json.dumps({"seed": 1, "pii_mode": "realistic", "retired_field": 1}), None, None)
    record = RunRecord.from_row(row, [("persons", 1, 0, 10)])
    assert record.config is None and record.noise is None
    manifest = db_manifest([record, RunRecord.from_row(row, [("persons", 1, 0, 5)])])
    assert manifest == {"generator": "pii_gen", "pii_mode": "realistic", "count": 15, "runs": 2,
                        "config": json.loads(row[4]), "tables": {"persons": {"rows": 15}}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"pii_gen_runs.config is not valid JSON \(.*\): the run is unknown"):
        db_manifest([RunRecord.from_row(row[:4] + ("{not json",) + row[5:])])
    with pytest.raises(ConfigError, match="the database's pii_gen_runs table is empty: nothing was loaded"):
        db_manifest([])


# -- the decision, on real databases --------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """(url text, schema) of an empty database, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'd.db'}", None
        return
    url, schema = server_url("PII_GEN_TEST_POSTGRES_URL"), f"t_{uuid.uuid4().hex[:10]}"
    yield url, schema
    conn = connect(parse(url), schema)
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.commit()
    conn.close()


def _config(db: tuple[str, str | None], **fields: object) -> GenerateConfig:
    url, schema = db
    return build_config({"seed": 5, "count": 12_000, "batch_size": 10_000, "workers": 1, "quiet": True, "db": url,
                         "db_schema": schema, **fields})  # fmt: skip


def _decide(db: tuple[str, str | None], config: GenerateConfig, stream: bool = False):
    return decide_start(config, parse(db[0]), db[1], stream=stream)


def _interrupted(db: tuple[str, str | None], config: GenerateConfig, batches: int, stream: bool = False) -> str:
    """A load killed after ``batches`` batches (never closed): its run id."""
    url = parse(db[0])
    start = decide_start(config, url, db[1], stream=stream)
    sink = DatabaseSink(url, start, build_plan(start.config).tables, db[1])
    sink.prepare()
    sink.open({name: t.arrow_schema for name, t in sink.tables.items()})
    for _, batch in zip(range(batches), PersonGenerator(start.config).iter_batches(config.count, batch_size=10_000)):
        sink.write(batch)
    sink.abort()
    assert start.run_id is not None
    return start.run_id


def _rows(db: tuple[str, str | None]) -> dict[str, int]:
    """Rows per contract table."""
    conn = connect(parse(db[0]), db[1])
    try:
        return {t: int(conn.execute(f"SELECT COUNT(*) FROM {conn.table(t)}")[0][0]) for t in TABLES}
    finally:
        conn.close()


def test_a_new_run_only_reads_the_database(db):
    config = _config(db)
    start = _decide(db, config)
    assert (start.mode, start.first_task, start.existing, start.stream) == ("new", 0, None, False)
    assert start.config is config and uuid.UUID(start.run_id or "")
    conn = connect(parse(db[0]), db[1])
    try:
        assert not conn.table_exists("pii_gen_runs") and not conn.table_exists("persons")
    finally:
        conn.close()
    assert decide_start(config.model_copy(update={"db": None})).mode == "new"  # a file run starts anew


def test_tables_with_people_refuse_a_new_run_and_are_continued_by_append_and_streams(db):
    url = parse(db[0])
    assert api.generate(_config(db)).people == 12_000  # two blocks: ids 1..12,000
    with pytest.raises(OutputError) as refused:
        _decide(db, _config(db, count=10))
    assert str(refused.value) == (f"table households in {url.redacted()} already holds rows; pass --if-exists append "
                                  "or --if-exists replace")  # fmt: skip
    appended = _decide(db, _config(db, count=10, if_exists="append"))
    assert (appended.mode, appended.config.first_person_id, appended.first_task) == ("append", 20_001, 0)
    assert appended.config == _config(db, count=10, if_exists="append", first_person_id=20_001)
    streamed = _decide(db, _config(db, count=10), stream=True)
    assert (streamed.mode, streamed.config.first_person_id, streamed.stream) == ("stream-append", 20_001, True)
    replaced = _decide(db, _config(db, count=10, if_exists="replace"))
    assert (replaced.mode, replaced.config.first_person_id) == ("replace", 1)
    # What the validator reads back: the one run, finished, with the rows the tables hold.
    conn = connect(url, db[1])
    try:
        (run,) = read_runs(conn.execute, conn.table)
    finally:
        conn.close()
    assert (run.status, run.batches, run.count, run.seed, run.tables) == ("finished", 2, 12_000, 5, _rows(db))


def test_a_stream_into_an_empty_database_starts_at_the_first_person(db):
    start = _decide(db, _config(db), stream=True)
    assert (start.mode, start.stream, start.config.first_person_id) == ("new", True, 1)


def test_appending_past_the_distinct_ssns_is_refused_with_the_room_left(db):
    assert api.generate(_config(db, count=10, first_person_id=11_050_001)).people == 10
    with pytest.raises(ConfigError) as refused:
        _decide(db, _config(db, count=20_000, if_exists="append"))
    assert str(refused.value) == (
        "invalid config: count 20,000 after person_id 11,060,000 is more than strict mode can give distinct SSNs: "
        "there are 11,068,902 never-issued SSNs, so at most 8,902 people after person_id 11,060,000"
    )


def test_resume_continues_after_the_last_batch_with_the_stored_config(db):
    stored = _config(db, count=30_000)
    run_id = _interrupted(db, stored, 2)
    caller = build_config({"db": db[0], "db_schema": db[1], "resume": run_id, "workers": 2, "quiet": True})
    start = _decide(db, caller)
    assert (start.mode, start.first_task, start.run_id) == ("resume", 2, run_id)
    assert start.existing is not None and (start.existing.status, start.existing.batches) == ("running", 2)
    plan = start.config
    assert (plan.seed, plan.count, plan.batch_size, plan.workers) == (5, 30_000, 10_000, 2)
    assert api.generate(caller).run_id == run_id
    expected = PersonGenerator(GenerateConfig(seed=5, count=30_000)).generate(30_000)
    assert _rows(db) == {name: expected[name].num_rows for name in TABLES}


def test_resume_refuses_what_it_cannot_continue(db):
    url = parse(db[0])
    finished = api.generate(_config(db)).run_id
    stream = _interrupted(db, _config(db, if_exists="append"), 1, stream=True)
    gapped = _interrupted(db, _config(db, count=30_000, if_exists="append"), 2)
    conn = connect(url, db[1])
    conn.execute(f"DELETE FROM {conn.table('pii_gen_load_log')} WHERE run_id = %s AND batch_number = 0", (gapped,))
    conn.commit()
    conn.close()
    refusals = {
        "nope": f"no run 'nope' in {url.redacted()} to resume",
        finished: f"run '{finished}' already finished; nothing to resume",
        stream: f"run '{stream}' was a stream, which cannot be resumed; start a new stream instead (it continues "
        "after the people already there)",
        gapped: f"run '{gapped}' has gaps in its load log; it cannot be resumed safely",
    }
    for run_id, message in refusals.items():
        with pytest.raises(OutputError) as refused:
            _decide(db, _config(db, resume=run_id))
        assert str(refused.value) == message
