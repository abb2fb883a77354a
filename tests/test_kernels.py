"""The compiled kernels (numba) agree with the NumPy formulas they replace, and the switch works.

Each comparison runs the same op through the public Tensor API twice, with the kernels on and off.
The two compute the same formula with sums taken in different orders (and, in float32, another
``exp``), so they may differ by rounding: each test bounds the difference by a few epsilons times the
magnitude of what was summed (the rounding-error bound of a sum of n terms is about n eps times the
sum of their absolute values), never by a fixed tolerance. Adam's kernel keeps NumPy's order of
operations and is compared bit for bit. Shapes come from hypothesis: odd sizes, one to three leading
axes, non-contiguous inputs, float32 and float64.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

import tinygrad_lm as tg
from tinygrad_lm import kernels, optim
from tinygrad_lm.kernels import kernels_for, use_kernels

DTYPES = st.sampled_from([np.float32, np.float64])
SIZES = st.integers(1, 37)


def both(compute):
    """compute() with the kernels on, then off."""
    with use_kernels(True):
        fast = compute()
    with use_kernels(False):
        reference = compute()
    return fast, reference


def arrays(draw, shape, dtype, scale=1.0, transposed=False):
    """A random array; ``transposed``: a non-contiguous view with that shape."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if transposed and len(shape) >= 2:
        return (rng.standard_normal(shape[::-1]) * scale).astype(dtype).T
    return (rng.standard_normal(shape) * scale).astype(dtype)


def assert_within(actual, expected, bound, what):
    error = np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))
    worst = np.unravel_index(np.argmax(error - bound), error.shape) if error.ndim else ()
    assert np.all(error <= bound), f"{what}: |difference| {error[worst]} > bound {bound[worst]} at {worst}"


def gradients(x, forward, weight):
    """(y, dL/dx) with L = sum(y * weight)."""
    leaf = tg.tensor(x, requires_grad=True)
    y = forward(leaf)
    (y * tg.tensor(weight)).sum().backward()
    return y.numpy(), leaf.grad.numpy()


@st.composite
def gelu_cases(draw):
    dtype = draw(DTYPES)
    shape = tuple(draw(st.lists(SIZES, min_size=1, max_size=3)))
    scale = draw(st.sampled_from([1.0, 4.0, 12.0]))  # 12: the gate's exponential overflows for x < -10
    x = arrays(draw, shape, dtype, scale, transposed=draw(st.booleans()))
    return x, arrays(draw, shape, dtype)


@settings(deadline=None, max_examples=60)
@given(gelu_cases())
def test_gelu_tanh_kernel_agrees_with_numpy(case):
    x, weight = case
    eps = np.finfo(x.dtype).eps
    (y, dx), (y0, dx0) = both(lambda: gradients(x, lambda t: t.gelu("tanh"), weight))
    x64 = x.astype(np.float64)
    # e^(-2u) carries a relative error of about |2u| eps (the exponent's own rounding)
    exponent = np.abs(2 * np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3))
    tiny = np.finfo(x.dtype).smallest_subnormal * 4
    assert_within(y, y0, 8 * eps * (1 + exponent) * np.abs(y0) + tiny, "gelu forward")
    slope_terms = np.abs(weight) * (1 + np.abs(x64) * (1 + 0.134 * x64**2))  # |g| (s + |y (1-s) du/dx|)
    assert_within(dx, dx0, 16 * eps * (1 + exponent) * slope_terms + tiny, "gelu backward")


@st.composite
def layer_norm_cases(draw):
    dtype = draw(DTYPES)
    width = draw(st.integers(1, 70))
    shape = tuple(draw(st.lists(SIZES, min_size=0, max_size=2))) + (width,)
    x = arrays(draw, shape, dtype, draw(st.sampled_from([1.0, 100.0])), transposed=draw(st.booleans()))
    x = x + draw(st.sampled_from([0.0, 3.0]))  # an offset: the centring matters
    params = [arrays(draw, (width,), dtype) for _ in range(2)]
    return x, params, draw(st.booleans()), arrays(draw, shape, dtype)


