"""tinygrad_lm.functional and the fused ops: NumPy references, compositions, finite differences, torch."""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import functional as F
from tinygrad_lm.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def f64(*shape, scale=1.0, requires_grad=True):
    return tg.tensor(scale * RNG.standard_normal(shape), dtype="float64", requires_grad=requires_grad)


def targets_with_ignored(shape, classes):
    t = RNG.integers(0, classes, size=shape)
    t.reshape(-1)[::3] = -100
    return tg.tensor(t)


# ------------------------------------------------------------------------------------ cross entropy
def reference_cross_entropy(z, t, reduction, ignore_index=-100):
    z = z.reshape(-1, z.shape[-1]).astype(np.float64)
    flat = t.reshape(-1)
    m = z.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[:, 0]
    valid = flat != ignore_index
    losses = np.where(valid, lse - z[np.arange(len(flat)), np.where(valid, flat, 0)], 0.0)
    if reduction == "none":
        return losses.reshape(t.shape)
    return losses.sum() if reduction == "sum" else losses.sum() / valid.sum()


def composed_cross_entropy(z, t, reduction):
    return F.nll_loss(z.log_softmax(-1), t, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6,), (2, 4)])
def test_cross_entropy_matches_reference_and_composition(reduction, shape):
    z, t = f64(*shape, 5), targets_with_ignored(shape, 5)
    fused = F.cross_entropy(z, t, reduction=reduction)
    np.testing.assert_allclose(
        fused.numpy(), reference_cross_entropy(z.numpy(), t.numpy(), reduction), atol=1e-12
    )
    upstream = tg.tensor(RNG.standard_normal(fused.shape), dtype="float64")
    (g_fused,) = tg.grad(fused, [z], grad_outputs=upstream)
    composed = composed_cross_entropy(z, t, reduction)
    (g_composed,) = tg.grad(composed, [z], grad_outputs=upstream)
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), atol=1e-12)
    np.testing.assert_allclose(g_fused.numpy(), g_composed.numpy(), atol=1e-12)
    ignored = (t.numpy() == -100).reshape(-1)
    assert np.all(g_fused.numpy().reshape(-1, 5)[ignored] == 0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_and_second_derivative(reduction):
    t = targets_with_ignored((2, 3), 4)
    gradcheck(lambda z: F.cross_entropy(z, t, reduction=reduction), [f64(2, 3, 4)])
    gradgradcheck(lambda z: F.cross_entropy(z, t, reduction=reduction), [f64(2, 3, 4)])


def test_cross_entropy_second_derivative_matches_composition():
    z, t = f64(3, 4), tg.tensor([0, 3, -100])
    for loss in (F.cross_entropy, composed_cross_entropy):
        (g,) = tg.grad(loss(z, t, reduction="mean"), [z], create_graph=True)
        (h,) = tg.grad((g * g).sum(), [z])
        if loss is F.cross_entropy:
            fused_h = h.numpy()
    np.testing.assert_allclose(fused_h, h.numpy(), atol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    z = tg.tensor([[1e4, 0.0, -1e4], [3e4, 3e4 + 1.0, 0.0]], requires_grad=True)  # float32
    t = tg.tensor([1, 0])
    loss = F.cross_entropy(z, t, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 1 + math.log1p(math.exp(-1))], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(z.grad.numpy()).all() and z.dtype == loss.dtype == np.float32
    np.testing.assert_allclose(z.grad.numpy().sum(-1), 0, atol=1e-6)


def test_cross_entropy_all_ignored_mean_is_nan_with_zero_gradient():
    z = f64(2, 3)
    loss = F.cross_entropy(z, tg.tensor([-100, -100]))
    assert math.isnan(loss.item())
    loss.backward()
    assert np.all(z.grad.numpy() == 0)


@pytest.mark.parametrize(
    ("logits", "targets", "error", "match"),
    [
        (np.zeros((2, 3)), np.array([0, 3]), IndexError, r"crossentropy.*\[0, 3\).*\[0, 3\]"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError, "targets must be integer.*float"),
        (np.zeros((2, 3)), np.array([0, 1, 2]), ValueError, r"\(2, 3\) and targets \(3,\) are incompatible"),
        (np.zeros((2, 3), dtype=np.int64), np.array([0, 1]), TypeError, "logits must be floating"),
    ],
)
def test_cross_entropy_validation_names_op_shapes_and_expectation(logits, targets, error, match):
    with pytest.raises(error, match=match):
        F.cross_entropy(tg.tensor(logits), tg.tensor(targets))


def test_cross_entropy_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(f64(2, 3), [0, 1], reduction="avg")


def test_losses_against_torch():
    torch = pytest.importorskip("torch")
    z, t = f64(4, 3, 5), targets_with_ignored((4, 3), 5)
    zt = torch.tensor(z.numpy(), requires_grad=True)
    tt = torch.tensor(t.numpy())
    for reduction in REDUCTIONS:
        ours = F.cross_entropy(z, t, reduction=reduction)
        theirs = torch.nn.functional.cross_entropy(zt.permute(0, 2, 1), tt, reduction=reduction)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=1e-12)
        ours_nll = F.nll_loss(z.log_softmax(-1), t, reduction=reduction)
        theirs_nll = torch.nn.functional.nll_loss(
            zt.log_softmax(-1).permute(0, 2, 1), tt, reduction=reduction
        )
        np.testing.assert_allclose(ours_nll.numpy(), theirs_nll.detach().numpy(), atol=1e-12)
    z.grad = None
    F.cross_entropy(z, t).backward()
    torch.nn.functional.cross_entropy(zt.permute(0, 2, 1), tt).backward()
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), atol=1e-12)
    x, y = f64(3, 2), f64(3, 2)
    for reduction in REDUCTIONS:
        expected = torch.nn.functional.mse_loss(
            torch.tensor(x.numpy()), torch.tensor(y.numpy()), reduction=reduction
        )
        np.testing.assert_allclose(F.mse_loss(x, y, reduction).numpy(), expected.numpy(), atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_and_mse_gradcheck(reduction):
    t = targets_with_ignored((5,), 3)
    gradcheck(lambda lp: F.nll_loss(lp, t, reduction=reduction), [f64(5, 3)])
    gradcheck(lambda x, y: F.mse_loss(x, y, reduction), [f64(2, 3), f64(2, 3)])


def test_loss_validation():
    with pytest.raises(ValueError, match=r"mse_loss: input \(2,\) and target \(3,\)"):
        F.mse_loss(f64(2), f64(3))
    with pytest.raises(TypeError, match="nll_loss: targets must be integer"):
        F.nll_loss(f64(2, 3), np.array([0.5, 1.0]))
    with pytest.raises(IndexError, match="nll_loss"):
        F.nll_loss(f64(2, 3), np.array([0, 7]))


# ------------------------------------------------------------------------------------ layer norm
def reference_layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def composed_layer_norm(x, w, b, eps):
    centered = x - x.mean(-1, keepdims=True)
    var = (centered * centered).mean(-1, keepdims=True)
    return centered / (var + eps).sqrt() * w + b


def test_layer_norm_matches_reference_and_composition():
    x, w, b = f64(2, 3, 6), f64(6), f64(6)
    fused = F.layer_norm(x, 6, w, b, eps=1e-5)
    np.testing.assert_allclose(
        fused.numpy(), reference_layer_norm(x.numpy(), w.numpy(), b.numpy(), 1e-5), atol=1e-12
    )
    upstream = tg.tensor(RNG.standard_normal(x.shape), dtype="float64")
    fused_grads = tg.grad(fused, [x, w, b], grad_outputs=upstream)
    composed_grads = tg.grad(composed_layer_norm(x, w, b, 1e-5), [x, w, b], grad_outputs=upstream)
    for ours, theirs in zip(fused_grads, composed_grads, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-11)


def test_layer_norm_gradcheck_first_and_second_order():
    gradcheck(lambda x, w, b: F.layer_norm(x, 4, w, b), [f64(3, 4), f64(4), f64(4)])
    gradgradcheck(lambda x, w, b: F.layer_norm(x, 4, w, b, eps=1e-3), [f64(2, 4), f64(4), f64(4)])


def test_layer_norm_without_affine_and_validation():
    x = f64(3, 5)
    np.testing.assert_allclose(
        F.layer_norm(x, (5,)).numpy(), reference_layer_norm(x.numpy(), 1, 0, 1e-5), atol=1e-12
    )
    with pytest.raises(
        ValueError, match=r"normalized_shape \(4,\) must be the last axis of the input \(3, 5\)"
    ):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"layernorm: .*weight \(4,\)"):
        F.layer_norm(x, 5, f64(4), f64(5))


