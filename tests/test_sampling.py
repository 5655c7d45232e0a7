"""Samplers draw at the requested frequencies, per group."""

import numpy as np
import pytest

from pii_gen.core.sampling import GroupedSampler, Sampler, categorical_by_row


def test_sampler_frequencies():
    s = Sampler(np.array([1.0, 0.0, 3.0]))
    draws = s.sample(np.random.default_rng(0), 200_000)
    freq = np.bincount(draws, minlength=3) / len(draws)
    assert freq[1] == 0
    assert freq[2] == pytest.approx(0.75, abs=0.005)


def test_sampler_rejects_bad_weights():
    with pytest.raises(ValueError):
        Sampler(np.array([0.0, 0.0]))
    with pytest.raises(ValueError):
        Sampler(np.array([1.0, -1.0]))


def test_grouped_sampler_keeps_rows_in_their_group():
    groups = np.array([0, 0, 1, 1, 1, 3])
    weights = np.array([1.0, 1.0, 1.0, 2.0, 0.0, 5.0])
    items = np.array([10, 11, 20, 21, 22, 30])
    gs = GroupedSampler(groups, weights, 4, items=items)
    rng = np.random.default_rng(1)
    g = rng.choice([0, 1, 3], 100_000)
    out = gs.sample(rng, g)
    assert set(out[g == 0]) == {10, 11}
    assert set(out[g == 1]) == {20, 21}  # zero weight never drawn
    assert set(out[g == 3]) == {30}
    assert np.mean(out[g == 1] == 21) == pytest.approx(2 / 3, abs=0.01)
    assert not gs.has_group(np.array([2]))[0]
    with pytest.raises(ValueError):
        gs.sample(rng, np.array([2]))


def test_categorical_by_row():
    probs = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    rows = np.repeat(probs, 10_000, axis=0)
    out = categorical_by_row(np.random.default_rng(2), rows)
    assert (out[:10_000] == 1).all()
    assert set(out[10_000:]) == {0, 2}
