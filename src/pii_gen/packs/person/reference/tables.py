"""Reading the reference tables in ``data/``, and the vocabularies and array helpers they share.

Kept apart from the samplers built on them, so a check or a tool can read a table without preparing them all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ....errors import DataError

RACES = ("white", "black", "asian", "native", "multiple", "hispanic")
RACE_LABELS = (
    "White",
    "Black or African American",
    "Asian or Pacific Islander",
    "American Indian or Alaska Native",
    "Two or more races",
    "Hispanic or Latino",
)
EDUCATION = ("less_than_high_school", "high_school", "some_college", "associate", "bachelor", "graduate")
MARITAL = ("never_married", "married", "separated", "divorced", "widowed")
SEXES = ("F", "M")
MAX_AGE = 100


def data_dir() -> Path:
    """The reference data folder: inside the installed package, else the source checkout's ``data/``."""
    here = Path(__file__).resolve().parents[3]  # the pii_gen package
    for candidate in (here / "data", here.parent.parent / "data"):
        if (candidate / "first_names.parquet").exists():
            return candidate
    raise DataError("reference data not found: reinstall pii-gen (the data/ folder is missing)")


def _read(name: str) -> pa.Table:
    path = data_dir() / f"{name}.parquet"
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise DataError(f"reference table {path.name} cannot be read: {err}") from None


def _np(table: pa.Table, column: str, dtype: type | str | None = None) -> np.ndarray:
    arr = table.column(column).to_numpy()
    return arr.astype(dtype) if dtype is not None else arr


def _index(values: pa.ChunkedArray | pa.Array, vocab: pa.Array) -> np.ndarray:
    """Position of each value in ``vocab``, -1 where it is not there."""
    return pc.fill_null(pc.index_in(values, vocab), -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _csr(owner: np.ndarray, n_owners: int) -> tuple[np.ndarray, np.ndarray]:
    """Start offset and count per owner for rows sorted by owner."""
    counts = np.bincount(owner, minlength=n_owners)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return starts, counts


#: The surname table's column holding each race/ethnicity group's share (Census 2020 surname file).
SURNAME_SHARE_COLUMNS = {
    "white": "pct_white",
    "black": "pct_black",
    "asian": "pct_api",
    "native": "pct_aian",
    "multiple": "pct_2prace",
    "hispanic": "pct_hispanic",
}
