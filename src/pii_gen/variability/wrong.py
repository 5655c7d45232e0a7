"""Wrong values: plausible-looking but false entries (a mistyped ZIP, a swapped date, someone else's phone)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..packs.person import identifiers as ids
from ..core.text import from_matrix
from .base import Cells, Change, NoiseType
from .strings import Bytes

# SSN digit pairs that can be swapped: positions in "AAA-GG-SSSS".
SSN_PAIRS = np.array([(0, 1), (1, 2), (4, 5), (7, 8), (8, 9), (9, 10)])


class WrongValue(NoiseType):
    """A wrong digit in a ZIP code, month and day swapped, a misreported age (birth year off by 1-5),
    two adjacent SSN digits transposed, or a value copied from another person (SSN, phone, e-mail)."""

    name = "wrong_value"
    variants = ("zip_digit", "month_day_swapped", "misreported_age", "ssn_transposed", "copied", "year_off")
    position = 5
    kinds = frozenset({"zip", "birth_date", "reported_date", "ssn", "phone", "email"})
    description = "wrong ZIP digits, swapped month/day, misreported ages, transposed SSNs, copied values"

    def apply(self, cells: Cells) -> Change:
        n, kind = len(cells), cells.kind
        if kind == "zip":
            m = _ascii_matrix(cells.values, 5)
            where = cells.integers(0, 5)
            old = m[np.arange(n), where] - 48
            m[np.arange(n), where] = 48 + (old + cells.integers(1, 10)) % 10
            return Change(from_matrix(m), np.ones(n, dtype=bool), np.zeros(n, np.int64))
        if kind in ("birth_date", "reported_date"):
            return _wrong_date(cells)
        other = cells.column_at(cells.column, cells.other_rows())
        if kind == "ssn":  # transposed digits for most, another person's SSN for some
            copied = cells.uniform() < 0.3
            transposed, ok = _transpose_ssn(cells)
            values = pc.if_else(pa.array(copied), other, transposed)
            return Change(values, copied | ok, np.where(copied, 4, 3))
        return Change(other, np.ones(n, dtype=bool), np.full(n, 4))


def _ascii_matrix(values: pa.Array, width: int) -> np.ndarray:
    """Fixed-width ASCII strings as an (n, width) uint8 matrix (a copy)."""
    return Bytes.of(values).data.reshape(-1, width).copy()


def _transpose_ssn(cells: Cells) -> tuple[pa.Array, np.ndarray]:
    """Swap two adjacent, different digits; in strict mode only where the result stays unissuable."""
    n = len(cells)
    m = _ascii_matrix(cells.values, 11)
    options = np.zeros((n, len(SSN_PAIRS)), dtype=bool)
    candidates = []
    for k, (a, b) in enumerate(SSN_PAIRS):
        c = m.copy()
        c[:, [a, b]] = c[:, [b, a]]
        d = c.astype(np.int64) - 48
        area = d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
        group = d[:, 4] * 10 + d[:, 5]
        serial = d[:, 7] * 1000 + d[:, 8] * 100 + d[:, 9] * 10 + d[:, 10]
        ok = m[:, a] != m[:, b]
        if cells.strict:
            ok &= ~ids.ssn_is_issuable(area, group, serial) & ~ids.itin_shaped(area, group)
        options[:, k] = ok
        candidates.append(c)
    # A random allowed pair per row.
    score = np.where(options, cells.uniform(options.shape[1]), -1.0)
    pick = score.argmax(axis=1)
    ok = options.any(axis=1)
    out = np.stack(candidates, axis=1)[np.arange(n), pick]
    return from_matrix(out), ok


def _wrong_date(cells: Cells) -> Change:
    """Month and day swapped where both can be months (for birth dates, 70% of those), else the
    year off by one to five (a misreported age for a birth date)."""
    n = len(cells)
    days = np.asarray(cells.values.cast(pa.int32()).fill_null(0), dtype=np.int64).astype("datetime64[D]")
    month_start = days.astype("datetime64[M]")
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (days - month_start).astype(np.int64) + 1
    can_swap = (day <= 12) & (day != month)
    swap = can_swap & (cells.uniform() < 0.7)
    shift = cells.integers(1, 6) * np.where(cells.uniform() < 0.5, -1, 1)
    new_year = np.where(swap, year, year + shift)
    new_month = np.where(swap, day, month)
    new_day = np.where(swap, month, day)
    first = ((new_year - 1970) * 12 + new_month - 1).astype("datetime64[M]")
    last_day = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)
    out = first.astype("datetime64[D]") + (np.minimum(new_day, last_day) - 1)
    values = pa.array(out.astype(np.int64).astype(np.int32)).cast(pa.date32())
    shifted = 2 if cells.kind == "birth_date" else 5
    return Change(values, np.ones(n, dtype=bool), np.where(swap, 1, shifted))
