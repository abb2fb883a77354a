"""Registry entries (``OpSpec``, see ``specs.py``) for ``tinygrad_lm.functional``'s losses and layers
(cross_entropy, nll_loss, mse_loss, layer_norm, linear, embedding, dropout, the fused ops behind them)
and its activation functions. Integer arguments (targets, indices) and seeds are drawn as ``params``;
the NumPy references are written out here from the formulas, independently of the library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm import functional as F

from . import strategies as tst
from .specs import Convention, OpSpec, as_torch, sigmoid_ref, torch_module

IGNORE = -100
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def _torch_f() -> Any:
    return torch_module().nn.functional


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
        return getattr(torch_module().nn.functional, name)(x, as_torch(targets), reduction=reduction)

    return run


# --------------------------------------------------------------------------------------- layers
@st.composite
def _layer_norm_shapes(draw: Any, broadcast: bool) -> tuple:
    shape = draw(tst.shapes(1, 3, 2, 4))
    return (shape, shape[-1:], shape[-1:])


def _layer_norm_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def _layer_norm_float32_error(x: np.ndarray, w: np.ndarray, *bias: np.ndarray, eps: float) -> float:
    """The float32 gradient error layer norm cannot avoid: the row mean mu rounds at eps32 |mu|, which
    moves the centred values by eps32 |mu| / sigma relative to their size; the backward's terms, of
    size |u w| / sigma (u the unit-normal upstream gradient, |u| < 4), cancel to the result."""
    mu = x.mean(-1, keepdims=True)
    inv_sigma = 1 / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
    shift = 1 + np.abs(mu) * inv_sigma + np.abs(x - mu).max(-1, keepdims=True) * inv_sigma
    return float(4 * 2.0**-24 * 4 * (shift * inv_sigma).max() * max(1.0, np.abs(w).max()))


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


LOSS_LAYER_SPECS: list[OpSpec] = [
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
        torch_fn=lambda x, y, reduction: _torch_f().mse_loss(x, y, reduction=reduction),
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
        float32_grad_error=_layer_norm_float32_error,
        torch_fn=lambda x, w, b, eps: _torch_f().layer_norm(x, x.shape[-1:], w, b, eps),
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
        float32_grad_error=_layer_norm_float32_error,
        torch_fn=lambda x, w, eps: _torch_f().layer_norm(x, x.shape[-1:], w, None, eps),
    ),
    OpSpec(
        "linear",
        F.linear,
        lambda x, w, b: x @ w.T + b,
        arity=3,
        shapes=_linear_shapes,
        covers=("LinearFunction", "functional.linear"),
        torch_fn=lambda x, w, b: _torch_f().linear(x, w, b),
    ),
    OpSpec(
        "linear_no_bias",
        F.linear,
        lambda x, w: x @ w.T,
        arity=2,
        shapes=lambda broadcast: _linear_shapes(broadcast).map(lambda shapes: shapes[:2]),
        covers=("LinearFunction", "functional.linear"),
        torch_fn=lambda x, w: _torch_f().linear(x, w),
    ),
    OpSpec(
        "embedding",
        lambda w, indices: F.embedding(indices, w),
        lambda w, indices: w[indices],
        min_dims=2,
        max_dims=2,
        params=_embedding_params,
        covers=("functional.embedding",),
        torch_fn=lambda w, indices: _torch_f().embedding(as_torch(indices), w),
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
]

ACTIVATION_SPECS: list[OpSpec] = [
    *[
        OpSpec(
            f"functional.{name}",
            getattr(F, name),
            ref,
            covers=(f"functional.{name}",),
            kind="unary",
            avoid=avoid,
            conventions=(Convention(([0.0],), ([0.0],)),) if avoid else (),  # relu'(0) = 0
            torch_fn=lambda x, name=name: getattr(_torch_f(), name)(x),
        )
        for name, ref, avoid in [
            ("relu", lambda x: np.maximum(x, 0), (0.0,)),
            ("tanh", np.tanh, ()),
            ("sigmoid", sigmoid_ref, ()),
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
            torch_fn=lambda x, axis, name=name: getattr(_torch_f(), name)(x, axis),
        )
        for name, ref in [
            ("softmax", lambda x, axis: np.exp(_along(_log_softmax_ref, x, axis))),
            ("log_softmax", lambda x, axis: _along(_log_softmax_ref, x, axis)),
        ]
    ],
]
