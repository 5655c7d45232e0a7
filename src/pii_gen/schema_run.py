"""Schema files run (issue 14): a schema file into files, its preview and its DDL, through the same plan,
backend, outputs and staged writes as the population (``pii_gen generate --schema FILE`` is a thin layer
over :func:`generate_schema`)."""

from __future__ import annotations

import hashlib
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import __version__, dsl
from .api import RunResult, load_plan, resume_command, write_plan
from .backends import Backend, CancelToken, LocalBackend, OnEvent
from .backends.base import RunStats
from .config import GenerateConfig
from .core.plan import RunPlan
from .db.guard import NONE, Overrides
from .db.url import parse as parse_url
from .start import decide_schema_start, refuse_schema_append
from .db import ddl
from .dsl.model import Schema
from .errors import ConfigError
from .packs.schema.constraints import ROW_LEVEL, kind, text as constraint_text
from .packs.schema.anomalies import LABELS
from .packs.schema.pack import BATCH_SIZE, SchemaPack, schema_hash
from .sinks.base import Batch, Sink
from .sinks.direct import PartWriter, Receipt

__all__ = ["SchemaRunResult", "dry_run", "generate_schema", "load_schema", "noise_steps", "preview", "schema_ddl",
           "schema_manifest", "schema_plan"]


def _read(source: str | os.PathLike[str] | Schema) -> tuple[Schema, Path | None, str]:
    """The loaded schema (a path is read and checked), the folder its vocab files are relative to, and the
    SHA-256 its runs record (of the file; of the canonical JSON form for a schema given as an object)."""
    if isinstance(source, Schema):
        return source, None, schema_hash(source)
    return dsl.load(source), Path(source).parent, hashlib.sha256(Path(source).read_bytes()).hexdigest()


def schema_plan(source: str | os.PathLike[str] | Schema, seed: int | None, scale: float | None,
                 batch_size: int | None = None, workers: int | None = None,
                 table_major: bool = False, clean: bool = False) -> tuple[Schema, RunPlan]:
    """The loaded schema (a path is read and checked) and its run plan (``clean``: its clean twin's)."""
    schema, base, digest = _read(source)
    plan = SchemaPack().plan(schema, seed=seed, scale=scale, base=base, batch_size=batch_size,
                             workers=workers or 0, digest=digest, table_major=table_major, clean=clean)
    return schema, plan


def noise_steps(schema: Schema, counts: dict[tuple[str, str, int], int]) -> list[dict[str, object]]:
    """Every ``noise`` step of the schema in file order, with the rows it changed (``counts`` by (table,
    column, step))."""
    out: list[dict[str, object]] = []
    for name, table in schema.tables.items():
        for cname, col in table.columns.items():
            for i, step in enumerate(col.modify):
                (mod_name, params), = step
                if mod_name == "noise":
                    out.append({"table": name, "column": cname, "step": i, "type": params.type, "rate": params.rate,
                                "rows": counts.get((name, cname, i), 0)})
    return out


def reported(schema: Schema, violations: dict[int, int]) -> list[dict[str, object]]:
    """Every row-level ``on_violation: report`` constraint in file order, with the rows that broke it."""
    return [{"constraint": i, "rule": constraint_text(c), "violations": violations.get(i, 0)}
            for i, c in enumerate(schema.constraints) if kind(c) in ROW_LEVEL and c.on_violation == "report"]


def schema_manifest(schema: Schema, plan: RunPlan, fmt: str, files: dict[str, dict[str, object]],
                    noise: dict[tuple[str, str, int], int] | None = None,
                    violations: dict[int, int] | None = None) -> dict[str, object]:
    """A schema run's manifest.json: the schema's name and the SHA-256 of its file, seed, block size, rows and
    file checksums, and when the schema has noise steps, the rows each changed; with ``report`` constraints,
    the rows that broke each."""
    out: dict[str, object] = {
        "generator": "pii_gen", "version": __version__, "schema": schema.name, "schema_sha256": plan.settings["sha256"],
        "block_size": plan.keys.block_size, "seed": plan.seed, "format": fmt,
        "tables": {info["table"]: {"rows": info["rows"], "file": f} for f, info in files.items()},
        "files": files,
    }  # fmt: skip
    if schema.anomalies:
        out["clean_twin"] = bool(plan.settings["clean"])
        counts = plan.settings.get("anomalies", {})
        if counts:
            out["anomalies"] = [{"name": a.name, "kind": a.kind, "table": a.table, "rows": counts[a.name]["count"]}
                                for a in schema.anomalies]
    steps = noise_steps(schema, noise or {})
    if steps:
        out["noise"] = steps
    counted = reported(schema, violations or {})
    if counted:
        out["constraints"] = counted
    return out


@dataclass
class SchemaRunResult(RunResult):
    """What a schema run produced, with each ``noise`` step and the rows it changed (as in the manifest)."""

    noise: list[dict[str, object]] = field(default_factory=list)


@dataclass
class NoisedReceipt(Receipt):
    """A worker's receipt for what it wrote, with its batch's noise counts."""

    noise: dict[tuple[str, str, int], int] = field(default_factory=dict)
    violations: dict[int, int] = field(default_factory=dict)


