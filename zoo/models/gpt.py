"""GPT: a decoder-only Transformer (Radford et al. 2018/2019), as in nanoGPT.

    h_0 = E_tok[x_t] + E_pos[t]                               (B, T, C)
    h   = h + Attention(LayerNorm(h))                          N pre-LayerNorm blocks
    h   = h + W_2 GELU(W_1 LayerNorm(h))                       MLP of width 4C
    logits = LayerNorm(h) E_tok^T  (weight tying) or W_out     (B, T, V)

GPT-2 initialisation: every weight matrix and embedding ~ N(0, 0.02), biases 0, and the two residual
projections of each block (attention output, MLP output) ~ N(0, 0.02 / sqrt(2N)) so the residual
stream's variance does not grow with depth. Generation keeps a key/value cache per block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import asnumpy, nn

from .base import LanguageModel


@dataclass
class GPTConfig:
    vocab_size: int = 65
    context_length: int = 64
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in the linear layers and layer norms (nanoGPT's default is False)
    tie_weights: bool = True
    gelu: str = "tanh"  # the MLP's GELU: "tanh" (GPT-2's approximation) or "none" (exact, nanoGPT's)


class Block(nn.Module):
    """x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        c = config.d_model
        self.ln_1 = nn.LayerNorm(c, bias=config.bias)
        self.attn = nn.CausalSelfAttention(c, config.n_heads, config.dropout, config.bias)
        self.ln_2 = nn.LayerNorm(c, bias=config.bias)
        self.fc = nn.Linear(c, 4 * c, config.bias)
        self.proj = nn.Linear(4 * c, c, config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.gelu = nn.GELU(config.gelu)

    def mlp(self, x: tg.Tensor) -> tg.Tensor:
        return self.dropout(self.proj(self.gelu(self.fc(x))))

    def forward(self, x: tg.Tensor, return_weights: bool = False) -> Any:
        attended = self.attn(self.ln_1(x), return_weights=return_weights)
        if return_weights:
            attended, weights = attended
        x = x + self.dropout(attended)
        x = x + self.mlp(self.ln_2(x))
        return (x, weights) if return_weights else x

    def forward_cached(self, x: tg.Tensor, cache: nn.KVCache | None) -> tuple[tg.Tensor, nn.KVCache]:
        attended, cache = self.attn.forward_cached(self.ln_1(x), cache)
        x = x + attended
        return x + self.mlp(self.ln_2(x)), cache


class GPT(LanguageModel):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = nn.Embedding(config.context_length, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, bias=config.bias)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self._initialise()
        if config.tie_weights:
            self.lm_head.weight = self.token_embedding.weight

    def _initialise(self) -> None:
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layers)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.ndim < 2:  # LayerNorm gains keep their ones
                continue
            elif name.endswith(".proj.weight"):  # attn.proj and the MLP's proj: the residual branches
                nn.init.normal_(p, std=residual_std)
            else:
                nn.init.normal_(p, std=0.02)

    def embed(self, idx: tg.Tensor, start: int = 0) -> tg.Tensor:
        """Token plus position embeddings of positions start .. start + T - 1 -> (B, T, C)."""
        steps = idx.shape[1]
        if start + steps > self.config.context_length:
            raise ValueError(
                f"GPT: {start + steps} positions exceed the context length {self.config.context_length}"
            )
        positions = tg.arange(start, start + steps, device=idx.device)
        return self.dropout(self.token_embedding(idx) + self.position_embedding(positions))

    def logits(self, idx: tg.Tensor) -> tg.Tensor:
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    @tg.no_grad()
    def attention_maps(self, idx: Any) -> list[np.ndarray]:
        """The attention weights of every layer for ``idx`` (B, T): a list of (B, n_heads, T, T) arrays."""
        x = self.embed(self._check_ids(idx, "idx"))
        maps = []
        for block in self.blocks:
            x, weights = block(x, return_weights=True)
            maps.append(asnumpy(weights.data))
        return maps

    # ----------------------------------------------------------------------------- cached decoding
    def _run_cached(self, idx: tg.Tensor, caches: list | None) -> tuple[tg.Tensor, list]:
        start = 0 if caches is None else caches[0].length
        x = self.embed(idx, start)
        new_caches = []
        for i, block in enumerate(self.blocks):
            x, cache = block.forward_cached(x, None if caches is None else caches[i])
            new_caches.append(cache)
        return self.lm_head(self.ln_f(x[:, -1:]))[:, 0], new_caches

    def start_decoding(self, idx: tg.Tensor) -> tuple[tg.Tensor, Any]:
        idx = idx[:, -self.context_length :]
        logits, caches = self._run_cached(idx, None)
        return logits, (caches, idx)

    def continue_decoding(self, token: tg.Tensor, state: Any) -> tuple[tg.Tensor, Any]:
        caches, idx = state
        idx = tg.cat([idx, token.reshape(-1, 1)], axis=1)
        if idx.shape[1] > self.context_length:  # the window slides: positions shift, so start afresh
            return self.start_decoding(idx)
        logits, caches = self._run_cached(token.reshape(-1, 1), caches)
        return logits, (caches, idx)