@settings(deadline=None, max_examples=60)
@given(layer_norm_cases())
def test_layer_norm_kernel_agrees_with_numpy(case):
    x, (weight, bias), with_bias, g = case
    eps = np.finfo(x.dtype).eps
    width, rows = x.shape[-1], max(1, x.size // x.shape[-1])

    def compute():
        w = tg.tensor(weight, requires_grad=True)
        b = tg.tensor(bias, requires_grad=True) if with_bias else None
        y, dx = gradients(x, lambda t: tg.functional.layer_norm(t, width, w, b), g)
        return y, dx, w.grad.numpy(), b.grad.numpy() if with_bias else None

    (y, dx, dw, db), (y0, dx0, dw0, db0) = both(compute)
    # Rounding bounds in float64 terms: x_hat comes from sums of `width` terms, and centring amplifies
    # their error by K = 1 + max |x - 0| / sigma over the row (large for an offset row of small spread).
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=-1, keepdims=True)
    inv_sigma = 1 / np.sqrt(((x64 - mean) ** 2).mean(axis=-1, keepdims=True) + 1e-5)
    x_hat = np.abs((x64 - mean) * inv_sigma)
    k = 1 + ((np.abs(x64) + np.abs(mean)) * inv_sigma).max(axis=-1, keepdims=True)
    x_hat_error = 4 * width * eps * k
    assert_within(y, y0, np.abs(weight) * x_hat_error + 4 * eps * np.abs(y0), "layer norm forward")
    g_hat = np.abs(g * weight)
    spread = g_hat.mean(axis=-1, keepdims=True) + (x_hat + 1) * (g_hat * (x_hat + 1)).mean(-1, keepdims=True)
    assert_within(dx, dx0, 2 * x_hat_error * inv_sigma * (g_hat + spread), "layer norm dx")
    by_column = np.abs(g).reshape(rows, width)
    terms = (by_column * (x_hat_error + rows * eps * x_hat).reshape(rows, -1)).sum(axis=0)
    assert_within(dw, dw0, 4 * terms + 1e-300, "layer norm dw")
    if with_bias:
        assert_within(db, db0, 4 * rows * eps * by_column.sum(axis=0), "layer norm db")


