"""Settings of a schema file: named values with a default, bounds and the places they are written to.

```yaml
settings:
  items_per_order: {default: 3, min: 1, max: 20, at: [tables.orders.fanout.mean]}
```

``--set items_per_order=5`` overrides a default. A setting is written at each place ``at:`` lists, and
replaces ``${NAME}`` in every text of the file (inside expressions). A PATH is keys joined by dots; a step
that is a number indexes a list, and ``[NAME]`` is the list's item whose ``name:`` is NAME
(``targets[holdout share].between.0``), so a place stays right when items are added. An entry
``{place: PATH, times: F}`` writes the value times F (a target's bound around the setting), and
``{place: PATH, value: EXPR}`` the number an arithmetic of settings gives (``0.6 * campaign_reach * (1 -
holdout_share)``: a bound that follows several settings).
Settings are applied to the parsed document before it is validated, so every place a setting reaches is
checked like any value of the file, and a copy of a pack's file behaves like the pack. Top-level keys
starting with ``x_`` are extension blocks (a home for YAML anchors such as a shared device model); they are
dropped after settings are applied.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
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


_STEP = re.compile(r"\[([^\]]+)\]|([^.\[\]]+)")


def _steps(path: str) -> list[str | tuple[str]]:
    """A place's steps: keys and list positions as text, ``[NAME]`` as ``(NAME,)`` (the item named NAME)."""
    return [(named.strip(),) if named else key for named, key in _STEP.findall(path)]


def _step(node: Any, step: str | tuple[str], path: str, source: str, name: str, last: bool) -> Any:
    """The child of ``node`` at ``step`` (its key, position or name); a step that is not there is one line."""
    if isinstance(step, tuple):
        items = [i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == step[0]] \
            if isinstance(node, list) else []
        if len(items) != 1:
            named = ", ".join(str(item.get("name")) for item in node if isinstance(item, dict) and "name" in item) \
                if isinstance(node, list) else ""
            why = "two items are" if items else "no item is"
            raise SchemaError(f"{source}: settings.{name}.at: {path}: {why} named '{step[0]}' there"
                              + (f" (names: {named})" if named else ""))
        return items[0]
    if isinstance(node, list) and step.isdigit() and int(step) < len(node):
        return int(step)
    if isinstance(node, dict) and (last or step in node):
        return step
    raise SchemaError(f"{source}: settings.{name}.at: {path} is not a place in the file")


_OPS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}


def derived(text: str, values: dict[str, Any], where: str) -> float:
    """The number an arithmetic of settings gives (``0.85 * campaign_reach * (1 - holdout_share)``: numbers,
    setting names, + - * / **, parentheses, min and max); anything else is one line naming ``where``."""

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in values and isinstance(values[node.id], (int, float)):
            return float(values[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.operand))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max") \
                and node.args and not node.keywords:
            return (min if node.func.id == "min" else max)(value(a) for a in node.args)
        what = node.id if isinstance(node, ast.Name) else ast.unparse(node)
        raise SchemaError(f"{where}: {what} is not a number or a numeric setting (value: {text})")

    try:
        return value(ast.parse(str(text), mode="eval").body)
    except SyntaxError:
        raise SchemaError(f"{where}: value: {text} is not an arithmetic of settings") from None
    except ZeroDivisionError:
        raise SchemaError(f"{where}: value: {text} divides by zero") from None


def _place(data: dict[str, Any], path: Any, value: Any, source: str, name: str,
           values: dict[str, Any] | None = None) -> None:
    if isinstance(path, dict):  # a derived value: the setting's value times F, or an arithmetic of settings
        extra = sorted(set(path) - {"place", "times", "value"})
        if extra or ("times" in path and "value" in path):
            raise SchemaError(f"{source}: settings.{name}.at: {path}: takes place and times or value")
        where = f"{source}: settings.{name}.at: {path.get('place', '')}"
        value = derived(path["value"], values or {}, where) if "value" in path else \
            value * float(path.get("times", 1.0))
        path = path.get("place", "")
    node: Any = data
    steps = _steps(str(path))
    if not steps:
        raise SchemaError(f"{source}: settings.{name}.at: {path} is not a place in the file")
    for i, step in enumerate(steps):
        where = _step(node, step, str(path), source, name, last=i == len(steps) - 1)
        if i == len(steps) - 1:
            node[where] = value
        else:
            node = node[where]


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
        values[name] = value
    for name, spec in settings.items():  # every value first: a derived place may read any setting
        for path in spec.get("at") or []:
            _place(data, path, values[name], source, name, values)
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
