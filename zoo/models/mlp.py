"""Bengio et al. (2003): a multilayer perceptron over the embeddings of the previous k tokens.

    x = [E[w_{t-k+1}]; ...; E[w_t]]     (B, T, k * d_embed), a pad token before the sequence start
    h = tanh(W_1 x + b_1)               (B, T, d_hidden)
    logits = W_2 h + b_2                (B, T, V)

``context_length`` is the training window T; the model itself looks at ``n_context`` = k tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import tinygrad_lm as tg
from tinygrad_lm import nn

from .base import LanguageModel


@dataclass
class MLPConfig:
    vocab_size: int = 65
    context_length: int = 64
    n_context: int = 8
    d_embed: int = 32
    d_hidden: int = 512


class MLPLM(LanguageModel):
    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        self.pad = config.vocab_size  # an extra embedding row stands for "before the start"
        self.embedding = nn.Embedding(config.vocab_size + 1, config.d_embed)
        self.hidden = nn.Linear(config.n_context * config.d_embed, config.d_hidden)
        self.head = nn.Linear(config.d_hidden, config.vocab_size)

    def logits(self, idx: tg.Tensor) -> tg.Tensor:
        k = self.config.n_context
        batch, length = idx.shape
        padding = tg.full((batch, k - 1), self.pad, dtype=idx.dtype, device=idx.device)
        embedded = self.embedding(tg.cat([padding, idx], axis=1))  # (B, T + k - 1, d_embed)
        window = tg.cat([embedded[:, j : j + length] for j in range(k)], axis=-1)  # (B, T, k * d_embed)
        return self.head(self.hidden(window).tanh())
