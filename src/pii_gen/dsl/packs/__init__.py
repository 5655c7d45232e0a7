"""Schema packs: schema files that ship with pii_gen (``generate --pack NAME``), one ``NAME.yaml`` here each.

A pack is an ordinary schema file with ``settings:``; ``pii_gen packs show NAME`` prints it to copy and edit.
"""

from __future__ import annotations

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
         pii_mode: str | None = None) -> Any:
    """The pack as a checked schema: its settings (defaults or ``settings``), ``people`` persons."""
    from ..loader import loads

    population: dict[str, Any] = {}
    if people is not None:
        if people < 1:
            raise ConfigError(f"-n {people}: must be >= 1 (people)")
        population["size"] = people
    if pii_mode is not None:
        population["pii_mode"] = pii_mode
    return loads(text(name), f"pack {name}", settings=settings, population=population)
