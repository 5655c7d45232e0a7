"""What the job API takes and gives: one request model for jobs and previews (the options of ``pii_gen
generate``), the job's view (state, progress, result), and the smaller bodies of the other routes.

A request names one source: ``pack`` (with ``scenario``, ``settings``, ``from``/``to``, ``multiplier``),
``schema`` (a schema file the server holds: uploaded with ``POST /schemas``, or placed in its ``schemas``
folder) or ``config`` (a population config, as the config file's YAML would hold it; none of the three: the
default population).  Unknown fields are refused, so a misspelt option is an error, not a silent default.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator, model_validator

from ..redact import redact_url

#: Job states; the last five are final.
STATES = ("queued", "running", "cancelling", "succeeded", "failed", "cancelled", "crashed")
FINAL = frozenset({"succeeded", "failed", "cancelled", "crashed"})
State = Literal["queued", "running", "cancelling", "succeeded", "failed", "cancelled", "crashed"]
#: A schema file's name on the server: letters, digits, ``-`` and ``_`` (never a path).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
Setting = Union[bool, int, float, str]


def _number(value: Any) -> Any:
    """JSON numbers only: text or true/false is not a number here (no quiet coercion of "5" to 5)."""
    if isinstance(value, (str, bool)):
        raise ValueError("must be a number")
    return value


Number = Annotated[float, BeforeValidator(_number)]
Integer = Annotated[int, BeforeValidator(_number)]
#: The JSON Schema of a name (the models' validators say what is wrong in a friendlier line).
NAMED = {"pattern": NAME.pattern}


class JobRequest(BaseModel):
    """A generation job (or a preview): its source and the options ``pii_gen generate`` takes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    pack: Optional[str] = Field(None, description="A schema pack (GET /packs).", examples=["erp"],
                                json_schema_extra=NAMED)
    scenario: Optional[str] = Field(None, description="With pack: one of its scenarios (GET /packs).",
                                    json_schema_extra=NAMED)
    schema_name: Optional[str] = Field(None, alias="schema", description="A schema file the server holds "
                                       "(GET /schemas; POST /schemas uploads one).", json_schema_extra=NAMED)
    config: Optional[dict[str, Any]] = Field(None, description="A population config (the config file's keys).")
    population: Optional[dict[str, Any]] = Field(None, description="With pack: its population's config sections "
                                                 "(demographics and the others a config file holds).")
    settings: dict[str, Setting] = Field(default_factory=dict, description="Pack or schema settings (--set).")
    start: Optional[dt.date] = Field(None, alias="from", description="With pack: the calendar's first day.")
    end: Optional[dt.date] = Field(None, alias="to", description="With pack: the calendar's last day.")
    multiplier: Optional[Number] = Field(None, gt=0, description="With pack: its volumes times this.")
    count: Optional[Integer] = Field(None, ge=1, description="People: of the population, or of a pack's population.")
    scale: Optional[Number] = Field(None, gt=0, description="With schema: its rows times this.")
    seed: Optional[Integer] = Field(None, ge=0, le=2**63 - 1)
    format: Optional[Literal["csv", "parquet", "jsonl", "delta"]] = Field(None, description="Files' format.")
    db: Optional[str] = Field(None, description="A database URL to load into instead of files (never shown back "
                                                "with its password).")
    db_schema: Optional[str] = Field(None, description="With db: the schema (namespace) to load into.")
    if_exists: Optional[Literal["fail", "append", "replace"]] = None
    noise: Optional[str] = Field(None, description="A noise profile (population runs).", json_schema_extra=NAMED)
    workers: Optional[Integer] = Field(None, ge=1, le=64)
    allow_production: StrictBool = False
    allow_unmarked: StrictBool = False
    validate_output: StrictBool = Field(True, alias="validate", description="Score the files when the run is done.")

    @field_validator("pack", "scenario", "schema_name", "noise")
    @classmethod
    def _name(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not NAME.match(value):
            raise ValueError("must be a name (letters, digits, - and _), not a path")
        return value

    @field_validator("settings")
    @classmethod
    def _setting_names(cls, value: dict[str, Setting]) -> dict[str, Setting]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"'{name}' is not a setting name")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "JobRequest":
        given = [k for k, v in (("pack", self.pack), ("schema", self.schema_name), ("config", self.config)) if v]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)} are sources of tables: give one of them")
        if self.pack is None:
            for key, value in (("scenario", self.scenario), ("from", self.start), ("to", self.end),
                               ("multiplier", self.multiplier)):  # fmt: skip
                if value is not None:
                    raise ValueError(f"{key} needs pack")
        if self.population is not None and self.pack is None:
            raise ValueError("population needs pack (a population job takes config)")
        if self.settings and not (self.pack or self.schema_name):
            raise ValueError("settings need pack or schema")
        if self.db_schema is not None and self.db is None:
            raise ValueError("db_schema needs db")
        if self.db is not None and self.format is not None:
            raise ValueError("format is for files; a job with db loads a database")
        return self

    def settings_text(self) -> tuple[str, ...]:
        """The settings as ``--set NAME=VALUE`` would give them."""
        return tuple(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in self.settings.items())


def public_request(request: dict[str, Any]) -> dict[str, Any]:
    """A stored request as responses show it: a database URL without its password."""
    shown = dict(request)
    if shown.get("db"):
        shown["db"] = redact_url(shown["db"])
    return shown


class Progress(BaseModel):
    """Where a running job is: the table being written, rows per table, percent, rows/s and the time left."""

    table: Optional[str] = None
    rows: dict[str, int] = Field(default_factory=dict)
    expected: dict[str, int] = Field(default_factory=dict)
    rows_total: int = 0
    people: int = 0
    percent: float = 0.0
    rows_per_second: float = 0.0
    eta_seconds: Optional[float] = None


class JobView(BaseModel):
    """A job as ``GET /jobs/{id}`` shows it."""

    id: str
    state: State
    request: dict[str, Any]
    created: float
    started: Optional[float] = None
    finished: Optional[float] = None
    progress: Progress
    error: Optional[str] = None
    result: Optional[dict[str, Any]] = None
    events: int = Field(0, description="Events so far (GET /jobs/{id}/events streams them).")


class JobList(BaseModel):
    jobs: list[JobView]


class Preview(BaseModel):
    """Up to ten rows of every table of a request, as the job would make them."""

    tables: dict[str, list[dict[str, Any]]]


class SchemaUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="The name jobs give as schema (letters, digits, - and _).",
                      json_schema_extra=NAMED)
    text: str = Field(..., description="The schema file's YAML.", max_length=1_000_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("must be a name (letters, digits, - and _), not a path")
        return value


class SchemaInfo(BaseModel):
    name: str
    tables: list[str]


class PackInfo(BaseModel):
    name: str
    summary: str
    scenarios: list[dict[str, str]]
    settings: dict[str, dict[str, Any]]
    people: Optional[int] = Field(None, description="The size of the pack's population (count sets it).")


class CleanupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    db: str = Field(..., description="The database URL pii_gen wrote to.")
    db_schema: Optional[str] = None
    confirm: Optional[str] = Field(None, description="The token a first call gave: drops the tables.")
    dry_run: StrictBool = False
    allow_production: StrictBool = False


class CleanupResult(BaseModel):
    where: str
    tables: list[dict[str, Any]]
    token: Optional[str] = None
    expires_in: Optional[int] = None
    dropped: bool = False


class Toggle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool


class Problem(BaseModel):
    """An error: one line saying what is wrong and what would be right."""

    detail: str
