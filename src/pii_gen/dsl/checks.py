"""Checks of a whole schema that one table's model cannot make: references between tables and columns,
cycles, expressions (names and kinds), keys and uniqueness. All of them run before any row exists.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path
from typing import Any

from ..variability.registry import noise_type
from .anomalies import ANOMALIES
from .base import GENERATORS, MODIFIERS, Expr, type_kind
from .expr import ExprError, Scope, check as check_expr, names as names_in, parse
from .fanout import expressions as fanout_expressions
from .model import CALENDAR, HOUSEHOLDS, Schema, Table
from .modifiers import SIBLINGS, column_kind, noise_kind

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Problem(Exception):
    """One thing wrong at ``path`` (a tuple of keys and list indices into the file)."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _value_kind(value: Any) -> str:
    kinds = ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"))
    return next((k for t, k in kinds if isinstance(value, t)), "any")


def kinds(table: Table) -> dict[str, str]:
    """Each column's kind: a vocab's ``data:`` columns by their first value, generated columns as their
    generator declares it (``any`` where only the engine knows)."""
    data = {name: _value_kind(value) for name, value in (table.data or [{}])[0].items()}
    return {**data, **{name: _kind(col) for name, col in table.columns.items()}}


def _kind(col: Any) -> str:
    made = GENERATORS[col.gen].kind(col, col.type)
    drifted = any(name == "noise" and params.type == "format" for (name, params), in col.modify)
    return "string" if drifted and made == "date" else made  # other date formats are written as text


def can_be_unique(table: Table, col: Any) -> bool:
    """Whether a column's generator guarantees distinct values there: a unique-capable one (a ref only with
    ``unique: true``), or a row's own person or household id on a table of people or of household rows."""
    if col.gen == "person":
        own = {"population": "person_id", HOUSEHOLDS: "household_id"}.get(table.from_ or "")
        return col.of is None and col.field == own
    return GENERATORS[col.gen].unique and (col.gen != "ref" or col.unique)


def parent_column(schema: Schema, table: Table) -> str | None:
    """The column a child table gets its parent's key in (``parent_column:``, else named like that key)."""
    if table.parent is None:
        return None
    return table.parent_column or schema.tables[table.parent].keys[0]


def _unique_columns(table: Table) -> set[str]:
    return set(table.keys[:1] if len(table.keys) == 1 else ()) | {n for n, c in table.columns.items() if c.unique}


