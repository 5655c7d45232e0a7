"""Reading a schema file: YAML or JSON into the model, every error as one line ``file:line: path: what``.

The YAML is composed into nodes first, so each value's line is known; a path that does not exist in the
file (a missing key) points at the line of its nearest enclosing key. The whole file is checked (model,
then references, cycles and expressions: see :mod:`.checks`) before any row is generated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import ValidationError

from ..errors import SchemaError
from .checks import Problem, check
from .model import TAG, Schema
from .settings import apply_settings

PathT = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false are booleans, so keys like ``on:`` and values like ``no`` stay text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _walk(node: yaml.Node, path: PathT, lines: dict[PathT, int], source: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        keys = _Loader("")
        for key_node, value_node in node.value:
            key = keys.construct_object(key_node, deep=True)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise SchemaError(f"{source}:{line}: {dotted(path + (key,))}: duplicate key")
            seen.add(key)
            _walk(value_node, path + (key,), lines, source)
            lines[path + (key,)] = key_node.start_mark.line + 1  # a key's line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, source)


def dotted(path: PathT) -> str:
    """A path as users read it: ``tables.orders.columns.amount.modify[0].multiply.by``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _line(lines: dict[PathT, int], path: PathT) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _message(err: dict[str, Any]) -> tuple[PathT, str]:
    """A pydantic error as (path in the file, our wording)."""
    path = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(TAG)))
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "dsl":
        return path + ((ctx["key"],) if ctx.get("key") else ()), ctx["message"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        what = {"_gen_tag()": ("gen", "generator"), "_step_tag()": ("", "modifier"),
                "_tag()": ("dist", "fanout dist"), "_kind_tag()": ("kind", "anomaly kind")}[ctx["discriminator"]]
        options = ", ".join(t.split(":", 1)[1] for t in ctx.get("expected_tags", "").replace("'", "").split(", ") if t)
        if kind == "union_tag_not_found":
            if what[1] == "modifier":
                return path, "a modify step is one {MODIFIER: {PARAMS}} map"
            return path + (what[0],), "required"
        tag = ctx["tag"].split(":", 1)[1]
        if what[1] == "modifier":
            return path + (tag,), f"unknown modifier (one of: {options})"
        return path + (what[0],), f"unknown {what[1]} '{tag}' (one of: {options})"
    if kind == "extra_forbidden":
        return path, "unknown key"
    if kind == "missing":
        return path, "required"
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")))
        shown = f"{limit:g}" if isinstance(limit, (int, float)) else str(limit)
        return path, f"must be {bounds[kind]} {shown}"
    if kind == "too_short":
        return path, "needs at least one entry"
    if kind == "literal_error":
        return path, f"must be {ctx['expected']}"
    return path, err["msg"].replace("Input should be", "must be").replace("Value error, ", "")


def _parse(text: str, source: str) -> tuple[Any, dict[PathT, int]]:
    lines: dict[PathT, int] = {}
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f"{mark.line + 1}:" if mark else ""
        raise SchemaError(f"{source}:{line} not valid YAML: {err.problem or err}") from None
    except yaml.YAMLError as err:  # a character YAML refuses to read (a control character): no line mark
        raise SchemaError(f"{source}: not valid YAML: {' '.join(str(err).split())}") from None
    if node is None:
        raise SchemaError(f"{source}: the file is empty")
    _walk(node, (), lines, source)
    return yaml.load(text, Loader=_Loader), lines


def loads(text: str, source: str = "<schema>", json_text: bool = False, base: Path | None = None,
          settings: dict[str, str] | None = None, population: dict[str, Any] | None = None,
          merge: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Schema:
    """A schema from its text, checked as a whole; ``source`` names it in messages, ``base`` is the folder
    vocab files are read from (None: their existence is not checked). ``settings`` override the file's
    settings (see :mod:`.settings`), ``population`` keys its population section (a pack's ``-n``), ``merge``
    changes the parsed document before its settings are applied (a pack's scenario)."""
    if json_text:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SchemaError(f"{source}:{err.lineno}: not valid JSON: {err.msg}") from None
        try:
            lines = _parse(text, source)[1]  # JSON is YAML: its lines come the same way
        except SchemaError:
            lines = {}
    else:
        data, lines = _parse(text, source)
    if not isinstance(data, dict):
        raise SchemaError(f"{source}:1: (file): must be a map of version, tables, ...")
    if merge is not None:
        data = merge(data)
    data = apply_settings(data, settings, source)
    if population:
        data["population"] = {**(data.get("population") or {}), **population}
    try:
        schema = Schema.model_validate(data)
    except ValidationError as err:
        path, message = _message(err.errors()[0])
        raise SchemaError(_where(source, lines, path) + f"{dotted(path)}: {message}") from None
    try:
        check(schema, base)
    except Problem as problem:
        raise SchemaError(_where(source, lines, problem.path) + f"{dotted(problem.path)}: {problem}") from None
    return schema


def _where(source: str, lines: dict[PathT, int], path: PathT) -> str:
    line = _line(lines, path)
    return f"{source}:{line}: " if line is not None else f"{source}: "


def load(path: str | Path, settings: dict[str, str] | None = None) -> Schema:
    """A schema file (``.json`` read as JSON, anything else as YAML), checked before any row exists.

    Messages name the file as it was given (``shop.yaml:14: ...`` for ``load("shop.yaml")``).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SchemaError(f"{path}: cannot read the schema file: {err.strerror}") from None
    return loads(text, str(path), json_text=path.suffix.lower() == ".json", base=path.parent, settings=settings)
