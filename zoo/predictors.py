"""Next-token distributions for coding: the compressor and the decompressor must get the same float64
numbers, bit for bit, at every step, or the decoder goes astray.

A predictor is fed the tokens one at a time (``push``) and answers the distribution of the next one
(``next_probs``, (V,) float64). Both sides of the coder drive it with the same calls in the same
order, so any model whose arithmetic is deterministic for a fixed sequence of calls decodes exactly:

* ``NGramPredictor`` recomputes ``NGramLM.probabilities`` for one context from the model's tables,
  with the same float64 operations on the same operands (IEEE addition, multiplication and division
  are exactly rounded, so the result does not depend on the batch); ``ngram_probabilities`` is the
  batched path of the compressor, the model's own ``probabilities`` over every position at once.
* ``NeuralPredictor`` carries the model's decoding state (``start_decoding``/``continue_decoding``:
  the recurrent state, the GPT's key/value cache) one token at a time on both sides; a
  non-recurrent model whose window is full restarts on the last half of it. The first token has no
  context, so its distribution is uniform. Logits become probabilities by a float64 softmax.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import asnumpy


def softmax64(logits: np.ndarray) -> np.ndarray:
    """p = exp(l - max l) / sum exp(l - max l), in float64."""
    shifted = np.exp(logits.astype(np.float64) - np.max(logits))
    return shifted / shifted.sum()


class NGramOrder:
    """One order of an ``NGramLM``'s tables, arranged for one-history lookups: the row of each history,
    the range of its continuations in ``keys``, and their discounted counts."""

    def __init__(self, table: Any, vocab_size: int) -> None:
        keys, counts = asnumpy(table.keys), asnumpy(table.counts)
        history_keys = asnumpy(table.history_keys)
        self.rows = dict(zip(history_keys.tolist(), range(len(history_keys)), strict=True))
        self.starts = np.searchsorted(keys, history_keys * vocab_size).tolist() + [len(keys)]
        self.tokens = keys % vocab_size
        self.counts = counts
        discount = asnumpy(table.discount_by_count)
        self.discounted = np.maximum(counts - discount[np.minimum(counts, 3)], 0.0)  # as probabilities()
        self.totals = asnumpy(table.totals).tolist()
        self.gamma = asnumpy(table.gamma).tolist()


class NGramPredictor:
    """``NGramLM.probabilities`` of one context at a time, bit-identical to the batched call.

    ``P_m`` depends only on the last ``m - 1`` tokens, so the distributions of the orders below the
    top one are remembered per (order, history): an exact cache (a hit returns the very numbers a
    recomputation would), emptied when it holds ``CACHE_LIMIT`` of them. A step then computes the top
    order, and the lower ones only for histories not met before.
    """

    CACHE_LIMIT = 100_000

    def __init__(self, model: Any) -> None:
        self.model, self.vocab_size = model, model.vocab_size
        self.orders = [NGramOrder(table, self.vocab_size) for table in model.tables]
        self.cache: dict[tuple[int, int], np.ndarray] = {}
        self.history: list[int] = []

    def push(self, token: int) -> None:
        self.history.append(int(token))
        if len(self.history) > self.model.context_length:
            self.history.pop(0)

    def next_probs(self) -> np.ndarray:
        top = min(len(self.orders), len(self.history) + 1)  # the highest order with a full history
        codes = [0]  # codes[m - 1]: the history of order m, as in ``probabilities``
        for m in range(2, top + 1):
            codes.append(codes[-1] + self.history[-(m - 1)] * self.vocab_size ** (m - 2))
        cached_top = min(top, max(1, len(self.orders) - 1))
        start = cached_top
        while start >= 1 and (start, codes[start - 1]) not in self.cache:
            start -= 1
        probs = (
            self.cache[start, codes[start - 1]] if start else np.full(self.vocab_size, 1.0 / self.vocab_size)
        )
        if len(self.cache) >= self.CACHE_LIMIT:
            self.cache.clear()
        for m in range(start + 1, cached_top + 1):
            probs = self._orders(probs, codes, m, m)
            self.cache[m, codes[m - 1]] = probs
        return self._orders(probs, codes, cached_top + 1, top)

    def _orders(self, probs: np.ndarray, codes: list[int], first: int, last: int) -> np.ndarray:
        """Apply the estimates of orders ``first .. last`` to the lower-order ``probs``."""
        addk = self.model.smoothing == "addk"
        for m in range(first, last + 1):
            order = self.orders[m - 1]
            row = order.rows.get(codes[m - 1])
            if addk:
                probs = self._addk(order, row)
            elif row is not None:
                probs = self._kneser_ney(order, row, probs)
        return probs

    def _continuations(self, order: NGramOrder, row: int) -> slice:
        return slice(order.starts[row], order.starts[row + 1])

    def _kneser_ney(self, order: NGramOrder, row: int, lower: np.ndarray) -> np.ndarray:
        """(max(c - D, 0) + gamma P_lower) / T: the terms of ``probabilities`` (0 + x = x for unseen w)."""
        mixed = order.gamma[row] * lower
        span = self._continuations(order, row)
        tokens = order.tokens[span]
        mixed[tokens] = order.discounted[span] + mixed[tokens]
        return mixed / order.totals[row]

    def _addk(self, order: NGramOrder, row: int | None) -> np.ndarray:
        """(c + k) / (T + k V), with c = T = 0 for an unseen history."""
        k = self.model.k
        counts = np.zeros(self.vocab_size, dtype=np.int64)
        total = 0.0
        if row is not None:
            span = self._continuations(order, row)
            counts[order.tokens[span]] = order.counts[span]
            total = order.totals[row]
        return (counts + k) / (total + k * self.vocab_size)


def ngram_probabilities(model: Any, ids: np.ndarray, chunk: int = 4096) -> Iterator[np.ndarray]:
    """The n-gram's distributions (P, V) float64 of positions 0 .. len(ids), in chunks: position j is
    the distribution of ``ids[j]`` given ``ids[:j]`` (position len(ids): the one after the last)."""
    width, vocab = model.context_length, model.vocab_size
    padded = np.concatenate([np.full(width, -1, dtype=np.int64), np.asarray(ids, dtype=np.int64)])
    candidates = np.arange(vocab, dtype=np.int64)[None, :]
    for start in range(0, len(ids) + 1, chunk):
        stop = min(start + chunk, len(ids) + 1)
        contexts = np.zeros((stop - start, width), dtype=np.int64)
        for j in range(width):  # contexts[p, j] = ids[start + p - width + j], -1 before the start
            contexts[:, j] = padded[start + j : stop + j]
        yield asnumpy(model.probabilities(contexts, np.repeat(candidates, stop - start, axis=0)))


class NeuralPredictor:
    """A neural model's next-token distribution, carrying its decoding state one token at a time."""

    def __init__(self, model: Any) -> None:
        self.model, self.vocab_size = model, model.vocab_size
        model.eval()
        self.window, self.device = model.context_length, model.device()
        self.tokens: list[int] = []
        self.state: Any = None
        self.probs = np.full(self.vocab_size, 1.0 / self.vocab_size)

    def push(self, token: int) -> None:
        self.tokens.append(int(token))
        with tg.no_grad():
            if self.state is None or self._window_full():
                kept = self.tokens[-max(1, self.window // 2) :] if self.state is not None else self.tokens
                self.span = len(kept)
                logits, self.state = self.model.start_decoding(self._ids([kept]))
            else:
                self.span += 1
                logits, self.state = self.model.continue_decoding(self._ids([token]), self.state)
        self.probs = softmax64(asnumpy(logits.data)[0])

    def _ids(self, tokens: list) -> tg.Tensor:
        return tg.as_tensor(tg.to_device(np.array(tokens, dtype=np.int64), self.device))

    def _window_full(self) -> bool:
        return not getattr(self.model, "recurrent", False) and self.span >= self.window

    def next_probs(self) -> np.ndarray:
        return self.probs


def predictor_for(model: Any) -> NGramPredictor | NeuralPredictor:
    """The step-by-step predictor of a zoo model (the n-gram has ``tables``; the others are neural)."""
    return NGramPredictor(model) if hasattr(model, "tables") else NeuralPredictor(model)
