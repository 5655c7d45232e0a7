"""``pii_gen validate``: prove a generated dataset is realistic, consistent and safe.

:func:`validate` opens an output folder or a database (:mod:`.source`), runs the structural, value,
statistical and noise checks in DuckDB SQL over the whole tables, and returns a :class:`Report` with
a verdict and figure per check and a 0-100 quality score; :mod:`.report` renders it for the console,
as JSON and as a self-contained HTML page.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import ConfigError
from ..packs.person.reference import data_dir
from .checks import Run, check_groups
from .model import Check, Report
from .source import Source, literal, open_source

REFERENCE_TABLES = (
    "zip_codes", "area_codes", "states", "race_ethnicity", "first_names", "surnames", "occupations",
    "occupation_education",
)  # fmt: skip

__all__ = ["Check", "Report", "validate"]


def attach_reference(src: Source) -> None:
    """Load the reference tables of data/ that the checks compare against as ``ref_<name>`` tables."""
    for name in REFERENCE_TABLES:
        path = data_dir() / f"{name}.parquet"
        src.con.execute(f"CREATE TABLE ref_{name} AS SELECT * FROM read_parquet({literal(str(path))})")


def validate(
    folder: Path | str | None = None,
    db: str | None = None,
    schema: str | None = None,
    pii_mode: str | None = None,
    min_score: float = 90.0,
) -> Report:
    """Check an output folder or a database (``db`` URL) and return the report."""
    if not 0 <= min_score <= 100:
        raise ConfigError(f"--min-score must be between 0 and 100 (got {min_score:g})")
    if pii_mode not in (None, "strict", "realistic"):
        raise ConfigError(f"pii mode must be strict or realistic (got {pii_mode!r})")
    started = time.perf_counter()
    src = open_source(Path(folder) if folder is not None else None, db, schema)
    try:
        attach_reference(src)
        src.prepare()
        run = Run(src, Path(folder) if folder is not None else None, pii_mode or src.pii_mode)
        checks: list[Check] = [check for group in check_groups() for check in group().run(run)]
        plots = run.plots
        rows = {t: int(src.one(f'SELECT COUNT(*) FROM "{t}"')[0]) for t in src.columns}
    finally:
        src.close()
    return Report(
        source=src.description,
        checks=checks,
        min_score=min_score,
        seconds=time.perf_counter() - started,
        rows=rows,
        plots=plots,
    )
