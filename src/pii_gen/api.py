"""The Python API the command line is a thin layer over."""

from __future__ import annotations

import json
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn

import pyarrow as pa

from .config import GenerateConfig
from .db import ddl
from .db.url import DatabaseURL, redact, scheme_of
from .db.url import parse as parse_url
from .errors import ConfigError, OutputError
from .sinks.database import DatabaseSink
from .sinks.outputs import OUTPUTS
from .backends import Backend, BlockDone, CancelToken, Event, Interrupted, LocalBackend, OnEvent, Retry
from .core.plan import RunPlan
from .planning import build_plan
from .record import RunRecord
from .start import decide_start
from .sinks import Staging, file_sink
from .core.contract import Table

if TYPE_CHECKING:
    from .dsl import Schema

__all__ = ["CancelToken", "Interrupted", "RunResult", "generate", "generate_schema", "load_database", "manifest",
           "preview_schema", "resume_command", "schema_ddl", "schema_tables", "write_files"]  # fmt: skip

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
) -> RunResult:
    """Generate ``config.count`` people: into ``config.db`` when set, else into files in ``config.out``.

    Callable from any thread.  ``cancel`` stops the run from elsewhere (another thread, a signal handler)
    as Ctrl-C did: the batch being delivered is finished, then :class:`Interrupted` is raised, with the
    output folder as it was, or with the database holding whole batches and the command that resumes it.
    ``on_event`` hears the backend's events (:class:`~pii_gen.backends.BlockDone`, ``Retry``, ``Memory``);
    ``progress`` is the short form that hears the people of each batch.
    """
    if config.db is not None:
        return load_database(config, progress, cancel=cancel, on_event=on_event, backend=backend)
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
) -> RunResult:
    """Load people into a database, one logged transaction per batch (see :mod:`pii_gen.sinks.database`).

    With ``config.resume`` the interrupted run's own config (seed, count, batch size)
    is used and loading continues after its last logged batch (see :func:`~pii_gen.start.decide_start`).
    """
    started = time.perf_counter()
    cancel = cancel or CancelToken()
    listen = _listener(progress, on_event)
    url = parse_url(config.db)
    start = decide_start(config, url, config.db_schema)
    plan = build_plan(start.config, first_task=start.first_task)
    output = OUTPUTS.by_scheme(scheme_of(config.db), streaming=False)
    assert output is not None, "every scheme parse_url takes has its output"
    sink: DatabaseSink = output(url, start, plan.tables, config.db_schema)
    sink.cancel = cancel
    if listen is not None:
        sink.on_retry = lambda table, batch, error: listen(Retry(table, batch, error))
    run = sink.prepare()
    with sink:
        sink.open({name: t.arrow_schema for name, t in plan.tables.items()})
        stats = (backend or LocalBackend()).run(plan, sink, cancel, listen)
        if stats.cancelled:
            sink.abort()
            raise cancel.error(
                f"{sink.next_batch} batches are loaded (run {run.run_id}); continue with: "
                f"{resume_command(config, url, run.run_id)}"
            )
    return RunResult(
        rows=dict(sink.rows), files={}, seconds=time.perf_counter() - started, workers=stats.workers,
        peak_rss=stats.peak_rss, run_id=run.run_id, retries=sink.retries, people=stats.people,
    )  # fmt: skip


def resume_command(config: GenerateConfig, url: DatabaseURL, run_id: str) -> str:
    """The command that continues an interrupted load, as it can be pasted (the password left out)."""
    args = ["pii_gen", "generate", "--db", redact(config.db or "", url.password)]
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
    cancel = cancel or CancelToken()
    staging = Staging(config.out)
    try:
        sink = file_sink(config.format, staging)
        plan = build_plan(config)
        with sink:
            sink.open({name: t.arrow_schema for name, t in plan.tables.items()})
            stats = (backend or LocalBackend()).run(plan, sink, cancel, _listener(progress, on_event))
            if cancel.cancelled:
                raise cancel.error()
        files = sink.checksums()
        text = json.dumps(manifest(config, files, plan), indent=2, sort_keys=False) + "\n"
        staging.path("manifest.json").write_text(text, encoding="utf-8")
        if cancel.cancelled:
            raise cancel.error()
        staging.commit()  # a cancel from here on comes too late to undo a finished run
    except OSError as err:  # a full disk, a file size limit, a vanished folder
        staging.abort()
        raise OutputError(f"cannot write to output folder '{config.out}': {_reason(err)}") from None
    except BaseException:
        staging.abort()
        raise
    return RunResult(
        rows=dict(sink.rows),
        files=files,
        seconds=time.perf_counter() - started,
        workers=stats.workers,
        peak_rss=stats.peak_rss,
        people=stats.people,
    )


