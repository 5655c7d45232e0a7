"""PerformanceOptimizer: fans blocks of people over processes and feeds a sink in order.

Workers are handed ranges of block numbers, never random state: each block's
streams derive from (seed, block), so the output is the same for any worker
count.  For CSV and JSON Lines the workers also encode their batch and write it
straight into the output files at offsets claimed in task order, so no data
passes through the parent.  At most a small window of batches is in flight, and the window
shrinks when the processes together use more memory than allowed, so memory
does not grow with the number of people.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
from collections import deque
from typing import Any, Callable, Iterator, Union

import psutil
import pyarrow as pa

from .config import GenerateConfig
from .person import BLOCK_SIZE, PersonGenerator, blocks_for, blocks_per_batch
from .sinks.base import Batch, Sink
from .sinks.direct import PartWriter, Receipt
from .sinks.files import FileSink

Task = tuple[int, int, int]  # (task number, first block, stop block)
Result = Union[Receipt, Batch]

MEMORY_LIMIT = 1_400 * 1024 * 1024  # bytes, all processes together

_worker_state: dict[str, Any] = {}


def _init_worker(config_json: str, writer: PartWriter | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    _worker_state["generator"] = PersonGenerator(GenerateConfig.model_validate_json(config_json))
    _worker_state["writer"] = writer
    release_memory()


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def release_memory() -> None:
    """Hand memory freed after loading back to the system, so idle workers stay small, then keep
    what batches use: every batch needs the same arrays again, and handing them back and forth
    to the kernel costs more system time than generating them."""
    pa.default_memory_pool().release_unused()
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
        libc.mallopt(M_MMAP_THRESHOLD, 256 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 512 << 20)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """Environment the workers start with: Arrow's allocator keeps freed pages for the next batch."""
    saved = os.environ.get("MIMALLOC_PURGE_DELAY")
    os.environ["MIMALLOC_PURGE_DELAY"] = "-1" if saved is None else saved
    try:
        yield
    finally:
        if saved is None:
            del os.environ["MIMALLOC_PURGE_DELAY"]


def _run_task(task: Task) -> Result:
    return _produce(_worker_state["generator"], task, _worker_state["writer"])


def _produce(gen: PersonGenerator, task: Task, writer: PartWriter | None) -> Result:
    """Generate a task's blocks; write them directly when there is a writer, else return them."""
    number, start, stop = task
    batch = gen.batch(gen.config.count, start, stop)
    return batch if writer is None else writer.write(number, batch)


def _rss_all() -> int:
    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


class PerformanceOptimizer:
    """Runs a generation plan across worker processes with bounded memory."""

    def __init__(self, config: GenerateConfig, memory_limit: int = MEMORY_LIMIT, first_task: int = 0) -> None:
        self.config = config
        self.memory_limit = memory_limit
        per = blocks_per_batch(config.batch_size)
        total = blocks_for(config.count)
        tasks = [(i, b, min(b + per, total)) for i, b in enumerate(range(0, total, per))]
        self.tasks: list[Task] = tasks[first_task:]
        self.interrupted = False
        self.workers = max(1, min(config.resolved_workers(), len(self.tasks)))
        self.peak_rss = 0
        self.people = 0  # people delivered so far

    def run(self, sink: Sink, progress: Callable[[int], None] | None = None, graceful: bool = False) -> None:
        """Generate every block and deliver it to ``sink`` in block order.

        With ``graceful``, Ctrl-C lets the batch being delivered finish, then stops
        with ``self.interrupted`` set (a database load can then be resumed);
        otherwise Ctrl-C raises at once and the sink discards everything.
        """
        previous = signal.getsignal(signal.SIGINT)
        if graceful:
            signal.signal(signal.SIGINT, self._request_stop)
        try:
            self._run(sink, progress)
        finally:
            if graceful:
                signal.signal(signal.SIGINT, previous)

    def _request_stop(self, signum: int, frame: object) -> None:
        self.interrupted = True

    def _run(self, sink: Sink, progress: Callable[[int], None] | None) -> None:
        parallel = self.workers > 1
        ctx = mp.get_context("spawn") if parallel else None  # fork would copy Arrow's threads mid-state
        writer = sink.part_writer(ctx) if isinstance(sink, FileSink) else None
        if not parallel:
            gen = PersonGenerator(self.config)
            for task in self.tasks:
                self._deliver(sink, _produce(gen, task, writer), task, progress)
                if self.interrupted:
                    break
            if writer is not None:
                writer.close()
            return
        if writer is None:
            release_memory()  # the parent receives every batch: keep its allocator pages between batches
        with _worker_environment():
            pool = ctx.Pool(self.workers, initializer=_init_worker, initargs=(self.config.model_dump_json(), writer))
        try:
            pending: deque = deque()  # (task, result)
            todo = iter(self.tasks)
            window = 2 * self.workers if writer is not None else self.workers + 1  # batches in flight
            exhausted = False
            while True:
                while (
                    not exhausted
                    and not self.interrupted
                    and len(pending) < window
                    and (not pending or _rss_all() < self.memory_limit)
                ):
                    task = next(todo, None)
                    if task is None:
                        exhausted = True
                        break
                    pending.append((task, pool.apply_async(_run_task, (task,))))
                if not pending or self.interrupted:
                    break
                task, result = pending.popleft()
                self._deliver(sink, result.get(), task, progress)
            if self.interrupted:
                pool.terminate()
            else:
                pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()

    def _deliver(self, sink: Sink, result: Result, task: Task, progress: Callable[[int], None] | None) -> None:
        if isinstance(result, Receipt):
            sink.record(result)  # type: ignore[attr-defined]
        else:
            sink.write(result)
        # People generated, not person records: noise can add duplicate records.
        _, start, stop = task
        people = min(stop * BLOCK_SIZE, self.config.count) - start * BLOCK_SIZE
        self.people += people
        self.peak_rss = max(self.peak_rss, _rss_all())
        if progress is not None:
            progress(people)
