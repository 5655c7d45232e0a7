"""Schema files run (issue 14): a schema file into files, its preview and its DDL, through the same plan,
backend, outputs and staged writes as the population (``pii_gen generate --schema FILE`` is a thin layer
over :func:`generate_schema`)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pyarrow as pa

from . import __version__, dsl
from .api import RunResult, write_plan
from .backends import Backend, CancelToken, OnEvent
from .core.plan import RunPlan
from .db import ddl
from .dsl.model import Schema
from .packs.schema.pack import BATCH_SIZE, SchemaPack

__all__ = ["generate_schema", "preview", "schema_ddl", "schema_manifest", "schema_plan"]


def schema_plan(source: str | os.PathLike[str] | Schema, seed: int | None, scale: float | None,
                 batch_size: int | None = None, workers: int | None = None) -> tuple[Schema, RunPlan]:
    """The loaded schema (a path is read and checked) and its run plan."""
    if isinstance(source, Schema):
        schema, base, digest = source, None, None
    else:
        schema, base = dsl.load(source), Path(source).parent
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    plan = SchemaPack().plan(schema, seed=seed, scale=scale, base=base, batch_size=batch_size or BATCH_SIZE,
                             workers=workers or 0, digest=digest)
    return schema, plan


def schema_manifest(schema: Schema, plan: RunPlan, fmt: str, files: dict[str, dict[str, object]]) -> dict[str, object]:
    """A schema run's manifest.json: the schema's name and the SHA-256 of its file, seed, block size, rows and
    file checksums."""
    return {
        "generator": "pii_gen", "version": __version__, "schema": schema.name, "schema_sha256": plan.settings["sha256"],
        "block_size": plan.keys.block_size, "seed": plan.seed, "format": fmt,
        "tables": {info["table"]: {"rows": info["rows"], "file": f} for f, info in files.items()},
        "files": files,
    }  # fmt: skip


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
) -> RunResult:
    """Generate a schema file's tables into ``out``: one file per table plus manifest.json, staged and moved
    into place only when everything succeeded (as :func:`write_files`).  Byte-identical for any ``workers``
    and ``batch_size``."""
    started = time.perf_counter()
    schema, plan = schema_plan(source, seed, scale, batch_size, workers)
    files, rows, stats = write_plan(plan, out, format, lambda files: schema_manifest(schema, plan, format, files),
                                     cancel, on_event, backend)
    return RunResult(rows=rows, files=files, seconds=time.perf_counter() - started, workers=stats.workers,
                     peak_rss=stats.peak_rss)


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
