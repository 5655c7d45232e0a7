"""JSON samples of an API (``--json FILE``, ``--url URL``) read into source tables: the records' scalar fields
are columns, nested arrays become child tables (with a fanout fitted from the array lengths), nested objects
become tables the record references, and ``*Id`` / ``*_id`` fields naming another table become foreign
keys.  Only aggregates leave this module (see :mod:`.infer`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .infer import column_from_values, fit_fanout
from .pii import snake
from .source import ForeignKey, SourceTable, read_json_file

#: Keys of a response object under which its records sit (besides a bare array).
RECORD_KEYS = ("data", "results", "items", "records", "value", "rows")


def records_of(doc: Any, where: str) -> list[dict[str, Any]]:
    """The records of a JSON document: an array of objects, or an object holding one under ``data`` (or
    results/items/records/value/rows, or its only array of objects)."""
    found: Any = None
    if isinstance(doc, list):
        found = doc
    elif isinstance(doc, dict):
        for key in RECORD_KEYS:
            if isinstance(doc.get(key), list):
                found = doc[key]
                break
        else:
            lists = [v for v in doc.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
            found = lists[0] if len(lists) == 1 else None
    if found is None or not all(isinstance(r, dict) for r in found):
        raise ConfigError(f"expected an array of objects, or an object with one under \"data\", in {where}")
    return found


def read_json(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON file (an array of objects, or {"data": [...]})."""
    return records_of(read_json_file(path), Path(path).name)


