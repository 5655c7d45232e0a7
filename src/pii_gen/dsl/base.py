"""What every column generator and modifier of a schema file is: a registered class with a parameter model.

A generator or modifier declares its ``name`` (what users write), a pydantic ``Params`` model (its
parameters, validated where the file is read) and a vectorized ``generate``/``apply`` over a whole block.
Subclassing registers the class, so the file model, the JSON Schema and the reference text all come from
the registries and cannot drift from the code.

Random streams derive from (seed, table, column, block) through CRC-32 of the names (stable across runs and
Python versions, unlike ``hash``), so adding a column or a table never changes another column's draws.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, ClassVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, WithJsonSchema
from pydantic.functional_validators import PlainValidator
from pydantic_core import PydanticCustomError


from ..errors import RegistryError
from ..core.registry import Registry, where
from .expr import evaluate


class Params(BaseModel):
    """Base of every parameter model: frozen, unknown keys refused, ``from`` usable as a key."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def fail(message: str, key: str | None = None) -> PydanticCustomError:
    """A validation error with our wording; ``key`` extends the error's path (a parameter of the model)."""
    return PydanticCustomError("dsl", "{message}", {"message": message, "key": key})


class Expr(str):
    """Text of an expression (section 3.2); parsed and type-checked by the loader, never evaluated as Python."""


def _instant(value: Any) -> Any:
    return dt.datetime.combine(value, dt.time()) if type(value) is dt.date else value


def ordered(lo: Any, hi: Any, key: str = "max", word: str = "must be >= min") -> None:
    """Refuse literal bounds the wrong way round (expressions are checked per row by the engine)."""
    literal = (int, float, dt.date)
    if isinstance(lo, literal) and isinstance(hi, literal) and not isinstance(lo, Expr) and _instant(lo) > _instant(hi):
        raise fail(f"{word} ({lo:g})" if isinstance(lo, (int, float)) else f"{word} ({lo})", key)


#: The calendar profiles a series or a seasonality weighs: name and number of weights.
PROFILES = (("weekday", 7), ("hour", 24), ("month", 12))


def check_profiles(params: Any) -> list[str]:
    """The profiles ``params`` gives, each refused unless it has its number of non-negative weights."""
    given = []
    for key, size in PROFILES:
        w = getattr(params, key)
        if w is None:
            continue
        if len(w) != size:
            raise fail(f"needs {size} weights, got {len(w)}", key)
        if min(w) < 0 or not sum(w) > 0:
            raise fail("must be >= 0 with a positive sum", key)
        given.append(key)
    return given


