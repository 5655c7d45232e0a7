"""Edits on whole columns of ASCII strings, done on Arrow's byte buffers with numpy.

Every typo, OCR confusion or phonetic misspelling is one *splice*: replace the
bytes ``[pos, pos + cut)`` of a string with a short replacement.  :func:`splice`
applies a different splice to every string of a column at once, and
:func:`pick_sites` chooses, per string, one random position where a byte
pattern occurs.  Neither loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Bytes:
    """A string column as flat bytes: ``data[offsets[i]:offsets[i + 1]]`` is string ``i``."""

    data: np.ndarray  # uint8
    offsets: np.ndarray  # int64, n + 1
    row: np.ndarray  # the string each byte belongs to

    @classmethod
    def of(cls, arr: pa.Array) -> "Bytes":
        arr = pc.fill_null(arr.cast(pa.string()), "")
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        bufs = arr.buffers()
        offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
        buf = bufs[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
        data = data[offsets[0] : offsets[-1]]
        offsets = offsets - offsets[0]
        lengths = np.diff(offsets)
        return cls(data, offsets, np.repeat(np.arange(len(lengths)), lengths))

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def pick_sites(b: Bytes, positions: np.ndarray, u: np.ndarray, tags: np.ndarray | None = None):
    """One random position per string among ``positions`` (absolute byte positions), chosen by the
    string's uniform number in ``u``.

    Returns ``(has, pos, tag)`` per string: whether it has any, the chosen
    position within the string, and the ``tags`` entry of the chosen one.
    """
    n = len(b.offsets) - 1
    if len(positions) > 1 and np.any(positions[1:] < positions[:-1]):
        order = np.argsort(positions, kind="stable")
        positions = positions[order]
        tags = tags[order] if tags is not None else None
    rows = b.row[positions]
    count = np.bincount(rows, minlength=n)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    has = count > 0
    chosen = first + np.floor(u * count).astype(np.int64)
    chosen = np.where(has, chosen, 0)
    pos = np.where(has, positions[chosen] - b.offsets[:-1], 0) if len(positions) else np.zeros(n, np.int64)
    tag = np.where(has, tags[chosen], 0) if tags is not None and len(positions) else np.zeros(n, np.int64)
    return has, pos, tag


def splice(b: Bytes, pos: np.ndarray, cut: np.ndarray, repl: np.ndarray, repl_len: np.ndarray) -> pa.StringArray:
    """Replace bytes ``[pos, pos + cut)`` of string ``i`` with ``repl[i, :repl_len[i]]``."""
    n = len(b.offsets) - 1
    lengths = b.lengths
    new_len = lengths - cut + repl_len
    new_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(new_len, out=new_off[1:])
    row = np.repeat(np.arange(n), new_len)
    q = np.arange(new_off[-1]) - new_off[row]
    p, m, k = pos[row], repl_len[row], cut[row]
    in_repl = (q >= p) & (q < p + m)
    src = b.offsets[row] + np.where(q < p, q, q - m + k)
    src = np.where(in_repl, 0, src)
    width = max(repl.shape[1], 1)
    out = np.where(
        in_repl,
        repl[row, np.clip(q - p, 0, width - 1)] if repl.size else 0,
        b.data[src] if len(b.data) else 0,
    ).astype(np.uint8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_off.astype(np.int32)), pa.py_buffer(out.tobytes()))


def byte_matrix(rows: list[bytes]) -> np.ndarray:
    """Short byte strings as a zero-padded (k, width) uint8 matrix."""
    width = max((len(r) for r in rows), default=1) or 1
    out = np.zeros((len(rows), width), dtype=np.uint8)
    for i, r in enumerate(rows):
        out[i, : len(r)] = np.frombuffer(r, dtype=np.uint8)
    return out
