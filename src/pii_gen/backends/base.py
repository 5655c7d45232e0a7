"""What every backend shares: the plan it runs (a :class:`~pii_gen.core.plan.RunPlan`), the token that cancels
it, and the events it reports.

A backend generates a plan's blocks and delivers them to an output in block order.  It installs no
signal handler: whoever starts it (the command line, a job server, a notebook) cancels it through a
:class:`CancelToken`, from any thread.  It reports progress as small frozen events to one ``on_event``
callable, so a progress bar, a job server and a Spark driver can all listen to the same thing.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol, Union

from ..core.plan import RunPlan
from ..errors import PiiGenError
from ..sinks.base import Sink


class Interrupted(PiiGenError):
    """A cancel (Ctrl-C, SIGTERM, or a token cancelled by the caller) stopped the run; the exit status is
    128 + the signal number (SIGINT's when no signal was involved)."""

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class CancelToken:
    """A request to stop a run, settable once from any thread (or a signal handler) and read by the backend
    and the outputs between batches.  ``signum`` is the signal that asked, if one did (for the exit status)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    def cancel(self, signum: int | None = None) -> None:
        """Ask the run to stop; only the first request counts."""
        if not self._event.is_set():
            self.signum = signum
            self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking as soon as the run is cancelled; True when it is."""
        return self._event.wait(timeout)

    def error(self, what: str = "nothing was written") -> Interrupted:
        """The error a run cancelled by this token ends with."""
        if self.signum is None:
            return Interrupted(f"interrupted; {what}")
        return Interrupted(f"interrupted by {signal.Signals(self.signum).name}; {what}", self.signum)


@dataclass(frozen=True)
class BlockDone:
    """A batch of blocks was delivered: ``people`` generated (duplicate records left out) in ``rows`` rows
    over all tables, ``tables`` of them per table (empty where a backend does not tell)."""

    people: int
    rows: int
    tables: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """The output retried batch ``batch`` after a transient error while writing ``table``."""

    table: str | None
    batch: int
    error: str


@dataclass(frozen=True)
class Memory:
    """Resident memory of the run's processes together, in bytes, measured after a batch."""

    rss: int


Event = Union[BlockDone, Retry, Memory]
OnEvent = Callable[[Event], None]


@dataclass(frozen=True)
class RunStats:
    """How a backend's run went."""

    people: int  # people delivered
    workers: int
    peak_rss: int  # bytes, all processes together
    cancelled: bool  # stopped by the token before the end: the output holds whole batches only


class Backend(Protocol):
    """Runs a plan into an output that is open, in block order, until done or cancelled.

    On cancel the batch being delivered is finished, nothing more is delivered, the workers are stopped,
    and ``run`` returns with ``cancelled`` set: the caller decides between discarding the output (files)
    and keeping its whole batches to resume (a database).  Errors propagate; the output is left to the caller.
    """

    def run(self, plan: RunPlan, output: Sink, cancel: CancelToken, on_event: OnEvent | None = None) -> RunStats: ...
