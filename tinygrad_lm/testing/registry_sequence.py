"""Registry entries (``OpSpec``, see ``specs.py``) for the sequence-mixing ops: scaled dot-product
attention (fused, and composed with its weights), packed multi-head self-attention, and the fused
recurrent scan behind ``nn.RNN``/``nn.LSTM``/``nn.GRU``. The NumPy references are written out here
from the formulas (the recurrent one step by step, from the PyTorch-documented equations).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from tinygrad_lm import functional as F
from tinygrad_lm import nn

from . import strategies as tst
from .specs import OpSpec, sigmoid_ref, torch_module


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
    torch = torch_module()
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
    torch = torch_module()
    hidden = w_hh.shape[1]
    rows = RECURRENT[kind][1] * hidden
    layer = getattr(torch.nn, kind.upper())(x.shape[-1], hidden, batch_first=True).double()
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    weights = dict(zip(names, (w_ih[:rows], w_hh[:rows], b_ih[:rows], b_hh[:rows]), strict=True))
    outputs, state = torch.func.functional_call(layer, weights, (x,))
    return (outputs, *state) if kind == "lstm" else (outputs, state)


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
            c = sigmoid_ref(f) * c + sigmoid_ref(i) * np.tanh(g)
            h = sigmoid_ref(o) * np.tanh(c)
        else:
            (x_r, x_z, x_n), (h_r, h_z, h_n) = np.split(a_x, 3, -1), np.split(a_h, 3, -1)
            r, z = sigmoid_ref(x_r + h_r), sigmoid_ref(x_z + h_z)
            n = np.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
        outputs.append(h)
    states = (h[None], c[None]) if kind == "lstm" else (h[None],)
    return (np.stack(outputs, axis=1), *states)


SEQUENCE_SPECS: list[OpSpec] = [
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
]

# causal_mask builds a constant boolean mask: nothing to differentiate
SEQUENCE_NOT_DIFFERENTIABLE: frozenset[str] = frozenset(["functional.causal_mask"])
