"""Workers write their encoded batches straight into the output files, in order.

Each batch claims its byte range from a small shared ledger strictly in task
order (task ``k`` waits until task ``k - 1`` has claimed its range), then
writes with ``pwrite`` outside the lock.  The bytes never travel between
processes, and the file comes out exactly as a single writer would produce it.
Each chunk's CRC-32 is computed where it is written; the parent combines them
into the whole file's CRC-32.
"""

from __future__ import annotations

import functools
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .base import Codec


@dataclass
class Receipt:
    """What one task wrote: per table, its rows, bytes and the CRC-32 of those bytes; an output writing a file of
    each task's own (Delta's Parquet parts) names it in ``parts``."""

    task: int
    rows: dict[str, int]
    sizes: dict[str, int]
    crcs: dict[str, int]
    parts: dict[str, Any] = field(default_factory=dict)


class Ledger:
    """Next task allowed to claim, and the next free offset of each file.

    With ``shared`` (a multiprocessing context) it lives in shared memory and
    is safe across processes; otherwise it is a plain in-process counter.
    """

    def __init__(self, tables: list[str], start_offsets: list[int], ctx: Any | None = None) -> None:
        self.tables = tables
        if ctx is None:
            self._values = [0, *start_offsets]
            self._cond = None
        else:
            self._cond = ctx.Condition(ctx.Lock())
            self._values = ctx.RawArray("q", [0, *start_offsets])

    def claim(self, task: int, sizes: list[int]) -> list[int]:
        """Wait for ``task``'s turn, reserve ``sizes`` bytes in each file, return the offsets."""
        if self._cond is None:
            return self._claim(task, sizes)
        with self._cond:
            self._cond.wait_for(lambda: self._values[0] == task)
            offsets = self._claim(task, sizes)
            self._cond.notify_all()
            return offsets

    def _claim(self, task: int, sizes: list[int]) -> list[int]:
        if self._values[0] != task:
            raise RuntimeError(f"task {task} claimed out of order (expected {self._values[0]})")
        offsets = [self._values[i + 1] for i in range(len(sizes))]
        for i, size in enumerate(sizes):
            self._values[i + 1] += size
        self._values[0] = task + 1
        return offsets


class PartWriter:
    """Encodes a task's tables and writes them at the offsets the ledger grants."""

    def __init__(self, paths: dict[str, str], codec: Codec, ledger: Ledger) -> None:
        self.paths = paths
        self.codec = codec
        self.ledger = ledger
        self._fds: dict[str, int] = {}

    def write(self, task: int, batch: dict[str, pa.Table]) -> Receipt:
        names = self.ledger.tables
        data, parts = [], {}
        for name in names:
            chunk, part = self.codec.encode_part(name, batch[name])
            data.append(chunk)
            if part is not None:
                parts[name] = part
        offsets = self.ledger.claim(task, [len(d) for d in data])
        crcs = {}
        for name, chunk, offset in zip(names, data, offsets):
            fd = self._fds.get(name)
            if fd is None:
                fd = self._fds[name] = os.open(self.paths[name], os.O_WRONLY)
            view = memoryview(chunk)
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
            crcs[name] = zlib.crc32(chunk)
        sizes = {n: len(d) for n, d in zip(names, data)}
        return Receipt(task, {n: batch[n].num_rows for n in names}, sizes, crcs, parts)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self.paths, "codec": self.codec, "ledger": self.ledger, "_fds": {}}


# CRC-32 of a concatenation from the CRC-32s of its parts (the GF(2) method zlib's crc32_combine uses).
_CRC_POLY = 0xEDB88320


def _gf2_times(mat: list[int], vec: int) -> int:
    total, i = 0, 0
    while vec:
        if vec & 1:
            total ^= mat[i]
        vec >>= 1
        i += 1
    return total


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


@functools.lru_cache(maxsize=1)
def _zero_operators() -> tuple[list[int], ...]:
    """The operators appending 2**k zero bytes to a CRC-32, k = 0..63 (made once: squaring them is the costly
    part of a combine, and every task's receipt combines one CRC per table)."""
    op = [_CRC_POLY] + [1 << n for n in range(31)]  # appends one zero bit
    for _ in range(3):
        op = _gf2_square(op)  # ... one zero byte
    out = [op]
    for _ in range(63):
        out.append(_gf2_square(out[-1]))  # twice as many zero bytes
    return tuple(out)


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``A + B`` given CRC-32 of A, CRC-32 of B and the length of B."""
    if len2 <= 0:
        return crc1
    operators = _zero_operators()
    k = 0
    while len2:
        if len2 & 1:
            crc1 = _gf2_times(operators[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2