class _CountingWriter:
    """A part writer that hands its batch's noise counts back with the receipt (runs in the workers)."""

    def __init__(self, writer: PartWriter) -> None:
        self.writer = writer

    def write(self, task: int, batch: Batch) -> Receipt:
        r = self.writer.write(task, batch)  # every field of the writer's receipt kept (Delta's part files)
        return NoisedReceipt(**vars(r), noise=dict(getattr(batch, "noise", {})),
                             violations=dict(getattr(batch, "violations", {})))

    def close(self) -> None:
        self.writer.close()


class _CountingSink:
    """An output as the backend sees it, adding up the noise counts of what passes (batches in this process,
    receipts of workers' parts) before handing it on."""

    def __init__(self, sink: Sink, counts: dict[tuple[str, str, int], int], violations: dict[int, int]) -> None:
        self._sink = sink
        self.counts = counts
        self.violations = violations
        self.capabilities = sink.capabilities

    def _add(self, noise: dict[tuple[str, str, int], int], violations: dict[int, int]) -> None:
        for key, rows in noise.items():
            self.counts[key] = self.counts.get(key, 0) + rows
        for index, rows in violations.items():
            self.violations[index] = self.violations.get(index, 0) + rows

    def part_writer(self, ctx: Any | None = None) -> _CountingWriter:
        return _CountingWriter(self._sink.part_writer(ctx))

    def write(self, batch: Batch) -> None:
        self._add(getattr(batch, "noise", {}), getattr(batch, "violations", {}))
        self._sink.write(batch)

    def record(self, receipt: Receipt) -> None:
        self._add(getattr(receipt, "noise", {}), getattr(receipt, "violations", {}))
        self._sink.record(receipt)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sink, name)


class _NoiseCounting:
    """A backend running the given one (the local one by default) with the output wrapped in a
    :class:`_CountingSink`, so a run knows how many rows each noise step changed, whichever process made them."""

    def __init__(self, backend: Backend | None) -> None:
        self.backend = backend or LocalBackend()
        self.counts: dict[tuple[str, str, int], int] = {}
        self.violations: dict[int, int] = {}

    def run(self, plan: RunPlan, output: Sink, cancel: CancelToken, on_event: OnEvent | None = None) -> RunStats:
        return self.backend.run(plan, _CountingSink(output, self.counts, self.violations), cancel, on_event)  # type: ignore[arg-type]


def generate_schema(
    source: str | os.PathLike[str] | Schema,
    *,
    out: str,
    seed: int | None = None,
    scale: float | None = None,
    format: str = "csv",
    workers: int | None = None,
    batch_size: int | None = None,
    cancel: CancelToken | None = None,
    on_event: OnEvent | None = None,
    backend: Backend | None = None,
    if_exists: str = "fail",
    clean_twin: str | None = None,
    clean: bool = False,
) -> RunResult:
    """Generate a schema file's tables into ``out``: one file per table plus manifest.json, staged and moved
    into place only when everything succeeded (as :func:`write_files`).  Byte-identical for any ``workers``
    and ``batch_size``.  ``if_exists`` is for Delta tables already in ``out`` (fail or replace: append is refused,
    as the file's keys start at 1 again).

    ``clean_twin``: also write the same run without its anomalies there (after ``out``), so that the rows
    differing between the two, added or changed, are exactly those ``anomaly_labels`` lists; ``clean``: write
    only that twin into ``out``."""
    started = time.perf_counter()
    if format == "delta":
        refuse_schema_append(if_exists, "another --out")
    if clean_twin is not None:
        if os.path.abspath(clean_twin) == os.path.abspath(out):
            raise ConfigError("--clean-twin needs a folder of its own, not the --out folder")
        first = generate_schema(source, out=out, seed=seed, scale=scale, format=format, workers=workers,
                                batch_size=batch_size, cancel=cancel, on_event=on_event, backend=backend,
                                if_exists=if_exists)
        twin = generate_schema(source, out=clean_twin, seed=seed, scale=scale, format=format, workers=workers,
                               batch_size=batch_size, cancel=cancel, backend=backend, if_exists=if_exists,
                               clean=True)
        return dataclasses.replace(first, seconds=first.seconds + twin.seconds)
    schema, plan = schema_plan(source, seed, scale, batch_size, workers, clean=clean)
    counting = _NoiseCounting(backend)
    files, rows, stats = write_plan(plan, out, format,
                                     lambda files: schema_manifest(schema, plan, format, files, counting.counts,
                                                                  counting.violations),
                                     cancel, on_event, counting, if_exists)
    return SchemaRunResult(rows=rows, files=files, seconds=time.perf_counter() - started, workers=stats.workers,
                           peak_rss=stats.peak_rss, noise=noise_steps(schema, counting.counts))


