"""The reference-data builder: its typed-in CSV inputs rebuild exactly the checked-in tables of data/, and a
broken input stops it with one line naming the file and the row.

The typed-in groups need no data package, so these run everywhere; rebuilding the package-backed tables needs
the ``data`` extra and is a manual step (``data/SOURCES.md``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "build_data"
#: The tables each typed-in group writes.
GROUPS = {
    "households": ("household_types", "household_sizes", "household_size_by_type", "householder_age_by_type",
                   "group_quarters", "spouse_age_gap", "births_by_mother_age"),
    "demographics": ("age_sex_pyramid", "education_by_age", "marital_status_by_age_sex", "employment_by_age_sex",
                     "race_ethnicity"),
    "work": ("occupation_education",),
}  # fmt: skip


def _build(tool: Path, group: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(tool / "build_data.py"), "--only", group, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_typed_in_inputs_rebuild_the_checked_in_tables(group: str, tmp_path: Path) -> None:
    done = _build(TOOL, group, tmp_path)
    assert done.returncode == 0, done.stderr
    built = sorted(p.stem for p in tmp_path.glob("*.parquet"))
    assert built == sorted(GROUPS[group])
    for name in built:
        fresh, shipped = pq.read_table(tmp_path / f"{name}.parquet"), pq.read_table(ROOT / "data" / f"{name}.parquet")
        assert fresh.schema == shipped.schema, name
        assert fresh.equals(shipped), f"{name}: rebuilt rows differ from data/{name}.parquet"


def test_a_broken_input_row_is_refused_with_its_file_and_line(tmp_path: Path) -> None:
    tool = tmp_path / "build_data"
    shutil.copytree(TOOL, tool)
    path = tool / "inputs" / "household_sizes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "3,fifteen percent"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _build(tool, "households", tmp_path / "out")
    assert done.returncode != 0
    message = done.stderr.strip().splitlines()
    assert len(message) == 1 and message[0].startswith("household_sizes.csv:4: "), done.stderr
    assert "fifteen percent" in message[0]
    assert not list((tmp_path / "out").glob("*.parquet"))
