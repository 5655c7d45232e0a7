"""The Python API the command line is a thin layer over."""

from __future__ import annotations

import json
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pyarrow as pa

from .config import GenerateConfig
from .db.cleanup import Cleanup
from .db.cleanup import cleanup as db_cleanup
from .db.guard import NONE, Overrides
from .db.url import DatabaseURL, redact, scheme_of
from .db.url import parse as parse_url
from .errors import ConfigError, OutputError
from .sinks.database import DatabaseSink
from .sinks.outputs import OUTPUTS
from .backends import Backend, BlockDone, CancelToken, Event, Interrupted, LocalBackend, OnEvent, Retry, RunStats
from .core.plan import RunPlan
from .planning import build_plan
from .record import RunRecord
from .start import RunStart, decide_start, delta_start
from .sinks import Staging, file_sink
from .core.contract import Table

if TYPE_CHECKING:
    from .dsl import Schema

__all__ = ["CancelToken", "Interrupted", "RunResult", "cleanup", "generate", "generate_schema", "load_database",
           "manifest", "preview_schema", "resume_command", "schema_ddl", "schema_tables", "write_files",
           "write_plan"]  # fmt: skip

Progress = Callable[[int], None]  # called with the people of each delivered batch


@dataclass
class RunResult:
    """What a generation run produced."""

    rows: dict[str, int]
    files: dict[str, dict[str, object]]
    seconds: float
    workers: int
    peak_rss: int
    run_id: str | None = None  # database loads: the id to resume or audit with
    retries: int = 0  # database loads: batches retried after transient errors

    people: int = 0  # people generated (persons rows less duplicate records)

    @property
    def people_per_second(self) -> float:
        return self.people / self.seconds if self.seconds > 0 else 0.0

    @property
    def duplicates(self) -> int:
        """Duplicate person records that noise added."""
        return self.rows.get("persons", 0) - self.people


def manifest(config: GenerateConfig, files: dict[str, dict[str, object]], plan: RunPlan) -> dict[str, object]:
    """The run's record for files: what produced them (``config`` and its ``plan``), their rows and checksums."""
    return RunRecord.of_files(config, files, plan).to_manifest()


def generate(
    config: GenerateConfig,
    progress: Progress | None = None,
    *,
    cancel: CancelToken | None = None,
    on_event: OnEvent | None = None,
    backend: Backend | None = None,
    overrides: Overrides = NONE,
) -> RunResult:
    """Generate ``config.count`` people: into ``config.db`` when set, else into files in ``config.out``.

    Callable from any thread.  ``cancel`` stops the run from elsewhere (another thread, a signal handler)
    as Ctrl-C did: the batch being delivered is finished, then :class:`Interrupted` is raised, with the
    output folder as it was, or with the database holding whole batches and the command that resumes it.
    ``on_event`` hears the backend's events (:class:`~pii_gen.backends.BlockDone`, ``Retry``, ``Memory``);
    ``progress`` is the short form that hears the people of each batch.  ``overrides``: what the database
    safety guard (:mod:`pii_gen.db.guard`) is allowed to let through.
    """
    if config.db is not None:
        return load_database(config, progress, cancel=cancel, on_event=on_event, backend=backend,
                             overrides=overrides)  # fmt: skip
    return write_files(config, progress, cancel=cancel, on_event=on_event, backend=backend)


def _listener(progress: Progress | None, on_event: OnEvent | None) -> OnEvent | None:
    """One ``on_event`` for both ways of listening."""
    if progress is None:
        return on_event

    def both(event: Event) -> None:
        if isinstance(event, BlockDone):
            progress(event.people)
        if on_event is not None:
            on_event(event)

    return both


def load_database(
    config: GenerateConfig,
    progress: Progress | None = None,
    *,
    cancel: CancelToken | None = None,
    on_event: OnEvent | None = None,
    backend: Backend | None = None,
    overrides: Overrides = NONE,
) -> RunResult:
    """Load people into a database, one logged transaction per batch (see :mod:`pii_gen.sinks.database`),
    through the safety guard (:mod:`pii_gen.db.guard`) with ``overrides``.

    With ``config.resume`` the interrupted run's own config (seed, count, batch size)
    is used and loading continues after its last logged batch (see :func:`~pii_gen.start.decide_start`).
    """
    started = time.perf_counter()
    url = parse_url(config.db or "")
    start = decide_start(config, url, config.db_schema)
    assert start.config is not None, "a population run starts from a config"
    plan = build_plan(start.config, first_task=start.first_task)
    sink, stats = load_plan(plan, start, config.db or "", config.db_schema,
                            lambda run_id: resume_command(config, url, run_id),
                            cancel, _listener(progress, on_event), backend, overrides)  # fmt: skip
    return RunResult(
        rows=dict(sink.rows), files={}, seconds=time.perf_counter() - started, workers=stats.workers,
        peak_rss=stats.peak_rss, run_id=start.run_id, retries=sink.retries, people=stats.people,
    )  # fmt: skip


