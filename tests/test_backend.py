"""The backend interface as a job server uses it: ``api.generate`` from a worker thread, cancelled from another
thread with a token (no signal), with the guarantees of Ctrl-C: nothing half-written, a database load resumable."""

from __future__ import annotations

import threading
import uuid

import pytest

from pii_gen import GenerateConfig, PersonGenerator, api
from pii_gen.planning import build_plan
from pii_gen.backends import BlockDone, CancelToken, LocalBackend, Memory
from pii_gen.variability import tables_for


class _Run(threading.Thread):
    """``api.generate(config)`` in a thread; its result or error kept, its events listened to."""

    def __init__(self, config: GenerateConfig, cancel: CancelToken | None = None) -> None:
        super().__init__(daemon=True)
        self.config, self.cancel = config, cancel
        self.events: list[object] = []
        self.first_block = threading.Event()
        self.result: api.RunResult | None = None
        self.error: BaseException | None = None

    def on_event(self, event: object) -> None:
        self.events.append(event)
        if isinstance(event, BlockDone):
            self.first_block.set()

    def run(self) -> None:
        try:
            self.result = api.generate(self.config, cancel=self.cancel, on_event=self.on_event)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread to assert on
            self.error = err
        finally:
            self.first_block.set()

    def finish(self) -> None:
        self.join(timeout=300)
        assert not self.is_alive(), "the run did not end"


def test_a_file_run_in_a_thread_cancelled_from_another_leaves_the_folder_untouched(tmp_path):
    out = tmp_path / "out"
    api.generate(GenerateConfig(count=2_000, seed=9, out=out, workers=1, quiet=True))  # a previous run's files
    (out / "keep.txt").write_text("not pii_gen's")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    token = CancelToken()
    run = _Run(GenerateConfig(count=600_000, out=out, workers=2, batch_size=10_000, quiet=True), token)
    run.start()
    assert run.first_block.wait(timeout=120)
    token.cancel()
    run.finish()
    assert isinstance(run.error, api.Interrupted), run.error
    assert run.error.exit_code == 130 and "nothing was written" in str(run.error)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # every byte as it was
    assert "manifest.json" in before and len(before) > 3
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left beside it
    done = sum(e.people for e in run.events if isinstance(e, BlockDone))
    assert 0 < done < 600_000


