"""The expression language of schema files (section 3.2): parsed by Python's ``ast`` in eval mode against a
strict whitelist, type-checked when the file is read, evaluated over whole Arrow arrays.

Nothing is ever passed to ``eval``: only the node types below are accepted, names resolve to columns of
the block (never to Python objects), and each function maps to a vectorized pyarrow.compute or numpy
implementation. ``ast`` is used rather than a grammar library because the language is Python's expression
syntax restricted; a whitelist over its tree is shorter and easier to audit than a second grammar.

Kinds: ``int``, ``float``, ``string``, ``bool``, ``date``, ``timestamp``, ``null`` (the literal None) and
``any`` (a value whose kind is known only to the engine, such as a person field); ``any`` passes checks.
Nulls propagate, except that ``and``/``or`` follow SQL's three-valued logic (``False and null`` is False).
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # the block context holds columns; expressions only read them
    from .base import Context

NUMBER = frozenset({"int", "float"})
TIME = frozenset({"date", "timestamp"})
UNITS = ("day", "hour", "minute", "second", "month", "year")
_UNIT_US = {"day": 86_400_000_000, "hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
            ast.Attribute, ast.Constant, ast.Load, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}
_CMP = {ast.Eq: "equal", ast.NotEq: "not_equal", ast.Lt: "less", ast.LtE: "less_equal", ast.Gt: "greater",
        ast.GtE: "greater_equal"}
#: Names every row has, with their kinds (the last two only in a table with a parent).
BUILTIN = {"row_index": "int", "index_in_parent": "int", "parent_count": "int"}


class ExprError(ValueError):
    """An expression that does not parse, uses what the language lacks, or mixes kinds."""


@dataclass
class Scope:
    """What an expression may name: earlier columns, the parent's columns, refs and the tables they reach."""

    columns: dict[str, str] = field(default_factory=dict)
    parent: dict[str, str] | None = None
    refs: dict[str, str] = field(default_factory=dict)
    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    later: frozenset[str] = frozenset()
    #: The table whose column this is (a lookup through its self ref can read only its earlier columns).
    table: str | None = None


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> ast.Expression:
    """The expression's tree, refused unless every node is in the whitelist."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ExprError(f"expression does not parse: {err.msg} in {text!r}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED) or isinstance(node, (ast.MatMult, ast.BitAnd, ast.BitOr, ast.BitXor,
                                                               ast.LShift, ast.RShift, ast.Invert, ast.Is,
                                                               ast.IsNot, ast.In, ast.NotIn)):
            raise ExprError(f"{type(node).__name__.lower()} is not part of the expression language in {text!r}")
        if isinstance(node, ast.Call) and (node.keywords or not isinstance(node.func, ast.Name)):
            raise ExprError(f"only plain calls of the language's functions are allowed in {text!r}")
        if isinstance(node, ast.Attribute) and not isinstance(node.value, ast.Name):
            raise ExprError(f"only parent.COLUMN, calendar.start|end and TABLE.COLUMN are allowed in {text!r}")
    return tree


def names(text: str) -> set[str]:
    """The plain names an expression reads (columns of its own row, and builtins)."""
    tree = parse(text)
    attr_bases = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in attr_bases
            and not any(isinstance(c, ast.Call) and c.func is n for c in ast.walk(tree))}


def check(text: str, scope: Scope) -> str:
    """The kind of the expression's value, or ExprError naming what is wrong."""
    return _Checker(scope, text).kind(parse(text).body)


def _numeric(kind: str) -> bool:
    return kind in NUMBER or kind == "any"


