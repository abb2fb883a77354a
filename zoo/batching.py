"""Training batches and exact evaluation windows over a 1-D array of token ids.

Conventions (the whole project's): ``ids`` is a NumPy int64 array of N tokens; the targets are
``ids[1:]`` (the first token has no context), so a full evaluation scores exactly N-1 tokens. Inputs
``x`` and targets ``y`` have shape ``(B, T)`` with ``y[b, t] = ids[i + 1]`` when ``x[b, t] = ids[i]``.
Everything returned is an int64 (or bool) array on the requested device; models wrap them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from tinygrad_lm import Generator, parse_device, to_device


class Batch(NamedTuple):
    """Inputs ``x`` (B, T), targets ``y`` (B, T), and ``mask`` (B, T): True where ``y`` is scored."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray


def _as_ids(ids: np.ndarray, min_length: int, **sizes: int) -> np.ndarray:
    for name, size in sizes.items():
        if size < 1:
            raise ValueError(f"{name} must be at least 1, got {size}")
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D integer array, got shape {ids.shape} and dtype {ids.dtype}")
    if len(ids) < min_length:
        raise ValueError(f"need at least {min_length} tokens, got {len(ids)}")
    return ids.astype(np.int64, copy=False)


def _on(device: str, *arrays: np.ndarray) -> tuple:
    device = parse_device(device)
    return tuple(to_device(np.ascontiguousarray(a), device) for a in arrays)


def random_windows(
    ids: np.ndarray, batch_size: int, context_length: int, generator: Generator, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """``batch_size`` windows at uniform random starts ``i in [0, N - T - 1]``:
    ``x[b] = ids[i : i + T]``, ``y[b] = ids[i + 1 : i + T + 1]``; same generator state, same batch."""
    ids = _as_ids(ids, context_length + 1, batch_size=batch_size, context_length=context_length)
    starts = generator.integers(0, len(ids) - context_length, (batch_size,), np.int64, "cpu")
    window = starts[:, None] + np.arange(context_length + 1)
    tokens = ids[window]
    return _on(device, tokens[:, :-1], tokens[:, 1:])


def stream_windows(
    ids: np.ndarray, batch_size: int, context_length: int, device: str = "cpu"
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Truncated-BPTT batches: ``ids`` cut into ``B`` contiguous streams of ``L = (N - 1) // B``
    inputs each; window ``j`` is ``x[b] = ids[b L + j T : b L + (j + 1) T]`` (y shifted by one), so
    row ``b`` of window ``j + 1`` continues row ``b`` of window ``j`` and a hidden state can be carried.
    Only full windows are yielded (``L // T`` of them); the ragged tail is dropped."""
    ids = _as_ids(ids, batch_size * context_length + 1, batch_size=batch_size, context_length=context_length)
    stream_length = (len(ids) - 1) // batch_size
    starts = np.arange(batch_size) * stream_length
    for j in range(stream_length // context_length):
        window = starts[:, None] + j * context_length + np.arange(context_length + 1)
        tokens = ids[window]
        yield _on(device, tokens[:, :-1], tokens[:, 1:])


def eval_window_plan(
    n_tokens: int, context_length: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Window starts ``a_k`` and first scored offsets ``f_k`` of a sliding-window evaluation.

    Window ``k`` has inputs ``ids[a_k : a_k + T]`` and targets ``ids[a_k + 1 : a_k + T + 1]``; it scores
    offsets ``t >= f_k``. Starts are ``0, s, 2s, ...``, the last one moved back to ``N - 1 - T`` so
    every window is full; ``f_k`` skips the targets earlier windows scored, so each target ``1..N-1``
    is scored once and (after the first window) with at least ``T - s`` tokens of context before it.
    With ``s = T`` windows do not overlap. If ``N - 1 < T`` there is one window of width ``N - 1``.
    """
    stride = context_length if stride is None else stride
    if not 1 <= stride <= context_length:
        raise ValueError(f"stride must be in [1, context_length={context_length}], got {stride}")
    n_targets = n_tokens - 1
    if n_targets <= context_length:
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    last_start = n_targets - context_length
    starts = np.arange(0, last_start + stride, stride, dtype=np.int64)
    starts = np.minimum(starts[: np.searchsorted(starts, last_start) + 1], last_start)
    scored_up_to = np.concatenate([[0], starts[:-1] + context_length])  # targets 1..this already scored
    return starts, scored_up_to - starts


def eval_windows(
    ids: np.ndarray, context_length: int, batch_size: int, stride: int | None = None, device: str = "cpu"
) -> Iterator[Batch]:
    """Batches ``(x, y, mask)`` of the windows of ``eval_window_plan``: ``mask[b, t] = t >= f_k``.

    Summing the loss over ``mask`` across all batches gives the exact loss of the N-1 targets. All
    windows have width ``T`` (``min(T, N - 1)``); the last batch may hold fewer than ``B`` rows.
    """
    ids = _as_ids(ids, 2, batch_size=batch_size, context_length=context_length)
    starts, score_from = eval_window_plan(len(ids), context_length, stride)
    width = min(context_length, len(ids) - 1)
    offsets = np.arange(width)
    for k in range(0, len(starts), batch_size):
        a, f = starts[k : k + batch_size, None], score_from[k : k + batch_size, None]
        yield Batch(*_on(device, ids[a + offsets], ids[a + offsets + 1], offsets >= f))


def eval_streams(
    ids: np.ndarray, batch_size: int, context_length: int, device: str = "cpu"
) -> Iterator[Batch]:
    """Stateful (RNN) evaluation: targets ``1..N-1`` cut into ``B`` contiguous streams of at most
    ``L = ceil((N-1) / B)`` targets; stream ``b`` scores targets ``1 + b L ...`` in order.

    Window ``j`` holds offsets ``j T .. j T + T - 1`` of every stream (the last window is narrower);
    ``mask`` is False past a stream's end (those positions are padding, token 0). Carrying the hidden
    state from window ``j`` to ``j + 1`` gives each target its whole history within its stream.
    """
    ids = _as_ids(ids, 2, batch_size=batch_size, context_length=context_length)
    n_targets = len(ids) - 1
    stream_length = -(-n_targets // batch_size)
    first_target = 1 + np.arange(batch_size)[:, None] * stream_length
    end = np.minimum(first_target + stream_length, len(ids))  # one past each stream's last target
    for j in range(0, stream_length, context_length):
        target = first_target + j + np.arange(min(context_length, stream_length - j))
        mask = target < end
        safe = np.where(mask, target, 1)
        yield Batch(*_on(device, np.where(mask, ids[safe - 1], 0), np.where(mask, ids[safe], 0), mask))
