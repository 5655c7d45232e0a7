"""``ref`` with ``pick: {near: {window: K}}``: a row of the target within K positions of the row's own.

"Own" is the row's parent row when the target is its parent table (a child pairs with its parent's
neighbours), else the row's own table-wide index.  Rows of one parent sit next to each other (children of a
parent are contiguous, so are a household's people), so near picks are mostly the same entity and
sometimes a neighbour: candidate pairs for scoring record linkage with both matches and hard non-matches,
without a join.
"""

from __future__ import annotations

import numpy as np


def near_positions(own: np.ndarray, size: int, window: int, rng: np.random.Generator,
                   lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> np.ndarray:
    """For each own position, another position at distance 1..``window`` (either side; the side inside the
    range where one side is out), in [0, size), or per row in [``lo``, ``hi``) when given; the own position
    itself only when its range has one row."""
    n = len(own)
    step = rng.integers(1, window + 1, size=n, dtype=np.int64)
    left = rng.random(n) < 0.5
    lo = np.zeros(n, dtype=np.int64) if lo is None else lo
    hi = np.full(n, size, dtype=np.int64) if hi is None else hi
    picked = np.where(left, own - step, own + step)
    picked = np.where(picked < lo, own + step, picked)
    picked = np.where(picked >= hi, own - step, picked)
    return np.clip(picked, lo, np.maximum(hi - 1, lo))
