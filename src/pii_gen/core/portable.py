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
    b, e = np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64)
    shape = np.broadcast_shapes(b.shape, e.shape)

    def operand(x: np.ndarray) -> pa.Array | float:  # a single number stays a scalar: no array of copies of it
        return float(x) if x.ndim == 0 else pa.array(np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1))

    out = pc.power(operand(b), operand(e))
    return np.asarray(out.as_py() if isinstance(out, pa.Scalar) else out.to_numpy(zero_copy_only=False),
                      dtype=np.float64).reshape(shape)  # fmt: skip


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 1-D or 2-D operands, each entry summed in index order (BLAS sums in the order its
    CPU-chosen kernel likes).  Every product is formed at once, so it is meant for the small products of
    reference preparation and estimates."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a2.shape[1] != b2.shape[0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
    products = a2[:, :, None] * b2[None, :, :]  # (rows, inner, columns)
    out = np.cumsum(products, axis=1)[:, -1, :] if a2.shape[1] else np.zeros((a2.shape[0], b2.shape[1]))
    if a.ndim == 1:
        out = out[0]
    return out[..., 0] if b.ndim == 1 else out


def argsort(values: np.ndarray) -> np.ndarray:
    """Indices that sort ``values``, ties in their original order (numpy's default sort is CPU-dependent there)."""
    return np.argsort(values, kind="stable")
