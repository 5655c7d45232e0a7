"""Source tables into a schema file: keys, foreign keys, fanout, types, fitted generators and PII bindings,
decided in one place whatever the source (a template, a database, JSON samples).

:func:`build_schema` returns the file as a dict (loadable by :func:`pii_gen.dsl.loads`) and every
:class:`~.pii.Detection` it made, which the report prints and the writer puts beside each column.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from ..dsl.base import type_kind
from ..dsl.fields import PERSON_FIELDS
from ..errors import ConfigError
from .pii import SAFE, Detection, classify, describes_person, is_personal_name_column
from .source import MIN_CATEGORY_COUNT, ForeignKey, SourceColumn, SourceTable

#: Rows of a table whose source does not say how many it holds.
DEFAULT_ROWS = 100
#: Share of rows without a parent in a self-reference whose source gives no null count.
ROOT_SHARE = 0.1
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NUMBERED = re.compile(r"^([A-Za-z]*[-_]?)(\d+)$")
_RELATIVE = re.compile(r"^([+-]?\d+)([yMwdhms])$")
_UNITS = {"y": ("year", 1), "M": ("month", 1), "w": ("day", 7), "d": ("day", 1), "h": ("hour", 1),
          "m": ("minute", 1), "s": ("second", 1)}
NOT_PERSON = ("card_number", "account_number", "national_id")


@dataclass(frozen=True)
class Edge:
    """A foreign key of ``table`` (its index among the table's foreign keys), as the cycle search sees it."""

    table: str
    index: int
    target: str
    columns: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.table}.{', '.join(self.columns)}"


def _edges(tables: list[SourceTable]) -> list[Edge]:
    return [Edge(t.name, i, fk.table, tuple(fk.columns)) for t in tables for i, fk in enumerate(t.foreign_keys)
            if fk.table != t.name]


def _find_cycle(names: list[str], edges: list[Edge]) -> list[Edge] | None:
    out: dict[str, list[Edge]] = {n: [] for n in names}
    for e in edges:
        out[e.table].append(e)
    state: dict[str, int] = {}
    trail: list[Edge] = []

    def visit(name: str) -> list[Edge] | None:
        state[name] = 1
        for e in out[name]:
            if state.get(e.target) == 1:
                start = next(i for i, x in enumerate(trail + [e]) if x.table == e.target)
                return (trail + [e])[start:]
            if state.get(e.target) is None:
                trail.append(e)
                found = visit(e.target)
                if found:
                    return found
                trail.pop()
        state[name] = 2
        return None

    for n in names:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def break_cycles(tables: list[SourceTable], noun: str = "tables") -> set[tuple[str, int]]:
    """The foreign keys (table, index) to write without their reference so that no two tables need each
    other first: in each cycle, the nullable edge out of the table listed last.  A cycle with no nullable
    edge is a ConfigError naming the edge to make nullable."""
    index = {t.name: i for i, t in enumerate(tables)}
    by_name = {t.name: t for t in tables}
    edges = _edges(tables)
    broken: set[tuple[str, int]] = set()
    while (cycle := _find_cycle(list(index), [e for e in edges if (e.table, e.index) not in broken])) is not None:
        last = max(cycle, key=lambda e: index[e.table])
        nullable = [e for e in cycle if all(by_name[e.table].column(c).nullable for c in e.columns)]
        if not nullable:
            if len(cycle) == 2:
                said = f"{noun} {last.target} <-> {last.table} reference each other"
            else:
                at = cycle.index(last)
                ring = cycle[at + 1:] + cycle[: at + 1]
                said = f"{noun} {' -> '.join([e.table for e in ring] + [ring[0].table])} reference each other " \
                       "in a cycle"
            raise ConfigError(f"{said}: make {last} nullable or drop one edge")
        pick = max(nullable, key=lambda e: index[e.table])
        broken.add((pick.table, pick.index))
    return broken


def parents_first(tables: list[SourceTable], broken: set[tuple[str, int]]) -> list[SourceTable]:
    """The tables in an order where each comes after those it references (else in source order); the
    ``broken`` edges (see :func:`break_cycles`) do not count."""
    needs = {t.name: {e.target for e in _edges([t]) if (e.table, e.index) not in broken} for t in tables}
    done: list[SourceTable] = []
    left = list(tables)
    while left:
        names = {d.name for d in done}
        ready = next(t for t in left if needs[t.name] <= names)  # break_cycles left no cycle
        done.append(ready)
        left.remove(ready)
    return done