def _reason(err: OSError) -> str:
    """What went wrong, in the system's words (Arrow's I/O errors carry them only in the message)."""
    if err.errno:
        return os.strerror(err.errno)
    return " ".join(str(err).split())


def _schema(schema: Schema | str | Path) -> Schema:
    """A schema as given, or read and checked from its file."""
    from . import dsl

    return dsl.load(schema) if isinstance(schema, (str, Path)) else schema


def _needs_engine() -> NoReturn:
    raise ConfigError("schema files cannot be generated yet (coming with the schema engine)")


def generate_schema(
    schema: Schema | str | Path,
    config: GenerateConfig,
    *,
    seed: int | None = None,
    scale: float | None = None,
    cancel: CancelToken | None = None,
    on_event: OnEvent | None = None,
    backend: Backend | None = None,
) -> RunResult:
    """Generate a schema file's tables into ``config.db`` when set, else into files in ``config.out``.

    ``config`` says where and how (format, workers, batch size, if-exists, resume); ``seed`` and ``scale``
    override the file's.  The file is read and checked (a :class:`~pii_gen.errors.SchemaError`) before any row.
    """
    _schema(schema)
    _needs_engine()


def schema_tables(schema: Schema | str | Path) -> dict[str, Table]:
    """The output tables of a schema file (columns, types, keys, foreign keys), as the DDL and the sinks read them."""
    _schema(schema)
    _needs_engine()


def schema_ddl(
    schema: Schema | str | Path, dialect: str, db_schema: str | None = None, drop_existing: bool = False
) -> str:
    """The DDL of a schema file's tables in ``dialect`` (what ``create-schema --schema FILE --dry-run`` prints)."""
    return ddl.script(dialect, db_schema, drop_existing, schema_tables(schema))


def preview_schema(
    schema: Schema | str | Path, rows: int = 10, seed: int | None = None
) -> dict[str, pa.Table | str]:
    """Up to ``rows`` first rows of every table in generation order, or why a table cannot be shown.

    Until the schema engine lands, the tables made here are those that need no other table and no
    population: vocab tables from ``data:`` (their generated columns after the data) and entity or fact
    tables with ``rows:`` whose columns the block generators make alone (``choice from:`` may read a vocab
    table).  Every other table maps to a one-line note such as ``needs the engine (ref/lookup)``.
    """
    from .dsl import order, row_estimates
    from .dsl.columns import table_block

    schema = _schema(schema)
    estimates = row_estimates(schema)
    vocab: dict[str, pa.Table] = {}
    out: dict[str, pa.Table | str] = {}
    for name in order(schema):
        table = schema.tables[name]
        reason = _engine_reason(schema, name, vocab)
        if reason is not None:
            out[name] = f"needs the engine ({reason})"
            continue
        try:
            if table.kind == "vocab":
                data = pa.Table.from_pylist(table.data or [])
                made = table_block(schema, name, 0, 0, data.num_rows, seed, total_rows=data.num_rows, tables=vocab)
                for column in made.column_names:
                    data = data.append_column(column, made.column(column))
                vocab[name] = data
                out[name] = data.slice(0, rows)
            else:
                total = estimates[name] or 0
                out[name] = table_block(schema, name, 0, 0, min(rows, total), seed, total_rows=total, tables=vocab)
        except NotImplementedError as err:  # a generator that declares this case the engine's
            out[name] = f"needs the engine ({err})"
    return out


def _engine_reason(schema: Schema, name: str, vocab: dict[str, pa.Table]) -> str | None:
    """Why a table can only be made by the engine (None: the block generators make it alone)."""
    from .dsl.base import GENERATORS, MODIFIERS

    table = schema.tables[name]
    if table.kind == "vocab" and table.file is not None:
        return "vocab file"
    if table.from_ is not None:
        return f"from: {table.from_}"
    if table.parent is not None:
        return f"parent {table.parent}"
    needs: list[str] = []
    for column in table.columns.values():
        source = getattr(column, "from_", None)
        if GENERATORS[column.gen].engine:
            needs.append(column.gen)
        elif column.gen == "choice" and source is not None and source.split(".")[0] not in vocab:
            needs.append(f"from: {source}")
        needs += [mod for step in column.modify for mod, _ in step if MODIFIERS[mod].engine]
    return "/".join(dict.fromkeys(needs)) or None
