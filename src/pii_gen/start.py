"""How a run starts, decided once before its plan is built: new, resumed, or continuing a database's people.

:func:`decide_start` reads the database once (the stored run for ``--resume``, the highest person id for
``--if-exists append`` and for a stream into a database that holds people), refuses what cannot be done,
and returns the config the plan is built from.  The outputs then only write: none of them changes the
config or picks the first person id.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Literal

from . import packs
from .config import GenerateConfig, build_config
from .db.loaders import Connection, connect, now
from .db.url import DatabaseURL
from .errors import OutputError, PiiGenError
from .packs.person.contract import BLOCK_SIZE
from .db.ddl import LOAD_LOG, RUNS
from .record import RunRecord, read_runs
from .variability import tables_for
from .variability.duplicates import DUPLICATE_ID_BASE

__all__ = ["Mode", "RunStart", "decide_schema_start", "decide_start"]

#: new: into empty tables (or files); replace: into tables dropped first; resume: after an interrupted
#: load's last batch; append / stream-append: after the people a database already holds.
Mode = Literal["new", "replace", "resume", "append", "stream-append"]


@dataclass(frozen=True)
class RunStart:
    """Where a run starts: the config its plan is built from (a schema file run: ``schema_run``, what
    rebuilds its plan), the first task, and the run it records."""

    config: GenerateConfig | None
    first_task: int = 0  # tasks (batches) before this one are already loaded
    run_id: str | None = None  # database runs only
    mode: Mode = "new"
    existing: RunRecord | None = None  # the stored run being resumed
    stream: bool = False  # an open-ended stream: its run records 0 people until it closes
    schema_run: dict[str, Any] | None = None  # a schema file run: its file's name and SHA-256, seed, scale, batch size
    count: int = 0  # a schema file run: its plan's root rows, which its record stores

    def record(self) -> RunRecord:
        """The run's record as the load begins: the stored one on resume, else a new one started now."""
        if self.existing is not None:
            return self.existing
        assert self.run_id is not None, "only a database run has a run record to start"
        if self.schema_run is not None:
            return RunRecord.started_schema(self.schema_run, self.count, self.run_id, now())
        assert self.config is not None, "a population run starts from its config"
        return RunRecord.started(self.config, self.run_id, now(), self.stream)


def decide_start(
    config: GenerateConfig, url: DatabaseURL | None = None, schema: str | None = None, *, stream: bool = False
) -> RunStart:
    """How a run of ``config`` into ``url`` (None: files) starts; ``stream``: a stream into the database,
    which continues after the people already there and cannot be resumed."""
    if url is None:
        return RunStart(config)
    if url.file and not os.path.exists(url.file) and not (config.resume and not stream):
        # A database file not there yet holds nothing to continue; opening it would create it.
        return RunStart(config, 0, str(uuid.uuid4()), "new", stream=stream)
    if config.resume and not stream:
        return _connected(url, schema, lambda conn: _resume(conn, url, config))
    return _connected(url, schema, lambda conn: _new(conn, url, config, stream))


def _connected(url: DatabaseURL, schema: str | None, decide: Callable[[Connection], RunStart]) -> RunStart:
    """``decide`` on a connection to ``url`` that is rolled back and closed after; a driver's error becomes
    one line without the password."""
    conn = connect(url, schema)
    try:
        return decide(conn)
    except PiiGenError:
        raise
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        raise OutputError(f"cannot prepare {url.redacted()}: {url.scrub(str(err))[:500]}") from None
    finally:
        conn.rollback()
        conn.close()


def _busy(conn: Connection, tables: list[str]) -> list[str]:
    """Those of ``tables`` that exist and hold rows."""
    present = [t for t in tables if conn.table_exists(t)]
    return [t for t in present if conn.execute(f"SELECT COUNT(*) FROM {conn.table(t)}")[0][0]]


def _resume(conn: Connection, url: DatabaseURL, config: GenerateConfig) -> RunStart:
    """Continue after the interrupted run's last logged batch, with its own config (its seed, count, batch size)."""
    run = next((r for r in read_runs(conn.execute, conn.table) if r.run_id == config.resume), None)
    if run is None:
        raise OutputError(f"no run '{config.resume}' in {url.redacted()} to resume")
    if run.schema_run is not None:
        raise OutputError(
            f"run '{config.resume}' loaded the schema file {run.schema_run['file']}; resume it with "
            f"--schema {run.schema_run['file']} --resume {config.resume}"
        )
    if run.finished_at is not None:
        raise OutputError(f"run '{config.resume}' already finished; nothing to resume")
    if not run.count:
        raise OutputError(
            f"run '{config.resume}' was a stream, which cannot be resumed; start a new stream instead "
            "(it continues after the people already there)"
        )
    stored = run.config or GenerateConfig.model_validate_json(run.config_json)  # raises what this version rejects
    if run.gaps:
        raise OutputError(f"run '{config.resume}' has gaps in its load log; it cannot be resumed safely")
    plan_config = build_config(
        stored.model_dump(), workers=config.workers, quiet=config.quiet, batch_size=stored.batch_size
    )
    return RunStart(plan_config, run.batches, run.run_id, "resume", run)


