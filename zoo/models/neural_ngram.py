"""The neural n-gram: a free table of logits, one row per context of n-1 tokens (n = 2: makemore's bigram).

    p(w | h) = softmax(W[h])_w,      W of shape ((V + 1)^(n-1), V)   (V + 1: a pad symbol before the start)

Trained by gradient descent on the cross-entropy plus a Dirichlet pseudo-count penalty

    J(W) = (1/N) [ sum_i -log p(w_i | h_i)  +  k sum_h sum_w -log p(w | h) ],

whose minimum is *exactly* the add-k estimate p(w | h) = (c(h, w) + k) / (c(h) + k V): setting the
gradient c(h) p - c(h, .) + k (V p - 1) to zero gives it. Counting and gradient descent meet (an L2
penalty on W would only approximate this; the pseudo-count form is the one that matches).
"""

from __future__ import annotations

from dataclasses import dataclass

import tinygrad_lm as tg
from tinygrad_lm import nn

from .base import LanguageModel


@dataclass
class NeuralNGramConfig:
    vocab_size: int = 65
    order: int = 2
    context_length: int = 64  # training window
    pseudo_count: float = 0.0  # k of the matching add-k estimate
    train_tokens: int = 1  # N, scales the penalty to the per-token loss


class NeuralNGramLM(LanguageModel):
    def __init__(self, config: NeuralNGramConfig) -> None:
        super().__init__()
        if config.order < 1:
            raise ValueError(f"order must be >= 1, got {config.order}")
        self.config = config
        self.base = config.vocab_size + 1
        self.table = nn.Parameter(tg.zeros(self.base ** (config.order - 1), config.vocab_size))

    def context_codes(self, idx: tg.Tensor) -> tg.Tensor:
        """(B, T) -> (B, T) row numbers sum_j h_j (V+1)^(n-2-j) of the n-1 tokens ending at each position."""
        order = self.config.order
        if order == 1:
            return tg.zeros(*idx.shape, dtype="int64", device=idx.device)
        batch, length = idx.shape
        pad = tg.full((batch, order - 2), self.base - 1, dtype=idx.dtype, device=idx.device)
        padded = tg.cat([pad, idx], axis=1).data
        codes = 0
        for j in range(order - 1):
            codes = codes * self.base + padded[:, j : j + length]
        return tg.as_tensor(codes)

    def logits(self, idx: tg.Tensor) -> tg.Tensor:
        return self.table[self.context_codes(idx)]  # (B, T, V)

    def loss(self, logits: tg.Tensor, targets) -> tg.Tensor | None:
        data_loss = super().loss(logits, targets)
        if data_loss is None or self.config.pseudo_count == 0:
            return data_loss
        prior = -self.table.log_softmax(-1).sum()  # sum_h sum_w -log p(w | h)
        return data_loss + prior * (self.config.pseudo_count / self.config.train_tokens)
