"""The run's manifest: read from an output folder, or rebuilt from a database's bookkeeping tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..record import RunRecord


def read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise ConfigError(f"'{folder}' does not exist")
    if not folder.is_dir():
        raise ConfigError(f"'{folder}' is not a folder (expected pii_gen generate's output folder)")
    path = folder / "manifest.json"
    if not path.exists():
        raise ConfigError(f"'{folder}' has no manifest.json: not a pii_gen output folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"'{path}' cannot be read as JSON: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("generator") != "pii_gen":
        raise ConfigError(f"'{path}' is not a pii_gen manifest")
    return manifest


def db_manifest(runs: list[RunRecord]) -> dict[str, Any]:
    """A manifest like a folder's, from the database's run records (every run's load log counts together)."""
    if not runs:
        raise ConfigError("the database's pii_gen_runs table is empty: nothing was loaded")
    first = runs[0]
    try:
        config = json.loads(first.config_json)
    except ValueError as err:
        raise ConfigError(f"the database's pii_gen_runs.config is not valid JSON ({err}): the run is unknown") from None
    rows: dict[str, int] = {}
    for run in runs:
        for table, n in run.tables.items():
            rows[table] = rows.get(table, 0) + n
    manifest = {
        "generator": "pii_gen",
        "pii_mode": config.get("pii_mode", "strict"),
        "count": rows.get("persons", 0),
        "config": config,
        "runs": len(runs),
        "tables": {t: {"rows": n} for t, n in rows.items()},
    }
    # The effective noise rates, as a folder's manifest records them (the profile's rates under the overrides);
    # a config this version cannot read has none, and the noise checks fall back to its own rates.
    if first.noise is not None:
        manifest["noise"] = first.noise
    return manifest