@functools.cache
def cycle_edge_column(target: str, null_rate: float) -> tuple[dict[str, Any], str]:
    """How a foreign key that closes a cycle is written (the one place that decides it): a nullable ref, which
    the engine generates before its target because the target's key is a sequence (rebuilt from position)."""
    return {"gen": "ref", "to": target, "null_rate": round(max(null_rate, 0.1), 4)}, \
        f"nullable ref to {target}: it closes a reference cycle"


def _null_rate(col: SourceColumn) -> float:
    s = col.stats
    return round(s.nulls / s.count, 4) if s and s.count and s.nulls else 0.0


def _when(value: Any, default: str) -> Any:
    """A Faker date bound (``-30y``, ``today``, ``2020-01-01``) as a schema-file bound: relative ones count
    from the calendar's end, so the file stays deterministic."""
    text = str(default if value is None else value).strip()
    if text in ("today", "now", "+0d", "-0d"):
        return "calendar.end"
    found = _RELATIVE.match(text)
    if found:
        unit, times = _UNITS[found.group(2)]
        return f"date_add(calendar.end, {int(found.group(1)) * times}, '{unit}')"
    return text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", text) else "calendar.start"


def _pattern(text: str, faker_kind: str) -> str:
    """A Faker bothify/numerify/lexify text as a ``pattern`` template."""
    out = []
    for ch in text:
        if ch == "#" and faker_kind != "lexify":
            out.append("#")
        elif ch == "?" and faker_kind != "numerify":
            out.append("?")
        elif ch == "%" and faker_kind == "numerify":
            out.append("%")
        elif ch in "!@" and faker_kind == "numerify":
            out.append("#")
        elif ch in "#?%^\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def faker_column(method: str, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A template's Faker method (not a personal one) as a native generator where one fits, else ``gen: faker``."""
    a = args
    if method in ("random_element", "random_elements", "random_choices"):
        elements = a.get("elements", [])
        if isinstance(elements, dict):
            return {"gen": "choice", "values": list(elements), "weights": list(elements.values())}, "choice"
        if elements:
            return {"gen": "choice", "values": list(elements)}, "choice"
    if method in ("random_int", "pyint", "random_number"):
        if method == "random_number":
            lo, hi = 0, 10 ** int(a.get("digits", 4)) - 1
        else:
            lo = a.get("min", a.get("min_value", 0))
            hi = a.get("max", a.get("max_value", 9999))
        return {"gen": "distribution", "dist": "uniform", "min": lo, "max": hi, "integer": True}, "uniform integers"
    if method in ("pyfloat", "pydecimal"):
        lo = a.get("min_value", 0 if a.get("positive") else None)
        hi = a.get("max_value")
        lo = 0 if lo is None else lo
        hi = (lo + 10 ** int(a.get("left_digits", 3))) if hi is None else hi
        return {"gen": "distribution", "dist": "uniform", "min": lo, "max": hi,
                "decimals": int(a.get("right_digits", 2))}, "uniform numbers"
    if method in ("date_between", "date_time_between", "date_between_dates", "date_time_between_dates"):
        start = _when(a.get("start_date", a.get("date_start")), "-30y")
        end = _when(a.get("end_date", a.get("date_end")), "today")
        day = method.startswith("date_between")
        return {"gen": "datetime", "start": start, "end": end, "granularity": "day" if day else "second"}, \
            "dates in range"
    if method in ("date", "date_object", "date_this_year", "date_this_decade", "date_this_century",
                  "date_this_month", "past_date", "future_date"):
        return {"gen": "datetime", "granularity": "day"}, "dates in the calendar"
    if method in ("date_time", "date_time_this_year", "date_time_this_decade", "date_time_this_month",
                  "past_datetime", "future_datetime", "iso8601", "unix_time"):
        return {"gen": "datetime"}, "timestamps in the calendar"
    if method in ("uuid4", "uuid"):
        return {"gen": "uuid"}, "uuid"
    if method in ("bothify", "numerify", "lexify") and isinstance(a.get("text"), str):
        return {"gen": "pattern", "template": _pattern(a["text"], method)}, "pattern"
    if method in ("boolean", "pybool"):
        return {"gen": "bool", "p": round(float(a.get("chance_of_getting_true", 50)) / 100, 4)}, "bool"
    spec: dict[str, Any] = {"gen": "faker", "method": method}
    if a:
        spec["args"] = dict(a)
    return spec, "gen: faker, needs the faker extra"


