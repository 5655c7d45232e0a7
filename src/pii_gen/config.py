"""The one validated configuration model that every layer receives.

A config file (YAML or JSON) and command-line flags both end up here; flags
override the file.  Unknown fields are errors, so a typo never silently falls
back to a default.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SerializeAsAny,
    ValidationError,
    create_model,
    model_validator,
)

from .errors import ConfigError
from .variability.base import NoiseType
from .variability.registry import check_column, noise_types

Format = Literal["csv", "jsonl", "parquet", "delta"]
PiiMode = Literal["strict", "realistic"]


#: Fields that say how a run goes (where to, how fast), never what it produces.
RUN_FIELDS = frozenset({"out", "workers", "quiet", "batch_size", "db", "db_schema", "if_exists", "resume"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemographicsConfig(_Section):
    """Who is generated: the range every person's age lies in (with households: 0 and 85-100)."""

    min_age: int = Field(0, ge=0, le=100, strict=True, description="youngest age generated")
    max_age: int = Field(90, ge=0, le=100, strict=True, description="oldest age generated")

    @model_validator(mode="after")
    def _range(self) -> "DemographicsConfig":
        if self.min_age > self.max_age:
            raise ValueError(f"min_age ({self.min_age}) must not exceed max_age ({self.max_age})")
        return self


class HouseholdsConfig(_Section):
    """People living together: census household types and sizes, group quarters, relationships."""

    enabled: bool = Field(
        True, description="generate households; false: everyone lives alone, ages drawn within the age range"
    )


#: With households, children, parents and grandparents all occur, so the age range must hold them.
HOUSEHOLD_MIN_MAX_AGE = 85


class AddressConfig(_Section):
    """How many addresses a person has besides the current home."""

    max_previous: int = Field(4, ge=0, le=8, strict=True, description="most previous home addresses per person")
    unit_rate: float = Field(0.22, ge=0, le=1, strict=True, description="share of homes with an apartment/unit")
    po_box_rate: float = Field(
        0.05, ge=0, le=1, strict=True, description="share of people with a PO box mailing address"
    )
    military_rate: float = Field(
        0.004, ge=0, le=1, strict=True, description="share with an APO/FPO/DPO mailing address"
    )
    shipping_rate: float = Field(0.06, ge=0, le=1, strict=True, description="share with a separate shipping address")


class ContactConfig(_Section):
    """Phones and e-mail addresses."""

    home_phone_rate: float = Field(
        0.3, ge=0, le=1, strict=True, description="base share with a home landline (rises with age)"
    )
    work_phone_rate: float = Field(
        0.25, ge=0, le=1, strict=True, description="share of employed people with a work phone"
    )
    work_email_rate: float = Field(
        0.55, ge=0, le=1, strict=True, description="share of employed people with a work e-mail"
    )
    unique_emails: bool = Field(False, description="make every e-mail address unique by adding the person id")


class EmploymentConfig(_Section):
    """Job histories."""

    max_jobs: int = Field(5, ge=1, le=12, strict=True, description="most jobs in one person's history")


NoiseProfile = Literal["none", "light", "realistic", "heavy"]
NOISE_PROFILES: tuple[str, ...] = ("none", "light", "realistic", "heavy")


class ColumnNoise(_Section):
    """Rates of each noise type for one column: the share of its values given that noise.

    The fields are the registered noise types' (see :func:`column_noise`), so a new noise type is
    configurable without an edit here; this class holds what every version of them shares.
    """

    @model_validator(mode="after")
    def _total(self) -> "ColumnNoise":
        total = sum(self.rates().values())
        if total > 1 + 1e-9:
            raise ValueError(
                f"rates add up to {total:.4g}; a value gets at most one kind of noise, so they must not exceed 1"
            )
        return self

    def rates(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in type(self).model_fields}


def column_noise() -> type[ColumnNoise]:
    """The per-column rates model of the noise types registered now: one field each, in position order."""
    return _column_noise_model(noise_types())


@lru_cache(maxsize=None)
def _column_noise_model(types: tuple[type[NoiseType], ...]) -> type[ColumnNoise]:
    fields: dict[str, Any] = {t.name: (float, Field(0.0, ge=0, le=1, description=t.description)) for t in types}
    return create_model("ColumnNoise", __base__=ColumnNoise, __module__=__name__, __doc__=ColumnNoise.__doc__, **fields)


def _column_rates(value: object) -> ColumnNoise:
    """One column's rates, validated against the noise types registered when the config is read."""
    return value if isinstance(value, ColumnNoise) else column_noise().model_validate(value)


#: A column's rates in a config: validated by :func:`column_noise`, written out with every field it has.
ColumnRates = SerializeAsAny[Annotated[ColumnNoise, PlainValidator(_column_rates)]]


