"""A job request turned into what the Python API runs: the checked schema (of a pack, or of a schema file the
server holds) or population config, with the generate config saying where and how.  The server resolves a
request when it is posted (a bad one is refused then, with the one-line message the CLI would print) and the
job process resolves it again to run it: one meaning of a request, in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import GenerateConfig, build_config
from ..errors import ConfigError
from ..sources import pack_settings, schema_source
from .models import JobRequest

#: Rows of every table a preview shows.
PREVIEW_ROWS = 10
#: Rows a population job writes per person, about (the person, a share of a home, places, contacts, jobs, ...):
#: what its people count as against the server's rows limit.
ROWS_PER_PERSON = 13


@dataclass
class Resolved:
    """A request ready to run: ``schema`` (None for a population run) and ``config``."""

    schema: Any
    config: GenerateConfig
    seed: int | None
    scale: float | None
    expected: dict[str, int]
    people: int

    @property
    def rows(self) -> int:
        """The rows the job is expected to write (a population's: people x :data:`ROWS_PER_PERSON`)."""
        return sum(self.expected.values()) if self.schema is not None else self.people * ROWS_PER_PERSON


def schema_path(data: Path, name: str) -> Path:
    """Schema file ``name`` of the server's ``schemas`` folder (a name, never a path: the model checked it)."""
    path = (data / "schemas" / f"{name}.yaml").resolve()
    if path.parent != (data / "schemas").resolve():
        raise ConfigError(f"schema '{name}' is not a name of the server's schemas")
    if not path.is_file():
        raise ConfigError(f"no schema named '{name}' on this server (GET /schemas lists them; POST /schemas adds one)")
    return path


def database(url: str, data: Path) -> str:
    """A job's database URL; a SQLite or DuckDB file is a path inside the server's ``databases`` folder
    (``sqlite:///name.db``), made absolute there, so no request writes a file outside the data folder."""
    from ..db.url import parse

    parsed = parse(url)
    if not parsed.file:
        return url
    base = (data / "databases").resolve()
    target = (base / parsed.file).resolve()
    if parsed.file == ":memory:" or Path(parsed.file).is_absolute() or not target.is_relative_to(base):
        raise ConfigError(f"db: a {parsed.dialect} file is a name inside the server's databases folder "
                          f"({parsed.dialect}:///name.db), not '{parsed.file}'")
    base.mkdir(parents=True, exist_ok=True)
    return f"{parsed.dialect}:///{target}"


def resolve(request: JobRequest, data: Path, out: Path | None = None) -> Resolved:
    """Check ``request`` as ``pii_gen generate`` checks its options (ConfigError/SchemaError naming the
    field); ``out`` is the job's output folder."""
    where: dict[str, Any] = {"out": str(out)} if out is not None else {}
    if request.db is not None:
        request = request.model_copy(update={"db": database(request.db, data)})
    if request.pack is not None or request.schema_name is not None:
        from .. import dsl

        file = schema_path(data, request.schema_name) if request.schema_name is not None else None
        chosen = pack_settings(request.pack, request.settings_text(), request.scenario,
                               request.start.isoformat() if request.start else None,
                               request.end.isoformat() if request.end else None, request.multiplier)  # fmt: skip
        if request.population:
            build_config(request.population)  # its sections checked as a config file's are, one line each
        schema = schema_source(file, None, request.pack, chosen, scenario=request.scenario,
                               count=request.count if request.pack else None, pii_mode=None, config_file=None,
                               noise=request.noise, population_config=request.population)  # fmt: skip
        if request.count is not None and request.pack is None:
            raise ConfigError("count: a schema file says its rows (scale multiplies them)")
        if file is not None and not request.settings:
            from ..packs.schema.pack import with_data

            schema = with_data(schema, file.parent)
        config = build_config({}, workers=request.workers, format=request.format, db=request.db,
                              db_schema=request.db_schema, if_exists=request.if_exists, quiet=True, **where)
        estimates = dsl.row_estimates(schema, request.scale)
        expected = {name: int(n) for name, n in estimates.items() if n is not None}
        return Resolved(schema, config, request.seed, request.scale, expected, 0)
    if request.scale is not None:
        raise ConfigError("scale: needs schema (it multiplies a schema file's rows)")
    data_ = dict(request.config or {})
    if request.noise is not None:
        data_["noise"] = {**(data_.get("noise") or {}), "profile": request.noise}
    config = build_config(data_, count=request.count, seed=request.seed, workers=request.workers,
                          format=request.format, db=request.db, db_schema=request.db_schema,
                          if_exists=request.if_exists, quiet=True, **where)
    return Resolved(None, config, None, None, {}, config.count)


def preview(request: JobRequest, data: Path) -> dict[str, list[dict[str, Any]]]:
    """The first :data:`PREVIEW_ROWS` rows of every table of the request's run: block 0 of each table only."""
    from ..planning import build_plan, runtime

    resolved = resolve(request, data)
    if resolved.schema is not None:
        from ..schema_run import schema_plan

        _, plan = schema_plan(resolved.schema, resolved.seed, resolved.scale)
    else:
        plan = build_plan(resolved.config.model_copy(update={"count": min(resolved.config.count, 1000)}))
    tables = runtime(plan).batch(plan.population(1), 0, 1)
    return {name: _rows(table.slice(0, PREVIEW_ROWS)) for name, table in tables.items()}


def _rows(table: Any) -> list[dict[str, Any]]:
    """A table's rows as JSON values (dates and decimals as text, NaN as null)."""
    def value(v: Any) -> Any:
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        return v if v is None or isinstance(v, (bool, int, str)) else str(v)

    return [{k: value(v) for k, v in row.items()} for row in table.to_pylist()]
