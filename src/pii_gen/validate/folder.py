"""An output folder of CSV, JSON Lines or Parquet files, or of Delta tables, opened for validation."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError, PiiGenError
from ..packs.person.contract import TABLES
from .dataset import FILE_EXTENSIONS, NOISE_LOG, Source, _csv_reader, _load_text, _new_connection, _view_over, literal
from .manifest import read_manifest


DELTA = "delta"  # a folder per table, read at its current version


def _file_format(folder: Path, manifest: dict[str, Any]) -> str:
    fmt = manifest.get("format")
    if fmt in FILE_EXTENSIONS or fmt == DELTA:
        return str(fmt)
    for fmt in FILE_EXTENSIONS:
        if (folder / f"persons.{fmt}").exists():
            return fmt
    if (folder / "persons" / "_delta_log").is_dir():
        return DELTA
    raise ConfigError(f"'{folder}' holds no persons.csv, persons.jsonl, persons.parquet or Delta table persons")


def output_path(folder: Path, name: str, fmt: str) -> Path:
    """Where a run in format ``fmt`` put table ``name``: its file, or for Delta its table folder."""
    return folder / name if fmt == DELTA else folder / f"{name}.{FILE_EXTENSIONS[fmt]}"


def _delta_relation(src: Source, name: str, path: Path) -> str:
    """Delta table ``path`` as a DuckDB relation over its Parquet files, read in place: the part files the run's
    manifest lists (the rows that run wrote, also when it appended to older ones), else those of the table's
    current version (pii_gen's tables have no deletion vectors, so the files are the rows)."""
    listed = ((src.manifest.get("files") or {}).get(path.name) or {}).get("parts")
    if isinstance(listed, list):
        uris = [str(path / str(part.get("path"))) for part in listed if isinstance(part, dict)]
        schema = None
    else:
        from ..sinks.delta import deltalake

        table = deltalake().DeltaTable(str(path))
        uris, schema = table.file_uris(), table.schema()
    if not uris:  # no rows: an empty file of the table's columns
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..sinks.delta import deltalake

        schema = schema or deltalake().DeltaTable(str(path)).schema()
        empty = src.tmp / f"{name}.empty.parquet"
        pq.write_table(pa.schema(schema.to_arrow()).empty_table(), empty)
        uris = [str(empty)]
    return f"read_parquet([{', '.join(literal(u) for u in uris)}])"


def open_file(src: Source, name: str, path: Path, fmt: str, types: Any = None) -> None:
    """Table ``name`` of ``src`` from one output file: a view over Parquet in place, CSV or JSON Lines loaded
    once (typed by ``types`` when given, as :func:`_view_over` and :func:`_load_text` take them)."""
    extra = () if types is None else (types,)
    if fmt == "parquet":
        _view_over(src.con, src, name, f"read_parquet({literal(str(path))})", *extra)
        return
    if fmt == DELTA:
        _view_over(src.con, src, name, _delta_relation(src, name, path), *extra)
        return
    header = _header(path, fmt)
    if fmt == "csv":
        reader = _csv_reader(path, header)
    else:
        cols = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in header) + "}"
        reader = f"read_json({literal(str(path))}, format = 'newline_delimited', columns = {cols})"
    _load_text(src, name, reader, header, *extra)


def _header(path: Path, fmt: str) -> list[str]:
    """Column names of a CSV or JSON Lines file, from its first line."""
    with path.open(encoding="utf-8", newline="") as f:
        first = f.readline()
    if not first.strip():
        return []
    if fmt == "csv":
        return next(csv.reader([first]))
    try:
        return list(json.loads(first))
    except ValueError:
        raise ConfigError(f"'{path}' is not JSON Lines: its first line does not parse") from None


def open_folder(folder: Path) -> Source:
    """Open an output folder of CSV, JSON Lines or Parquet files written by ``pii_gen generate``."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    fmt = _file_format(folder, manifest)
    tmp = Path(tempfile.mkdtemp(prefix="pii_gen_validate_"))
    src = Source(con=None, description=f"{folder} ({fmt})", manifest=manifest, tmp=tmp)
    try:
        src.con = _new_connection(tmp)
        for name in [*TABLES, NOISE_LOG]:
            path = output_path(folder, name, fmt)
            if not path.exists():
                continue
            open_file(src, name, path, fmt)
    except PiiGenError:
        src.close()
        raise
    except Exception as err:  # noqa: BLE001 - DuckDB's parse errors name the file and line
        src.close()
        raise ConfigError(f"cannot read {folder}: {' '.join(str(err).split())[:300]}") from None
    return src
