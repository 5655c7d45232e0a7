"""Reading rows scattered over blocks: group the wanted rows by block, take each block's share, restore order."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa


def by_block(blocks: np.ndarray, local: np.ndarray, take: Callable[[int, pa.Array], pa.Array],
             empty: Callable[[], pa.Array]) -> pa.Array:
    """Row ``local[i]`` of block ``blocks[i]`` for every ``i``, in that order: ``take(block, rows)`` once per
    distinct block (vectorized: no loop over rows), ``empty()`` when nothing is wanted."""
    if not len(blocks):
        return empty()
    order = np.argsort(blocks, kind="stable")
    sorted_blocks = blocks[order]
    found, starts = np.unique(sorted_blocks, return_index=True)
    ends = [*starts[1:], len(order)]
    rows = local[order]
    gathered = pa.concat_arrays([take(int(b), pa.array(rows[lo:hi])) for b, lo, hi in zip(found, starts, ends)])
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return gathered.take(pa.array(back))
