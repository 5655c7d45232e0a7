"""The schema file an import writes: YAML in the file's own order, one line per column (a flow mapping) with
what was detected and why as a comment beside it, so a reviewer sees every binding where it is made."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import yaml

from .pii import Detection


def plain(value: Any) -> Any:
    """``value`` in YAML's own types: a database driver's Decimal, a numpy number, a tuple or a UUID become
    a number, a list or text."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        return value.item()  # a numpy scalar
    if value is None or isinstance(value, (bool, int, float, str, dt.date)):
        return value
    return str(value)


def flow(value: Any) -> str:
    """One value as a single line of YAML (a flow mapping or list, or a plain or quoted scalar)."""
    text = yaml.safe_dump(plain(value), default_flow_style=True, sort_keys=False, width=1 << 30, allow_unicode=True)
    text = text.strip()
    return text[:-4].rstrip() if text.endswith("\n...") else text  # a plain scalar's document end


def _comment(notes: list[str]) -> str:
    return ("  # " + "; ".join(" ".join(n.split()) for n in notes)) if notes else ""


def dump_schema(schema: dict[str, Any], detections: list[Detection], header: tuple[str, ...] = ()) -> str:
    """The schema file's text: top-level keys in order, each table a block, each column one line with its
    detections as a comment (``# PII: email (name 'email', values look like e-mail)``)."""
    notes: dict[tuple[str, str], list[str]] = {}
    for d in detections:
        notes.setdefault((d.table, d.column), []).append(d.comment)
    lines = [f"# {' '.join(h.split())}" for h in header]
    for key, value in schema.items():
        if key != "tables":
            lines.append(f"{flow(key)}: {flow(value)}")
            continue
        lines.append("tables:")
        for tname, table in value.items():
            lines.append(f"  {flow(tname)}:{_comment(notes.get((tname, ''), []))}")
            for tkey, tvalue in table.items():
                if tkey != "columns" or not tvalue:
                    lines.append(f"    {flow(tkey)}: {flow(tvalue)}")
                    continue
                lines.append("    columns:")
                for cname, cspec in tvalue.items():
                    lines.append(f"      {flow(cname)}: {flow(cspec)}{_comment(notes.get((tname, cname), []))}")
    return "\n".join(lines) + "\n"
