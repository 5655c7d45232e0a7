"""PerformanceOptimizer: fans blocks of people over processes and feeds a sink in order.

Workers are handed ranges of block numbers, never random state: each block's
streams derive from (seed, block), so the output is the same for any worker
count.  Workers also encode their batch (CSV, JSON Lines) so the parent only
appends bytes.  At most a small window of batches is in flight, and the window
shrinks when the processes together use more memory than allowed, so memory
does not grow with the number of people.
"""
from __future__ import annotations

import multiprocessing as mp
from collections import deque
from typing import Callable

import psutil

from .config import GenerateConfig
from .person import PersonGenerator, blocks_for, blocks_per_batch, concat_batches
from .sinks.base import Batch, Codec, EncodedBatch, Sink

Task = tuple[int, int]  # [first block, stop block)
Result = tuple[Batch | EncodedBatch, dict[str, int], int]

MEMORY_LIMIT = 1_200 * 1024 * 1024  # bytes, all processes together

_worker_state: dict[str, object] = {}


def _init_worker(config_json: str, codec: Codec | None) -> None:
    _worker_state["generator"] = PersonGenerator(GenerateConfig.model_validate_json(config_json))
    _worker_state["codec"] = codec


def _run_task(task: Task) -> Result:
    return _produce(_worker_state["generator"], task, _worker_state["codec"])  # type: ignore[arg-type]


def _produce(gen: PersonGenerator, task: Task, codec: Codec | None) -> Result:
    batch = concat_batches(list(gen.blocks(gen.config.count, *task)))
    rows = {name: t.num_rows for name, t in batch.items()}
    people = rows["persons"]
    if codec is None:
        return batch, rows, people
    return {name: codec.encode(t) for name, t in batch.items()}, rows, people


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

    def __init__(self, config: GenerateConfig, memory_limit: int = MEMORY_LIMIT) -> None:
        self.config = config
        self.memory_limit = memory_limit
        per = blocks_per_batch(config.batch_size)
        total = blocks_for(config.count)
        self.tasks: list[Task] = [(b, min(b + per, total)) for b in range(0, total, per)]
        self.workers = max(1, min(config.resolved_workers(), len(self.tasks)))
        self.peak_rss = 0

    def run(self, sink: Sink, progress: Callable[[int], None] | None = None) -> None:
        """Generate every block and write the batches to ``sink`` in block order."""
        codec = getattr(sink, "codec", None)
        if self.workers == 1:
            gen = PersonGenerator(self.config)
            for task in self.tasks:
                self._deliver(sink, _produce(gen, task, codec), progress)
            return
        ctx = mp.get_context("spawn")  # fork would copy Arrow's thread pools in an unknown state
        pool = ctx.Pool(self.workers, initializer=_init_worker, initargs=(self.config.model_dump_json(), codec))
        try:
            pending: deque = deque()
            todo = iter(self.tasks)
            window = 2 * self.workers
            exhausted = False
            while True:
                while not exhausted and len(pending) < window and (not pending or _rss_all() < self.memory_limit):
                    task = next(todo, None)
                    if task is None:
                        exhausted = True
                        break
                    pending.append(pool.apply_async(_run_task, (task,)))
                if not pending:
                    break
                self._deliver(sink, pending.popleft().get(), progress)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()

    def _deliver(self, sink: Sink, result: Result, progress: Callable[[int], None] | None) -> None:
        batch, rows, people = result
        sink.write(batch, rows)
        self.peak_rss = max(self.peak_rss, _rss_all())
        if progress is not None:
            progress(people)
