"""CausalSelfAttention: NumPy reference, PyTorch parity, causality, exact masking, KV cache, gradcheck."""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import nn
from tinygrad_lm.testing import gradcheck

RNG = np.random.default_rng(3)


def f64(*shape, requires_grad=False):
    return tg.tensor(RNG.standard_normal(shape), dtype="float64", requires_grad=requires_grad)


def attention(d_model=8, n_heads=2, **kw):
    return nn.CausalSelfAttention(d_model, n_heads, **kw).double()


def reference(module, x):
    """(y, weights) from the formula: per head h, softmax(q_h k_h^T / sqrt(d) + causal mask) v_h."""
    b, t, c = x.shape
    hd = c // module.n_heads
    qkv = x @ module.qkv.weight.numpy().T + module.qkv.bias.numpy()
    q, k, v = (
        qkv[..., i * c : (i + 1) * c].reshape(b, t, module.n_heads, hd).transpose(0, 2, 1, 3)
        for i in range(3)
    )
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd)
    scores = np.where(np.tri(t, dtype=bool), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    heads = (weights @ v).transpose(0, 2, 1, 3).reshape(b, t, c)
    return heads @ module.proj.weight.numpy().T + module.proj.bias.numpy(), weights


def test_matches_numpy_reference():
    module = attention()
    x = f64(2, 5, 8)
    y, weights = module(x, return_weights=True)
    ref_y, ref_weights = reference(module, x.numpy())
    np.testing.assert_allclose(y.numpy(), ref_y, atol=1e-13)
    np.testing.assert_allclose(weights.numpy(), ref_weights, atol=1e-13)
    assert weights.shape == (2, 2, 5, 5) and module(x).shape == (2, 5, 8)


def test_weights_rows_sum_to_one_and_are_exactly_zero_above_the_diagonal():
    module = nn.CausalSelfAttention(16, 4)  # float32
    _, weights = module(tg.randn(3, 7, 16), return_weights=True)
    w = weights.numpy()
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-6)
    above = ~np.tri(7, dtype=bool)
    assert np.all(w[..., above] == 0.0) and np.all(w[..., ~above] > 0)


def test_output_at_t_does_not_depend_on_later_inputs():
    module = attention()
    x = f64(2, 6, 8)
    y = module(x).numpy()
    for t in range(5):
        perturbed = x.numpy().copy()
        perturbed[:, t + 1 :] += 10 * RNG.standard_normal(perturbed[:, t + 1 :].shape)
        y2 = module(tg.tensor(perturbed)).numpy()
        np.testing.assert_array_equal(y2[:, : t + 1], y[:, : t + 1])
        assert not np.allclose(y2[:, t + 1 :], y[:, t + 1 :])
    x.requires_grad_()
    module(x)[:, 2].sum().backward()  # and no gradient flows back from position 2 to later positions
    assert np.all(x.grad.numpy()[:, 3:] == 0) and np.all(x.grad.numpy()[:, :3] != 0)


def test_cached_decoding_equals_full_forward_step_by_step():
    module = attention(12, 3)
    x = f64(2, 7, 12)
    full = module(x).numpy()
    cache = None
    for t in range(7):
        y, cache = module.forward_cached(x[:, t : t + 1], cache)
        assert cache.length == t + 1 and cache.keys.shape == (2, 3, t + 1, 4)
        np.testing.assert_allclose(y.numpy()[:, 0], full[:, t], atol=1e-13)
    prefix, cache = module.forward_cached(x[:, :4])  # a prompt, then the rest in one piece
    rest, cache = module.forward_cached(x[:, 4:], cache)
    np.testing.assert_allclose(np.concatenate([prefix.numpy(), rest.numpy()], 1), full, atol=1e-13)


def test_gradcheck_of_inputs_and_parameters():
    module = attention(4, 2)
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().requires_grad_() for p in module.parameters()]

    def run(x, *weights):
        return nn.functional_call(module, dict(zip(names, weights, strict=True)), x)

    gradcheck(run, [f64(2, 3, 4), *params])


def test_matches_torch_multihead_attention():
    torch = pytest.importorskip("torch")
    module = attention(8, 2)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    with torch.no_grad():  # same layouts: in_proj rows (q; k; v), heads contiguous within each
        theirs.in_proj_weight.copy_(torch.from_numpy(module.qkv.weight.numpy()))
        theirs.in_proj_bias.copy_(torch.from_numpy(module.qkv.bias.numpy()))
        theirs.out_proj.weight.copy_(torch.from_numpy(module.proj.weight.numpy()))
        theirs.out_proj.bias.copy_(torch.from_numpy(module.proj.bias.numpy()))
    x = f64(3, 5, 8, requires_grad=True)
    x_t = torch.tensor(x.numpy(), requires_grad=True)
    y, weights = module(x, return_weights=True)
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)  # True = may NOT attend
    y_t, weights_t = theirs(x_t, x_t, x_t, attn_mask=mask, need_weights=True, average_attn_weights=False)
    upstream = RNG.standard_normal(y.shape)
    (y * tg.tensor(upstream)).sum().backward()
    (y_t * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), weights_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), atol=1e-12)
    pairs = [
        (module.qkv.weight, theirs.in_proj_weight),
        (module.qkv.bias, theirs.in_proj_bias),
        (module.proj.weight, theirs.out_proj.weight),
        (module.proj.bias, theirs.out_proj.bias),
    ]
    for ours, reference_param in pairs:
        np.testing.assert_allclose(ours.grad.numpy(), reference_param.grad.numpy(), atol=1e-12)


def test_dropout_on_weights_only_in_training_and_seeded():
    module = attention(8, 2, dropout=0.5, generator=tg.Generator(0))
    x = f64(2, 6, 8)
    module.eval()
    clean = module(x).numpy()
    np.testing.assert_allclose(clean, reference(module, x.numpy())[0], atol=1e-13)
    module.train()
    module.generator = tg.Generator(0)
    noisy = module(x).numpy()
    assert not np.allclose(noisy, clean)
    module.generator = tg.Generator(0)
    np.testing.assert_array_equal(module(x).numpy(), noisy)
    _, weights = module(x, return_weights=True)  # the weights returned are those before dropout
    np.testing.assert_allclose(weights.numpy().sum(-1), 1, atol=1e-13)


def test_validation_and_repr():
    with pytest.raises(ValueError, match="not divisible"):
        nn.CausalSelfAttention(10, 3)
    with pytest.raises(ValueError, match=r"expected input \(B, T, 8\)"):
        attention()(f64(2, 3, 6))
    assert repr(attention()) == (
        "CausalSelfAttention(\n"
        "  d_model=8, n_heads=2, dropout=0.0\n"
        "  (qkv): Linear(in_features=8, out_features=24, bias=True)\n"
        "  (proj): Linear(in_features=8, out_features=8, bias=True)\n"
        ")"
    )
    assert attention(bias=False).num_parameters() == 4 * 8 * 8
