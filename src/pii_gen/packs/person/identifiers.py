"""Identifiers that look right but, in strict mode, can never be a real person's.

Rules and their sources (see README, "Safety"):

* SSN: the SSA never issues area 000, 666 or 900-999, group 00, or serial
  0000 (SSA POMS RM 10201.035; randomization since 2011 kept these rules).  Area
  9xx is the IRS's (ITIN, ATIN, IRSN), so strict SSNs never use it.  Strict SSNs
  are drawn from the never-issued set that remains: area 000 or 666, or group 00,
  or serial 0000.  Each person gets a distinct number (a seeded permutation of the
  person id over that set of 11,068,902 values).
* Phones: 555-0100 through 555-0199 are the NANPA's fictional lines.
* Cards: Luhn-valid, under ISO/IEC 7812 major industry identifier 0, which no
  card network issues under.
* Routing numbers: ABA check digit valid, first two digits 50-59, a range the
  ABA has not assigned (assigned: 00-12, 21-32, 61-72, 80).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from ...core.text import assemble, digits, fixed_width

# --- SSN -------------------------------------------------------------------

_ISSUABLE_AREAS = np.array([a for a in range(1, 900) if a != 666], dtype=np.int64)  # 898 areas
STRICT_SSN_SPACE = 900 * 10_000 + 898 * 99 + 2 * 99 * 10_000  # group 00 | serial 0000 | area 000/666
REALISTIC_SSN_SPACE = 898 * 99 * 9_999
KNOWN_MISUSED_SSNS = ("078-05-1120", "219-09-9999", "457-55-5462")


def permutation_params(space: int, rng: np.random.Generator) -> tuple[int, int]:
    """Multiplier (coprime with ``space``) and offset of an affine permutation of 0..space-1."""
    while True:
        a = int(rng.integers(space // 3, 2 * space // 3))
        if math.gcd(a, space) == 1:
            return a, int(rng.integers(0, space))


def permute(k: np.ndarray, space: int, params: tuple[int, int]) -> np.ndarray:
    """Map 0..space-1 onto itself one-to-one (values past ``space`` wrap around)."""
    a, b = params
    k = np.asarray(k, dtype=np.int64) % space
    return (k * a + b) % space  # a < space < 2**30 and k < 2**30, so no overflow


def strict_ssn_parts(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area, group and serial of the ``index``-th never-issuable SSN."""
    i = np.asarray(index, dtype=np.int64)
    area = np.empty_like(i)
    group = np.empty_like(i)
    serial = np.empty_like(i)
    a = i < 9_000_000  # group 00, any area 000-899, any serial
    area[a], group[a], serial[a] = i[a] // 10_000, 0, i[a] % 10_000
    j = i - 9_000_000
    b = (j >= 0) & (j < 898 * 99)  # serial 0000 with an otherwise issuable area and group
    area[b], group[b], serial[b] = _ISSUABLE_AREAS[j[b] // 99], j[b] % 99 + 1, 0
    k = j - 898 * 99
    c = k >= 0  # area 000 or 666, group 01-99, any serial
    area[c] = np.where(k[c] // (99 * 10_000) == 0, 0, 666)
    group[c] = (k[c] // 10_000) % 99 + 1
    serial[c] = k[c] % 10_000
    return area, group, serial


def realistic_ssn_parts(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area, group and serial of the ``index``-th structurally issuable SSN."""
    i = np.asarray(index, dtype=np.int64)
    area = _ISSUABLE_AREAS[i // (99 * 9_999)]
    group = (i // 9_999) % 99 + 1
    serial = i % 9_999 + 1
    # Numbers known to have been misused publicly are never handed out.
    bad = (
        ((area == 78) & (group == 5) & (serial == 1120))
        | ((area == 219) & (group == 9) & (serial == 9999))
        | ((area == 457) & (group == 55) & (serial == 5462))
    )
    serial = np.where(bad, serial - 1, serial)
    return area, group, serial


def format_ssn(area: np.ndarray, group: np.ndarray, serial: np.ndarray) -> pa.StringArray:
    return fixed_width(len(area), [(area, 3), "-", (group, 2), "-", (serial, 4)])


def ssn_is_issuable(area: np.ndarray, group: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """True where the SSA could have issued the number."""
    area = np.asarray(area)
    return (area > 0) & (area != 666) & (area < 900) & (np.asarray(group) > 0) & (np.asarray(serial) > 0)


def itin_shaped(area: np.ndarray, group: np.ndarray) -> np.ndarray:
    """True where the number is shaped like an IRS ITIN, ATIN or IRSN (area 9xx)."""
    return np.asarray(area) >= 900


# --- phones -----------------------------------------------------------------


def format_phone_strict(npa: np.ndarray, rng: np.random.Generator) -> pa.StringArray:
    """NPA-555-01XX: the NANPA's lines reserved for fiction."""
    return fixed_width(len(npa), [(npa, 3), "-555-01", (rng.integers(0, 100, len(npa)), 2)])


def format_phone_realistic(npa: np.ndarray, rng: np.random.Generator) -> pa.StringArray:
    """NPA-NXX-XXXX with a dialable exchange (2-9 first digit, no N11, not 555)."""
    n = len(npa)
    nxx = rng.integers(200, 1000, n)
    bad = (nxx % 100 == 11) | (nxx == 555)
    nxx = np.where(bad, nxx - 1, nxx)
    return fixed_width(n, [(npa, 3), "-", (nxx, 3), "-", (rng.integers(0, 10_000, n), 4)])


# --- cards and bank numbers ---------------------------------------------------


def luhn_check_digit(payload: np.ndarray) -> np.ndarray:
    """Check digit for an (n, k) digit matrix, so payload + check passes Luhn."""
    k = payload.shape[1]
    doubled = (np.arange(k)[::-1] % 2) == 0  # rightmost payload digit is doubled
    d = payload.copy()
    d[:, doubled] *= 2
    d[d > 9] -= 9
    return (10 - d.sum(axis=1) % 10) % 10


def luhn_valid(number_digits: np.ndarray) -> np.ndarray:
    """True where each row of an (n, k) digit matrix passes the Luhn check."""
    return luhn_check_digit(number_digits[:, :-1]) == number_digits[:, -1]


# (first digits, total length, share) of the big networks' public IIN ranges.
_REALISTIC_CARDS = (
    ("4", 16, 0.52),  # Visa
    ("51", 16, 0.06),
    ("52", 16, 0.06),
    ("53", 16, 0.06),
    ("54", 16, 0.06),
    ("55", 16, 0.05),  # Mastercard
    ("34", 15, 0.05),
    ("37", 15, 0.07),  # American Express
    ("6011", 16, 0.07),  # Discover
)


def _card(prefix: str, length: int, rng: np.random.Generator, n: int) -> pa.StringArray:
    pre = np.broadcast_to(np.array([int(c) for c in prefix], dtype=np.int64), (n, len(prefix)))
    body = rng.integers(0, 10, (n, length - len(prefix) - 1))
    payload = np.hstack([pre, body])
    return fixed_width(n, [(np.hstack([payload, luhn_check_digit(payload)[:, None]]), 0)])


def card_numbers(n: int, rng: np.random.Generator, strict: bool) -> pa.StringArray:
    """Luhn-valid card numbers: MII 0 (never issued) when strict, network ranges otherwise."""
    if strict:
        return _card("0", 16, rng, n)
    shares = np.array([s for _, _, s in _REALISTIC_CARDS])
    codes = np.searchsorted(np.cumsum(shares) / shares.sum(), rng.random(n), side="right")
    builders = {i: (lambda rows, p=p, L=L: _card(p, L, rng, len(rows))) for i, (p, L, _) in enumerate(_REALISTIC_CARDS)}
    return assemble(codes, builders)


def aba_check_digit(first8: np.ndarray) -> np.ndarray:
    """ABA routing check digit: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) = 0 mod 10."""
    w = np.array([3, 7, 1, 3, 7, 1, 3, 7])
    return (10 - (first8 * w).sum(axis=1) % 10) % 10


def aba_valid(d: np.ndarray) -> np.ndarray:
    return aba_check_digit(d[:, :8]) == d[:, 8]


STRICT_ROUTING_PREFIXES = tuple(range(50, 60))
REALISTIC_ROUTING_PREFIXES = tuple(range(1, 13)) + tuple(range(21, 33))


def routing_numbers(n: int, rng: np.random.Generator, strict: bool) -> pa.StringArray:
    prefixes = np.array(STRICT_ROUTING_PREFIXES if strict else REALISTIC_ROUTING_PREFIXES)
    first8 = np.hstack([digits(rng.choice(prefixes, n), 2), rng.integers(0, 10, (n, 6))])
    return fixed_width(n, [(np.hstack([first8, aba_check_digit(first8)[:, None]]), 0)])


def account_numbers(n: int, rng: np.random.Generator) -> pa.StringArray:
    """Twelve-digit deposit account numbers (never starting with 0)."""
    return fixed_width(n, [(rng.integers(10**11, 10**12, n), 12)])
