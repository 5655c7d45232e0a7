"""Math whose results are the same bits on every x86 and ARM CPU, for everything that shapes the output.

numpy picks a kernel for ``exp``, ``log``, ``power``, ``tanh`` and friends by the CPU it runs on (its own AVX-512
code on one machine, the C library's on another): the results differ in the last bit, a wage rounds to another
dollar, and the same seed makes other files on another machine.  BLAS picks its matrix kernels the same way, and
numpy's default ``argsort`` orders ties by the CPU's sorting network.  These functions go through Arrow's
compute kernels instead (the C library's functions, the same on every CPU of a platform), sum products in a fixed
order, and sort stably.  Plain arithmetic, ``sqrt`` and numpy's random generators are exact or CPU-independent
already.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _unary(kernel: Callable[[pa.Array], pa.Array]) -> Callable[[np.ndarray | float], np.ndarray]:
    def apply(x: np.ndarray | float) -> np.ndarray:
        values = np.asarray(x, dtype=np.float64)
        flat = np.ascontiguousarray(values).reshape(-1)
        out = kernel(pa.array(flat)).to_numpy(zero_copy_only=False)
        return out.reshape(values.shape)

    apply.__name__ = kernel.__name__
    apply.__doc__ = f"Element-wise ``{kernel.__name__}`` of a float64 array, the same on every CPU."
    return apply


exp = _unary(pc.exp)
log = _unary(pc.ln)
log1p = _unary(pc.log1p)
tanh = _unary(pc.tanh)


def power(base: np.ndarray | float, exponent: np.ndarray | float) -> np.ndarray:
    """``base ** exponent`` element-wise (broadcast), in float64, the same on every CPU."""
    b, e = np.broadcast_arrays(np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64))
    out = pc.power(pa.array(np.ascontiguousarray(b).reshape(-1)), pa.array(np.ascontiguousarray(e).reshape(-1)))
    return out.to_numpy(zero_copy_only=False).reshape(b.shape)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 1-D or 2-D operands, each entry summed in index order (BLAS sums in the order its
    CPU-chosen kernel likes)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a2.shape[1] != b2.shape[0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
    out = np.zeros((a2.shape[0], b2.shape[1]))
    for k in range(a2.shape[1]):  # one rank-1 update per inner index: a fixed order of exact-per-step adds
        out += a2[:, k, None] * b2[None, k, :]
    if a.ndim == 1:
        out = out[0]
    return out[..., 0] if b.ndim == 1 else out


def argsort(values: np.ndarray) -> np.ndarray:
    """Indices that sort ``values``, ties in their original order (numpy's default sort is CPU-dependent there)."""
    return np.argsort(values, kind="stable")