def text_width(col: SourceColumn) -> int | None:
    """The declared length of a ``string(N)`` column, None for any other."""
    found = re.fullmatch(r"string\((\d+)\)", col.type)
    return int(found.group(1)) if found else None


def numbered_text(width: int | None, why: str) -> tuple[dict[str, Any], str]:
    """A text key as a zero-padded sequence: unique, a pure function of the position (which a self-reference
    and a cycle's ref rebuild), and no wider than the column (8 digits, fewer in a narrower one)."""
    digits = min(8, width) if width else 8
    return {"gen": "sequence", "format": f"{{:0{digits}d}}"}, f"numbered text of {digits} digits ({why})"


def _key_column(col: SourceColumn) -> tuple[dict[str, Any], str]:
    texts = [str(v) for v in col.examples if v is not None]
    width = text_width(col)
    if col.type in ("int", "bigint") or col.identity:
        return {"gen": "sequence"}, "sequence"
    if width is None or width >= 36:
        if col.faker in ("uuid4", "uuid") or (texts and all(_UUID.match(t) for t in texts)):
            return {"gen": "uuid"}, "uuid"
    found = [_NUMBERED.match(t) for t in texts]
    if texts and all(found):
        prefixes = {m.group(1) for m in found if m}
        widths = {len(m.group(2)) for m in found if m}
        if len(prefixes) == 1 and len(widths) == 1:
            prefix = prefixes.pop().replace("{", "{{").replace("}", "}}")
            return {"gen": "sequence", "format": f"{prefix}{{:0{widths.pop()}d}}"}, "numbered sequence"
    if width is not None and width < 36:
        return numbered_text(width, f"a uuid would not fit {col.type}")
    return {"gen": "uuid"}, "uuid"


def _from_stats(col: SourceColumn) -> tuple[dict[str, Any], str] | None:
    """A generator fitted to the column's aggregates, or None."""
    s = col.stats
    if s is None or not s.count or s.count == s.nulls:
        return None
    if s.categories:
        values = list(s.categories)
        if col.type == "bool":
            t = s.categories.get(True, 0)
            return {"gen": "bool", "p": round(t / sum(s.categories.values()), 4)}, "share of true"
        return {"gen": "choice", "values": values, "weights": [s.categories[v] for v in values]}, \
            f"{len(values)} categories, each seen >= 10 times"
    if col.type in ("date", "timestamp") and s.start and s.end:
        spec: dict[str, Any] = {"gen": "datetime_series", "within": [s.start, s.end]}
        if s.weekday:
            spec["weekday"] = s.weekday
        if s.hour and col.type == "timestamp":
            spec["hour"] = s.hour
        return spec, "weekday/hour shares of the sample"
    if s.distribution:
        dist = dict(s.distribution)
        return {"gen": "distribution", **dist}, f"fitted {dist.get('dist')}"
    if col.type == "bool":
        return {"gen": "bool", "p": 0.5}, "no category seen 10 times"
    return None


def _by_type(col: SourceColumn) -> tuple[dict[str, Any], str]:
    t = col.type
    texts = [str(v) for v in col.examples if v is not None]
    if t.startswith("string") and texts and all(_UUID.match(x) for x in texts):
        return {"gen": "uuid"}, "values look like UUIDs"
    if t in ("int", "bigint"):
        return {"gen": "distribution", "dist": "uniform", "min": 0, "max": 1000, "integer": True}, "placeholder"
    if t == "float" or t.startswith("decimal"):
        return {"gen": "distribution", "dist": "uniform", "min": 0, "max": 1000, "decimals": 2}, "placeholder"
    if t == "bool":
        return {"gen": "bool", "p": 0.5}, "placeholder"
    if t == "date":
        return {"gen": "datetime", "granularity": "day"}, "dates in the calendar"
    if t == "timestamp":
        return {"gen": "datetime"}, "timestamps in the calendar"
    shaped = shape_pattern(texts)
    if shaped:
        return {"gen": "pattern", "template": shaped}, "the values' common shape"
    width = col.stats.max_length if col.stats and col.stats.max_length else 8
    width = min(width, 12, text_width(col) or 12)  # never wider than the column
    return {"gen": "pattern", "template": "?" * max(1, width)}, "placeholder text (no category seen 10 times)"