ADAMS = [(optim.AdamW, 0.1), (optim.Adam, 0.01), (optim.Adam, 0.0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("adam", "weight_decay"), ADAMS)
def test_adam_kernel_equals_numpy_bit_for_bit(dtype, adam, weight_decay):
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), (3, 1, 4), ()]
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(4)]

    def run(flatten):
        params = [tg.tensor(a.copy(), requires_grad=True) for a in start]
        optimizer = adam(params, lr=0.01, betas=(0.9, 0.99), weight_decay=weight_decay)
        optimizer.flatten = flatten
        for step in grads:
            for p, g in zip(params, step, strict=True):
                p.grad = tg.tensor(g)
            optimizer.step()
        return [p.numpy() for p in params] + [s["exp_avg_sq"].copy() for s in optimizer.state.values()]

    for flatten in (True, False):
        fast, reference = both(lambda flatten=flatten: run(flatten))
        for a, b in zip(fast, reference, strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_kernel_path_is_the_one_taken(monkeypatch):
    from tinygrad_lm.kernels import activations

    calls = []
    real = activations.gelu_tanh_forward
    monkeypatch.setattr(activations, "gelu_tanh_forward", lambda x: calls.append(x.shape) or real(x))
    x = tg.randn(3, 4)
    with use_kernels(True):
        x.gelu("tanh")
    with use_kernels(False):
        x.gelu("tanh")
    assert calls == [(3, 4)]


def test_kernels_keep_second_derivatives():
    """create_graph runs the Tensor formula: gradgradcheck passes with the kernels on."""
    from tinygrad_lm.testing.gradcheck import gradcheck, gradgradcheck

    x = tg.tensor(np.linspace(-3, 3, 12).reshape(3, 4), dtype="float64", requires_grad=True)
    with use_kernels(True):
        assert gradcheck(lambda t: t.gelu("tanh"), (x,))
        assert gradgradcheck(lambda t: t.gelu("tanh"), (x,))
        weight = tg.tensor(np.linspace(0.5, 2, 4), requires_grad=True)
        assert gradgradcheck(lambda t, w: tg.functional.layer_norm(t, 4, w), (x, weight))


def test_kernels_for_declines_what_it_cannot_run():
    with use_kernels(True):
        assert kernels_for("activations", np.ones(3, np.float32)) is not None
        assert kernels_for("activations", np.ones(3, np.int64)) is None
        assert kernels_for("activations", np.ones(3, np.float32), np.ones(3)) is None  # mixed dtypes
        assert kernels_for("activations", np.ones(3, np.float16)) is None
        assert kernels_for("activations", [1.0, 2.0]) is None
        with pytest.raises(ValueError, match="no kernel module 'softmax'"):
            kernels_for("softmax", np.ones(3))
    with use_kernels(False):
        assert kernels_for("activations", np.ones(3, np.float32)) is None


def test_the_switch_is_an_environment_variable_and_a_function():
    with use_kernels(False):
        assert not kernels.kernels_enabled() and "kernels off" in kernels.describe()
        with use_kernels(True):
            assert kernels.kernels_enabled()
        assert not kernels.kernels_enabled()
    with pytest.raises(TypeError, match="use_kernels: expected True or False"):
        use_kernels("off")
    probe = "import tinygrad_lm.kernels as k; print(k.kernels_enabled(), k.describe())"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "TINYGRAD_LM_KERNELS": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("False NumPy ops (kernels off")
    bad = {**os.environ, "TINYGRAD_LM_KERNELS": "fast"}
    failed = subprocess.run([sys.executable, "-c", probe], env=bad, capture_output=True, text=True)
    assert failed.returncode != 0 and "TINYGRAD_LM_KERNELS='fast': expected 1" in failed.stderr
    cli = subprocess.run([sys.executable, "-m", "zoo", "train"], env=bad, capture_output=True, text=True)
    assert cli.returncode == 2 and cli.stderr.strip().splitlines() == [
        "python -m zoo: TINYGRAD_LM_KERNELS='fast': expected 1 (use the kernels) or 0 (NumPy only)"
    ]
    with pytest.raises(ValueError, match="set_kernel_threads: expected a positive int"):
        kernels.set_kernel_threads(0)


@st.composite
def attention_cases(draw):
    dtype = draw(DTYPES)
    n_heads, head_dim = draw(st.integers(1, 3)), draw(st.integers(1, 9))
    batch, steps = draw(st.integers(1, 3)), draw(st.integers(1, 19))
    qkv = arrays(draw, (batch, steps, 3 * n_heads * head_dim), dtype, draw(st.sampled_from([1.0, 5.0])))
    if draw(st.booleans()):  # non-contiguous: every other row of a longer sequence
        qkv = np.repeat(qkv, 2, axis=1)[:, ::2]
    g = arrays(draw, (batch, steps, n_heads * head_dim), dtype)
    return qkv, n_heads, draw(st.booleans()), g


@settings(deadline=None, max_examples=60)
@given(attention_cases())
def test_packed_attention_kernel_agrees_with_numpy(case):
    from tinygrad_lm.ops.attention import PackedSelfAttention

    qkv, n_heads, causal, g = case
    eps = np.finfo(qkv.dtype).eps
    (out, d), (out0, d0) = both(
        lambda: gradients(qkv, lambda t: PackedSelfAttention.apply(t, n_heads=n_heads, causal=causal), g)
    )
    # scores are sums of head_dim products, softmax and outputs sums over <= T keys: bound the
    # difference by (head_dim + T) eps times the magnitudes that enter (|S| for the exponent's error)
    batch, steps, width3 = qkv.shape
    head_dim = width3 // 3 // n_heads
    magnitude = np.abs(qkv).max() ** 2 * head_dim / np.sqrt(head_dim) + 1
    terms = 8 * (head_dim + steps) * eps * magnitude
    assert_within(out, out0, terms * (np.abs(qkv).max() + 1) * np.ones_like(out0), "attention forward")
    assert_within(d, d0, terms * (np.abs(qkv).max() + 1) ** 2 * steps * np.abs(g).max() * np.ones_like(d0),
                  "attention backward")


@settings(deadline=None, max_examples=40)
@given(DTYPES, SIZES, SIZES, st.integers(1, 5), st.booleans(), st.integers(0, 2**32 - 1))
def test_attention_softmax_kernel_agrees_for_any_query_and_key_lengths(dtype, tq, tk, d, causal, seed):
    """scaled_dot_product_attention: causal alignment bottom-right when Tq != Tk, rows that see no key."""
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((2, t, d)).astype(dtype) for t in (tq, tk, tk))
    g = rng.standard_normal((2, tq, d)).astype(dtype)

    def compute():
        leaves = [tg.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = tg.functional.scaled_dot_product_attention(*leaves, is_causal=causal)
        (out * tg.tensor(g)).sum().backward()
        return [out.numpy()] + [t.grad.numpy() for t in leaves]

    fast, reference = both(compute)
    eps = np.finfo(dtype).eps
    scale = (1 + np.abs(q).max()) * (1 + np.abs(k).max()) * (1 + np.abs(v).max()) * (1 + np.abs(g).max())
    for a, b in zip(fast, reference, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))  # a query that sees no key: NaN in both
        ok = ~np.isnan(b)
        assert np.all(np.abs(a - b)[ok] <= 16 * (tk + d) * eps * scale)


