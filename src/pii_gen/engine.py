"""The process-pool runner under its former name; it lives in :mod:`pii_gen.backends.local` now."""

from .backends import Interrupted, LocalBackend, PerformanceOptimizer, WorkerDied

__all__ = ["Interrupted", "LocalBackend", "PerformanceOptimizer", "WorkerDied"]