def test_a_database_load_in_a_thread_cancelled_from_another_resumes_to_exact_counts():
    from servers import server_url

    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse
    from pii_gen.packs.person.contract import TABLES
    from pii_gen.record import read_runs

    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema, n = f"t_{uuid.uuid4().hex[:10]}", 80_000
    config = GenerateConfig(count=n, seed=5, db=url, db_schema=schema, batch_size=10_000, workers=2, quiet=True)
    watcher = connect(parse(url), schema)
    try:
        token = CancelToken()
        first = _Run(config, token)
        first.start()
        assert first.first_block.wait(timeout=120)
        token.cancel()
        first.finish()
        assert isinstance(first.error, api.Interrupted), first.error
        assert "continue with: " in str(first.error)
        run_id = str(first.error).split("--resume ", 1)[1].split()[0]
        watcher.rollback()
        loaded = watcher.execute(f"SELECT COUNT(DISTINCT batch_number) FROM {watcher.table('pii_gen_load_log')}")
        assert 0 < loaded[0][0] < n // 10_000  # stopped mid-run, after a whole batch
        watcher.rollback()

        second = _Run(config.model_copy(update={"resume": run_id}))
        second.start()
        second.finish()
        assert second.error is None, second.error
        assert second.result is not None and second.result.run_id == run_id

        expected = PersonGenerator(GenerateConfig(seed=5, count=n)).generate(n)
        watcher.rollback()
        for name in TABLES:
            got = watcher.execute(f"SELECT COUNT(*) FROM {watcher.table(name)}")[0][0]
            assert got == expected[name].num_rows, name
        assert watcher.execute(f"SELECT COUNT(DISTINCT person_id) FROM {watcher.table('persons')}")[0][0] == n
        # The same people as one uninterrupted run, each batch logged once, and the one run recorded finished.
        ssns = watcher.execute(f"SELECT ssn FROM {watcher.table('persons')} ORDER BY person_id")
        assert [r[0] for r in ssns] == expected["persons"].column("ssn").to_pylist()
        log = watcher.execute(f"SELECT COUNT(*), COUNT(DISTINCT batch_number) FROM {watcher.table('pii_gen_load_log')}")
        assert tuple(log[0]) == (len(TABLES) * n // 10_000, n // 10_000)
        (record,) = read_runs(watcher.execute, watcher.table)
        assert (record.run_id, record.status, record.batches, record.count) == (run_id, "finished", n // 10_000, n)
    finally:
        watcher.rollback()
        watcher.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        watcher.commit()
        watcher.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_backend_reports_every_block_and_the_memory_it_used(tmp_path, workers):
    events: list[object] = []
    config = GenerateConfig(count=25_000, out=tmp_path / "o", workers=workers, batch_size=10_000, quiet=True)
    result = api.generate(config, on_event=events.append)
    blocks = [e for e in events if isinstance(e, BlockDone)]
    assert [e.people for e in blocks] == [10_000, 10_000, 5_000]
    assert sum(e.rows for e in blocks) == sum(result.rows.values())
    assert all(isinstance(e, Memory) and e.rss > 0 for e in events if not isinstance(e, BlockDone))
    assert max(e.rss for e in events if isinstance(e, Memory)) == result.peak_rss


def test_a_token_cancelled_before_the_run_delivers_nothing():
    from pii_gen.sinks.base import Sink

    class Counting(Sink):
        def open(self, schemas):  # noqa: ANN001
            self.schemas = schemas

        def write(self, batch):  # noqa: ANN001
            raise AssertionError("a cancelled run delivered a batch")

        def close(self) -> None: ...

        def abort(self) -> None: ...

    token = CancelToken()
    token.cancel()
    assert token.cancelled
    plan = build_plan(GenerateConfig(count=50_000, batch_size=10_000, workers=1))
    stats = LocalBackend().run(plan, Counting(), token)
    assert stats.cancelled and stats.people == 0


def test_a_retried_batch_is_reported_as_an_event():
    """A connection killed mid-COPY is retried; the listener hears each retry with its batch and table."""
    import time

    from servers import server_url, terminate_copy

    from pii_gen.backends import Retry
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse
    from pii_gen.packs.person.contract import TABLES

    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema, n = f"t_{uuid.uuid4().hex[:10]}", 80_000
    run = _Run(GenerateConfig(count=n, seed=2, db=url, db_schema=schema, batch_size=10_000, workers=1, quiet=True))
    watcher = connect(parse(url))
    killed = 0
    try:
        run.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.is_alive() and not killed:
            if terminate_copy(watcher, schema):
                killed += 1
            time.sleep(0.05)
        run.finish()
        assert killed, "never caught the loader mid-COPY"
        assert run.error is None, run.error
        assert run.result is not None and run.result.retries >= 1
        retries = [e for e in run.events if isinstance(e, Retry)]
        assert len(retries) == run.result.retries
        assert all(0 <= e.batch < n // 10_000 and e.error for e in retries)
        assert any(e.table in TABLES for e in retries) and all(e.table in (*TABLES, None) for e in retries)
        assert run.result.rows["persons"] == n
    finally:
        watcher.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        watcher.commit()
        watcher.close()


def test_a_cancel_while_a_batch_waits_to_be_retried_leaves_it_to_the_resume():
    """Cancelled during a retry's backoff, the load stops at once without that batch; the resume loads it."""
    import time

    from servers import server_url, terminate_copy

    from pii_gen.backends import Retry
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse
    from pii_gen.packs.person.contract import TABLES

    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema, n = f"t_{uuid.uuid4().hex[:10]}", 60_000
    config = GenerateConfig(count=n, seed=3, db=url, db_schema=schema, batch_size=10_000, workers=1, quiet=True)
    token = CancelToken()

    class CancelOnRetry(_Run):
        def on_event(self, event: object) -> None:
            super().on_event(event)
            if isinstance(event, Retry):
                token.cancel()

    run = CancelOnRetry(config, token)
    watcher = connect(parse(url))
    try:
        run.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.is_alive() and not token.cancelled:
            terminate_copy(watcher, schema)
            time.sleep(0.05)
        run.finish()
        assert token.cancelled, "never caught the loader mid-COPY"
        assert isinstance(run.error, api.Interrupted), run.error
        batch = next(e.batch for e in run.events if isinstance(e, Retry))
        assert f"{batch} batches are loaded" in str(run.error)
        log = watcher.execute(f"SELECT DISTINCT batch_number FROM {schema}.pii_gen_load_log ORDER BY 1")
        watcher.commit()
        assert [r[0] for r in log] == list(range(batch))  # the batch that waited is not in, nor any after it

        run_id = str(run.error).split("--resume ", 1)[1].split()[0]
        again = _Run(config.model_copy(update={"resume": run_id}))
        again.start()
        again.finish()
        assert again.error is None, again.error
        expected = PersonGenerator(GenerateConfig(seed=3, count=n)).generate(n)
        for name in TABLES:
            got = watcher.execute(f"SELECT COUNT(*) FROM {schema}.{name}")[0][0]
            assert got == expected[name].num_rows, name
        watcher.commit()
    finally:
        watcher.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        watcher.commit()
        watcher.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_backend_hands_parallel_part_writes_to_any_output_declaring_them(tmp_path, workers):
    """Not only the file classes: an output declaring ``parallel_parts`` gets its part writer used by the
    workers and every receipt back in task order, and never a batch through ``write``."""
    from pii_gen.sinks import Staging, file_sink
    from pii_gen.sinks.base import Capabilities, Sink

    staging = Staging(tmp_path / "o")
    inner = file_sink("csv", staging)

    class Parts(Sink):
        capabilities = Capabilities(parallel_parts=True)

        def __init__(self) -> None:
            super().__init__()
            self.tasks: list[int] = []

        def open(self, schemas):  # noqa: ANN001
            inner.open(schemas)

        def part_writer(self, ctx=None):  # noqa: ANN001, ANN201
            return inner.part_writer(ctx)

        def record(self, receipt):  # noqa: ANN001
            self.tasks.append(receipt.task)
            inner.record(receipt)

        def write(self, batch):  # noqa: ANN001
            raise AssertionError("a batch went through write() past the declared part writer")

        def close(self) -> None:
            inner.close()

        def abort(self) -> None:
            inner.abort()

    config = GenerateConfig(count=25_000, workers=workers, batch_size=10_000, quiet=True)
    sink = Parts()
    sink.open({name: t.arrow_schema for name, t in tables_for(config).items()})
    stats = LocalBackend().run(build_plan(config), sink, CancelToken())
    sink.close()
    assert sink.tasks == [0, 1, 2] and stats.people == 25_000
    assert inner.rows["persons"] == 25_000
    lines = (staging.path("persons.csv")).read_bytes().count(b"\n")
    assert lines == 25_001  # the header and every person, written by the workers


def test_an_open_ended_plan_delivers_whole_blocks_until_the_output_ends_it():
    """What a stream runs: no count (the config's is ignored), one whole block a batch, in order, until the
    output stops the run by raising."""
    from pii_gen.sinks.base import Sink

    class Enough(Exception):
        pass

    class ThreeBlocks(Sink):
        def __init__(self) -> None:
            super().__init__()
            self.first_ids: list[int] = []
            self.sizes: list[int] = []

        def open(self, schemas):  # noqa: ANN001
            self.schemas = schemas

        def write(self, batch):  # noqa: ANN001
            self.first_ids.append(batch["persons"].column("person_id")[0].as_py())
            self.sizes.append(batch["persons"].num_rows)
            if len(self.sizes) == 3:
                raise Enough

        def close(self) -> None: ...

        def abort(self) -> None: ...

    sink = ThreeBlocks()
    config = GenerateConfig(count=10, batch_size=10_000, workers=1, seed=4)
    with pytest.raises(Enough):
        LocalBackend().run(build_plan(config, open_ended=True), sink, CancelToken())
    assert sink.sizes == [10_000] * 3 and sink.first_ids == [1, 10_001, 20_001]
