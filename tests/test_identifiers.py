"""Identifier rules: strict values are well-formed but can never be issued."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gen.packs.person import identifiers as ids
from pii_gen.core.text import digits


def _parts(strings):
    a = np.array([s.split("-") for s in strings], dtype=np.int64)
    return a[:, 0], a[:, 1], a[:, 2]


def test_strict_ssn_space_is_exactly_the_never_issued_numbers():
    index = np.arange(ids.STRICT_SSN_SPACE)
    area, group, serial = ids.strict_ssn_parts(index)
    assert not ids.ssn_is_issuable(area, group, serial).any()
    assert not ids.itin_shaped(area, group).any()
    codes = area * 1_000_000 + group * 10_000 + serial
    assert len(np.unique(codes)) == ids.STRICT_SSN_SPACE  # each never-issued number exactly once
    # ... and it is all of them: every area/group/serial combination that is not issuable.
    assert ids.STRICT_SSN_SPACE == 900 * 100 * 10_000 - 898 * 99 * 9_999


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 5_000))
def test_permutation_never_repeats(seed, n):
    params = ids.permutation_params(ids.STRICT_SSN_SPACE, np.random.default_rng(seed))
    k = np.arange(n) * 997  # spread-out ids
    out = ids.permute(k, ids.STRICT_SSN_SPACE, params)
    assert len(np.unique(out)) == n
    assert out.min() >= 0 and out.max() < ids.STRICT_SSN_SPACE


def test_realistic_ssns_are_issuable_and_avoid_known_misused():
    rng = np.random.default_rng(1)
    index = rng.integers(0, ids.REALISTIC_SSN_SPACE, 200_000)
    area, group, serial = ids.realistic_ssn_parts(index)
    assert ids.ssn_is_issuable(area, group, serial).all()
    formatted = ids.format_ssn(area, group, serial).to_pylist()
    assert not set(formatted) & set(ids.KNOWN_MISUSED_SSNS)
    # The index of 078-05-1120 itself maps elsewhere.
    i = (list(ids._ISSUABLE_AREAS).index(78) * 99 + 4) * 9_999 + 1119
    assert ids.format_ssn(*ids.realistic_ssn_parts(np.array([i]))).to_pylist() != ["078-05-1120"]


def test_ssn_formatting():
    assert ids.format_ssn(np.array([7, 666]), np.array([0, 12]), np.array([42, 0])).to_pylist() == [
        "007-00-0042",
        "666-12-0000",
    ]


def test_strict_phones_are_fictional_lines():
    rng = np.random.default_rng(2)
    phones = ids.format_phone_strict(np.array([212, 907] * 500), rng).to_pylist()
    assert all(p[3:10] == "-555-01" and len(p) == 12 for p in phones)
    assert {p[:3] for p in phones} == {"212", "907"}
    assert len({p[-2:] for p in phones}) > 50


def test_realistic_phone_exchanges_are_dialable():
    phones = ids.format_phone_realistic(np.full(20_000, 415), np.random.default_rng(3)).to_pylist()
    nxx = np.array([int(p[4:7]) for p in phones])
    assert nxx.min() >= 200 and not ((nxx % 100) == 11).any() and not (nxx == 555).any()


def test_luhn_on_known_numbers():
    known = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]
    for number in known:
        d = np.array([[int(c) for c in number]])
        assert ids.luhn_valid(d)[0]
        d[0, -1] = (d[0, -1] + 1) % 10
        assert not ids.luhn_valid(d)[0]


@pytest.mark.parametrize("strict", [True, False])
def test_cards_pass_luhn_and_prefix_policy(strict):
    cards = ids.card_numbers(5_000, np.random.default_rng(4), strict).to_pylist()
    for c in cards:
        d = np.array([[int(x) for x in c]])
        assert ids.luhn_valid(d)[0]
    if strict:
        assert all(c[0] == "0" and len(c) == 16 for c in cards)
    else:
        assert all(c[0] in "3456" for c in cards)
        assert {len(c) for c in cards} == {15, 16}


def test_aba_check_digit_on_a_published_routing_number():
    # 011000015 is the Federal Reserve Bank of Boston's routing number.
    assert ids.aba_valid(digits(np.array([11000015]), 9))[0]
    assert not ids.aba_valid(digits(np.array([11000016]), 9))[0]


@pytest.mark.parametrize("strict", [True, False])
def test_routing_numbers(strict):
    rn = ids.routing_numbers(3_000, np.random.default_rng(5), strict).to_pylist()
    d = np.array([[int(c) for c in r] for r in rn])
    assert ids.aba_valid(d).all()
    prefixes = set(d[:, 0] * 10 + d[:, 1])
    allowed = set(ids.STRICT_ROUTING_PREFIXES if strict else ids.REALISTIC_ROUTING_PREFIXES)
    assert prefixes <= allowed
