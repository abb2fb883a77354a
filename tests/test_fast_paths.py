"""The fast paths change nothing but speed.

* A GPT built from the fused ops (Linear, packed attention, LayerNorm, GELU, cross-entropy) trained
  with the flat-buffer AdamW follows, step for step, the same GPT written with primitive Tensor ops
  only and trained with the per-parameter update: to rounding in float64, to float32 noise in float32.
* A float32 model's forward, backward and optimizer step create only float32 arrays.
* The flat-buffer update equals the per-parameter one bit for bit, and survives state_dict round trips.
* The row scatter-add of embedding backward equals ``numpy.add.at``.
* The row means and sums written as products with a vector of ones equal NumPy's reductions, and
  fall back to them (or to the differentiable Tensor reductions) where a product does not apply.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm import allocator, function, optim
from tinygrad_lm.backend import scatter_add
from tinygrad_lm.ops.rows import column_sums, row_means, row_sums
from zoo.models import GPT, GPTConfig
from zoo.train import parameter_groups

CONFIG = GPTConfig(vocab_size=17, context_length=12, n_layers=2, n_heads=2, d_model=16, bias=True)


# ----------------------------------------------------------------------------- a primitive-op GPT
def layer_norm_composed(x, ln):
    centered = x - x.mean(axis=-1, keepdims=True)
    variance = (centered * centered).mean(axis=-1, keepdims=True)
    return centered / (variance + ln.eps).sqrt() * ln.weight + ln.bias


def linear_composed(x, layer):
    y = x @ layer.weight.T
    return y if layer.bias is None else y + layer.bias


def gelu_composed(x):
    return 0.5 * x * (1 + (math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)).tanh())


def attention_composed(x, attn):
    batch, steps, width = x.shape
    heads = linear_composed(x, attn.qkv).reshape(batch, steps, 3, attn.n_heads, attn.head_dim)
    q, k, v = (heads[:, :, i].swapaxes(1, 2) for i in range(3))  # each (B, H, T, hd)
    scores = (q @ k.swapaxes(-1, -2)) * (1 / math.sqrt(attn.head_dim))
    future = tg.Tensor(np.triu(np.ones((steps, steps), dtype=bool), 1))
    weights = scores.masked_fill(future, -math.inf).softmax(-1)
    merged = (weights @ v).swapaxes(1, 2).reshape(batch, steps, width)
    return linear_composed(merged, attn.proj)


def loss_composed(model, idx, targets):
    """The GPT's mean cross-entropy with primitive ops only (no fused Function on the way)."""
    steps = idx.shape[1]
    x = model.token_embedding.weight[idx.data] + model.position_embedding.weight[np.arange(steps)]
    for block in model.blocks:
        x = x + attention_composed(layer_norm_composed(x, block.ln_1), block.attn)
        hidden = gelu_composed(linear_composed(layer_norm_composed(x, block.ln_2), block.fc))
        x = x + linear_composed(hidden, block.proj)
    logits = layer_norm_composed(x, model.ln_f) @ model.token_embedding.weight.T
    log_probs = logits.log_softmax(-1).reshape(-1, model.vocab_size)
    return -log_probs[np.arange(targets.size), targets.data.ravel()].mean()


def training_curve(dtype, fused: bool, steps: int) -> list[float]:
    tg.manual_seed(5)
    model = GPT(CONFIG).astype(dtype)
    optimizer = optim.AdamW(parameter_groups(model, 0.1), lr=3e-3, betas=(0.9, 0.99))
    optimizer.flatten = fused
    rng = np.random.default_rng(0)
    text = np.tile(rng.integers(0, CONFIG.vocab_size, 23), 20)  # period 23: learnable
    losses = []
    for _ in range(steps):
        starts = rng.integers(0, len(text) - CONFIG.context_length - 1, 4)
        window = np.stack([text[s : s + CONFIG.context_length + 1] for s in starts])
        idx, targets = tg.tensor(window[:, :-1]), tg.tensor(window[:, 1:])
        loss = model(idx, targets)[1] if fused else loss_composed(model, idx, targets)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_fused_gpt_follows_the_primitive_op_gpt_in_float64():
    fused, composed = training_curve(np.float64, True, 20), training_curve(np.float64, False, 20)
    np.testing.assert_allclose(fused, composed, rtol=1e-11)  # rounding only: the maths is the same
    assert fused[-1] < fused[0] - 0.1  # and it is learning


