"""The job manager: a queue of jobs, each run in a worker process of its own (:mod:`pii_gen.server.worker`), its
events read from the worker's output into the store and into memory for the API.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``; ``running`` -> ``cancelling``
-> ``cancelled`` on a cancel; ``crashed`` when the worker died without a result (killed, out of memory) or the
server stopped while it ran.  At most ``max_jobs`` run at once, the rest wait in order.  A cancel asks the
worker through SIGTERM (its cancel token), and kills its process group after ``grace`` seconds; a worker is a
session leader, so its own worker processes go with it and none is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from .models import FINAL, JobRequest, JobView, Progress, public_request
from .store import Store

WORKER = "pii_gen.server.worker"


def worker_env() -> dict[str, str]:
    """The environment of a worker: the server's, importing the same pii_gen as the server does (the package's
    folder first on the path, whatever the worker's working folder)."""
    import pii_gen

    here = str(Path(pii_gen.__file__).resolve().parents[1])
    path = [here, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


class Job:
    """A job as the manager holds it; ``view()`` is what the API shows."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.id: str = row["id"]
        self.state: str = row["state"]
        self.request: dict[str, Any] = row["request"]
        self.created: float = row["created"]
        self.started: float | None = row.get("started")
        self.finished: float | None = row.get("finished")
        self.progress: dict[str, Any] = row.get("progress") or Progress().model_dump()
        self.error: str | None = row.get("error")
        self.result: dict[str, Any] | None = row.get("result")
        self.pid: int | None = row.get("pid")
        self.events: list[tuple[int, str, dict[str, Any]]] | None = None  # loaded from the store when asked
        self.last_event: int = 0  # the sequence number of its last event, whether or not they are loaded
        self.process: subprocess.Popen[bytes] | None = None
        self.cancel_asked = False

    def view(self) -> JobView:
        return JobView(id=self.id, state=self.state, request=public_request(self.request),  # type: ignore[arg-type]
                       created=self.created, started=self.started, finished=self.finished,
                       progress=Progress.model_validate(self.progress), error=self.error, result=self.result,
                       events=self.last_event)  # fmt: skip


class JobManager:
    """Jobs of one server: submitted, run, followed, cancelled, recovered after a restart."""

    def __init__(self, store: Store, data: Path, max_jobs: int = 2, grace: float = 10.0) -> None:
        self.store = store
        self.data = data
        self.max_jobs = max_jobs
        self.grace = grace
        self.lock = threading.RLock()
        self.jobs: dict[str, Job] = {}
        self._recover()

    # -- lifecycle -----------------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Load every stored job; those that were running when the server stopped are crashed (and a worker
        still alive from then is stopped), queued ones wait for their turn again."""
        for row in self.store.jobs():
            job = Job(row)
            job.last_event = self.store.last_seq(job.id)
            self.jobs[job.id] = job
            if job.state in ("running", "cancelling"):
                self._stop_leftover(job.pid)
                self._end(job, "crashed", error="the server stopped while the job ran")
        self._dispatch()

    @staticmethod
    def _stop_leftover(pid: int | None) -> None:
        if not pid:
            return
        try:
            process = psutil.Process(pid)
            if WORKER in " ".join(process.cmdline()):
                os.killpg(pid, signal.SIGKILL)
        except (psutil.Error, ProcessLookupError, PermissionError):
            pass

    def shutdown(self) -> None:
        """Stop every running worker (their jobs crash: the server stopped while they ran)."""
        with self.lock:
            running = [job for job in self.jobs.values() if job.process is not None and job.state not in FINAL]
            for job in running:
                job.cancel_asked = False
                self._signal(job, signal.SIGKILL)
        for job in running:
            if job.process is not None:
                job.process.wait(timeout=30)
            with self.lock:
                if job.state not in FINAL:
                    self._end(job, "crashed", error="the server stopped while the job ran")

    # -- jobs ----------------------------------------------------------------------------------------------

    def submit(self, request: JobRequest) -> JobView:
        """Queue a checked request; it starts when fewer than ``max_jobs`` run."""
        raw = request.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        job = Job({"id": uuid.uuid4().hex[:12], "state": "queued", "request": raw, "created": time.time(),
                   "progress": Progress().model_dump()})
        job.events = []
        (self.data / "jobs" / job.id).mkdir(parents=True)
        with self.lock:
            self.store.add_job({"id": job.id, "state": job.state, "request": raw, "created": job.created,
                                "progress": job.progress})  # fmt: skip
            self.jobs[job.id] = job
            self._event(job, "queued", {})
            self._dispatch()
            return job.view()

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def all(self) -> list[Job]:
        with self.lock:
            return sorted(self.jobs.values(), key=lambda j: j.created)

    def events(self, job: Job, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        """The job's events after ``after`` (from memory; a job from before a restart reads the store once)."""
        with self.lock:
            if job.events is None:
                job.events = self.store.events(job.id)
            return [e for e in job.events if e[0] > after] if after else list(job.events)

    def job_dir(self, job: Job) -> Path:
        return self.data / "jobs" / job.id

    def cancel(self, job: Job) -> JobView:
        """Cancel ``job``: a queued one at once, a running one through its token, then by force."""
        with self.lock:
            if job.state == "queued":
                self._end(job, "cancelled", {"message": "cancelled before it started"})
            elif job.state == "running":
                job.cancel_asked = True
                self._set(job, state="cancelling")
                self._event(job, "cancelling", {})
                self._signal(job, signal.SIGTERM)
                threading.Timer(self.grace, self._force, args=(job,)).start()
            return job.view()

    def _force(self, job: Job) -> None:
        with self.lock:
            if job.state == "cancelling":
                self._signal(job, signal.SIGKILL)

    @staticmethod
    def _signal(job: Job, signum: int) -> None:
        if job.process is None:
            return
        try:
            os.killpg(job.process.pid, signum)  # the worker leads its session: its own workers go too
        except (ProcessLookupError, PermissionError):
            pass

    def running(self) -> int:
        return sum(1 for job in self.jobs.values() if job.state in ("running", "cancelling"))

    # -- running -------------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        with self.lock:
            for job in sorted((j for j in self.jobs.values() if j.state == "queued"), key=lambda j: j.created):
                if self.running() >= self.max_jobs:
                    break
                self._start(job)

    def _start(self, job: Job) -> None:
        folder = self.job_dir(job)
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / "worker.log", "ab")
        try:
            process = subprocess.Popen([sys.executable, "-m", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=log, start_new_session=True, cwd=folder, env=worker_env())
        except OSError as err:
            log.close()
            self._end(job, "failed", error=f"cannot start the job's process: {os.strerror(err.errno or 0)}")
            return
        log.close()
        job.process = process
        self._set(job, state="running", started=time.time(), pid=process.pid)
        self._event(job, "running", {"pid": process.pid})
        spec = {"request": job.request, "job_dir": str(folder), "data": str(self.data)}
        threading.Thread(target=self._follow, args=(job, process, json.dumps(spec)), daemon=True,
                         name=f"job-{job.id}").start()

    def _follow(self, job: Job, process: subprocess.Popen[bytes], spec: str) -> None:
        """Feed the worker its job, then turn each line it prints into an event until it ends."""
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(spec.encode())
            process.stdin.close()
        except OSError:
            pass  # it died at once: its exit says why
        for line in process.stdout:
            try:
                message = json.loads(line)
                kind, data = message["type"], message["data"]
            except (ValueError, KeyError, TypeError):
                continue
            with self.lock:
                self._on(job, kind, data)
        code = process.wait()
        with self.lock:
            job.process = None
            if job.state not in FINAL:
                if job.cancel_asked:
                    self._end(job, "cancelled", {"message": "stopped by force after the cancel"})
                else:
                    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                    self._end(job, "crashed", error=f"the job's process ended without a result ({how})")
            self._dispatch()

    def _on(self, job: Job, kind: str, data: dict[str, Any]) -> None:
        if kind == "progress":
            self._set(job, progress=data)
        if kind in ("succeeded", "failed", "cancelled"):
            self._end(job, kind, data, error=data.get("error"), result=data if kind == "succeeded" else None)
        else:
            self._event(job, kind, data)

    # -- bookkeeping ---------------------------------------------------------------------------------------

    def _set(self, job: Job, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(job, key, value)
        self.store.update_job(job.id, **changes)

    def _end(self, job: Job, state: str, data: dict[str, Any] | None = None, error: str | None = None,
             result: dict[str, Any] | None = None) -> None:
        """Put the job in its final ``state`` and tell it as the event of that name (``data``, else the error)."""
        self._set(job, state=state, finished=time.time(), error=error, result=result)
        self._event(job, state, data if data is not None else {"error": error})

    def _event(self, job: Job, kind: str, data: dict[str, Any]) -> None:
        job.last_event += 1
        if job.events is not None:  # else the store has them all, and they are read from it when asked
            job.events.append((job.last_event, kind, data))
        self.store.add_event(job.id, job.last_event, kind, data)


def preview(data: Path, request: JobRequest, timeout: float = 120.0) -> dict[str, Any]:
    """Up to ten rows per table of ``request``'s run, made in a worker process (``{"tables": ...}`` or
    ``{"error": ...}``)."""
    spec = json.dumps({"request": request.model_dump(mode="json", by_alias=True, exclude_defaults=True),
                       "data": str(data), "preview": True})
    try:
        done = subprocess.run([sys.executable, "-m", WORKER], input=spec.encode(), capture_output=True,
                              timeout=timeout, start_new_session=True, env=worker_env())
    except subprocess.TimeoutExpired:
        return {"error": f"the preview took longer than {timeout:g} s"}
    for line in done.stdout.decode().splitlines():
        message = json.loads(line)
        if message["type"] == "preview":
            return {"tables": message["data"]["tables"]}
        if message["type"] == "failed":
            return {"error": message["data"]["error"]}
    return {"error": f"the preview's process ended without a result (exit status {done.returncode})"}
