"""Generators that read other values: expression (this block), and ref, lookup, person and faker, which
need the engine (other tables, the population, a seeded Faker vocabulary): their parameters are
validated here and they are generated there."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from ..base import Context, Generator, Params, fail
from ..expr import evaluate
from ..fields import PERSON_FIELDS


class ExpressionParams(Params):
    expr: str


class Expression(Generator):
    """A column computed from the row's other values by the expression language (section 3.2)."""

    name = "expression"
    Params = ExpressionParams
    summary = "a vectorized expression over the row (section 3.2)"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        return evaluate(self.params.expr, ctx, n)


class Zipf(Params):
    s: float = Field(gt=0)


class ZipfPick(Params):
    zipf: Zipf


class WeightedPick(Params):
    weighted_by: str


class Near(Params):
    window: int = Field(ge=1)
    #: Stay inside the block of the target holding the own position: no other block is regenerated to read
    #: through the ref (a pick across a block edge makes the whole neighbour block again, with all it reads).
    block: bool = False


class NearPick(Params):
    near: Near


class RefParams(Params):
    to: str
    pick: Literal["uniform"] | ZipfPick | WeightedPick | NearPick = "uniform"
    where: str | None = None
    unique: bool = False
    root_share: float | None = Field(None, ge=0, le=1)
    #: The other columns of a composite foreign key: lookups through this ref of the rest of the target's key.
    with_: list[str] | None = Field(None, alias="with", min_length=1)

    @model_validator(mode="after")
    def _self(self) -> "RefParams":
        if self.root_share is not None and self.to != "self":
            raise fail("applies to `to: self` only", "root_share")
        if isinstance(self.pick, NearPick) and (self.where is not None or self.unique or self.to == "self"):
            raise fail("near picks by position: no where, unique or to: self", "pick")
        if self.with_ is not None and len(set(self.with_)) != len(self.with_):
            raise fail("names a column twice", "with")
        return self


class Ref(Generator):
    """A foreign key: the value is rebuilt from the picked row's position in the referenced table."""

    name = "ref"
    Params = RefParams
    summary = ("a foreign key: `to: TABLE` or `TABLE.COLUMN`, `pick: uniform | {zipf: {s}} | {weighted_by: COLUMN} | "
               "{near: {window, block}}` (a row within `window` of the parent's or the row's own position; "
               "`block: true` inside its block), "
               "`where`, `unique`, `to: self` with `root_share`; `with: [COLUMN, ...]` makes a composite foreign key "
               "with lookups through it of the rest of the target's key")
    unique = True  # only with `unique: true`, checked by the loader
    engine = True


class LookupParams(Params):
    via: str | list[str]
    column: str

    @model_validator(mode="after")
    def _hops(self) -> "LookupParams":
        if isinstance(self.via, list) and not self.via:
            raise fail("needs at least one hop", "via")
        return self


class Lookup(Generator):
    """A column of the row a ref (or the parent link) points at, through one hop or several."""

    name = "lookup"
    Params = LookupParams
    summary = "a column of the referenced row: `via: REF_COLUMN | parent` or `[a, b]` for hops, `column`"
    engine = True


class NoiseLabelParams(Params):
    #: The parent's columns whose noise steps count (all of them by default).
    columns: list[str] | None = None


class NoiseLabel(Generator):
    """The noise the row's parent row carries: the types of the parent's ``noise`` steps that changed it, in
    file order joined by ``+``, or ``none``: read from what the steps did, so it is exact by construction (a
    truth table's label of what a noisy table's row suffered)."""

    name = "noise_label"
    Params = NoiseLabelParams
    summary = "the types of the parent row's `noise` steps that changed it, joined by '+' (`none`): an exact label"
    engine = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "string"


class PersonParams(Params):
    field: Literal[tuple(PERSON_FIELDS)]  # type: ignore[valid-type]
    of: str | None = None


class Person(Generator):
    """A field of a population person: the row's own on a `from: population` table, the householder's on a
    household table (`from:` the population's household list), else `of: REF`'s."""

    name = "person"
    Params = PersonParams
    summary = ("a field of the population person (`field`), the row's own (a household row's: its householder) "
               "or `of: REF_COLUMN`'s; strict-mode safe")
    engine = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return PERSON_FIELDS[params.field]


class FakerParams(Params):
    method: str
    args: dict[str, Any] = Field(default_factory=dict)
    locale: str = "en_US"
    vocabulary: int = Field(10_000, ge=1)


class Faker(Generator):
    """A Faker method for breadth: a seeded Faker fills a vocabulary once per run and rows sample it."""

    name = "faker"
    Params = FakerParams
    summary = "a Faker `method` (`args`, `locale`): a seeded vocabulary of `vocabulary` values, sampled per row"
    engine = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return super().kind(params, type_) if type_ else "string"
