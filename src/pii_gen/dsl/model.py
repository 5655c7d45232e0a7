"""The schema file as one pydantic model (unknown keys refused everywhere).

A column is validated against the model of the generator its ``gen:`` names, and a ``modify:`` step
against its modifier's: both models are built from the registries, so adding a generator (one class in
``dsl/generators/``) adds it to the file format, the JSON Schema and the reference at once. Effects,
constraints and targets (sections 5-7) are typed here; executing them is the engine's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, create_model, model_validator

from ..core.registry import discover
from . import modifiers as _modifiers  # noqa: F401  (registers the modifiers)
from .anomalies import ANOMALIES
from .base import GENERATORS, MODIFIERS, Params, fail, ordered
from .fanout import Fanout

discover("pii_gen.dsl.generators")

TYPE = re.compile(r"^(int|bigint|float|bool|date|timestamp|string(\(\d+\))?|decimal\(\d+,\s*\d+\))$")
#: The ``from:`` of an entity table whose rows are the population's households (its other ``from:`` is
#: ``population``, whose rows are its people).
HOUSEHOLDS = "households"
#: The ``from:`` of an entity table with one row per day of the calendar, each day its own block whose streams
#: are keyed by the day's date (so a shorter calendar is a slice of a longer one: see the engine).
CALENDAR = "calendar"
#: A tag marks a union member in pydantic's error paths; the loader drops it from the path it prints.
TAG = "§"


class Population(Params):
    size: int | None = Field(None, ge=1)
    pii_mode: Literal["strict", "realistic"] = "strict"
    config: dict[str, Any] = Field(default_factory=dict)


class Calendar(Params):
    start: dt.date
    end: dt.date
    #: Days of one block of a ``from: calendar`` table and its descendants, blocks aligned on multiples of it
    #: counted from 1970-01-01 (so the same day falls in the same block, drawn alike, in any window).
    days_per_block: int = Field(16, ge=1, le=366)

    @model_validator(mode="after")
    def _order(self) -> "Calendar":
        ordered(self.start, self.end, "end", "must not be before start")
        return self


def _step_tag(value: Any) -> str | None:
    if isinstance(value, Params):  # a validated step, being serialized: its one field is the modifier
        return f"{TAG}mod:{next(iter(type(value).model_fields))}"
    return f"{TAG}mod:{next(iter(value))}" if isinstance(value, dict) and len(value) == 1 else None


def _steps() -> Any:
    members = [Annotated[create_model(f"{cls.__name__}Step", __base__=Params, **{cls.name: (cls.Params, ...)}),
                         Tag(f"{TAG}mod:{cls.name}")] for cls in MODIFIERS]
    return Annotated[Union[tuple(members)], Discriminator(_step_tag)]


Step = _steps()


class ColumnBase(Params):
    """What every column takes beside its generator's parameters."""

    type: str | None = None
    null_rate: float = Field(0.0, ge=0, le=1)
    unique: bool = False
    modify: list[Step] = Field(default_factory=list)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _type(self) -> "ColumnBase":
        if self.type is not None and not TYPE.match(self.type):
            raise fail("must be int, bigint, float, decimal(P,S), string, string(N), bool, date or timestamp", "type")
        return self


def _gen_tag(value: Any) -> str | None:
    if isinstance(value, Params):  # a validated column, being serialized
        return f"{TAG}gen:{value.gen}"  # type: ignore[attr-defined]
    return f"{TAG}gen:{value.get('gen')}" if isinstance(value, dict) and "gen" in value else None


def _constant(value: Any) -> Any:
    """A plain scalar column (``currency: USD``) is the constant generator."""
    return value if isinstance(value, dict) else {"gen": "constant", "value": value}


