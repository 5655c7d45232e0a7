"""The validated options of one ``pii_gen stream`` run (what the people are is GenerateConfig's job)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError


class StreamOptions(BaseModel):
    """How fast, how long and where to: never what is generated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(100.0, ge=0, le=10_000_000, description="people per second; 0: as fast as possible")
    duration: float | None = Field(None, gt=0, description="stop after this many seconds")
    count: int | None = Field(None, ge=1, description="stop after this many people")
    format: Literal["jsonl", "csv"] = Field("jsonl", description="jsonl: one document per person; csv: persons")
    to: str = Field("-", description="- (stdout), a file path, a database URL, http(s)://, redis://, nats://")
    db_schema: str | None = Field(None, description="database schema (namespace) for the tables")
    batch: int = Field(1000, ge=1, le=100_000, description="most people per write, POST, commit or pipeline")
    flush_interval: float = Field(0.25, gt=0, le=60, description="seconds a batching destination holds records")
    rotate_size: int | None = Field(None, ge=1, description="file: start a new file past this many bytes")
    rotate_every: float | None = Field(None, gt=0, description="file: start a new file after this many seconds")
    quiet: bool = Field(False, description="no progress, lag warnings or summary")
    allow_production: bool = Field(False, description="database: write though it looks like production")
    allow_unmarked: bool = Field(False, description="database: write into a schema pii_gen did not make")
    min_delivered: float = Field(
        1.0, ge=0, le=1, description="share of the people handed over that must arrive, else exit status 2"
    )

    @model_validator(mode="after")
    def _stop_rule(self) -> "StreamOptions":
        if self.duration is not None and self.count is not None:
            raise ValueError("--duration and --count exclude each other; give one (or neither, to run until stopped)")
        return self


def build_options(**values: Any) -> StreamOptions:
    """Validate stream options given as flags (None: not given), with one-line errors."""
    try:
        return StreamOptions.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].replace("Input should be", "must be").removeprefix("Value error, ")
        value = first.get("input")
        shown = "" if not where or isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
        flag = where.replace("_", "-")
        message = f"invalid stream option '--{flag}': {msg}{shown}" if where else msg
        raise ConfigError(message) from None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str | None) -> int | None:
    """``100MB``, ``512k``, ``1G`` or plain bytes -> bytes (powers of 1024)."""
    if text is None:
        return None
    found = _SIZE.match(text)
    if not found:
        raise ConfigError(f"invalid size '{text}' (e.g. 100MB, 512KB, 1GB)")
    return int(float(found.group(1)) * 1024 ** "_kmgt".index(found.group(2).lower() or "_"))
