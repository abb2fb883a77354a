"""The range coder alone: round trips and cost against hypothesis-drawn distributions, the quantisation
bound, corrupted streams, and (when installed) the size an independent range coder gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zoo.coding import (
    MAX_TOTAL,
    TERMINATION_BYTES,
    CorruptStreamError,
    RangeDecoder,
    RangeEncoder,
    cost_bits,
    cumulative,
    decode_symbol,
    frequencies,
    row_cumulative,
)


@st.composite
def coded_steps(draw, max_steps: int = 400):
    """(probabilities (N, V), symbols (N,)): random, often very skewed distributions."""
    vocab = draw(st.integers(1, 300))
    steps = draw(st.integers(0, max_steps))
    seed = draw(st.integers(0, 2**32 - 1))
    sharpness = draw(st.sampled_from([0.01, 0.3, 1.0, 5.0, 30.0]))
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(steps, vocab)) * sharpness
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    skewed = draw(st.booleans())  # symbols drawn from the distributions, or uniformly (often unlikely)
    symbols = np.array(
        [rng.choice(vocab, p=row) if skewed else rng.integers(vocab) for row in probs], dtype=np.int64
    )
    return probs, symbols


def encode_all(freqs: np.ndarray, symbols: np.ndarray) -> bytes:
    cum = cumulative(freqs)
    encoder = RangeEncoder()
    for row, symbol in zip(cum, symbols, strict=True):
        encoder.encode(int(row[symbol]), int(row[symbol + 1] - row[symbol]), int(row[-1]))
    return encoder.finish()


def decode_all(data: bytes, freqs: np.ndarray) -> list[int]:
    decoder = RangeDecoder(data)
    return [decode_symbol(decoder, row) for row in cumulative(freqs)]


@settings(max_examples=150, deadline=None)
@given(coded_steps())
def test_round_trip_and_cost_within_the_stated_bound(case):
    probs, symbols = case
    freqs = frequencies(probs)
    data = encode_all(freqs, symbols)
    assert decode_all(data, freqs) == symbols.tolist()
    totals = freqs.sum(axis=1)
    ideal = sum(cost_bits(int(f[s]), int(t)) for f, s, t in zip(freqs, symbols, totals, strict=True))
    truncation = len(symbols) * -math.log2(1 - 2.0**-32)
    assert len(data) <= (ideal + truncation) / 8 + TERMINATION_BYTES
    assert len(data) >= ideal / 8 - 8  # a code cannot beat the entropy by more than its final state


@settings(max_examples=200, deadline=None)
@given(coded_steps(max_steps=50))
def test_quantisation_overhead_within_the_stated_bound(case):
    probs, _ = case
    freqs = frequencies(probs)
    vocab = probs.shape[1]
    assert (freqs >= 1).all() and (freqs.sum(axis=1) <= MAX_TOTAL).all()
    q = freqs / freqs.sum(axis=1, keepdims=True)
    overhead = np.log2(probs) - np.log2(q)  # -log2 q - (-log2 p)
    assert (overhead <= -math.log2(1 - vocab / MAX_TOTAL) + 1e-12).all()
    reserved = frequencies(probs, reserve=1)
    q = reserved / (reserved.sum(axis=1, keepdims=True) + 1)  # the escape's 1 in the total
    assert (np.log2(probs) - np.log2(q) <= -math.log2(1 - (vocab + 1) / MAX_TOTAL) + 1e-12).all()


def test_frequencies_of_a_batch_equal_those_of_each_row():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(66, 0.1), size=500)
    batch = frequencies(probs)
    assert all(np.array_equal(frequencies(row[None])[0], batch[i]) for i, row in enumerate(probs))


@pytest.mark.parametrize("vocab", [1, 4, 64, 65, 256])
@pytest.mark.parametrize("reserve", [0, 1, 3])
def test_totals_leave_room_for_the_reserved_symbols(vocab, reserve):
    uniform = np.full((1, vocab), 1.0 / vocab)  # K divisible by V: no rounding loss at all
    certain = np.eye(vocab)[:1]
    for probs in (uniform, certain):
        assert frequencies(probs, reserve).sum() + reserve <= MAX_TOTAL
        cum = row_cumulative(probs[0], extra=reserve)
        assert cum[-1] <= MAX_TOTAL and np.array_equal(
            cum[: vocab + 1], cumulative(frequencies(probs, reserve))[0]
        )


def test_frequencies_reject_nan_and_negative():
    with pytest.raises(ValueError, match="finite"):
        frequencies(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="finite"):
        frequencies(np.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="sum to at most 1"):
        frequencies(np.array([0.6, 0.5]))  # a total past 2^24 would not fit the coder


def test_empty_stream_is_empty_and_a_certain_symbol_costs_almost_nothing():
    assert RangeEncoder().finish() == b""
    freqs = np.array([[MAX_TOTAL - 1, 1]] * 1000)
    data = encode_all(freqs, np.zeros(1000, dtype=np.int64))
    assert len(data) <= TERMINATION_BYTES
    assert decode_all(data, freqs) == [0] * 1000


def test_uniform_values_round_trip():
    values = [0, 255, 17, 0x10FFFF, 3]
    totals = [256, 256, 256, 0x110000, 4]
    encoder = RangeEncoder()
    for value, total in zip(values, totals, strict=True):
        encoder.encode_uniform(value, total)
    decoder = RangeDecoder(encoder.finish())
    assert [decoder.decode_uniform(total) for total in totals] == values


def test_encode_rejects_an_empty_interval():
    with pytest.raises(ValueError, match="start"):
        RangeEncoder().encode(3, 0, 10)
    with pytest.raises(ValueError, match="start"):
        RangeEncoder().encode(0, 1, MAX_TOTAL + 1)


def test_a_stream_pointing_past_every_symbol_is_an_error():
    decoder = RangeDecoder(b"\xff" * 16)
    decoder.range, decoder.code = 5, 4  # r = 5 // 2 = 2, so the target 4 // 2 = 2 is past the total 2
    with pytest.raises(CorruptStreamError, match="corrupted"):
        decode_symbol(decoder, np.array([0, 1, 2]))


@settings(max_examples=30, deadline=None)
@given(coded_steps(max_steps=300))
def test_size_matches_an_independent_range_coder(case):
    constriction = pytest.importorskip("constriction")
    probs, symbols = case
    assume(len(symbols) > 0 and probs.shape[1] > 1)  # constriction needs a symbol and two outcomes
    freqs = frequencies(probs)
    freqs[np.arange(len(freqs)), freqs.argmax(axis=1)] += MAX_TOTAL - freqs.sum(axis=1)  # total 2^24
    encoder = constriction.stream.queue.RangeEncoder()
    for row, symbol in zip(freqs, symbols, strict=True):  # f / 2^24 is exact: the same quantisation
        model = constriction.stream.model.Categorical(row / MAX_TOTAL, perfect=True)
        encoder.encode(np.array([symbol], dtype=np.int32), model)
    theirs = 4 * len(encoder.get_compressed())  # 32-bit words
    ours = len(encode_all(freqs, symbols))
    assert abs(ours - theirs) <= 8