def load_plan(
    plan: RunPlan,
    start: RunStart,
    db: str,
    db_schema: str | None,
    resume: Callable[[str], str],
    cancel: CancelToken | None,
    on_event: OnEvent | None,
    backend: Backend | None,
    overrides: Overrides = NONE,
) -> tuple[DatabaseSink, RunStats]:
    """Run ``plan`` into the database ``db`` as ``start`` decided: (the sink, with its rows and retries, and
    the run's stats).  A cancel ends in :class:`Interrupted` naming the batches loaded and, by ``resume``
    (which takes the run id), the command that continues the load; the safety guard refuses (with
    ``overrides``) before anything is written."""
    cancel = cancel or CancelToken()
    url = parse_url(db)
    output = OUTPUTS.by_scheme(scheme_of(db), streaming=False)
    assert output is not None, "every scheme parse_url takes has its output"
    sink: DatabaseSink = output(url, start, plan.tables, db_schema, overrides)
    sink.cancel = cancel
    if on_event is not None:
        listen = on_event
        sink.on_retry = lambda table, batch, error: listen(Retry(table, batch, error))
    run = sink.prepare()
    with sink:
        sink.open({name: t.arrow_schema for name, t in plan.tables.items()})
        stats = (backend or LocalBackend()).run(plan, sink, cancel, on_event)
        if stats.cancelled:
            sink.abort()
            raise cancel.error(
                f"{sink.next_batch} batches are loaded (run {run.run_id}); continue with: {resume(str(run.run_id))}"
            )
    return sink, stats


def cleanup(db: str, db_schema: str | None = None, *, confirm: str | None = None, dry_run: bool = False,
            overrides: Overrides = NONE, clock: Callable[[], float] = time.time) -> Cleanup:  # fmt: skip
    """What pii_gen created in the database ``db`` (its ``db_schema``): listed with a token to confirm, or
    with ``dry_run`` only listed, or with ``confirm`` (that token) dropped (see :mod:`pii_gen.db.cleanup`).
    ``clock`` gives the Unix time tokens are issued and checked at."""
    return db_cleanup(parse_url(db), db_schema, confirm=confirm, dry_run=dry_run, overrides=overrides, clock=clock)


def resume_command(config: GenerateConfig, url: DatabaseURL, run_id: str, schema_file: str | None = None) -> str:
    """The command that continues an interrupted load, as it can be pasted (the password left out)."""
    args = ["pii_gen", "generate", *(["--schema", schema_file] if schema_file else []),
            "--db", redact(config.db or "", url.password)]  # fmt: skip
    if config.db_schema:
        args += ["--db-schema", config.db_schema]
    command = shlex.join([*args, "--resume", run_id])
    return command + (" (with the password in place of ***)" if url.password else "")


def write_files(
    config: GenerateConfig,
    progress: Progress | None = None,
    *,
    cancel: CancelToken | None = None,
    on_event: OnEvent | None = None,
    backend: Backend | None = None,
) -> RunResult:
    """Generate ``config.count`` people into ``config.out`` as one file per table plus manifest.json.

    Files are written to a hidden folder first and moved into place only when
    everything succeeded, so an error or a cancel leaves the output folder as it was.
    """
    started = time.perf_counter()
    config = delta_start(config)  # an append to Delta tables continues their people's ids
    plan = build_plan(config)
    files, rows, stats = write_plan(plan, config.out, config.format, lambda files: manifest(config, files, plan),
                                     cancel, _listener(progress, on_event), backend, config.if_exists)
    return RunResult(
        rows=rows,
        files=files,
        seconds=time.perf_counter() - started,
        workers=stats.workers,
        peak_rss=stats.peak_rss,
        people=stats.people,
    )