class _Checker:
    def __init__(self, scope: Scope, text: str) -> None:
        self.scope = scope
        self.text = text

    def fail(self, message: str) -> ExprError:
        return ExprError(f"{message} in {self.text!r}")

    def kind(self, node: ast.AST) -> str:
        method = getattr(self, f"_{type(node).__name__}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> str:
        v = node.value
        kinds = ((type(None), "null"), (bool, "bool"), (int, "int"), (float, "float"), (str, "string"))
        kind = next((k for t, k in kinds if isinstance(v, t)), None)
        if kind is None:
            raise self.fail(f"literal {v!r} is not a number, string, boolean or None")
        return kind

    def _Name(self, node: ast.Name) -> str:
        s = self.scope
        if node.id in s.columns:
            return s.columns[node.id]
        if node.id in BUILTIN:
            if node.id != "row_index" and s.parent is None:
                raise self.fail(f"{node.id} needs a table with a parent")
            return BUILTIN[node.id]
        if node.id in s.later:
            raise self.fail(f"column '{node.id}' comes later in the table: only earlier columns can be read")
        if node.id in ("parent", "calendar"):
            raise self.fail(f"{node.id} needs a column: {node.id}.NAME")
        raise self.fail(f"unknown name '{node.id}'")

    def _Attribute(self, node: ast.Attribute) -> str:
        base = node.value.id  # type: ignore[attr-defined]
        if base == "calendar":
            if node.attr not in ("start", "end"):
                raise self.fail(f"calendar has start and end, not '{node.attr}'")
            return "date"
        if base == "parent":
            if self.scope.parent is None:
                raise self.fail("parent.* needs a table with a parent")
            if node.attr not in self.scope.parent:
                raise self.fail(f"the parent has no column '{node.attr}'")
            return self.scope.parent[node.attr]
        raise self.fail(f"'{base}.{node.attr}' is not a name (use lookup(REF_COLUMN, {base}.{node.attr}))")

    def _BinOp(self, node: ast.BinOp) -> str:
        op = _OPS[type(node.op)]
        a, b = self.kind(node.left), self.kind(node.right)
        if op == "+" and "string" in (a, b):
            if {a, b} <= {"string", "any", "null"}:
                return "string"
            raise self.fail(f"cannot add {a} and {b} (concat() joins values of any kind)")
        if not (_numeric(a) or a == "null") or not (_numeric(b) or b == "null"):
            raise self.fail(f"'{op}' needs numbers, not {a} and {b}")
        if op in ("/", "**"):
            return "float"
        return "int" if a == b == "int" else "float" if "float" in (a, b) or "any" not in (a, b) else "any"

    def _UnaryOp(self, node: ast.UnaryOp) -> str:
        kind = self.kind(node.operand)
        if isinstance(node.op, ast.Not):
            if kind not in ("bool", "any", "null"):
                raise self.fail(f"'not' needs a boolean, not {kind}")
            return "bool"
        if not _numeric(kind):
            raise self.fail(f"a sign needs a number, not {kind}")
        return kind

    def _BoolOp(self, node: ast.BoolOp) -> str:
        for value in node.values:
            kind = self.kind(value)
            if kind not in ("bool", "any", "null"):
                raise self.fail(f"'and'/'or' need booleans, not {kind}")
        return "bool"

    def _Compare(self, node: ast.Compare) -> str:
        kinds = [self.kind(node.left), *(self.kind(c) for c in node.comparators)]
        for a, b in zip(kinds, kinds[1:]):
            if not (a == b or {a, b} <= NUMBER or {a, b} <= TIME or "any" in (a, b) or "null" in (a, b)):
                raise self.fail(f"cannot compare {a} with {b}")
        return "bool"

    def _IfExp(self, node: ast.IfExp) -> str:
        if self.kind(node.test) not in ("bool", "any", "null"):
            raise self.fail("the condition of 'if' must be a boolean")
        return _unify(self.kind(node.body), self.kind(node.orelse), self)

    def _Call(self, node: ast.Call) -> str:
        name = node.func.id  # type: ignore[attr-defined]
        if name not in FUNCTIONS:
            raise self.fail(f"unknown function '{name}'")
        lo, hi, rule, _ = FUNCTIONS[name]
        if not lo <= len(node.args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
            raise self.fail(f"{name}() takes {want} arguments, got {len(node.args)}")
        if name == "lookup":
            return self._lookup(node)
        kinds = [self.kind(a) for a in node.args]
        return rule(kinds, node.args, self)

    def _lookup(self, node: ast.Call) -> str:
        ref, target = node.args
        if not isinstance(ref, ast.Name) or ref.id not in self.scope.refs:
            raise self.fail("lookup() needs a ref column of this table first")
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
            raise self.fail("lookup() needs TABLE.COLUMN second")
        table, column = target.value.id, target.attr
        if self.scope.refs[ref.id] != table:
            raise self.fail(f"'{ref.id}' refers to {self.scope.refs[ref.id]}, not {table}")
        kinds = self.scope.tables.get(table, {})
        if column not in kinds:
            raise self.fail(f"table {table} has no column '{column}'")
        if table == self.scope.table and column in self.scope.later:
            raise self.fail(f"'{column}' comes later in the table: a lookup through a to: self ref reads earlier "
                            "columns only")
        return kinds[column]


def _unify(a: str, b: str, checker: _Checker) -> str:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if {a, b} <= NUMBER:
        return "float"
    if "any" in (a, b):
        return "any"
    raise checker.fail(f"both branches of 'if' must be of one kind, not {a} and {b}")


def _need(allowed: frozenset[str] | set[str], what: str) -> Callable[..., str]:
    """A rule: every argument of one of ``allowed`` kinds; the result is the first argument's kind."""

    def rule(kinds: list[str], args: list[ast.AST], checker: _Checker) -> str:
        for kind in kinds:
            if kind not in allowed and kind not in ("any", "null"):
                raise checker.fail(f"needs {what}, not {kind}")
        return kinds[0] if kinds else "any"

    return rule


def _result(result: str, allowed: frozenset[str] | set[str], what: str) -> Callable[..., str]:
    inner = _need(allowed, what)
    return lambda kinds, args, checker: (inner(kinds, args, checker), result)[1]


def _literal_unit(kinds: list[str], args: list[ast.AST], checker: _Checker) -> str:
    _need(TIME, "a date or timestamp")(kinds[:1], args, checker)
    _need(NUMBER, "a number of units")(kinds[1:2], args, checker)
    unit = args[2]
    if not (isinstance(unit, ast.Constant) and unit.value in UNITS):
        raise checker.fail(f"date_add() needs a unit literal, one of {', '.join(UNITS)}")
    return "timestamp" if unit.value in ("hour", "minute", "second") else kinds[0]


def _substr(kinds: list[str], args: list[ast.AST], checker: _Checker) -> str:
    _need({"string"}, "a string")(kinds[:1], args, checker)
    for arg in args[1:]:
        if not (isinstance(arg, ast.Constant) and type(arg.value) is int and arg.value >= 0):
            raise checker.fail("substr() takes literal whole numbers for start and length")
    return "string"


def _days_kind(kinds: list[str], args: list[ast.AST], checker: _Checker) -> str:
    _need(TIME, "dates or timestamps")(kinds, args, checker)
    return "int" if kinds == ["date", "date"] else "float"


def _coalesce(kinds: list[str], args: list[ast.AST], checker: _Checker) -> str:
    out = kinds[0]
    for kind in kinds[1:]:
        out = _unify(out, kind, checker)
    return out


def _minmax(kinds: list[str], args: list[ast.AST], checker: _Checker) -> str:
    _need(NUMBER | TIME | {"string"}, "comparable values")(kinds, args, checker)
    return _coalesce(kinds, args, checker)


# ---- evaluation over arrays -------------------------------------------------------------------------------


def _arr(x: Any, n: int) -> pa.Array:
    if isinstance(x, pa.ChunkedArray):
        return x.combine_chunks()
    if isinstance(x, pa.Array):
        return x
    return pa.repeat(x if isinstance(x, pa.Scalar) else pa.scalar(x), n)


def _is_int(x: Any) -> bool:
    if isinstance(x, (pa.Array, pa.ChunkedArray, pa.Scalar)):
        return pa.types.is_integer(x.type)
    return isinstance(x, int) and not isinstance(x, bool)


def _float(x: Any) -> Any:
    return float(x) if isinstance(x, (int, float)) else pc.cast(x, pa.float64())


def _is_kind(x: Any, test: Callable[[pa.DataType], bool], py: tuple[type, ...]) -> bool:
    return test(x.type) if isinstance(x, (pa.Array, pa.ChunkedArray, pa.Scalar)) else isinstance(x, py)


def _is_str(x: Any) -> bool:
    return _is_kind(x, pa.types.is_string, (str,))


def _is_time(x: Any) -> bool:
    return _is_kind(x, lambda t: pa.types.is_date(t) or pa.types.is_timestamp(t), (dt.date,))


def _us(x: Any, n: int) -> np.ndarray:
    """A date or timestamp value as microseconds since the epoch (int64, nulls as the minimum)."""
    a = _arr(x, n)
    return pc.cast(pc.cast(a, pa.timestamp("us")), pa.int64()).fill_null(np.iinfo(np.int64).min).to_numpy()


def _align(a: Any, b: Any, n: int) -> tuple[Any, Any]:
    """Two operands of one type: a date beside a timestamp becomes a timestamp, ints beside floats floats."""
    if _is_time(a) and _is_time(b):
        ta, tb = (_arr(v, n).type for v in (a, b))
        if ta != tb:
            return pc.cast(_arr(a, n), pa.timestamp("us")), pc.cast(_arr(b, n), pa.timestamp("us"))
    return a, b


def _numpy_op(a: Any, b: Any, n: int, op: Callable[[np.ndarray, np.ndarray], np.ndarray], integer: bool) -> pa.Array:
    x, y = _arr(a, n), _arr(b, n)
    mask = np.asarray(pc.or_(pc.is_null(x), pc.is_null(y)))
    dtype = np.int64 if integer else np.float64
    xs = np.asarray(x.fill_null(1).to_numpy(zero_copy_only=False), dtype=dtype)
    ys = np.asarray(y.fill_null(1).to_numpy(zero_copy_only=False), dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        if integer:
            zero = ys == 0
            mask = mask | zero
            ys = np.where(zero, 1, ys)
        return pa.array(op(xs, ys), mask=mask if mask.any() else None)


def _hash(x: Any, n: int) -> pa.Array:
    """A stable 63-bit hash per value (FNV-1a over a string's UTF-8 bytes, splitmix64 over a number's bits)."""
    a = _arr(x, n)
    with np.errstate(over="ignore"):
        if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
            a = pc.cast(a, pa.large_string())
            offsets = np.frombuffer(a.buffers()[1], dtype=np.int64)[a.offset:a.offset + n + 1]
            data = np.frombuffer(a.buffers()[2], dtype=np.uint8) if a.buffers()[2] else np.zeros(1, np.uint8)
            lengths = np.diff(offsets)
            h = np.full(n, np.uint64(0xCBF29CE484222325))
            for j in range(int(lengths.max(initial=0))):
                live = lengths > j
                h[live] = (h[live] ^ data[offsets[:-1][live] + j].astype(np.uint64)) * np.uint64(0x100000001B3)
        else:
            v = a.fill_null(0).to_numpy(zero_copy_only=False)
            h = np.asarray(v, dtype=np.float64 if pa.types.is_floating(a.type) else np.int64).view(np.uint64).copy()
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
    out = (h >> np.uint64(1)).astype(np.int64)
    return pa.array(out, mask=np.asarray(a.is_null()) if a.null_count else None)


def _date_add(ts: Any, amount: Any, unit: str, n: int) -> pa.Array:
    a = _arr(ts, n)
    k = np.asarray(_arr(amount, n).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    mask = np.asarray(pc.or_(pc.is_null(a), pc.is_null(_arr(amount, n))))
    mask = mask if mask.any() else None
    if unit in ("month", "year"):
        us = _us(a, n)
        day = us // _UNIT_US["day"]
        months = day.astype("datetime64[D]").astype("datetime64[M]")
        moved = months + (k * (12 if unit == "year" else 1)).astype("timedelta64[M]")
        dom = day - months.astype("datetime64[D]").astype(np.int64)
        first = moved.astype("datetime64[D]")
        length = ((moved + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
        new_day = moved.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, length - 1)
        rest = us - day * _UNIT_US["day"]
        if pa.types.is_date(a.type):
            return pa.array(new_day.astype(np.int32), pa.date32(), mask=mask)
        return pa.array(new_day * _UNIT_US["day"] + rest, pa.timestamp("us"), mask=mask)
    if unit == "day" and pa.types.is_date(a.type):
        days = pc.cast(a, pa.int32()).fill_null(0).to_numpy()
        return pa.array((days + k).astype(np.int32), pa.date32(), mask=mask)
    return pa.array(_us(a, n) + k * _UNIT_US[unit], pa.timestamp("us"), mask=mask)


def _days_between(a: Any, b: Any, n: int) -> pa.Array:
    x, y = _arr(a, n), _arr(b, n)
    mask = np.asarray(pc.or_(pc.is_null(x), pc.is_null(y)))
    diff = _us(y, n) - _us(x, n)
    dates = pa.types.is_date(x.type) and pa.types.is_date(y.type)
    out = diff // _UNIT_US["day"] if dates else diff / _UNIT_US["day"]
    return pa.array(out, mask=mask if mask.any() else None)


def _concat(n: int, *parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*(pc.cast(_arr(p, n), pa.string()) for p in parts), "")


def _round(n: int, x: Any, digits: Any = 0) -> Any:
    """Rounds x * 10**digits half to even (as numpy and Arrow do; Python's round() looks at the exact binary
    value instead, so 0.685 -> 0.68 here and 0.69 there)."""
    return pc.round(_float(x), ndigits=int(digits), round_mode="half_to_even")


#: name -> (fewest arguments, most, kind rule, vectorized implementation taking n first).
FUNCTIONS: dict[str, tuple[int, int, Callable[..., str], Callable[..., Any]]] = {
    "abs": (1, 1, _need(NUMBER, "a number"), lambda n, x: pc.abs(x)),
    "min": (2, 99, _minmax, lambda n, *xs: pc.min_element_wise(*_align(*xs[:2], n), *xs[2:], skip_nulls=False)),
    "max": (2, 99, _minmax, lambda n, *xs: pc.max_element_wise(*_align(*xs[:2], n), *xs[2:], skip_nulls=False)),
    "round": (1, 2, _result("float", NUMBER, "a number"), _round),
    "floor": (1, 1, _result("int", NUMBER, "a number"), lambda n, x: pc.cast(pc.floor(_float(x)), pa.int64())),
    "ceil": (1, 1, _result("int", NUMBER, "a number"), lambda n, x: pc.cast(pc.ceil(_float(x)), pa.int64())),
    "log": (1, 1, _result("float", NUMBER, "a number"), lambda n, x: pc.ln(_float(x))),
    "exp": (1, 1, _result("float", NUMBER, "a number"), lambda n, x: pc.exp(_float(x))),
    "sqrt": (1, 1, _result("float", NUMBER, "a number"), lambda n, x: pc.sqrt(_float(x))),
    "clip": (3, 3, _minmax, lambda n, x, lo, hi: pc.min_element_wise(
        pc.max_element_wise(x, lo, skip_nulls=False), hi, skip_nulls=False)),
    "coalesce": (1, 99, _coalesce, lambda n, *xs: pc.coalesce(*(_arr(x, n) for x in xs))),
    "concat": (1, 99, lambda kinds, args, c: "string", _concat),
    "lower": (1, 1, _need({"string"}, "a string"), lambda n, x: pc.utf8_lower(x)),
    "upper": (1, 1, _need({"string"}, "a string"), lambda n, x: pc.utf8_upper(x)),
    "substr": (2, 3, _substr, lambda n, s, start, length=None: pc.utf8_slice_codeunits(
        s, start=start, stop=None if length is None else start + length)),
    "len": (1, 1, _result("int", {"string"}, "a string"), lambda n, x: pc.cast(pc.utf8_length(x), pa.int64())),
    "year": (1, 1, _result("int", TIME, "a date or timestamp"), lambda n, x: pc.year(x)),
    "month": (1, 1, _result("int", TIME, "a date or timestamp"), lambda n, x: pc.month(x)),
    "day": (1, 1, _result("int", TIME, "a date or timestamp"), lambda n, x: pc.day(x)),
    "weekday": (1, 1, _result("int", TIME, "a date or timestamp"), lambda n, x: pc.day_of_week(x)),
    "hour": (1, 1, _result("int", TIME, "a date or timestamp"), lambda n, x: pc.hour(x)),
    "date_add": (3, 3, _literal_unit, lambda n, ts, k, unit: _date_add(ts, k, unit, n)),
    "days_between": (2, 2, _days_kind, lambda n, a, b: _days_between(a, b, n)),
    "hash": (1, 1, lambda kinds, args, c: "int", lambda n, x: _hash(x, n)),
    "lookup": (2, 2, lambda kinds, args, c: "any", None),
}


class _Evaluator:
    def __init__(self, ctx: Context, n: int) -> None:
        self.ctx = ctx
        self.n = n

    def value(self, node: ast.AST) -> Any:
        return getattr(self, f"_{type(node).__name__}")(node)

    def _Constant(self, node: ast.Constant) -> Any:
        return pa.scalar(None, pa.null()) if node.value is None else node.value

    def _Name(self, node: ast.Name) -> Any:
        ctx, n = self.ctx, self.n
        if node.id in ctx.columns:
            return ctx.columns[node.id]
        if node.id == "row_index":
            return pa.array(np.arange(ctx.first_row, ctx.first_row + n, dtype=np.int64))
        return pa.array(getattr(ctx, node.id), pa.int64())

    def _Attribute(self, node: ast.Attribute) -> Any:
        if node.value.id == "calendar":  # type: ignore[attr-defined]
            return pa.scalar(self.ctx.calendar[0 if node.attr == "start" else 1], pa.date32())
        return self.ctx.parent[node.attr]

    def _BinOp(self, node: ast.BinOp) -> Any:
        a, b = self.value(node.left), self.value(node.right)
        op = _OPS[type(node.op)]
        if op == "+" and (_is_str(a) or _is_str(b)):
            return pc.binary_join_element_wise(a, b, "")
        both_int = _is_int(a) and _is_int(b)
        if op == "+":
            return pc.add(a, b)
        if op == "-":
            return pc.subtract(a, b)
        if op == "*":
            return pc.multiply(a, b)
        if op == "/":
            return pc.divide(_float(a), _float(b))
        if op == "**":
            return pc.power(_float(a), _float(b))
        if op == "//":
            return _numpy_op(a, b, self.n, np.floor_divide, both_int)
        return _numpy_op(a, b, self.n, np.mod, both_int)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        x = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return pc.invert(_arr(x, self.n))
        return pc.negate(x) if isinstance(node.op, ast.USub) else x

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        combine = pc.and_kleene if isinstance(node.op, ast.And) else pc.or_kleene
        return functools.reduce(combine, (_arr(self.value(v), self.n) for v in node.values))

    def _Compare(self, node: ast.Compare) -> Any:
        values = [self.value(node.left), *(self.value(c) for c in node.comparators)]
        parts = [getattr(pc, _CMP[type(op)])(*_align(a, b, self.n)) for op, a, b in zip(node.ops, values, values[1:])]
        return functools.reduce(pc.and_kleene, (_arr(p, self.n) for p in parts))

    def _IfExp(self, node: ast.IfExp) -> Any:
        a, b = self.value(node.body), self.value(node.orelse)
        if _is_int(a) != _is_int(b) and not (_is_str(a) or _is_str(b) or _is_time(a) or _is_time(b)):
            a, b = _float(a), _float(b)
        return pc.if_else(_arr(self.value(node.test), self.n), *_align(a, b, self.n))

    def _Call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]
        if name == "lookup":
            if self.ctx.engine is None:
                raise NotImplementedError("lookup() reads another table: the engine evaluates it")
            via, target = node.args[0].id, node.args[1]  # type: ignore[attr-defined]
            return self.ctx.engine.lookup(self.ctx, [via], target.attr)  # type: ignore[attr-defined]
        args = [a.value if isinstance(a, ast.Constant) else self.value(a) for a in node.args]
        return FUNCTIONS[name][3](self.n, *args)


def evaluate(text: str, ctx: Context, n: int) -> pa.Array:
    """The expression over a block of ``n`` rows, as one Arrow array (never per row, never ``eval``)."""
    return _arr(_Evaluator(ctx, n).value(parse(text).body), n)
