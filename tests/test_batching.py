"""Batching: random and streamed training windows; exact evaluation (every target scored once)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lm.backend import Generator, asnumpy, cuda, device_of, parse_device
from zoo.batching import eval_streams, eval_window_plan, eval_windows, random_windows, stream_windows


def tagged_ids(n: int) -> np.ndarray:
    """Tokens that tell their own position (``position = (value - 3) // 7``); padding 0 tells -1."""
    return np.arange(n, dtype=np.int64) * 7 + 3


def positions(values: np.ndarray) -> np.ndarray:
    return (values - 3) // 7


def test_random_windows_shapes_shift_and_seed():
    ids = np.random.default_rng(0).permutation(100).astype(np.int64)
    x, y = random_windows(ids, 4, 8, Generator(0))
    assert x.shape == y.shape == (4, 8) and x.dtype == y.dtype == np.int64
    index_of = {v: i for i, v in enumerate(ids)}
    for row_x, row_y in zip(x, y, strict=True):
        start = index_of[row_x[0]]
        np.testing.assert_array_equal(row_x, ids[start : start + 8])
        np.testing.assert_array_equal(row_y, ids[start + 1 : start + 9])
    x2, _ = random_windows(ids, 4, 8, Generator(0))
    np.testing.assert_array_equal(x, x2)


def test_random_windows_reach_both_ends_and_reject_short_input():
    ids = np.arange(10)
    x, y = random_windows(ids, 500, 9, Generator(1))
    assert x[:, 0].min() == 0 and y[:, -1].max() == 9
    with pytest.raises(ValueError, match="at least 10 tokens"):
        random_windows(np.arange(9), 1, 9, Generator(0))


def test_stream_windows_continue_row_by_row():
    ids = np.arange(103)
    batches = list(stream_windows(ids, batch_size=4, context_length=5))
    assert len(batches) == (102 // 4) // 5
    for b in range(4):
        row = np.concatenate([x[b] for x, _ in batches])
        np.testing.assert_array_equal(row, np.arange(b * 25, b * 25 + 25))
        np.testing.assert_array_equal(np.concatenate([y[b] for _, y in batches]), row + 1)


def check_eval_batches(ids, batches):
    """Every target 1..N-1 scored once, and each scored target's inputs are its true predecessors."""
    scored = []
    for x, y, mask in batches:
        assert x.shape == y.shape == mask.shape and mask.dtype == bool
        np.testing.assert_array_equal(positions(y), positions(x) + 1)  # y is x shifted (where real)
        for b, t in zip(*np.nonzero(mask), strict=True):
            pos = positions(y[b, t])
            np.testing.assert_array_equal(x[b, : t + 1], ids[pos - t - 1 : pos])
            scored.append(pos)
    np.testing.assert_array_equal(np.sort(scored), np.arange(1, len(ids)))


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 120),
    context=st.integers(1, 20),
    batch=st.integers(1, 6),
    stride_fraction=st.floats(0.0, 1.0),
)
def test_eval_windows_score_every_target_once(n, context, batch, stride_fraction):
    stride = max(1, round(stride_fraction * context))
    ids = tagged_ids(n)
    batches = list(eval_windows(ids, context, batch, stride=stride))
    check_eval_batches(ids, batches)
    for _, _, mask in batches:
        assert mask.shape[0] <= batch and mask.shape[1] == min(context, n - 1)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 200), context=st.integers(1, 16), stride_fraction=st.floats(0.0, 1.0))
def test_eval_window_plan_gives_each_scored_target_enough_context(n, context, stride_fraction):
    stride = max(1, round(stride_fraction * context))
    starts, score_from = eval_window_plan(n, context, stride)
    assert np.all(np.diff(starts) > 0) and score_from[0] == 0
    assert np.all(score_from[1:] >= context - stride)  # >= T - stride tokens precede each scored one
    assert np.all(score_from < min(context, n - 1))  # every window scores something


def test_non_overlapping_windows_when_stride_equals_context():
    starts, score_from = eval_window_plan(41, 10)
    np.testing.assert_array_equal(starts, [0, 10, 20, 30])
    np.testing.assert_array_equal(score_from, [0, 0, 0, 0])
    starts, score_from = eval_window_plan(45, 10)  # ragged end: last window moved back, overlap masked
    np.testing.assert_array_equal(starts, [0, 10, 20, 30, 34])
    np.testing.assert_array_equal(score_from, [0, 0, 0, 0, 6])


def test_eval_windows_rejects_bad_stride():
    with pytest.raises(ValueError, match="stride"):
        list(eval_windows(np.arange(50), 8, 2, stride=9))
    with pytest.raises(ValueError, match="stride"):
        list(eval_windows(np.arange(50), 8, 2, stride=0))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(2, 150), context=st.integers(1, 12), batch=st.integers(1, 8))
def test_eval_streams_score_every_target_once_with_full_stream_history(n, context, batch):
    ids = tagged_ids(n)
    batches = list(eval_streams(ids, batch, context))
    scored = []
    for b in range(batch):
        x = np.concatenate([xb[b] for xb, _, _ in batches])
        y = np.concatenate([yb[b] for _, yb, _ in batches])
        mask = np.concatenate([m[b] for _, _, m in batches])
        assert not mask[np.argmin(mask) :].any() or mask.all()  # padding only at the end
        real = np.flatnonzero(mask)
        if real.size:
            first = positions(x[0])
            np.testing.assert_array_equal(x[real], ids[first : first + real.size])  # contiguous history
            np.testing.assert_array_equal(y[real], ids[first + 1 : first + 1 + real.size])
            scored.extend(positions(y[real]))
    np.testing.assert_array_equal(np.sort(scored), np.arange(1, n))
    assert all(m.shape[0] == batch and m.shape[1] <= context for _, _, m in batches)


def test_sizes_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        list(eval_windows(np.arange(10), 4, 0))
    with pytest.raises(ValueError, match="context_length must be at least 1"):
        list(eval_streams(np.arange(10), 2, 0))


@pytest.mark.gpu
def test_windows_land_on_the_requested_device():
    if not cuda.is_available():
        pytest.skip("CUDA not available")
    ids = np.arange(200)
    x, y = random_windows(ids, 4, 8, Generator(0), device="cuda")
    assert device_of(x) == device_of(y) == parse_device("cuda")
    x_cpu, _ = random_windows(ids, 4, 8, Generator(0))
    np.testing.assert_array_equal(asnumpy(x), x_cpu)
    batch = next(eval_windows(ids, 8, 4, device="cuda"))
    assert all(device_of(a) == parse_device("cuda") for a in batch)


def test_eval_batches_are_int64_and_mask_sum_is_n_minus_one():
    ids = np.arange(1000) % 13
    for batches in (eval_windows(ids, 64, 8, stride=16), eval_streams(ids, 8, 64)):
        total = 0
        for x, y, mask in batches:
            assert x.dtype == y.dtype == np.int64
            total += int(mask.sum())
        assert total == 999
