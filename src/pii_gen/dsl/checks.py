"""Checks of a whole schema that one table's model cannot make: references between tables and columns,
cycles, expressions (names and kinds), keys and uniqueness. All of them run before any row exists.
"""

from __future__ import annotations

import re
from typing import Any

from .base import GENERATORS, Expr
from .expr import ExprError, Scope, check as check_expr
from .fanout import expressions as fanout_expressions
from .model import Schema, Table

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Problem(Exception):
    """One thing wrong at ``path`` (a tuple of keys and list indices into the file)."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def kinds(table: Table) -> dict[str, str]:
    """Each column's kind as its generator declares it (``any`` where only the engine knows)."""
    return {name: GENERATORS[col.gen].kind(col, col.type) for name, col in table.columns.items()}


def _parent_column(schema: Schema, table: Table) -> str | None:
    if table.parent is None:
        return None
    return table.parent_column or schema.tables[table.parent].keys[0]


def _unique_columns(table: Table) -> set[str]:
    return set(table.keys[:1] if len(table.keys) == 1 else ()) | {n for n, c in table.columns.items() if c.unique}


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
    return out


def order(schema: Schema) -> list[str]:
    """Tables in generation order (each after those it references), or Problem naming a cycle."""
    done: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            raise Problem(("tables", cycle[0]), f"tables reference each other in a cycle: {' -> '.join(cycle)}")
        state[name] = 1
        for target, _ in _edges(schema, name, schema.tables[name]):
            visit(target, trail + [name])
        state[name] = 2
        done.append(name)

    for name in schema.tables:
        visit(name, [])
    return done


def _expr(text: str, scope: Scope, path: tuple[Any, ...]) -> str:
    try:
        return check_expr(text, scope)
    except ExprError as err:
        raise Problem(path, str(err)) from None


def check(schema: Schema) -> None:
    """Raise Problem for the first thing in the file that cannot be generated as written."""
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
    for name, table in tables.items():
        _check_table(schema, name, table, all_kinds)
    _check_sections(schema)


