"""The stream: the local backend runs an open-ended plan into :class:`StreamOutput`, which takes due
documents from each block, hands them to the destination and sleeps to the next tick.

Writes are synchronous and the next block is generated only when one is used up, so a destination slower
than the rate makes the stream fall behind (the lag, shown on stderr) instead of buffering:
memory stays flat however long it runs.  Once the destination keeps up again the stream
catches up, as fast as the destination takes it, so the total stays exact.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import signal
import sys
import threading
from dataclasses import dataclass, field

import pyarrow as pa

from ..backends.base import CancelToken
from ..backends.local import LocalBackend
from ..config import GenerateConfig, build_config
from ..errors import OutputError
from ..packs.person.contract import BLOCK_SIZE
from ..planning import build_plan
from ..sinks.base import Batch, Capabilities, Sink
from .destinations import DeliveryError, Destination, StreamClosed, make_destination
from .documents import Chunk, DocumentBlock, build_block
from .options import StreamOptions
from .pacing import Pacer, Progress

SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


@dataclass
class StreamResult:
    """What a stream did: people handed over, delivered and given up on, for how long, and why it stopped."""

    emitted: int
    sent: int
    failed: int
    seconds: float
    reason: str  # "count", "duration", "signal", "closed" (broken pipe) or "error"
    signal: int | None = None
    destination: str = ""
    error: str = ""
    failures: dict[str, int] = field(default_factory=dict)  # batches given up on, by reason

    @staticmethod
    def reasons(failures: dict[str, int]) -> str:
        """``10 batches: HTTP 404 Not Found; 1 batch: ...``, most frequent first."""
        ranked = sorted(failures.items(), key=lambda kv: -kv[1])
        return "; ".join(f"{n:,} batch{'es' if n != 1 else ''}: {why}" for why, n in ranked)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.reason == "signal":  # a cancel without a signal counts as SIGINT's, as in generate
            return 128 + (self.signal or signal.SIGINT)
        return 2 if self.reason == "error" or self.error else 0

    def summary(self) -> str:
        why = {
            "count": "done",
            "duration": "done",
            "signal": f"stopped by {SIGNAL_NAMES.get(self.signal or 0, 'a cancel')}",
            "closed": "reader went away",
            "error": "stopped by an error",
        }[self.reason]
        failures = f"; failed {self.reasons(self.failures)}" if self.failures else ""
        return (
            f"pii_gen: stream {why}: sent {self.sent:,}, failed {self.failed:,}, elapsed {self.seconds:.2f} s, "
            f"achieved rate {self.rate:,.1f}/s, to {self.destination}{failures}"
        )


def stream(
    config: GenerateConfig,
    options: StreamOptions,
    destination: Destination | None = None,
    cancel: CancelToken | None = None,
) -> StreamResult:
    """Stream people of ``config`` to ``options.to`` at ``options.rate`` until the count, the duration or
    ``cancel`` (the command line turns SIGINT and SIGTERM into it; the stream installs no signal handler,
    so it runs from any thread).

    Errors before the first person (bad options, an unreachable destination) raise; errors later
    stop the stream and come back in the result (``reason="error"``) with what was sent by then.
    """
    dest = destination or make_destination(options, config)
    cancel = cancel or CancelToken()
    dest.open()
    if dest.first_person_id is not None:  # continue after the people already there
        config = build_config(config.model_dump(), first_person_id=dest.first_person_id)
    # A block a batch, generated in this process: a stream needs its first people at once, and worker
    # processes would start slower than it sends (generation is far faster than any useful rate).
    plan = build_plan(build_config(config.model_dump(), batch_size=BLOCK_SIZE, workers=1), open_ended=True)
    output = StreamOutput(dest, options, cancel)
    reason, error = "", ""
    try:
        try:
            LocalBackend().run(plan, output, cancel)
        except _Ended:
            pass
        reason = output.reason or "signal"  # an open-ended run returns only when cancelled
        dest.close()
    except StreamClosed:
        reason = "closed"
        dest.abort()
    except (DeliveryError, OutputError) as err:
        reason, error = "error", str(err)
        _close_after_error(dest)
    finally:
        output.finish()
    elapsed = output.pacer.elapsed()
    if reason == "duration":
        elapsed = min(elapsed, options.duration or elapsed)
    failed = dest.failed + _lost(dest)
    delivered = dest.sent / (dest.sent + failed) if dest.sent + failed else 1.0
    if not error and reason != "signal" and failed and delivered < options.min_delivered:
        error = (
            f"{dest.label} took {dest.sent:,} of {dest.sent + failed:,} people ({delivered:.1%}), less than "
            f"--min-delivered {options.min_delivered:.0%}: {StreamResult.reasons(dest.failures)}"
        )
    caught = cancel.signum if reason == "signal" else None
    failures = dict(dest.failures)
    return StreamResult(output.state.emitted, dest.sent, failed, elapsed, reason, caught, dest.label, error, failures)


class _Ended(Exception):
    """The stream reached its count or duration: raised out of the backend to end the open-ended run there."""


class StreamOutput(Sink):
    """The stream as the backend's output: each block it is given becomes documents, handed to the
    destination at the stream's pace (:class:`Pacer`), until the count or the duration ends the run
    (:class:`_Ended`) or ``cancel`` is set (it returns, and the backend stops at once)."""

    capabilities = Capabilities(streaming=True)

    def __init__(self, dest: Destination, options: StreamOptions, cancel: CancelToken) -> None:
        super().__init__()
        self.dest, self.options, self.cancel = dest, options, cancel
        self.pacer = Pacer(options.rate)
        stdout_dest = options.to in ("", "-")
        live = sys.stderr.isatty() and not (stdout_dest and sys.stdout.isatty())
        self.progress = Progress(options.rate, live, options.quiet)
        self.state = _State()
        self.reason = ""  # why the stream ended, once it has
        self.blocks = 0
        self._seen_failed = 0
        self._monitor: _Monitor | None = None
        self._encoder = cf.ThreadPoolExecutor(1, thread_name_prefix="pii_gen-encode")
        self._encoding: cf.Future[DocumentBlock] | None = None

    def open(self, schemas: dict[str, pa.Schema]) -> None:
        """The destination is opened before the plan is made (it may decide the first person_id)."""
        self.schemas = schemas

    def write(self, batch: Batch) -> None:
        # Documents are encoded a block ahead, in a thread, while the block before is handed over: the
        # stream never waits on encoding at a block boundary (an open-ended run always has a next block).
        encoding = self._encoder.submit(build_block, self.blocks, batch)
        self.blocks += 1
        previous, self._encoding = self._encoding, encoding
        if previous is None:
            return
        block = previous.result()
        if self._monitor is None:  # the first block is here: the clock starts now, so start-up is no lag
            self.pacer.restart()
            self._monitor = _Monitor(self.pacer, self.options, self.progress, self.state)
        self._pace(block)

    def _pace(self, block: DocumentBlock) -> None:
        """Hand the block's documents over as they fall due; return when the next block is needed."""
        options, dest, pacer, state = self.options, self.dest, self.pacer, self.state
        pos = 0
        while not self.cancel.cancelled:
            elapsed = pacer.elapsed()
            final = options.duration is not None and elapsed >= options.duration
            due = pacer.due(options.duration if final else elapsed)
            if options.count is not None:
                due = min(due, options.count)
            if final and due == math.inf:  # unpaced with a duration: time is up
                self._end("duration")
            todo = due - state.emitted
            if todo > 0:
                if pos >= len(block):
                    return
                chunk = Chunk(block, pos, min(len(block), pos + int(min(todo, options.batch))))
                pos = chunk.stop
                dest.write(chunk)
                state.emitted += len(chunk)
                self._report_failures()
                continue
            if final:
                self._end("duration")
            if options.count is not None and state.emitted >= options.count:
                self._end("count")
            dest.poll()
            self._report_failures()
            pacer.sleep()
        self.reason = "signal"

    def _end(self, reason: str) -> None:
        self.reason = reason
        raise _Ended(reason)

    def _report_failures(self) -> None:
        """A batch was refused and the stream goes on: say so."""
        if self.dest.failed != self._seen_failed:
            self._seen_failed = self.dest.failed
            self.progress.failure(self.pacer.elapsed(), self.dest.last_failure, self.dest.failed)

    def close(self) -> None:
        self.dest.close()

    def abort(self) -> None:
        self.dest.abort()

    def finish(self) -> None:
        """Stop showing progress and encoding ahead."""
        self._encoder.shutdown(wait=False, cancel_futures=True)
        if self._monitor is not None:
            self._monitor.stop()
        self.progress.finish()


