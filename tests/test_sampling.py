"""zoo.sampling.sample_next: temperature, top-k, top-p and inverse-CDF draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_lm import backend
from tinygrad_lm.backend import Generator
from zoo.sampling import sample_next


def draw_counts(log_probs: list[float], n: int, seed: int = 0, **kwargs) -> np.ndarray:
    """How often each token comes out of ``n`` draws (one batch of ``n`` identical rows)."""
    scores = np.tile(np.asarray(log_probs, dtype=np.float64), (n, 1))
    tokens = sample_next(scores, generator=Generator(seed), **kwargs)
    return np.bincount(tokens, minlength=len(log_probs))


def chi_square(observed: np.ndarray, expected_probs: np.ndarray) -> float:
    expected = expected_probs * observed.sum()
    support = expected > 0
    assert observed[~support].sum() == 0, "a token of probability 0 was drawn"
    return float((((observed - expected) ** 2)[support] / expected[support]).sum())


def test_output_is_int64_per_row_and_reproducible_with_a_seeded_generator():
    scores = np.random.default_rng(0).normal(size=(64, 10))
    first = sample_next(scores, generator=Generator(123))
    again = sample_next(scores, generator=Generator(123))
    other = sample_next(scores, generator=Generator(124))
    assert first.dtype == np.int64 and first.shape == (64,)
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()


def test_default_generator_is_the_backends_and_reseedable():
    scores = np.zeros((32, 50))
    backend.manual_seed(7)
    first = sample_next(scores)
    backend.manual_seed(7)
    np.testing.assert_array_equal(sample_next(scores), first)


def test_frequencies_match_the_probabilities():
    probs = np.array([0.5, 0.25, 0.15, 0.1])
    counts = draw_counts(np.log(probs).tolist(), 100_000)
    # 3 degrees of freedom: P(chi2 > 16.3) = 0.001
    assert chi_square(counts, probs) < 16.3


def test_temperature_reshapes_the_distribution():
    probs = np.array([0.6, 0.3, 0.1])
    counts = draw_counts(np.log(probs).tolist(), 100_000, temperature=2.0)
    tempered = np.sqrt(probs) / np.sqrt(probs).sum()  # p^(1/T), renormalised
    assert chi_square(counts, tempered) < 13.8  # 2 dof, P = 0.001


def test_top_k_renormalises_over_the_k_most_probable():
    probs = np.array([0.1, 0.4, 0.05, 0.3, 0.15])
    counts = draw_counts(np.log(probs).tolist(), 50_000, top_k=2)
    assert chi_square(counts, np.array([0, 4, 0, 3, 0]) / 7) < 10.8  # 1 dof, P = 0.001


def test_top_p_keeps_the_smallest_head_reaching_the_mass():
    probs = np.array([0.1, 0.4, 0.05, 0.3, 0.15])
    # descending 0.4, 0.3, 0.15 ...: 0.4 + 0.3 = 0.7 < 0.75 <= 0.85, so three tokens stay
    counts = draw_counts(np.log(probs).tolist(), 50_000, top_p=0.75)
    assert chi_square(counts, np.array([0, 0.4, 0, 0.3, 0.15]) / 0.85) < 13.8
    only_top = draw_counts(np.log(probs).tolist(), 1000, top_p=0.01)
    assert only_top[1] == 1000


def test_zero_probability_tokens_are_never_drawn():
    scores = np.tile([-np.inf, 0.0, -np.inf, 0.0, -np.inf], (20_000, 1))
    tokens = sample_next(scores, generator=Generator(3))
    assert set(np.unique(tokens)) == {1, 3}


def test_temperature_zero_is_argmax_with_the_first_maximum_on_ties():
    scores = np.array([[0.0, 3.0, 1.0, 3.0], [5.0, -1.0, 2.0, 4.0]])
    np.testing.assert_array_equal(sample_next(scores, temperature=0), [1, 0])
    np.testing.assert_array_equal(sample_next(scores, temperature=0, top_k=2, top_p=0.1), [1, 0])


def test_temperature_tending_to_zero_behaves_like_argmax():
    scores = np.random.default_rng(1).normal(size=(200, 30))
    for seed in range(3):
        tokens = sample_next(scores, temperature=1e-4, generator=Generator(seed))
        np.testing.assert_array_equal(tokens, scores.argmax(axis=1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": -0.5},
        {"temperature": math.nan},
        {"top_k": 0},
        {"top_k": 1.5},
        {"top_p": 0.0},
        {"top_p": 1.01},
        {"top_p": -0.2},
    ],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        sample_next(np.zeros((2, 3)), **kwargs)


def test_bad_scores_raise():
    with pytest.raises(ValueError, match="shape"):
        sample_next(np.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        sample_next(np.array([[0.0, 1.0], [-np.inf, -np.inf]]))


def allowed_tokens(probs: np.ndarray, top_k: int | None, top_p: float | None) -> set[int]:
    """The tokens a filter keeps, by plain Python walks over one row of probabilities."""
    kept = {i for i, p in enumerate(probs) if p > 0}
    if top_k is not None and top_k < len(probs):
        kth = sorted(probs, reverse=True)[top_k - 1]
        kept = {i for i in kept if probs[i] >= kth}
    if top_p is not None:
        ranked = sorted(kept, key=lambda i: -probs[i])
        total = sum(probs[i] for i in ranked)
        mass, head = 0.0, []
        for i in ranked:
            head.append(i)
            mass += probs[i]
            if mass >= top_p * total:
                break
        kept = {i for i in kept if probs[i] >= probs[head[-1]]}
    return kept


@settings(max_examples=60, deadline=None)
@given(
    logits=st.lists(st.sampled_from([-np.inf, -3.0, -1.0, 0.0, 0.5, 2.0]), min_size=1, max_size=12),
    temperature=st.sampled_from([0.5, 1.0, 3.0]),
    top_k=st.none() | st.integers(1, 12),
    top_p=st.none() | st.floats(0.05, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_filtered_tokens_are_never_drawn(logits, temperature, top_k, top_p, seed):
    scores = np.asarray(logits)
    assume(np.isfinite(scores).any())
    probs = np.exp((scores - scores.max()) / temperature)
    if top_p is not None:  # stay away from mass boundaries, where rounding could decide
        after_top_k = probs[sorted(allowed_tokens(probs, top_k, None))]
        boundaries = np.cumsum(np.sort(after_top_k)[::-1]) / after_top_k.sum()
        assume(np.abs(boundaries - top_p).min() > 1e-9)
    allowed = allowed_tokens(probs, top_k, top_p)
    tokens = sample_next(np.tile(scores, (300, 1)), temperature, top_k, top_p, Generator(seed))
    assert set(tokens.tolist()) <= allowed


@pytest.mark.gpu
def test_cupy_draws_match_numpy():
    if not backend.cuda.is_available():
        pytest.skip("CUDA not available")
    import cupy

    scores = np.random.default_rng(2).normal(size=(500, 40))
    for kwargs in ({}, {"top_k": 5}, {"top_p": 0.8, "temperature": 0.7}, {"temperature": 0}):
        on_gpu = sample_next(cupy.asarray(scores), generator=Generator(9), **kwargs)
        assert isinstance(on_gpu, cupy.ndarray) and on_gpu.dtype == np.int64
        np.testing.assert_array_equal(on_gpu.get(), sample_next(scores, generator=Generator(9), **kwargs))
