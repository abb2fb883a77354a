"""Synthetic sources: stationarity, exact entropy rates, sampling statistics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tinygrad_lm.backend import Generator
from zoo.synthetic import ALPHABET, LongRangeSource, MarkovSource, symbols_to_text


def batch_means_bound(losses: np.ndarray, n_blocks: int = 50) -> float:
    """4 standard errors of the mean of a (weakly dependent) sequence, estimated from block means."""
    blocks = losses[: len(losses) // n_blocks * n_blocks].reshape(n_blocks, -1).mean(axis=1)
    return 4 * blocks.std(ddof=1) / math.sqrt(n_blocks)


@pytest.mark.parametrize(("order", "vocab", "seed"), [(0, 5, 0), (1, 8, 1), (2, 6, 2), (3, 4, 3)])
def test_stationary_distribution_is_stationary(order, vocab, seed):
    source = MarkovSource(order, vocab, seed)
    pi = source.stationary
    flowed = np.zeros_like(pi)
    for s in range(source.n_states):
        for x in range(vocab):
            flowed[(s * vocab + x) % source.n_states] += pi[s] * source.transition[s, x]
    assert pi.shape == (vocab**order,)
    assert np.all(pi >= 0) and pi.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(flowed, pi, atol=1e-12)


def test_dense_and_power_iteration_agree():
    source = MarkovSource(2, 5, seed=4)
    np.testing.assert_allclose(source._solve_stationary_dense(), source.stationary, atol=1e-12)


def test_slowly_mixing_chain_falls_back_to_exact_solve():
    source = MarkovSource(1, 3, seed=0, concentration=0.01)
    flowed = source.stationary @ source.transition  # order 1: next state = next symbol
    np.testing.assert_allclose(flowed, source.stationary, atol=1e-12)


@pytest.mark.parametrize(("order", "vocab", "seed"), [(1, 4, 0), (2, 8, 0), (3, 3, 5)])
def test_markov_empirical_entropy_converges_to_rate(order, vocab, seed):
    source = MarkovSource(order, vocab, seed)
    symbols = source.sample(200_000, Generator(seed))
    losses = -source.log_probs(symbols)
    assert abs(losses.mean() - source.entropy_rate) < batch_means_bound(losses)


def test_markov_entropy_rate_by_hand_for_order_zero():
    source = MarkovSource(0, 4, seed=3)
    p = source.transition[0]
    assert source.entropy_rate == pytest.approx(-(p * np.log(p)).sum())
    assert source.entropy_rate < math.log(4)


def test_markov_sample_is_seeded_and_in_range():
    source = MarkovSource(2, 8, seed=0)
    a, b = source.sample(5_000, Generator(7)), source.sample(5_000, Generator(7))
    assert a.dtype == np.int64 and a.shape == (5_000,)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() < 8
    assert not np.array_equal(a, source.sample(5_000, Generator(8)))


def test_markov_empirical_transitions_match():
    source = MarkovSource(1, 3, seed=2)
    x = source.sample(300_000, Generator(0))
    counts = np.zeros((3, 3))
    np.add.at(counts, (x[:-1], x[1:]), 1)
    empirical = counts / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(empirical, source.transition, atol=0.01)
    np.testing.assert_allclose(np.bincount(x, minlength=3) / len(x), source.stationary, atol=0.01)


def test_markov_rejects_too_many_states():
    with pytest.raises(ValueError, match="too large"):
        MarkovSource(order=5, vocab=8)
    with pytest.raises(ValueError, match="vocab >= 2"):
        MarkovSource(order=1, vocab=1)


def brute_force_longrange_rate(vocab: int, distance: int, p: float) -> float:
    """H(X_L | X_<L) = H(X_1..X_L) - H(X_1..X_{L-1}) from the exact joint law, L = distance + 2."""

    def next_prob(history, x):
        t = len(history)
        if t < distance:
            return 1 / vocab
        return p * (history[t - distance] == x) + (1 - p) / vocab

    def joint_entropy(length):
        h = 0.0
        for seq in itertools.product(range(vocab), repeat=length):
            prob = math.prod(next_prob(seq[:t], seq[t]) for t in range(length))
            h -= prob * math.log(prob)
        return h

    length = distance + 2
    return joint_entropy(length) - joint_entropy(length - 1)


@pytest.mark.parametrize(("vocab", "distance", "p"), [(2, 1, 0.3), (3, 2, 0.6), (4, 2, 0.0), (2, 3, 0.9)])
def test_longrange_closed_form_matches_brute_force(vocab, distance, p):
    source = LongRangeSource(vocab, distance, p)
    assert source.entropy_rate == pytest.approx(brute_force_longrange_rate(vocab, distance, p), abs=1e-10)


def test_longrange_empirical_entropy_and_copy_rate():
    source = LongRangeSource(vocab=6, distance=5, p_copy=0.7)
    x = source.sample(200_000, Generator(1))
    losses = -source.log_probs(x)
    assert abs(losses.mean() - source.entropy_rate) < batch_means_bound(losses)
    agree = np.mean(x[5:] == x[:-5])
    assert agree == pytest.approx(0.7 + 0.3 / 6, abs=0.005)
    assert np.bincount(x, minlength=6) / len(x) == pytest.approx(np.full(6, 1 / 6), abs=0.01)


def test_longrange_is_not_predictable_at_shorter_distances():
    x = LongRangeSource(vocab=4, distance=3, p_copy=0.9).sample(100_000, Generator(0))
    for lag in (1, 2):
        assert np.mean(x[lag:] == x[:-lag]) == pytest.approx(0.25, abs=0.01)


def test_symbols_to_text_is_one_increasing_character_per_symbol():
    assert symbols_to_text(np.array([0, 1, 25])) == "abz"
    assert list(ALPHABET) == sorted(ALPHABET) and len(set(ALPHABET)) == len(ALPHABET)
    text = symbols_to_text(np.arange(300))
    assert len(text) == 300 and all(c.isprintable() for c in text)
    with pytest.raises(ValueError):
        symbols_to_text(np.array([len(ALPHABET)]))


def test_describe_mentions_entropy_rate():
    assert "nats" in MarkovSource(1, 4).describe()
    assert "nats" in LongRangeSource(4, 2, 0.5).describe()
