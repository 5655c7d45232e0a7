"""One run's record: what produced an output and what the output holds.

The same record is a file run's ``manifest.json``, a database run's ``pii_gen_runs`` row (with its load
log's counts), and what ``--resume`` and ``validate --db`` read back, so these cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pydantic import ValidationError

from . import __version__
from .config import RUN_FIELDS, GenerateConfig
from .db.ddl import LOAD_LOG, RUNS
from .core.plan import RunPlan
from .packs.person.contract import BLOCK_SIZE
from .variability import make_plan

__all__ = ["RUN_COLUMNS", "Query", "RunRecord", "config_json", "read_runs"]

#: ``pii_gen_runs``' columns, the order of :meth:`RunRecord.to_row`.
RUN_COLUMNS = tuple(c.name for c in RUNS.columns)

#: Runs one SQL statement and returns its rows (a loader connection's ``execute``, DuckDB's ``all``).
Query = Callable[[str], Sequence[Sequence[Any]]]


def config_json(config: GenerateConfig) -> str:
    """What regenerates the same batches (batch size included), and never the database URL."""
    data = config.model_dump(mode="json", exclude=set(RUN_FIELDS - {"batch_size"}))
    # A column's noise override keeps only the rates it sets: read back, the others stay the profile's
    # (dumped in full, they would come back as explicit zeros and change the noise).
    data["noise"]["columns"] = config.noise.model_dump(mode="json", exclude_unset=True).get("columns", {})
    return json.dumps(data, sort_keys=True)


@dataclass(frozen=True)
class RunRecord:
    """One run: what produced it (generator, version, config) and what it holds (rows, files, batches).

    ``target`` is the file format of a file run, or ``"database"``.  A database run is ``running`` until
    its load ends (``finished_at`` set); a stream's ``count`` is 0 until then, as it is open-ended.
    """

    config: GenerateConfig | None  # None: a stored config this version cannot read
    config_json: str  # the stored form of the config: what regenerates the run's batches
    target: str
    seed: int
    count: int
    batch_size: int
    tables: dict[str, int] = field(default_factory=dict)  # rows per table
    files: dict[str, dict[str, object]] = field(default_factory=dict)  # file runs: file -> table, rows, checksum
    batches: int = 0  # database runs: batches in the load log
    gaps: bool = False  # database runs: batches missing from the log below its last one
    run_id: str | None = None
    started_at: Any = None  # as the database returns it (SQLite: text)
    finished_at: Any = None
    version: str | None = __version__  # None: not recorded (pii_gen_runs has no column for it)
    generator: str = "pii_gen"
    block_size: int = BLOCK_SIZE
    planned_noise: dict[str, Any] | None = None  # the run plan's noise, when the record was made from a plan

    @classmethod
    def of_files(
        cls, config: GenerateConfig, files: dict[str, dict[str, object]], plan: RunPlan | None = None
    ) -> RunRecord:
        """The record of a finished file run: ``files`` maps each file to its table, rows and checksum; the
        block size and noise come from the run's ``plan`` when given, so the record says what actually ran."""
        tables = {str(info["table"]): int(info["rows"]) for info in files.values()}  # type: ignore[call-overload]
        extra: dict[str, Any] = {}
        if plan is not None:
            noise = None if plan.noise is None else dict(plan.noise)
            extra = {"block_size": plan.keys.block_size, "planned_noise": noise}
        return cls(config, config_json(config), config.format, config.seed, config.count, config.batch_size,
                   tables, files, **extra)  # fmt: skip

    @classmethod
    def started(cls, config: GenerateConfig, run_id: str, started_at: Any, stream: bool = False) -> RunRecord:
        """A database run as it starts: no batch loaded yet."""
        count = 0 if stream else config.count
        return cls(config, config_json(config), "database", config.seed, count, config.batch_size, run_id=run_id,
                   started_at=started_at)  # fmt: skip

    @classmethod
    def started_schema(cls, run: dict[str, Any], count: int, run_id: str, started_at: Any) -> RunRecord:
        """A schema file's database run as it starts: ``run`` says what rebuilds its plan (the file's name
        and SHA-256, seed, scale, batch size), ``count`` is the plan's root rows."""
        return cls(None, json.dumps({"schema_run": run}, sort_keys=True), "database", int(run["seed"]), count,
                   int(run["batch_size"]), run_id=run_id, started_at=started_at)  # fmt: skip

    @property
    def schema_run(self) -> dict[str, Any] | None:
        """What rebuilds a schema file run's plan (see :meth:`started_schema`); None for a population run."""
        try:
            data = json.loads(self.config_json)
        except ValueError:
            return None
        return data.get("schema_run") if isinstance(data, dict) else None

    @property
    def status(self) -> str:
        return "running" if self.target == "database" and self.finished_at is None else "finished"

    @property
    def noise(self) -> dict[str, Any] | None:
        """The effective noise rates (the profile's under the column overrides), when there is noise."""
        if self.planned_noise is not None:
            return self.planned_noise
        if self.config is None:
            return None
        plan = make_plan(self.config.noise)
        return plan.describe() if plan.active else None

    def to_manifest(self) -> dict[str, object]:
        """A file run's manifest.json."""
        assert self.config is not None, "a file run's record holds its config"
        noise = self.noise
        return {
            "generator": self.generator,
            "version": self.version,
            "block_size": self.block_size,
            "seed": self.seed,
            "count": self.count,
            "pii_mode": self.config.pii_mode,
            "format": self.target,
            "config": self.config.model_dump(mode="json", exclude=set(RUN_FIELDS)),
            **({"noise": noise} if noise is not None else {}),
            "tables": {info["table"]: {"rows": info["rows"], "file": f} for f, info in self.files.items()},
            "files": self.files,
        }

    def to_row(self) -> tuple[Any, ...]:
        """The ``pii_gen_runs`` row, in :data:`RUN_COLUMNS` order."""
        return (self.run_id, self.seed, self.count, self.batch_size, self.config_json, self.started_at,
                self.finished_at)  # fmt: skip

    @classmethod
    def from_row(cls, row: Sequence[Any], log: Sequence[Sequence[Any]] = ()) -> RunRecord:
        """A database run from its ``pii_gen_runs`` row and its load log's ``(table, batches, last batch, rows)``
        per table."""
        run_id, seed, count, batch_size, stored, started_at, finished_at = row
        text = stored if isinstance(stored, str) else json.dumps(dict(stored), sort_keys=True)  # a driver's JSON
        try:
            config: GenerateConfig | None = GenerateConfig.model_validate_json(text)
        except ValidationError:
            config = None
        batches = max((int(n) for _, n, _, _ in log), default=0)
        last = max((int(top) for _, _, top, _ in log), default=-1)
        return cls(
            config, text, "database", int(seed), int(count), int(batch_size),
            tables={str(t): int(rows or 0) for t, _, _, rows in log}, batches=batches, gaps=last + 1 != batches,
            run_id=str(run_id), started_at=started_at, finished_at=finished_at, version=None,
        )  # fmt: skip


def read_runs(query: Query, table: Callable[[str], str]) -> list[RunRecord]:
    """Every run recorded in a database, oldest first; ``table`` names a bookkeeping table as the query needs."""
    runs = query(f"SELECT {', '.join(RUN_COLUMNS)} FROM {table(RUNS.name)} ORDER BY started_at")
    log: dict[str, list[Sequence[Any]]] = {}
    for run_id, *counts in query(
        f"SELECT run_id, table_name, COUNT(*), MAX(batch_number), SUM(row_count) FROM {table(LOAD_LOG.name)} "
        "GROUP BY run_id, table_name ORDER BY run_id, table_name"
    ):
        log.setdefault(str(run_id), []).append(counts)
    return [RunRecord.from_row(row, log.get(str(row[0]), ())) for row in runs]
