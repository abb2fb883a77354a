"""How the n-gram names its n-grams: int64 codes where ``V^n`` fits, wide (ranked) keys otherwise.

**Codes** (the fast path): ``(w_1 .. w_m)`` is ``sum_j w_j V^(m-j)``, its history ``code // V`` and its
suffix ``code % V^(m-1)``; needs ``V^n <= 2^63 - 1`` (a 65-character vocabulary up to order 10, a
1,024-token one up to order 6, a 10,000-word one up to order 4).

**Wide keys** (any vocabulary): a history is named by its *rank* among the distinct histories of its
length seen in training, built from the right, the way a prediction extends its context::

    rank(h_1 .. h_j) = index of  rank(h_2 .. h_j) * V + h_1  in the sorted context table of length j
    key(h w)         = rank(h) * V + w          (< H V <= N V: never overflows for a real text)

so ``key // V`` is still the history and lookups stay one ``searchsorted`` per order; a context never
seen in training has no rank, and neither has any longer context containing it. Both schemes count
the same n-grams, so they give the same tables up to the naming, and the same probabilities.

Counting (``count_ngrams``): raw counts at every order (``addk``) or, for Kneser-Ney, raw counts at
the highest order and continuation counts ``N_1+(. u)`` below, where the text's first m-gram counts
one more left context (the start of the text).
"""

from __future__ import annotations

from typing import Any

from tinygrad_lm import get_xp

INT64_MAX = 2**63 - 1
KEY_SCHEMES = ("auto", "codes", "wide")


def codes_fit(vocab_size: int, order: int) -> bool:
    """Whether every n-gram code ``< V^n`` fits an int64."""
    return vocab_size**order <= INT64_MAX


def ngram_codes(ids: Any, m: int, vocab_size: int) -> Any:
    """Codes of all ``len(ids) - m + 1`` m-grams of ``ids`` (1-D int64), in order of position."""
    xp = get_xp(ids)
    count = len(ids) - m + 1
    if count <= 0:
        return xp.zeros(0, dtype=xp.int64)
    codes = ids[:count].copy()
    for j in range(1, m):
        codes *= vocab_size
        codes += ids[j : j + count]
    return codes


def continuation_counts(higher_types: Any, first_code: Any, m: int, vocab_size: int) -> tuple[Any, Any]:
    """``N_1+(. u)`` for every m-gram ``u``: the distinct (m+1)-grams ``higher_types`` ending in ``u``,
    plus one for ``first_code``, the text's first m-gram (its left context is the start of text).

    Returns the sorted unique m-gram codes and their continuation counts; the codes are also every
    distinct m-gram of the text, the ``higher_types`` of the next order down."""
    xp = get_xp(higher_types)
    suffixes = xp.concatenate([higher_types % vocab_size**m, first_code])
    return xp.unique(suffixes, return_counts=True)


def count_ngrams(ids: Any, order: int, vocab_size: int, kneser_ney: bool, wide: bool) -> list[tuple]:
    """``[(keys, counts, context_keys), ...]`` for m = 1 .. order; ``context_keys`` is None for codes."""
    if wide:
        return _count_wide(ids, order, vocab_size, kneser_ney)
    xp = get_xp(ids)
    if not kneser_ney:
        return [
            (*xp.unique(ngram_codes(ids, m, vocab_size), return_counts=True), None)
            for m in range(1, order + 1)
        ]
    counted = [xp.unique(ngram_codes(ids, order, vocab_size), return_counts=True)]
    for m in range(order - 1, 0, -1):
        first_code = ngram_codes(ids[:m], m, vocab_size)  # empty when the text is shorter
        counted.append(continuation_counts(counted[-1][0], first_code, m, vocab_size))
    return [(keys, counts, None) for keys, counts in counted[::-1]]


def wide_keys(ids: Any, order: int, vocab_size: int) -> list[tuple[Any, Any]]:
    """``[(key_m, context_keys_m), ...]`` for m = 1 .. order: ``key_m[i]`` (N-m+1,) is the wide key of
    the m-gram ending at position ``i + m - 1``; ``context_keys_m`` the sorted table of its histories
    (None for m = 1, whose only history is the empty one, rank 0)."""
    xp = get_xp(ids)
    n = len(ids)
    if n * vocab_size > INT64_MAX:
        raise ValueError(f"{n} tokens x a vocabulary of {vocab_size} overflow even the wide n-gram keys")
    rank = xp.zeros(n, dtype=xp.int64)  # rank of the context of length j - 1 before each position
    out = [(ids.copy(), None)]
    for j in range(1, order):  # context length j = m - 1
        if n <= j:
            empty = xp.zeros(0, dtype=xp.int64)
            out.append((empty, empty))
            continue
        codes = rank[j:] * vocab_size + ids[: n - j]
        # not unique(codes) then searchsorted: NumPy 2's hashing unique is ~50x slower than its sort
        context_keys, inverse = xp.unique(codes, return_inverse=True)
        rank = xp.concatenate([xp.full(j, -1, dtype=xp.int64), inverse.reshape(-1).astype(xp.int64)])
        out.append((rank[j:] * vocab_size + ids[j:], context_keys))
    return out


def _count_wide(ids: Any, order: int, vocab_size: int, kneser_ney: bool) -> list[tuple]:
    xp = get_xp(ids)
    by_order = wide_keys(ids, order, vocab_size)
    if not kneser_ney:
        return [(*xp.unique(keys, return_counts=True), context) for keys, context in by_order]
    top_keys, top_context = by_order[-1]
    counted = [(*xp.unique(top_keys, return_counts=True), top_context)]
    for m in range(order - 1, 0, -1):
        types, higher_context = counted[-1][0], counted[-1][2]  # the distinct (m+1)-grams
        # the suffix of (h_1 .. h_m, w): rank(h_2 .. h_m) = context_keys[rank(h)] // V, then w
        suffixes = (higher_context[types // vocab_size] // vocab_size) * vocab_size + types % vocab_size
        first = by_order[m - 1][0][:1]  # the text's first m-gram: one more left context
        counted.append(
            (*xp.unique(xp.concatenate([suffixes, first]), return_counts=True), by_order[m - 1][1])
        )
    return counted[::-1]
