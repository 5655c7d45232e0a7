"""Structural checks: the contract's tables and columns with their types, keys, nulls, row counts and
the files' checksums."""

from __future__ import annotations

import zlib
from typing import Any
from pathlib import Path

from ..packs.person.contract import TABLES
from .model import Check, violations
from .source import NOISE_LOG, Source, duck_type, quote
from .checks import CheckGroup, Run

GROUP = "structural"


CHUNK_BYTES = 8 << 20  # files are checksummed a chunk at a time, so memory does not grow with their size


def run(src: Source, folder: Path | None = None) -> list[Check]:
    """Every structural check, in the order the report shows them (``folder``: the output folder read)."""
    checks = [_tables(src)]
    for name, table in TABLES.items():
        if name not in src.columns:
            continue
        checks.append(_columns(src, name))
        checks.append(_primary_key(src, name))
        checks.append(_not_null(src, name))
        for column, parent, parent_column in table.foreign_keys:
            checks.append(_foreign_key(src, name, column, parent, parent_column))
    checks.append(_row_counts(src))
    checks.append(_checksums(src, folder))
    return checks


def _tables(src: Source) -> Check:
    missing = [t for t in TABLES if t not in src.columns]
    extra = [t for t in src.columns if t not in TABLES and t != NOISE_LOG]
    if missing:
        return Check(
            GROUP,
            "tables present",
            "fail",
            f"missing: {', '.join(missing)}",
            f"all {len(TABLES)} contract tables",
            {"missing": missing},
            weight=3,
        )
    return Check(
        GROUP,
        "tables present",
        "pass",
        f"all {len(TABLES)} tables",
        f"all {len(TABLES)} contract tables",
        {"missing": [], "extra": extra},
        weight=3,
    )


def _columns(src: Source, name: str) -> Check:
    """Every contract column present, and every stored value convertible to the contract's type."""
    table = TABLES[name]
    stored = src.columns[name]
    missing = [c for c in table.column_names if c not in stored]
    extra = [c for c in stored if c not in table.column_names]
    type_errors: dict[str, int] = {}
    if name in src.type_errors_sql:
        cur = src.con.execute(src.type_errors_sql[name])
        row = cur.fetchone()
        type_errors = {d[0]: int(v or 0) for d, v in zip(cur.description, row) if v}
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if type_errors:
        problems.append(
            "values not of the contract type: "
            + ", ".join(f"{c} ({n:,}, expected {duck_type(table.column(c).type)})" for c, n in type_errors.items())
        )
    status = "fail" if missing or (type_errors and src.noise is None) else ("warn" if type_errors else "pass")
    figure = "; ".join(problems) if problems else f"{len(table.columns)} columns with their types"
    if extra:
        figure += f" (extra: {', '.join(extra)})"
    return Check(
        GROUP,
        f"{name}: columns and types",
        status,
        figure,
        "every contract column, typed",
        {"missing": missing, "extra": extra, "type_errors": type_errors},
        weight=2,
    )


def _primary_key(src: Source, name: str) -> Check:
    pk = TABLES[name].primary_key
    label = f"{name}: primary key {pk}"
    if not src.has(name, pk):
        return Check(GROUP, label, "skip", f"column {pk} is missing")
    total, distinct, nulls = src.one(
        f"SELECT COUNT(*), COUNT(DISTINCT {quote(pk)}), COUNT(*) - COUNT({quote(pk)}) FROM {quote(name)}"
    )
    duplicates = total - nulls - distinct
    return violations(
        GROUP, label, duplicates + nulls, total, "rows duplicated or null", weight=2, duplicates=duplicates, nulls=nulls
    )


def _not_null(src: Source, name: str) -> Check:
    """Columns the contract never leaves empty are never empty (noise-logged rows aside)."""
    table = TABLES[name]
    cols = [c.name for c in table.columns if not c.nullable and c.name in src.columns[name]]
    if not cols:
        return Check(GROUP, f"{name}: required columns non-null", "skip", "no required column is present")
    rel = src.clean(name)
    row = src.one(f"SELECT COUNT(*), {', '.join(f'COUNT(*) - COUNT({quote(c)})' for c in cols)} FROM {rel}")
    total, nulls = row[0], {c: int(n) for c, n in zip(cols, row[1:]) if n}
    check = violations(
        GROUP,
        f"{name}: required columns non-null",
        sum(nulls.values()),
        total * len(cols),
        "values null",
        warn_only=src.noise is not None,
        nulls=nulls,
    )
    if nulls:
        check.figure += " in " + ", ".join(f"{c} ({n:,})" for c, n in nulls.items())
    return check


