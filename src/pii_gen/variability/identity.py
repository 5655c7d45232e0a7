"""Identity noise, what ad-tech identifiers suffer before anyone matches them: e-mails mistyped before they are
hashed, phone numbers recycled to someone else, IP addresses reassigned, cookies cleared and re-issued, and
devices borrowed from another household.

These change identifier values (an identity graph's columns of kinds ``email``, ``phone``, ``ip_address``,
``cookie`` and ``device``), so a schema file applies them with the ``noise`` modifier like any other noise type:
each step's changed rows are counted in the run's manifest and can label a truth table exactly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core.text import from_matrix
from .base import Cells, Change, NoiseType
from .typos import Typo

#: Devices of a household are numbered ``household_id * DEVICE_SLOTS + 1 ..``: a key any table can rebuild.
DEVICE_SLOTS = 100
#: The IP ranges addresses come from: RFC 5737 (IPv4) and RFC 3849 (IPv6) documentation ranges only.
DOC_IPV4 = ("192.0.2.", "198.51.100.", "203.0.113.")
DOC_IPV6 = "2001:db8:"
#: The column a step's ``by`` expression is handed to a noise type under (no column can have the name).
BY = "#by"

_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def uuid_text(hi: np.ndarray, lo: np.ndarray, upper: np.ndarray | None = None) -> pa.Array:
    """UUID-4-shaped strings of two 64-bit halves (version and variant bits set); ``upper`` rows upper-case."""
    raw = np.concatenate(
        [
            hi.astype(np.uint64)[:, None].byteswap().view(np.uint8).reshape(-1, 8),
            lo.astype(np.uint64)[:, None].byteswap().view(np.uint8).reshape(-1, 8),
        ],
        axis=1,
    )
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nib = np.empty((len(raw), 32), np.uint8)
    nib[:, 0::2], nib[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 0x0F]
    if upper is not None:
        nib[upper[:, None] & (nib >= ord("a"))] -= 32
    chars = np.full((len(raw), 36), ord("-"), np.uint8)
    for dst, src, width in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        chars[:, dst : dst + width] = nib[:, src : src + width]
    return from_matrix(chars)


def hex_groups(words: np.ndarray) -> pa.Array:
    """Four lower-case hex digits of each 16-bit value (an IPv6 group)."""
    v = np.asarray(words, np.int64)
    return from_matrix(np.stack([_HEX[(v >> s) & 0xF] for s in (12, 8, 4, 0)], axis=1))


def doc_ips(range_u: np.ndarray, octet_u: np.ndarray, words: np.ndarray, v6: np.ndarray) -> pa.Array:
    """Documentation-range addresses: ``192.0.2.x``-like IPv4 from two uniforms, or, where ``v6``,
    ``2001:db8:xxxx:xxxx:xxxx::1`` from 48 bits of ``words``."""
    prefix = pa.array(DOC_IPV4).take(pa.array(np.minimum(np.floor(range_u * 3), 2).astype(np.int64)))
    v4 = pc.binary_join_element_wise(
        prefix, pa.array((1 + np.floor(octet_u * 254)).astype(np.int64)).cast(pa.string()), ""
    )
    groups = [hex_groups((words >> (16 * i)) & 0xFFFF) for i in range(3)]
    # the separator also follows the "2001:db8:" prefix's own colon
    six = pc.binary_join_element_wise(DOC_IPV6 + "0", *groups, ":1", ":")
    return pc.if_else(pa.array(np.asarray(v6, bool)), six, v4)


class EmailTypo(Typo):
    """A mistyped e-mail address (a one-edit typo of its local part, as ``typo`` makes): applied to the plain
    address before it is hashed, so the hash is of the typo and matches no one."""

    name = "email_typo"
    position = 7
    kinds = frozenset({"email"})
    description = "a mistyped e-mail address (hashed as typed)"


class RecycledPhone(NoiseType):
    """A phone number the person no longer holds: the last two digits changed (another line of the same
    exchange, given up and reassigned; a strict 555-01XX number stays a fictional one)."""

    name = "recycled_phone"
    position = 8
    kinds = frozenset({"phone"})
    variants = ("reassigned_line",)
    description = "a recycled phone number (another line of the exchange)"

    def eligible(self, kind: str, values: pa.Array) -> np.ndarray | None:
        return np.asarray(pc.fill_null(pc.match_substring_regex(values, r"[0-9][0-9]$"), False), dtype=bool)

    def apply(self, cells: Cells) -> Change:
        n = len(cells)
        values = cells.values.cast(pa.string())
        own = np.asarray(pc.cast(pc.utf8_slice_codeunits(values, -2), pa.int64()).to_numpy(zero_copy_only=False))
        line = (own + cells.integers(1, 100)) % 100  # never the person's own line
        tail = pc.utf8_lpad(pa.array(line).cast(pa.string()), 2, "0")
        new = pc.binary_join_element_wise(pc.utf8_slice_codeunits(values, 0, -2), tail, "")
        return Change(new, np.ones(n, dtype=bool), np.zeros(n, np.int64))


class IpReassigned(NoiseType):
    """An IP address not the household's usual one (dynamic addresses reassigned, another network): a new
    documentation-range address of the same family."""

    name = "ip_reassigned"
    position = 9
    kinds = frozenset({"ip_address"})
    variants = ("ipv4", "ipv6")
    description = "a reassigned IP address (documentation ranges only)"

    def apply(self, cells: Cells) -> Change:
        n = len(cells)
        v6 = np.asarray(pc.fill_null(pc.match_substring(cells.values.cast(pa.string()), ":"), False), dtype=bool)
        u = cells.uniform(5)
        words = np.zeros(n, np.int64)
        for i in range(3):
            words |= np.floor(u[:, 2 + i] * 65536).astype(np.int64) << (16 * i)
        return Change(doc_ips(u[:, 0], u[:, 1], words, v6), np.ones(n, dtype=bool), v6.astype(np.int64))


class CookieChurn(NoiseType):
    """A cookie cleared (by the browser, the user or a privacy tool) and re-issued: of the chosen cells holding
    one cookie id (one person's cookie on one device, drawn together with the step's ``key``), those from a
    random point on (in row order, the order they were seen in) carry one new id, so the person has several
    cookie ids on the device, one after the other. A cookie seen once has nothing to churn into."""

    name = "cookie_churn"
    position = 10
    kinds = frozenset({"cookie"})
    variants = ("new_cookie",)
    description = "a cookie replaced by a new cookie id"

    def apply(self, cells: Cells) -> Change:
        n = len(cells)
        values = cells.values.cast(pa.string())
        code = np.asarray(pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False), np.int64)
        order = np.lexsort((cells.rows, code))
        sizes = np.bincount(code, minlength=int(code.max(initial=-1)) + 1)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n) - starts[code[order]]
        u = cells.uniform(4)
        first = order[starts[code]] if n else np.zeros(0, np.int64)  # the group's first cell draws for it
        split = 1 + np.floor(u[first, 0] * np.maximum(sizes[code] - 1, 1)).astype(np.int64)
        applied = (sizes[code] > 1) & (rank >= split)
        bits = np.floor(u[first, 1:] * float(1 << 43)).astype(np.uint64)  # 129 random bits, 122 used
        hi = (bits[:, 0] << np.uint64(21)) ^ bits[:, 2]
        lo = (bits[:, 1] << np.uint64(21)) ^ (bits[:, 2] >> np.uint64(21))
        return Change(uuid_text(hi, lo), applied, np.zeros(n, np.int64))


class BorrowedDevice(NoiseType):
    """A device of another household (a friend's phone, a neighbour's tablet, a hotel TV): the key of a device
    another row of the block is on, of another household and, when the step says ``by``, of a row with the
    same ``by`` value (an identifier of the same type: a cookie's device stays a browser). Rows whose pick is
    of their own household keep their device (a block of one household has no one to borrow from)."""

    name = "borrowed_device"
    position = 11
    kinds = frozenset({"device"})
    variants = ("other_household",)
    description = "a device of another household"

    def apply(self, cells: Cells) -> Change:
        n = len(cells)
        device = cells.table[cells.column]
        held = np.asarray(device.is_valid(), dtype=bool)
        by = cells.table.get(BY)
        group = (
            np.zeros(len(device), np.int64)
            if by is None
            else np.asarray(
                pc.fill_null(pc.dictionary_encode(by.cast(pa.string())).indices, -1).to_numpy(zero_copy_only=False),
                np.int64,
            )
        )
        rows = np.flatnonzero(held & (group >= 0))  # what can be borrowed: a device, of a known group
        order = rows[np.argsort(group[rows], kind="stable")]
        sizes = np.bincount(group[order], minlength=int(group.max(initial=0)) + 1)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        mine = group[cells.rows]
        size = np.where(mine >= 0, sizes[np.maximum(mine, 0)], 0)
        pick = starts[np.maximum(mine, 0)] + np.floor(cells.uniform() * np.maximum(size, 1)).astype(np.int64)
        other = order[np.minimum(pick, max(len(order) - 1, 0))] if len(order) else cells.rows
        ids = np.asarray(device.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        own = np.asarray(cells.values.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        applied = (size > 0) & (ids[other] // DEVICE_SLOTS != own // DEVICE_SLOTS)
        return Change(pa.array(ids[other], cells.values.type), applied, np.zeros(n, np.int64))
