"""Stateless neural-network functions, named as in ``torch.nn.functional``.

Shapes follow PyTorch except where noted: class scores are on the LAST axis everywhere (PyTorch's
``cross_entropy`` wants (N, C, d1, ...) for extra dimensions; here logits (B, T, C) go with targets
(B, T)), and ``layer_norm`` normalises the last axis only.
"""

from __future__ import annotations

import math
from typing import Any

from .backend import Generator, default_generator, get_xp, is_host_array
from .creation import rand
from .function import constant
from .ops.attention import Attention, PackedSelfAttention, attention_weights_differentiable, causal_mask
from .ops.linalg import LinearFunction
from .ops.loss import REDUCTIONS, CrossEntropy
from .ops.normalization import LayerNormFunction
from .tensor import Tensor

__all__ = [
    "causal_mask",
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "layer_norm",
    "linear",
    "log_softmax",
    "mse_loss",
    "multi_head_self_attention",
    "nll_loss",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "softmax",
    "tanh",
]


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value, device=like.device)


# --------------------------------------------------------------------------------------- activations
def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x)."""
    return x.sigmoid()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) (``approximate="none"``, PyTorch's default) or its tanh approximation (GPT-2's)."""
    return x.gelu(approximate)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """e^x / sum e^x along ``axis``."""
    return x.softmax(axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``."""
    return x.log_softmax(axis)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator: Generator | None = None) -> Tensor:
    """Inverted dropout: each element is zeroed with probability p, survivors scaled by 1 / (1 - p).

    E[y] = x. The identity when ``training`` is False or p = 0; draws from ``generator`` (default: the
    library's default generator), so a seeded generator reproduces the same mask.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must lie in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    draws = rand(*x.shape, dtype=x.dtype, device=x.device, generator=generator or default_generator)
    keep = (draws.data >= p).astype(x.dtype) * (1 / (1 - p))
    return x * constant(keep)


# --------------------------------------------------------------------------------------- layers
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b for x (..., in), W (out, in), b (out,) -> y (..., out).

    Leading axes are flattened into one matrix product (..., in) -> (M, in), which is faster than a
    batched product and keeps the weight gradient a single (out, M) @ (M, in) product.
    """
    if x.shape[-1:] != weight.shape[-1:]:
        raise ValueError(
            f"linear: input {x.shape} needs last axis {weight.shape[-1]} to match weight {weight.shape} "
            "(out_features, in_features)"
        )
    return LinearFunction.apply(x, weight) if bias is None else LinearFunction.apply(x, weight, bias)


def embedding(indices: Any, weight: Tensor) -> Tensor:
    """Rows of ``weight`` (num, dim) at integer ``indices`` of any shape -> (*indices.shape, dim).

    The backward scatter-adds into the rows used (repeated indices accumulate). An index out of range
    raises IndexError for host arrays; for device arrays (not read back) its row comes out NaN.
    """
    index = indices.data if isinstance(indices, Tensor) else get_xp(weight.data).asarray(indices)
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers (int64), got dtype {index.dtype}")
    if not is_host_array(index):
        return _embedding_on_device(index, weight)
    if index.size and (index.min() < 0 or index.max() >= weight.shape[0]):
        raise IndexError(
            f"embedding: indices must lie in [0, {weight.shape[0]}) for a weight of shape {weight.shape}, "
            f"got values in [{int(index.min())}, {int(index.max())}]"
        )
    return weight[index]


def _embedding_on_device(index: Any, weight: Tensor) -> Tensor:
    """``weight[index]`` for device arrays, without reading the indices back to check them: the rows
    of indices outside [0, num) come out NaN (so is any loss computed from them) and send no gradient
    (they read row 0, masked)."""
    xp = get_xp(index)
    outside = (index < 0) | (index >= weight.shape[0])
    rows = weight[xp.where(outside, 0, index)]
    return rows.masked_fill(constant(outside[..., None]), xp.nan)


def layer_norm(
    x: Tensor,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axis (the fused ``LayerNormFunction``).

    ``normalized_shape`` must be the last axis' size (PyTorch also allows several trailing axes).
    weight defaults to ones (a constant); without bias none is added.
    """
    dims = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if dims != x.shape[-1:]:
        raise ValueError(
            f"layer_norm: normalized_shape {dims} must be the last axis of the input {x.shape} "
            "(only the last axis is normalised)"
        )
    if weight is None:
        weight = constant(get_xp(x.data).ones(dims, dtype=x.dtype))
    if bias is None:
        return LayerNormFunction.apply(x, weight, eps=eps)
    return LayerNormFunction.apply(x, weight, bias, eps=eps)


# --------------------------------------------------------------------------------------- losses
def cross_entropy(logits: Tensor, targets: Any, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Cross entropy of logits (..., C) against integer targets (...), as one fused op.

    loss_n = logsumexp(z_n) - z_n[t_n]; rows with target ``ignore_index`` count for nothing;
    ``reduction`` "mean" divides by the number of non-ignored rows, "sum" adds, "none" keeps (...).
    """
    return CrossEntropy.apply(
        logits, _as_tensor(targets, logits), ignore_index=ignore_index, reduction=reduction
    )


def nll_loss(log_probs: Tensor, targets: Any, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood -log_probs[..., t] of log-probabilities (..., C), via ``gather``.

    The same conventions as ``cross_entropy`` (which equals ``nll_loss(log_softmax(z), t)``).
    """
    targets = _as_tensor(targets, log_probs)
    if reduction not in REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if targets.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: targets must be integer class indices (int64), got dtype {targets.dtype}")
    if log_probs.shape[:-1] != targets.shape:
        raise ValueError(
            f"nll_loss: log_probs {log_probs.shape} and targets {targets.shape} are incompatible: "
            "expected log_probs (..., C) with targets of shape log_probs.shape[:-1]"
        )
    xp = get_xp(targets.data)
    valid = targets.data != ignore_index
    index = xp.where(valid, targets.data, 0)[..., None]
    if index.size and (index.min() < 0 or index.max() >= log_probs.shape[-1]):
        raise IndexError(f"nll_loss: targets must lie in [0, {log_probs.shape[-1]}) or equal ignore_index")
    losses = -log_probs.gather(-1, index)[..., 0] * constant(valid.astype(log_probs.dtype))
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else total / int(valid.sum())


def mse_loss(x: Tensor, y: Any, reduction: str = "mean") -> Tensor:
    """(x - y)^2, averaged ("mean"), added ("sum") or element-wise ("none")."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    y = _as_tensor(y, x)
    if x.shape != y.shape:
        raise ValueError(f"mse_loss: input {x.shape} and target {y.shape} must have the same shape")
    squared = (x - y) * (x - y)
    if reduction == "none":
        return squared
    return squared.sum() if reduction == "sum" else squared.mean()


# --------------------------------------------------------------------------------------- attention
def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    is_causal: bool = False,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    scale: float | None = None,
    return_weights: bool = False,
    generator: Generator | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """softmax(q k^T * scale + mask) v, for q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv).

    scale defaults to 1/sqrt(d). ``is_causal`` lets query i see keys j <= i + Tk - Tq (see
    ``causal_mask``); ``attn_mask`` is a boolean array/Tensor broadcastable to (..., Tq, Tk), True =
    may attend. Masked scores are -inf, so their weights are exactly 0. Dropout with probability
    ``dropout_p`` is applied to the weights (pass 0.0 in eval). Returns the output (..., Tq, dv), and
    also the weights (..., Tq, Tk), before dropout, when ``return_weights``.
    """
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    xp = get_xp(q.data)
    allowed = None
    if is_causal:
        allowed = causal_mask(q.shape[-2], k.shape[-2], xp)
    if attn_mask is not None:
        given = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask, dtype=bool)
        allowed = given if allowed is None else allowed & given
    if dropout_p == 0 and not return_weights:  # one fused op (ops/attention.py)
        return Attention.apply(q, k, v, scale=scale, allowed=allowed, causal=is_causal and attn_mask is None)
    weights = attention_weights_differentiable(q, k, scale, allowed)  # (..., Tq, Tk)
    out = dropout(weights, dropout_p, training=dropout_p > 0, generator=generator) @ v  # (..., Tq, dv)
    return (out, weights) if return_weights else out


def multi_head_self_attention(qkv: Tensor, n_heads: int, is_causal: bool = True) -> Tensor:
    """Self-attention of ``n_heads`` heads on packed projections qkv (B, T, 3C) -> (B, T, C).

    The last axis holds q, k and v (C each), each split into heads of C/H; per head,
    softmax(q k^T / sqrt(C/H), causally masked when ``is_causal``) v; heads are merged back in order.
    Equal to splitting qkv and calling ``scaled_dot_product_attention`` per head, as one fused op.
    """
    if qkv.ndim != 3 or qkv.shape[-1] % (3 * n_heads):
        raise ValueError(
            f"multi_head_self_attention: expected qkv (B, T, 3C) with C divisible by n_heads={n_heads}, "
            f"got {qkv.shape}"
        )
    return PackedSelfAttention.apply(qkv, n_heads=n_heads, causal=is_causal)