def _new(conn: Connection, url: DatabaseURL, config: GenerateConfig, stream: bool) -> RunStart:
    """A new run: refused into tables that hold rows (``--if-exists fail``), or continuing their people's ids."""
    run_id = str(uuid.uuid4())
    if_exists = "append" if stream else config.if_exists
    if if_exists == "replace":
        return RunStart(config, 0, run_id, "replace")
    if if_exists == "fail":
        busy = _busy(conn, tables_for(config))
        if busy:
            raise OutputError(
                f"table {busy[0]} in {url.redacted()} already holds rows; pass --if-exists append "
                "or --if-exists replace"
            )
        return RunStart(config, 0, run_id, "new", stream=stream)
    # New people continue the ids (and so the SSN sequence) after those already loaded.
    # Duplicate records (noise) have ids from DUPLICATE_ID_BASE up; new people follow the real ones.
    pack = packs.get("person")
    root, key = pack.root_table, pack.root_key
    real = f"SELECT MAX({key}) FROM {conn.table(root)} WHERE {key} < {DUPLICATE_ID_BASE}"
    top = conn.execute(real)[0][0] if conn.table_exists(root) else None
    if not top:
        return RunStart(config, 0, run_id, "new", stream=stream)
    first = -(-int(top) // BLOCK_SIZE) * BLOCK_SIZE + 1  # the next whole block
    continued = build_config(config.model_dump(), first_person_id=first)  # refuses a count past the SSN space
    return RunStart(continued, 0, run_id, "stream-append" if stream else "append", stream=stream)


def delta_start(config: GenerateConfig, out: str | None = None) -> GenerateConfig:
    """A population run into Delta tables in ``out`` (default ``config.out``; a URI for Spark): with
    ``--if-exists append`` the new people continue the ids (and so the SSN sequence) after the real ones its
    root table holds, as an append to a database does, so the table's keys stay unique; otherwise ``config``
    as it is."""
    if config.format != "delta" or config.if_exists != "append":
        return config
    from .sinks.delta import max_below

    pack = packs.get("person")
    root = f"{str(out).rstrip('/')}/{pack.root_table}" if out else os.path.join(config.out, pack.root_table)
    top = max_below(root, pack.root_key, DUPLICATE_ID_BASE)
    if not top:
        return config
    first = -(-top // BLOCK_SIZE) * BLOCK_SIZE + 1  # the next whole block
    return build_config(config.model_dump(), first_person_id=first)  # refuses a count past the SSN space


def refuse_schema_append(if_exists: str, where: str) -> None:
    """``--if-exists append`` of a schema file's rows is refused: its keys start at 1 again, so they would clash
    with the rows ``where`` holds."""
    if if_exists == "append":
        raise OutputError(f"--if-exists append cannot add a schema file's rows to tables that hold some (its keys "
                          f"start at 1 again); use --if-exists replace, or {where}")  # fmt: skip


def decide_schema_start(
    file: str, sha256: str, tables: list[str], url: DatabaseURL, db_schema: str | None, *, seed: int, scale: float,
    batch_size: int, if_exists: str, resume: str | None,
) -> RunStart:
    """How a schema file's load into ``url`` starts: new (into ``tables`` that are missing or empty),
    replace, or resume (with the interrupted run's seed, scale and batch size, refused when the file changed).
    ``--if-exists append`` is refused: the file's keys start at 1 again, so a second run's rows would clash
    with the first's."""
    run_id = str(uuid.uuid4())
    here = {"file": file, "sha256": sha256, "seed": seed, "scale": scale, "batch_size": batch_size}
    if resume is None:
        refuse_schema_append(if_exists, "another --db-schema")
    if resume is None and (if_exists == "replace" or (url.file and not os.path.exists(url.file))):
        return RunStart(None, 0, run_id, "replace" if if_exists == "replace" else "new", schema_run=here)
    if resume is not None:
        return _connected(url, db_schema, lambda conn: _resume_schema(conn, url, resume, here))
    return _connected(url, db_schema, lambda conn: _new_schema(conn, url, tables, RunStart(
        None, 0, run_id, "new", schema_run=here)))  # fmt: skip


def _new_schema(conn: Connection, url: DatabaseURL, tables: list[str], start: RunStart) -> RunStart:
    """``start``, unless one of the schema's ``tables`` holds rows already."""
    busy = _busy(conn, tables)
    if busy:
        raise OutputError(f"table {busy[0]} in {url.redacted()} already holds rows; pass --if-exists replace")
    return start


def _resume_schema(conn: Connection, url: DatabaseURL, resume: str, here: dict[str, Any]) -> RunStart:
    """Continue an interrupted schema file load after its last logged batch, with its own seed, scale and
    batch size, and only from the very file it loaded."""
    found = conn.table_exists(RUNS.name) and conn.table_exists(LOAD_LOG.name)
    run = next((r for r in read_runs(conn.execute, conn.table) if r.run_id == resume), None) if found else None
    if run is None:
        raise OutputError(f"no run '{resume}' in {url.redacted()} to resume")
    stored = run.schema_run
    if stored is None:
        raise OutputError(f"run '{resume}' generated people, not a schema file; resume it without --schema")
    if run.finished_at is not None:
        raise OutputError(f"run '{resume}' already finished; nothing to resume")
    if stored["sha256"] != here["sha256"]:
        raise OutputError(
            f"the schema file changed since run '{resume}' loaded it (its SHA-256 was {stored['sha256'][:12]}..., "
            f"now {here['sha256'][:12]}...); resume with the file as it was"
        )
    if run.gaps:
        raise OutputError(f"run '{resume}' has gaps in its load log; it cannot be resumed safely")
    return RunStart(None, run.batches, run.run_id, "resume", run, schema_run=stored, count=run.count)
