"""What a pack is: a domain's contract, steps and reference data, registered under its name.

The core runs any pack the same way (see :mod:`.runtime`) and knows none by name: a pack subclasses
:class:`Pack`, which registers it as the class is defined; a plan names its pack, and whoever rebuilds
the plan (a worker process) looks the pack up by that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Protocol

import numpy as np
import pyarrow as pa

from .registry import Registry
from .steps import Context, Step

if TYPE_CHECKING:
    from .contract import Table
    from .plan import RunPlan
    from .runtime import Runtime

Batch = dict[str, pa.Table]
RngFor = Callable[[int, int], np.random.Generator]  # (block, stream) -> generator


class Noise(Protocol):
    """Noise on a batch of clean blocks, numbered ``blocks``, each cell drawing from its own block's streams."""

    def apply(self, parts: list[Batch], blocks: list[int], rng_for: RngFor) -> Batch: ...


class Pack:
    """A domain: its clean contract, its steps, its root table (whose keys the blocks count) and block size."""

    name: ClassVar[str]
    root_table: ClassVar[str]
    root_key: ClassVar[str]
    block_size: ClassVar[int]
    context: ClassVar[type[Context]] = Context

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        PACKS.add(cls)

    def contract(self) -> Mapping[str, Table]:
        """The clean tables, in foreign-key order (a table only references tables before it)."""
        raise NotImplementedError

    def steps(self) -> tuple[type[Step], ...]:
        """The steps, in the order they run."""
        raise NotImplementedError

    def settings(self, plan: RunPlan) -> Any:
        """The validated config the steps read, from the plan's settings."""
        raise NotImplementedError

    def reference(self) -> Any:
        """The reference data the steps sample from (loaded once per process)."""
        raise NotImplementedError

    def plan(self, config: Any, *, first_task: int = 0) -> RunPlan:
        """The run plan of a validated config (resume and append decided before: its first id is final)."""
        raise NotImplementedError

    def noise(self, plan: RunPlan, settings: Any, reference: Any) -> Noise | None:
        """What applies the plan's noise, or None for a clean run."""
        return None

    def runtime(self, plan: RunPlan) -> Runtime:
        """What generates the plan's batches in any process: its ``plan`` and ``batch(n, start_block,
        stop_block)`` (the core's :class:`~.runtime.Runtime` of the pack's steps, or the pack's own)."""
        raise NotImplementedError


#: Every pack defined so far, by name.
PACKS: Registry[type[Pack]] = Registry("pack")
