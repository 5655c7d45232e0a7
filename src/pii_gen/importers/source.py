"""What an import reads from a source (a template, a database, JSON samples), before it becomes a schema file.

Every importer turns its source into a list of :class:`SourceTable`; one builder turns those into a schema
file, so PII detection, foreign keys, cycles and the file's layout are decided in one place whatever the
source.  Nothing here holds a row: ``stats`` are aggregates (category counts of at least
:data:`MIN_CATEGORY_COUNT`, fitted distributions, weekday/hour shares), and ``examples`` are a few values
kept in memory only, for recognising value shapes (an e-mail, an SSN); they are never written or printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: A category is kept only when it occurs at least this often in the sample (never a rare, row-level value).
MIN_CATEGORY_COUNT = 10


@dataclass
class ColumnStats:
    """Aggregates of one column over a sample of ``count`` rows."""

    count: int = 0
    nulls: int = 0
    #: value -> occurrences, only values seen at least MIN_CATEGORY_COUNT times.
    categories: dict[Any, int] | None = None
    #: distinct values in the sample (for telling a category from a free text or an identifier).
    distinct: int | None = None
    #: a fitted ``gen: distribution`` spec, e.g. {"dist": "lognormal", "mu": 3.2, "sigma": 0.6, "decimals": 2}.
    distribution: dict[str, Any] | None = None
    #: for dates and timestamps: the range seen, and the shares by weekday (Mon..Sun) and hour (0..23).
    start: str | None = None
    end: str | None = None
    weekday: list[float] | None = None
    hour: list[float] | None = None
    #: the longest text seen (for a string column without a declared length).
    max_length: int | None = None


@dataclass
class SourceColumn:
    """One column: its DSL type (``int``, ``bigint``, ``float``, ``decimal(12,2)``, ``string``, ``string(40)``,
    ``bool``, ``date``, ``timestamp``) and what the source says about it."""

    name: str
    type: str
    nullable: bool = True
    unique: bool = False
    #: the source's own words for the type (``varchar(40)``, ``integer``), for the detection report.
    source_type: str = ""
    #: a template's Faker method and its arguments, when it names one.
    faker: str | None = None
    faker_args: dict[str, Any] = field(default_factory=dict)
    #: the source declares the column personal (a template's ``is_pii``); None: it does not say.
    pii: bool | None = None
    #: an auto-increment / identity / serial column (a sequence in the file).
    identity: bool = False
    stats: ColumnStats | None = None
    #: a few sample values, in memory only, for value-shape detection; never written.
    examples: list[Any] = field(default_factory=list, repr=False)


@dataclass
class ForeignKey:
    """``columns`` of this table reference ``ref_columns`` of ``table`` (composite when more than one)."""

    columns: list[str]
    table: str
    ref_columns: list[str]
    #: children per parent row, fitted from per-parent counts in a sample: a ``fanout:`` spec, or None.
    fanout: dict[str, Any] | None = None


@dataclass
class SourceTable:
    name: str
    columns: list[SourceColumn]
    key: list[str] = field(default_factory=list)
    uniques: list[list[str]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    #: rows in the source (a template's row_count, a database's count, the sample's length), if known.
    rows: int | None = None
    #: where it came from, for the report (``bronze_hr_employees``, ``public.orders``, ``GET /employee``).
    origin: str = ""

    def column(self, name: str) -> SourceColumn:
        return next(c for c in self.columns if c.name == name)


def read_json_file(path: str | Path, noun: str = "") -> Any:
    """The JSON document in file ``path``; an unreadable file or invalid JSON is one line (``noun``, such as
    ``"template "``, says what the file is)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read {noun}'{path}': {err.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{noun}'{Path(path).name}' is not valid JSON: {err}") from None
