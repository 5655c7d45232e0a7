"""The job API and the wizard page, as one ASGI app (FastAPI): ``create_app(settings)``.

Every route but the page, its static files and the spec needs ``Authorization: Bearer TOKEN`` when the server
has a token.  Errors are ``{"detail": "one line"}`` with 4xx statuses: 401 without the token, 404 for an
unknown job or file, 409 when generation is switched off or a job is not in a state that allows the call, 422
for a request that is wrong (the message names the field and what would be right).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import time
import zipfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Optional

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import PiiGenError
from ..redact import redact, secrets_of
from . import jobs as jobs_module
from .jobs import Job, JobManager
from .models import (FINAL, CleanupRequest, CleanupResult, JobList, JobRequest, JobView, PackInfo, Preview, Problem,
                     SchemaInfo, SchemaUpload, Toggle)  # fmt: skip
from .resolve import resolve
from .settings import ServerSettings
from .store import Store

STATIC = Path(__file__).parent / "static"
#: The switch ``/toggle`` sets: generation on or off.
SWITCH = "generation"


class Refusal(Exception):
    """An API error: its status and the one line it says."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text} for status, text in
    ((400, "The body is not JSON"), (401, "No or a wrong API token"), (404, "No such job, file or report"),
     (409, "Generation is switched off, or the job's state does not allow it"), (422, "The request is wrong"))
}


#: The media type of a job's file, by its suffix (anything else: bytes).
MEDIA = {".csv": "text/csv", ".json": "application/json", ".jsonl": "application/x-ndjson",
         ".parquet": "application/vnd.apache.parquet"}
FILE: dict[int | str, dict[str, Any]] = {200: {"description": "The file", "content": {
    t: {"schema": {"type": "string", "format": "binary"}} for t in (*MEDIA.values(), "application/octet-stream")}}}


