"""The run's manifest: read from an output folder, or rebuilt from a database's bookkeeping tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config import GenerateConfig
from ..errors import ConfigError
from ..variability import make_plan


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


def db_manifest(configs: list[str], rows: dict[str, int]) -> dict[str, Any]:
    """A manifest like a folder's, from the runs' stored configs and the load log's row counts."""
    if not configs:
        raise ConfigError("the database's pii_gen_runs table is empty: nothing was loaded")
    try:
        config = json.loads(configs[0]) if isinstance(configs[0], str) else dict(configs[0])
    except ValueError as err:
        raise ConfigError(f"the database's pii_gen_runs.config is not valid JSON ({err}): the run is unknown") from None
    manifest = {
        "generator": "pii_gen",
        "pii_mode": config.get("pii_mode", "strict"),
        "count": rows.get("persons", 0),
        "config": config,
        "runs": len(configs),
        "tables": {t: {"rows": n} for t, n in rows.items()},
    }
    # The effective noise rates, as a folder's manifest records them (the profile's rates under the overrides).
    try:
        plan = make_plan(GenerateConfig.model_validate(config).noise)
    except ValidationError:
        plan = None  # a config this version cannot read: the noise checks fall back to its own rates
    if plan is not None and plan.active:
        manifest["noise"] = plan.describe()
    return manifest
