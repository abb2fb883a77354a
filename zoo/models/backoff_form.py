"""A fitted ``NGramLM`` in backoff form: the n-grams seen at each order, their probabilities and the
backoff weights that make ARPA's backoff rule reproduce the interpolated model exactly.

ARPA's rule (Katz's form) for a history ``h`` of ``m-1`` tokens and ``h'`` without its oldest::

    P(w | h) = p(h w)                 if the m-gram (h w) is listed
             = b(h) P(w | h')         otherwise (b(h) = 1 when h is not listed)

The interpolated Kneser-Ney estimate (``zoo.models.ngram``) is, for ``T(h) > 0``,
``P_m(w | h) = [max(c(h w) - D, 0) + gamma(h) P_{m-1}(w | h')] / T(h)``, and ``P_{m-1}(w | h')``
when ``T(h) = 0``. An m-gram never seen has ``c(h w) = 0``, so its probability is exactly
``gamma(h) / T(h) * P_{m-1}(w | h')``: listing every SEEN m-gram with ``p = P_m(w | h)`` and writing
``b(h) = gamma(h) / T(h)`` reproduces ``P_m`` at every order, by induction from the unigrams (all
``V`` of them listed, the unseen ones with their share of the uniform ``P_0``).

Everything here comes from the model's public ``probabilities`` except ``seen_ngrams``, the one
function that reads the model's internal keys. ``b(h)`` is measured, not re-derived:
``b(h) = P_m(u | h) / P_{m-1}(u | h')`` for a token ``u`` never seen after ``h``; where every token
has been seen after ``h`` the weight is never applied and is written as 1.

Add-k is not a backoff model: an unseen history gets the uniform ``1/V`` where ARPA's rule would
back off to the shorter history, so only its order 1 has an exact backoff form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_lm import asnumpy


@dataclass(frozen=True)
class BackoffOrder:
    """The m-grams listed at one order: ``ngrams`` (G, m) int64 token ids sorted row by row (oldest
    token first); ``log10_prob`` (G,) ``log10 P_m(w | h)``; ``log10_backoff`` (G,) ``log10 b`` of each
    m-gram as a history of order m+1 (None at the highest order)."""

    ngrams: np.ndarray
    log10_prob: np.ndarray
    log10_backoff: np.ndarray | None


def seen_ngrams(model: Any, m: int) -> np.ndarray:
    """The distinct m-grams the model counted at order ``m`` as (G, m) token ids, sorted row by row.

    THE accessor of ``NGramLM``'s internals (``zoo.models.ngram_keys``): ``model.tables[m - 1].keys``
    holds int64 codes ``sum_j w_j V^(m-j)`` (sorted codes are sorted rows), decoded digit by digit, or
    wide keys ``rank(h) V + w``, whose history ranks are decoded through the context tables of the
    shorter orders (each entry ``rank(h_2 .. h_j) V + h_1``) and the rows then sorted."""
    keys = asnumpy(model.tables[m - 1].keys).astype(np.int64)
    vocab = model.vocab_size
    if not model.wide:
        return np.stack([(keys // vocab ** (m - 1 - j)) % vocab for j in range(m)], axis=1)
    columns, rank = [], keys // vocab
    for length in range(m - 1, 0, -1):  # the history h_1 .. h_{m-1}, oldest token first
        entry = asnumpy(model.tables[length].context_keys).astype(np.int64)[rank]
        columns.append(entry % vocab)
        rank = entry // vocab
    rows = np.stack([*columns, keys % vocab], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def row_keys(rows: np.ndarray) -> np.ndarray:
    """One comparable key per row of non-negative ints (big-endian bytes sort like the numbers), so
    ``searchsorted`` finds rows in row-sorted arrays."""
    rows = np.ascontiguousarray(rows.astype(">i8"))
    return rows.view(f"V{8 * rows.shape[1]}").ravel()


def first_unseen_continuation(ngrams: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct history of the sorted (G, m) ``ngrams``: the history (H, m-1) and the
    smallest token never seen after it, or ``vocab_size`` where all were seen."""
    history = ngrams[:, :-1]
    starts = np.flatnonzero(np.r_[True, (history[1:] != history[:-1]).any(axis=1)])
    sizes = np.diff(np.r_[starts, len(ngrams)])
    rank = np.arange(len(ngrams)) - np.repeat(starts, sizes)  # tokens 0..rank-1 all seen before it
    gap = np.where(ngrams[:, -1] != rank, rank, vocab_size)  # a rank whose token skips one
    return history[starts], np.minimum(np.minimum.reduceat(gap, starts), sizes)  # no skip: the next


def _probabilities(model: Any, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``P(targets[i] | contexts[i])`` (G,) from the model's public method, for NumPy rows."""
    return asnumpy(model.probabilities(contexts.astype(np.int64), targets.astype(np.int64)[:, None]))[:, 0]


def backoff_weights(model: Any, histories: np.ndarray, unseen: np.ndarray) -> np.ndarray:
    """``log10 b(h) = log10 P_m(u | h) - log10 P_{m-1}(u | h')`` for histories (H, m-1) and their unseen
    tokens ``u`` (0 where ``u == V``: every token was seen after h, the weight is never applied)."""
    weights = np.zeros(len(histories))
    has_gap = unseen < model.vocab_size
    if has_gap.any():
        h, u = histories[has_gap], unseen[has_gap]
        longer, shorter = _probabilities(model, h, u), _probabilities(model, h[:, 1:], u)
        weights[has_gap] = np.log10(longer) - np.log10(shorter)
    return weights


def backoff_form(model: Any) -> list[BackoffOrder]:
    """The listed m-grams of every order 1..n of a fitted ``NGramLM`` (``kn``/``mkn``, or ``addk`` of
    order 1), with probabilities and backoff weights; index m-1 holds order m."""
    if model.smoothing == "addk" and model.order > 1:
        raise ValueError(
            "add-k has no exact ARPA form above order 1: an unseen history gets the uniform 1/V, while "
            "ARPA's rule backs off to the shorter history; export a kn or mkn model instead"
        )
    vocab = model.vocab_size
    grams = [np.arange(vocab)[:, None]] + [seen_ngrams(model, m) for m in range(2, model.order + 1)]
    orders = []
    for m, ngrams in enumerate(grams, start=1):
        log10_prob = np.log10(_probabilities(model, ngrams[:, :-1], ngrams[:, -1]))
        log10_backoff = None
        if m < model.order:  # each m-gram as a history of order m + 1: 0 where it never is one
            histories, unseen = first_unseen_continuation(grams[m], vocab)
            log10_backoff = np.zeros(len(ngrams))
            keys, wanted = row_keys(ngrams), row_keys(histories)
            where = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            if not (keys[where] == wanted).all():  # every seen history is a seen m-gram
                raise RuntimeError(f"order {m + 1} has a history that order {m} never counted")
            log10_backoff[where] = backoff_weights(model, histories, unseen)
        orders.append(BackoffOrder(ngrams, log10_prob, log10_backoff))
    return orders