def _first_error(err: RequestValidationError) -> str:
    """A validation error as one line: where, and what is wrong there."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header"))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def create_app(settings: ServerSettings) -> FastAPI:
    """The app of one server: its data folder, store, job manager and limits from ``settings``."""
    settings.data.mkdir(parents=True, exist_ok=True)
    (settings.data / "schemas").mkdir(exist_ok=True)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.data / "jobs.sqlite") if settings.store is None else Store(url=settings.store)
        state["store"] = store
        state["manager"] = JobManager(store, settings.data, settings.max_jobs, settings.grace)
        yield
        state["manager"].shutdown()
        store.close()

    app = FastAPI(title="pii_gen", version=__version__, lifespan=lifespan,
                  description="Jobs that generate synthetic data (packs, schema files, the population), their "
                              "progress and events, previews, downloads, validation reports and cleanup.")

    @app.exception_handler(Refusal)
    async def _refusal(request: Request, exc: Refusal) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of the first route matched
            methods = set()
            for route in app.routes:
                if isinstance(route, APIRoute) and route.path_regex.match(request.url.path):
                    methods |= route.methods
            headers["Allow"] = ", ".join(sorted(methods))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path} (GET /openapi.json lists them)"
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _first_error(exc)}, status_code=422)

    def manager() -> JobManager:
        return state["manager"]

    def authorized(authorization: Optional[str] = Header(None)) -> None:
        if settings.token is None:
            return
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            raise Refusal(401, "this server needs its API token: send 'Authorization: Bearer TOKEN'")

    def job_of(job_id: str) -> Job:
        job = manager().get(job_id)
        if job is None:
            raise Refusal(404, f"no job '{job_id}' (GET /jobs lists them)")
        return job

    def checked(request: JobRequest) -> None:
        """A bad request refused now, with the message the CLI would give; and the rows limit."""
        try:
            resolved = resolve(request, settings.data)
        except PiiGenError as err:
            raise Refusal(422, " ".join(redact(str(err), *secrets_of(request.db or "")).split())) from None
        if resolved.rows > settings.max_rows:
            raise Refusal(422, f"the job would write about {resolved.rows:,} rows, above this server's limit of "
                               f"{settings.max_rows:,} per job (pii_gen serve --max-rows)")

    api = APIRouter(dependencies=[Depends(authorized)], responses=ERRORS)

    @api.post("/jobs", response_model=JobView, status_code=201, summary="Start a job")
    def create_job(request: JobRequest) -> JobView:
        if state["store"].switch(SWITCH, "on") != "on":
            raise Refusal(409, "generation is switched off on this server (POST /toggle {\"enabled\": true})")
        checked(request)
        return manager().submit(request)

    @api.get("/jobs", response_model=JobList, summary="Every job, oldest first")
    async def list_jobs() -> JobList:
        return JobList(jobs=[job.view() for job in manager().all()])

    @api.get("/jobs/{job_id}", response_model=JobView, summary="A job's state, progress and result")
    async def get_job(job_id: str) -> JobView:
        return job_of(job_id).view()

    @api.post("/jobs/{job_id}/cancel", response_model=JobView, status_code=202, summary="Cancel a job")
    async def cancel_job(job_id: str) -> JobView:
        job = job_of(job_id)
        if job.state in FINAL:
            raise Refusal(409, f"job {job_id} is {job.state}: only a queued or running job can be cancelled")
        return manager().cancel(job)

    @api.get("/jobs/{job_id}/events", summary="The job's events, live (Server-Sent Events)",
             responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                              "description": "id, event and data lines per event; ': heartbeat' comments"}})
    async def job_events(job_id: str, request: Request,
                         last_event_id: Optional[str] = Header(None, alias="Last-Event-ID"),
                         after: Optional[int] = Query(None, ge=0, description="Replay after this event id "
                                                      "(as the Last-Event-ID header does)")) -> StreamingResponse:
        job = job_of(job_id)
        start = after if after is not None else int(last_event_id) if (last_event_id or "").isdigit() else 0
        return StreamingResponse(_stream(manager(), job, start, request, settings.heartbeat),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.get("/jobs/{job_id}/report", summary="The validation report of a finished job")
    async def job_report(job_id: str) -> dict[str, Any]:
        path = manager().job_dir(job_of(job_id)) / "report.json"
        if not path.is_file():
            raise Refusal(404, f"job {job_id} has no report (only a finished job writing files has one)")
        return json.loads(path.read_text(encoding="utf-8"))

    @api.get("/jobs/{job_id}/report.html", summary="The report as a page, with plots",
             responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The page"}})
    async def job_report_html(job_id: str) -> FileResponse:
        path = manager().job_dir(job_of(job_id)) / "report.html"
        if not path.is_file():
            raise Refusal(404, f"job {job_id} has no HTML report")
        return FileResponse(path, media_type="text/html")

    def outputs(job: Job) -> dict[str, Path]:
        out = manager().job_dir(job) / "out"
        if job.state != "succeeded" or not out.is_dir():
            raise Refusal(404, f"job {job.id} has no files (it is {job.state}" +
                          (", into a database)" if job.request.get("db") else ")"))
        return {p.name: p for p in sorted(out.iterdir()) if p.is_file()}

    @api.get("/jobs/{job_id}/files", summary="The files a finished job wrote")
    async def job_files(job_id: str) -> list[dict[str, Any]]:
        return [{"name": name, "bytes": path.stat().st_size, "href": f"/jobs/{job_id}/files/{name}"}
                for name, path in outputs(job_of(job_id)).items()]

    @api.get("/jobs/{job_id}/files/{name}", summary="One file of a finished job", responses=FILE)
    async def job_file(job_id: str, name: str) -> FileResponse:
        files = outputs(job_of(job_id))
        if name not in files:
            raise Refusal(404, f"job {job_id} wrote no file '{name}' (GET /jobs/{job_id}/files lists them)")
        return FileResponse(files[name], filename=name,
                            media_type=MEDIA.get(files[name].suffix, "application/octet-stream"))

    @api.get("/jobs/{job_id}/download", summary="Every file of a job, as a zip",
             responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                              "description": "A zip of the job's files"}})
    def job_download(job_id: str) -> FileResponse:
        job = job_of(job_id)
        files = outputs(job)
        target = manager().job_dir(job) / f"pii_gen-{job_id}.zip"
        if not target.is_file():
            partial = target.with_suffix(".zip.part")
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                for name, path in files.items():
                    archive.write(path, name)
            partial.replace(target)
        return FileResponse(target, filename=target.name, media_type="application/zip")

    @api.post("/preview", response_model=Preview, summary="Ten rows of every table, before a full job")
    def preview(request: JobRequest) -> Preview:
        checked(request)
        done = jobs_module.preview(settings.data, request)
        if "error" in done:
            raise Refusal(422, done["error"])
        return Preview(tables=done["tables"])

    @api.get("/packs", response_model=list[PackInfo], summary="Schema packs, their scenarios and settings")
    def list_packs() -> list[PackInfo]:
        return _packs()

    @api.get("/schemas", response_model=list[SchemaInfo], summary="Schema files this server holds")
    def list_schemas() -> list[SchemaInfo]:
        from .. import dsl

        out = []
        for path in sorted((settings.data / "schemas").glob("*.yaml")):
            try:
                out.append(SchemaInfo(name=path.stem, tables=list(dsl.load(path).tables)))
            except PiiGenError:
                continue  # placed by hand and broken: a job naming it gets the error
        return out

    @api.post("/schemas", response_model=SchemaInfo, status_code=201, summary="Upload a schema file")
    def upload_schema(upload: SchemaUpload) -> SchemaInfo:
        from .. import dsl

        try:
            schema = dsl.loads(upload.text)
        except PiiGenError as err:
            raise Refusal(422, " ".join(str(err).split())) from None
        target = settings.data / "schemas" / f"{upload.name}.yaml"
        partial = target.with_suffix(".yaml.part")
        partial.write_text(upload.text, encoding="utf-8")
        partial.replace(target)
        return SchemaInfo(name=upload.name, tables=list(schema.tables))

    @api.get("/schema.json", summary="The JSON Schema of schema files")
    def schema_json() -> dict[str, Any]:
        from .. import dsl

        return dsl.json_schema()

    @api.post("/cleanup", response_model=CleanupResult, summary="List, then drop, what pii_gen wrote to a database")
    def cleanup(body: CleanupRequest) -> CleanupResult:
        from .. import api as pii_api
        from ..db.guard import Overrides
        from .resolve import database

        secrets = secrets_of(body.db)
        try:
            done = pii_api.cleanup(database(body.db, settings.data), body.db_schema, confirm=body.confirm,
                                   dry_run=body.dry_run, overrides=Overrides(body.allow_production))
        except PiiGenError as err:
            raise Refusal(422, " ".join(redact(str(err), *secrets).split())) from None
        return CleanupResult(where=redact(done.where, *secrets),
                             tables=[{"name": n, "rows": r} for n, r in done.tables], token=done.token,
                             expires_in=done.expires_in if done.token else None, dropped=done.dropped)

    @api.get("/toggle", response_model=Toggle, summary="Whether generation is switched on")
    def get_toggle() -> Toggle:
        return Toggle(enabled=state["store"].switch(SWITCH, "on") == "on")

    @api.post("/toggle", response_model=Toggle, summary="Switch generation on or off")
    def set_toggle(body: Toggle) -> Toggle:
        state["store"].set_switch(SWITCH, "on" if body.enabled else "off")
        return body

    @api.get("/health", summary="The server is up: jobs running and queued")
    async def health() -> dict[str, Any]:
        jobs = manager().all()
        return {"ok": True, "version": __version__, "running": sum(j.state in ("running", "cancelling") for j in jobs),
                "queued": sum(j.state == "queued" for j in jobs), "max_jobs": settings.max_jobs}

    app.include_router(api)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def wizard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


@functools.lru_cache(maxsize=1)
def _packs() -> list[PackInfo]:
    """Every pack with its scenarios, settings and population size (read once: they ship with pii_gen)."""
    from ..dsl import packs
    from ..dsl.packs import scenarios

    out = []
    for name in packs.names():
        found = [{"name": s, "summary": scenarios.summary_of(scenarios.folder(name) / f"{s}.yaml")}
                 for s in scenarios.names(name)]
        shown = {k: {f: v for f, v in spec.items() if f != "at"} for k, spec in packs.settings(name).items()}
        population = packs.load(name).population
        out.append(PackInfo(name=name, summary=packs.summary(name), scenarios=found,
                            settings=json.loads(json.dumps(shown, default=str)),
                            people=population.size if population is not None else None))
    return out


async def _stream(manager: JobManager, job: Job, after: int, request: Request, heartbeat: float
                  ) -> AsyncIterator[str]:
    """A job's events after ``after`` as Server-Sent Events, then the new ones as they come, with a comment
    every ``heartbeat`` seconds; ends after the job's last event (a client that drops reconnects with
    Last-Event-ID and misses nothing; the job goes on either way)."""
    yield "retry: 1000\n\n"
    beat = time.monotonic()
    while True:
        with manager.lock:
            final = job.state in FINAL
            new = manager.events(job, after)
        for seq, kind, data in new:
            yield f"id: {seq}\nevent: {kind}\ndata: {json.dumps(data, default=str)}\n\n"
            after = seq
        if final:
            return
        if time.monotonic() - beat >= heartbeat:
            yield ": heartbeat\n\n"
            beat = time.monotonic()
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.1)
