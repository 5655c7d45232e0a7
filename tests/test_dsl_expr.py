"""The expression language: every operator and function equals a reference computed row by row in plain
Python, kinds are checked when the file is read, and nothing outside the whitelist gets through."""

from __future__ import annotations

import calendar
import datetime as dt
import math

import pyarrow as pa
import pytest

from pii_gen.dsl.base import Context
from pii_gen.dsl.expr import ExprError, Scope, check, evaluate, names

A = [3, -7, 0, None, 12, 5]
B = [0.5, 2.25, -1.5, 4.0, None, 10.0]
S = ["Alice", "bob", "", "Ünal", "x", None]
D = [dt.date(2024, 1, 31), dt.date(2023, 12, 31), dt.date(2024, 2, 29), None, dt.date(2024, 3, 4), dt.date(2024, 7, 1)]
T = [dt.datetime(2024, 1, 1, 23, 30), dt.datetime(2024, 3, 10, 2, 0), None, dt.datetime(2024, 6, 30, 12, 15),
     dt.datetime(2024, 12, 31, 0, 0), dt.datetime(2024, 2, 29, 7, 45)]
N = len(A)
CAL = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))


def ctx(first_row: int = 100) -> Context:
    columns = {"a": pa.array(A, pa.int64()), "b": pa.array(B), "s": pa.array(S), "d": pa.array(D, pa.date32()),
               "t": pa.array(T, pa.timestamp("us"))}
    return Context(seed=1, table="t", block=0, first_row=first_row, calendar=CAL, columns=columns,
                   parent={"total": pa.array([10.0] * N)}, index_in_parent=pa.array([0, 1, 0, 1, 2, 0]).to_numpy(),
                   parent_count=pa.array([2, 2, 3, 3, 3, 1]).to_numpy())


def rows():
    return [dict(a=a, b=b, s=s, d=d, t=t, i=100 + k) for k, (a, b, s, d, t) in enumerate(zip(A, B, S, D, T))]


def null_safe(f):
    def g(r, *keys):
        return None if any(r[k] is None for k in keys) else f(r)
    return g


def add_months(d: dt.date, k: int) -> dt.date:
    y, m = divmod(d.month - 1 + k, 12)
    year, month = d.year + y, m + 1
    return d.replace(year=year, month=month, day=min(d.day, calendar.monthrange(year, month)[1]))


def kleene_and(x, y):
    """SQL's three-valued and: false wins over null."""
    if x is False or y is False:
        return False
    return None if x is None or y is None else True


def kleene_or(x, y):
    if x is True or y is True:
        return True
    return None if x is None or y is None else False


def fnv1a(text: str) -> int:
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h >> 1


