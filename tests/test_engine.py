"""The autograd engine: accumulation, traversal depth, graph freeing, grad modes, higher order."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.autograd import iter_graph


def leaf(values, dtype="float64"):
    return tg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_diamond_graph_accumulates_both_paths():
    x = leaf([1.0, 2.0, 3.0])
    a = x * 2
    b = x.exp()
    (a * b).sum().backward()  # d/dx [2x e^x] = 2 e^x + 2x e^x
    expected = 2 * np.exp(x.numpy()) * (1 + x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)


def test_reused_tensor_and_calls_accumulate_like_pytorch():
    x = leaf([0.5, -1.0])
    y = x * x * x  # x used three times in one expression
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2, rtol=1e-15)
    (x * 10).sum().backward()  # a second call adds to .grad
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2 + 10, rtol=1e-15)


def test_hundred_thousand_deep_chain_has_no_recursion_error():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_graph_is_freed_after_backward_and_second_backward_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 3).sum()
    creator = y.creator
    y.backward()
    assert not hasattr(creator, "inputs")  # saved inputs dropped
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 3).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_intermediate_arrays_are_released_after_backward():
    x = leaf(np.ones(1000))
    hidden = x.exp()
    probe = weakref.ref(hidden)
    y = (hidden * 2).sum()
    del hidden
    gc.collect()
    assert probe() is not None  # kept alive by the graph until backward
    y.backward()
    gc.collect()
    assert probe() is None


def test_no_grad_records_nothing_and_works_as_decorator():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2
        assert not tg.is_grad_enabled()
        with tg.enable_grad():
            z = x * 2
    assert y.creator is None and not y.requires_grad
    assert z.requires_grad
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def evaluate(t):
        return t.exp()

    assert evaluate(x).creator is None


def test_grad_leaves_dot_grad_untouched_and_reports_unused_inputs():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    unused = leaf([0.0])
    (gx,) = tg.grad((x * w).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), w.numpy())
    assert x.grad is None and w.grad is None
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad((x * w).sum(), [x, unused])
    gx, gu = tg.grad((x * w).sum(), [x, unused], allow_unused=True)
    assert gu is None


def test_grad_with_respect_to_an_intermediate_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = tg.grad((h * h).sum(), [h])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_second_and_third_derivatives_through_create_graph():
    x = leaf([0.3, -0.7, 1.1])
    (g,) = tg.grad(x.tanh().sum(), [x], create_graph=True)
    (h,) = tg.grad(g.sum(), [x], create_graph=True)
    (k,) = tg.grad(h.sum(), [x])
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(g.numpy(), 1 - t**2, rtol=1e-14)
    np.testing.assert_allclose(h.numpy(), -2 * t * (1 - t**2), rtol=1e-13)
    np.testing.assert_allclose(k.numpy(), (1 - t**2) * (6 * t**2 - 2), rtol=1e-12)


def test_hessian_vector_product_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    v = rng.standard_normal(4)
    x = leaf(rng.standard_normal(4))
    f = x @ tg.tensor(a) @ x  # Hessian = A + A^T
    (g,) = tg.grad(f, [x], create_graph=True)
    (hv,) = tg.grad((g * tg.tensor(v)).sum(), [x])
    np.testing.assert_allclose(hv.numpy(), (a + a.T) @ v, rtol=1e-12)


def test_backward_of_non_scalar_needs_a_gradient():
    x = leaf(np.ones((2, 3)))
    y = x * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*not a scalar"):
        y.backward()
    y.backward(gradient=np.full((2, 3), 0.5))
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"expected \(2, 3\)"):
        (x * 2).backward(gradient=np.ones(3))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0, 2.0]).sum().backward()


def test_leaf_and_creator_bookkeeping():
    x = leaf([1.0])
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    assert [type(t.creator).__name__ for t in iter_graph(y)] == ["Mul"]
    assert y.detach().is_leaf and y.detach().data is y.data


def test_gradients_keep_the_input_dtype():
    x = tg.randn(3, requires_grad=True)  # float32
    (x * 2.5 + 1).sum().backward()
    assert x.grad.dtype == np.float32


def test_broadcast_gradient_is_summed_to_the_input_shape():
    x = leaf(np.ones((3, 1)))
    b = leaf(np.ones(4))
    (x + b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0))


def test_custom_function_participates_in_the_graph():
    class Square(tg.Function):
        def forward(self, x):
            return x * x

        def backward(self, grad_output):
            (x,) = self.inputs
            return grad_output * 2 * x

    x = leaf([3.0])
    (g,) = tg.grad(Square.apply(x).sum(), [x], create_graph=True)
    (h,) = tg.grad(g.sum(), [x])
    assert g.item() == 6.0 and h.item() == 2.0


def test_backward_returning_wrong_number_of_gradients_is_reported():
    class Broken(tg.Function):
        def forward(self, x, y):
            return x + y

        def backward(self, grad_output):
            return grad_output

    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="returned 1 gradients for 2 inputs"):
        Broken.apply(x, y).sum().backward()