def composite_columns(table: Table, cname: str, col: Any, target_name: str, target: Table,
                      path: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    """The (column, target column) pairs of ref ``cname``'s composite foreign key (the ref and the ``with:``
    lookups through it), in the order of the target's key; a Problem unless they cover that key exactly."""
    pairs = [(cname, col.to.partition(".")[2] or target.keys[0])]
    for k, other in enumerate(col.with_ or ()):
        lookup = table.columns.get(other)
        via = None if lookup is None or lookup.gen != "lookup" else lookup.via
        if via not in (cname, [cname]):
            raise Problem(path + ("with", k), f"'{other}' is not a lookup through {cname} (gen: lookup, via: {cname})")
        pairs.append((other, lookup.column))  # type: ignore[union-attr]
    read = [r for _, r in pairs]
    if len(target.keys) < 2 or sorted(read) != sorted(target.keys):
        key = ", ".join(target.keys) or "none"
        raise Problem(path + ("with",), f"{cname} and its with: lookups read {', '.join(read)} of {target_name}: "
                                        f"a composite foreign key reads its whole key ({key})")
    return sorted(pairs, key=lambda p: target.keys.index(p[1]))


def _edges(schema: Schema, name: str, table: Table) -> list[tuple[str, tuple[Any, ...]]]:
    """The tables ``name`` needs generated first, each with the path of what needs it."""
    here: tuple[Any, ...] = ("tables", name)
    out = [(table.parent, here + ("parent",))] if table.parent else []
    for cname, col in table.columns.items():
        path = here + ("columns", cname)
        if col.gen == "ref" and col.to != "self":
            out.append((col.to.split(".")[0], path + ("to",)))
        if col.gen == "choice" and col.from_ is not None:
            out.append((col.from_.split(".")[0], path + ("from",)))
        needs = getattr(GENERATORS[col.gen], "needs", None)
        if needs is not None:  # a generator reading another table's rows (aggregate)
            out.extend((target, path + ("of",)) for target in needs(col))
    return out


#: ``lookup(REF, ...)`` in an expression: a read through ref column REF of the expression's table.
_LOOKUP_CALL = re.compile(r"\blookup\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)")


def _read_through(schema: Schema) -> set[tuple[str, str]]:
    """The (table, ref column) pairs that some ``lookup`` (a column's, or ``lookup()`` in an expression of the
    ref's table) reads the target's rows through."""
    out: set[tuple[str, str]] = set()
    for name, table in schema.tables.items():
        for col in table.columns.values():
            texts = [v for _, v in col if isinstance(v, str)]
            texts += [v for step in col.modify for _, params in step for _, v in params if isinstance(v, str)]
            out.update((name, ref) for text in texts for ref in _LOOKUP_CALL.findall(text))
            if col.gen != "lookup":
                continue
            here_name, here = name, table
            for hop in [col.via] if isinstance(col.via, str) else list(col.via):
                if hop == "parent" and here.parent in schema.tables:
                    here_name = here.parent
                else:
                    ref = here.columns.get(hop)
                    if ref is None or ref.gen != "ref":
                        break  # a wrong hop, which check() reports
                    out.add((here_name, hop))
                    here_name = here_name if ref.to == "self" else ref.to.split(".")[0]
                if here_name not in schema.tables:
                    break
                here = schema.tables[here_name]
    return out


def not_positional(schema: Schema, name: str, cname: str, through: set[tuple[str, str]] | None = None) -> str | None:
    """Why ref column ``cname`` of table ``name`` is not *positional* (None when it is).

    A positional ref needs none of its target's rows: it picks positions among a row count known when the plan
    is built (the target has ``rows:``, or is ``from: population`` with ``population.size``), uniformly or by
    zipf (no ``where:``, ``weighted_by`` or ``unique``), and its values are a plain ``sequence`` (no modify,
    no null_rate), a pure function of the position; no ``lookup`` reads through it.  Such a ref may refer to a
    table generated after its own, which is what lets tables reference each other in a cycle."""
    col = schema.tables[name].columns[cname]
    target_name, _, column = col.to.partition(".")
    target = schema.tables.get(target_name)
    if col.to == "self" or target is None:
        return "it is not a ref to another table"
    sized = target.rows is not None or (target.from_ == "population" and schema.population is not None
                                        and schema.population.size is not None)
    column = column or (target.keys[0] if target.keys else "")
    key = target.columns.get(column)
    reasons = [
        (target.kind == "vocab", f"{target_name} is a vocab table"),
        (target.parent is not None, f"{target_name} has a parent"),
        (target.from_ == HOUSEHOLDS, f"{target_name} is a from: {HOUSEHOLDS} table"),
        (not sized, f"{target_name}'s row count is not known before it is generated"),
        (key is None or key.gen != "sequence" or bool(key.modify) or bool(key.null_rate),
         f"{target_name}.{column or '?'} is not a plain sequence"),
        (col.where is not None, "it has where:"),
        (not isinstance(col.pick, str) and hasattr(col.pick, "weighted_by"), "it picks weighted_by"),
        (col.unique, "it is unique"),
        ((name, cname) in (_read_through(schema) if through is None else through), "a lookup reads through it"),
    ]
    return next((why for fails, why in reasons if fails), None)


def order(schema: Schema) -> list[str]:
    """Tables in generation order (each after those it references), or Problem naming a cycle.

    A positional ref (see :func:`not_positional`) orders its table after its target too, unless that would
    close a cycle: then it is left out, and its table may come before its target.  A cycle of other edges
    (parents, refs that read the target's rows, ``choice from:``) is refused."""
    through = _read_through(schema)
    edges = {name: [(target, path, path[-1] == "to" and not_positional(schema, name, path[-2], through) is None)
                    for target, path in _edges(schema, name, table)]
             for name, table in schema.tables.items()}
    dropped: set[tuple[Any, ...]] = set()  # the paths of the positional refs left out
    while True:
        cycle = _order(edges, dropped)
        if isinstance(cycle, list):
            return cycle
        names, used = cycle
        movable = [path for _, path, positional in used if positional]
        if not movable:
            refs = [path for _, path, _ in used if path[-1] == "to"]
            hint = "" if not refs else (f" (ref {refs[0][1]}.{refs[0][3]} would break it if positional, but "
                                        f"{not_positional(schema, refs[0][1], refs[0][3], through)})")
            raise Problem(("tables", names[0]),
                          f"tables reference each other in a cycle: {' -> '.join(names)}{hint}")
        dropped.add(movable[-1])


def _order(edges: dict[str, list[tuple[str, tuple[Any, ...], bool]]], dropped: set[tuple[Any, ...]]) \
        -> list[str] | tuple[list[str], list[tuple[str, tuple[Any, ...], bool]]]:
    """The tables depth first, in file order, over the edges not ``dropped``; or the first cycle met: its
    tables (the first repeated at the end) and the edges along it."""
    done: list[str] = []
    state: dict[str, int] = {}
    trail: list[str] = []
    taken: list[tuple[str, tuple[Any, ...], bool]] = []

    def visit(name: str) -> tuple[list[str], list[tuple[str, tuple[Any, ...], bool]]] | None:
        if state.get(name) == 2:
            return None
        if state.get(name) == 1:
            at = trail.index(name)
            return trail[at:] + [name], taken[at:]
        state[name] = 1
        trail.append(name)
        for edge in edges[name]:
            if edge[1] in dropped:
                continue
            taken.append(edge)
            found = visit(edge[0])
            if found is not None:
                return found
            taken.pop()
        trail.pop()
        state[name] = 2
        done.append(name)
        return None

    for name in edges:
        found = visit(name)
        if found is not None:
            return found
    return done


def _expr(text: str, scope: Scope, path: tuple[Any, ...]) -> str:
    try:
        return check_expr(text, scope)
    except ExprError as err:
        raise Problem(path, str(err)) from None


def check(schema: Schema, base: Path | None = None) -> None:
    """Raise Problem for the first thing in the file that cannot be generated as written.

    ``base`` is the schema file's folder, which vocab ``file:`` paths are relative to (None: not checked).
    """
    tables = schema.tables
    for name, table in tables.items():
        if not NAME.match(name):
            raise Problem(("tables", name), "a table name is letters, digits and _ (not starting with a digit)")
        for cname in table.columns:
            if not NAME.match(cname):
                raise Problem(("tables", name, "columns", cname), "a column name is letters, digits and _")
        for target, path in _edges(schema, name, table):
            if target not in tables:
                raise Problem(path, f"no table named '{target}'")
    order(schema)
    all_kinds = {name: kinds(t) for name, t in tables.items()}
    for name, table in tables.items():  # a child's parent link is a column others read (parent., lookups)
        link = parent_column(schema, table) if table.parent in tables else None
        if link and link not in all_kinds[name]:
            key = tables[table.parent].keys[0]  # type: ignore[index]
            all_kinds[name][link] = kinds(tables[table.parent]).get(key, "any")  # type: ignore[index]
    for name, table in tables.items():
        if table.kind == "vocab":
            _check_vocab(name, table, base)
        _check_table(schema, name, table, all_kinds)
    _check_sections(schema, all_kinds)


def _check_vocab(name: str, table: Table, base: Path | None) -> None:
    here: tuple[Any, ...] = ("tables", name)
    if table.file is not None:
        if Path(table.file).suffix.lower() not in (".csv", ".parquet"):
            raise Problem(here + ("file",), "must be a .csv or .parquet file")
        if base is not None and not (base / table.file).is_file():
            raise Problem(here + ("file",), f"no file '{table.file}' next to the schema file")
        return
    rows = table.data or []
    if not rows:
        raise Problem(here + ("data",), "a vocab table needs at least one row")
    first = list(rows[0])
    for i, row in enumerate(rows[1:], 1):
        if list(row) != first:
            keys = ", ".join(map(str, row))
            raise Problem(here + ("data", i), f"has keys {keys}; the first row has {', '.join(first)}")
    for k, key in enumerate(table.keys):
        path = here + ("key",) + ((k,) if isinstance(table.key, list) else ())
        if key not in first and key not in table.columns:
            raise Problem(path, f"names no column of {name}")
    if table.keys and all(k in first for k in table.keys):
        seen: set[tuple[Any, ...]] = set()
        for i, row in enumerate(rows):
            value = tuple(row[k] for k in table.keys)
            if value in seen:
                raise Problem(here + ("data", i), f"repeats key {', '.join(map(str, value))}")
            seen.add(value)


def _check_table(schema: Schema, name: str, table: Table, all_kinds: dict[str, dict[str, str]]) -> None:
    here: tuple[Any, ...] = ("tables", name)
    columns = table.columns
    for i, key in enumerate(table.keys):
        path = here + ("key",) + ((i,) if isinstance(table.key, list) else ())
        if table.kind == "vocab":
            continue  # its keys are in its data, checked with it
        if key not in columns and key != parent_column(schema, table):
            raise Problem(path, f"names no column of {name}")
        col = columns.get(key)
        if col is not None and col.null_rate:
            raise Problem(here + ("columns", key, "null_rate"), "a key column cannot have nulls")
        if col is not None and col.modify:
            raise Problem(here + ("columns", key, "modify"), "a key column cannot be modified")
        if col is not None and len(table.keys) == 1 and not can_be_unique(table, col):
            raise Problem(path, f"key {key} needs unique values: gen {col.gen} cannot guarantee them "
                                "(use sequence, uuid or a ref with unique: true)")
    if table.parent is not None:
        parent = schema.tables[table.parent]
        if not parent.keys:
            raise Problem(here + ("parent",), f"table {table.parent} has no key: to: a parent needs key:")
        if parent_column(schema, table) in columns:
            raise Problem(here + ("columns", parent_column(schema, table)),
                          "is the parent's key column, added automatically (or set parent_column:)")
        parent_scope = Scope(parent=all_kinds[table.parent])
        for key, text in fanout_expressions(table.fanout).items():
            _expr(text, parent_scope, here + ("fanout", key))
    parent_kinds = all_kinds[table.parent] if table.parent else None
    refs = {c: col.to.split(".")[0] if col.to != "self" else name
            for c, col in columns.items() if col.gen == "ref"}
    refs.update({c: col.of for c, col in columns.items() if col.gen == "pick"})  # read through like a ref
    names = list(columns)
    for i, (cname, col) in enumerate(columns.items()):
        path = here + ("columns", cname)
        earlier = {n: all_kinds[name][n] for n in names[:i]}
        if table.parent:
            earlier[parent_column(schema, table)] = "any"
        scope = Scope(columns=earlier, parent=parent_kinds, refs={r: t for r, t in refs.items() if r in earlier},
                      tables=all_kinds, later=frozenset(names[i:]), table=name)
        if col.unique and not (can_be_unique(table, col) or col.gen == "ref"):
            raise Problem(path + ("unique",), f"gen {col.gen} cannot guarantee unique values")
        if col.unique and col.gen == "ref" and col.to == "self":
            raise Problem(path + ("unique",), "a self-reference cannot be unique")
        if col.unique and col.modify and cname not in table.keys:
            raise Problem(path + ("modify",), "modifiers could break a unique column's uniqueness")
        if col.unique and col.null_rate:
            raise Problem(path + ("null_rate",), "a unique column cannot have nulls")
        if col.gen == "sequence" and col.format and col.type and not col.type.startswith("string"):
            raise Problem(path + ("type",), "a formatted sequence makes strings")
        for key, value in col:
            if isinstance(value, Expr):
                _expr(value, scope, path + (key,))
        if col.gen == "expression":
            _expr(col.expr, scope, path + ("expr",))
        _check_generator(schema, name, table, cname, col, path, scope, all_kinds)
        for j, step in enumerate(col.modify):
            (mod_name, params), = step
            step_path = path + ("modify", j, mod_name)
            if mod_name == "noise":
                _check_noise(table, cname, col, params, all_kinds[name], step_path, earlier)
            if mod_name != "nulls" and (cname in table.keys or (col.gen == "ref")):
                raise Problem(step_path, "modifiers never change a key or a foreign key")
            for key, value in params:
                if isinstance(value, Expr):
                    _expr(value, Scope(**{**scope.__dict__, "columns": {**earlier, cname: all_kinds[name][cname]}}),
                          step_path + (key,))
            allowed = MODIFIERS[mod_name].kinds
            kind = all_kinds[name][cname]
            if allowed is not None and kind != "any" and kind not in allowed:
                raise Problem(step_path, f"changes {' or '.join(sorted(allowed))} values, and {cname} is {kind}")
            if mod_name == "seasonality" and params.on not in earlier:
                raise Problem(step_path + ("on",), f"needs an earlier column of {name}, not '{params.on}'")
            if mod_name == "nulls" and cname in table.keys:
                raise Problem(step_path, "a key column cannot have nulls")


def _check_noise(table: Table, cname: str, col: Any, params: Any, table_kinds: dict[str, str],
                 path: tuple[Any, ...], earlier: dict[str, str]) -> None:
    """A noise step changes data only (never a key or a ref, which must keep resolving), of a kind its type
    can change, with the sibling columns that type reads made before it."""
    if cname in table.keys or col.gen == "ref":
        raise Problem(path, f"noise never changes a key or a ref column ({cname} must keep resolving)")
    value_kind = GENERATORS[col.gen].kind(col, col.type)
    kind = noise_kind(col, params, value_kind)
    noise = noise_type(params.type)
    if kind is None or not noise.supports(kind):
        what = f"{kind} values" if kind else f"{value_kind} values of gen {col.gen}"
        fits = sorted(k for k in noise.kinds if k != "id")
        raise Problem(path + ("type",), f"{params.type} noise cannot change {what} (it changes "
                                        f"{', '.join(fits)}: set kind: for a column holding one)")
    sibling = SIBLINGS.get((params.type, kind))
    if sibling is not None and not any(column_kind(table.columns[c]) == sibling for c in earlier if c in table.columns):
        raise Problem(path + ("type",), f"{params.type} noise on {kind} values reads the row's {sibling}: "
                                        f"make a gen: person column of it before {cname}")


def _check_generator(schema: Schema, name: str, table: Table, cname: str, col: Any, path: tuple[Any, ...],
                     scope: Scope, all_kinds: dict[str, dict[str, str]]) -> None:
    tables = schema.tables
    if col.gen == "ref":
        target_name = name if col.to == "self" else col.to.split(".")[0]
        target = tables[target_name]
        if "." in col.to:
            column = col.to.split(".", 1)[1]
            if column not in target.columns:
                raise Problem(path + ("to",), f"table {target_name} has no column '{column}'")
            if column not in _unique_columns(target) and not (col.with_ and column in target.keys):
                raise Problem(path + ("to",), f"{col.to} is not unique: refer to a key or a unique: true column")
        elif not target.keys:
            raise Problem(path + ("to",), f"table {target_name} has no key: name TABLE.COLUMN or give it key:")
        elif len(target.keys) > 1 and not col.with_:
            raise Problem(path + ("to",), f"table {target_name} has a composite key ({', '.join(target.keys)}): "
                                          "name the lookups of its other columns in with: (one foreign key)")
        if col.with_:
            composite_columns(table, cname, col, target_name, target, path)
        pick = col.pick
        if not isinstance(pick, str) and hasattr(pick, "weighted_by") and target.file is None \
                and pick.weighted_by not in kinds(target):
            raise Problem(path + ("pick", "weighted_by"), f"table {target_name} has no column '{pick.weighted_by}'")
        if col.where is not None:
            _expr(col.where, Scope(columns=all_kinds[target_name]), path + ("where",))
        if col.unique and col.to != "self" and table.rows is not None and target.rows is not None \
                and table.rows > target.rows:
            raise Problem(path + ("unique",), f"{table.rows} rows cannot each take a different row of "
                                              f"{target_name} ({target.rows} rows)")
    elif col.gen == "lookup":
        hops = [col.via] if isinstance(col.via, str) else list(col.via)
        here_name, here_table = name, table
        own = True  # still on this table's rows (only self refs lead there): only earlier columns are made
        for k, hop in enumerate(hops):
            hop_path = path + (("via",) if isinstance(col.via, str) else ("via", k))
            if hop == "parent":
                if here_table.parent is None:
                    raise Problem(hop_path, f"table {here_name} has no parent")
                here_name, own = here_table.parent, False
            else:
                ref = here_table.columns.get(hop)
                if ref is None or ref.gen not in ("ref", "pick") or (ref.gen == "pick" and k):
                    raise Problem(hop_path, f"'{hop}' is not a ref column of {here_name}")
                if own and hop not in scope.columns:
                    raise Problem(hop_path, f"'{hop}' comes later in the table: only earlier columns can be read")
                if ref.gen == "pick":  # a pick is read through from its own rows only (its first hop)
                    own, here_name = False, ref.of
                else:
                    own = own and ref.to == "self"
                    here_name = here_name if ref.to == "self" else ref.to.split(".")[0]
            here_table = tables[here_name]
        link = parent_column(schema, here_table) if here_table.parent is not None and not own else None
        if here_table.file is None and col.column not in kinds(here_table) and col.column != link:  # vocab: engine
            raise Problem(path + ("column",), f"table {here_name} has no column '{col.column}'")
        if own and col.column not in scope.columns:
            raise Problem(path + ("column",), f"'{col.column}' comes later in the table: a lookup through a to: self "
                                              "ref reads earlier columns only")
    elif col.gen == "choice" and col.from_ is not None:
        vocab_name, column = col.from_.split(".")
        vocab = tables[vocab_name]
        if vocab.kind != "vocab":
            article = "an" if vocab.kind == "entity" else "a"
            raise Problem(path + ("from",),
                          f"table {vocab_name} is {article} {vocab.kind} table: from: needs a vocab table")
        known = set(vocab.columns) | {k for row in (vocab.data or []) for k in row}
        if vocab.data is not None and column not in known:
            raise Problem(path + ("from",), f"table {vocab_name} has no column '{column}'")
    elif col.gen == "person":
        if col.of is None and table.from_ in (None, CALENDAR):
            raise Problem(path + ("of",), "needs of: REF_COLUMN outside a from: population (or {HOUSEHOLDS}) table")
        if col.of is not None and col.of not in scope.refs:
            raise Problem(path + ("of",), f"'{col.of}' is not an earlier ref column of {name}")
        if col.of is not None and tables[scope.refs[col.of]].from_ in (None, CALENDAR):
            raise Problem(path + ("of",), f"'{col.of}' refers to {scope.refs[col.of]}, not a from: population "
                                          f"(or {HOUSEHOLDS}) table")
    elif col.gen == "aggregate":
        if col.key not in scope.columns:
            raise Problem(path + ("key",), f"'{col.key}' is not an earlier column of {name}")
        other = dict(all_kinds[col.of])
        link = parent_column(schema, tables[col.of])
        if link:  # the parent's key, added to a fact without being declared
            other[link] = "any"
        for key in ("by", "column"):
            wanted = col.child_key if key == "by" else col.column
            if wanted is not None and wanted not in other:
                raise Problem(path + (key,), f"table {col.of} has no column '{wanted}'")
        if col.where is not None:
            _expr(col.where, Scope(columns=other), path + ("where",))
    elif col.gen == "pick":
        other = dict(all_kinds[col.of])
        link = parent_column(schema, tables[col.of])
        if link:
            other[link] = "any"
        for k, m in enumerate(col.match):
            if m.key not in scope.columns:
                raise Problem(path + ("match", k, "key"), f"'{m.key}' is not an earlier column of {name}")
            if (m.by or m.key) not in other:
                raise Problem(path + ("match", k, "by"), f"table {col.of} has no column '{m.by or m.key}'")
            if m.where is not None:
                _expr(m.where, Scope(columns=other), path + ("match", k, "where"))
        if col.column is not None and col.column not in other:
            raise Problem(path + ("column",), f"table {col.of} has no column '{col.column}'")
        if col.column is None and not tables[col.of].keys:
            raise Problem(path + ("column",), f"table {col.of} has no key: name the column to take")
    elif col.gen == "partition_of":
        if scope.parent is None:
            raise Problem(path + ("total",), "partition_of needs a table with a parent")
        column = col.total.split(".", 1)[1]
        if column not in scope.parent:
            raise Problem(path + ("total",), f"the parent has no column '{column}'")
    made = GENERATORS[col.gen].kind(col, None)
    declared = type_kind(col.type) if col.type else "any"
    if col.type and "any" not in (made, declared) and made != declared and not {made, declared} <= {"int", "float"} \
            and not {made, declared} <= {"date", "timestamp"} and declared != "string":
        raise Problem(path + ("type",), f"gen {col.gen} makes {made} values, not {col.type}")


def _column(schema: Schema, ref: str, path: tuple[Any, ...]) -> None:
    table, _, column = ref.partition(".")
    if table not in schema.tables:
        raise Problem(path, f"no table named '{table}'")
    spec = schema.tables[table]
    if column and column not in spec.columns and column not in spec.keys and column != parent_column(schema, spec):
        raise Problem(path, f"table {table} has no column '{column}'")


#: What a column effect's multiply/add expression may name beside the table's columns: the bounds of the
#: window each changed row is inside.
WINDOW_NAMES = ("window_start", "window_end")


def _table_scope(schema: Schema, table: str, all_kinds: dict[str, dict[str, str]]) -> Scope:
    """What an expression about a whole table (effects, targets) may name: all its columns and refs."""
    spec = schema.tables[table]
    refs = {c: (table if col.to == "self" else col.to.split(".")[0]) for c, col in spec.columns.items()
            if col.gen == "ref"}
    columns = dict(all_kinds[table])
    if spec.parent:
        columns[parent_column(schema, spec) or ""] = "any"
        refs[parent_column(schema, spec) or ""] = spec.parent  # a lookup through the parent link reads the parent
    return Scope(columns=columns, refs=refs, tables=all_kinds)


def _qualified(schema: Schema, text: str, path: tuple[Any, ...]) -> None:
    """An expression over TABLE.COLUMN names (constraints): it parses and names existing columns only."""
    try:
        tree = parse(text)
    except ExprError as err:
        raise Problem(path, str(err)) from None
    bases = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            _column(schema, f"{node.value.id}.{node.attr}", path)  # type: ignore[attr-defined]
        elif isinstance(node, ast.Name) and id(node) not in bases and not any(
                isinstance(c, ast.Call) and c.func is node for c in ast.walk(tree)):
            raise Problem(path, f"names columns as TABLE.COLUMN, not '{node.id}'")


def _check_sections(schema: Schema, all_kinds: dict[str, dict[str, str]]) -> None:
    names = _check_effects(schema, all_kinds)
    _check_anomalies(schema, all_kinds)
    for i, constraint in enumerate(schema.constraints):
        path = ("constraints", i)
        if constraint.unique is not None:
            for j, ref in enumerate([constraint.unique] if isinstance(constraint.unique, str) else constraint.unique):
                _column(schema, ref, path + ("unique",) + (() if isinstance(constraint.unique, str) else (j,)))
        if constraint.range is not None:
            _column(schema, constraint.range.column, path + ("range", "column"))
        for key in ("inequality", "check"):
            if getattr(constraint, key) is not None:
                _qualified(schema, getattr(constraint, key), path + (key,))
    for i, target in enumerate(schema.targets):
        path = ("targets", i)
        if target.table is not None:
            _column(schema, target.table, path + ("table",))
            if target.column is not None:
                _column(schema, f"{target.table}.{target.column}", path + ("column",))
            for key in ("where", "among", "x", "y"):
                if getattr(target, key) is not None:
                    _expr(getattr(target, key), _table_scope(schema, target.table, all_kinds), path + (key,))
        if target.parent is not None:
            _column(schema, target.parent, path + ("parent",))
        if target.effect is not None and target.effect not in names:
            raise Problem(path + ("effect",), f"no effect named '{target.effect}'")


#: What an effect may time its rows by, and what a column effect may change.
_TIMES = {"date", "timestamp", "any"}
_NUMBERS = {"int", "float", "any"}
#: The most rows (at scale 1) a table whose rows are an effect's windows may have.
SOURCE_ROWS = 100_000
#: The ledger's table name (a run that labels anything writes it beside the file's tables).
LEDGER = "_effects"


def _iso(value: Any) -> bool:
    if isinstance(value, (dt.date, dt.datetime)):
        return True
    try:
        (dt.date.fromisoformat if len(str(value)) == 10 else dt.datetime.fromisoformat)(str(value))
        return True
    except ValueError:
        return False


def _check_effects(schema: Schema, all_kinds: dict[str, dict[str, str]]) -> set[str]:
    """Each effect names a table, columns and windows it can act on (section 5); the names of the effects."""
    names: set[str] = set()
    tables = schema.tables
    if LEDGER in tables:
        raise Problem(("tables", LEDGER), f"{LEDGER} is the name of the effects ledger a run writes")
    for i, effect in enumerate(schema.effects):
        path = ("effects", i)
        if effect.name in names:
            raise Problem(path + ("name",), f"a second effect named '{effect.name}'")
        names.add(effect.name)
        _column(schema, effect.table, path + ("table",))
        table = tables[effect.table]
        if table.kind == "vocab":
            raise Problem(path + ("table",), f"table {effect.table} is a vocab table: effects change entity and "
                                             "fact tables")
        kinds_here = dict(all_kinds[effect.table])
        link = parent_column(schema, table)
        if link:
            kinds_here[link] = "any"
        protected = set(table.keys) | {link} | {c for c, col in table.columns.items() if col.gen == "ref"}
        for key in ("time", "column"):
            value = getattr(effect, key)
            if value is not None and value not in kinds_here:
                raise Problem(path + (key,), f"table {effect.table} has no column '{value}'")
        scope = _table_scope(schema, effect.table, all_kinds)
        if effect.where is not None and _expr(effect.where, scope, path + ("where",)) not in ("bool", "any"):
            raise Problem(path + ("where",), "must be a condition (true or false)")
        if effect.source is not None:
            _check_source(schema, effect, kinds_here, all_kinds, path + ("source",))
        for key in ("multiply", "add"):
            value = getattr(effect, key)
            if value == "value" and effect.source is not None:
                if effect.source.value is None:
                    raise Problem(path + (key,), "takes the source's value: name it with source.value")
            elif isinstance(value, str):
                # the row's window, as the time column's kind (a date window's end: its last day)
                spans = {name: kinds_here[effect.time] for name in WINDOW_NAMES}
                inner = Scope(columns={**scope.columns, **spans}, refs=scope.refs, tables=scope.tables)
                if _expr(value, inner, path + (key,)) not in _NUMBERS:
                    raise Problem(path + (key,), "must be a number")
        if kinds_here[effect.time] not in _TIMES:
            raise Problem(path + ("time",), f"{effect.table}.{effect.time} is {kinds_here[effect.time]}: the time "
                                            "column must be a date or timestamp")
        if effect.column is not None:
            if effect.column in protected:
                raise Problem(path + ("column",), f"{effect.column} is a key or a foreign key: effects never change "
                                                  "those")
            if kinds_here[effect.column] not in _NUMBERS:
                raise Problem(path + ("column",), f"{effect.table}.{effect.column} is {kinds_here[effect.column]}: "
                                                  "a column effect multiplies or adds to numbers")
        if effect.window is not None and _instant(effect.window.start) > _instant(effect.window.end):
            raise Problem(path + ("window", "end"), "must not be before start")
        if effect.rate is not None:
            _check_rate(schema, effect, path)
    return names


#: The table of anomaly labels a run with ``anomalies:`` writes beside the file's tables.
LABELS = "anomaly_labels"
#: Generators whose values are never null when the column has no null_rate and no modifier: an anomaly on
#: such a column picks among all the table's rows without reading them first.
NEVER_NULL = frozenset({"sequence", "uuid", "pattern", "choice", "distribution", "bool", "datetime",
                        "datetime_series", "constant", "partition_of"})


def _check_anomalies(schema: Schema, all_kinds: dict[str, dict[str, str]]) -> None:
    """Each anomaly names a table, a column its kind can change (never a key or a foreign key), a condition,
    an effect of the same table; a duplicate's table has one plain sequence key (its copies' keys follow
    the table's last)."""
    if LABELS in schema.tables:
        raise Problem(("tables", LABELS), f"{LABELS} is the name of the anomaly labels a run writes")
    seen: set[str] = set()
    effects = {e.name: e for e in schema.effects}
    for i, anomaly in enumerate(schema.anomalies):
        path = ("anomalies", i)
        if anomaly.name in seen:
            raise Problem(path + ("name",), f"a second anomaly named '{anomaly.name}'")
        seen.add(anomaly.name)
        _column(schema, anomaly.table, path + ("table",))
        table = schema.tables[anomaly.table]
        if table.kind == "vocab":
            raise Problem(path + ("table",), f"table {anomaly.table} is a vocab table: anomalies go into entity "
                                             "and fact tables")
        kind = ANOMALIES[anomaly.kind]
        link = parent_column(schema, table)
        refs = {c for c, col in table.columns.items() if col.gen == "ref"}
        for key in ("column", "time"):
            column = getattr(anomaly, key, None)
            if column is None:
                continue
            if column not in all_kinds[anomaly.table]:
                raise Problem(path + (key,), f"table {anomaly.table} has no column '{column}'")
            if kind.refs and key == "column":
                if column not in refs or column in table.keys:
                    raise Problem(path + (key,), f"{anomaly.table}.{column} is not a ref column (anomaly "
                                                 f"{anomaly.kind} empties a ref; never a key or the parent link)")
                continue
            if column in set(table.keys) | {link} | refs:
                raise Problem(path + (key,), f"{column} is a key or a foreign key: anomalies never change those")
            found = all_kinds[anomaly.table][column]
            allowed = kind.kinds if key == "column" else frozenset({"date", "timestamp"})
            if allowed is not None and found not in allowed | {"any"}:
                raise Problem(path + (key,), f"{anomaly.table}.{column} is {found}: anomaly {anomaly.kind} changes "
                                             f"{' or '.join(sorted(allowed))} columns")
        if anomaly.where is not None and _expr(anomaly.where, _table_scope(schema, anomaly.table, all_kinds),
                                               path + ("where",)) not in ("bool", "any"):
            raise Problem(path + ("where",), "must be a condition (true or false)")
        if anomaly.effect is not None:
            if anomaly.effect not in effects:
                raise Problem(path + ("effect",), f"no effect named '{anomaly.effect}'")
            if effects[anomaly.effect].table != anomaly.table:
                raise Problem(path + ("effect",), f"effect {anomaly.effect} changes table "
                                                  f"{effects[anomaly.effect].table}, not {anomaly.table}")
        if anomaly.kind == "duplicate":
            key = table.columns.get(table.keys[0]) if len(table.keys) == 1 else None
            if key is None or key.gen != "sequence" or key.modify or key.null_rate or key.permute:
                raise Problem(path + ("table",), f"a duplicate needs a table with one plain sequence key (its "
                                                 f"copies' keys follow {anomaly.table}'s last)")


def scanned(schema: Schema, anomaly: Any) -> bool:
    """Whether an anomaly's eligible rows are known only from their values (a ``where``, an ``effect``'s
    windows, a column that may be null), so a run's plan reads its table once to count them."""
    if anomaly.where is not None or anomaly.effect is not None:
        return True
    column = getattr(anomaly, "column", None)
    if column is None:
        return False
    col = schema.tables[anomaly.table].columns[column]
    return col.gen not in NEVER_NULL or bool(col.null_rate) or bool(col.modify)


def _instant(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def _check_source(schema: Schema, effect: Any, kinds_here: dict[str, str], all_kinds: dict[str, dict[str, str]],
                  path: tuple[Any, ...]) -> None:
    """A source of windows is a vocab table (each row a window) with time bounds, a numeric value and ``on``
    columns of both tables."""
    src = effect.source
    if src.table not in schema.tables:
        raise Problem(path + ("table",), f"no table named '{src.table}'")
    vocab = schema.tables[src.table]
    small = vocab.kind == "vocab" or (vocab.rows is not None and vocab.rows <= SOURCE_ROWS and vocab.parent is None
                                      and vocab.from_ is None)
    if not small:
        raise Problem(path + ("table",), f"table {src.table} is not a vocab table or a rows: table of at most "
                                         f"{SOURCE_ROWS} rows: windows come from a small table (one row per window)")
    if _reaches(schema, src.table, effect.table):
        raise Problem(path + ("table",), f"table {src.table} is made from {effect.table}: its rows cannot also be "
                                         f"the windows that change {effect.table}")
    if vocab.kind != "vocab" and effect.rate is not None and not src.on:
        raise Problem(path + ("table",), "a rate without on: grows the table's rows before any is made: its "
                                         "windows come from a vocab table")
    if vocab.file is not None:
        return  # its columns are known once the file is read (checked again then)
    theirs = all_kinds[src.table]
    for key in ("start", "end", "value"):
        column = getattr(src, key)
        if column is None:
            continue
        if column not in theirs:
            raise Problem(path + (key,), f"table {src.table} has no column '{column}'")
        kind = theirs[column]
        if key == "value" and kind not in _NUMBERS:
            raise Problem(path + (key,), f"{src.table}.{column} is {kind}: a window's value is a number")
        if key != "value":
            if kind not in _TIMES | {"string"}:
                raise Problem(path + (key,), f"{src.table}.{column} is {kind}: a window bound is a date or timestamp")
            for j, row in enumerate(vocab.data or []):
                if column in row and not _iso(row[column]):
                    raise Problem(("tables", src.table, "data", j, column),
                                  f"'{row[column]}' is not an ISO date or timestamp (a window bound of effect "
                                  f"{effect.name})")
    for mine, other in src.on.items():
        if mine not in kinds_here:
            raise Problem(path + ("on", mine), f"table {effect.table} has no column '{mine}'")
        if other not in theirs:
            raise Problem(path + ("on", mine), f"table {src.table} has no column '{other}'")
        a, b = kinds_here[mine], theirs[other]
        if "any" not in (a, b) and a != b and not {a, b} <= {"int", "float"}:
            raise Problem(path + ("on", mine), f"{effect.table}.{mine} is {a}, {src.table}.{other} is {b}: "
                                               "keys of one kind match")


def _reaches(schema: Schema, start: str, goal: str) -> bool:
    """Whether making table ``start`` needs table ``goal`` (through parents, refs and choices)."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen and name in schema.tables:
            seen.add(name)
            todo += [t for t, _ in _edges(schema, name, schema.tables[name])]
    return False


def _check_rate(schema: Schema, effect: Any, path: tuple[Any, ...]) -> None:
    """A rate effect draws its table's times (and grows its rows): the table has a row count of its own, the
    time column is a series or a datetime over literal bounds, and what decides which rows it covers is made
    before the times."""
    table = schema.tables[effect.table]
    if table.from_ == CALENDAR:
        raise Problem(path + ("rate",), f"table {effect.table} has one row per day (from: calendar): change "
                                        "its children's fanout through a column effect on it instead")
    if table.from_ is not None:
        raise Problem(path + ("rate",), f"table {effect.table} is the population's (from: {table.from_}): its rows "
                                        "are the population's, which a rate cannot add to")
    col = table.columns.get(effect.time)
    if col is None or col.gen not in ("datetime_series", "datetime"):
        raise Problem(path + ("time",), f"a rate draws the times: {effect.table}.{effect.time} must be a "
                                        "datetime_series or datetime column")
    bounds = col.within or () if col.gen == "datetime_series" else (col.start, col.end)
    if any(isinstance(b, Expr) for b in bounds):
        raise Problem(path + ("time",), f"a rate weighs one density: {effect.table}.{effect.time} needs literal "
                                        "bounds, not expressions")
    names = list(table.columns)
    earlier = set(names[:names.index(effect.time)]) | {parent_column(schema, table)}
    used = (names_in(effect.where) if effect.where else set()) | set(effect.source.on if effect.source else ())
    late = sorted(n for n in used if n not in earlier and n in table.columns)
    if late:
        raise Problem(path + ("where" if effect.where and late[0] in names_in(effect.where) else "source",),
                      f"'{late[0]}' comes after {effect.time}: a rate decides which rows it covers from the "
                      "columns made before the times")