def _check_table(schema: Schema, name: str, table: Table, all_kinds: dict[str, dict[str, str]]) -> None:
    here: tuple[Any, ...] = ("tables", name)
    columns = table.columns
    for i, key in enumerate(table.keys):
        path = here + ("key",) + ((i,) if isinstance(table.key, list) else ())
        if key not in columns and key != _parent_column(schema, table):
            raise Problem(path, f"names no column of {name}")
        col = columns.get(key)
        if col is not None and col.null_rate:
            raise Problem(here + ("columns", key, "null_rate"), "a key column cannot have nulls")
        if col is not None and col.modify:
            raise Problem(here + ("columns", key, "modify"), "a key column cannot be modified")
        if col is not None and len(table.keys) == 1 and not (GENERATORS[col.gen].unique and
                                                           (col.gen != "ref" or col.unique)):
            raise Problem(path, f"key {key} needs unique values: gen {col.gen} cannot guarantee them "
                                "(use sequence, uuid or a ref with unique: true)")
    if table.parent is not None:
        parent = schema.tables[table.parent]
        if not parent.keys:
            raise Problem(here + ("parent",), f"table {table.parent} has no key: to: a parent needs key:")
        if _parent_column(schema, table) in columns:
            raise Problem(here + ("columns", _parent_column(schema, table)),
                          "is the parent's key column, added automatically (or set parent_column:)")
        parent_scope = Scope(parent=all_kinds[table.parent])
        for key, text in fanout_expressions(table.fanout).items():
            _expr(text, parent_scope, here + ("fanout", key))
    parent_kinds = all_kinds[table.parent] if table.parent else None
    refs = {c: col.to.split(".")[0] if col.to != "self" else name
            for c, col in columns.items() if col.gen == "ref"}
    names = list(columns)
    for i, (cname, col) in enumerate(columns.items()):
        path = here + ("columns", cname)
        earlier = {n: all_kinds[name][n] for n in names[:i]}
        if table.parent:
            earlier[_parent_column(schema, table)] = "any"
        scope = Scope(columns=earlier, parent=parent_kinds, refs={r: t for r, t in refs.items() if r in earlier},
                      tables=all_kinds, later=frozenset(names[i:]))
        gen = GENERATORS[col.gen]
        if col.unique and not gen.unique:
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
            if mod_name != "nulls" and (cname in table.keys or (col.gen == "ref")):
                raise Problem(step_path, "modifiers never change a key or a foreign key")
            for key, value in params:
                if isinstance(value, Expr):
                    _expr(value, Scope(**{**scope.__dict__, "columns": {**earlier, cname: all_kinds[name][cname]}}),
                          step_path + (key,))
            if mod_name == "seasonality" and params.on not in earlier:
                raise Problem(step_path + ("on",), f"needs an earlier column of {name}, not '{params.on}'")
            if mod_name == "nulls" and cname in table.keys:
                raise Problem(step_path, "a key column cannot have nulls")


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
            if column not in _unique_columns(target):
                raise Problem(path + ("to",), f"{col.to} is not unique: refer to a key or a unique: true column")
        elif not target.keys:
            raise Problem(path + ("to",), f"table {target_name} has no key: name TABLE.COLUMN or give it key:")
        pick = col.pick
        if not isinstance(pick, str) and hasattr(pick, "weighted_by") and pick.weighted_by not in target.columns:
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
        for k, hop in enumerate(hops):
            hop_path = path + (("via",) if isinstance(col.via, str) else ("via", k))
            if hop == "parent":
                if here_table.parent is None:
                    raise Problem(hop_path, f"table {here_name} has no parent")
                here_name = here_table.parent
            else:
                ref = here_table.columns.get(hop)
                if ref is None or ref.gen != "ref":
                    raise Problem(hop_path, f"'{hop}' is not a ref column of {here_name}")
                if k == 0 and hop not in scope.columns:
                    raise Problem(hop_path, f"'{hop}' comes later in the table: only earlier columns can be read")
                here_name = here_name if ref.to == "self" else ref.to.split(".")[0]
            here_table = tables[here_name]
        if col.column not in here_table.columns:
            raise Problem(path + ("column",), f"table {here_name} has no column '{col.column}'")
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
        if col.of is None and table.from_ != "population":
            raise Problem(path + ("of",), "needs of: REF_COLUMN outside a from: population table")
        if col.of is not None and col.of not in scope.refs:
            raise Problem(path + ("of",), f"'{col.of}' is not an earlier ref column of {name}")
    elif col.gen == "partition_of":
        if scope.parent is None:
            raise Problem(path + ("total",), "partition_of needs a table with a parent")
        column = col.total.split(".", 1)[1]
        if column not in scope.parent:
            raise Problem(path + ("total",), f"the parent has no column '{column}'")
    elif col.gen in ("distribution", "choice") and col.type in ("bool", "date", "timestamp"):
        raise Problem(path + ("type",), f"gen {col.gen} cannot make {col.type} values")


def _column(schema: Schema, ref: str, path: tuple[Any, ...]) -> None:
    table, _, column = ref.partition(".")
    if table not in schema.tables:
        raise Problem(path, f"no table named '{table}'")
    if column and column not in schema.tables[table].columns and column not in schema.tables[table].keys:
        raise Problem(path, f"table {table} has no column '{column}'")


def _check_sections(schema: Schema) -> None:
    names = set()
    for i, effect in enumerate(schema.effects):
        path = ("effects", i)
        if effect.name in names:
            raise Problem(path + ("name",), f"a second effect named '{effect.name}'")
        names.add(effect.name)
        _column(schema, effect.table, path + ("table",))
        for key in ("time", "column"):
            if getattr(effect, key) is not None:
                _column(schema, f"{effect.table}.{getattr(effect, key)}", path + (key,))
    for i, constraint in enumerate(schema.constraints):
        path = ("constraints", i)
        if constraint.unique is not None:
            for j, ref in enumerate([constraint.unique] if isinstance(constraint.unique, str) else constraint.unique):
                _column(schema, ref, path + ("unique",) + (() if isinstance(constraint.unique, str) else (j,)))
        if constraint.range is not None:
            _column(schema, constraint.range.column, path + ("range", "column"))
    for i, target in enumerate(schema.targets):
        path = ("targets", i)
        if target.table is not None:
            _column(schema, target.table, path + ("table",))
            if target.column is not None:
                _column(schema, f"{target.table}.{target.column}", path + ("column",))
        if target.effect is not None and target.effect not in names:
            raise Problem(path + ("effect",), f"no effect named '{target.effect}'")
