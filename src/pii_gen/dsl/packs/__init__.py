"""Schema packs: schema files that ship with pii_gen (``generate --pack NAME``), one ``NAME.yaml`` here each.

A pack is an ordinary schema file with ``settings:``; ``pii_gen packs show NAME`` prints it to copy and edit.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from ...errors import ConfigError

_HERE = Path(__file__).parent


def names() -> list[str]:
    """The packs that ship with pii_gen."""
    return sorted(p.stem for p in _HERE.glob("*.yaml"))


def path(name: str) -> Path:
    """The file of pack ``name``; an unknown name is one error listing the packs."""
    if name not in names():
        raise ConfigError(f"--pack {name}: no such pack (packs: {', '.join(names())})")
    return _HERE / f"{name}.yaml"


def text(name: str) -> str:
    """The pack's schema file as it ships."""
    return path(name).read_text(encoding="utf-8")


def summary(name: str) -> str:
    """The first comment line of the pack's file: what it makes."""
    first = next((line for line in text(name).splitlines() if line.startswith("#")), "# ")
    return first.lstrip("# ").strip()


def settings(name: str) -> dict[str, Any]:
    """The pack's settings as written (name -> default, min, max, at)."""
    return dict(yaml.safe_load(text(name)).get("settings") or {})


def load(name: str, settings: dict[str, str] | None = None, people: int | None = None,
         pii_mode: str | None = None, scenario: str | None = None,
         population_config: dict[str, Any] | None = None) -> Any:
    """The pack as a checked schema: its settings (defaults or ``settings``), ``people`` people in its population,
    ``scenario`` (a name of its scenarios or a file) merged in under ``settings``; ``population_config`` (the
    sections of a population config: demographics and the others) for its population's people."""
    from ..loader import loads
    from . import scenarios

    merge = None
    if scenario is not None:
        resolved = scenarios.resolve(name, scenario)
        settings = {**resolved.overrides(), **(settings or {})}
        merge = resolved.merge

    population: dict[str, Any] = {}
    if people is not None:
        if people < 1:
            raise ConfigError(f"-n {people}: must be >= 1 (people)")
        population["size"] = people
    if pii_mode is not None:
        population["pii_mode"] = pii_mode
    if population_config:
        population["config"] = population_config
    schema = loads(text(name), f"pack {name}", settings=settings, population=population, merge=merge)
    return _window_targets(name, schema)


def _window_targets(name: str, schema: Any) -> Any:
    """``schema`` without the targets its pack lists under ``x_whole_calendar_targets`` when the run's calendar
    is not the pack's default window: a month has no November-December share, nor a year's share of weekends."""
    whole = yaml.safe_load(text(name)).get("x_whole_calendar_targets") or []
    own = settings(name)
    window = (own.get("from", {}).get("default"), own.get("to", {}).get("default"))
    if not whole or (schema.calendar.start, schema.calendar.end) == window:
        return schema
    return schema.model_copy(update={"targets": [t for t in schema.targets if t.name not in whole]})


#: The command options that set a pack's run settings, and the setting each writes.
RUN_OPTIONS = {"--from": "from", "--to": "to", "--multiplier": "multiplier"}


def run_settings(name: str, start: str | None = None, end: str | None = None,
                 multiplier: float | None = None) -> dict[str, str]:
    """``--from``/``--to``/``--multiplier`` as the pack's settings, each refused in one line when the pack has no
    such setting or the value is not one (a date, the window the right way round, a positive number)."""
    given = {"--from": start, "--to": end, "--multiplier": multiplier}
    own = settings(name)
    out: dict[str, str] = {}
    days: dict[str, dt.date] = {}
    for option, value in given.items():
        if value is None:
            continue
        if RUN_OPTIONS[option] not in own:
            raise ConfigError(f"{option}: pack {name} has no {RUN_OPTIONS[option]} setting")
        if option == "--multiplier":
            if not float(value) > 0:
                raise ConfigError(f"--multiplier {value}: must be > 0")
            out["multiplier"] = repr(float(value))
            continue
        try:
            days[option] = dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{option} {value}: not a date (YYYY-MM-DD)") from None
        out[RUN_OPTIONS[option]] = days[option].isoformat()
    first = days.get("--from", own.get("from", {}).get("default"))
    last = days.get("--to", own.get("to", {}).get("default"))
    if days and isinstance(first, dt.date) and isinstance(last, dt.date) and first > last:
        raise ConfigError(f"--from {first}: after --to {last}")
    return out
