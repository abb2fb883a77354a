"""Scaled dot-product attention as one op, forward and hand-derived backward.

For queries q (..., Tq, d), keys k (..., Tk, d), values v (..., Tk, dv) and a boolean mask M
(True = may attend):

    S = s q k^T  (s = 1/sqrt(d) by default),   P = softmax(S masked to -inf where not M),   O = P v

Backward, with G = dL/dO (the softmax's Jacobian applied row by row):

    dV = P^T G,   dP = G V^T,   dS = P * (dP - D),   dQ = s dS K,   dK = s dS^T Q

with D = rowsum(dP * P) = rowsum(G * O) (as in FlashAttention): the second form is a pass over the
(..., Tq, dv) output instead of the (..., Tq, Tk) weights. Row sums are products with a vector of ones
(``ops.rows``), faster than NumPy's reductions over short rows.

Masked entries have P = 0, hence dS = 0: no gradient flows through them. One Function replaces the
scale, transpose, two products, mask, softmax and their eight backward ops, and keeps P for backward.

``PackedSelfAttention`` takes the output of ONE projection to (B, T, 3C), splits it into heads
(B, H, T, C/H) as views, and returns the heads merged back into (B, T, C); its backward writes dQ, dK,
dV straight into one (B, T, 3C) gradient (slicing q, k and v out of the packed tensor with separate
ops would cost three full-size zero arrays and two additions in backward).
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import get_xp
from ..function import Function, evaluate_formula, is_grad_enabled
from ..shapes import broadcast_shapes
from ..tensor import Tensor, stack
from .rows import row_sums


def causal_mask(queries: int, keys: int, xp: Any) -> Any:
    """(queries, keys) boolean: True where query i may attend to key j, i.e. j <= i + keys - queries.

    Aligned bottom-right: the queries are the LAST ``queries`` positions of the ``keys`` (what a
    key/value cache needs). For queries == keys this is the lower triangle.
    """
    return xp.tri(queries, keys, keys - queries, dtype=bool)


def attention_weights(q, k, scale: float, allowed):
    """P = softmax(s q k^T, masked) on arrays, computed in one scores buffer."""
    xp = get_xp(q)
    scores = (q * scale) @ k.swapaxes(-1, -2)  # the scale on q: half the elements of the scores
    if allowed is not None and broadcast_shapes(allowed.shape, scores.shape) == scores.shape:
        xp.copyto(scores, -math.inf, where=~allowed)
    elif allowed is not None:  # a mask with more batch axes than q k^T: the weights take its shape
        scores = xp.where(allowed, scores, -math.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    xp.exp(scores, out=scores)
    scores /= row_sums(scores)
    return scores


def attention_weights_differentiable(q: Tensor, k: Tensor, scale: float, allowed) -> Tensor:
    """The same P with Tensor ops, for a backward that must itself be differentiable."""
    scores = (q @ k.swapaxes(-1, -2)) * scale
    if allowed is not None:
        scores = scores.masked_fill(Tensor._from_array(~allowed), -math.inf)
    return scores.softmax(-1)


def attention_vjp(g, q, k, v, p, scale: float, out=None):
    """(dQ, dK, dV) of O = P V from G = dL/dO, as in the module docstring; arrays or Tensors.
    ``out`` is O when forward kept it (else it is recomputed as P V)."""
    dv = p.swapaxes(-1, -2) @ g
    dp = g @ v.swapaxes(-1, -2)
    ds = p * (dp - row_sums(g * (p @ v if out is None else out)))
    return (ds @ k) * scale, (ds.swapaxes(-1, -2) @ q) * scale, dv


class Attention(Function):
    """O = softmax(s q k^T, masked by ``allowed``) v; see the module docstring."""

    def forward(self, q, k, v, scale=1.0, allowed=None):
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"expected q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv), got {k.shape}")
        self.scale, self.allowed = scale, allowed
        self.p = attention_weights(q, k, scale, allowed)
        self.out = self.p @ v
        return self.out

    def backward(self, g):
        q, k, v = self.inputs
        if is_grad_enabled():
            p, out = attention_weights_differentiable(q, k, self.scale, self.allowed), None
        else:
            p, out = self.p, self.out
        return evaluate_formula(attention_vjp, g, q, k, v, p, self.scale, out)


def split_heads(qkv, n_heads: int):
    """(B, T, 3C) -> q, k, v, each (B, H, T, C/H): views (arrays) or reshapes (Tensors)."""
    batch, steps, width = qkv.shape
    heads = qkv.reshape(batch, steps, 3, n_heads, width // (3 * n_heads))
    return heads.permute(2, 0, 3, 1, 4) if isinstance(qkv, Tensor) else heads.transpose(2, 0, 3, 1, 4)


class PackedSelfAttention(Function):
    """Multi-head self-attention on packed projections: qkv (B, T, 3C) -> merged heads (B, T, C).

    q, k, v are the three thirds of the last axis, each split into ``n_heads`` heads of C/H; every
    head attends with scale 1/sqrt(C/H), causally when ``causal``. See the module docstring.
    """

    def forward(self, qkv, n_heads=1, causal=True):
        if qkv.ndim != 3 or qkv.shape[-1] % (3 * n_heads):
            raise ValueError(f"expected qkv (B, T, 3C), C divisible by n_heads={n_heads}, got {qkv.shape}")
        batch, steps, width = qkv.shape
        self.n_heads = n_heads
        self.scale = 1 / math.sqrt(width // (3 * n_heads))
        self.allowed = causal_mask(steps, steps, get_xp(qkv)) if causal else None
        q, k, v = split_heads(qkv, n_heads)
        self.p = attention_weights(q, k, self.scale, self.allowed)
        self.out = self.p @ v  # (B, H, T, hd)
        return self.out.transpose(0, 2, 1, 3).reshape(batch, steps, width // 3)

    def backward(self, g):
        qkv = self.inputs[0]
        batch, steps, width = qkv.shape
        if is_grad_enabled():
            heads = g.reshape(batch, steps, self.n_heads, -1).swapaxes(1, 2)  # (B, H, T, hd)
            q, k, v = split_heads(qkv, self.n_heads)
            p = attention_weights_differentiable(q, k, self.scale, self.allowed)
            grads = attention_vjp(heads, q, k, v, p, self.scale)
            return stack(grads, axis=0).permute(1, 3, 0, 2, 4).reshape(batch, steps, width)
        heads = g.data.reshape(batch, steps, self.n_heads, -1).swapaxes(1, 2)
        q, k, v = split_heads(qkv.data, self.n_heads)
        grads = attention_vjp(heads, q, k, v, self.p, self.scale, self.out)
        packed = get_xp(qkv.data).empty_like(qkv.data)
        for target, grad in zip(split_heads(packed, self.n_heads), grads, strict=True):
            target[...] = grad
        return Tensor._from_array(packed)
