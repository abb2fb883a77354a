"""Registry entries (``OpSpec``, see ``registry.py``) for ``tinygrad_lm.functional``, the fused ops and
the fused recurrent scan. Integer arguments (targets, indices) and seeds are drawn as ``params``; the
NumPy references are written out here from the formulas, independently of the library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm import functional as F
from tinygrad_lm import nn

from . import strategies as tst

IGNORE = -100
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def _torch() -> Any:
    import torch

    return torch


# --------------------------------------------------------------------------------------- losses
@st.composite
def _class_shapes(draw: Any, broadcast: bool) -> tuple:
    """Logits (C,), (N, C) or (B, T, C)."""
    return (draw(tst.shapes(1, 3, 1, 4)),)


@st.composite
def _target_params(draw: Any, shapes: tuple) -> dict:
    """Targets of shape logits.shape[:-1] in [0, C), some ignored (never all of them)."""
    shape, classes = shapes[0][:-1], shapes[0][-1]
    targets = np.asarray(
        draw(st.lists(st.integers(0, classes - 1), min_size=math.prod(shape), max_size=math.prod(shape)))
    )
    ignored = np.asarray(
        draw(st.lists(st.booleans(), min_size=targets.size, max_size=targets.size)), dtype=bool
    )
    ignored[:1] = False
    targets = np.where(ignored, IGNORE, targets).astype(np.int64).reshape(shape)
    return {"targets": targets, "reduction": draw(REDUCTIONS)}


def _reduce(losses: np.ndarray, valid: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return losses
    return np.asarray(losses.sum() if reduction == "sum" else losses.sum() / valid.sum())


def _nll_ref(log_probs: np.ndarray, targets: np.ndarray, reduction: str) -> np.ndarray:
    valid = targets != IGNORE
    picked = np.take_along_axis(log_probs, np.where(valid, targets, 0)[..., None], -1)[..., 0]
    return _reduce(np.where(valid, -picked, 0.0), valid, reduction)


def _log_softmax_ref(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _along(fn: Any, x: np.ndarray, axis: int) -> np.ndarray:
    """``fn`` (which works on the last axis) applied along ``axis``."""
    return np.moveaxis(fn(np.moveaxis(x, axis, -1)), -1, axis)


def _mse_ref(x: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    squared = (x - y) ** 2
    return (
        squared
        if reduction == "none"
        else np.asarray(squared.sum() if reduction == "sum" else squared.mean())
    )


def _torch_class_loss(name: str, prepare: Any = None) -> Any:
    """torch's cross_entropy/nll_loss, with our class-last layout moved to torch's class-second one."""

    def run(x: Any, targets: np.ndarray, reduction: str) -> Any:
        x = prepare(x) if prepare else x
        if x.ndim == 3:
            x = x.permute(0, 2, 1)
        return getattr(_torch().nn.functional, name)(x, _torch().as_tensor(targets), reduction=reduction)

    return run


# --------------------------------------------------------------------------------------- layers
@st.composite
def _layer_norm_shapes(draw: Any, broadcast: bool) -> tuple:
    shape = draw(tst.shapes(1, 3, 2, 4))
    return (shape, shape[-1:], shape[-1:])


def _layer_norm_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


@st.composite
def _linear_shapes(draw: Any, broadcast: bool) -> tuple:
    lead = draw(tst.shapes(0, 2, 1, 3))
    fan_in, fan_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return ((*lead, fan_in), (fan_out, fan_in), (fan_out,))


@st.composite
def _embedding_params(draw: Any, shapes: tuple) -> dict:
    rows = shapes[0][0]
    index_shape = draw(tst.shapes(0, 2, 1, 3))
    values = draw(
        st.lists(st.integers(0, rows - 1), min_size=math.prod(index_shape), max_size=math.prod(index_shape))
    )
    return {"indices": np.asarray(values, dtype=np.int64).reshape(index_shape)}


def _dropout_ref(x: np.ndarray, p: float, seed: int) -> np.ndarray:
    """The mask tg.Generator(seed) draws: PCG64 uniforms on [0, 1) in x's dtype, kept where >= p."""
    draws = np.random.Generator(np.random.PCG64(seed)).random(x.shape, dtype=x.dtype)
    return x * (draws >= p) / (1 - p)


# --------------------------------------------------------------------------------------- attention
@st.composite
def _attention_shapes(draw: Any, broadcast: bool) -> tuple:
    batch = draw(tst.shapes(0, 2, 1, 2))
    t_q, t_k, d, d_v = (draw(st.integers(1, 3)) for _ in range(4))
    return ((*batch, t_q, d), (*batch, t_q + t_k - 1, d), (*batch, t_q + t_k - 1, d_v))


