"""``pii_gen stream``: rate accuracy, clean stops, broken pipes, determinism and every destination.

Servers come from environment variables (``.ci/run`` sets them), else the local defaults of servers.py:
PII_GEN_TEST_POSTGRES_URL, PII_GEN_TEST_REDIS_URL and PII_GEN_TEST_NATS_URL.  A test without its server
skips with the reason, unless PII_GEN_REQUIRE_DB=1, which makes it fail instead.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.compute as pc
import pytest

from pii_gen import GenerateConfig, PersonGenerator, build_config
from pii_gen.cli import main
from pii_gen.db.loaders import connect
from servers import server_url

from pii_gen.db.url import parse
from pii_gen.packs.person.contract import TABLES
from pii_gen.stream import build_options, stream
from pii_gen.stream.documents import ARRAYS, SINGLE, SINGLE_KEY, build_block

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"sent ([\d,]+), failed ([\d,]+), elapsed ([\d.]+) s")


def command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "pii_gen.py"), "stream", *args]


def _default_signals() -> None:
    """As from a terminal: a runner that started the tests in the background has SIGINT ignored, and
    that would be inherited (pii_gen keeps an ignored SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(*args: str) -> subprocess.Popen:
    """A stream process to send signals to, reading neither its stdout nor its stderr."""
    return subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_signals)


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), capture_output=True, timeout=timeout)


def summary(stderr: bytes | str) -> tuple[int, int]:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    found = SUMMARY.search(text)
    assert found, text
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


class Reader(threading.Thread):
    """Reads a process's stdout line by line, stamping each line with its arrival time."""

    def __init__(self, proc: subprocess.Popen) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.lines: list[bytes] = []
        self.times: list[float] = []
        self.start()

    def run(self) -> None:
        for line in self.proc.stdout:
            self.times.append(time.monotonic())
            self.lines.append(line)


def finish(proc: subprocess.Popen, reader: Reader) -> bytes:
    """Wait for the process and its reader; the process's stderr."""
    reader.join(timeout=120)
    err = proc.stderr.read()
    proc.wait(timeout=30)
    return err


@pytest.fixture(scope="module")
def first_block() -> dict:
    """Block 0 at seed 11: its tables and documents, made in-process."""
    batch = PersonGenerator(GenerateConfig(seed=11)).batch(10_000, 0, 1)
    return {"batch": batch, "docs": build_block(0, batch)}


# -- rate, stops and pipes -----------------------------------------------------------------