def _columns() -> Any:
    members = [Annotated[create_model(f"{cls.__name__}Column", __base__=(ColumnBase, cls.Params),
                                      gen=(Literal[cls.name], ...)),  # type: ignore[valid-type]
                         Tag(f"{TAG}gen:{cls.name}")] for cls in GENERATORS]
    columns = Annotated[Union[tuple(members)], Discriminator(_gen_tag)]
    # a plain scalar is a column too (the constant), which the JSON Schema for editors must say
    return Annotated[columns, BeforeValidator(_constant, json_schema_input_type=Union[columns, str, float, bool])]


Column = _columns()


class Table(Params):
    kind: Literal["vocab", "entity", "fact"]
    key: str | list[str] | None = None
    columns: dict[str, Column] = Field(default_factory=dict)  # type: ignore[valid-type]
    rows: int | None = Field(None, ge=0)
    from_: Literal["population", "households", "calendar"] | None = Field(None, alias="from")
    start: int = Field(0, ge=0)
    data: list[dict[str, Any]] | None = None
    file: str | None = None
    parent: str | None = None
    fanout: Fanout | None = None  # type: ignore[valid-type]
    parent_column: str | None = None

    @model_validator(mode="after")
    def _kind(self) -> "Table":
        given = {k for k in ("rows", "from", "data", "file", "parent", "fanout", "parent_column")
                 if getattr(self, "from_" if k == "from" else k) is not None}
        allowed = {"vocab": {"data", "file"}, "entity": {"rows", "from"},
                   "fact": {"rows", "parent", "fanout", "parent_column"}}[self.kind]
        for key in sorted(given - allowed):
            raise fail(f"does not apply to a {self.kind} table", key)
        if self.kind == "vocab" and len(given & {"data", "file"}) != 1:
            raise fail("a vocab table takes data: or file: (one of them)", "data")
        if self.kind == "entity" and not given & {"rows", "from"}:
            raise fail("an entity table needs rows: N or from: population | households | calendar", "rows")
        if self.kind == "fact":
            if self.parent is not None and self.fanout is None:
                raise fail("a fact with a parent needs fanout:", "fanout")
            if self.fanout is not None and self.parent is None:
                raise fail("fanout needs parent:", "parent")
            if self.parent is not None and self.rows is not None:
                raise fail("a fact takes parent: with fanout: or rows:, not both", "rows")
            if self.parent is None and self.rows is None:
                raise fail("a fact needs parent: with fanout:, or rows:", "rows")
        if self.from_ == CALENDAR and self.rows is not None:
            raise fail("a from: calendar table has one row per day of the calendar (no rows:)", "rows")
        if self.start and self.from_ != "population":
            raise fail("applies to from: population only", "start")
        return self

    @property
    def keys(self) -> list[str]:
        return [] if self.key is None else [self.key] if isinstance(self.key, str) else list(self.key)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Window(Params):
    """A time window: ``start`` to ``end`` (an end date is inside); with ``every: year`` the same window in every
    year of the calendar, with ``weekday`` each year's moved forward to start on that weekday (a window
    "the Friday on or after 23 November, four days" is Black Friday to Cyber Monday in any year)."""

    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    every: Literal["year"] | None = None
    weekday: Literal[WEEKDAYS] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _recurring(self) -> "Window":
        if self.weekday is not None and self.every is None:
            raise fail("weekday: moves a recurring window: it needs every: year", "weekday")
        if self.every is not None:
            start = self.start if isinstance(self.start, dt.datetime) else dt.datetime.combine(self.start, dt.time())
            end = self.end if isinstance(self.end, dt.datetime) else dt.datetime.combine(self.end, dt.time())
            if end - start >= dt.timedelta(days=365):
                raise fail("a window recurring every year must be shorter than a year", "end")
        return self


class EffectSource(Params):
    table: str
    start: str
    end: str
    on: dict[str, str] = Field(default_factory=dict)
    value: str | None = None


