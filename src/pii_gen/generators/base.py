"""What every sub-generator is: a small class that declares its columns and draws them for a block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa

from ..reference import Reference

if TYPE_CHECKING:  # the config imports the noise registry, whose outliers use dates of this package
    from ..config import GenerateConfig

Column = np.ndarray | pa.Array


@dataclass
class Context:
    """What the sub-generators of one block share.

    ``person_id`` holds the block's keys; ``values`` carries per-person
    intermediates (age, state, current salary, ...) from a generator to the
    ones after it, under the names each declares in ``provides``.
    """

    config: GenerateConfig
    ref: Reference
    person_id: np.ndarray
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def strict(self) -> bool:
        return self.config.pii_mode == "strict"


class SubGenerator:
    """One vectorized step of the person pipeline.

    ``table`` is the output table its columns belong to and ``columns`` the
    ones it produces (for ``persons``, several generators each add some).
    ``requires`` / ``provides`` name the context values it reads and writes,
    which fixes the order the registry runs them in.  ``stream`` is the fixed
    number of its random stream: adding a generator never changes the draws of
    the others.
    """

    name: ClassVar[str]
    stream: ClassVar[int]
    table: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    requires: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()

    def generate(self, n: int, rng: np.random.Generator, context: Context) -> dict[str, Column]:
        raise NotImplementedError


def child_ids(person_id: np.ndarray, seq: np.ndarray, factor: int) -> np.ndarray:
    """Keys of child rows: ``person_id * factor + seq``, unique without any shared counter."""
    return person_id * factor + seq


def sort_rows(columns: dict[str, Column], key: np.ndarray) -> dict[str, Column]:
    """Reorder every column of a child table by ``key`` (so rows come per person, in sequence)."""
    order = np.argsort(key, kind="stable")
    if np.all(order[1:] > order[:-1]):
        return columns
    taker = pa.array(order.astype(np.int32))
    return {k: (v[order] if isinstance(v, np.ndarray) else v.take(taker)) for k, v in columns.items()}


DAYS_PER_YEAR = 365.2425
