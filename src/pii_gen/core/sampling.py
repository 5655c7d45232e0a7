"""Vectorized weighted sampling, with or without a conditioning group.

All samplers draw a whole batch at once; none loops over people.  A
:class:`GroupedSampler` packs one cumulative distribution per group into a
single sorted array (group ``g`` occupies keys ``g + cdf``), so drawing "a first
name for each person's sex and birth year" is one call however many groups the
batch touches.
"""

from __future__ import annotations

import numpy as np


class Sampler:
    """Draws indices ``0..k-1`` with probability proportional to ``weights``."""

    def __init__(self, weights: np.ndarray) -> None:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or len(w) == 0 or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be a non-empty vector of non-negative numbers with a positive sum")
        self._grouped = GroupedSampler(np.zeros(len(w), np.int64), w, 1)
        self.size = len(w)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.draw(rng.random(n))

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Map uniforms in [0, 1) to indices (lets callers reuse or correlate uniforms)."""
        return self._grouped.draw(np.zeros(len(u), np.int64), u)


class GroupedSampler:
    """Draws, for each row, an item from the distribution of that row's group.

    ``groups[i]`` is the group of item ``items[i]`` and ``weights[i]`` its
    weight within the group.  ``sample(rng, g)`` returns, for every entry of the
    group vector ``g``, an item of that group; drawing for a group without any
    positive weight raises.  Draws are exact inverse-CDF draws, found through a
    guide table in (expected) constant time rather than by binary search.
    """

    def __init__(self, groups: np.ndarray, weights: np.ndarray, n_groups: int, items: np.ndarray | None = None) -> None:
        groups = np.asarray(groups, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        keep = weights > 0
        groups, weights = groups[keep], weights[keep]
        item_ids = (np.arange(len(keep)) if items is None else np.asarray(items))[keep]
        order = np.lexsort((item_ids, groups))
        groups, weights, item_ids = groups[order], weights[order], item_ids[order]
        counts = np.bincount(groups, minlength=n_groups)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        totals = np.bincount(groups, weights=weights, minlength=n_groups)
        cum = np.cumsum(weights)
        before = np.concatenate([[0.0], cum])[starts]  # cumulative weight before each group
        within = (cum - before[groups]) / np.where(totals > 0, totals, 1)[groups]
        last = np.concatenate([starts[1:], [len(groups)]]) - 1
        nonempty = counts > 0
        within[last[nonempty]] = 1.0  # exact group end, so g + u (u < 1) never spills over
        self.keys = groups.astype(np.float64) + within
        self.items = item_ids.astype(np.int32)
        self.starts = starts
        self.counts = counts
        self.n_groups = n_groups
        # Guide table (indexed search): bucket i of group g covers u in [i/k, (i+1)/k) and
        # points at the first item the search could end on, so a draw scans ~1 item.
        bucket_group = groups
        bucket_i = np.arange(len(groups)) - starts[groups]
        lower = bucket_group + bucket_i / counts[groups]
        self.guide = np.searchsorted(self.keys, lower, side="right")

    def has_group(self, g: np.ndarray) -> np.ndarray:
        return self.counts[g] > 0

    def sample(self, rng: np.random.Generator, g: np.ndarray) -> np.ndarray:
        return self.draw(np.asarray(g), rng.random(len(g)))

    def draw(self, g: np.ndarray, u: np.ndarray) -> np.ndarray:
        if len(g) and not self.has_group(g).all():
            raise ValueError("a row belongs to a group with no items")
        g = np.asarray(g, dtype=np.int64)
        x = g + u
        pos = self.guide[self.starts[g] + (u * self.counts[g]).astype(np.int64)]
        todo = np.flatnonzero(self.keys[pos] <= x)
        while len(todo):
            pos[todo] += 1
            todo = todo[self.keys[pos[todo]] <= x[todo]]
        return self.items[pos]


def categorical_by_row(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """For each row of a (n, k) probability matrix, draw one column index."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return (cdf < u[:, None]).sum(axis=1).astype(np.int32)
