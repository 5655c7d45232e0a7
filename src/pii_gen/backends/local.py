"""The local backend: fans blocks of people over processes and feeds a sink in order.

Each worker rebuilds the run plan from its JSON and its runtime from the plan; it is then handed
ranges of block numbers, never random state: each block's
streams derive from (seed, block), so the output is the same for any worker
count.  For an output declaring parallel part writes (CSV, JSON Lines) the workers also encode their batch and write it
straight into the output files at offsets claimed in task order, so no data
passes through the parent.  At most a small window of batches is in flight, and the window
shrinks when the processes together use more memory than allowed, so memory
does not grow with the number of people.

Workers are spawned processes of a :class:`concurrent.futures.ProcessPoolExecutor`:
a worker that dies breaks the pool and fails the run (``multiprocessing.Pool``
would respawn it forever).  They start without the parent's ``__main__`` (so a
plain script, stdin or a notebook needs no ``if __name__ == "__main__"`` guard)
and with SIGINT blocked until they ignore it: Ctrl-C is the parent's to handle.  The parent
installs no signal handler either: a :class:`CancelToken` stops the run, and the caller decides
what sets it (the command line turns SIGINT and SIGTERM into it).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import itertools
import multiprocessing as mp
import multiprocessing.context as mp_context
import os
import signal
import sys
import threading
import types
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from typing import Any, Iterable, Iterator, Union

import psutil
import pyarrow as pa

from ..core.plan import RunPlan
from ..core.runtime import Runtime
from ..errors import PiiGenError
from ..planning import runtime
from ..sinks.base import Batch, Sink
from ..sinks.direct import PartWriter, Receipt
from .base import BlockDone, CancelToken, Memory, OnEvent, RunStats

Task = tuple[int, int, int]  # (task number, first block, stop block)
Result = Union[Receipt, Batch]

MEMORY_LIMIT = 1_400 * 1024 * 1024  # bytes, all processes together
POLL_SECONDS = 0.1  # how often the parent looks for a stop request while it waits for a worker

_worker_state: dict[str, Any] = {}


class WorkerDied(PiiGenError):
    """A worker process ended without finishing its work (killed, out of memory, crashed)."""


PR_SET_PDEATHSIG = 1  # prctl option (Linux)


def _die_with_parent() -> None:
    """End this worker when the parent dies, even by SIGKILL: a worker holds both ends of the pool's
    pipes, so it would never see them close and would run on, and wait, forever."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    except (OSError, AttributeError):  # not Linux with glibc
        return
    parent = mp.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the line above
        os._exit(1)


