"""The noise log: one row per changed value, with what it was."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..packs.person.contract import NOISE_LOG


class NoiseLog:
    """Collects the changes of one batch of blocks and turns them into a ``noise_log`` table.

    Rows come out in block order, and within a block in the order the changes
    were made, so a batch's log is the blocks' logs one after the other
    whichever blocks were noised together.  Names are kept as small codes and
    keys looked up once per table, so logging a change costs a few appends.
    """

    def __init__(self) -> None:
        self._names: dict[str, int] = {}
        self._codes: list[np.ndarray] = []  # (k, 5): block, table, column, noise type, variant name codes
        self._ids: list[pa.Array] = []
        self._originals: list[pa.Array] = []
        self._table: tuple[int, pa.ChunkedArray | pa.Array, np.ndarray] | None = None
        self._rows: list[np.ndarray] = []

    def _code(self, name: str) -> int:
        return self._names.setdefault(name, len(self._names))

    def start_table(self, table: str, keys: pa.ChunkedArray | pa.Array, block_start: np.ndarray) -> None:
        """Changes logged from now on are rows of ``table`` (primary key ``keys``; block ``i`` starts at
        row ``block_start[i]``)."""
        self._flush()
        self._table = (self._code(table), keys, block_start)

    def for_block(self, block: int) -> "BlockLog":
        return BlockLog(self, block)

    def _append(self, block: np.ndarray | int, table: int, column: str, noise_type: str, variant: np.ndarray,
                original: pa.Array) -> None:  # fmt: skip
        codes = np.empty((len(variant), 5), dtype=np.int32)
        codes[:, 0], codes[:, 1], codes[:, 2], codes[:, 3] = block, table, self._code(column), self._code(noise_type)
        codes[:, 4] = variant
        self._codes.append(codes)
        self._originals.append(original if original.type == pa.string() else original.cast(pa.string()))

    def add(self, rows: np.ndarray, column: str, noise_type: str, variant: np.ndarray, variants: tuple[str, ...],
            original: pa.Array) -> None:  # fmt: skip
        """Log changed cells of the current table: their row positions, what was done and the old values."""
        if len(rows) == 0:
            return
        assert self._table is not None
        table, _, block_start = self._table
        names = np.array([self._code(v) for v in variants], dtype=np.int32)
        block = np.searchsorted(block_start, rows, side="right") - 1
        self._append(block, table, column, noise_type, names[np.asarray(variant, dtype=np.int64)], original)
        self._rows.append(rows)

    def _flush(self) -> None:
        """Look up the keys of the current table's logged rows in one go."""
        if self._rows and self._table is not None:
            keys = self._table[1].take(pa.array(np.concatenate(self._rows)))
            self._ids.append(keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys)
        self._rows = []

    def table(self) -> pa.Table:
        self._flush()
        if not self._codes:
            return NOISE_LOG.arrow_schema.empty_table()
        vocab = pa.array(list(self._names))
        codes = np.concatenate(self._codes)
        ids, originals = pa.concat_arrays(self._ids), pa.concat_arrays(self._originals)
        if np.any(codes[1:, 0] < codes[:-1, 0]):  # several blocks: put each block's rows together
            order = np.argsort(codes[:, 0], kind="stable")
            codes = codes[order]
            ids, originals = ids.take(pa.array(order)), originals.take(pa.array(order))
        names = [vocab.take(pa.array(codes[:, i])) for i in range(1, 5)]
        arrays = [names[0], ids, names[1], names[2], names[3], originals]
        return pa.Table.from_arrays(arrays, schema=NOISE_LOG.arrow_schema)


class BlockLog:
    """The part of a :class:`NoiseLog` that whole records of one block (duplicates) are logged to."""

    def __init__(self, log: NoiseLog, block: int) -> None:
        self.log, self.block = log, block

    def add_records(self, table: str, record_id: pa.Array, column: str, noise_type: str, variant: str,
                    original: pa.Array) -> None:  # fmt: skip
        """Log whole records by their own ids."""
        log = self.log
        log._flush()
        variants = np.full(len(record_id), log._code(variant), dtype=np.int32)
        log._append(self.block, log._code(table), column, noise_type, variants, original)
        log._ids.append(record_id.cast(pa.int64()))
