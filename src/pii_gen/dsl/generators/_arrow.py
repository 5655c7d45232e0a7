"""Fast conversions between numpy byte matrices and Arrow strings (no per-row Python)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """An (n, width) uint8 matrix of ASCII codes as an Arrow string array of n values."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def weighted_indices(probs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices drawn with probabilities ``probs`` (one uniform per row, a binary search in the CDF)."""
    cdf = np.cumsum(probs, dtype=np.float64)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(probs) - 1)


def as_numpy(value: object, dtype: str = "float64") -> np.ndarray | float:
    """A literal or an evaluated Arrow array as numpy (nulls become NaN), for broadcasting in draws."""
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return np.asarray(value.to_numpy(zero_copy_only=False), dtype=dtype)
    return value  # type: ignore[return-value]