def _flatten(prefix: str, obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(_flatten(f"{prefix}_{k}", v))
        elif not isinstance(v, list):
            out[f"{prefix}_{k}"] = v
    return out


def singular(name: str) -> str:
    """``employees`` -> ``employee``, ``categories`` -> ``category`` (for key and foreign key names)."""
    if name.endswith("ies") and len(name) > 4:
        return name[:-3] + "y"
    if name.endswith(("ses", "xes", "zes", "ches", "shes")):
        return name[:-2]
    return name[:-1] if name.endswith("s") and not name.endswith("ss") and len(name) > 1 else name


@dataclass
class _Table:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    key: str | None = None
    fks: list[ForeignKey] = field(default_factory=list)
    origin: str = ""


class _Reader:
    def __init__(self, origin: str) -> None:
        self.tables: dict[str, _Table] = {}
        self.positions: dict[str, dict[Any, int]] = {}
        self.origin = origin

    def fresh(self, name: str, parent: str | None) -> str:
        name = snake(name) or "records"
        if name in self.tables and parent:
            name = f"{parent}_{name}"
        while name in self.tables:
            name += "_"
        return name

    def walk(self, name: str, records: list[dict[str, Any]], origin: str,
             parent: tuple[str, str, list[Any]] | None = None) -> _Table:
        """Read ``records`` into table ``name``; ``parent`` is (table, its key, the key value of each record's
        parent), whose foreign key column is added to every record."""
        table = self.tables[name] = _Table(name, origin=origin)
        arrays: dict[str, list[tuple[int, list[Any]]]] = {}
        objects: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for i, record in enumerate(records):
            row: dict[str, Any] = {}
            for k, v in record.items():
                if isinstance(v, list):
                    arrays.setdefault(k, []).append((i, v))
                elif isinstance(v, dict) and "id" in v:
                    objects.setdefault(k, []).append((i, v))
                elif isinstance(v, dict):  # embedded (no id of its own): its fields are the record's
                    row.update(_flatten(k, v))
                else:
                    row[k] = v
            table.rows.append(row)
        if parent is not None:
            pname, pkey, values = parent
            column = self._unused(table, f"{singular(pname)}_id")
            for row, value in zip(table.rows, values):
                row[column] = value
            counts = [0] * len(self.tables[pname].rows)
            for value in values:
                counts[self.positions[pname][value]] += 1
            table.fks.append(ForeignKey([column], pname, [pkey], fanout=fit_fanout(counts)))
            # the parent column leads the row, as a fact's parent link does
            table.rows = [{column: row.pop(column), **row} for row in table.rows]
        table.key = self._key(table, needed=bool(arrays))
        self.positions[name] = {row.get(table.key): i for i, row in enumerate(table.rows)} if table.key else {}
        for k, found in objects.items():
            self._objects(table, k, found)
        for k, found in arrays.items():
            child = self.fresh(k, name)
            records_k: list[dict[str, Any]] = []
            owners: list[Any] = []
            for i, items in found:
                for item in items:
                    records_k.append(item if isinstance(item, dict) else {"value": item})
                    owners.append(table.rows[i][table.key])  # type: ignore[index]
            self.walk(child, records_k, f"{origin}[].{k}", (name, table.key, owners))  # type: ignore[arg-type]
        return table

    def _objects(self, table: _Table, k: str, found: list[tuple[int, dict[str, Any]]]) -> None:
        """Nested objects with an ``id``: a table of their own (one row per distinct id) that the record
        references through ``K_id``."""
        child = self.fresh(k, table.name)
        keyed = all(o["id"] is not None and not isinstance(o["id"], (dict, list)) for _, o in found)
        distinct: dict[Any, dict[str, Any]] = {}
        refs: list[Any] = []
        for n, (_, obj) in enumerate(found):
            ident = obj["id"] if keyed else n + 1
            distinct.setdefault(ident, obj)
            refs.append(ident)
        if keyed:
            records = list(distinct.values())
        else:  # one row per object, numbered
            records = [{"id": n + 1, **{c: v for c, v in o.items() if c != "id"}} for n, (_, o) in enumerate(found)]
        sub = self.walk(child, records, f"{table.origin}.{k}")
        sub.key = "id"
        column = self._unused(table, f"{singular(snake(k))}_id")
        for row in table.rows:
            row.setdefault(column, None)
        for (i, _), ident in zip(found, refs):
            table.rows[i][column] = ident
        table.fks.append(ForeignKey([column], child, ["id"]))

    @staticmethod
    def _unused(table: _Table, column: str) -> str:
        names = {k for row in table.rows for k in row}
        while column in names:
            column += "_"
        return column

    @staticmethod
    def _key(table: _Table, needed: bool) -> str | None:
        """The records' key: ``id``, ``<table>Id`` or ``<table>_id`` when unique and never missing; else,
        when children need one, a new ``<table>_key`` numbering the records."""
        one = singular(table.name)
        for candidate in ("id", f"{one}_id", f"{one}Id", f"{one}ID", f"{table.name}_id"):
            values = [row.get(candidate) for row in table.rows]
            if values and None not in values and len(set(map(repr, values))) == len(values):
                return candidate
        if not needed:
            return None
        column = _Reader._unused(table, f"{one}_key")
        for i, row in enumerate(table.rows):
            row[column] = i + 1
        table.rows = [{column: row.pop(column), **row} for row in table.rows]
        return column


def _id_references(tables: dict[str, _Table]) -> None:
    """``teamId`` / ``team_id`` naming another table with a key: a foreign key to it."""
    by_name = {}
    for name, t in tables.items():
        if t.key:
            by_name.setdefault(name, name)
            by_name.setdefault(singular(name), name)
    for t in tables.values():
        linked = {c for fk in t.fks for c in fk.columns}
        names = dict.fromkeys(k for row in t.rows for k in row)
        for column in names:
            s = snake(column)
            if column in linked or column == t.key or not s.endswith("_id"):
                continue
            target = by_name.get(s[:-3])
            if target and target != t.name:
                t.fks.append(ForeignKey([column], target, [tables[target].key]))  # type: ignore[list-item]


def tables_from_records(records: list[dict[str, Any]], name: str, origin: str = "") -> list[SourceTable]:
    """Source tables from JSON records (the root table ``name``, then its nested tables in the order met)."""
    reader = _Reader(origin)
    reader.walk(reader.fresh(name, None), records, origin or name)
    _id_references(reader.tables)
    out = []
    for t in reader.tables.values():
        names = list(dict.fromkeys(k for row in t.rows for k in row))
        columns = [column_from_values(c, [row.get(c) for row in t.rows]) for c in names]
        out.append(SourceTable(name=t.name, columns=columns, key=[t.key] if t.key else [], foreign_keys=t.fks,
                               rows=len(t.rows), origin=t.origin))
    return out