def _foreign_key(src: Source, name: str, column: str, parent: str, parent_column: str) -> Check:
    label = f"{name}: {column} -> {parent}"
    if not src.has(name, column) or not src.has(parent, parent_column):
        return Check(GROUP, label, "skip", f"{name}.{column} or {parent}.{parent_column} is missing")
    total, orphans = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE c.{quote(column)} IS NOT NULL AND p.k IS NULL) "
        f"FROM {quote(name)} c LEFT JOIN (SELECT DISTINCT {quote(parent_column)} AS k FROM {quote(parent)}) p "
        f"ON c.{quote(column)} = p.k"
    )
    return violations(GROUP, label, orphans, total, "rows orphaned", weight=2)


def _row_counts(src: Source) -> Check:
    """Each table holds as many rows as the manifest (or the database's load log) records."""
    recorded = {t: int(info.get("rows", 0)) for t, info in (src.manifest.get("tables") or {}).items()}
    found, wrong = {}, {}
    for name in src.columns:
        if name in recorded:
            found[name] = int(src.one(f"SELECT COUNT(*) FROM {quote(name)}")[0])
            if found[name] != recorded[name]:
                wrong[name] = (found[name], recorded[name])
    if not recorded:
        return Check(GROUP, "row counts match the manifest", "skip", "the manifest records no row counts")
    figure = ", ".join(f"{t} {a:,} (manifest {b:,})" for t, (a, b) in wrong.items()) or (
        f"{len(found)} tables, {sum(found.values()):,} rows"
    )
    return Check(
        GROUP,
        "row counts match the manifest",
        "fail" if wrong else "pass",
        figure,
        "equal",
        {"rows": found, "manifest": recorded},
        weight=2,
    )


def _listed_files(files: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path in the folder, its record) of every file the manifest lists: a table's file, or each part file of
    a Delta table (the table's folder lists them under ``parts``)."""
    out = []
    for name, info in files.items():
        parts = info.get("parts") if isinstance(info, dict) else None
        if isinstance(parts, list):
            out += [(f"{name}/{p['path']}", p) for p in parts if isinstance(p, dict) and "path" in p]
        else:
            out.append((name, info))
    return out


def _checksums(src: Source, folder: Path | None) -> Check:
    """Every file the manifest lists has the size and CRC-32 it was written with: a value edited in place fails.

    A database has no such file: its load log holds the CRC-32 of each batch's CSV encoding as it was sent,
    which rows read back from the server (with its own types and number formats) do not reproduce.
    """
    name = "files match the manifest's checksums"
    if folder is None:
        why = "a database holds no files (the load log's batch CRC-32s are of the CSV sent, not reproducible)"
        return Check(GROUP, name, "skip", why)
    files = src.manifest.get("files") or {}
    if not files:
        return Check(GROUP, name, "skip", "the manifest records no checksums")
    wrong: dict[str, str] = {}
    total = 0
    listed = 0
    for file_name, info in _listed_files(files):
        listed += 1
        path = Path(folder) / file_name
        if not path.is_file():
            wrong[file_name] = "missing"
            continue
        size = path.stat().st_size
        total += size
        if size != int(info.get("bytes", size)):
            wrong[file_name] = f"{size:,} bytes, manifest {int(info['bytes']):,}"
            continue
        crc = 0
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
                crc = zlib.crc32(chunk, crc)
        if f"{crc:08x}" != str(info.get("crc32", f"{crc:08x}")).lower():
            wrong[file_name] = f"CRC-32 {crc:08x}, manifest {info['crc32']}"
    figure = "; ".join(f"{f}: {why}" for f, why in wrong.items()) or f"{listed} files, {total:,} bytes"
    return Check(
        GROUP,
        name,
        "fail" if wrong else "pass",
        figure,
        "size and CRC-32 as written",
        {"files": listed, "mismatched": sorted(wrong)},
        weight=2,
    )


class Structural(CheckGroup):
    """The structural checks, as one registered group."""

    name = "structural"
    order = 10

    def run(self, ctx: Run) -> list[Check]:
        return run(ctx.src, ctx.folder)