def test_without_numba_every_op_takes_the_numpy_path():
    """numba made unimportable: the library imports, reports it, and trains a GPT step on NumPy."""
    probe = (
        "import sys\n"
        "sys.modules['numba'] = None\n"
        "import numpy as np, tinygrad_lm as tg\n"
        "from zoo.models import GPT, GPTConfig\n"
        "assert not tg.kernels.available() and not tg.kernels_enabled()\n"
        "print(tg.kernels.describe())\n"
        "model = GPT(GPTConfig(vocab_size=11, context_length=8, n_layers=1, n_heads=2, d_model=8))\n"
        "ids = tg.tensor(np.arange(16).reshape(2, 8) % 11)\n"
        "_, loss = model(ids, ids)\n"
        "loss.backward()\n"
        "tg.optim.AdamW(model.parameters()).step()\n"
        "assert 'numba' not in sys.modules or sys.modules['numba'] is None\n"
        "print(round(loss.item(), 3))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.startswith("NumPy ops (numba not installed)")


def test_with_two_kernel_threads_the_parallel_builds_agree_with_the_serial_ones():
    from tinygrad_lm.kernels import activations, layer_norm

    rng = np.random.default_rng(5)
    x = rng.standard_normal((37, 130)).astype(np.float32)
    w, b, g = x[0].copy(), x[1].copy(), rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for threads in (1, 2):
        kernels.set_kernel_threads(threads)
        try:
            y, x_hat, inv_sigma = layer_norm.layer_norm_forward(x, w, b, 1e-5)
            grads = layer_norm.layer_norm_vjp(g, x_hat, inv_sigma, w)
            results.append([y, *grads, *activations.gelu_tanh_forward(x)])
        finally:
            kernels.set_kernel_threads(1)
    assert layer_norm._forward.parallel is not None and activations._gelu_tanh_forward.parallel is not None
    eps = np.finfo(np.float32).eps
    for serial, parallel in zip(*results, strict=True):  # the same loops: rounding of the sums only
        np.testing.assert_allclose(parallel, serial, rtol=64 * eps, atol=64 * eps * np.abs(serial).max())


def test_warm_up_compiles_every_kernel_an_op_reaches():
    from tinygrad_lm.kernels import activations, adam, attention, layer_norm, recurrent

    with use_kernels(False):
        assert tg.warm_up_kernels() == 0.0
    with use_kernels(True):
        assert tg.warm_up_kernels() > 0.0
    kernels_run = [activations._gelu_tanh_forward, layer_norm._vjp, attention._softmax_rows_vjp, adam._update]
    kernels_run += [recurrent._lstm_forward_step, recurrent._gru_backward_step]
    assert all(k.serial is not None for k in kernels_run)


def test_the_float32_exp_is_within_one_epsilon_of_the_exact_value():
    """scalar.exp in float32 against float64 exp over [-87, 88]: at most 1 float32 epsilon relative
    (measured 0.70; NumPy's own float32 exp: 1.6); inf above ln(FLT_MAX), 0 far below, NaN kept."""
    from numba import njit

    from tinygrad_lm.kernels.scalar import exp

    @njit
    def exp_all(x, out):
        for i in range(x.size):
            out[i] = exp(x[i])

    x = np.linspace(-87.0, 88.0, 2_000_001).astype(np.float32)
    out = np.empty_like(x)
    exp_all(x, out)
    exact = np.exp(x.astype(np.float64))
    assert (np.abs(out - exact) / exact).max() <= np.finfo(np.float32).eps
    special = np.array([89.0, -110.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    out = np.empty_like(special)
    exp_all(special, out)
    assert out[0] == np.inf and out[1] == 0 and np.isnan(out[2]) and out[3] == np.inf and out[4] == 0
