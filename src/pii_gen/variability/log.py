"""The noise log: one row per changed value, with what it was."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..schema import NOISE_LOG


class NoiseLog:
    """Collects the changes of one block and turns them into a ``noise_log`` table.

    Names are kept as small codes while collecting and turned into strings once
    per block, so logging a change costs a few array appends.
    """

    def __init__(self) -> None:
        self._names: dict[str, int] = {}
        self._codes: list[np.ndarray] = []  # (k, 4): table, column, noise type, variant name codes
        self._ids: list[pa.Array] = []
        self._originals: list[pa.Array] = []

    def _code(self, name: str) -> int:
        return self._names.setdefault(name, len(self._names))

    def add(self, table: str, record_id: pa.Array, column: str, noise_type: str, variant: np.ndarray,
            variants: tuple[str, ...], original: pa.Array) -> None:  # fmt: skip
        n = len(record_id)
        if n == 0:
            return
        names = np.array([self._code(v) for v in variants], dtype=np.int32)
        codes = np.empty((n, 4), dtype=np.int32)
        codes[:, 0], codes[:, 1], codes[:, 2] = self._code(table), self._code(column), self._code(noise_type)
        codes[:, 3] = names[np.asarray(variant, dtype=np.int64)]
        self._codes.append(codes)
        self._ids.append(record_id.cast(pa.int64()))
        self._originals.append(original.cast(pa.string()))

    def table(self) -> pa.Table:
        if not self._codes:
            return NOISE_LOG.arrow_schema.empty_table()
        vocab = pa.array(list(self._names))
        codes = np.concatenate(self._codes)
        columns = [vocab.take(pa.array(codes[:, i])) for i in range(4)]
        arrays = [columns[0], pa.concat_arrays(self._ids), columns[1], columns[2], columns[3],
                  pa.concat_arrays(self._originals)]  # fmt: skip
        return pa.Table.from_arrays(arrays, schema=NOISE_LOG.arrow_schema)
