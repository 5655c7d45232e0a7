"""Build whole columns of strings without a Python loop.

Fixed-width identifiers (SSNs, phone numbers, card numbers, ZIP codes) are
assembled as a byte matrix and handed to Arrow as one buffer; free text is
joined with Arrow compute kernels.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Part = Union[str, tuple[np.ndarray, int]]

_POW10 = 10 ** np.arange(19, dtype=np.int64)


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` low decimal digits of each value, most significant first, as an (n, width) array."""
    v = np.asarray(values, dtype=np.int64)
    return (v[:, None] // _POW10[width - 1 :: -1][None, :width]) % 10


def fixed_width(n: int, parts: Sequence[Part]) -> pa.StringArray:
    """Concatenate literals and zero-padded numbers into an Arrow string column.

    ``parts`` mixes literal strings and ``(values, width)`` pairs, e.g.
    ``[(area, 3), "-", (group, 2), "-", (serial, 4)]`` builds SSNs.  A
    ``(digit_matrix, 0)`` pair inserts an already-split (n, k) digit matrix.
    """
    cols: list[np.ndarray] = []
    for part in parts:
        if isinstance(part, str):
            lit = np.frombuffer(part.encode("ascii"), dtype=np.uint8)
            cols.append(np.broadcast_to(lit, (n, len(lit))))
        else:
            values, width = part
            d = values if width == 0 else digits(values, width)
            cols.append((d + 48).astype(np.uint8))
    matrix = np.ascontiguousarray(np.hstack(cols), dtype=np.uint8)
    return from_matrix(matrix)


def from_matrix(matrix: np.ndarray) -> pa.StringArray:
    """An (n, w) uint8 matrix of ASCII bytes as n strings of width w, zero-copy."""
    n, w = matrix.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    data = np.ascontiguousarray(matrix).reshape(-1)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def take(vocab: pa.Array, idx: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Look indices up in a vocabulary; rows where ``null_mask`` is true become null."""
    indices = (
        pa.array(idx, type=pa.int32(), mask=null_mask) if null_mask is not None else pa.array(idx, type=pa.int32())
    )
    return vocab.take(indices)


def join(parts: Sequence[pa.Array | str], sep: str = "") -> pa.Array:
    """Element-wise concatenation; a null part is skipped together with its separator."""
    if sep == "":
        return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
    return pc.binary_join_element_wise(*parts, sep, null_handling="skip")


def number_strings(values: np.ndarray) -> pa.Array:
    """Integers as their decimal strings."""
    return pc.cast(pa.array(values), pa.string())


def assemble(codes: np.ndarray, builders: dict[int, "callable"]) -> pa.Array:
    """Build a column whose rows follow different recipes, each recipe run once on its rows.

    ``codes[i]`` names the recipe of row ``i``; ``builders[c](rows)`` returns
    the strings for the row indices ``rows``.  Results are stitched back into
    row order with one ``take``.
    """
    if len(codes) == 0:  # no rows (a block of children has no e-mails): Arrow cannot concatenate nothing
        return pa.array([], pa.string())
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    pieces = []
    for c in np.unique(sorted_codes):
        lo, hi = np.searchsorted(sorted_codes, [c, c + 1])
        pieces.append(builders[int(c)](order[lo:hi]))
    combined = pa.concat_arrays([p.cast(pa.string()) if p.type != pa.string() else p for p in pieces])
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return combined.take(pa.array(inverse.astype(np.int32)))
