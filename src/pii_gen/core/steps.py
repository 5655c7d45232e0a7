"""What every step of a pack is: a small class that declares its columns and draws them for a block.

A pack gives its steps a base class naming the pack's own :class:`Steps` registry; defining a subclass
registers it there.  :func:`run_order` puts a pack's steps in the order their declared ``requires`` and
``provides`` allow, so adding a step is adding its module.  Stream numbers are a pack's own: two packs
never share a registry, so they never clash.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

import numpy as np
import pyarrow as pa

from ..errors import RegistryError
from .registry import Registry, where

if TYPE_CHECKING:
    from .contract import Table

Column = np.ndarray | pa.Array


@dataclass
class Context:
    """What the steps of one block share.

    ``config`` is the pack's settings and ``ref`` its reference data; ``keys`` holds the block's keys of the
    pack's root table; ``values`` carries per-key intermediates from a step to the ones after it, under the
    names each declares in ``provides``.
    """

    config: Any
    ref: Any
    keys: np.ndarray
    values: dict[str, Any] = field(default_factory=dict)


class Step:
    """One vectorized step of a pack's pipeline.

    ``table`` is the output table its columns belong to and ``columns`` the
    ones it produces (several steps may each add some columns of one table).
    ``requires`` / ``provides`` name the context values it reads and writes,
    which fixes the order it runs in.  ``stream`` is the fixed number of its
    random stream: adding a step never changes the draws of the others.
    ``registry`` is the pack's registry its subclasses join as they are defined.
    """

    name: ClassVar[str]
    stream: ClassVar[int]
    table: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    requires: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[Steps]

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            if not hasattr(cls, "registry"):
                raise RegistryError(f"sub-generator {where(cls)} has no registry: subclass its pack's base class")
            cls.registry.add(cls)

    def generate(self, n: int, rng: np.random.Generator, context: Context) -> dict[str, Column]:
        raise NotImplementedError


class Steps(Registry[type[Step]]):
    """The registered steps of a pack: each with its own name and stream, the only provider of its values
    and the only writer of its columns."""

    def check(self, cls: type[Step], others: list[type[Step]]) -> None:
        for attr in ("stream", "table", "columns"):
            if not hasattr(cls, attr):
                raise RegistryError(f"sub-generator {where(cls)} declares no {attr}")
        if not isinstance(cls.stream, int) or cls.stream < 0:
            raise RegistryError(f"sub-generator {where(cls)} has stream {cls.stream!r}: a whole number >= 0")
        for other in others:
            if other.stream == cls.stream:
                raise RegistryError(
                    f"sub-generator {where(cls)} has stream {cls.stream}, already {where(other)}'s: "
                    "streams must differ (each is pinned, so output stays the same)"
                )
            both = sorted(set(cls.provides) & set(other.provides))
            if both:
                raise RegistryError(
                    f"sub-generator {where(cls)} provides {', '.join(both)}, as {where(other)} does: "
                    "each value needs one provider"
                )
            shared = sorted(set(cls.columns) & set(other.columns)) if cls.table == other.table else []
            if shared:
                raise RegistryError(
                    f"sub-generator {where(cls)} writes {cls.table}.{shared[0]}, as {where(other)} does: "
                    "each column needs one writer"
                )


def run_order(generators: Iterable[type[Step]]) -> tuple[type[Step], ...]:
    """The generators in an order where each runs after those providing what it requires.

    Among generators free to run at the same point the one with the lower stream number goes first, so
    the order is the same on every machine; any such order gives the same output, as each generator
    draws only from its own stream.  Raises RegistryError for a requirement nobody provides, a value
    provided twice or generators that require each other's values in a cycle.
    """
    gens = list(generators)
    provider: dict[str, type[Step]] = {}
    for gen in sorted(gens, key=lambda g: g.stream):
        for value in gen.provides:
            if value in provider:
                raise RegistryError(
                    f"sub-generator {where(gen)} provides {value}, as {where(provider[value])} does: "
                    "each value needs one provider"
                )
            provider[value] = gen
    needs: dict[type[Step], set[type[Step]]] = {}
    for gen in gens:
        unknown = [value for value in gen.requires if value not in provider]
        if unknown:
            raise RegistryError(
                f"sub-generator {where(gen)} requires {', '.join(unknown)}, which no sub-generator provides"
            )
        needs[gen] = {provider[value] for value in gen.requires}
    sorter = TopologicalSorter(needs)
    try:
        sorter.prepare()
    except CycleError as err:
        loop = " -> ".join(g.name for g in err.args[1])
        raise RegistryError(f"sub-generators require each other's values in a cycle: {loop}") from None
    ready: list[tuple[int, str]] = []
    by_name = {g.name: g for g in gens}
    order: list[type[Step]] = []
    while sorter.is_active():
        for gen in sorter.get_ready():
            heapq.heappush(ready, (gen.stream, gen.name))
        _, name = heapq.heappop(ready)
        order.append(by_name[name])
        sorter.done(by_name[name])
    return tuple(order)


def check_contract(
    generators: Iterable[type[Step]], tables: Mapping[str, Table], assigned: Iterable[tuple[str, str]] = ()
) -> None:
    """Raise RegistryError unless the generators write every column of ``tables`` exactly once (the
    ``assigned`` (table, column) pairs are filled by the engine) and nothing else."""
    written: dict[tuple[str, str], str] = {pair: "the engine" for pair in assigned}
    for gen in generators:
        if gen.table not in tables:
            raise RegistryError(f"sub-generator {where(gen)} writes table {gen.table}, which the contract lacks")
        for col in gen.columns:
            if col not in tables[gen.table].column_names:
                raise RegistryError(f"sub-generator {where(gen)} writes {gen.table}.{col}, which the contract lacks")
            if (gen.table, col) in written:
                raise RegistryError(
                    f"sub-generator {where(gen)} writes {gen.table}.{col}, as {written[(gen.table, col)]} does"
                )
            written[(gen.table, col)] = where(gen)
    unwritten = [f"{t}.{c}" for t, spec in tables.items() for c in spec.column_names if (t, c) not in written]
    if unwritten:
        raise RegistryError(f"no sub-generator writes {', '.join(unwritten)}")


def child_ids(keys: np.ndarray, seq: np.ndarray, factor: int) -> np.ndarray:
    """Keys of child rows: ``keys * factor + seq``, unique without any shared counter."""
    return keys * factor + seq