def test_fused_gpt_follows_the_primitive_op_gpt_for_50_steps_in_float32():
    fused, composed = training_curve(np.float32, True, 50), training_curve(np.float32, False, 50)
    # float32 rounding (eps 1.2e-7) differs between the fused and composed orders of operations and
    # is amplified a little by 50 Adam steps; a wrong gradient anywhere would differ by > 1e-2.
    np.testing.assert_allclose(fused, composed, rtol=2e-5)


# ----------------------------------------------------------------------------- dtypes
def test_a_float32_training_step_creates_only_float32_arrays(monkeypatch):
    created = []
    original = function.Function.apply.__func__

    def recording_apply(cls, *inputs, **params):
        out = original(cls, *inputs, **params)
        created.append((cls.__name__, out.data.dtype))
        return out

    monkeypatch.setattr(function.Function, "apply", classmethod(recording_apply))
    tg.manual_seed(0)
    model = GPT(CONFIG)
    optimizer = optim.AdamW(parameter_groups(model, 0.1))
    window = np.random.default_rng(1).integers(0, CONFIG.vocab_size, (3, CONFIG.context_length + 1))
    _, loss = model(tg.tensor(window[:, :-1]), tg.tensor(window[:, 1:]))
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    floats = {(name, dtype) for name, dtype in created if dtype.kind == "f"}
    assert floats and all(dtype == np.float32 for _, dtype in floats), sorted(floats, key=str)
    for p in model.parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32
    for state in optimizer.state.values():
        assert all(v.dtype == np.float32 for v in state.values() if hasattr(v, "dtype"))
    for flat in optimizer._flat_groups.values():
        assert flat.param.dtype == flat.grad.dtype == np.float32