CASES = [
    ("a + 2", ("a",), lambda r: r["a"] + 2),
    ("a - b", ("a", "b"), lambda r: r["a"] - r["b"]),
    ("a * 3", ("a",), lambda r: r["a"] * 3),
    ("a / 4", ("a",), lambda r: r["a"] / 4),
    ("a // 4", ("a",), lambda r: r["a"] // 4),
    ("a % 4", ("a",), lambda r: r["a"] % 4),
    ("b // 1.5", ("b",), lambda r: r["b"] // 1.5),
    ("b % 1.5", ("b",), lambda r: r["b"] % 1.5),
    ("b ** 2", ("b",), lambda r: r["b"] ** 2),
    ("-a", ("a",), lambda r: -r["a"]),
    ("a > 2", ("a",), lambda r: r["a"] > 2),
    ("a >= 0 and b < 3", (), lambda r: kleene_and(r["a"] is not None and r["a"] >= 0 if r["a"] is not None else None,
                                                  r["b"] < 3 if r["b"] is not None else None)),
    ("a == 3 or a != 0", ("a",), lambda r: r["a"] == 3 or r["a"] != 0),
    ("a > 100 or b > 3", (), lambda r: kleene_or(None if r["a"] is None else r["a"] > 100,
                                                 None if r["b"] is None else r["b"] > 3)),
    ("not a <= 0", ("a",), lambda r: not r["a"] <= 0),
    ("0 < a < 10", ("a",), lambda r: 0 < r["a"] < 10),
    ("a if a > 0 else 0", ("a",), lambda r: r["a"] if r["a"] > 0 else 0),
    ("b if a > 0 else a", ("a", "b"), lambda r: r["b"] if r["a"] > 0 else r["a"]),
    ("abs(a)", ("a",), lambda r: abs(r["a"])),
    ("min(a, b, 1)", ("a", "b"), lambda r: min(r["a"], r["b"], 1)),
    ("max(a, b)", ("a", "b"), lambda r: max(r["a"], r["b"])),
    ("round(b)", ("b",), lambda r: round(r["b"])),
    # round() rounds x * 10**d half to even (as numpy and Arrow do), not the binary value as Python does
    ("round(b * 1.37, 2)", ("b",), lambda r: round(r["b"] * 1.37 * 100) / 100),
    ("floor(b)", ("b",), lambda r: math.floor(r["b"])),
    ("ceil(b)", ("b",), lambda r: math.ceil(r["b"])),
    ("log(abs(a) + 1)", ("a",), lambda r: math.log(abs(r["a"]) + 1)),
    ("exp(b / 10)", ("b",), lambda r: math.exp(r["b"] / 10)),
    ("sqrt(abs(b))", ("b",), lambda r: math.sqrt(abs(r["b"]))),
    ("clip(a, 0, 5)", ("a",), lambda r: min(max(r["a"], 0), 5)),
    ("coalesce(a, 99)", (), lambda r: 99 if r["a"] is None else r["a"]),
    ("coalesce(s, 'none')", (), lambda r: "none" if r["s"] is None else r["s"]),
    ("concat(s, '-', a)", ("s", "a"), lambda r: f"{r['s']}-{r['a']}"),
    ("s + '!'", ("s",), lambda r: r["s"] + "!"),
    ("lower(s)", ("s",), lambda r: r["s"].lower()),
    ("upper(s)", ("s",), lambda r: r["s"].upper()),
    ("substr(s, 1, 2)", ("s",), lambda r: r["s"][1:3]),
    ("substr(s, 2)", ("s",), lambda r: r["s"][2:]),
    ("len(s)", ("s",), lambda r: len(r["s"])),
    ("year(d)", ("d",), lambda r: r["d"].year),
    ("month(d)", ("d",), lambda r: r["d"].month),
    ("day(d)", ("d",), lambda r: r["d"].day),
    ("weekday(d)", ("d",), lambda r: r["d"].weekday()),
    ("weekday(t)", ("t",), lambda r: r["t"].weekday()),
    ("hour(t)", ("t",), lambda r: r["t"].hour),
    ("date_add(d, 3, 'day')", ("d",), lambda r: r["d"] + dt.timedelta(days=3)),
    ("date_add(d, -1, 'month')", ("d",), lambda r: add_months(r["d"], -1)),
    ("date_add(d, 13, 'month')", ("d",), lambda r: add_months(r["d"], 13)),
    ("date_add(d, 1, 'year')", ("d",), lambda r: add_months(r["d"], 12)),
    ("date_add(t, 90, 'minute')", ("t",), lambda r: r["t"] + dt.timedelta(minutes=90)),
    ("date_add(t, a, 'hour')", ("t", "a"), lambda r: r["t"] + dt.timedelta(hours=r["a"])),
    ("date_add(t, 1, 'month')", ("t",), lambda r: dt.datetime.combine(add_months(r["t"].date(), 1), r["t"].time())),
    ("date_add(t, 30, 'second')", ("t",), lambda r: r["t"] + dt.timedelta(seconds=30)),
    ("days_between(d, calendar.end)", ("d",), lambda r: (CAL[1] - r["d"]).days),
    ("days_between(t, date_add(t, 36, 'hour'))", ("t",), lambda r: 1.5),
    ("d >= calendar.start", ("d",), lambda r: r["d"] >= CAL[0]),
    ("t > d", ("t", "d"), lambda r: r["t"] > dt.datetime.combine(r["d"], dt.time())),
    ("hash(s)", ("s",), lambda r: fnv1a(r["s"])),
    ("row_index * 2", (), lambda r: r["i"] * 2),
]


@pytest.mark.parametrize("text,inputs,reference", CASES, ids=[c[0] for c in CASES])
def test_an_operator_or_function_equals_its_row_by_row_reference(text, inputs, reference):
    got = evaluate(text, ctx(), N).to_pylist()
    want = [null_safe(reference)(r, *inputs) for r in rows()]
    assert len(got) == N
    for g, w in zip(got, want):
        if isinstance(w, float) and g is not None:
            assert g == pytest.approx(w, rel=1e-12, abs=1e-12)
        else:
            assert g == w


def test_parent_and_position_names():
    got = evaluate("parent.total / parent_count + index_in_parent", ctx(), N).to_pylist()
    assert got == [10 / c + i for c, i in zip([2, 2, 3, 3, 3, 1], [0, 1, 0, 1, 2, 0])]


def test_hash_of_numbers_is_stable_and_tells_values_apart():
    first = evaluate("hash(a)", ctx(), N).to_pylist()
    assert first == evaluate("hash(a)", ctx(first_row=0), N).to_pylist()
    assert first[3] is None and len({h for h in first if h is not None}) == N - 1
    assert all(0 <= h < 2**63 for h in first if h is not None)


SCOPE = Scope(columns={"a": "int", "b": "float", "s": "string", "d": "date", "t": "timestamp"},
              parent={"total": "float"}, later=frozenset({"z"}))


@pytest.mark.parametrize("text,kind", [
    ("a + 1", "int"), ("a + b", "float"), ("a / 2", "float"), ("s + 'x'", "string"), ("a > b", "bool"),
    ("year(d)", "int"), ("date_add(d, 1, 'day')", "date"), ("date_add(d, 1, 'hour')", "timestamp"),
    ("days_between(d, d)", "int"), ("days_between(d, t)", "float"), ("b if a > 0 else a", "float"),
    ("parent.total * 2", "float"), ("coalesce(a, None)", "int"), ("concat(a, s, d)", "string"),
])
def test_kinds_are_known_when_the_file_is_read(text, kind):
    assert check(text, SCOPE) == kind


@pytest.mark.parametrize("text,message", [
    ("a + s", "cannot add int and string (concat() joins values of any kind)"),
    ("year(b)", "needs a date or timestamp, not float"),
    ("lower(a)", "needs a string, not int"),
    ("a and b", "'and'/'or' need booleans, not int"),
    ("s > 1", "cannot compare string with int"),
    ("a if s else b", "the condition of 'if' must be a boolean"),
    ("s if a > 0 else b", "both branches of 'if' must be of one kind, not string and float"),
    ("z * 2", "column 'z' comes later in the table: only earlier columns can be read"),
    ("parent.size", "the parent has no column 'size'"),
    ("calendar.middle", "calendar has start and end, not 'middle'"),
    ("date_add(d, 1, 'week')", "date_add() needs a unit literal, one of day, hour, minute, second, month, year"),
    ("substr(s, a)", "substr() takes literal whole numbers for start and length"),
    ("round(a, 1, 2)", "round() takes 1 to 2 arguments, got 3"),
    ("lookup(a, shops.x)", "lookup() needs a ref column of this table first"),
    ("orders.amount", "'orders.amount' is not a name (use lookup(REF_COLUMN, orders.amount))"),
    ("index_in_parent", None),
])
def test_type_errors_name_what_is_wrong(text, message):
    if message is None:  # a position inside the parent needs a parent
        assert check(text, SCOPE) == "int"
        with pytest.raises(ExprError, match="index_in_parent needs a table with a parent"):
            check(text, Scope(columns=SCOPE.columns))
        return
    with pytest.raises(ExprError) as caught:
        check(text, SCOPE)
    assert str(caught.value) == f"{message} in {text!r}"


@pytest.mark.parametrize("text", [
    "__import__('os')", "().__class__", "[1][0]", "(lambda: 1)()", "{1: 2}", "f'{a}'", "a @ b", "a in (1, 2)",
    "a is None", "open('x')", "a.real", "(x := 1)", "[a for a in s]", "a & 1", "~a", "a.__class__.__bases__",
    "print(a, end='')", "*a", "a; b", "import os",
])
def test_nothing_outside_the_language_gets_through(text):
    with pytest.raises(ExprError):
        check(text, SCOPE)


def test_names_lists_the_columns_read():
    assert names("a + parent.total * lookup(r, t.x) + row_index") == {"a", "r", "row_index"}