def _attention_ref(q: np.ndarray, k: np.ndarray, v: np.ndarray, is_causal: bool) -> np.ndarray:
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if is_causal:  # query i is position i + Tk - Tq of the keys
        t_q, t_k = scores.shape[-2:]
        future = np.arange(t_k)[None, :] > np.arange(t_q)[:, None] + t_k - t_q
        scores = np.where(future, -np.inf, scores)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)) @ v


def _torch_attention(q: Any, k: Any, v: Any, is_causal: bool) -> Any:
    """The formula in torch ops (torch's own fused kernel cannot be differentiated twice, and its
    is_causal aligns the mask top-left where ours aligns it bottom-right for key/value caches)."""
    torch = _torch()
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if is_causal:
        t_q, t_k = scores.shape[-2:]
        scores = scores.masked_fill(~torch.ones(t_q, t_k, dtype=torch.bool).tril(t_k - t_q), float("-inf"))
    return scores.softmax(-1) @ v


def _attention_weights_ref(q: np.ndarray, k: np.ndarray, v: np.ndarray, is_causal: bool) -> tuple:
    """(output, weights): the reference of the composed path that also returns the weights."""
    out = _attention_ref(q, k, v, is_causal)
    identity = np.eye(k.shape[-2])  # the weights are the output for values = I
    weights = _attention_ref(q, k, np.broadcast_to(identity, k.shape[:-1] + identity.shape[-1:]), is_causal)
    return out, weights


@st.composite
def _packed_attention_shapes(draw: Any, broadcast: bool) -> tuple:
    batch, steps, heads, head_dim = (draw(st.integers(1, 3)) for _ in range(4))
    return ((batch, steps, 3 * heads * head_dim),)


def _split_heads_ref(qkv: np.ndarray, n_heads: int) -> tuple:
    batch, steps, width = qkv.shape
    return tuple(qkv.reshape(batch, steps, 3, n_heads, -1).transpose(2, 0, 3, 1, 4))


def _packed_attention_ref(qkv: np.ndarray, n_heads: int, is_causal: bool) -> np.ndarray:
    heads = _attention_ref(*_split_heads_ref(qkv, n_heads), is_causal)  # (B, H, T, hd)
    return heads.transpose(0, 2, 1, 3).reshape(qkv.shape[0], qkv.shape[1], -1)


@st.composite
def _packed_attention_params(draw: Any, shapes: tuple) -> dict:
    width = shapes[0][-1] // 3
    n_heads = draw(st.sampled_from([h for h in range(1, width + 1) if width % h == 0]))
    return {"n_heads": n_heads, "is_causal": draw(st.booleans())}