def shape_pattern(texts: list[str]) -> str | None:
    """A ``pattern`` for values that all share one shape (``SKU-4821`` -> ``SKU-####``): digits become ``#``,
    letters ``?``; a character is kept only where every value has it (a constant, not a row's value), and
    only from at least MIN_CATEGORY_COUNT values."""
    if len(texts) < MIN_CATEGORY_COUNT or len({len(t) for t in texts}) != 1 or not texts[0] or len(texts[0]) > 40:
        return None
    out = []
    for chars in zip(*texts):
        kinds = {"#" if c.isdigit() else "?" if c.isascii() and c.isalpha() else c for c in chars}
        if len(set(chars)) == 1 and not chars[0].isdigit():
            out.append("\\" + chars[0] if chars[0] in "#?%^\\" else chars[0])
        elif kinds in ({"#"}, {"?"}):
            out.append(kinds.pop())
        else:
            return None
    return "".join(out)


def _typed(spec: dict[str, Any], col: SourceColumn) -> dict[str, Any]:
    """The spec with the source's type, where the generator's values are of that type (a ref and a lookup
    have the type of the column they copy)."""
    if spec["gen"] in ("ref", "lookup", "constant") or "type" in spec:
        return spec
    if spec["gen"] == "person":
        kind = PERSON_FIELDS.get(spec["field"])
        told = col.type != kind and type_kind(col.type) == kind  # string(40), bigint: more than the field says
        return {**spec, "type": col.type} if told else spec
    strings = spec["gen"] in ("uuid", "pattern", "faker") or (spec["gen"] == "sequence" and "format" in spec) \
        or (spec["gen"] == "choice" and all(isinstance(v, str) for v in spec["values"]))
    if col.type.startswith("string") != strings:
        return spec
    return {**spec, "type": col.type}


def _detect(t: SourceTable) -> dict[str, tuple[str, str]]:
    linked = {c for fk in t.foreign_keys for c in fk.columns} | set(t.key)
    found = {c.name: hit for c in t.columns if c.name not in linked and (hit := classify(c)) is not None}
    if describes_person({f for f, _ in found.values()}, t.name):
        for c in t.columns:
            if c.name not in found and c.name not in linked and is_personal_name_column(c.name):
                found[c.name] = ("full_name", f"name '{c.name}' in a table of people")
    return found


def build_schema(tables: list[SourceTable], name: str | None = None, *,
                 noun: str = "tables") -> tuple[dict[str, Any], list[Detection]]:
    """The schema file (as a dict) for ``tables``, and what was detected and why.  ``noun`` names the tables
    in a cycle error (``entities`` for a template)."""
    by_name = {t.name: t for t in tables}
    for t in tables:
        for fk in t.foreign_keys:
            if fk.table not in by_name:
                raise ConfigError(f"{t.name}.{fk.columns[0]} references '{fk.table}', which is not imported")
    broken = break_cycles(tables, noun)
    ordered = parents_first(tables, broken)
    detections: list[Detection] = []
    found = {t.name: _detect(t) for t in tables}
    people = {n for n, f in found.items() if describes_person({x for x, _ in f.values()}, n)}
    out_tables: dict[str, Any] = {}
    start = 0
    for t in ordered:
        spec, start = _table(t, by_name, broken, found[t.name], t.name in people, start, detections)
        out_tables[t.name] = spec
    schema: dict[str, Any] = {"version": 1}
    if name:
        schema["name"] = name
    schema["seed"] = 0
    if start:
        schema["population"] = {"size": start, "pii_mode": "strict"}
    schema["tables"] = out_tables
    return schema, detections