def _number(gt: float | None, ge: float | None, le: float | None, integer: bool) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, str):
            return Expr(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail("must be a number or an expression")
        if integer and not float(value).is_integer():
            raise fail("must be a whole number")
        if gt is not None and not value > gt:
            raise fail(f"must be > {gt:g}")
        if ge is not None and not value >= ge:
            raise fail(f"must be >= {ge:g}")
        if le is not None and not value <= le:
            raise fail(f"must be <= {le:g}")
        return int(value) if integer else value

    return check


def Num(gt: float | None = None, ge: float | None = None, le: float | None = None, integer: bool = False) -> Any:
    """A numeric parameter that may also be an expression, with its bounds checked when it is a literal."""
    limits = (("exclusiveMinimum", gt), ("minimum", ge), ("maximum", le))
    bounds: dict[str, Any] = {k: v for k, v in limits if v is not None}
    number = {"type": "integer" if integer else "number", **bounds}
    return Annotated[Any, PlainValidator(_number(gt, ge, le, integer)),
                     WithJsonSchema({"anyOf": [number, {"type": "string", "description": "an expression"}]})]


def _when(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value)
        except ValueError:
            return Expr(value)
    raise fail("must be a date, a timestamp or an expression")


#: A date or timestamp parameter: an ISO literal or an expression (``parent.signed_up``, ``calendar.end``).
When = Annotated[Any, PlainValidator(_when),
                 WithJsonSchema({"type": "string", "description": "ISO date/timestamp or an expression"})]


def stream(seed: int, table: str, column: str, block: int, *salt: int) -> np.random.Generator:
    """The random stream of one column of one block; ``salt`` separates a column's modifiers and sub-draws."""
    entropy = [seed, zlib.crc32(table.encode()), zlib.crc32(column.encode()), block, *salt]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


@dataclass
class Context:
    """What a block's generators see besides their own stream.

    ``columns`` are this block's columns generated so far, ``parent`` the parent row's columns aligned to
    each child row, ``first_row`` the table-wide index of the block's first row.  ``engine`` generates what
    needs other tables (refs, lookups); ``refs`` holds each ref column's picked (table, positions), which
    lookups through it read.
    """

    seed: int
    table: str
    block: int
    first_row: int
    calendar: tuple[dt.date, dt.date]
    columns: dict[str, pa.Array] = field(default_factory=dict)
    parent: dict[str, pa.Array] = field(default_factory=dict)
    index_in_parent: np.ndarray | None = None
    parent_count: np.ndarray | None = None
    total_rows: int | None = None
    tables: dict[str, pa.Table] = field(default_factory=dict)
    engine: Any = None
    refs: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    #: The column being made and its modifier step (which an engine modifier files what it did under).
    column: str = ""
    step: int = -1
    #: (column, step) -> the rows a ``noise`` step changed in this block.
    noise: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    #: (column, step) -> the rows a ``label: true`` modifier step changed in this block, and their values before.
    labels: dict[tuple[str, int], tuple[np.ndarray, pa.Array]] = field(default_factory=dict)
    #: The block number the streams use when it is not ``block``: a ``from: calendar`` day's (and its
    #: children's), keyed by the date so that a window of the calendar draws what a longer run draws there.
    stream_block: int | None = None

    @property
    def key_block(self) -> int:
        """The block number of this block's random streams."""
        return self.block if self.stream_block is None else self.stream_block

    def groups(self, n: int) -> np.ndarray:
        """Each row's parent number within the block (children of one parent are contiguous)."""
        if self.parent_count is None or self.index_in_parent is None:
            return np.arange(n)
        return np.cumsum(self.index_in_parent == 0) - 1

    def value(self, param: Any, n: int) -> Any:
        """A parameter as a literal or, when it is an expression, as its array over the block."""
        if isinstance(param, Expr):
            return evaluate(param, self, n)
        return param


def type_kind(type_: str) -> str:
    """The kind of values a column ``type:`` holds (``decimal(12,2)`` is a float, ``string(40)`` a string)."""
    return {"bigint": "int", "decimal": "float"}.get(type_.split("(")[0], type_.split("(")[0])


class Generator:
    """One column generator: ``name`` is its ``gen:`` value, ``Params`` its parameters beside ``gen``.

    ``unique`` says whether it can guarantee distinct values (``unique: true`` is refused otherwise),
    ``engine`` that it needs the engine (other tables, the population) and is generated there.
    """

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    summary: ClassVar[str]
    unique: ClassVar[bool] = False
    engine: ClassVar[bool] = False

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            GENERATORS.add(cls)

    def __init__(self, params: Params, table: str, column: str) -> None:
        self.params = params
        self.table = table
        self.column = column

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        """The kind of its values (int, float, string, bool, date, timestamp, or any when it depends)."""
        return type_kind(type_) if type_ else "any"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        if self.engine and ctx.engine is not None:
            return ctx.engine.generate(self, n, rng, ctx)
        raise NotImplementedError(f"gen {self.name} is generated by the engine")


class Modifier:
    """One modifier of ``modify:``: applied to a block's values in file order, after the generator."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    summary: ClassVar[str]
    engine: ClassVar[bool] = False
    #: The kinds of column it can change (None: any), checked when the file is read.
    kinds: ClassVar[frozenset[str] | None] = None

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            MODIFIERS.add(cls)

    def __init__(self, params: Params) -> None:
        self.params = params

    def apply(self, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        raise NotImplementedError(f"modifier {self.name} is applied by the engine")


class CheckedRegistry(Registry[type]):
    """A registry of classes each declaring ``Params`` (a :class:`Params` model) and ``summary``."""

    def check(self, cls: type, others: list[type]) -> None:
        for attr in ("Params", "summary"):
            if not hasattr(cls, attr):
                raise RegistryError(f"{self.what} {where(cls)} declares no {attr}")
        if not (isinstance(cls.Params, type) and issubclass(cls.Params, Params)):
            raise RegistryError(f"{self.what} {where(cls)}: Params must subclass dsl.base.Params")


GENERATORS: Registry[type[Generator]] = CheckedRegistry("schema generator")
MODIFIERS: Registry[type[Modifier]] = CheckedRegistry("schema modifier")
