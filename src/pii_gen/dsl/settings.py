"""Settings of a schema file: named values with a default, bounds and the places they are written to.

```yaml
settings:
  devices_per_household: {default: 17, min: 1, max: 90, at: [tables.households.columns.device_count.mean]}
```

``--set devices_per_household=12`` overrides a default. Settings are applied to the parsed document before
it is validated, so every place a setting reaches is checked like any value of the file, and a copy of a
pack's file behaves like the pack.  Top-level keys starting with ``x_`` are extension blocks (a home for
YAML anchors such as a shared device model); they are dropped after settings are applied.
"""

from __future__ import annotations

from typing import Any

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


def _place(data: dict[str, Any], path: str, value: Any, source: str, name: str) -> None:
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise SchemaError(f"{source}: settings.{name}.at: {path} is not a place in the file")
        node = node[part]
    if not isinstance(node, dict):
        raise SchemaError(f"{source}: settings.{name}.at: {path} is not a place in the file")
    node[parts[-1]] = value


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
    for name, spec in settings.items():
        if not isinstance(spec, dict) or "default" not in spec or not spec.get("at"):
            raise SchemaError(f"{source}: settings.{name}: needs default: and at: [places]")
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
        for path in spec["at"]:
            _place(data, path, value, source, name)
    for key in [k for k in data if isinstance(k, str) and k.startswith("x_")]:
        del data[key]
    return data


def describe(data: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(name, default, range) of each setting of a parsed document, for ``packs show``."""
    out = []
    for name, spec in (data.get("settings") or {}).items():
        bounds = f"{spec.get('min', '')}..{spec.get('max', '')}" if "min" in spec or "max" in spec else ""
        out.append((name, spec.get("default"), bounds))
    return out
