"""The recurrent cells' compiled kernels (``kernels/recurrent.py``) agree with the NumPy formulas.

Each case runs ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (fused scan) forward and backward through the
public API twice, kernels on and off, and bounds the difference of every output and gradient.

The bound is a first-order worst case, in the infinity norm. The two paths compute the same products
(BLAS) and differ in the element-wise part of each step: other exp/tanh forms (float32) and other
orders of operations, so each step's activations and states differ locally by at most a few eps u
times M, with M = 1 + max |initial state| + T bounding every |state| (|c_t| <= |c_0| + t for the LSTM;
the RNN's and GRU's |h| <= max(1, |h_0|)). A difference d in a step's inputs (its state, and for layers
above the first its input) changes its state by at most G d, G = 1 + 2 M W, where W bounds the row and
column absolute sums of every weight matrix (one layer's W_hh plus W_ih) and 2 M the slopes of the
cell with respect to its pre-activations (every sigmoid' <= 1/4, tanh' <= 1, times |c| or |h|
<= M). Over N = T L steps (T time steps, L layers) the forward difference is therefore at most

    forward:   k u M N G^N.

Backward runs the same recursion transposed: the adjoints are at most A = |w| N G^N (|w| the largest
loss weight), and their difference gathers its own rounding and the forward difference, each carried
by at most G per step: k u M |w| N^2 G^(2N); dx and the initial states' gradients take one more
product with W, and the weight gradients sum B T products with inputs of size at most
X = M + max |x|. k = 16. Sizes are kept small (N <= 6, H <= 9) so that the bound stays meaningful.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

import tinygrad_lm as tg
from tinygrad_lm import nn
from tinygrad_lm.kernels import use_kernels

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
K = 16


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    layers = draw(st.integers(1, 2))
    return {
        "kind": kind,
        "dtype": draw(st.sampled_from([np.float32, np.float64])),
        "inputs": draw(st.integers(1, 5)),
        "hidden": draw(st.sampled_from([1, 3, 5, 7, 9])),
        "batch": draw(st.integers(1, 3)),
        "steps": draw(st.integers(1, 6 // layers)),
        "layers": layers,
        "bias": draw(st.booleans()),
        "with_state": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


def run(case: dict) -> tuple[dict[str, np.ndarray], dict]:
    """Outputs, final state and every gradient of L = sum of each result times fixed random weights;
    and what the bounds need: the weight matrices, max |x|, max |initial state|."""
    rng = np.random.default_rng(case["seed"])
    dtype, batch, steps, hidden = case["dtype"], case["batch"], case["steps"], case["hidden"]
    tg.manual_seed(case["seed"] % 1000)
    module = KINDS[case["kind"]](case["inputs"], hidden, num_layers=case["layers"], bias=case["bias"])
    for p in module.parameters():
        p.data = p.data.astype(dtype)
    x = tg.tensor(rng.standard_normal((batch, steps, case["inputs"])).astype(dtype), requires_grad=True)
    n_states = 2 if case["kind"] == "lstm" else 1
    shape = (case["layers"], batch, hidden)
    entries = [
        tg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True) for _ in range(n_states)
    ]
    state = (tuple(entries) if n_states == 2 else entries[0]) if case["with_state"] else None
    out, final = module(x, state)
    finals = final if n_states == 2 else (final,)
    loss_weights = [rng.standard_normal(a.shape).astype(dtype) for a in (out, *finals)]
    loss = sum((a * tg.tensor(w)).sum() for a, w in zip((out, *finals), loss_weights, strict=True))
    loss.backward()
    scales = {
        "matrices": [p.numpy() for name, p in module.named_parameters() if name.startswith("weight")],
        "x_max": float(np.abs(x.numpy()).max()),
        "state_max": max(float(np.abs(e.numpy()).max()) for e in entries) if case["with_state"] else 0.0,
        "weight_max": max(float(np.abs(w).max()) for w in loss_weights),
    }
    results = {"out": out.numpy(), "dx": x.grad.numpy()}
    results.update({f"final{k}": e.numpy() for k, e in enumerate(finals)})
    results.update({name: p.grad.numpy() for name, p in module.named_parameters()})
    if case["with_state"]:
        results.update({f"d_initial{k}": e.grad.numpy() for k, e in enumerate(entries)})
    return results, scales


def bounds(
    case: dict, matrices: list[np.ndarray], x_max: float, state_max: float, weight_max: float
) -> dict[str, float]:
    """The module docstring's bounds: forward, adjoint-based (dx, initial state) and weight gradients."""
    u = float(np.finfo(case["dtype"]).eps)
    steps, n = case["steps"], case["steps"] * case["layers"]
    magnitude = 1 + state_max + steps
    w = max(max(np.abs(m).sum(axis=0).max(), np.abs(m).sum(axis=1).max()) for m in matrices)
    gain = 1 + 2 * magnitude * 2 * w  # 2 w: W_hh plus W_ih of the layer above
    forward = K * u * magnitude * n * gain**n
    adjoint = K * u * magnitude * weight_max * n**2 * gain ** (2 * n)
    return {
        "forward": forward,
        "adjoint": adjoint * (1 + w),
        "weights": adjoint * case["batch"] * steps * (magnitude + x_max),
    }