def _init_worker(plan_json: str, writer: PartWriter | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since the spawn: see _spawning
    _die_with_parent()
    _worker_state["generator"] = runtime(RunPlan.from_json(plan_json))
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


_spawn_lock = threading.Lock()


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """What a worker is started with: no ``__main__`` of the parent's to re-run, SIGINT blocked (the mask
    survives ``exec``, so a Ctrl-C while the worker still imports is held, then dropped once it ignores
    SIGINT), and Arrow's allocator keeping freed pages for the next batch."""
    # Its start unblocks SIGINT in this thread (and so in a worker started with it): have it running first.
    resource_tracker.ensure_running()
    with _spawn_lock:  # sys.modules and the environment are the whole process's
        main = sys.modules.get("__main__")
        # multiprocessing.spawn re-runs the parent's main module (its __spec__ or __file__) in
        # each child: a script without a __main__ guard would start generating again, and
        # '<stdin>' cannot be re-read at all.  Workers run only pii_gen's code, so they need none.
        sys.modules["__main__"] = types.ModuleType("__main__")
        purge = os.environ.get("MIMALLOC_PURGE_DELAY")
        os.environ["MIMALLOC_PURGE_DELAY"] = "-1" if purge is None else purge
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            if purge is None:
                del os.environ["MIMALLOC_PURGE_DELAY"]
            if main is not None:
                sys.modules["__main__"] = main


class _WorkerProcess(mp_context.SpawnProcess):
    """A spawned process started the way :func:`_spawning` describes."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        with _spawning():
            return mp_context.SpawnProcess._Popen(process_obj)


class _WorkerContext(mp_context.SpawnContext):
    """The spawn start method (fork would copy Arrow's threads mid-state), with :class:`_WorkerProcess`."""

    Process = _WorkerProcess


def _run_task(task: Task) -> Result:
    return _produce(_worker_state["generator"], task, _worker_state["writer"])


def _produce(gen: Runtime, task: Task, writer: PartWriter | None) -> Result:
    """Generate a task's blocks; write them directly when there is a writer, else return them."""
    number, start, stop = task
    batch = gen.batch(gen.plan.population(stop), start, stop)
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


def _kill(processes: list[Any]) -> None:
    """End the workers at once: waiting for batches nobody will take only delays the stop."""
    for process in processes:
        if process.is_alive():
            process.kill()


def _how_it_died(processes: list[Any]) -> str:
    """The end of the first worker that did not end the ordinary way, for the error message."""
    ended = [p for p in processes if p.exitcode not in (None, 0)]
    # The pool stops the other workers with SIGTERM once one has died: name the one that died first.
    first = next((p for p in ended if p.exitcode != -signal.SIGTERM), ended[0] if ended else None)
    if first is None:
        return "ended"
    if first.exitcode < 0:
        return f"(pid {first.pid}) was killed by {signal.Signals(-first.exitcode).name}"
    return f"(pid {first.pid}) exited with status {first.exitcode}"


class PerformanceOptimizer:
    """Runs a generation plan across worker processes with bounded memory.

    Tasks are planned lazily from the count: nothing is held per task, whatever the count.  An
    ``open_ended`` run has no count: its tasks go on until the output stops it (a stream).
    """

    def __init__(self, plan: RunPlan, memory_limit: int = MEMORY_LIMIT, blocks_per_task: int | None = None) -> None:
        self.plan = plan
        self.memory_limit = memory_limit
        self.per = blocks_per_task or plan.blocks_per_batch
        if blocks_per_task and plan.first_task:
            raise PiiGenError("a run resumed part way cannot go to an output with tasks of its own size")
        self.total_blocks = plan.blocks
        self.first_task = plan.first_task
        self.open_ended = plan.open_ended
        self.task_count = None if plan.open_ended else max(0, -(-self.total_blocks // self.per) - plan.first_task)
        self.interrupted = False
        cores = plan.workers or (os.cpu_count() or 1)
        self.workers = max(1, min(cores, self.task_count or cores))
        self.peak_rss = 0
        self.people = 0  # people delivered so far

    def tasks(self) -> Iterator[Task]:
        """The run's tasks, (number, first block, stop block), from ``first_task`` on."""
        if self.task_count is None:
            numbers: Iterable[int] = itertools.count(self.first_task)
        else:
            numbers = range(self.first_task, self.first_task + self.task_count)
        for number in numbers:
            start = number * self.per
            yield number, start, start + self.per if self.open_ended else min(start + self.per, self.total_blocks)

    def run(self, sink: Sink, cancel: CancelToken, on_event: OnEvent | None = None) -> None:
        """Generate every block and deliver it to ``sink`` in block order, until done or ``cancel``.

        A cancel stops the run within a fraction of a second, workers and all: the batch being
        delivered is finished first and the run returns with ``self.interrupted`` set.
        """
        parallel = self.workers > 1
        ctx = _WorkerContext() if parallel else None
        writer = sink.part_writer(ctx) if sink.capabilities.parallel_parts else None
        if not parallel:
            gen = runtime(self.plan)
            try:
                for task, result in self._serial(gen, writer, cancel):
                    self._deliver(sink, result, task, on_event)
            finally:
                if writer is not None:
                    writer.close()
            return
        if writer is None:
            release_memory()  # the parent receives every batch: keep its allocator pages between batches
        pool = cf.ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker, initargs=(self.plan.to_json(), writer)
        )
        processes: list[Any] = []
        try:
            self._feed(pool, processes, sink, writer is not None, cancel, on_event)
        except BrokenProcessPool:
            pool.shutdown(wait=True, cancel_futures=True)  # every worker reaped: their exit codes are known
            if not self._stopping(cancel):  # not a signal to the whole group, which ends workers too
                raise WorkerDied(
                    f"a worker process {_how_it_died(processes)} before finishing its batch; "
                    "the run is stopped and its output discarded"
                ) from None
        except BaseException:
            _kill(processes)
            raise
        finally:
            if cancel.cancelled:
                _kill(processes)
            pool.shutdown(wait=True, cancel_futures=True)

    def _serial(self, gen: Runtime, writer: PartWriter | None, cancel: CancelToken) -> Iterator[tuple[Task, Result]]:
        """The tasks' results, made in this process, until done or cancelled.

        An open-ended run (a stream paces its output) has its next batch made in a thread while the current
        one is delivered, so delivery never stalls on generation at a block boundary; at most one batch is
        made ahead.  A run with a count makes each batch when it is due (memory stays one batch).
        """
        tasks = self.tasks()
        if not self.open_ended:
            for task in tasks:
                if self._stopping(cancel):
                    return
                yield task, _produce(gen, task, writer)
            return
        ahead = cf.ThreadPoolExecutor(1, thread_name_prefix="pii_gen-ahead")
        try:
            task = next(tasks)
            future = ahead.submit(_produce, gen, task, writer)
            while not self._stopping(cancel):
                result = future.result()
                following = next(tasks)
                future = ahead.submit(_produce, gen, following, writer)
                yield task, result
                task = following
        finally:
            ahead.shutdown(wait=False, cancel_futures=True)  # a batch being made ahead is dropped

    def _stopping(self, cancel: CancelToken) -> bool:
        if cancel.cancelled:
            self.interrupted = True
        return self.interrupted

    def _feed(
        self,
        pool: cf.ProcessPoolExecutor,
        processes: list[Any],
        sink: Sink,
        direct: bool,
        cancel: CancelToken,
        on_event: OnEvent | None,
    ) -> None:
        """Keep a window of tasks in flight and deliver their results in task order until done or cancelled."""
        pending: deque = deque()  # (task, future)
        todo = self.tasks()
        window = 2 * self.workers if direct else self.workers + 1  # batches in flight
        exhausted = False
        while not self._stopping(cancel):
            while not exhausted and len(pending) < window and (not pending or _rss_all() < self.memory_limit):
                task = next(todo, None)
                if task is None:
                    exhausted = True
                    break
                pending.append((task, pool.submit(_run_task, task)))
                if len(processes) < self.workers:  # workers start on demand, with the first tasks
                    processes[:] = pool._processes.values()  # type: ignore[attr-defined]
            if not pending:
                break
            task, future = pending[0]
            try:
                result = future.result(timeout=POLL_SECONDS)
            except cf.TimeoutError:
                continue
            pending.popleft()
            self._deliver(sink, result, task, on_event)

    def _deliver(self, sink: Sink, result: Result, task: Task, on_event: OnEvent | None) -> None:
        if isinstance(result, Receipt):
            sink.record(result)
            tables = dict(result.rows)
        else:
            sink.write(result)
            tables = {name: table.num_rows for name, table in result.items()}
        rows = sum(tables.values())
        # People generated, not person records: noise can add duplicate records.
        _, start, stop = task
        block = self.plan.keys.block_size
        people = min(stop * block, self.plan.population(stop)) - start * block
        self.people += people
        rss = _rss_all()
        self.peak_rss = max(self.peak_rss, rss)
        if on_event is not None:
            on_event(BlockDone(people, rows, tables))
            on_event(Memory(rss))


class LocalBackend:
    """The :class:`Backend` of this machine: a pool of worker processes (see the module's docstring)."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT) -> None:
        self.memory_limit = memory_limit

    def run(self, plan: RunPlan, output: Sink, cancel: CancelToken, on_event: OnEvent | None = None) -> RunStats:
        optimizer = PerformanceOptimizer(plan, self.memory_limit, output.capabilities.blocks_per_task)
        optimizer.run(output, cancel, on_event)
        return RunStats(optimizer.people, optimizer.workers, optimizer.peak_rss, optimizer.interrupted)