class DuplicatesConfig(_Section):
    """People recorded more than once: the record-linkage case."""

    rate: float = Field(0.0, ge=0, le=1, description="share of people who appear again")
    max_variants: int = Field(2, ge=1, le=9, description="most extra records of one person (1 up to this)")


class NoiseConfig(_Section):
    """Data-quality noise: a named profile (config/noise/*.yaml), with per-column rates overriding it."""

    profile: NoiseProfile = Field("none", description="none (clean), light, realistic or heavy")
    log: bool = Field(True, description="write the noise_log table: every change with its original value")
    magnitude: float | None = Field(None, ge=1, le=10_000, description="how far outliers go (profile's if unset)")
    duplicates: DuplicatesConfig | None = Field(None, description="duplicate records (profile's if unset)")
    columns: dict[str, ColumnRates] = Field(
        default_factory=dict, description="'table.column': rates, overriding the profile's for that column"
    )

    @model_validator(mode="after")
    def _columns_exist(self) -> "NoiseConfig":
        if not self.columns:
            return self
        for key, rates in self.columns.items():  # the noise registry knows which noise fits which column
            check_column(key, [name for name, rate in rates.rates().items() if rate > 0])
        if self.profile != "none":
            merge_columns(self.profile, self.columns)
        return self

    def merged_columns(self) -> dict[str, ColumnNoise]:
        """The profile's per-column rates with the fields this config sets laid over them."""
        return merge_columns(self.profile, self.columns)

    def effective_duplicates(self) -> DuplicatesConfig:
        """The duplicate records of a run: this config's, else the profile's, else none."""
        return self.duplicates or load_profile(self.profile).duplicates or DuplicatesConfig()

    def effective_magnitude(self) -> float:
        """How far outliers go: this config's, else the profile's, else the default."""
        return self.magnitude or load_profile(self.profile).magnitude or DEFAULT_MAGNITUDE


DEFAULT_MAGNITUDE = 10.0


def profile_dir() -> Path:
    """config/noise: inside the installed package, else the source checkout's."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "config" / "noise", here.parent.parent / "config" / "noise"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("noise profiles not found: reinstall pii-gen (config/noise is missing)")


@lru_cache(maxsize=None)
def load_profile(name: str) -> NoiseConfig:
    """A named profile, validated like a user's config."""
    if name == "none":
        return NoiseConfig()
    path = profile_dir() / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    # Validated as profile "none" (a profile is not laid over itself), then named.
    return build_config({"noise": data}).noise.model_copy(update={"profile": name})


def merge_columns(profile: str, overrides: dict[str, ColumnNoise]) -> dict[str, ColumnNoise]:
    """The profile's per-column rates with the fields each override sets laid over them.

    Raises ValueError naming the column when a merged column's rates add up to more than 1.
    """
    columns: dict[str, ColumnNoise] = dict(load_profile(profile).columns)
    for key, override in overrides.items():
        given = {f: getattr(override, f) for f in override.model_fields_set}
        merged = {**(columns[key].rates() if key in columns else {}), **given}
        total = sum(merged.values())
        if total > 1 + 1e-9:
            raise ValueError(
                f"noise.columns.{key} with profile {profile}: rates add up to {total:.4g}; "
                "a value gets at most one kind of noise, so they must not exceed 1"
            )
        columns[key] = column_noise().model_validate(merged)
    return columns


