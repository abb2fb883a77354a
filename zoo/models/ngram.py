"""Count-based n-gram language models: add-k, interpolated Kneser-Ney, interpolated modified KN.

Notation: ``h`` is a history of ``m-1`` tokens, ``w`` the next token, ``h'`` the history without its
first (oldest) token, ``V`` the vocabulary size, ``c`` the counts of order ``m`` and
``T(h) = sum_w c(h w)``, ``N_r(h) = |{w : c(h w) = r}|``, ``N_3+(h) = |{w : c(h w) >= 3}|``.

``addk`` (Lidstone), at the highest order available (the full order, or a shorter history at the
start of a sequence), with raw counts::

    P(w | h) = (c(h w) + k) / (T(h) + k V)

``kn`` and ``mkn`` (Chen & Goodman 1998, as KenLM's interpolated estimates)::

    P_0(w)     = 1 / V
    P_m(w | h) = [ max(c(h w) - D_m(c(h w)), 0) + gamma_m(h) P_{m-1}(w | h') ] / T(h)  if T(h) > 0
               = P_{m-1}(w | h')                                                     otherwise
    gamma_m(h) = D_m(1) N_1(h) + D_m(2) N_2(h) + D_m(3+) N_3+(h)

The highest order uses raw counts; every lower order ``m < n`` uses continuation counts
``c(u) = N_1+(. u)``, the number of distinct tokens seen before ``u``, where the start of the text
counts as one more left context (KenLM's ``<s>``). A history shorter than ``n-1`` (the start of a
sequence) is scored by the lower-order model of its length. Discounts come from the counts of
counts ``n_r`` of each order's own counts (see ``kn_discounts`` and ``modified_kn_discounts``);
every discount lies in ``(0, r]``, so each ``P_m`` sums to 1 and no token gets probability 0.

Implementation: an m-gram ``(w_1 .. w_m)`` is one int64 code ``sum_j w_j V^(m-j)`` (so ``V^n`` must
fit in int64), its history is ``code // V`` and its suffix ``code % V^(m-1)``. Each order keeps its
sorted unique codes with their counts; lookups are ``searchsorted``. Everything runs through
``xp = get_xp(ids)``, on NumPy or CuPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import Generator, asnumpy, device_of, get_xp, parse_device, to_device

from ..sampling import sample_next

SMOOTHINGS = ("addk", "kn", "mkn")
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # D_r = r / 2, KenLM's --discount_fallback default
_INT64_MAX = 2**63 - 1


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


def counts_of_counts(counts: Any) -> tuple[int, int, int, int]:
    """``(n_1, n_2, n_3, n_4)``: how many entries of ``counts`` equal 1, 2, 3, 4."""
    xp = get_xp(counts)
    return tuple(int(xp.count_nonzero(counts == r)) for r in range(1, 5))


@dataclass(frozen=True)
class OrderTable:
    """The counts of one order ``m`` and the per-history sums the estimates need.

    ``keys`` (G,) sorted int64 m-gram codes, ``counts`` (G,) int64; ``history_keys`` (H,) sorted
    codes of the histories ``h`` (``keys // V``, unique); ``totals`` (H,) ``T(h)``; ``gamma`` (H,)
    ``gamma_m(h) = D1 N_1(h) + D2 N_2(h) + D3+ N_3+(h)``; ``discount_by_count`` (4,)
    ``[0, D1, D2, D3+]``, indexed by ``min(c, 3)``.
    """

    keys: Any
    counts: Any
    history_keys: Any
    totals: Any
    gamma: Any
    discount_by_count: Any

    @classmethod
    def build(cls, keys: Any, counts: Any, vocab_size: int, discounts: tuple[float, ...]) -> OrderTable:
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


class NGramLM:
    """An order-``n`` count-based language model (``n >= 1``): ``smoothing`` in ``SMOOTHINGS``,
    ``k > 0`` the pseudo-count of ``addk``. Token ids are ints in ``[0, vocab_size)``.

    All public outputs are NumPy arrays; the counts live on the device of the ids given to ``fit``.
    """

    def __init__(self, order: int, smoothing: str = "mkn", k: float = 1.0) -> None:
        if isinstance(order, bool) or int(order) != order or order < 1:
            raise ValueError(f"order must be an integer >= 1, got {order!r}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        if not (np.isfinite(k) and k > 0):
            raise ValueError(f"k must be a finite number > 0, got {k}")
        self.order, self.smoothing, self.k = int(order), smoothing, float(k)
        self.vocab_size: int | None = None
        self.tables: list[OrderTable] = []  # tables[m - 1] holds order m

    @property
    def context_length(self) -> int:
        """How many previous tokens a prediction looks at: ``order - 1``."""
        return self.order - 1

    # ----------------------------------------------------------------------------------- fitting
    def fit(self, train_ids: Any, vocab_size: int | None = None) -> NGramLM:
        """Count the n-grams of ``train_ids`` (1-D ints, NumPy or CuPy); ``vocab_size`` defaults to
        ``max(train_ids) + 1``. Returns ``self``."""
        self.vocab_size, self.tables = None, []
        ids = self._as_ids(train_ids, device=None)
        xp = get_xp(ids)
        vocab_size = int(ids.max()) + 1 if vocab_size is None and len(ids) else vocab_size
        if vocab_size is None or vocab_size < 1:
            raise ValueError("vocab_size must be >= 1 (pass it when the training ids are empty)")
        if len(ids) and int(ids.max()) >= vocab_size:
            raise ValueError(f"token id {int(ids.max())} >= vocab_size {vocab_size}")
        if vocab_size**self.order > _INT64_MAX:
            raise ValueError(
                f"vocab_size**order = {vocab_size}**{self.order} does not fit the int64 n-gram codes: "
                "lower the order or the vocabulary size"
            )
        self.vocab_size = vocab_size
        if self.smoothing == "addk":
            counted = [
                xp.unique(ngram_codes(ids, m, vocab_size), return_counts=True)
                for m in range(1, self.order + 1)
            ]
        else:
            counted = self._kneser_ney_counts(ids, vocab_size)
        self._build_tables([keys for keys, _ in counted], [counts for _, counts in counted])
        return self

    def _kneser_ney_counts(self, ids: Any, vocab_size: int) -> list[tuple[Any, Any]]:
        """Raw counts at the highest order, continuation counts below; ordered by m = 1 .. n."""
        xp = get_xp(ids)
        counted = [xp.unique(ngram_codes(ids, self.order, vocab_size), return_counts=True)]
        for m in range(self.order - 1, 0, -1):
            first_code = ngram_codes(ids[:m], m, vocab_size)  # empty when the text is shorter
            counted.append(continuation_counts(counted[-1][0], first_code, m, vocab_size))
        return counted[::-1]

    def _build_tables(self, keys_by_order: list[Any], counts_by_order: list[Any]) -> None:
        self.tables = []
        for keys, counts in zip(keys_by_order, counts_by_order, strict=True):
            counts = counts.astype(get_xp(counts).int64)
            if self.smoothing == "mkn":
                discounts = modified_kn_discounts(*counts_of_counts(counts))
            elif self.smoothing == "kn":
                discounts = kn_discounts(*counts_of_counts(counts)[:2])
            else:
                discounts = (0.0, 0.0, 0.0)
            self.tables.append(OrderTable.build(keys, counts, self.vocab_size, discounts))

    # ------------------------------------------------------------------------------ probabilities
    def probabilities(self, contexts: Any, targets: Any) -> Any:
        """``P(targets[p, j] | contexts[p])`` -> (P, K) float64, on the model's device.

        ``contexts`` (P, L) int64 holds the ``L`` tokens before each prediction, oldest first, with
        ``-1`` as left padding where fewer exist; only the last ``order - 1`` columns are used.
        ``targets`` (P, K) int64 are the tokens whose probability is wanted.
        """
        self._check_fitted()
        xp = get_xp(targets)
        vocab = self.vocab_size
        probs = xp.full(targets.shape, 1.0 / vocab)  # P_0, the uniform distribution
        history = xp.zeros(contexts.shape[0], dtype=xp.int64)  # code of the last m-1 tokens
        available = xp.ones(contexts.shape[0], dtype=bool)  # rows with m-1 tokens of context
        for m, table in enumerate(self.tables, start=1):
            if m > 1:
                if m - 1 > contexts.shape[1]:
                    break
                token = contexts[:, -(m - 1)]
                available &= token >= 0
                history += token * vocab ** (m - 2)
            row, history_seen = find(table.history_keys, history)
            totals = gather(table.totals, row, history_seen)[:, None]
            counts = gather(table.counts, *find(table.keys, history[:, None] * vocab + targets))
            if self.smoothing == "addk":
                estimate = (counts + self.k) / (totals + self.k * vocab)
                probs = xp.where(available[:, None], estimate, probs)
            else:
                gamma = gather(table.gamma, row, history_seen)[:, None]
                discounted = xp.maximum(counts - table.discount_by_count[xp.minimum(counts, 3)], 0.0)
                seen = available[:, None] & (totals > 0)
                probs = xp.where(seen, (discounted + gamma * probs) / xp.where(seen, totals, 1.0), probs)
        return probs

    def next_token_probs(self, context_ids: Any) -> np.ndarray:
        """The distribution (V,) float64 of the token after ``context_ids`` (any length, even 0)."""
        context = self._as_ids(context_ids, device=self.device)
        xp = get_xp(context)
        contexts = self._left_padded(context[None, :])
        probs = self.probabilities(contexts, xp.arange(self.vocab_size, dtype=xp.int64)[None, :])
        return asnumpy(probs[0])

    def score(self, ids: Any) -> np.ndarray:
        """``log P(ids[i] | ids[max(0, i-order+1):i])`` in nats for i = 1 .. len-1 -> (len-1,) float64."""
        ids = self._as_ids(ids, device=self.device)
        xp = get_xp(ids)
        if len(ids) < 2:
            return np.zeros(0)
        width = self.context_length
        padded = xp.concatenate([xp.full(width, -1, dtype=xp.int64), ids])
        contexts = xp.empty((len(ids) - 1, width), dtype=xp.int64)
        for j in range(width):  # contexts[i - 1, j] = ids[i - width + j], or -1 before the start
            contexts[:, j] = padded[j + 1 : j + len(ids)]
        return asnumpy(xp.log(self.probabilities(contexts, ids[1:, None])[:, 0]))

    def generate(
        self,
        idx: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: Generator | None = None,
    ) -> np.ndarray:
        """Extend each row of ``idx`` (B, T) by ``max_new_tokens`` sampled tokens (see
        ``zoo.sampling.sample_next``) -> NumPy int64 (B, T + max_new_tokens)."""
        self._check_fitted()
        xp = get_xp(self.tables[0].keys)
        sequences = to_device(np.asarray(asnumpy(idx), dtype=np.int64), self.device)
        if sequences.ndim != 2:
            raise ValueError(f"idx must have shape (B, T), got {sequences.shape}")
        self._check_range(sequences)
        candidates = xp.arange(self.vocab_size, dtype=xp.int64)[None, :]
        for _ in range(max_new_tokens):
            contexts = self._left_padded(sequences)
            log_probs = xp.log(self.probabilities(contexts, candidates))
            new = sample_next(log_probs, temperature, top_k, top_p, generator)
            sequences = xp.concatenate([sequences, new[:, None]], axis=1)
        return asnumpy(sequences)

    # ------------------------------------------------------------------------- state and checks
    @property
    def device(self) -> str:
        """Where the counts live: ``"cpu"`` or ``"cuda:N"``."""
        return device_of(self.tables[0].keys) if self.tables else "cpu"

    def state_dict(self) -> dict:
        """Hyper-parameters (JSON-able) and the per-order counts as NumPy arrays."""
        self._check_fitted()
        return {
            "model": "NGramLM",
            "order": self.order,
            "smoothing": self.smoothing,
            "k": self.k,
            "vocab_size": self.vocab_size,
            "keys": [asnumpy(table.keys) for table in self.tables],
            "counts": [asnumpy(table.counts) for table in self.tables],
        }

    @classmethod
    def from_state_dict(cls, state: dict, device: str = "cpu") -> NGramLM:
        """Rebuild a fitted model (discounts and sums are recomputed from the counts)."""
        model, device = cls(state["order"], state["smoothing"], state["k"]), parse_device(device)
        model.vocab_size = int(state["vocab_size"])
        model._build_tables(
            [to_device(np.asarray(keys, dtype=np.int64), device) for keys in state["keys"]],
            [to_device(np.asarray(counts, dtype=np.int64), device) for counts in state["counts"]],
        )
        return model

    def save(self, path: Any) -> None:
        """Write ``state_dict()`` with ``tinygrad_lm.save``."""
        tg.save(self.state_dict(), path)

    @classmethod
    def load(cls, path: Any, device: str = "cpu") -> NGramLM:
        """Read a model written by ``save``."""
        return cls.from_state_dict(tg.load(path), device)

    def _left_padded(self, contexts: Any) -> Any:
        """(B, L) -> (B, order-1): the last order-1 columns, padded on the left with -1."""
        xp = get_xp(contexts)
        width = self.context_length
        contexts = contexts[:, contexts.shape[1] - min(width, contexts.shape[1]) :]
        padding = xp.full((contexts.shape[0], width - contexts.shape[1]), -1, dtype=xp.int64)
        return xp.concatenate([padding, contexts], axis=1)

    def _as_ids(self, ids: Any, device: str | None) -> Any:
        """1-D int64 array on ``device`` (None: where it already is; lists go to the CPU)."""
        xp = get_xp(ids)
        array = xp.asarray(ids)
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise ValueError(
                f"expected a 1-D array of integer token ids, got shape {array.shape}, dtype {array.dtype}"
            )
        array = array.astype(xp.int64)
        if device is not None:
            array = to_device(array, device)
        if array.size and int(array.min()) < 0:
            raise ValueError("token ids must be >= 0")
        if self.vocab_size is not None:
            self._check_range(array)
        return array

    def _check_range(self, ids: Any) -> None:
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")

    def _check_fitted(self) -> None:
        if not self.tables:
            raise RuntimeError("call fit() first (or load a fitted model)")