# ----------------------------------------------------------------------------- flat buffers
def make_params(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2), ()]
    return [tg.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def run(make_optimizer, flatten, steps=5, missing_grad_at=None):
    params = make_params()
    held = [p.data for p in params]
    optimizer = make_optimizer(params)
    optimizer.flatten = flatten
    rng = np.random.default_rng(1)
    for step in range(steps):
        for i, p in enumerate(params):
            p.grad = None if (step, i) == missing_grad_at else tg.Tensor(rng.standard_normal(p.shape))
        optimizer.step()
    assert all(p.data is array for p, array in zip(params, held, strict=True))  # updated in place
    return [p.numpy() for p in params], optimizer


OPTIMIZERS = {
    "adamw": lambda ps: optim.AdamW([{"params": ps[:2]}, {"params": ps[2:], "weight_decay": 0.0}], lr=0.1),
    "adam": lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.01),
    "sgd_momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("missing_grad_at", [None, (2, 1)])
def test_flat_update_equals_the_per_parameter_update_bit_for_bit(name, missing_grad_at):
    with tg.use_kernels(False):  # with the compiled Adam update, Adam does not flatten (flattening_pays)
        flat, flat_optimizer = run(OPTIMIZERS[name], True, missing_grad_at=missing_grad_at)
        each, each_optimizer = run(OPTIMIZERS[name], False, missing_grad_at=missing_grad_at)
    for a, b in zip(flat, each, strict=True):
        np.testing.assert_array_equal(a, b)
    for i, state in each_optimizer.state.items():
        for key, value in state.items():
            np.testing.assert_array_equal(flat_optimizer.state[i][key], value)
    if missing_grad_at is None:
        assert flat_optimizer._flat_groups  # the flat path was taken


@pytest.mark.parametrize("kernels", [False, True])  # without the compiled update: flat buffers
def test_flat_state_survives_a_state_dict_round_trip(kernels):
    with tg.use_kernels(kernels):
        state_dict_round_trip()


def state_dict_round_trip():
    params = make_params()
    optimizer = optim.AdamW(params, lr=0.1)
    rng = np.random.default_rng(2)
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(6)]

    def step(opt, tensors, gs):
        for p, g in zip(tensors, gs, strict=True):
            p.grad = tg.Tensor(g)
        opt.step()

    for gs in grads[:3]:
        step(optimizer, params, gs)
    copies = [tg.Tensor(p.numpy().copy(), requires_grad=True) for p in params]
    resumed = optim.AdamW(copies, lr=0.1)
    resumed.load_state_dict(optimizer.state_dict())
    for gs in grads[3:]:
        step(optimizer, params, gs)
        step(resumed, copies, gs)
    for a, b in zip(params, copies, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert optimizer.state[0]["step"] == resumed.state[0]["step"] == 6


# ----------------------------------------------------------------------------- scatter-add and allocator
@given(
    rows=st.integers(1, 6),
    index=st.lists(st.integers(-6, 5), min_size=1, max_size=20),
    width=st.integers(1, 3),
)
def test_row_scatter_add_equals_numpy_add_at(rows, index, width):
    index = np.array([i % rows - rows * (i < 0) for i in index])  # valid, some negative
    values = np.random.default_rng(len(index)).standard_normal((len(index), width))
    expected = np.zeros((rows, width))
    np.add.at(expected, index, values)
    ours = np.zeros((rows, width))
    scatter_add(ours, (index,), values)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)


@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), dtype=st.sampled_from(["float32", "float64"])
)
def test_row_reductions_as_products_equal_numpy(shape, dtype):
    """Against the float64 reduction, within the classical bound for a sum of n terms in any order,
    |error| <= n u sum |a_i| (u the unit roundoff): no summation order is assumed."""
    a = np.random.default_rng(len(shape)).standard_normal(shape).astype(dtype)
    exact, magnitude = a.astype(np.float64), np.abs(a.astype(np.float64))
    u, leading = np.finfo(dtype).eps / 2, tuple(range(a.ndim - 1))
    cases = [  # (ours, float64 value, sum of magnitudes, terms; the mean's division adds one rounding)
        (row_means(a), exact.mean(-1, keepdims=True), magnitude.mean(-1, keepdims=True), a.shape[-1] + 1),
        (row_sums(a), exact.sum(-1, keepdims=True), magnitude.sum(-1, keepdims=True), a.shape[-1]),
        (column_sums(a), exact.sum(leading), magnitude.sum(leading), a.size // a.shape[-1]),
    ]
    for ours, expected, size, terms in cases:
        assert ours.shape == expected.shape and ours.dtype == a.dtype
        assert np.all(np.abs(ours - expected) <= terms * u * size)


def test_row_reductions_fall_back_where_a_product_does_not_apply():
    integers = np.arange(6).reshape(2, 3)
    assert row_sums(integers).tolist() == [[3], [12]] and column_sums(integers).tolist() == [3, 5, 7]
    assert row_sums(np.zeros((2, 0))).tolist() == [[0.0], [0.0]]
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (row_means(x) * tg.tensor([[1.0], [2.0]])).sum().backward()  # Tensors: the differentiable mean
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3] * 3, [2 / 3] * 3])


def test_allocator_tuning_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("TINYGRAD_LM_KEEP_FREED_MEMORY", "0")
    assert allocator.configure_from_environment() is False
    monkeypatch.setenv("TINYGRAD_LM_KEEP_FREED_MEMORY", "1")
    assert isinstance(allocator.configure_from_environment(), bool)