class GenerateConfig(_Section):
    """Everything one ``pii_gen generate`` run needs."""

    # Numbers are strict: YAML's `count: true` is a mistake to report, not 1 person.
    count: int = Field(1000, ge=0, strict=True, description="number of people (-n)")
    seed: int = Field(
        0, ge=0, lt=2**63, strict=True, description="random seed; same seed and config give identical output"
    )
    workers: int | None = Field(None, ge=1, le=256, strict=True, description="worker processes (default: all cores)")
    format: Format = Field("csv", description="output format: csv, jsonl, parquet or delta")
    out: Path = Field(Path("people"), description="output folder")
    pii_mode: PiiMode = Field(
        "strict", description="strict: identifiers can never be real; realistic: structurally real"
    )
    quiet: bool = Field(False, description="no progress bar")
    batch_size: int = Field(30_000, ge=1, le=1_000_000, strict=True, description="people handed to a worker at a time")
    as_of: dt.date = Field(dt.date(2026, 1, 1), description="the 'today' that ages and current jobs refer to")
    first_person_id: int = Field(
        1, ge=1, lt=2**40, strict=True, description="person_id of the first person: 1 plus a multiple of 10,000"
    )
    db: str | None = Field(None, description="load into this database URL instead of writing files")
    db_schema: str | None = Field(None, description="database schema (namespace) for the tables")
    if_exists: Literal["fail", "append", "replace"] = Field("fail", description="when the tables already hold rows")
    resume: str | None = Field(None, description="run id of an interrupted database load to continue")
    demographics: DemographicsConfig = DemographicsConfig()
    households: HouseholdsConfig = HouseholdsConfig()
    address: AddressConfig = AddressConfig()
    contact: ContactConfig = ContactConfig()
    employment: EmploymentConfig = EmploymentConfig()
    noise: NoiseConfig = Field(default_factory=NoiseConfig)

    @model_validator(mode="after")
    def _households_fit_ages(self) -> "GenerateConfig":
        d = self.demographics
        if self.households.enabled and (d.min_age != 0 or d.max_age < HOUSEHOLD_MIN_MAX_AGE):
            raise ValueError(
                f"demographics.min_age must be 0 and max_age at least {HOUSEHOLD_MIN_MAX_AGE} when households are "
                f"generated (got {d.min_age}-{d.max_age}); set households.enabled: false for a narrower age range"
            )
        return self

    @model_validator(mode="after")
    def _ssns_stay_distinct(self) -> "GenerateConfig":
        from .packs.person.identifiers import REALISTIC_SSN_SPACE, STRICT_SSN_SPACE

        space = STRICT_SSN_SPACE if self.pii_mode == "strict" else REALISTIC_SSN_SPACE
        last = self.first_person_id - 1 + self.count  # person ids index the SSNs; past the space they repeat
        if last > space:
            kind = "never-issued" if self.pii_mode == "strict" else "issuable"
            after = f" after person_id {self.first_person_id - 1:,}" if self.first_person_id > 1 else ""
            raise ValueError(
                f"count {self.count:,}{after} is more than {self.pii_mode} mode can give distinct SSNs: "
                f"there are {space:,} {kind} SSNs, so at most {max(0, space - self.first_person_id + 1):,} "
                f"people{after}"
            )
        return self

    def resolved_workers(self) -> int:
        """Worker count to use: the configured one, or all cores."""
        return self.workers or (os.cpu_count() or 1)


def _describe(err: ValidationError) -> str:
    """Turn pydantic's report into one line naming the field and what is allowed."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    kind = first["type"]
    if not first["loc"]:  # a rule across fields: its message names them
        return f"invalid config: {first['msg'].removeprefix('Value error, ')}"
    if kind == "extra_forbidden":
        parent = _model_at(first["loc"][:-1])
        allowed = ", ".join(sorted(parent.model_fields)) if parent else ""
        return f"unknown config field '{where}'" + (f" (expected one of: {allowed})" if allowed else "")
    msg = first["msg"]
    msg = msg.replace("Input should be", "must be").removeprefix("Value error, ")
    value = first.get("input")
    shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
    return f"invalid config field '{where}': {msg}{shown}"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = GenerateConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return None
        model = field.annotation
    return model


def build_config(data: dict[str, Any] | None = None, **overrides: Any) -> GenerateConfig:
    """Validate a mapping (from a file) plus overrides (from flags) into a config."""
    merged: dict[str, Any] = dict(data or {})
    for key, value in overrides.items():
        if value is not None:
            merged[key] = value
    try:
        return GenerateConfig.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML or JSON config file into a mapping, with one-line errors."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file '{p}' does not exist") from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"config file '{p}' is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}); "
            "it must be a YAML or JSON file"
        ) from None
    except OSError as err:
        raise ConfigError(f"config file '{p}' cannot be read: {err.strerror}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"config file '{p}' is not valid {'JSON' if p.suffix == '.json' else 'YAML'}{where}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{p}' must hold a mapping of fields, not {type(data).__name__}")
    return data


def default_config_yaml() -> str:
    """A commented YAML file with every field at its default, for users to edit."""
    lines = ["# pii_gen configuration. Command-line flags override these values.", ""]

    def emit(model: type[BaseModel], instance: BaseModel, indent: str) -> None:
        for name, field in model.model_fields.items():
            value = getattr(instance, name)
            if isinstance(value, BaseModel):
                lines.append(
                    f"{indent}{name}:  # {field.description or (type(value).__doc__ or '').strip().splitlines()[0]}"
                )
                emit(type(value), value, indent + "  ")
                continue
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, dt.date):
                value = value.isoformat()
            rendered = yaml.safe_dump(value, default_flow_style=True).strip()
            if rendered.endswith("..."):
                rendered = rendered[:-3].strip()
            lines.append(f"{indent}{name}: {rendered}  # {field.description}")

    emit(GenerateConfig, GenerateConfig(), "")
    return "\n".join(lines) + "\n"
