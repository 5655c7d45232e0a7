"""The Python API the command line is a thin layer over."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

from . import __version__
from .config import GenerateConfig
from .engine import PerformanceOptimizer
from .person import BLOCK_SIZE
from .schema import TABLES
from .sinks import Staging, file_sink

# Settings that change how a run goes, never what it produces.
RUN_ONLY_FIELDS = {"out", "workers", "quiet", "batch_size"}


@dataclass
class RunResult:
    """What a generation run produced."""

    rows: dict[str, int]
    files: dict[str, dict[str, object]]
    seconds: float
    workers: int
    peak_rss: int

    @property
    def people_per_second(self) -> float:
        return self.rows.get("persons", 0) / self.seconds if self.seconds > 0 else 0.0


def manifest(config: GenerateConfig, files: dict[str, dict[str, object]]) -> dict[str, object]:
    """The run's record: what produced the files and their row counts and checksums."""
    return {
        "generator": "pii_gen",
        "version": __version__,
        "block_size": BLOCK_SIZE,
        "seed": config.seed,
        "count": config.count,
        "pii_mode": config.pii_mode,
        "format": config.format,
        "config": config.model_dump(mode="json", exclude=RUN_ONLY_FIELDS),
        "tables": {name: {"rows": info["rows"], "file": f} for f, info in files.items() for name in [info["table"]]},
        "files": files,
    }


def generate(config: GenerateConfig, progress: Callable[[int], None] | None = None) -> RunResult:
    """Generate ``config.count`` people into ``config.out`` as one file per table plus manifest.json.

    Files are written to a hidden folder first and moved into place only when
    everything succeeded, so an error or Ctrl-C leaves the output folder as it was.
    """
    started = time.perf_counter()
    staging = Staging(config.out)
    try:
        sink = file_sink(config.format, staging)
        optimizer = PerformanceOptimizer(config)
        with sink:
            sink.open({name: t.arrow_schema for name, t in TABLES.items()})
            optimizer.run(sink, progress)
        files = sink.checksums()
        text = json.dumps(manifest(config, files), indent=2, sort_keys=False) + "\n"
        staging.path("manifest.json").write_text(text, encoding="utf-8")
        staging.commit()
    except BaseException:
        staging.abort()
        raise
    return RunResult(
        rows=dict(sink.rows),
        files=files,
        seconds=time.perf_counter() - started,
        workers=optimizer.workers,
        peak_rss=optimizer.peak_rss,
    )
