"""Scenarios of a pack: named sets of settings, effects and targets, each inheriting from a base.

A pack's scenarios are the files ``NAME/scenarios/*.yaml`` beside its schema file; ``--scenario PATH`` reads
any other file the same way.  A scenario file::

    # What it simulates (its first comment line is its summary)
    extends: normal-ops        # the scenario it starts from (a name of the pack's, or a path); none: the pack
    settings: {late_share: 0.2}
    effects: [{name: black_friday, table: days, time: day, window: {...}, column: order_rate, multiply: 3}]
    targets: [{name: late, metric: share, table: orders, where: late, between: [0.18, 0.22]}]
    anomalies: [{name: spikes, kind: spike, table: order_items, column: line_total, count: 50}]
    remove: [some_inherited_effect_target_or_anomaly]

Merge rules, applied from the farthest base to the scenario itself: ``settings`` merge key by key (the
later file wins; ``--set`` and the command's own options win over every file); ``effects``, ``targets`` and
``anomalies`` merge by ``name`` (a later one replaces the inherited one of that name in its place, a new name
is appended); ``remove`` drops inherited effects, targets or anomalies by name.  The pack's own effects,
targets and anomalies come first, as the farthest base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...errors import ConfigError

_HERE = Path(__file__).parent
_KEYS = {"extends", "settings", "effects", "targets", "anomalies", "remove", "description"}
#: The lists a scenario merges by name.
_LISTS = ("effects", "targets", "anomalies")


@dataclass
class Scenario:
    """A scenario resolved through its bases: the settings, effects and targets it adds to its pack."""

    name: str
    summary: str
    chain: list[str]
    settings: dict[str, Any] = field(default_factory=dict)
    effects: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    def merge(self, data: dict[str, Any]) -> dict[str, Any]:
        """The pack's parsed document with this scenario's effects, targets and anomalies merged in (the merge
        rules)."""
        for key in _LISTS:
            mine = getattr(self, key)
            own = [item for item in data.get(key) or [] if item.get("name") not in self.remove]
            data[key] = _merged(own, mine)
        return data

    def overrides(self) -> dict[str, str]:
        """The scenario's settings as ``--set`` values (what the command's own options then override)."""
        return {name: _text(value) for name, value in self.settings.items()}


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _merged(base: list[dict[str, Any]], later: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``base`` with each of ``later`` replacing the item of its name in place, or appended when new."""
    out = list(base)
    for item in later:
        at = next((i for i, old in enumerate(out) if item.get("name") and old.get("name") == item.get("name")), None)
        if at is None:
            out.append(item)
        else:
            out[at] = item
    return out


def folder(pack: str) -> Path:
    """Where pack ``pack`` keeps its scenario files."""
    return _HERE / pack / "scenarios"


def names(pack: str) -> list[str]:
    """The scenarios that ship with pack ``pack``."""
    return sorted(p.stem for p in folder(pack).glob("*.yaml"))


def _file(pack: str, ref: str) -> Path:
    if ref in names(pack):
        return folder(pack) / f"{ref}.yaml"
    path = Path(ref)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"--scenario {ref}: no such file")
        return path
    known = ", ".join(names(pack)) or "none"
    raise ConfigError(f"--scenario {ref}: pack {pack} has no such scenario (scenarios: {known}; or a file path)")


def _read(path: Path, ref: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"--scenario {ref}{line}: not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--scenario {ref}: must be a map of extends, settings, effects, targets, anomalies, remove")
    extra = sorted(set(data) - _KEYS)
    if extra:
        raise ConfigError(f"--scenario {ref}: {extra[0]}: unknown key (keys: {', '.join(sorted(_KEYS))})")
    for key, kind in (("settings", dict), ("effects", list), ("targets", list), ("anomalies", list), ("remove", list)):
        if key in data and not isinstance(data[key], kind):
            raise ConfigError(f"--scenario {ref}: {key}: must be a {'map' if kind is dict else 'list'}")
    for key in _LISTS:
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, dict) or (key != "targets" and not item.get("name")):
                raise ConfigError(f"--scenario {ref}: {key}.{i}: must be a map with a name")
    return data


def summary_of(path: Path) -> str:
    """The first comment line of a scenario file: what it simulates."""
    first = next((line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")), "# ")
    return first.lstrip("# ").strip()


def resolve(pack: str, ref: str) -> Scenario:
    """Scenario ``ref`` of pack ``pack`` (a name of its scenarios, or a file path) merged through its bases."""
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: set[Path] = set()
    current: str | None = ref
    while current is not None:
        path = _file(pack, current).resolve()
        if path in seen:
            raise ConfigError(f"--scenario {ref}: extends itself through {current}")
        seen.add(path)
        data = _read(path, current)
        chain.append((current, data))
        base = data.get("extends")
        current = None if base is None else str(base)
    out = Scenario(name=Path(ref).stem, summary=summary_of(_file(pack, ref)), chain=[n for n, _ in reversed(chain)])
    for _, data in reversed(chain):  # the farthest base first
        out.settings.update(data.get("settings") or {})
        gone = set(data.get("remove") or [])
        for key in _LISTS:
            merged = _merged(getattr(out, key), list(data.get(key) or []))
            setattr(out, key, [item for item in merged if item.get("name") not in gone])
        out.remove = sorted(set(out.remove) | gone)
    return out