@dataclass
class _State:
    emitted: int = 0  # people handed to the destination; written by the loop, read by the monitor


class _Monitor(threading.Thread):
    """Shows progress and lag twice a second from its own thread, so a destination that blocks a write
    (a full pipe, a stuck server) still shows how far behind the stream is."""

    def __init__(self, pacer: Pacer, options: StreamOptions, progress: Progress, state: _State) -> None:
        super().__init__(name="pii_gen-stream-progress", daemon=True)
        self.pacer, self.options, self.progress, self.state = pacer, options, progress, state
        self.behind_limit = max(options.batch, options.rate)  # more than a second (or a batch) late
        self._stop_event = threading.Event()
        if not progress.quiet:
            self.start()

    def run(self) -> None:
        while not self._stop_event.wait(0.5):
            elapsed = self.pacer.elapsed()
            if self.options.duration is not None:
                elapsed = min(elapsed, self.options.duration)
            due = self.pacer.due(elapsed)
            if self.options.count is not None:
                due = min(due, self.options.count)
            lag = due - self.state.emitted if self.options.rate > 0 else 0
            self.progress.update(elapsed, self.state.emitted, max(lag, 0), self.behind_limit)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=2)


def _close_after_error(dest: Destination) -> None:
    """Try to deliver what is still held; a second failure just releases the connection."""
    try:
        dest.close()
    except Exception:  # noqa: BLE001 - already failing: the first error is the one reported
        dest.abort()


def _lost(dest: Destination) -> int:
    """People still held by the destination after an abort: never delivered, so failed."""
    return dest.pending