def test_rate_is_exact_over_ten_seconds_and_steady_per_second():
    proc = subprocess.Popen(command("--rate", "500", "--duration", "10", "--seed", "1"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    reader = Reader(proc)
    err = finish(proc, reader)
    assert proc.returncode == 0, err
    total = len(reader.lines)
    assert abs(total - 5000) <= 50  # ±1%; the schedule makes it exact
    sent, failed = summary(err)
    assert (sent, failed) == (total, 0)
    t0 = reader.times[0]
    # The reader can only see a line late, never early: no line may arrive ahead of the schedule (a burst),
    # while a busy machine may delay the reader, so each one-second window gets 10%.
    ahead = max(k / 500 - (t - t0) for k, t in enumerate(reader.times))
    assert ahead <= 0.1, f"line arrived {ahead:.3f} s ahead of a 500/s schedule"
    windows = [sum(1 for t in reader.times if t0 + k <= t < t0 + k + 1) for k in range(10)]
    assert all(abs(w - 500) <= 50 for w in windows), windows


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_flushes_and_summary_counts_what_was_received(sig, code):
    proc = start("--rate", "1000", "--seed", "2")
    reader = Reader(proc)
    deadline = time.monotonic() + 60
    while len(reader.lines) < 1000 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    err = finish(proc, reader)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    sent, failed = summary(err)
    assert sent == len(reader.lines) >= 1000 and failed == 0
    ids = [json.loads(line)["person_id"] for line in reader.lines]
    assert ids == list(range(1, sent + 1))
    assert f"stopped by {'SIGINT' if sig == signal.SIGINT else 'SIGTERM'}".encode() in err


def test_a_second_signal_ends_a_stream_stuck_on_a_server_that_never_answers():
    """The first SIGINT asks the stream to stop, but its POST waits on a server that took the request and
    never answers; the second ends the process of the signal at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    got_request = threading.Event()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            conn.settimeout(60)
            try:
                if conn.recv(1):  # the probe connection sends nothing; the POST does
                    got_request.set()
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/people"
    proc = start("--rate", "0", "--seed", "2", "--batch", "10", "--to", url)
    try:
        assert got_request.wait(60)
        proc.send_signal(signal.SIGINT)
        # Signals that arrive before the first is handled count as one: the second goes once it was heard.
        assert select.select([proc.stderr], [], [], 60)[0], "the first SIGINT was never acknowledged"
        heard = proc.stderr.readline()
        assert heard == b"pii_gen: SIGINT received, stopping; another SIGINT ends it at once\n", heard
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1)  # still waiting for the answer: one signal only asks
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == -signal.SIGINT
    finally:
        proc.kill()
        proc.wait()
        listener.close()
        for conn in held:
            conn.close()


def test_a_stream_in_a_thread_stops_at_its_cancel_token_with_whole_documents(tmp_path):
    from pii_gen.backends import CancelToken

    target, token = tmp_path / "people.jsonl", CancelToken()
    done: list = []
    runner = threading.Thread(target=lambda: done.append(
        stream(GenerateConfig(seed=2), build_options(rate=2000, to=str(target), quiet=True), cancel=token)))
    runner.start()
    deadline = time.monotonic() + 60
    while (not target.exists() or target.read_bytes().count(b"\n") < 60) and time.monotonic() < deadline:
        time.sleep(0.05)  # at least 60 whole documents out (about 2.5 kB each), whatever the write sizes
    token.cancel()
    runner.join(timeout=60)
    result = done[0]
    assert (result.reason, result.signal, result.exit_code) == ("signal", None, 130)
    assert "stream stopped by a cancel: sent" in result.summary()
    ids = [json.loads(line)["person_id"] for line in target.read_bytes().splitlines()]
    assert ids == list(range(1, result.sent + 1)) and result.sent >= 50


@pytest.mark.parametrize("rate", ["0", "200"])
def test_broken_pipe_exits_quietly(rate):
    script = f"set -o pipefail; {' '.join(command('--rate', rate, '--seed', '3'))} | head -n 5"
    r = subprocess.run(["bash", "-c", script], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert len(r.stdout.splitlines()) == 5


# -- determinism and the documents ---------------------------------------------------------


def test_sequence_is_the_same_whatever_the_rate_or_batching(first_block):
    fast = run("--rate", "0", "--count", "1200", "--seed", "11", "--batch", "7", "-q")
    paced = run("--rate", "4000", "--count", "1200", "--seed", "11", "-q")
    short = run("--rate", "0", "--count", "300", "--seed", "11", "-q")
    for r in (fast, paced, short):
        assert r.returncode == 0, r.stderr
    assert fast.stdout == paced.stdout
    assert fast.stdout.startswith(short.stdout) and len(short.stdout.splitlines()) == 300
    assert fast.stdout == "".join(first_block["docs"].docs.slice(0, 1200).to_pylist()).encode()


def test_documents_nest_every_row_of_their_person(first_block):
    batch, block = first_block["batch"], first_block["docs"]
    docs = [json.loads(d) for d in block.docs.slice(0, 2000).to_pylist()]
    persons = batch["persons"].slice(0, 2000).to_pylist()
    for doc, person in zip(docs, persons):
        assert {k: doc[k] for k in person} == {k: str(v) if hasattr(v, "isoformat") else v for k, v in person.items()}
    for name in ARRAYS:
        owners = pc.value_counts(pc.filter(batch[name]["person_id"], pc.less_equal(batch[name]["person_id"], 2000)))
        counts = {o["values"]: o["counts"] for o in owners.to_pylist()}
        assert [len(d[name]) for d in docs] == [counts.get(i, 0) for i in range(1, 2001)], name
        assert all("person_id" not in row for d in docs for row in d[name])
    scores = {p["person_id"]: p["credit_score"] for p in batch[SINGLE].to_pylist()}
    assert [(d[SINGLE_KEY] or {}).get("credit_score") for d in docs] == [scores.get(i) for i in range(1, 2001)]


def test_noisy_documents_include_duplicates_as_their_own_documents():
    config = build_config({"seed": 4, "noise": {"profile": "heavy"}})
    batch = PersonGenerator(config).batch(10_000, 0, 1)
    block = build_block(0, batch)
    assert len(block) == batch["persons"].num_rows > 10_000
    docs = [json.loads(d) for d in block.docs.to_pylist()]
    assert sum(d["source_person_id"] is not None for d in docs) == len(docs) - 10_000
    for name in ARRAYS:
        assert sum(len(d[name]) for d in docs) == batch[name].num_rows, name
    # The database path gets exactly the rows of the documents it was handed.
    from pii_gen.stream.documents import Chunk

    tail = Chunk(block, 9_990, len(block)).tables()
    ids = set(tail["persons"]["person_id"].to_pylist())
    for name in ARRAYS:
        assert set(tail[name]["person_id"].to_pylist()) <= ids
        assert tail[name].num_rows == sum(len(d[name]) for d in docs[9_990:])


# -- files -------------------------------------------------------------------------------------


def test_file_is_appended_and_rotated(tmp_path):
    target = tmp_path / "people.jsonl"
    for _ in range(2):
        options = build_options(rate=0, count=1500, to=str(target), rotate_size=1_000_000, batch=100, quiet=True)
        result = stream(GenerateConfig(seed=11), options)
        assert (result.sent, result.failed, result.reason) == (1500, 0, "count")
    files = sorted(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert len(files) > 2 and all(p.stat().st_size <= 1_000_000 for p in files)
    lines = [line for p in files for line in p.read_text().splitlines()]
    people = [json.loads(line) for line in lines]
    # Appended: the second run continues after the first one's people (at the next block), never repeating them.
    assert [p["person_id"] for p in people] == [*range(1, 1501), *range(10_001, 11_501)]
    assert len({p["ssn"] for p in people}) == 3000


def test_csv_file_has_one_header_and_distinct_people(tmp_path):
    target = tmp_path / "people.csv"
    for _ in range(2):
        r = run("--rate", "0", "--count", "50", "--format", "csv", "--to", str(target), "--seed", "1", "-q")
        assert r.returncode == 0, r.stderr
    lines = target.read_text().splitlines()
    assert lines[0].startswith('"person_id","ssn"') and len(lines) == 101
    ids = [int(line.split(",")[0]) for line in lines[1:]]
    assert ids == [*range(1, 51), *range(10_001, 10_051)]


def test_file_continues_after_duplicates_and_after_a_rotation(tmp_path):
    target = tmp_path / "people.jsonl"
    # A whole noisy block ends with its duplicate records (ids from 10**14): the next stream still follows
    # the last real person.
    first = stream(build_config({"seed": 2, "noise": {"profile": "heavy"}}),
                   build_options(rate=0, count=10_100, to=str(target), quiet=True))  # fmt: skip
    assert first.reason == "count"
    assert json.loads(target.read_text().splitlines()[-1])["person_id"] > 10**14
    target.rename(tmp_path / "people-20260101T000000.jsonl")  # as a rotation leaves it, the new file not begun
    second = stream(GenerateConfig(seed=2), build_options(rate=0, count=5, to=str(target), quiet=True))
    assert second.sent == 5
    assert [json.loads(line)["person_id"] for line in target.read_text().splitlines()] == list(range(10_001, 10_006))


@pytest.mark.parametrize(("content", "fmt", "message"), [
    (b'{"person_id":1,"ssn":"000-12-3456"}\n', "csv", "looks like JSON Lines"),
    (b'"person_id","ssn"\n1,"000-12-3456"\n', "jsonl", "looks like CSV"),
    (b'{"person_id":1}\n{"some":"other data"}\n', "jsonl", "does not end with a person"),
])  # fmt: skip
def test_file_that_cannot_be_continued_is_refused(tmp_path, capsys, content, fmt, message):
    target = tmp_path / f"people.{fmt}"
    target.write_bytes(content)
    with pytest.raises(SystemExit) as exc:
        main(["stream", "--count", "5", "--format", fmt, "--to", str(target)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("pii_gen: error: ") and err.count("\n") == 1 and message in err
    assert target.read_bytes() == content  # nothing appended


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "-1"], "--rate"),
        (["--duration", "1", "--count", "5"], "exclude each other"),
        (["--to", "ftp://example.test/x"], "unsupported --to scheme 'ftp://'"),
        (["--to", "http://127.0.0.1:1/people"], "cannot reach http://127.0.0.1:1/people"),
        (["--to", "postgresql://bob:s3cret@127.0.0.1:1/test"], "cannot connect to postgresql://bob:***@127.0.0.1:1"),
        (["--format", "csv", "--to", "http://127.0.0.1:1/"], "--format csv is for stdout and files"),
        (["--rotate-size", "lots"], "invalid size"),
        (["--to", "redis://127.0.0.1:1/0"], "cannot reach redis://127.0.0.1:1/0"),
        (["--to", "nats://127.0.0.1:1/people"], "cannot reach nats://127.0.0.1:1/people"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["stream", "--count", "1", *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith("pii_gen: error: ") and message in err and err.count("\n") == 1, err
    assert "s3cret" not in err


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """(url, schema) of an empty place to stream into, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stream.db'}", None
        return
    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema = f"s_{uuid.uuid4().hex[:10]}"
    yield url, schema
    conn = connect(parse(url), schema)
    conn.execute(f"DROP SCHEMA IF EXISTS {conn.dialect.q(schema)} CASCADE")
    conn.commit()
    conn.close()


def _wait_for_people(url: str, schema: str | None, proc: subprocess.Popen, at_least: int = 1,
                     timeout: float = 60) -> None:  # fmt: skip
    """Wait until the stream has committed ``at_least`` people (start-up time varies with the machine's load)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            conn = connect(parse(url), schema)
        except Exception:  # noqa: BLE001 - the SQLite file is not there yet
            continue
        try:
            if conn.table_exists("persons") and conn.execute(
                f"SELECT COUNT(*) FROM {conn.table('persons')}"
            )[0][0] >= at_least:
                return
        finally:
            conn.close()
    if proc.poll() is not None:
        raise AssertionError(f"the stream ended (exit {proc.returncode}) before committing {at_least} people: "
                             f"{proc.stderr.read() if proc.stderr else ''}")
    raise AssertionError("the stream committed no one in time")


def test_database_holds_exactly_what_the_summary_says(database, first_block):
    url, schema = database
    args = ["--rate", "2000", "--seed", "11", "--to", url, *(["--db-schema", schema] if schema else [])]
    proc = start(*args)
    _wait_for_people(url, schema, proc)
    time.sleep(1)  # about two more seconds of people
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    sent, failed = summary(err)
    assert sent > 500 and failed == 0
    batch = first_block["batch"]
    conn = connect(parse(url), schema)
    try:
        assert conn.execute(f"SELECT COUNT(*), MAX(person_id) FROM {conn.table('persons')}")[0] == (sent, sent)
        for name, spec in TABLES.items():
            people = [c for c, parent, _ in spec.foreign_keys if parent == "persons"]
            if not people:
                continue
            # Child rows are in once every person they name is (relationships name two).
            inside = [pc.less_equal(batch[name][c], sent) for c in people]
            want = pc.sum(functools.reduce(pc.and_, inside)).as_py()
            assert conn.execute(f"SELECT COUNT(*) FROM {conn.table(name)}")[0][0] == want, name
    finally:
        conn.close()
    # A second stream continues after the people already there instead of colliding with them.
    where = ["--db-schema", schema] if schema else []
    again = run("--rate", "0", "--count", "20", "--seed", "11", "--to", url, *where)
    assert again.returncode == 0, again.stderr
    conn = connect(parse(url), schema)
    try:
        assert conn.execute(f"SELECT COUNT(*), MIN(person_id) FROM {conn.table('persons')} WHERE person_id > %s",
                            (sent,))[0] == (20, 10_001)  # fmt: skip
    finally:
        conn.close()


def _households_without_all_members(conn) -> int:
    """Households whose committed members (duplicate records left out) are not exactly their size."""
    q = conn.dialect.q
    where = f"WHERE {q('source_person_id')} IS NULL" if "source_person_id" in _columns(conn, "persons") else ""
    return conn.execute(
        f"SELECT COUNT(*) FROM {conn.table('households')} h LEFT JOIN (SELECT {q('household_id')}, COUNT(*) AS n "
        f"FROM {conn.table('persons')} {where} GROUP BY {q('household_id')}) p ON p.{q('household_id')} = "
        f"h.{q('household_id')} WHERE p.n IS NULL OR p.n <> h.{q('size')}"
    )[0][0]


def _columns(conn, table: str) -> list[str]:
    cur = conn.raw.cursor()
    cur.execute(f"SELECT * FROM {conn.table(table)} WHERE 1 = 0")
    names = [d[0] for d in cur.description]
    cur.close()
    return names


def _validate(url: str, schema: str | None) -> subprocess.CompletedProcess:
    where = ["--db-schema", schema] if schema else []
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), "validate", "--db", url, *where, "-q",
                           "--json", "/dev/stdout"], capture_output=True, text=True, timeout=300)  # fmt: skip


def _failures(r: subprocess.CompletedProcess) -> list:
    try:
        return [(c["name"], c["figure"]) for c in json.loads(r.stdout)["checks"] if c["status"] == "fail"]
    except ValueError:
        return [r.stderr]


@pytest.mark.parametrize("noise", ["none", "realistic"])
def test_streamed_database_validates_and_holds_whole_households(database, noise):
    url, schema = database
    where = ["--db-schema", schema] if schema else []
    # --batch 7 commits in the middle of most households unless commits wait for the household's end.
    r = run("--rate", "0", "--count", "12000" if noise != "none" else "3000", "--batch", "7" if noise == "none"
            else "500", "--seed", "3", "--noise", noise, "--to", url, *where)  # fmt: skip
    assert r.returncode == 0, r.stderr
    sent, failed = summary(r.stderr)
    assert failed == 0 and sent >= (3000 if noise == "none" else 12000)
    conn = connect(parse(url), schema)
    try:
        assert _households_without_all_members(conn) == 0
        assert conn.execute(f"SELECT COUNT(*) FROM {conn.table('persons')}")[0][0] >= sent
        runs = conn.execute(f"SELECT person_count, finished_at FROM {conn.table('pii_gen_runs')}")
        logged = conn.execute(f"SELECT SUM(row_count) FROM {conn.table('pii_gen_load_log')} "
                              "WHERE table_name = 'persons'")[0][0]  # fmt: skip
    finally:
        conn.close()
    assert len(runs) == 1 and runs[0][1] is not None and logged >= sent
    checked = _validate(url, schema)
    assert checked.returncode == 0, _failures(checked)


def test_signal_mid_stream_leaves_whole_households(database):
    url, schema = database
    args = ["--rate", "3000", "--batch", "10", "--seed", "8", "--to", url, *(["--db-schema", schema] if schema else [])]
    proc = start(*args)
    _wait_for_people(url, schema, proc, at_least=3000)  # enough people for the statistical checks
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    sent, _ = summary(err)
    conn = connect(parse(url), schema)
    try:
        assert conn.execute(f"SELECT COUNT(*) FROM {conn.table('persons')}")[0][0] == sent > 0
        assert _households_without_all_members(conn) == 0
    finally:
        conn.close()
    checked = _validate(url, schema)
    assert checked.returncode == 0, _failures(checked)


def test_an_unfinished_stream_cannot_be_resumed_as_a_load(tmp_path):
    import sqlite3

    db = tmp_path / "s.db"
    proc = subprocess.Popen(command("--rate", "2000", "--batch", "100", "--to", f"sqlite:///{db}"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    run_id = None
    while time.monotonic() < deadline and run_id is None:
        time.sleep(0.2)
        try:
            with sqlite3.connect(db) as c:
                if c.execute("SELECT COUNT(*) FROM pii_gen_load_log").fetchone()[0]:
                    run_id = c.execute("SELECT run_id FROM pii_gen_runs").fetchone()[0]
        except sqlite3.Error:
            continue
    proc.kill()  # no chance to close the run
    proc.communicate(timeout=30)
    assert run_id is not None
    r = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), "generate", "--db", f"sqlite:///{db}", "--resume",
                        run_id], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "was a stream, which cannot be resumed" in r.stderr, r.stderr


# -- HTTP --------------------------------------------------------------------------------------


class FlakyReceiver(BaseHTTPRequestHandler):
    """Refuses the first two requests (503), and loses the response of the fourth after storing it."""

    protocol_version = "HTTP/1.1"
    requests: list[str] = []
    batches: dict[str, bytes] = {}
    repeats: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the http.server convention
        body = self.rfile.read(int(self.headers["Content-Length"]))
        batch_id = self.headers["Idempotency-Key"]
        with self.lock:
            self.requests.append(batch_id)
            n = len(self.requests)
            if n > 2:
                if batch_id in self.batches:
                    self.repeats.append(batch_id)
                    assert self.batches[batch_id] == body
                self.batches[batch_id] = body
        status = 503 if n <= 2 or n == 4 else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_http_retries_without_losing_or_duplicating_a_batch():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/people"
        r = run("--rate", "3000", "--count", "3000", "--batch", "400", "--seed", "11", "--to", url)
    finally:
        server.shutdown()
    assert r.returncode == 0, r.stderr
    assert summary(r.stderr) == (3000, 0)
    assert len(FlakyReceiver.requests) >= len(FlakyReceiver.batches) + 3
    assert len(FlakyReceiver.repeats) == 1  # the batch whose response was lost came again, unchanged
    ids = [doc["person_id"] for body in FlakyReceiver.batches.values() for doc in json.loads(body)]
    assert sorted(ids) == list(range(1, 3001))


class NotFound(BaseHTTPRequestHandler):
    """Answers 404 to every POST."""

    protocol_version = "HTTP/1.1"
    posts: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server convention
        self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append(self.headers["X-Batch-Id"])
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(("extra", "code"), [([], 2), (["--min-delivered", "0"], 0)])
def test_http_endpoint_refusing_every_batch_ends_non_zero_with_the_status(extra, code):
    NotFound.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/people"
        r = run("--rate", "0", "--count", "4000", "--batch", "400", "--seed", "11", "--to", url, *extra)
    finally:
        server.shutdown()
    err = r.stderr.decode()
    assert r.returncode == code, err
    assert summary(err) == (0, 4000) and "/people; failed 10 batches: HTTP 404 Not Found\n" in err
    assert len(NotFound.posts) == 10  # a 404 is not retried
    assert f"refused batch {NotFound.posts[0]}: HTTP 404 Not Found" in err  # said while it happens
    if code:
        assert err.splitlines()[-1] == (
            f"pii_gen: error: {url} took 0 of 4,000 people (0.0%), less than --min-delivered 100%: "
            "10 batches: HTTP 404 Not Found"
        )
    assert "Traceback" not in err


# -- Redis and NATS ----------------------------------------------------------------------------


def test_redis_stream_receives_every_person(first_block):
    url = server_url("PII_GEN_TEST_REDIS_URL")
    redis = pytest.importorskip("redis")
    key = f"pii_gen:test:{uuid.uuid4().hex[:10]}"
    r = run("--rate", "0", "--count", "2500", "--batch", "500", "--seed", "11", "--to", f"{url}?stream={key}")
    client = redis.Redis.from_url(url)
    try:
        assert r.returncode == 0, r.stderr
        assert summary(r.stderr) == (2500, 0)
        entries = client.xrange(key)
        assert len(entries) == 2500
        expected = first_block["docs"].docs.slice(0, 2500).to_pylist()
        assert [fields[b"doc"].decode() + "\n" for _, fields in entries] == expected
    finally:
        client.delete(key)
        client.close()


@pytest.mark.parametrize("query", ["", "?jetstream=1"])
def test_nats_subject_receives_every_person_once(query):
    url = server_url("PII_GEN_TEST_NATS_URL")
    nats = pytest.importorskip("nats")
    name = f"PIIGEN_{uuid.uuid4().hex[:8].upper()}"
    subject = f"pii_gen.test.{name.lower()}"

    async def manage(create: bool) -> int:
        nc = await nats.connect(url)
        js = nc.jetstream()
        try:
            if create:
                await js.add_stream(name=name, subjects=[subject])
                return 0
            for _ in range(50):  # core publishes are stored by the stream a moment after the flush
                count = (await js.stream_info(name)).state.messages
                if count >= 1500:
                    break
                await asyncio.sleep(0.05)
            await js.delete_stream(name)
            return count
        finally:
            await nc.close()

    asyncio.run(manage(True))
    r = run("--rate", "0", "--count", "1500", "--batch", "500", "--seed", "11", "--to", f"{url}/{subject}{query}")
    stored = asyncio.run(manage(False))
    assert r.returncode == 0, r.stderr
    assert summary(r.stderr) == (1500, 0)
    assert stored == 1500


def test_a_batch_of_chunks_holds_exactly_their_rows_when_some_are_empty():
    """Chunks with no rows of a table (a person without relationships) between others: the database batch
    holds exactly the rows of the chunks, byte for byte in CSV (pyarrow once concatenated such slices into
    foreign bytes, which PostgreSQL's COPY refused as NULs)."""
    from pii_gen.sinks.codecs import CsvCodec
    from pii_gen.stream.destinations.database import batch_of
    from pii_gen.stream.documents import Chunk, build_block

    block = build_block(0, PersonGenerator(GenerateConfig(seed=8)).batch(10_000_000, 0, 1))
    bounds = [(32, 33), (33, 34), (34, 36), (36, 45)]  # the first and third have no relationships rows
    chunks = [Chunk(block, a, b) for a, b in bounds]
    batch = batch_of(chunks, ["persons", "relationships"])
    whole = Chunk(block, 32, 45).tables()
    for name in ("persons", "relationships"):
        assert batch[name].to_pylist() == whole[name].to_pylist(), name
        assert CsvCodec().encode(batch[name]) == CsvCodec().encode(whole[name]), name
    assert [c.tables()["relationships"].num_rows for c in chunks] == [0, 2, 0, 32]
