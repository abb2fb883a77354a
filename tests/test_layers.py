"""Layers: initialisation, NumPy references, PyTorch parity (float64), gradchecks, and an XOR fit."""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import functional as F
from tinygrad_lm import nn
from tinygrad_lm.testing import gradcheck

RNG = np.random.default_rng(1)


def f64(*shape):
    return tg.tensor(RNG.standard_normal(shape), dtype="float64")


def module_gradcheck(module, *inputs):
    """gradcheck of module(*inputs) with respect to the inputs AND every parameter (float64)."""
    module.double()
    names = [name for name, _ in module.named_parameters()]
    params = [p.detach().requires_grad_() for _, p in module.named_parameters()]
    n = len(inputs)

    def run(*args):
        return nn.functional_call(module, dict(zip(names, args[n:], strict=True)), *args[:n])

    gradcheck(run, [*inputs, *params], name=type(module).__name__)


def copy_to_torch(module, torch_module):
    import torch

    with torch.no_grad():
        for name, p in module.named_parameters():
            torch_module.get_parameter(name).copy_(torch.from_numpy(p.numpy()))
    return torch_module.double()


def test_linear_init_shapes_and_formula():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    assert (
        layer.weight.shape == (300, 400) and layer.bias.shape == (300,) and layer.weight.dtype == np.float32
    )
    w = layer.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # U(-a, a) has std a / sqrt 3
    assert np.abs(layer.bias.numpy()).max() <= bound
    x = f64(2, 5, 400)
    layer.double()
    expected = x.numpy() @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-12)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_initialisation_is_reproducible_from_the_seed_or_a_generator():
    tg.manual_seed(3)
    a = nn.Linear(4, 4).weight.numpy()
    tg.manual_seed(3)
    b = nn.Linear(4, 4).weight.numpy()
    np.testing.assert_array_equal(a, b)
    c = nn.Embedding(5, 2, generator=tg.Generator(9)).weight.numpy()
    np.testing.assert_array_equal(c, nn.Embedding(5, 2, generator=tg.Generator(9)).weight.numpy())


def test_init_functions():
    w = tg.zeros(200, 100)
    nn.init.xavier_uniform_(w, generator=tg.Generator(0))
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / 300)
    nn.init.normal_(w, 1.0, 0.5, generator=tg.Generator(0))
    assert abs(w.numpy().mean() - 1) < 0.01 and abs(w.numpy().std() - 0.5) < 0.01
    nn.init.kaiming_normal_(w, generator=tg.Generator(0))
    assert abs(w.numpy().std() - math.sqrt(2 / 100)) < 0.005
    assert nn.init.zeros_(w).numpy().sum() == 0 and nn.init.constant_(w, 2.0).numpy().mean() == 2
    assert nn.init.fans(tg.zeros(4, 3, 5)) == (15, 20)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.fans(tg.zeros(3))


def test_embedding_normal_init_and_lookup():
    emb = nn.Embedding(1000, 64, generator=tg.Generator(0))
    w = emb.weight.numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    idx = np.array([[3, 999], [0, 3]])
    np.testing.assert_array_equal(emb(idx).numpy(), w[idx])
    np.testing.assert_array_equal(emb(tg.tensor(idx)).numpy(), w[idx])


def test_layer_norm_module():
    ln = nn.LayerNorm(6)
    assert ln.weight.tolist() == [1.0] * 6 and ln.bias.tolist() == [0.0] * 6
    x = f64(3, 6)
    ln.double()
    ref = (x.numpy() - x.numpy().mean(-1, keepdims=True)) / np.sqrt(x.numpy().var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(x).numpy(), ref, atol=1e-12)
    assert nn.LayerNorm(4, elementwise_affine=False).num_parameters() == 0
    assert repr(ln) == "LayerNorm((6,), eps=1e-05, elementwise_affine=True)"


@pytest.mark.parametrize(
    "make",
    [lambda: nn.Linear(3, 2), lambda: nn.LayerNorm(4)],
    ids=["Linear", "LayerNorm"],
)
def test_layer_gradchecks(make):
    module = make()
    width = module.weight.shape[-1]
    module_gradcheck(module, f64(2, 3, width).requires_grad_())


def test_embedding_gradcheck():
    module_gradcheck(nn.Embedding(4, 3), np.array([[0, 2, 2], [3, 0, 1]]))


def test_dropout_module_modes_and_seeding():
    drop = nn.Dropout(0.25, generator=tg.Generator(5))
    x = tg.ones(100, 100)
    first = drop(x).numpy()
    drop.generator = tg.Generator(5)
    np.testing.assert_array_equal(first, drop(x).numpy())
    assert abs(first.mean() - 1) < 0.03
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(-0.1)


def test_activation_modules():
    x = f64(4, 3)
    np.testing.assert_allclose(nn.ReLU()(x).numpy(), np.maximum(x.numpy(), 0))
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh(x.numpy()))
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-x.numpy())), atol=1e-15)
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(
        nn.GELU()(x).numpy(), x.numpy() * (1 + erf(x.numpy() / math.sqrt(2))) / 2, atol=1e-15
    )
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_layers_match_torch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    pairs = [
        (nn.Linear(5, 3), tnn.Linear(5, 3)),
        (nn.LayerNorm(5), tnn.LayerNorm(5)),
        (nn.Sequential(nn.Linear(5, 4), nn.GELU("tanh"), nn.Linear(4, 2)), None),
    ]
    pairs[2] = (pairs[2][0], tnn.Sequential(tnn.Linear(5, 4), tnn.GELU("tanh"), tnn.Linear(4, 2)))
    for ours, theirs in pairs:
        nn.init.normal_(ours.weight if hasattr(ours, "weight") else ours[0].weight)
        theirs = copy_to_torch(ours.double(), theirs)
        x = f64(2, 3, 5).requires_grad_()
        xt = torch.tensor(x.numpy(), requires_grad=True)
        upstream = RNG.standard_normal(ours(x).shape)
        (ours(x) * tg.tensor(upstream)).sum().backward()
        out_t = theirs(xt)
        (out_t * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(ours(x).numpy(), out_t.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), atol=1e-12)
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), theirs.get_parameter(name).grad.numpy(), atol=1e-12)
    emb = nn.Embedding(6, 3).double()
    emb_t = copy_to_torch(emb, tnn.Embedding(6, 3))
    idx = np.array([[1, 5, 1]])
    emb(idx).sum().backward()
    emb_t(torch.tensor(idx)).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy(), emb_t.weight.grad.numpy())


def test_mlp_fits_xor_with_plain_gradient_descent():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    x = tg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = tg.tensor([[0.0], [1.0], [1.0], [0.0]])
    for _ in range(600):
        model.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        with tg.no_grad():
            for p in model.parameters():
                p.data -= 0.2 * p.grad.data
    assert loss.item() < 1e-4
    np.testing.assert_allclose(model(x).numpy(), y.numpy(), atol=0.1)
