"""Backends run a plan into an output: ``run(plan, output, cancel, on_event)`` (see :mod:`.base`).

``local`` is this machine's process pool; others (Spark) are to follow behind the same interface.
"""

from .base import Backend, BlockDone, CancelToken, Event, Interrupted, Memory, OnEvent, Retry, RunStats
from .local import LocalBackend, PerformanceOptimizer, WorkerDied

__all__ = ["Backend", "BlockDone", "CancelToken", "Event", "Interrupted", "LocalBackend", "Memory", "OnEvent",
           "PerformanceOptimizer", "Retry", "RunStats", "WorkerDied"]  # fmt: skip