def write_plan(
    plan: RunPlan,
    out: str,
    fmt: str,
    record: Callable[[dict[str, dict[str, object]]], dict[str, object]],
    cancel: CancelToken | None,
    on_event: OnEvent | None,
    backend: Backend | None,
    if_exists: str = "fail",
) -> tuple[dict[str, dict[str, object]], dict[str, int], RunStats]:
    """Run ``plan`` into files in ``out`` plus the manifest ``record`` makes of them: (files, rows, stats).
    ``if_exists`` says what an output whose tables outlive a run (Delta) does with those already there.

    Files are written to a hidden folder first and moved into place only when
    everything succeeded, so an error or a cancel leaves the output folder as it was.
    """
    cancel = cancel or CancelToken()
    staging = Staging(out)
    try:
        sink = file_sink(fmt, staging, if_exists)
        with sink:
            sink.open({name: t.arrow_schema for name, t in plan.tables.items()})
            stats = (backend or LocalBackend()).run(plan, sink, cancel, on_event)
            if cancel.cancelled:
                raise cancel.error()
        final = sink.publish()  # Delta: one commit per table, which no cancel undoes
        files = sink.checksums()
        text = json.dumps(record(files), indent=2, sort_keys=False) + "\n"
        staging.path("manifest.json").write_text(text, encoding="utf-8")
        if cancel.cancelled and not final:
            raise cancel.error()
        staging.commit()  # a cancel from here on comes too late to undo a finished run
    except OSError as err:  # a full disk, a file size limit, a vanished folder
        staging.abort()
        raise OutputError(f"cannot write to output folder '{out}': {_reason(err)}") from None
    except BaseException:
        staging.abort()
        raise
    return files, dict(sink.rows), stats


def _reason(err: OSError) -> str:
    """What went wrong, in the system's words (Arrow's I/O errors carry them only in the message)."""
    if err.errno:
        return os.strerror(err.errno)
    return " ".join(str(err).split())


def _schema(schema: Schema | str | Path) -> Schema | str | Path:
    """A schema as given, read and checked first when it is a file (a SchemaError before anything else)."""
    from . import dsl

    if isinstance(schema, (str, Path)):
        dsl.load(schema)
    return schema


def generate_schema(
    schema: Schema | str | Path,
    config: GenerateConfig,
    *,
    seed: int | None = None,
    scale: float | None = None,
    cancel: CancelToken | None = None,
    on_event: OnEvent | None = None,
    backend: Backend | None = None,
    clean_twin: str | None = None,
    overrides: Overrides = NONE,
) -> RunResult:
    """Generate a schema file's tables into files in ``config.out``, or into the database ``config.db``
    (see :mod:`pii_gen.schema_run`; ``overrides``: what the database safety guard may let through).

    ``config`` says where and how (format, workers; for a database ``db_schema``, ``if_exists``, ``resume``);
    ``seed`` and ``scale`` override the file's; ``clean_twin`` is a folder for the same run without its
    anomalies (files only).  The file is read and checked (a :class:`~pii_gen.errors.SchemaError`) before
    any row.
    """
    from . import schema_run

    _schema(schema)
    if clean_twin is not None and config.db is not None:
        raise ConfigError("--clean-twin writes files: it goes with --out, not --db")
    if config.db is not None:
        return schema_run.load_schema(schema, config, seed=seed, scale=scale, cancel=cancel, on_event=on_event,
                                      backend=backend, overrides=overrides)  # fmt: skip
    return schema_run.generate_schema(
        schema, out=config.out, seed=seed, scale=scale, format=config.format, workers=config.workers,
        cancel=cancel, on_event=on_event, backend=backend, if_exists=config.if_exists, clean_twin=clean_twin,
    )  # fmt: skip


def schema_tables(schema: Schema | str | Path) -> dict[str, Table]:
    """The output tables of a schema file (columns, types, keys, foreign keys), as the DDL and the sinks read them."""
    from . import schema_run

    _, plan = schema_run.schema_plan(_schema(schema), None, None)
    return dict(plan.tables)


def schema_ddl(
    schema: Schema | str | Path, dialect: str, db_schema: str | None = None, drop_existing: bool = False
) -> str:
    """The DDL of a schema file's tables in ``dialect`` (what ``create-schema --schema FILE --dry-run`` prints)."""
    from . import schema_run

    return schema_run.schema_ddl(_schema(schema), dialect, db_schema, drop_existing)


def dry_run_schema(schema: Schema | str | Path, seed: int | None = None, scale: float | None = None) -> dict:
    """A schema run's plan without writing anything (``generate --dry-run``): tables in generation order with
    their rows, effects with their windows, anomalies with their counts (see :func:`schema_run.dry_run`)."""
    from . import schema_run

    return schema_run.dry_run(_schema(schema), seed, scale)


def preview_schema(
    schema: Schema | str | Path, rows: int = 10, seed: int | None = None
) -> dict[str, pa.Table | str]:
    """Up to ``rows`` first rows of every table, as a run makes them (block 0 of each table)."""
    from . import schema_run

    return dict(schema_run.preview(_schema(schema), rows, seed))
