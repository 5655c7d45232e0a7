"""Settings of a schema file: named values with a default, bounds and the places they are written to.

```yaml
settings:
  devices_per_household: {default: 17, min: 1, max: 90, at: [tables.households.columns.device_count.mean]}
```

An ``at:`` entry may be ``{place: PATH, times: F}`` (the value times F: a target's bounds around it); a
PATH step that is a number indexes a list. ``--set devices_per_household=12`` overrides a default. A setting is written at each place ``at:`` lists,
and replaces ``${NAME}`` in every text of the file (inside expressions). Settings are applied to the parsed
document before it is validated, so every place a setting reaches is checked like any value of the file, and a copy of a
pack's file behaves like the pack.  Top-level keys starting with ``x_`` are extension blocks (a home for
YAML anchors such as a shared device model); they are dropped after settings are applied.
"""

from __future__ import annotations

from typing import Any

import re

import yaml

from ..errors import SchemaError

_SETTING_KEYS = {"default", "min", "max", "at", "doc"}


def parse_assignments(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings as a map; a malformed one is one clear error."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SchemaError(f"--set {item}: must be NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _place(data: dict[str, Any], path: Any, value: Any, source: str, name: str) -> None:
    if isinstance(path, dict):  # {place: PATH, times: F}: a derived value (a target's bound around a default)
        value, path = value * float(path.get("times", 1.0)), path.get("place", "")
    node: Any = data
    parts = str(path).split(".")
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict) or part not in node:
            raise SchemaError(f"{source}: settings.{name}.at: {path} is not a place in the file")
        node = node[part]
    if isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
        node[int(parts[-1])] = value
    elif isinstance(node, dict):
        node[parts[-1]] = value
    else:
        raise SchemaError(f"{source}: settings.{name}.at: {path} is not a place in the file")


def apply_settings(data: dict[str, Any], overrides: dict[str, str] | None = None,
                   source: str = "<schema>") -> dict[str, Any]:
    """The document with each setting's value (its default, or the override) written at its places."""
    settings = data.pop("settings", None) or {}
    overrides = dict(overrides or {})
    if not isinstance(settings, dict):
        raise SchemaError(f"{source}: settings: must be a map of name -> {{default, min, max, at}}")
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        known = ", ".join(sorted(settings)) or "none"
        raise SchemaError(f"--set {unknown[0]}: no such setting (settings: {known})")
    values: dict[str, Any] = {}
    for name, spec in settings.items():
        if not isinstance(spec, dict) or "default" not in spec:
            raise SchemaError(f"{source}: settings.{name}: needs default: (and at: [places] or ${{{name}}} in texts)")
        extra = sorted(set(spec) - _SETTING_KEYS)
        if extra:
            raise SchemaError(f"{source}: settings.{name}.{extra[0]}: unknown key")
        value = spec["default"]
        if name in overrides:
            value = _scalar(overrides[name])
            if type(value) is not type(spec["default"]) and not (
                    isinstance(spec["default"], float) and type(value) is int):
                what = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(
                    type(spec["default"]).__name__, "text")
                raise SchemaError(f"--set {name}={overrides[name]}: must be {what} "
                                  f"like the default ({spec['default']})")
        if "min" in spec and value < spec["min"]:
            raise SchemaError(f"--set {name}={value}: must be >= {spec['min']}")
        if "max" in spec and value > spec["max"]:
            raise SchemaError(f"--set {name}={value}: must be <= {spec['max']}")
        for path in spec.get("at") or []:
            _place(data, path, value, source, name)
        values[name] = value
    for key in [k for k in data if isinstance(k, str) and k.startswith("x_")]:
        del data[key]
    return _substitute(data, values) if values else data


def _substitute(node: Any, values: dict[str, Any]) -> Any:
    """``${NAME}`` in every text of the document replaced by the setting's value (inside expressions)."""
    if isinstance(node, str) and "${" in node:
        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: str(values.get(m.group(1), m.group(0))), node)
    if isinstance(node, dict):
        for key in node:
            node[key] = _substitute(node[key], values)
    elif isinstance(node, list):
        node[:] = [_substitute(v, values) for v in node]
    return node


def describe(data: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(name, default, range) of each setting of a parsed document, for ``packs show``."""
    out = []
    for name, spec in (data.get("settings") or {}).items():
        bounds = f"{spec.get('min', '')}..{spec.get('max', '')}" if "min" in spec or "max" in spec else ""
        out.append((name, spec.get("default"), bounds))
    return out