def _fanout_fk(t: SourceTable, by_name: dict[str, SourceTable], broken: set[tuple[str, int]]) -> ForeignKey | None:
    for i, fk in enumerate(t.foreign_keys):
        target = by_name[fk.table]
        if fk.fanout and len(fk.columns) == 1 and fk.table != t.name and (t.name, i) not in broken \
                and len(target.key) == 1 and fk.ref_columns == target.key:
            return fk
    return None


def _table(t: SourceTable, by_name: dict[str, SourceTable], broken: set[tuple[str, int]],
           pii: dict[str, tuple[str, str]], person: bool, start: int,
           detections: list[Detection]) -> tuple[dict[str, Any], int]:
    def note(column: str, kind: str, what: str, why: str) -> None:
        detections.append(Detection(t.name, column, kind, what, why))

    spec: dict[str, Any] = {}
    parent = None if person else _fanout_fk(t, by_name, broken)
    rows = t.rows if t.rows is not None else DEFAULT_ROWS
    if person:
        spec["kind"] = "entity"
        spec["from"] = "population"
        spec["rows"] = rows
        if start:
            spec["start"] = start
        note("", "table", f"from: population, people {start + 1}..{start + rows}",
             "its personal columns describe a person" + ("; its fitted fanout is not kept (a population table "
                                                         "is an entity)" if _fanout_fk(t, by_name, broken) else ""))
        start += rows
    elif parent is not None:
        spec["kind"] = "fact"
        spec["parent"] = parent.table
        spec["fanout"] = parent.fanout
        column = parent.columns[0]
        if column != by_name[parent.table].key[0]:
            spec["parent_column"] = column
        note("", "fanout", f"parent {parent.table}, fanout {parent.fanout['dist']}",
             f"{column}: children per parent fitted from the sample")
    else:
        spec["kind"] = "entity"
        spec["rows"] = rows
    if t.key:
        spec["key"] = t.key[0] if len(t.key) == 1 else list(t.key)
    columns: dict[str, Any] = {}
    fk_of, lookups = _links(t, by_name, broken, parent, note)
    for col in t.columns:
        if parent is not None and col.name == parent.columns[0]:
            continue  # the engine adds the parent link
        made = _column(t, col, by_name, broken, pii, person, fk_of, lookups, note)
        if made is not None:
            columns[col.name] = made
    spec["columns"] = columns
    return spec, start


def _links(t: SourceTable, by_name: dict[str, SourceTable], broken: set[tuple[str, int]],
           parent: ForeignKey | None, note: Any) -> tuple[dict[str, tuple[int, ForeignKey, list[str]]],
                                                          dict[str, tuple[str, str, str]]]:
    """Which column of ``t`` is a ref of which foreign key (with the other columns of a composite one, in
    table order), and which are the lookups (through the ref, of a column of its target) completing a
    composite one. A composite foreign key is a ref on its column listed first in the table with ``with:``
    its lookups; one that does not reference its target's whole key, references its own table, closes a
    cycle or shares a column with another foreign key keeps its columns as plain ones (noted)."""
    position = {c.name: k for k, c in enumerate(t.columns)}
    taken = {parent.columns[0]} if parent is not None else set()
    fk_of: dict[str, tuple[int, ForeignKey, list[str]]] = {}
    lookups: dict[str, tuple[str, str, str]] = {}
    for i, fk in enumerate(t.foreign_keys):
        if fk is parent:
            continue
        if len(fk.columns) == 1:
            if fk.columns[0] not in taken:
                fk_of[fk.columns[0]] = (i, fk, [])
                taken.add(fk.columns[0])
            continue
        target = by_name[fk.table]
        pairs = sorted(zip(fk.columns, fk.ref_columns), key=lambda p: position[p[0]])
        why = ("it does not reference the whole key of " + fk.table if sorted(fk.ref_columns) != sorted(target.key)
               else "it references its own table" if fk.table == t.name
               else "it closes a reference cycle" if (t.name, i) in broken
               else "a column of it is in another foreign key" if taken & set(fk.columns) else None)
        if why:
            note(pairs[0][0], "foreign key", "composite foreign key not kept",
                 f"({', '.join(fk.columns)}) -> {fk.table}: {why}; its columns are plain ones")
            continue
        (lead, _), rest = pairs[0], pairs[1:]
        fk_of[lead] = (i, fk, [c for c, _ in rest])
        lookups.update((c, (lead, fk.table, r)) for c, r in rest)
        taken.update(fk.columns)
    return fk_of, lookups


