"""Every registered output keeps one contract, run against the real file, database or server.

Written batches come back exact; what a failure or an abort leaves is what the output's declared
capabilities say: nothing for a folder of files, every whole batch and never part of one for a
transactional database, exactly what was counted as delivered for a stream destination.  A new output
needs its case here (the first test fails until it has one).
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import pytest
from servers import server_url
from test_sinks import read_back

from pii_gen import GenerateConfig, PersonGenerator, build_config
from pii_gen.start import decide_start
from pii_gen.db.loaders import connect
from pii_gen.db.url import parse, scheme_of
from pii_gen.errors import OutputError
from pii_gen.sinks import Staging, file_sink
from pii_gen.sinks.base import Batch, Capabilities, Sink
from pii_gen.sinks.outputs import OUTPUTS
from pii_gen.stream.destinations import Destination, destinations, make_destination
from pii_gen.stream.documents import Chunk, build_block
from pii_gen.stream.options import build_options
from pii_gen.variability import tables_for

CONFIG = GenerateConfig(seed=3, count=20_000, batch_size=10_000, quiet=True)
TABLES = tables_for(CONFIG)
SCHEMAS = {name: t.arrow_schema for name, t in TABLES.items()}

FILE_FORMATS = ["csv", "jsonl", "parquet", "delta"]
DATABASES = ["sqlite", "duckdb", "postgresql", "mariadb"]
STREAMS = ["stdout", "file", "http", "redis", "nats", "database"]


@pytest.fixture(scope="module")
def batches() -> list[Batch]:
    """Two batches of one block each."""
    return list(PersonGenerator(CONFIG).iter_batches(CONFIG.count, CONFIG.batch_size))


def test_every_registered_output_has_a_contract_case():
    OUTPUTS.file_formats()  # import every output module
    OUTPUTS.streams()
    assert sorted(c.name for c in OUTPUTS) == sorted([*FILE_FORMATS, "db", *STREAMS])


# -- files ------------------------------------------------------------------------------------------


def _read_output(fmt: str, out: Path, name: str, schema: pa.Schema) -> pa.Table:
    """Table ``name`` as the output in ``out`` holds it: its file, or a Delta table's current version."""
    if fmt == "delta":
        import deltalake

        return deltalake.DeltaTable(str(out / name)).to_pyarrow_table()
    return read_back(fmt, out / f"{name}.{fmt}", schema)