class Effect(Params):
    name: str
    table: str
    time: str
    window: Window | None = None
    source: EffectSource | None = None
    where: str | None = None
    rate: float | None = Field(None, gt=0)
    column: str | None = None
    multiply: float | str | None = None
    add: float | str | None = None
    label: bool = False

    @model_validator(mode="after")
    def _shape(self) -> "Effect":
        if (self.window is None) == (self.source is None):
            raise fail("needs window: or source: (one of them)", "window")
        if self.rate is None and self.column is None:
            raise fail("needs rate: (table level) or column: (column level)", "rate")
        if self.column is not None and (self.multiply is None) == (self.add is None):
            raise fail("a column effect takes multiply: or add: (one of them)", "multiply")
        return self


class AnomalyBase(Params):
    """What every anomaly takes beside its kind's parameters: which rows, how many, and what its labels say."""

    name: str
    table: str
    count: int | None = Field(None, ge=0)
    rate: float | None = Field(None, ge=0, le=1)
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    effect: str | None = None
    where: str | None = None
    group: str | None = None

    @model_validator(mode="after")
    def _how_many(self) -> "AnomalyBase":
        if (self.count is None) == (self.rate is None):
            raise fail("needs count: N or rate: SHARE (one of them)", "count")
        return self


def _kind_tag(value: Any) -> str | None:
    if isinstance(value, Params):  # a validated anomaly, being serialized
        return f"{TAG}kind:{value.kind}"  # type: ignore[attr-defined]
    return f"{TAG}kind:{value.get('kind')}" if isinstance(value, dict) and "kind" in value else None


def _anomalies() -> Any:
    members = [Annotated[create_model(f"{cls.__name__}Anomaly", __base__=(AnomalyBase, cls.Params),
                                      kind=(Literal[cls.name], ...)),  # type: ignore[valid-type]
                         Tag(f"{TAG}kind:{cls.name}")] for cls in ANOMALIES]
    return Annotated[Union[tuple(members)], Discriminator(_kind_tag)]


Anomaly = _anomalies()


class RangeConstraint(Params):
    column: str
    min: float | None = None
    max: float | None = None


class Constraint(Params):
    unique: str | list[str] | None = None
    fk: Literal["auto"] | None = None
    range: RangeConstraint | None = None
    inequality: str | None = None
    check: str | None = None
    on_violation: Literal["fail", "report"] = "fail"

    @model_validator(mode="after")
    def _one(self) -> "Constraint":
        kinds = [k for k in ("unique", "fk", "range", "inequality", "check") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise fail("takes one of unique, fk, range, inequality, check", (kinds[1:] or ["unique"])[0])
        return self


METRICS = ("weekend_share", "mean_in_range", "composite_effect", "per_parent_count", "share", "corr",
           "effect_lift", "tvd", "ks")


class Target(Params):
    name: str | None = None
    metric: Literal[METRICS]  # type: ignore[valid-type]
    table: str | None = None
    column: str | None = None
    parent: str | None = None
    effect: str | None = None
    where: str | None = None
    #: The rows a ``share`` is counted among (default: all rows): ``first attempts delivered among first attempts``.
    among: str | None = None
    x: str | None = None
    y: str | None = None
    method: Literal["pearson", "spearman"] = "pearson"
    dims: list[Literal["weekday", "hour", "month"]] | None = None
    between: tuple[float, float] | None = None
    mean: tuple[float, float] | None = None
    min: float | None = None
    max: float | None = None
    max_mape: float | None = Field(None, gt=0)
    weight: float = Field(1.0, ge=0)


class Schema(Params):
    """A whole schema file."""

    version: Literal[1]
    name: str | None = None
    seed: int = 0
    scale: float = Field(1.0, gt=0)
    population: Population | None = None
    calendar: Calendar = Calendar(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    tables: dict[str, Table] = Field(min_length=1)
    effects: list[Effect] = Field(default_factory=list)
    anomalies: list[Anomaly] = Field(default_factory=list)  # type: ignore[valid-type]
    constraints: list[Constraint] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    auto_targets: bool = True