def load_schema(
    source: str | os.PathLike[str] | Schema,
    config: GenerateConfig,
    *,
    seed: int | None = None,
    scale: float | None = None,
    cancel: CancelToken | None = None,
    on_event: OnEvent | None = None,
    backend: Backend | None = None,
    overrides: Overrides = NONE,
) -> RunResult:
    """Load a schema file's tables into ``config.db``: DDL from the file, one logged transaction per batch,
    resumable (``config.resume``: with the run's own seed, scale and batch size, from the same file only),
    through the safety guard (:mod:`pii_gen.db.guard`) with ``overrides``.

    Batches are table-major (see :meth:`SchemaPack.plan`), so every foreign key resolves at every commit; the
    rows are those of a file run with the same seed.  ``config.batch_size``, when given, is the rows per
    batch (rounded up to whole blocks); else ten blocks.
    """
    started = time.perf_counter()
    schema, _, digest = _read(source)
    url = parse_url(config.db or "")
    file = str(source) if not isinstance(source, Schema) else (schema.name or "schema")
    start = decide_schema_start(
        file, digest, list(schema.tables), url, config.db_schema,
        seed=schema.seed if seed is None else seed, scale=schema.scale if scale is None else scale,
        batch_size=config.batch_size if "batch_size" in config.model_fields_set else BATCH_SIZE,
        if_exists=config.if_exists, resume=config.resume,
    )  # fmt: skip
    run = start.schema_run
    assert run is not None, "a schema run's start says what rebuilds its plan"
    _, plan = schema_plan(source, run["seed"], run["scale"], run["batch_size"], config.workers, table_major=True)
    plan = dataclasses.replace(plan, first_task=start.first_task)
    if start.existing is None:  # the record's count: the rows the run loads over all tables
        start = dataclasses.replace(start, count=sum(plan.settings["rows"].values()))
    counting = _NoiseCounting(backend)
    sink, stats = load_plan(plan, start, config.db or "", config.db_schema,
                            lambda run_id: resume_command(config, url, run_id, file), cancel, on_event, counting,
                            overrides)
    return SchemaRunResult(rows=dict(sink.rows), files={}, seconds=time.perf_counter() - started,
                           workers=stats.workers, peak_rss=stats.peak_rss, run_id=start.run_id, retries=sink.retries,
                           noise=noise_steps(schema, counting.counts))  # fmt: skip


def _window(effect: Any) -> dict[str, object]:
    if effect.window is not None:
        return {"window": [str(effect.window.start), str(effect.window.end)]}
    return {"source": effect.source.table}


def dry_run(source: str | os.PathLike[str] | Schema, seed: int | None = None,
            scale: float | None = None) -> dict[str, object]:
    """What a run would write, without writing: the tables in generation order with their rows (exact: the
    plan draws every block's counts, and each anomaly's eligible rows), the effects with their windows and
    the anomalies with their counts (``generate --dry-run``)."""
    schema, plan = schema_plan(source, seed, scale)
    counts = plan.settings.get("anomalies", {})
    added: dict[str, int] = {}
    for a in schema.anomalies:
        if a.kind == "duplicate":
            added[a.table] = added.get(a.table, 0) + counts[a.name]["count"]
    tables = [{"name": name, "kind": schema.tables[name].kind,
               "rows": plan.settings["rows"][name] + added.get(name, 0)}
              for name in plan.settings["rows"]]
    if schema.anomalies:
        tables.append({"name": LABELS, "kind": "labels", "rows": sum(c["count"] for c in counts.values())})
    effects = [{"name": e.name, "table": e.table, "time": e.time, **_window(e), "where": e.where, "rate": e.rate,
                "column": e.column, "multiply": e.multiply, "add": e.add, "label": e.label} for e in schema.effects]
    windows = {e.name: _window(e) for e in schema.effects}
    anomalies = [{"name": a.name, "kind": a.kind, "table": a.table, "column": getattr(a, "column", None),
                  "rows": counts[a.name]["count"], "eligible": counts[a.name]["rows"], "severity": a.severity,
                  "effect": a.effect, **(windows[a.effect] if a.effect else {}), "where": a.where,
                  "causal_group": a.group or a.name} for a in schema.anomalies]
    return {"schema": schema.name, "seed": plan.seed, "scale": plan.settings["scale"], "tables": tables,
            "effects": effects, "anomalies": anomalies}  # fmt: skip


def preview(source: str | os.PathLike[str] | Schema, rows: int = 10, seed: int | None = None) -> dict[str, pa.Table]:
    """The first ``rows`` rows of every table, as a run makes them: only block 0 of each table is generated
    (the plan's per-block counts are drawn as for a run, which for a fanout over parent columns reads the
    parent table once)."""
    schema, plan = schema_plan(source, seed, None)
    tables = SchemaPack().runtime(plan).batch(plan.count, 0, 1)
    return {name: table.slice(0, rows) for name, table in tables.items()}


def schema_ddl(source: str | os.PathLike[str] | Schema, dialect: str, db_schema: str | None = None,
               drop_existing: bool = False) -> str:
    """The DDL of a schema file's tables for ``dialect`` (types, primary and foreign keys)."""
    schema, plan = schema_plan(source, None, None)
    return ddl.script(dialect, db_schema, drop_existing, dict(plan.tables), source=f"schema {schema.name or 'file'}")