def test_layer_norm_against_torch():
    torch = pytest.importorskip("torch")
    x, w, b = f64(4, 7), f64(7), f64(7)
    xt, wt, bt = (torch.tensor(a.numpy(), requires_grad=True) for a in (x, w, b))
    upstream = RNG.standard_normal((4, 7))
    out = F.layer_norm(x, 7, w, b)
    (out * tg.tensor(upstream)).sum().backward()
    out_t = torch.nn.functional.layer_norm(xt, (7,), wt, bt)
    (out_t * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=1e-12)
    for ours, theirs in ((x, xt), (w, wt), (b, bt)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-11)


# ------------------------------------------------------------------------------------ dropout
def test_dropout_is_seeded_inverted_and_identity_in_eval():
    x = tg.ones(200, 300)
    a = F.dropout(x, 0.3, generator=tg.Generator(7))
    b = F.dropout(x, 0.3, generator=tg.Generator(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    values = np.unique(a.numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs(a.numpy().mean() - 1) < 0.02 and abs((a.numpy() == 0).mean() - 0.3) < 0.01
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        F.dropout(x, 1.5)


def test_dropout_gradient_is_the_mask():
    x = f64(50)
    y = F.dropout(x, 0.5, generator=tg.Generator(1))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (y.numpy() / x.numpy()))


# ------------------------------------------------------------------------- linear, embedding, activations
def test_linear_any_leading_shape_and_gradcheck():
    x, w, b = f64(2, 3, 4), f64(5, 4), f64(5)
    np.testing.assert_allclose(F.linear(x, w, b).numpy(), x.numpy() @ w.numpy().T + b.numpy(), atol=1e-12)
    gradcheck(F.linear, [f64(2, 3, 4), f64(2, 4), f64(2)])
    with pytest.raises(ValueError, match=r"linear: input \(2, 3\) needs last axis 4"):
        F.linear(f64(2, 3), w)


def test_embedding_gathers_rows_and_accumulates_repeated_indices():
    weight = f64(5, 3)
    idx = np.array([[1, 1], [4, 1]])
    out = F.embedding(tg.tensor(idx), weight)
    np.testing.assert_array_equal(out.numpy(), weight.numpy()[idx])
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy()[:, 0], [0, 3, 0, 0, 1])
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        F.embedding(np.array([5]), weight)
    with pytest.raises(TypeError, match="integers"):
        F.embedding(np.array([0.5]), weight)


def test_activations_against_torch():
    torch = pytest.importorskip("torch")
    x = f64(3, 4, scale=3.0)
    xt = torch.tensor(x.numpy())
    tf = torch.nn.functional
    pairs = [
        (F.relu(x), tf.relu(xt)),
        (F.tanh(x), torch.tanh(xt)),
        (F.sigmoid(x), torch.sigmoid(xt)),
        (F.gelu(x), tf.gelu(xt)),
        (F.gelu(x, "tanh"), tf.gelu(xt, approximate="tanh")),
        (F.softmax(x, 0), tf.softmax(xt, 0)),
        (F.log_softmax(x), tf.log_softmax(xt, -1)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


# ------------------------------------------------------------------------------------ attention
def reference_attention(q, k, v, causal):
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if causal:
        tq, tk = scores.shape[-2:]
        scores = np.where(np.tri(tq, tk, tk - tq, dtype=bool), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention_matches_reference(causal):
    q, k, v = f64(2, 3, 4, 5), f64(2, 3, 6, 5), f64(2, 3, 6, 2)
    out, weights = F.scaled_dot_product_attention(q, k, v, is_causal=causal, return_weights=True)
    ref_out, ref_weights = reference_attention(q.numpy(), k.numpy(), v.numpy(), causal)
    np.testing.assert_allclose(out.numpy(), ref_out, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), ref_weights, atol=1e-12)
    if causal:  # the 4 queries are the last 4 of 6 positions
        assert np.all(weights.numpy()[..., 0, 3:] == 0) and np.all(weights.numpy()[..., 3, :] > 0)
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal), [q, k, v])


def test_attention_mask_argument_and_torch():
    torch = pytest.importorskip("torch")
    q, k, v = f64(2, 4, 3), f64(2, 4, 3), f64(2, 4, 3)
    mask = RNG.random((4, 4)) > 0.3
    mask[:, 0] = True
    ours = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    theirs = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a.numpy()) for a in (q, k, v)), attn_mask=torch.tensor(mask)
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)
    causal = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a.numpy()) for a in (q, k, v)), is_causal=True
    )
    np.testing.assert_allclose(
        F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy(), causal.numpy(), atol=1e-12
    )