def _torch_packed_attention(qkv: Any, n_heads: int, is_causal: bool) -> Any:
    batch, steps, width = qkv.shape
    q, k, v = qkv.reshape(batch, steps, 3, n_heads, -1).permute(2, 0, 3, 1, 4)
    return _torch_attention(q, k, v, is_causal).transpose(1, 2).reshape(batch, steps, width // 3)


# --------------------------------------------------------------------------------------- recurrent scan
RECURRENT = {"rnn": (nn.RNN, 1), "lstm": (nn.LSTM, 4), "gru": (nn.GRU, 3)}


@st.composite
def _recurrent_shapes(draw: Any, broadcast: bool) -> tuple:
    batch, steps, size, hidden = (draw(st.integers(1, 3)) for _ in range(4))
    gates = 4  # the LSTM's; the other kinds use the leading rows
    return (
        (batch, steps, size),
        (gates * hidden, size),
        (gates * hidden, hidden),
        (gates * hidden,),
        (gates * hidden,),
    )


def _recurrent_fn(x: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, kind: str) -> Any:
    """Outputs and final states of a one-layer fused RNN/LSTM/GRU with the given weights."""
    cls, gates = RECURRENT[kind]
    rows = gates * w_hh.shape[1]
    layer = cls(x.shape[-1], w_hh.shape[1])
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    weights = dict(zip(names, (w_ih[:rows], w_hh[:rows], b_ih[:rows], b_hh[:rows]), strict=True))
    outputs, state = nn.functional_call(layer, weights, x)
    return (outputs, *state) if isinstance(state, tuple) else (outputs, state)


def _torch_recurrent(x: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, kind: str) -> Any:
    """torch.nn.RNN/LSTM/GRU with the same weights (``torch.func.functional_call``)."""
    torch = _torch()
    hidden = w_hh.shape[1]
    rows = RECURRENT[kind][1] * hidden
    layer = getattr(torch.nn, kind.upper())(x.shape[-1], hidden, batch_first=True).double()
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    weights = dict(zip(names, (w_ih[:rows], w_hh[:rows], b_ih[:rows], b_hh[:rows]), strict=True))
    outputs, state = torch.func.functional_call(layer, weights, (x,))
    return (outputs, *state) if kind == "lstm" else (outputs, state)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def _recurrent_ref(
    x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray, kind: str
):
    """The PyTorch-documented equations, one time step at a time."""
    hidden = w_hh.shape[1]
    rows = RECURRENT[kind][1] * hidden
    w_ih, w_hh, b_ih, b_hh = w_ih[:rows], w_hh[:rows], b_ih[:rows], b_hh[:rows]
    h = c = np.zeros((x.shape[0], hidden))
    outputs = []
    for t in range(x.shape[1]):
        a_x, a_h = x[:, t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        if kind == "rnn":
            h = np.tanh(a_x + a_h)
        elif kind == "lstm":
            i, f, g, o = np.split(a_x + a_h, 4, axis=-1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        else:
            (x_r, x_z, x_n), (h_r, h_z, h_n) = np.split(a_x, 3, -1), np.split(a_h, 3, -1)
            r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
            n = np.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
        outputs.append(h)
    states = (h[None], c[None]) if kind == "lstm" else (h[None],)
    return (np.stack(outputs, axis=1), *states)


def _specs() -> list:
    from .registry import OpSpec  # defined by the time registry.py reads NN_SPECS (see _LazySpecs)

    torch_f = lambda: _torch().nn.functional
    return [
        OpSpec(
            "cross_entropy",
            lambda z, targets, reduction: F.cross_entropy(z, targets, reduction=reduction),
            lambda z, targets, reduction: _nll_ref(_log_softmax_ref(z), targets, reduction),
            covers=("CrossEntropy", "functional.cross_entropy"),
            shapes=_class_shapes,
            params=_target_params,
            torch_fn=_torch_class_loss("cross_entropy"),
        ),
        OpSpec(
            "cross_entropy_large_logits",
            lambda z, targets, reduction: F.cross_entropy(z * 1e3, targets, reduction=reduction),
            lambda z, targets, reduction: _nll_ref(_log_softmax_ref(z * 1e3), targets, reduction),
            covers=("CrossEntropy",),
            shapes=_class_shapes,
            params=_target_params,
            distinct=True,
            second_order="softmax of logits scaled by 1e3 saturates: second derivatives ~1e6 swamp the "
            "finite differences (the unscaled cross_entropy spec checks them)",
            torch_fn=lambda z, targets, reduction: _torch_class_loss("cross_entropy")(
                z * 1e3, targets, reduction
            ),
        ),
        OpSpec(
            "nll_loss",
            lambda lp, targets, reduction: F.nll_loss(lp, targets, reduction=reduction),
            _nll_ref,
            covers=("functional.nll_loss",),
            shapes=_class_shapes,
            params=_target_params,
            torch_fn=_torch_class_loss("nll_loss"),
        ),
        OpSpec(
            "mse_loss",
            F.mse_loss,
            _mse_ref,
            arity=2,
            covers=("functional.mse_loss",),
            params=lambda s: st.fixed_dictionaries({"reduction": REDUCTIONS}),
            torch_fn=lambda x, y, reduction: torch_f().mse_loss(x, y, reduction=reduction),
        ),
        OpSpec(
            "layer_norm",
            lambda x, w, b, eps: F.layer_norm(x, x.shape[-1], w, b, eps),
            _layer_norm_ref,
            arity=3,
            shapes=_layer_norm_shapes,
            distinct=True,
            covers=("LayerNormFunction", "functional.layer_norm"),
            params=lambda s: st.fixed_dictionaries({"eps": st.sampled_from([1e-5, 0.1])}),
            torch_fn=lambda x, w, b, eps: torch_f().layer_norm(x, x.shape[-1:], w, b, eps),
        ),
        OpSpec(
            "layer_norm_no_bias",
            lambda x, w, eps: F.layer_norm(x, x.shape[-1], w, None, eps),
            lambda x, w, eps: _layer_norm_ref(x, w, np.zeros_like(w), eps),
            arity=2,
            shapes=lambda broadcast: _layer_norm_shapes(broadcast).map(lambda shapes: shapes[:2]),
            distinct=True,
            covers=("LayerNormFunction", "functional.layer_norm"),
            params=lambda s: st.fixed_dictionaries({"eps": st.sampled_from([1e-5, 0.1])}),
            torch_fn=lambda x, w, eps: torch_f().layer_norm(x, x.shape[-1:], w, None, eps),
        ),
        OpSpec(
            "linear",
            F.linear,
            lambda x, w, b: x @ w.T + b,
            arity=3,
            shapes=_linear_shapes,
            covers=("LinearFunction", "functional.linear"),
            torch_fn=lambda x, w, b: torch_f().linear(x, w, b),
        ),
        OpSpec(
            "linear_no_bias",
            F.linear,
            lambda x, w: x @ w.T,
            arity=2,
            shapes=lambda broadcast: _linear_shapes(broadcast).map(lambda shapes: shapes[:2]),
            covers=("LinearFunction", "functional.linear"),
            torch_fn=lambda x, w: torch_f().linear(x, w),
        ),
        OpSpec(
            "embedding",
            lambda w, indices: F.embedding(indices, w),
            lambda w, indices: w[indices],
            min_dims=2,
            max_dims=2,
            params=_embedding_params,
            covers=("functional.embedding",),
            torch_fn=lambda w, indices: torch_f().embedding(_torch().as_tensor(indices), w),
        ),
        OpSpec(
            "dropout",
            lambda x, p, seed: F.dropout(x, p, generator=tg.Generator(seed)),
            _dropout_ref,
            covers=("functional.dropout",),
            params=lambda s: st.fixed_dictionaries(
                {"p": st.sampled_from([0.0, 0.25, 0.5]), "seed": st.integers(0, 100)}
            ),
            float32="the mask is drawn in the input's dtype: float32 and float64 drop different elements",
        ),
        OpSpec(
            "scaled_dot_product_attention",
            lambda q, k, v, is_causal: F.scaled_dot_product_attention(q, k, v, is_causal=is_causal),
            _attention_ref,
            arity=3,
            shapes=_attention_shapes,
            params=lambda s: st.fixed_dictionaries({"is_causal": st.booleans()}),
            covers=("Attention", "functional.scaled_dot_product_attention"),
            torch_fn=_torch_attention,
        ),
        OpSpec(
            "scaled_dot_product_attention_with_weights",  # the composed path (also taken with dropout)
            lambda q, k, v, is_causal: F.scaled_dot_product_attention(
                q, k, v, is_causal=is_causal, return_weights=True
            ),
            _attention_weights_ref,
            arity=3,
            shapes=_attention_shapes,
            params=lambda s: st.fixed_dictionaries({"is_causal": st.booleans()}),
            covers=("functional.scaled_dot_product_attention",),
        ),
        OpSpec(
            "multi_head_self_attention",
            F.multi_head_self_attention,
            _packed_attention_ref,
            shapes=_packed_attention_shapes,
            params=_packed_attention_params,
            covers=("PackedSelfAttention", "functional.multi_head_self_attention"),
            torch_fn=_torch_packed_attention,
        ),
        OpSpec(
            "recurrent_scan",
            _recurrent_fn,
            _recurrent_ref,
            arity=5,
            shapes=_recurrent_shapes,
            domain=(-1.0, 1.0),
            covers=("RecurrentScan", "nn.RNN", "nn.LSTM", "nn.GRU"),
            torch_fn=_torch_recurrent,
            params=lambda s: st.fixed_dictionaries({"kind": st.sampled_from(sorted(RECURRENT))}),
            second_order="the fused scan is first-order only (fused=False composes Tensor ops; "
            "tests/test_recurrent.py checks its second derivatives)",
        ),
        *[
            OpSpec(
                f"functional.{name}",
                getattr(F, name),
                ref,
                covers=(f"functional.{name}",),
                kind="unary",
                avoid=avoid,
                torch_fn=lambda x, name=name: getattr(torch_f(), name)(x),
            )
            for name, ref, avoid in [
                ("relu", lambda x: np.maximum(x, 0), (0.0,)),
                ("tanh", np.tanh, ()),
                ("sigmoid", _sigmoid, ()),
                ("gelu", lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))), ()),
            ]
        ],
        *[
            OpSpec(
                f"functional.{name}",
                lambda x, axis, name=name: getattr(F, name)(x, axis),
                ref,
                min_dims=1,
                covers=(f"functional.{name}",),
                params=lambda s: st.fixed_dictionaries({"axis": tst.signed_axis(len(s[0]))}),
                torch_fn=lambda x, axis, name=name: getattr(torch_f(), name)(x, axis),
            )
            for name, ref in [
                ("softmax", lambda x, axis: np.exp(_along(_log_softmax_ref, x, axis))),
                ("log_softmax", lambda x, axis: _along(_log_softmax_ref, x, axis)),
            ]
        ],
    ]


class _LazySpecs:
    """The specs, built when first iterated: registry.py imports this module BEFORE it defines
    ``OpSpec`` and iterates ``NN_SPECS`` after, so they cannot be built at import time."""

    def __init__(self) -> None:
        self._built: list | None = None

    def _list(self) -> list:
        if self._built is None:
            self._built = _specs()
        return self._built

    def __iter__(self):
        return iter(self._list())

    def __len__(self) -> int:
        return len(self._list())


NN_SPECS = _LazySpecs()
NN_NOT_DIFFERENTIABLE: frozenset[str] = frozenset(["functional.causal_mask"])
