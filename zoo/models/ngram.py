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

Implementation (``zoo.models.ngram_keys``): an m-gram is one int64 key ``history * V + w``, where
the history is its int64 code when ``V^n`` fits (the fast path) and otherwise its rank among the
distinct histories of training ("wide" keys, any vocabulary; chosen with ``keys=``). Each order keeps
its sorted unique keys with their counts (``zoo.models.ngram_tables``: 16 bytes per n-gram, 24 or 32
per distinct history); lookups are ``searchsorted``. Everything runs through ``xp = get_xp(ids)``,
on NumPy or CuPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import Generator, asnumpy, device_of, get_xp, parse_device, to_device

from ..sampling import sample_next
from .arpa import read_arpa
from .backoff_lm import BackoffLM
from .ngram_keys import KEY_SCHEMES, codes_fit, count_ngrams, ngram_codes
from .ngram_tables import (
    FALLBACK_DISCOUNTS,
    OrderTable,
    counts_of_counts,
    find,
    gather,
    kn_discounts,
    modified_kn_discounts,
)

__all__ = [
    "FALLBACK_DISCOUNTS",
    "KEY_SCHEMES",
    "SMOOTHINGS",
    "NGramLM",
    "counts_of_counts",
    "kn_discounts",
    "modified_kn_discounts",
    "ngram_codes",
]

SMOOTHINGS = ("addk", "kn", "mkn")


class NGramLM:
    """An order-``n`` count-based language model (``n >= 1``): ``smoothing`` in ``SMOOTHINGS``,
    ``k > 0`` the pseudo-count of ``addk``. Token ids are ints in ``[0, vocab_size)``. ``keys``:
    ``"auto"`` (int64 codes when ``vocab_size**order`` fits, else wide keys), ``"codes"`` or ``"wide"``.

    All public outputs are NumPy arrays; the counts live on the device of the ids given to ``fit``.
    """

    def __init__(self, order: int, smoothing: str = "mkn", k: float = 1.0, keys: str = "auto") -> None:
        if isinstance(order, bool) or int(order) != order or order < 1:
            raise ValueError(f"order must be an integer >= 1, got {order!r}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        if not (np.isfinite(k) and k > 0):
            raise ValueError(f"k must be a finite number > 0, got {k}")
        if keys not in KEY_SCHEMES:
            raise ValueError(f"keys must be one of {KEY_SCHEMES}, got {keys!r}")
        self.order, self.smoothing, self.k, self.keys = int(order), smoothing, float(k), keys
        self.wide = False  # whether the fitted tables use wide keys
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
        vocab_size = int(ids.max()) + 1 if vocab_size is None and len(ids) else vocab_size
        if vocab_size is None or vocab_size < 1:
            raise ValueError("vocab_size must be >= 1 (pass it when the training ids are empty)")
        if len(ids) and int(ids.max()) >= vocab_size:
            raise ValueError(f"token id {int(ids.max())} >= vocab_size {vocab_size}")
        wide = self.keys == "wide" or (self.keys == "auto" and not codes_fit(vocab_size, self.order))
        if not wide and not codes_fit(vocab_size, self.order):
            raise ValueError(
                f"vocab_size**order = {vocab_size}**{self.order} does not fit the int64 n-gram codes "
                "(keys='codes'): use keys='auto' or 'wide', or lower the order or the vocabulary size"
            )
        self.vocab_size, self.wide = vocab_size, wide
        counted = count_ngrams(ids, self.order, vocab_size, self.smoothing != "addk", wide)
        self._build_tables(*zip(*counted, strict=True))
        return self

    def fit_from_counts(self, counted: list[tuple], vocab_size: int) -> NGramLM:
        """Build the tables from int64-code counts as ``count_ngrams`` returns them (e.g. merged over
        MPI ranks by ``zoo.models.ngram_shards``): the same tables as ``fit`` on the same counts."""
        self.vocab_size, self.wide = int(vocab_size), False
        self._build_tables(*zip(*counted, strict=True))
        return self

    def _build_tables(self, keys_by_order: Any, counts_by_order: Any, contexts_by_order: Any) -> None:
        self.tables = []
        for keys, counts, context_keys in zip(keys_by_order, counts_by_order, contexts_by_order, strict=True):
            counts = counts.astype(get_xp(counts).int64)
            if self.smoothing == "mkn":
                discounts = modified_kn_discounts(*counts_of_counts(counts))
            elif self.smoothing == "kn":
                discounts = kn_discounts(*counts_of_counts(counts)[:2])
            else:
                discounts = (0.0, 0.0, 0.0)
            self.tables.append(OrderTable.build(keys, counts, self.vocab_size, discounts, context_keys))

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
        history = xp.zeros(contexts.shape[0], dtype=xp.int64)  # key of the last m-1 tokens
        available = xp.ones(contexts.shape[0], dtype=bool)  # rows with m-1 tokens of context
        for m, table in enumerate(self.tables, start=1):
            if m > 1:
                if m - 1 > contexts.shape[1]:
                    break
                token = contexts[:, -(m - 1)]
                available &= token >= 0
                history = self._extend_history(table, history, token, m)
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

    def _extend_history(self, table: OrderTable, history: Any, token: Any, m: int) -> Any:
        """The key of the history ``token + h`` of order ``m`` from that of ``h``: its code, or with wide
        keys its rank (-1 where the context was never seen in training: then no key matches)."""
        if not self.wide:
            return history + token * self.vocab_size ** (m - 2)
        xp = get_xp(history)
        row, seen = find(table.context_keys, history * self.vocab_size + token)
        return xp.where(seen & (history >= 0) & (token >= 0), row, -1)

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
            **({"context_keys": [self._context_keys(table) for table in self.tables]} if self.wide else {}),
        }

    @staticmethod
    def _context_keys(table: OrderTable) -> np.ndarray:
        return np.zeros(0, np.int64) if table.context_keys is None else asnumpy(table.context_keys)

    @classmethod
    def from_state_dict(cls, state: dict, device: str = "cpu") -> NGramLM:
        """Rebuild a fitted model (discounts and sums are recomputed from the counts)."""
        model, device = cls(state["order"], state["smoothing"], state["k"]), parse_device(device)
        model.vocab_size, model.wide = int(state["vocab_size"]), "context_keys" in state

        def arrays(name: str) -> list:
            return [to_device(np.asarray(a, dtype=np.int64), device) for a in state[name]]

        contexts = arrays("context_keys") if model.wide else [None] * len(state["keys"])
        model._build_tables(arrays("keys"), arrays("counts"), contexts)
        return model

    def save(self, path: Any) -> None:
        """Write ``state_dict()`` with ``tinygrad_lm.save``."""
        tg.save(self.state_dict(), path)

    @classmethod
    def load(cls, path: Any, device: str = "cpu") -> NGramLM:
        """Read a model written by ``save``."""
        return cls.from_state_dict(tg.load(path), device)

    @staticmethod
    def from_arpa(path: Any, tokenizer: Any) -> BackoffLM:
        """Any ARPA file (this class's export, KenLM's, SRILM's) over ``tokenizer``'s characters, a
        ``BackoffLM`` scored with ARPA's rule (``zoo.models.arpa``; ``write_arpa`` writes one)."""
        return read_arpa(path, tokenizer)

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
