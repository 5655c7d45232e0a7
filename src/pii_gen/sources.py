"""Where a run's tables come from, as the command line and the job server both name it: a pack (with its
settings, window, multiplier and scenario), a schema file or a metadata template, each checked before any row.

Imports of the schema package stay inside the functions: a population run never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["pack_settings", "schema_source"]


def pack_settings(pack_name: str | None, settings: tuple[str, ...], scenario: str | None, start: str | None,
                  end: str | None, multiplier: float | None) -> dict[str, str]:
    """The settings of a pack's run: ``--set``, then the window and multiplier options (refused without --pack)."""
    given = {"--scenario": scenario, "--from": start, "--to": end, "--multiplier": multiplier}
    if pack_name is None and not settings and all(v is None for v in given.values()):
        return {}  # a population run: the schema package is not imported before the signal handlers are in place
    from .dsl.settings import parse_assignments

    if pack_name is None:
        for option, value in given.items():
            if value is not None:
                raise ConfigError(f"{option} needs --pack NAME")
        return parse_assignments(settings)
    from .dsl import packs

    return {**parse_assignments(settings), **packs.run_settings(pack_name, start, end, multiplier)}


def schema_source(schema_file: Path | None, template_file: Path | None, pack_name: str | None,
                  settings: dict[str, str], *, scenario: str | None, count: int | None, pii_mode: str | None,
                  config_file: Path | None, noise: str | None, population_config: dict[str, Any] | None = None) -> Any:
    """The checked schema of ``--schema``, ``--template`` or ``--pack`` (with its ``settings``, see
    :func:`pack_settings`, and ``--scenario``), for either engine; population options are refused, except a
    pack's ``-n`` (its people), ``--pii-mode`` and ``population_config`` (its population's config sections)."""
    from . import dsl

    flag = "--schema FILE" if schema_file is not None else "--template FILE" if template_file else "--pack"
    if pack_name is not None:
        from .dsl import packs

        # -n is the pack's people and --pii-mode its population's: both belong to the pack's run
        schema = packs.load(pack_name, settings, people=count, pii_mode=pii_mode, scenario=scenario,
                            population_config=population_config)
        count = pii_mode = None
    elif template_file is not None:
        from .importers.run import import_template

        schema = import_template(template_file).model
    elif settings:
        from .packs.schema.pack import with_data

        # every error in the file before anything else; its vocab files read from its folder, as without --set
        schema = with_data(dsl.load(schema_file, settings), schema_file.parent)
    else:
        schema = dsl.load(schema_file)  # every error in the file before anything else
    given = {"-n/--count": count, "--config": config_file, "--pii-mode": pii_mode, "--noise": noise}
    for option, value in given.items():
        if value is not None:
            raise ConfigError(f"{option} does not apply to {flag} (the file describes the tables)")
    return schema
