"""Multi-head causal self-attention, with a key/value cache for incremental decoding."""

from __future__ import annotations

from typing import NamedTuple

from .. import functional as F
from ..backend import Generator
from ..ops.movement import cat
from ..tensor import Tensor
from .layers import Linear
from .module import Module


class KVCache(NamedTuple):
    """The keys and values of the positions seen so far, each (B, n_heads, length, head_dim)."""

    keys: Tensor
    values: Tensor

    @property
    def length(self) -> int:
        """How many positions are cached (the position index of the next token)."""
        return self.keys.shape[2]


class CausalSelfAttention(Module):
    """y = proj(concat_heads(softmax(q k^T / sqrt(head_dim) + causal mask) v)) for x (B, T, C).

    q, k, v come from ONE projection ``qkv`` (C -> 3C) and are split into heads (B, n_heads, T,
    head_dim), all heads in batched products; without weights to return or dropout to apply, forward
    is one fused op (``functional.multi_head_self_attention``). Position t attends to positions
    <= t (masked scores are -inf, so their weights are exactly 0). Dropout (probability
    ``dropout``, training only) is applied to the attention weights. Parameters: ``qkv``
    Linear(C, 3C) and ``proj`` Linear(C, C), PyTorch's Linear initialisation.

    * ``forward(x, return_weights=False)`` -> y (B, T, C), or (y, weights (B, n_heads, T, T)).
    * ``forward_cached(x, cache=None)`` -> (y, new_cache): x holds the NEXT positions (often one
      token); their keys/values are appended to ``cache`` and they attend to all cached positions
      and causally among themselves. Feeding a sequence in pieces gives the same outputs as feeding
      it whole. The cache grows by concatenation (O(T) per step).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"CausalSelfAttention: d_model={d_model} is not divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.dropout, self.generator = dropout, generator
        self.qkv = Linear(d_model, 3 * d_model, bias, generator)
        self.proj = Linear(d_model, d_model, bias, generator)

    def forward(self, x: Tensor, return_weights: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        if not return_weights and (self.dropout == 0 or not self.training):  # the fused op
            self._check_input(x)
            return self.proj(F.multi_head_self_attention(self.qkv(x), self.n_heads, is_causal=True))
        y, weights, _ = self._attend(x, None)
        return (y, weights) if return_weights else y

    def forward_cached(self, x: Tensor, cache: KVCache | None = None) -> tuple[Tensor, KVCache]:
        y, _, cache = self._attend(x, cache)
        return y, cache

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"CausalSelfAttention: expected input (B, T, {self.d_model}), got {x.shape}")

    def _attend(self, x: Tensor, cache: KVCache | None) -> tuple[Tensor, Tensor, KVCache]:
        self._check_input(x)
        batch, steps, channels = x.shape
        qkv = self.qkv(x).reshape(batch, steps, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, n_heads, T, head_dim)
        if cache is not None:
            k, v = cat([cache.keys, k], axis=2), cat([cache.values, v], axis=2)  # (B, n_heads, P + T, hd)
        out, weights = F.scaled_dot_product_attention(
            q,
            k,
            v,
            is_causal=True,
            dropout_p=self.dropout if self.training else 0.0,
            return_weights=True,
            generator=self.generator,
        )  # (B, n_heads, T, head_dim), (B, n_heads, T, P + T)
        y = out.swapaxes(1, 2).reshape(batch, steps, channels)  # (B, T, C)
        return self.proj(y), weights, KVCache(k, v)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}, dropout={self.dropout}"
