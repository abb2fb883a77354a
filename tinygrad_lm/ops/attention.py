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
from ..function import constant
from ..kernels import kernels_for
from ..shapes import broadcast_shapes
from .fused_function import FusedFunction
from .rows import row_sums


def causal_mask(queries: int, keys: int, xp: Any) -> Any:
    """(queries, keys) boolean: True where query i may attend to key j, i.e. j <= i + keys - queries.

    Aligned bottom-right: the queries are the LAST ``queries`` positions of the ``keys`` (what a
    key/value cache needs). For queries == keys this is the lower triangle.
    """
    return xp.tri(queries, keys, keys - queries, dtype=bool)


def attention_weights(q, k, scale: float, allowed, causal: bool = False):
    """P = softmax(s q k^T, masked) on arrays, computed in one scores buffer. ``causal``: ``allowed``
    is ``causal_mask`` (or None), which the compiled softmax applies without reading it."""
    xp = get_xp(q)
    scores = (q * scale) @ k.swapaxes(-1, -2)  # the scale on q: half the elements of the scores
    fast = kernels_for("attention", scores) if causal or allowed is None else None
    if fast is not None and scores.flags.c_contiguous:  # one pass per row (kernels/attention.py)
        return fast.softmax_rows(scores, causal)
    if allowed is not None and broadcast_shapes(allowed.shape, scores.shape) == scores.shape:
        xp.copyto(scores, -math.inf, where=~allowed)
    elif allowed is not None:  # a mask with more batch axes than q k^T: the weights take its shape
        scores = xp.where(allowed, scores, -math.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    xp.exp(scores, out=scores)
    scores /= row_sums(scores)
    return scores


def attention_weights_differentiable(q, k, scale: float, allowed):
    """The same P with Tensor ops (what ``recompute`` gives under create_graph, and the composed
    attention of ``functional`` when it must return the weights or drop some)."""
    scores = (q @ k.swapaxes(-1, -2)) * scale
    if allowed is not None:
        scores = scores.masked_fill(constant(~allowed), -math.inf)
    return scores.softmax(-1)


def attention_vjp(xp, g, q, k, v, p, out, scale: float):
    """(dQ, dK, dV) of O = P V from G = dL/dO, as in the module docstring; arrays or Tensors."""
    fast = kernels_for("attention", p, g, out)
    if fast is not None and p.flags.c_contiguous:
        return attention_vjp_compiled(fast, g, q, k, v, p, out, scale)
    dv = p.swapaxes(-1, -2) @ g
    dp = g @ v.swapaxes(-1, -2)
    ds = p * (dp - xp.row_sums(g * out))
    return (ds @ k) * scale, (ds.swapaxes(-1, -2) @ q) * scale, dv


def attention_vjp_compiled(fast, g, q, k, v, p, out, scale: float, into: tuple | None = None) -> tuple:
    """``attention_vjp`` on arrays with the compiled softmax rows (s dS in one pass per row,
    kernels/attention.py); its three products written into ``into`` (dQ, dK, dV: e.g. views of a
    packed gradient) when given."""
    ds = fast.softmax_rows_vjp(p, g @ v.swapaxes(-1, -2), g, out, scale)
    products = ((ds, k), (ds.swapaxes(-1, -2), q), (p.swapaxes(-1, -2), g))
    if into is None:
        return tuple(a @ b for a, b in products)
    for (a, b), target in zip(products, into, strict=True):
        get_xp(a).matmul(a, b, out=target)
    return into


class Attention(FusedFunction):
    """O = softmax(s q k^T, masked by ``allowed``) v; see the module docstring. Saves (P, O).
    ``causal=True`` says that ``allowed`` is ``causal_mask(Tq, Tk)``, which lets the compiled softmax
    skip the masked keys instead of reading the mask."""

    def forward(self, q, k, v, scale=1.0, allowed=None, causal=False):
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"expected q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv), got {k.shape}")
        self.scale, self.allowed = scale, allowed
        p = attention_weights(q, k, scale, allowed, causal)
        out = p @ v
        self.saved = (p, out)
        return out

    def recompute(self, q, k, v):
        p = attention_weights_differentiable(q, k, self.scale, self.allowed)
        return p, p @ v

    def vjp(self, xp, g, inputs, saved):
        return attention_vjp(xp, g, *inputs, *saved, self.scale)


def split_heads(qkv, n_heads: int):
    """(B, T, 3C) -> q, k, v, each (B, H, T, C/H): views of an array, or Tensor ops on a Tensor."""
    batch, steps, width = qkv.shape
    heads = qkv.reshape(batch, steps, 3, n_heads, width // (3 * n_heads))
    return tuple(heads[:, :, i].swapaxes(1, 2) for i in range(3))


class PackedSelfAttention(FusedFunction):
    """Multi-head self-attention on packed projections: qkv (B, T, 3C) -> merged heads (B, T, C).

    q, k, v are the three thirds of the last axis, each split into ``n_heads`` heads of C/H; every
    head attends with scale 1/sqrt(C/H), causally when ``causal``. Saves (P, O) per head, O being a
    view of the merged output that P V is written into; the gradient of qkv is dQ, dK, dV stacked
    back into the packed layout (one copy), or, with the compiled softmax, written straight into it.
    """

    def forward(self, qkv, n_heads=1, causal=True):
        if qkv.ndim != 3 or qkv.shape[-1] % (3 * n_heads):
            raise ValueError(f"expected qkv (B, T, 3C), C divisible by n_heads={n_heads}, got {qkv.shape}")
        batch, steps, width = qkv.shape
        self.n_heads = n_heads
        self.scale = 1 / math.sqrt(width // (3 * n_heads))
        self.allowed = causal_mask(steps, steps, get_xp(qkv)) if causal else None
        q, k, v = split_heads(qkv, n_heads)
        p = attention_weights(q, k, self.scale, self.allowed, causal)
        merged = get_xp(qkv).empty((batch, steps, width // 3), dtype=p.dtype)
        out = merged.reshape(batch, steps, n_heads, -1).swapaxes(1, 2)  # (B, H, T, hd): a view
        get_xp(qkv).matmul(p, v, out=out)  # the heads' outputs straight into the merged layout
        self.saved = (p, out)
        return merged

    def recompute(self, qkv):
        q, k, v = split_heads(qkv, self.n_heads)
        p = attention_weights_differentiable(q, k, self.scale, self.allowed)
        return p, p @ v

    def vjp(self, xp, g, inputs, saved):
        (qkv,) = inputs
        batch, steps, width = qkv.shape
        heads = g.reshape(batch, steps, self.n_heads, -1).swapaxes(1, 2)  # (B, H, T, hd)
        fast = kernels_for("attention", g, *saved)
        if fast is not None and saved[0].flags.c_contiguous:  # dQ, dK, dV straight into the packed layout
            packed = get_xp(g).empty(qkv.shape, dtype=g.dtype)
            into = split_heads(packed, self.n_heads)
            attention_vjp_compiled(fast, heads, *split_heads(qkv, self.n_heads), *saved, self.scale, into)
            return packed
        grads = attention_vjp(xp, heads, *split_heads(qkv, self.n_heads), *saved, self.scale)
        packed = xp.stack([d.swapaxes(1, 2) for d in grads], axis=2)  # (B, T, 3, H, hd)
        return packed.reshape(batch, steps, width)