def _column(t: SourceTable, col: SourceColumn, by_name: dict[str, SourceTable], broken: set[tuple[str, int]],
            pii: dict[str, tuple[str, str]], person: bool, fk_of: dict[str, tuple[int, ForeignKey, list[str]]],
            lookups: dict[str, tuple[str, str, str]], note: Any) -> dict[str, Any] | None:
    rate = _null_rate(col)
    if col.name in fk_of:
        i, fk, others = fk_of[col.name]
        target = by_name[fk.table]
        if (t.name, i) in broken:
            spec, why = cycle_edge_column(fk.table, rate)
            note(col.name, "cycle", "cycle broken here", why)
            return spec
        if fk.table == t.name:
            note(col.name, "foreign key", "ref to: self", f"references {t.name}.{fk.ref_columns[0]}")
            return {"gen": "ref", "to": "self", "root_share": rate or ROOT_SHARE}
        to = fk.table
        referenced = fk.ref_columns[fk.columns.index(col.name)]
        if referenced != (target.key[0] if target.key else None):
            ref_col = target.column(referenced)
            to = f"{fk.table}.{referenced}" if ref_col.unique or others else fk.table
            if not (ref_col.unique or others):
                note(col.name, "foreign key", f"ref to {fk.table}'s key",
                     f"{fk.table}.{referenced} is not unique: the ref takes the key; review it")
        spec: dict[str, Any] = {"gen": "ref", "to": to}
        if others:
            spec["with"] = others
        if rate and col.name not in t.key:
            spec["null_rate"] = rate
        why = f"references {fk.table}.{', '.join(fk.ref_columns)}"
        if others:
            why += f"; one composite foreign key with {', '.join(others)} (lookups through it)"
        note(col.name, "foreign key", f"ref to {to}", why)
        return spec
    if col.name in lookups:
        via, table, column = lookups[col.name]
        note(col.name, "foreign key", f"lookup via {via}", f"part of a composite foreign key to {table}")
        return {"gen": "lookup", "via": via, "column": column}
    if col.name in t.key:
        spec, why = _key_column(col)
        itself = any(fk.table == t.name for fk in t.foreign_keys)
        closes = any(by_name[name].foreign_keys[i].table == t.name for name, i in broken)
        if spec["gen"] != "sequence" and len(t.key) == 1 and (itself or closes):
            # the engine rebuilds a self-reference's parent, and a cycle's ref, from the position: a sequence key
            spec, why = numbered_text(text_width(col), "the table references itself" if itself
                                      else "a reference cycle points at it")
        note(col.name, "key", "key", f"primary key: {why}")
        return _typed(spec, col)
    if col.name in pii:
        field, why = pii[col.name]
        if person and field not in NOT_PERSON:
            note(col.name, "pii", field, why)
            spec = _typed({"gen": "person", "field": field}, col)
            return {**spec, "null_rate": rate} if rate else spec
        if field in SAFE:
            template, safe = SAFE[field]
            note(col.name, "safe", field, f"{why}; pattern {template}: {safe}")
            spec = {"gen": "pattern", "template": template}
            return {**spec, "null_rate": rate} if rate else spec
    made = None
    if col.faker:
        made = faker_column(col.faker, col.faker_args)
        note(col.name, "faker", made[0]["gen"], f"Faker method {col.faker}: {made[1]}")
    if made is None:
        made = _from_stats(col)
        if made is not None:
            note(col.name, "stats", made[0]["gen"], made[1])
    if made is None:
        made = _by_type(col)
        note(col.name, "type", made[0]["gen"], f"{col.source_type or col.type}: {made[1]}")
    if col.pii and col.name not in pii:
        note(col.name, "pii?", "declared personal", "no population field matches the name or values: review it")
    spec = _typed(made[0], col)
    if rate:
        spec["null_rate"] = rate
    return spec


__all__ = ["Detection", "break_cycles", "build_schema", "cycle_edge_column",
           "faker_column", "parents_first", "shape_pattern"]
