"""Typos: keyboard slips, OCR confusions and phonetic misspellings, each one splice of a string.

Every variant changes the string by one edit of one or two characters, so a
typo'd value is within Levenshtein distance 1-2 of the original.  A variant
that has nowhere to apply in a string (no ``ph`` to turn into ``f``) falls
back to a keyboard substitution, so the configured rate holds exactly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import Cells, Change, NoiseType
from .strings import Bytes, byte_matrix, pick_sites, splice

# QWERTY neighbours of each lower-case key (same row and the rows above and below).
_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
    "1": "2q", "2": "13w", "3": "24e", "4": "35r", "5": "46t", "6": "57y", "7": "68u", "8": "79i", "9": "80o",
    "0": "9p",
}  # fmt: skip
_WIDTH = max(len(v) for v in _NEIGHBOURS.values())
NEIGHBOUR = np.zeros((256, _WIDTH), dtype=np.uint8)
NEIGHBOUR_COUNT = np.zeros(256, dtype=np.int64)
for _key, _near in _NEIGHBOURS.items():
    for _case in {_key, _key.upper()}:
        _row = _near.upper() if _case.isupper() else _near
        NEIGHBOUR[ord(_case), : len(_row)] = np.frombuffer(_row.encode(), dtype=np.uint8)
        NEIGHBOUR_COUNT[ord(_case)] = len(_row)
HAS_NEIGHBOURS = NEIGHBOUR_COUNT > 0

# Characters OCR engines confuse, both ways (source -> replacement).
OCR = [
    (b"0", b"O"), (b"O", b"0"), (b"1", b"l"), (b"l", b"1"), (b"I", b"l"), (b"5", b"S"), (b"S", b"5"),
    (b"8", b"B"), (b"B", b"8"), (b"rn", b"m"), (b"m", b"rn"), (b"cl", b"d"), (b"vv", b"w"), (b"e", b"c"),
]  # fmt: skip
# Spellings that sound alike.
PHONETIC = [
    (b"ph", b"f"), (b"f", b"ph"), (b"ie", b"ei"), (b"ei", b"ie"), (b"ck", b"k"), (b"ee", b"ea"),
    (b"ea", b"ee"), (b"ou", b"ow"), (b"y", b"ie"), (b"c", b"k"), (b"s", b"z"), (b"z", b"s"),
]  # fmt: skip
DOUBLES = b"bcdfglmnprstz"


class PatternTable:
    """Byte patterns of one or two bytes and their replacements, found in a single pass each."""

    def __init__(self, pairs: list[tuple[bytes, bytes]]) -> None:
        self.cuts = np.array([len(s) for s, _ in pairs])
        self.twins = byte_matrix([t for _, t in pairs])
        self.lens = np.array([len(t) for _, t in pairs])
        self.one = np.full(256, -1, dtype=np.int64)  # byte -> pattern index
        self.two = np.full(65536, -1, dtype=np.int64)  # byte pair -> pattern index
        for i, (src, _) in enumerate(pairs):
            if len(src) == 1:
                self.one[src[0]] = i
            else:
                self.two[src[0] * 256 + src[1]] = i

    def find(self, b: Bytes) -> tuple[np.ndarray, np.ndarray]:
        """Absolute positions of every occurrence, and which pattern it is."""
        single = self.one[b.data]
        pos1 = np.flatnonzero(single >= 0)
        pair = self.two[b.data[:-1].astype(np.int64) * 256 + b.data[1:]] if len(b.data) > 1 else np.zeros(0, np.int64)
        pos2 = np.flatnonzero((pair >= 0) & (b.row[:-1] == b.row[1:]) if len(b.data) > 1 else pair >= 0)
        return np.concatenate([pos1, pos2]), np.concatenate([single[pos1], pair[pos2]])


OCR_TABLE, PHONETIC_TABLE = PatternTable(OCR), PatternTable(PHONETIC)
KEYBOARD = ("substitution", "insertion", "deletion", "transposition")


class Typo(NoiseType):
    """Keyboard slips (neighbour substitution, insertion, deletion, transposition), OCR confusions
    (0/O, 1/l, rn/m, 5/S, ...) and phonetic misspellings (ph/f, ie/ei, doubled or dropped letters)."""

    name = "typo"
    position = 1
    variants = (*KEYBOARD, "ocr", "phonetic", "doubled", "dropped")
    weights = (0.30, 0.12, 0.14, 0.16, 0.10, 0.10, 0.04, 0.04)
    kinds = frozenset(
        {"given_name", "middle_name", "family_name", "nickname", "street", "city", "county", "email", "organization",
         "job_title"}
    )  # fmt: skip
    description = "one-edit misspellings"

    def eligible(self, kind: str, values: pa.Array) -> np.ndarray | None:
        ok = pc.and_(pc.string_is_ascii(values), pc.greater(pc.binary_length(values), 0))
        return np.asarray(pc.fill_null(ok, False), dtype=bool)

    def apply(self, cells: Cells) -> Change:
        n = len(cells)
        b = Bytes.of(cells.values)
        # E-mail typos stay in the local part: a changed domain could be someone's real one.
        editable = np.ones(len(b.data), dtype=bool)
        if cells.kind == "email":
            at = b.data == ord("@")
            first_at = np.full(n, np.iinfo(np.int64).max)
            np.minimum.at(first_at, b.row[at], np.flatnonzero(at))
            editable = np.arange(len(b.data)) < first_at[b.row]
        kind = cells.choose(self.weights)
        edits = Edits(n)
        starts = b.offsets[:-1]

        letters = HAS_NEIGHBOURS[b.data] & editable
        # Substitution (also the fallback of every other variant): a neighbouring key.
        has, p, _ = pick_sites(b, np.flatnonzero(letters), cells.uniform())
        src = b.data[starts + p]
        near = NEIGHBOUR[src, np.floor(cells.uniform() * np.maximum(NEIGHBOUR_COUNT[src], 1)).astype(np.int64)]

        w = (kind == 1) & has  # insertion: a neighbour typed next to the key
        edits.put(w, p[w] + (cells.uniform()[w] < 0.5), 0, near[w][:, None], 1)
        w = (kind == 2) & has & (b.lengths >= 2)  # deletion
        edits.put(w, p[w], 1, None, 0)
        pairs = (b.data[:-1] != b.data[1:]) & (b.row[:-1] == b.row[1:]) & editable[1:] & letters[:-1]
        t_has, t_pos, _ = pick_sites(b, np.flatnonzero(pairs), cells.uniform())
        w = (kind == 3) & t_has  # transposition of two different neighbouring characters
        at = starts[w] + t_pos[w]
        edits.put(w, t_pos[w], 2, np.column_stack([b.data[at + 1], b.data[at]]), 2)
        for code, table in ((4, OCR_TABLE), (5, PHONETIC_TABLE)):
            positions, tags = table.find(b)
            keep = editable[positions]
            f_has, f_pos, tag = pick_sites(b, positions[keep], cells.uniform(), tags[keep])
            w = (kind == code) & f_has
            edits.put(w, f_pos[w], table.cuts[tag[w]], table.twins[tag[w]], table.lens[tag[w]])
        # Doubled letter (tomorow -> tommorow) or a dropped double (letter -> leter).
        doubles = np.isin(b.data, np.frombuffer(DOUBLES, np.uint8)) & editable
        d_has, d_pos, _ = pick_sites(b, np.flatnonzero(doubles), cells.uniform())
        w = (kind == 6) & d_has
        edits.put(w, d_pos[w], 0, b.data[starts[w] + d_pos[w]][:, None], 1)
        same = (b.data[:-1] == b.data[1:]) & (b.row[:-1] == b.row[1:]) & doubles[:-1]
        s_has, s_pos, _ = pick_sites(b, np.flatnonzero(same), cells.uniform())
        w = (kind == 7) & s_has
        edits.put(w, s_pos[w], 1, None, 0)

        fallback = ~edits.done & has
        edits.put(fallback, p[fallback], 1, near[fallback][:, None], 1)
        variant = np.where(fallback, 0, kind)
        return Change(splice(b, edits.pos, edits.cut, edits.repl, edits.rlen), edits.done, variant)


class Edits:
    """One pending splice per string, filled in variant by variant."""

    def __init__(self, n: int, width: int = 2) -> None:
        self.pos = np.zeros(n, np.int64)
        self.cut = np.zeros(n, np.int64)
        self.repl = np.zeros((n, width), np.uint8)
        self.rlen = np.zeros(n, np.int64)
        self.done = np.zeros(n, dtype=bool)

    def put(self, which: np.ndarray, pos, cut, repl: np.ndarray | None, rlen) -> None:
        """Splice ``repl[:, :rlen]`` over ``cut`` bytes at ``pos`` in the strings where ``which`` is true."""
        self.pos[which], self.cut[which], self.rlen[which] = pos, cut, rlen
        self.repl[which] = 0
        if repl is not None:
            self.repl[np.flatnonzero(which), : repl.shape[1]] = repl
        self.done |= which
