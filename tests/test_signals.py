"""Ctrl-C and SIGTERM at any moment of a file run: it ends promptly, cleanly, and leaves the folder as it was.

Every pattern runs many times at random moments (seeded, so a failure can be replayed), from the
moment the interpreter hands over to pii_gen up to ~2 s in: while the command line loads, while
the workers import, and while they generate and write.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
TRIES = 20
HANG = 20  # seconds a run may take after the last signal before it counts as hung


@pytest.fixture(scope="module")
def earliest() -> float:
    """Seconds a bare interpreter needs to start: before that a Ctrl-C lands in Python's own start-up
    (site packages), which no program can guard, so the signals come later than that."""
    times = []
    for _ in range(5):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.monotonic() - started)
    return 2 * statistics.median(times)


def _default_signals() -> None:
    """As from a terminal: a runner that started the tests in the background has SIGINT ignored, and
    that would be inherited (pii_gen rightly keeps an ignored SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _group_alive(pgid: int) -> list[psutil.Process]:
    alive = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return alive


def _interrupt(out: Path, pattern: str, delay: float, gap: float) -> tuple[int, str]:
    """Start a run into ``out``, signal it by ``pattern`` after ``delay`` s, return (status, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", "200000", "--workers", "2",
         "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_default_signals,
    )  # fmt: skip
    try:
        time.sleep(delay)
        if pattern == "sigint":
            proc.send_signal(signal.SIGINT)
        elif pattern == "sigint_then_group":  # what `timeout -s INT` does, and a double Ctrl-C
            proc.send_signal(signal.SIGINT)
            time.sleep(gap)
            os.killpg(proc.pid, signal.SIGINT)
        elif pattern == "sigterm":
            proc.send_signal(signal.SIGTERM)
        elif pattern == "sigterm_group":
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=HANG)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{pattern} at {delay:.2f} s (gap {gap:.2f} s): still running {HANG} s later (hung)")
        # The workers end with the run, not some time after it.
        deadline = time.monotonic() + 5
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _group_alive(proc.pid), f"{pattern} at {delay:.2f} s left processes behind"
        return proc.returncode, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for leftover in _group_alive(proc.pid):
            leftover.kill()


@pytest.mark.parametrize("pattern", ["sigint", "sigint_then_group", "sigterm", "sigterm_group"])
def test_interrupt_at_any_moment_ends_cleanly(tmp_path, earliest, pattern):
    rng = random.Random(f"signals-{pattern}")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("not pii_gen's")
    signum = signal.SIGTERM if pattern.startswith("sigterm") else signal.SIGINT
    for attempt in range(TRIES):
        delay, gap = rng.uniform(earliest, 2.0), rng.uniform(0.0, 0.3)
        status, err = _interrupt(out, pattern, delay, gap)
        where = f"{pattern} try {attempt} at {delay:.2f} s (gap {gap:.2f} s): status {status}, stderr {err!r}"
        assert "Traceback" not in err, where
        if status == 0:  # finished before the signal: then the whole output is there
            assert (out / "manifest.json").exists(), where
            pytest.fail(f"the run finished before the signal; use a larger -n ({where})")
        # 128 + the signal, from pii_gen; a SIGTERM before pii_gen's handlers are set ends it by default.
        allowed = {128 + signum, -signal.SIGTERM} if signum == signal.SIGTERM else {128 + signum}
        assert status in allowed, where
        lines = err.strip().splitlines()
        assert (not lines and status < 0) or (len(lines) == 1 and "interrupted" in lines[0]), where
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"], where


def test_an_interrupted_load_prints_a_command_that_continues_it(tmp_path):
    """Ctrl-C on a PostgreSQL load into a schema: the printed command, run as printed, completes the load."""
    import shlex
    import uuid

    from servers import server_url

    from pii_gen import GenerateConfig, PersonGenerator
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse
    from pii_gen.packs.person.contract import TABLES

    password = "s3cret-pw"  # the server trusts local connections, so any password is accepted
    url = server_url("PII_GEN_TEST_POSTGRES_URL").replace("://postgres@", f"://postgres:{password}@")
    assert password in url
    schema, n = f"t_{uuid.uuid4().hex[:10]}", 60_000
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", str(n), "--seed", "4", "--db", url,
         "--db-schema", schema, "--batch-size", "10000", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals,
    )  # fmt: skip
    watcher = connect(parse(url), schema)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if watcher.execute(f"SELECT COUNT(*) FROM {watcher.table('pii_gen_load_log')}")[0][0] >= 2 * 8:
                    break  # two batches of the eight tables
            except Exception:  # noqa: BLE001 - the log table does not exist yet
                pass
            watcher.rollback()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "continue with: " in lines[0], err
        assert password not in err
        printed = lines[0].split("continue with: ", 1)[1]
        assert printed.endswith(" (with the password in place of ***)")
        args = shlex.split(printed.removesuffix(" (with the password in place of ***)"))
        assert args[:2] == ["pii_gen", "generate"] and "--db-schema" in args
        args = [a.replace(":***@", f":{password}@") for a in args]  # what the message asks the user to do
        r = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args[1:]], capture_output=True, text=True,
                           timeout=300)  # fmt: skip
        assert r.returncode == 0, r.stderr
        expected = PersonGenerator(GenerateConfig(seed=4, count=n)).generate(n)
        watcher.rollback()
        for name in TABLES:
            got = watcher.execute(f"SELECT COUNT(*) FROM {watcher.table(name)}")[0][0]
            assert got == expected[name].num_rows, name
        ids = watcher.execute(f"SELECT COUNT(DISTINCT person_id) FROM {watcher.table('persons')}")[0][0]
        assert ids == n
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        watcher.rollback()
        watcher.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        watcher.commit()
        watcher.close()
