"""The process a job runs in (``python -m pii_gen.server.worker``), apart from the web server so a run never
slows the API and a crash never takes it down.

It reads ``{"request": ..., "job_dir": ..., "data": ...}`` on standard input, runs the request through the
Python API (the backend's events become progress), scores the files with the validator, and writes its events
as JSON lines on standard output, one per line: ``started``, ``progress`` (after every delivered batch),
``validating``, then one of ``succeeded``, ``failed`` (with the one-line message the CLI would print) or
``cancelled``.  SIGTERM or SIGINT cancel the run through its token (the output folder is left as it was); the
server kills the process group only when that takes too long.  ``{"preview": true, ...}`` prints one line
``{"tables": ...}`` instead.  Standard error is the job's log: redacted, never a password or token.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from ..backends import BlockDone, CancelToken, Event, Interrupted
from ..errors import PiiGenError
from ..redact import redact, secrets_of
from .models import JobRequest, Progress
from .resolve import Resolved, resolve

Emit = Callable[[str, dict[str, Any]], None]


class Tracker:
    """The job's progress from the backend's events: rows per table, percent, rows/s, time left."""

    def __init__(self, resolved: Resolved, emit: Emit) -> None:
        self.resolved = resolved
        self.emit = emit
        self.started = time.monotonic()
        self.progress = Progress(expected=resolved.expected)

    def __call__(self, event: Event) -> None:
        if not isinstance(event, BlockDone):
            return
        p = self.progress
        for name, rows in event.tables.items():
            p.rows[name] = p.rows.get(name, 0) + rows
        p.rows_total += event.rows
        p.people += event.people
        elapsed = max(time.monotonic() - self.started, 1e-6)
        p.rows_per_second = round(p.rows_total / elapsed, 1)
        if self.resolved.schema is not None:
            total = max(sum(p.expected.values()), 1)
            done = sum(min(p.rows.get(name, 0), n) for name, n in p.expected.items())
            p.table = next((name for name, n in p.expected.items() if p.rows.get(name, 0) < n), p.table)
        else:
            total, done = max(self.resolved.people, 1), p.people
            p.table = max(event.tables, key=lambda t: event.tables[t]) if event.tables else p.table
        share = min(done / total, 1.0)
        p.percent = round(100.0 * min(share, 0.999), 1)  # 100 is for a finished job
        p.eta_seconds = round(elapsed * (1 - share) / share, 1) if share > 0 else None
        self.emit("progress", p.model_dump())


def run(request: JobRequest, job_dir: Path, data: Path, emit: Emit, cancel: CancelToken) -> None:
    """Run the job, emitting its events; errors are raised to :func:`main`, which reports them."""
    from .. import api

    out = job_dir / "out"
    resolved = resolve(request, data, out)
    if resolved.schema is not None:  # the exact rows of every table (what a dry run prints) for the progress
        planned = api.dry_run_schema(resolved.schema, resolved.seed, resolved.scale)
        resolved.expected = {t["name"]: int(t["rows"]) for t in planned["tables"]}
    emit("started", {"pid": os.getpid(), "expected": resolved.expected, "people": resolved.people})
    tracker = Tracker(resolved, emit)
    from ..db.guard import Overrides

    overrides = Overrides(request.allow_production, request.allow_unmarked)
    if resolved.schema is not None:
        result = api.generate_schema(resolved.schema, resolved.config, seed=resolved.seed, scale=resolved.scale,
                                     cancel=cancel, on_event=tracker, overrides=overrides)  # fmt: skip
    else:
        result = api.generate(resolved.config, cancel=cancel, on_event=tracker, overrides=overrides)
    done: dict[str, Any] = {"rows": result.rows, "seconds": round(result.seconds, 3), "people": result.people,
                            "peak_rss": result.peak_rss, "workers": result.workers, "run_id": result.run_id,
                            "files": sorted(p.name for p in out.iterdir() if p.is_file()) if out.is_dir() else []}
    if cancel.cancelled:  # asked while the last batch was written: the job ends cancelled, not scored
        raise cancel.error("the files were complete; not validated")
    if request.validate_output and resolved.config.db is None and resolved.config.format != "delta":
        emit("validating", {})
        done["report"] = score(resolved, out, job_dir)
    final = tracker.progress.model_copy(update={"percent": 100.0, "eta_seconds": 0.0, "table": None})
    emit("progress", final.model_dump())
    emit("succeeded", done)


def score(resolved: Resolved, out: Path, job_dir: Path) -> dict[str, Any]:
    """Validate the files (a schema run against its constraints and targets), keep ``report.json`` and
    ``report.html`` in the job's folder, and return the score with the checks' counts by status."""
    from ..validate import report as reporting
    from ..validate.html import render

    if resolved.schema is not None:
        from ..validate.schema import validate_schema

        report = validate_schema(resolved.schema, out)
        svgs = report.plots.get("svg")
    else:
        from .. import validate as validation

        report = validation.validate(out)
        svgs = None
    reporting.write_json(report, job_dir / "report.json")
    html = True
    try:
        reporting.write_text(job_dir / "report.html", render(report, svgs))
    except PiiGenError:  # the population's plots need matplotlib (the report extra)
        html = False
    statuses: dict[str, int] = {}
    for check in report.checks:
        statuses[check.status] = statuses.get(check.status, 0) + 1
    return {"score": report.score, "ok": report.ok, "min_score": report.min_score, "checks": statuses,
            "html": html, "subject": report.what}


def main() -> None:
    """Read the job from standard input, run it, report its end; exit 0 whatever the job's outcome (the
    outcome is the last event), 3 when standard input is not a job."""
    try:
        spec = json.loads(sys.stdin.read())
        request = JobRequest.model_validate(spec["request"])
    except (ValueError, KeyError) as err:
        print(f"pii_gen worker: not a job on standard input ({err})", file=sys.stderr)
        sys.exit(3)
    secrets = secrets_of(request.db) if request.db else ()

    def emit(kind: str, data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps({"type": kind, "data": data}, default=str) + "\n")
        sys.stdout.flush()

    data = Path(spec["data"])
    if spec.get("preview"):
        from .resolve import preview

        try:
            emit("preview", {"tables": preview(request, data)})
        except PiiGenError as err:
            emit("failed", {"error": _line(redact(str(err), *secrets))})
        return
    cancel = CancelToken()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, f: cancel.cancel(s))
    try:
        run(request, Path(spec["job_dir"]), data, emit, cancel)
    except Interrupted as err:
        emit("cancelled", {"message": _line(redact(str(err), *secrets))})
    except PiiGenError as err:
        emit("failed", {"error": _line(redact(str(err), *secrets))})
    except OSError as err:
        emit("failed", {"error": _line(redact(f"cannot write the job's files: {os.strerror(err.errno or 0)} "
                                              f"({err.filename or ''})", *secrets))})
    except Exception as err:  # noqa: BLE001 - a bug: the job fails with its name, the log gets the trace
        print(redact(traceback.format_exc(), *secrets), file=sys.stderr)
        emit("failed", {"error": _line(redact(f"internal error: {type(err).__name__}: {err}", *secrets))})


def _line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    main()
