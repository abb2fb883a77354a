"""The per-order tables of the count-based n-gram: discounts, counts of counts, and lookups.

``OrderTable`` holds one order's sorted keys with their counts and the per-history sums the
estimates need (``zoo.models.ngram`` gives the formulas); ``find``/``gather`` look keys up with
``searchsorted``. Memory: 16 bytes per n-gram (an int64 key and an int64 count) and 24 bytes per
distinct history (key, ``T(h)``, ``gamma(h)``), 32 with the wide keys' context table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinygrad_lm import get_xp

FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # D_r = r / 2, KenLM's --discount_fallback default


def kn_discounts(n1: int, n2: int) -> tuple[float, float, float]:
    """Kneser-Ney's single discount ``D = n1 / (n1 + 2 n2)``, as ``(D, D, D)``.

    Fallback: with no singletons (``n1 = 0``) the formula gives ``D = 0`` (or 0/0), which would leave
    no mass for the lower order; the order then uses ``FALLBACK_DISCOUNTS[0] = 0.5``.
    """
    if n1 == 0:
        return (FALLBACK_DISCOUNTS[0],) * 3
    single = n1 / (n1 + 2 * n2)
    return (single, single, single)


def modified_kn_discounts(n1: int, n2: int, n3: int, n4: int) -> tuple[float, float, float]:
    """Chen & Goodman's three discounts from the counts of counts ``n_1 .. n_4`` of one order::

        Y = n1 / (n1 + 2 n2),  D1 = 1 - 2 Y n2 / n1,  D2 = 2 - 3 Y n3 / n2,  D3+ = 3 - 4 Y n4 / n3

    Fallback rule (the one of KenLM's ``--discount_fallback``): the closed form always gives
    ``D_r <= r``; when it is undefined (``n1``, ``n2`` or ``n3`` is 0) or some ``D_r <= 0`` -- which
    happens with character vocabularies at low orders, e.g. Tiny Shakespeare's unigram continuation
    counts ``n = (3, 1, 2, 1)`` give ``D2 = -1.6`` -- the whole order uses ``D_r = r / 2``, i.e.
    ``(0.5, 1, 1.5)``. One constant triple rather than clamping keeps ``D1 <= D2 <= D3+`` and every
    discount strictly inside ``(0, r]``: mass always flows to the lower order.
    """
    if min(n1, n2, n3) == 0:
        return FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2 * n2)
    discounts = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    return discounts if min(discounts) > 0 else FALLBACK_DISCOUNTS


def counts_of_counts(counts: Any) -> tuple[int, int, int, int]:
    """``(n_1, n_2, n_3, n_4)``: how many entries of ``counts`` equal 1, 2, 3, 4."""
    xp = get_xp(counts)
    return tuple(int(xp.count_nonzero(counts == r)) for r in range(1, 5))


@dataclass(frozen=True)
class OrderTable:
    """The counts of one order ``m`` and the per-history sums the estimates need.

    ``keys`` (G,) sorted int64 m-gram keys ``history * V + w``, ``counts`` (G,) int64;
    ``history_keys`` (H,) sorted histories ``keys // V`` (unique); ``totals`` (H,) ``T(h)``;
    ``gamma`` (H,) ``gamma_m(h) = D1 N_1(h) + D2 N_2(h) + D3+ N_3+(h)``; ``discount_by_count`` (4,)
    ``[0, D1, D2, D3+]``, indexed by ``min(c, 3)``; ``context_keys`` (H,) only with wide keys: the
    sorted codes ``rank(h') * V + h_1`` whose index is the history's rank (see ``ngram_keys``).
    """

    keys: Any
    counts: Any
    history_keys: Any
    totals: Any
    gamma: Any
    discount_by_count: Any
    context_keys: Any = None

    @classmethod
    def build(
        cls, keys: Any, counts: Any, vocab_size: int, discounts: tuple[float, ...], context_keys: Any = None
    ) -> OrderTable:
        xp = get_xp(keys)
        histories = keys // vocab_size  # sorted, since keys are
        is_first = xp.ones(len(keys), dtype=bool)
        is_first[1:] = histories[1:] != histories[:-1]
        starts = xp.flatnonzero(is_first)

        def per_history(values: Any) -> Any:  # sum of ``values`` over each run of equal histories
            cumulative = xp.concatenate([xp.zeros(1, dtype=values.dtype), xp.cumsum(values)])
            return cumulative[xp.concatenate([starts[1:], xp.asarray([len(keys)])])] - cumulative[starts]

        n_by_count = [per_history((xp.minimum(counts, 3) == r).astype(xp.int64)) for r in (1, 2, 3)]
        gamma = sum(d * n for d, n in zip(discounts, n_by_count, strict=True)).astype(xp.float64)
        return cls(
            keys=keys,
            counts=counts,
            history_keys=histories[starts],
            totals=per_history(counts).astype(xp.float64),
            gamma=gamma,
            discount_by_count=xp.asarray((0.0, *discounts)),
            context_keys=context_keys,
        )


def find(sorted_keys: Any, queries: Any) -> tuple[Any, Any]:
    """``(index, found)`` shaped like ``queries``: ``sorted_keys[index] == query`` where ``found``."""
    xp = get_xp(queries)
    if len(sorted_keys) == 0:
        return xp.zeros(queries.shape, dtype=xp.int64), xp.zeros(queries.shape, dtype=bool)
    index = xp.minimum(xp.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    return index, sorted_keys[index] == queries


def gather(values: Any, index: Any, found: Any) -> Any:
    """``values[index]`` where ``found``, else 0 (``values`` may be empty when nothing is found)."""
    xp = get_xp(index)
    if len(values) == 0:
        return xp.zeros(index.shape, dtype=values.dtype)
    return xp.where(found, values[index], 0)
