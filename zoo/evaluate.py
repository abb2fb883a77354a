"""Exact evaluation of any language model on a token sequence.

Every model is scored on the same targets: ``ids[1:]`` of the validation ids (the first token has
no context), each exactly once. With L the summed negative log-likelihood in nats,

    nats per token   = L / (N - 1)
    perplexity       = exp(nats per token)
    bits per char    = L / (characters of the scored text) / ln 2

For a character tokenizer characters equal tokens; for BPE the characters are counted in the
decoded text of the targets.

* n-gram models answer ``score(ids)`` (log-probabilities of ids[1:]) directly;
* attention models are run over sliding windows (``zoo.batching.eval_windows``) with stride T/2, so
  every target after the first window sees at least T/2 tokens of context;
* recurrent models are run over contiguous streams (``zoo.batching.eval_streams``) with the hidden
  state carried from window to window, so every target sees its whole stream's history.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import asnumpy

from .batching import eval_streams, eval_windows


def evaluate(
    model: Any,
    ids: np.ndarray,
    tokenizer: Any = None,
    batch_size: int = 32,
    stride: int | None = None,
    device: str = "cpu",
) -> dict:
    """``{"nats_per_token", "bits_per_char", "perplexity", "tokens", "characters"}`` over ``ids[1:]``."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < 2:
        raise ValueError(f"evaluate: need at least 2 tokens to score one, got {len(ids)}")
    total_nats = float(-summed_log_likelihood(model, ids, batch_size, stride, device))
    tokens = len(ids) - 1
    characters = tokens if tokenizer is None else len(tokenizer.decode(ids[1:]))
    nats_per_token = total_nats / tokens
    return {
        "nats_per_token": nats_per_token,
        "bits_per_char": total_nats / characters / math.log(2),
        "perplexity": math.exp(nats_per_token) if nats_per_token < 709 else math.inf,  # exp(709.8) overflows
        "tokens": tokens,
        "characters": characters,
    }


def summed_log_likelihood(
    model: Any, ids: np.ndarray, batch_size: int = 32, stride: int | None = None, device: str = "cpu"
) -> float:
    """sum_i log p(ids[i] | context) over i = 1..N-1, in nats."""
    if hasattr(model, "score"):
        return float(np.sum(model.score(ids)))
    was_training = model.training
    model.eval()
    try:
        with tg.no_grad():
            if getattr(model, "recurrent", False):
                return _streamed(model, ids, batch_size, device)
            return _windowed(model, ids, batch_size, stride, device)
    finally:
        model.train(was_training)


def _target_log_probs(logits: tg.Tensor, y: Any) -> np.ndarray:
    """log softmax(logits)[b, t, y[b, t]] as a NumPy (B, T) array."""
    log_probs = logits.log_softmax(-1)
    return asnumpy(log_probs.gather(-1, y[..., None]).data[..., 0]).astype(np.float64)


def _windowed(model: Any, ids: np.ndarray, batch_size: int, stride: int | None, device: str) -> float:
    context = model.context_length
    stride = max(1, context // 2) if stride is None else stride
    total = 0.0
    for x, y, mask in eval_windows(ids, context, batch_size, stride, device):
        logits, _ = model(tg.as_tensor(x))
        total += float(_target_log_probs(logits, y)[asnumpy(mask)].sum())
    return total


def _streamed(model: Any, ids: np.ndarray, batch_size: int, device: str) -> float:
    batch_size = max(1, min(batch_size, (len(ids) - 1) // 2))
    state, total = None, 0.0
    for x, y, mask in eval_streams(ids, batch_size, model.context_length, device):
        logits, state = model.forward_stateful(tg.as_tensor(x), state)
        total += float(_target_log_probs(logits, y)[asnumpy(mask)].sum())
    return total