def _snapshot(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` (Delta tables are folders), by its path inside it."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _data_files(fmt: str, out: Path) -> dict[str, bytes]:
    """The files holding rows: a Delta table's parts in task order (their names carry a run's token)."""
    if fmt != "delta":
        return {p.name: p.read_bytes() for p in out.iterdir() if p.name != "manifest.json"}
    return {f"{t.name}/{i}": p.read_bytes() for t in sorted(out.iterdir()) if t.is_dir()
            for i, p in enumerate(sorted(t.glob("part-*.parquet")))}  # fmt: skip


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_a_file_output_writes_exact_rows_and_an_abort_leaves_the_folder_as_it_was(tmp_path, fmt, batches):
    out = tmp_path / "out"
    staging = Staging(out)
    with file_sink(fmt, staging) as sink:
        sink.open(SCHEMAS)
        for batch in batches:
            sink.write(batch)
    sink.publish()
    staging.commit()
    for name, spec in TABLES.items():
        want = pa.concat_tables([b[name] for b in batches])
        got = _read_output(fmt, out, name, spec.arrow_schema)
        assert got.to_pylist() == want.to_pylist(), name
        assert sink.rows[name] == want.num_rows

    before = _snapshot(out)
    staging = Staging(out)
    sink = file_sink(fmt, staging, if_exists="append")  # a Delta table takes a second run only so
    sink.open(SCHEMAS)
    sink.write(batches[0])
    sink.abort()
    staging.abort()
    assert _snapshot(out) == before
    assert not sink.capabilities.transactional and not sink.capabilities.streaming


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_a_file_output_takes_parallel_part_writes_exactly_when_it_declares_them(tmp_path, fmt, batches):
    def written(through_parts: bool) -> dict[str, bytes]:
        out = tmp_path / f"parts-{through_parts}"
        staging = Staging(out)
        with file_sink(fmt, staging) as sink:
            sink.open(SCHEMAS)
            if through_parts:
                writer = sink.part_writer()
                for task, batch in enumerate(batches):
                    sink.record(writer.write(task, batch))
                writer.close()
            else:
                for batch in batches:
                    sink.write(batch)
        sink.publish()
        staging.commit()
        return _data_files(fmt, out)

    sink = file_sink(fmt, Staging(tmp_path / "probe"))
    if sink.capabilities.parallel_parts:
        assert written(True) == written(False)
    else:
        with pytest.raises(NotImplementedError, match="takes no parallel part writes"):
            sink.part_writer()


# -- databases --------------------------------------------------------------------------------------


@pytest.fixture(params=DATABASES)
def database(request, tmp_path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of an empty place to load into, dropped afterwards."""
    kind = request.param
    if kind in ("sqlite", "duckdb"):
        yield f"{kind}:///{tmp_path / ('t.' + kind)}", None
        return
    url = server_url({"postgresql": "PII_GEN_TEST_POSTGRES_URL", "mariadb": "PII_GEN_TEST_MARIADB_URL"}[kind])
    schema = f"t_{uuid.uuid4().hex[:10]}"
    yield url, schema
    conn = connect(parse(url), schema)
    what = "DATABASE" if conn.dialect.name == "mysql" else "SCHEMA"
    conn.execute(f"DROP {what} IF EXISTS {conn.dialect.q(schema)}{' CASCADE' if what == 'SCHEMA' else ''}")
    conn.commit()
    conn.close()


def _rows(url: str, schema: str | None) -> dict[str, list[int]]:
    """Every table's primary keys, sorted, as the database holds them."""
    conn = connect(parse(url), schema)
    try:
        out = {}
        for name, spec in TABLES.items():
            out[name] = sorted(r[0] for r in conn.execute(f"SELECT {spec.primary_key} FROM {conn.table(name)}"))
        conn.commit()
        return out
    finally:
        conn.close()


def _keys(batches: list[Batch]) -> dict[str, list[int]]:
    return {n: sorted(pa.concat_tables([b[n] for b in batches]).column(t.primary_key).to_pylist())
            for n, t in TABLES.items()}  # fmt: skip


def _database_sink(url: str, schema: str | None, if_exists: str) -> Sink:
    cls = OUTPUTS.by_scheme(scheme_of(url), streaming=False)
    assert cls is not None
    config = build_config(CONFIG.model_dump(), db=url, if_exists=if_exists)
    return cls(parse(url), decide_start(config, parse(url), schema), TABLES, schema)


def test_a_database_writes_exact_rows_and_keeps_whole_batches_only(database, batches):
    url, schema = database
    sink = _database_sink(url, schema, "fail")
    assert sink.capabilities == Capabilities(transactional=True)
    with sink:
        sink.open(SCHEMAS)
        for batch in batches:
            sink.write(batch)
    assert _rows(url, schema) == _keys(batches)

    # A batch that fails halfway (its persons loaded, a table missing), then an abort: the earlier whole
    # batch stays, nothing of the failed one does.
    sink = _database_sink(url, schema, "replace")
    sink.open(SCHEMAS)
    sink.write(batches[0])
    broken = {name: table for name, table in batches[1].items() if name != "employments"}
    with pytest.raises(OutputError, match="loading batch 1 into"):
        sink.write(broken)
    sink.abort()
    assert _rows(url, schema) == _keys(batches[:1])


# -- stream destinations ----------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    """Takes every POST (a JSON array of documents) and keeps its documents."""

    protocol_version = "HTTP/1.1"
    documents: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server convention
        self.documents.extend(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class StreamCase:
    """A destination to stream to and how to read back what arrived there (documents, in order)."""

    to: str
    delivered: Callable[[], list[dict]]
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    out: io.BytesIO | None = None  # stdout's stand-in


def _stream_case(kind: str, tmp_path: Path) -> StreamCase:
    if kind == "stdout":
        out = io.BytesIO()
        return StreamCase("-", lambda: [json.loads(line) for line in out.getvalue().splitlines()], out=out)
    if kind == "file":
        path = tmp_path / "people.jsonl"
        return StreamCase(str(path), lambda: [json.loads(line) for line in path.read_bytes().splitlines()]
                          if path.exists() else [])  # fmt: skip
    if kind == "http":
        _Receiver.documents = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        case = StreamCase(f"http://127.0.0.1:{server.server_address[1]}/people", lambda: list(_Receiver.documents))
        case.cleanup.append(server.shutdown)
        return case
    if kind == "redis":
        redis = pytest.importorskip("redis")
        url = server_url("PII_GEN_TEST_REDIS_URL")
        key = f"pii_gen:test:{uuid.uuid4().hex[:10]}"
        client = redis.Redis.from_url(url)
        case = StreamCase(f"{url}?stream={key}", lambda: [json.loads(f[b"doc"]) for _, f in client.xrange(key)])
        case.cleanup += [lambda: client.delete(key), client.close]
        return case
    if kind == "nats":
        return _nats_case(server_url("PII_GEN_TEST_NATS_URL"))
    path = tmp_path / "stream.db"  # database: every document back from the persons table, in id order
    url = f"sqlite:///{path}"

    def persons() -> list[dict]:
        if not path.exists():
            return []
        conn = connect(parse(url))
        try:
            return [{"person_id": r[0]} for r in conn.execute("SELECT person_id FROM persons ORDER BY person_id")]
        finally:
            conn.close()

    return StreamCase(url, persons)


def _nats_case(url: str) -> StreamCase:
    """A JetStream stream storing the subject, read back in order."""
    nats = pytest.importorskip("nats")
    name = f"PIIGEN_{uuid.uuid4().hex[:8].upper()}"
    subject = f"pii_gen.test.{name.lower()}"

    async def manage(action: str) -> list[dict]:
        nc = await nats.connect(url)
        js = nc.jetstream()
        try:
            if action == "create":
                await js.add_stream(name=name, subjects=[subject])
                return []
            if action == "delete":
                await js.delete_stream(name)
                return []
            count = (await js.stream_info(name)).state.messages
            return [json.loads((await js.get_msg(name, seq)).data) for seq in range(1, count + 1)]
        finally:
            await nc.close()

    asyncio.run(manage("create"))
    case = StreamCase(f"{url}/{subject}?jetstream=1", lambda: asyncio.run(manage("read")))
    case.cleanup.append(lambda: asyncio.run(manage("delete")))
    return case


def _open(case: StreamCase, batch: int) -> Destination:
    dest = make_destination(build_options(to=case.to, rate=0, batch=batch), CONFIG)
    if case.out is not None:
        dest.out = case.out  # type: ignore[attr-defined]
    dest.open()
    return dest


@pytest.fixture(scope="module")
def block() -> object:
    return build_block(0, PersonGenerator(CONFIG).batch(CONFIG.count, 0, 1))


def _ids(docs: list[dict]) -> list[int]:
    return [d["person_id"] for d in docs]


@pytest.mark.parametrize("kind", STREAMS)
def test_a_stream_destination_delivers_exact_documents_and_an_abort_nothing_it_did_not_count(kind, tmp_path, block):
    case = _stream_case(kind, tmp_path)
    try:
        assert {d.name: d for d in destinations()}[kind].capabilities.streaming
        dest = _open(case, batch=300)
        for start in range(0, 1000, 250):  # chunks across batch boundaries
            dest.write(Chunk(block, start, start + 250))
        dest.close()
        every = [json.loads(doc) for doc in block.docs.to_pylist()]
        got = case.delivered()
        assert dest.failed == 0
        if kind == "database":  # rows, not documents; a commit ends on a household boundary, so it may hold more
            assert dest.sent >= 1000 and _ids(got) == _ids(every[: dest.sent])
        else:
            assert dest.sent == 1000 and got == every[:1000]

        dest = _open(case, batch=300)
        start = len(got)
        dest.write(Chunk(block, start, start + 100))  # fewer than a batch: a batching destination holds them
        dest.abort()
        after = case.delivered()
        assert after[: len(got)] == got
        assert _ids(after[len(got) :]) == _ids(every[start : start + dest.sent])
    finally:
        for step in case.cleanup:
            step()
