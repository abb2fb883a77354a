"""``BackoffLM``: a language model given as ARPA backoff tables, scored with ARPA's rule.

For a history ``h`` (the last ``order - 1`` tokens, fewer at the start of a sequence) and ``h'``
without its oldest token, in log10::

    log P(w | h) = log p(h w)                     if (h w) is listed
                 = log b(h) + log P(w | h')        otherwise, with log b(h) = 0 when h is not listed

down to the unigrams, where every word of the vocabulary is listed. This is how KenLM and SRILM
score an ARPA file; with no ``<s>``, a sequence starts from the empty history (KenLM's
``full_scores(..., bos=False, eos=False)``), which is how ``NGramLM`` scores one.

The tables are keyed by word tuples (any vocabulary, any order); the tokenizer's ids are mapped to
the ARPA's words once (``token_words``), unknown ones to ``<unk>``. Public outputs follow
``NGramLM``'s: NumPy float64, natural logarithms for ``score``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LN_10 = math.log(10.0)


class BackoffLM:
    """``grams[m - 1]``: {tuple of m word ids: (log10 p, log10 b)} for each order m = 1 .. order;
    ``words``: the ARPA's words (word id = index); ``token_words`` (V,): each token's word id."""

    def __init__(self, grams: list[dict[tuple, tuple[float, float]]], words: list[str], token_words: Any):
        self.grams, self.words = grams, words
        self.token_words = np.asarray(token_words, dtype=np.int64)
        self.order = len(grams)
        self.vocab_size = len(self.token_words)

    @property
    def context_length(self) -> int:
        """How many previous tokens a prediction looks at: ``order - 1``."""
        return self.order - 1

    def log10_prob(self, history: tuple[int, ...], word: int) -> float:
        """``log10 P(word | history)`` by ARPA's backoff rule; ids are word ids, oldest first."""
        history = history[len(history) - min(len(history), self.order - 1) :]
        backoff = 0.0
        for start in range(len(history) + 1):
            h = history[start:]
            listed = self.grams[len(h)].get((*h, word))
            if listed is not None:
                return backoff + listed[0]
            if h:
                backoff += self.grams[len(h) - 1].get(h, (0.0, 0.0))[1]
        raise KeyError(f"the word {self.words[word]!r} has no unigram entry")

    def probabilities(self, contexts: Any, targets: Any) -> np.ndarray:
        """``P(targets[p, j] | contexts[p])`` -> (P, K) float64, as ``NGramLM.probabilities``:
        ``contexts`` (P, L) token ids, oldest first, ``-1`` as left padding."""
        contexts, targets = np.asarray(contexts, dtype=np.int64), np.asarray(targets, dtype=np.int64)
        out = np.empty(targets.shape)
        for p in range(targets.shape[0]):
            history = self._history(contexts[p])
            for j, token in enumerate(targets[p].tolist()):
                out[p, j] = 10.0 ** self.log10_prob(history, int(self.token_words[token]))
        return out

    def next_token_probs(self, context_ids: Any) -> np.ndarray:
        """The distribution (V,) of the token after ``context_ids`` (any length, even 0)."""
        context = np.asarray(context_ids, dtype=np.int64).reshape(1, -1)
        return self.probabilities(context, np.arange(self.vocab_size)[None, :])[0]

    def score(self, ids: Any) -> np.ndarray:
        """``log P(ids[i] | ids[max(0, i-order+1):i])`` in nats for i = 1 .. len-1 -> (len-1,) float64."""
        words = self.token_words[np.asarray(ids, dtype=np.int64)].tolist()
        width = self.context_length
        log10 = [self.log10_prob(tuple(words[max(0, i - width) : i]), words[i]) for i in range(1, len(words))]
        return np.asarray(log10, dtype=np.float64) * LN_10

    def _history(self, context: np.ndarray) -> tuple[int, ...]:
        tokens = context[context >= 0][-self.context_length :] if self.context_length else context[:0]
        return tuple(self.token_words[tokens].tolist())