def assert_within(actual: np.ndarray, expected: np.ndarray, bound: float, what: str) -> None:
    error = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)), initial=0.0))
    RATIOS.append((error / bound, what))
    assert error <= bound, f"{what}: |difference| {error} > bound {bound}"


RATIOS: list = []


@settings(deadline=None, max_examples=60)
@given(cases())
def test_recurrent_kernels_agree_with_numpy(case):
    with use_kernels(True):
        fast, scales = run(case)
    with use_kernels(False):
        reference, _ = run(case)
    assert fast.keys() == reference.keys()
    limit = bounds(case, **scales)
    for name, value in reference.items():
        kind = "forward" if name in ("out", "final0", "final1") else "weights" if "_l" in name else "adjoint"
        assert_within(fast[name], value, limit[kind], f"{case['kind']} {name}")


def test_the_kernel_path_is_the_one_taken(monkeypatch):
    from tinygrad_lm.kernels import recurrent

    calls = []
    for name in ("lstm_forward_step", "lstm_coefficients", "lstm_backward_step", "gru_forward_step",
                 "gru_coefficients", "gru_backward_step", "rnn_forward_step", "rnn_slopes"):
        real = getattr(recurrent, name)
        monkeypatch.setattr(recurrent, name, lambda *a, real=real, name=name: calls.append(name) or real(*a))
    x = tg.randn(2, 3, 4, requires_grad=True)
    for kind, layer in KINDS.items():
        module = layer(4, 5)
        for on in (True, False):
            calls.clear()
            with use_kernels(on):
                out, _ = module(x)
                out.sum().backward()
            expected = {
                "lstm": ["lstm_forward_step"] * 3 + ["lstm_coefficients"] + ["lstm_backward_step"] * 3,
                "gru": ["gru_forward_step"] * 3 + ["gru_coefficients"] + ["gru_backward_step"] * 3,
                "rnn": ["rnn_forward_step"] * 3 + ["rnn_slopes"],
            }[kind]
            assert calls == (expected if on else []), (kind, on)


def test_the_kernels_refuse_mismatched_shapes_before_writing():
    from tinygrad_lm.kernels import recurrent

    a = np.zeros((8, 3), np.float32)
    c = np.full((2, 3), 7.0, np.float32)
    with pytest.raises(ValueError, match="lstm_forward_step"):
        recurrent.lstm_forward_step(a, a, c, c, c, np.zeros((2, 4), np.float32))
    assert np.all(c == 7.0) and np.all(a == 0.0)
    d_a = np.zeros((4, 2, 5), np.float32)
    with pytest.raises(ValueError, match="lstm_backward_step"):
        recurrent.lstm_backward_step(c, c, np.zeros((4, 2, 3), np.float32), c, c, d_a)
    assert np.all(d_a == 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_feature_first_is_the_transposed_copy(dtype):
    from tinygrad_lm.kernels import recurrent

    a = np.arange(5 * 37 * 3, dtype=dtype).reshape(5, 37, 3)
    np.testing.assert_array_equal(recurrent.feature_first(a), a.transpose(1, 0, 2).reshape(37, 15))
    strided = a[:, ::2]  # non-contiguous: copied first
    expected = strided.transpose(1, 0, 2).reshape(19, 15)
    np.testing.assert_array_equal(recurrent.feature_first(strided), expected)


def test_the_fused_scan_still_refuses_create_graph_with_kernels_on():
    layer = nn.LSTM(3, 4).double()
    x = tg.randn(2, 3, 3, dtype="float64", requires_grad=True)
    with use_kernels(True):
        out, _ = layer(x)
        with pytest.raises(RuntimeError, match="fused=False"):
            tg.grad(out.sum(), [x], create_graph=True)
