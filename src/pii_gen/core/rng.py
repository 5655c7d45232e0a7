"""The random streams: one per (seed, block, stream number), so a block's draws depend on nothing else."""

from __future__ import annotations

import numpy as np


def block_rng(seed: int, block: int, stream: int) -> np.random.Generator:
    """The random stream ``stream`` (a step's or a noise column's) in block ``block``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, stream))))
