"""What every builder shares: where inputs and outputs live, reading a typed-in CSV, writing a table."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq


HERE = Path(__file__).resolve().parents[1]  # tools/build_data
DATA_DIR = HERE.parent.parent / "data"  # the checked-in tables
INPUTS = HERE / "inputs"
OUT_DIR = DATA_DIR  # where the tables are written (--out)
ZSTD_LEVEL = 19

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def package_dir(name: str) -> Path:
    """Return the directory of an installed package without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def write_table(name: str, table: pa.Table, schema: pa.Schema) -> None:
    """Cast ``table`` to ``schema`` and write it as ``data/<name>.parquet``."""
    table = table.select(schema.names).cast(schema).replace_schema_metadata(None)
    path = OUT_DIR / f"{name}.parquet"
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=1 << 20,
    )
    print(f"  {path.name:32s} {table.num_rows:>9,d} rows  {path.stat().st_size / 1e6:6.2f} MB")


def rows_to_table(rows: Iterable[tuple], schema: pa.Schema) -> pa.Table:
    """Build a table from row tuples ordered like ``schema``."""
    cols = list(zip(*rows)) if rows else [[] for _ in schema.names]
    return pa.table({n: pa.array(list(c), type=f.type) for n, c, f in zip(schema.names, cols, schema)})


def read_input(name: str, *types: Callable[[str], Any]) -> list[tuple]:
    """Rows of ``inputs/<name>.csv`` (after its header), each cell converted by the matching type."""
    path = INPUTS / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or len(header) != len(types):
            raise SystemExit(f"{path.name}: expected a header of {len(types)} columns, got {header}")
        rows = []
        for line, rec in enumerate(reader, start=2):
            if len(rec) != len(types):
                raise SystemExit(f"{path.name}:{line}: expected {len(types)} values, got {len(rec)}")
            try:
                rows.append(tuple(convert(value) for convert, value in zip(types, rec)))
            except ValueError as err:
                raise SystemExit(f"{path.name}:{line}: {err}") from None
    return rows


def grouped(rows: list[tuple]) -> dict[str, list[tuple]]:
    """Rows keyed by their first value, in the order the keys first appear, without the key."""
    out: dict[str, list[tuple]] = {}
    for key, *rest in rows:
        out.setdefault(key, []).append(tuple(rest))
    return out




def us_states() -> list:
    """The 50 states plus DC as ``us.states.State`` objects, sorted by abbr."""
    import us

    states = {s.abbr: s for s in us.states.STATES if s.abbr != "DC"}
    states["DC"] = us.states.DC
    if len(states) != 51:
        raise SystemExit(f"expected 51 states + DC, got {len(states)}")
    return [states[k] for k in sorted(states)]



US_POP_2020 = 331_449_281


def check_shares(rows: list[tuple], first: int) -> None:
    """Stop the build when the shares of a row (from column ``first`` on) do not sum to 1."""
    for r in rows:
        if abs(sum(r[first:]) - 1.0) > 1e-9:
            raise SystemExit(f"shares do not sum to 1: {r}")


