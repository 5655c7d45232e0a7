"""The Python API as users call it: from a plain script, stdin and a thread, with real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]

# The README's snippet, with two workers and a batch size that gives them several batches each.
SNIPPET = """\
from pii_gen import GenerateConfig, PersonGenerator

tables = PersonGenerator(seed=7).generate(1000)          # dict of table name -> pyarrow.Table
for batch in PersonGenerator(GenerateConfig(seed=7)).iter_batches(20_000, batch_size=10_000):
    ...                                                   # the same people, a batch at a time

from pii_gen import api
result = api.generate(GenerateConfig(count=60_000, out="people", format="parquet", workers=2, batch_size=10_000))
print("people", result.people, "workers", result.workers)
"""


def _python(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    try:
        return subprocess.run(
            [sys.executable, *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=180
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"python {' '.join(args)} hung (workers re-running the script, or respawned forever)")


def _check_output(folder: Path, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert "people 60000 workers 2" in result.stdout
    assert "Traceback" not in result.stderr
    assert pq.read_table(folder / "people" / "persons.parquet").num_rows == 60_000
    # Workers never ran the script again (it would have printed and generated a second time).
    assert result.stdout.count("people 60000") == 1


def test_readme_snippet_runs_as_a_plain_script(tmp_path):
    (tmp_path / "snippet.py").write_text(SNIPPET)
    _check_output(tmp_path, _python(["snippet.py"], tmp_path))


def test_readme_snippet_runs_from_stdin(tmp_path):
    _check_output(tmp_path, _python(["-"], tmp_path, stdin=SNIPPET))


def test_readme_snippet_runs_from_a_thread(tmp_path):
    (tmp_path / "snippet.py").write_text(SNIPPET)
    (tmp_path / "threaded.py").write_text(  # a script too: without a __main__ guard, as users write them
        "import runpy, threading\n"
        "t = threading.Thread(target=runpy.run_path, args=('snippet.py',))\n"
        "t.start(); t.join()\n"
    )
    _check_output(tmp_path, _python(["threaded.py"], tmp_path))


def _workers_of(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return []
    return [c for c in children if "--multiprocessing-fork" in " ".join(c.cmdline())]


def test_a_worker_that_dies_fails_the_run_promptly(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", "2000000", "--workers", "2",
         "--batch-size", "10000", "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(_workers_of(proc.pid)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        workers = _workers_of(proc.pid)
        assert len(workers) == 2, "the workers never started"
        time.sleep(1.0)  # let them get to work
        workers[0].send_signal(signal.SIGKILL)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the run went on (or hung) after a worker was killed")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "worker process" in lines[0] and "SIGKILL" in lines[0], err
    assert not out.exists() or list(out.iterdir()) == []
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
