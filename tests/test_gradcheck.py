"""gradcheck/gradgradcheck report wrong derivatives (and pass right ones); the strategies draw what
they promise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lm as tg
from tinygrad_lm.testing import GradcheckError, gradcheck, gradgradcheck
from tinygrad_lm.testing import strategies as tst


class SquareForgetsTheTwo(tg.Function):
    """y = x^2 with the deliberately wrong backward g * x (should be 2 g x)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0]


class SquareIgnoresUpstream(tg.Function):
    """y = x^2 whose backward returns 2x regardless of the upstream gradient (right only for g = 1)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return 2 * self.inputs[0]


class TripleSquareWrongDerivative(tg.Function):
    """z = 3 x^2 (the derivative of x^3) whose own backward is wrong: 3 x instead of 6 x."""

    def forward(self, x):
        return 3 * x * x

    def backward(self, gz):
        return gz * 3 * self.inputs[0]


class Cube(tg.Function):
    """y = x^3 with a right first derivative, 3 x^2, computed by the op above: so gradcheck passes and
    only gradgradcheck (which differentiates the backward) can see the wrong second derivative."""

    def forward(self, x):
        return x * x * x

    def backward(self, gy):
        return gy * TripleSquareWrongDerivative.apply(self.inputs[0])


def x34(seed: int = 0) -> tg.Tensor:
    return tg.randn(3, 4, dtype="float64", requires_grad=True, generator=tg.Generator(seed))


def my_fn(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
    return (x.tanh() * y).logsumexp(axis=-1)


@given(tst.broadcastable_tensors(n=2, dtype="float64"))
def test_the_readme_example_passes(xy: tuple[tg.Tensor, ...]) -> None:
    assert gradcheck(my_fn, xy)
    assert gradgradcheck(my_fn, xy)


def test_a_wrong_backward_is_reported_with_shapes_and_values() -> None:
    with pytest.raises(GradcheckError) as caught:
        gradcheck(SquareForgetsTheTwo.apply, [x34()])
    message = str(caught.value)
    for expected in (
        "SquareForgetsTheTwo",
        "(3, 4)",
        "float64",
        "analytic",
        "numeric",
        "worst at index",
        "atol",
    ):
        assert expected in message
    assert "12 of 12 elements differ" in message
    assert isinstance(caught.value, AssertionError)


def test_a_wrong_backward_is_reported_by_gradgradcheck_too() -> None:
    with pytest.raises(GradcheckError, match=r"(?s)SquareForgetsTheTwo.*\(3, 4\).*analytic.*numeric"):
        gradgradcheck(SquareForgetsTheTwo.apply, [x34()])
    assert gradgradcheck(SquareForgetsTheTwo.apply, [x34()], raise_exception=False) is False


def test_large_inputs_are_checked_along_random_directions() -> None:
    x = tg.randn(20, 30, dtype="float64", requires_grad=True)
    with pytest.raises(
        GradcheckError, match=r"(?s)random unit direction 0 \(600 checked elements\).*analytic.*numeric"
    ):
        gradcheck(SquareForgetsTheTwo.apply, x)
    assert gradcheck(lambda x: (x * x).tanh(), x)
    assert gradcheck(SquareForgetsTheTwo.apply, x, max_elementwise=1000, raise_exception=False) is False


def test_a_backward_that_ignores_its_upstream_gradient_is_caught() -> None:
    """With u = ones this backward would pass: the random upstream gradient is what catches it."""
    x = x34()
    (g,) = tg.grad(SquareIgnoresUpstream.apply(x).sum(), [x])
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy())
    assert gradcheck(lambda x: SquareIgnoresUpstream.apply(x).sum(), x)  # scalar output: u = 1
    with pytest.raises(GradcheckError):
        gradcheck(SquareIgnoresUpstream.apply, x)


def test_a_wrong_second_derivative_passes_gradcheck_and_fails_gradgradcheck() -> None:
    x = x34()
    assert gradcheck(Cube.apply, x)
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(Cube.apply, x)
    message = str(caught.value)
    assert "the gradient of Cube.apply (double backward)" in message
    assert "(3, 4)" in message and "analytic" in message and "numeric" in message


def test_right_functions_pass_first_and_second_order() -> None:
    x, w = x34(), tg.randn(4, 2, dtype="float64", requires_grad=True)
    assert gradgradcheck(lambda x, w: (x @ w).tanh().softmax(-1), [x, w])
    assert gradgradcheck(lambda x: x.split(1, axis=0), x)  # several outputs
    assert gradgradcheck(lambda x: x.sum() * 0 + 1.5, x)  # constant in x: zero derivatives
    assert gradcheck(lambda x, n: x * n, [x, 3])  # non-tensor arguments pass through


def test_only_inputs_requiring_grad_are_checked_or_all_floats_if_none() -> None:
    x, c = x34(), tg.randn(3, 4, dtype="float64")
    assert gradcheck(lambda x, c: x * c, [x, c])  # c is a constant
    with pytest.raises(GradcheckError, match=r"\[0\] shape \(3, 4\) float64 on cpu \(checked\)"):
        gradcheck(lambda a, b: SquareForgetsTheTwo.apply(a) + b, [c, c * 1])  # none requires grad: all
    with pytest.raises(TypeError, match="no floating-point Tensor"):
        gradcheck(lambda i: i * 2, [tg.arange(3)])


def test_float32_inputs_are_upcast_to_float64_copies() -> None:
    x = tg.randn(3, 4, requires_grad=True)
    seen = []
    assert gradcheck(lambda t: seen.append(t.dtype) or t.exp(), x)
    assert set(seen) == {np.dtype("float64")}
    assert x.dtype == np.float32 and x.grad is None  # the caller's tensor is untouched


def test_reports_are_reproducible_for_a_seed() -> None:
    x = tg.randn(6, 50, dtype="float64", requires_grad=True)
    messages = []
    for seed in (3, 3, 4):
        with pytest.raises(GradcheckError) as caught:
            gradcheck(SquareForgetsTheTwo.apply, x, seed=seed)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] != messages[2]


def test_tolerances_are_honoured() -> None:
    """A 1e-3 relative error in the derivative fails the defaults and passes rtol=1e-2."""
    slightly_off = lambda x: x + 0.001 * (x - x.detach())  # derivative 1.001, value x
    x = x34()
    with pytest.raises(GradcheckError):
        gradcheck(slightly_off, x)
    assert gradcheck(slightly_off, x, rtol=1e-2)


# ------------------------------------------------------------------------------------------ strategies
@given(tst.shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_bounds(shape: tuple[int, ...]) -> None:
    assert 1 <= len(shape) <= 3 and all(2 <= n <= 4 for n in shape)


@given(tst.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes: tuple) -> None:
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@given(tst.tensors(dtype="float32", domain=(-1.0, 1.0), avoid=(0.0,), distinct=True))
def test_tensors_respect_domain_avoid_and_distinct(x: tg.Tensor) -> None:
    values = x.numpy().ravel()
    assert x.dtype == np.float32 and x.requires_grad
    assert np.all((values >= -1) & (values <= 1)) and np.all(np.abs(values) >= tst.MARGIN * 0.999)
    assert len(np.unique(values)) == values.size


@given(tst.tensors(shape=(2, 3), dtype="int64", domain=(0, 5)))
def test_integer_tensors_do_not_require_grad(x: tg.Tensor) -> None:
    assert x.shape == (2, 3) and x.dtype == np.int64 and not x.requires_grad
    assert x.numpy().min() >= 0 and x.numpy().max() < 5


@given(st.data())
def test_axes_and_indices_are_valid(data: st.DataObject) -> None:
    shape = data.draw(tst.shapes(max_dims=3, max_side=4))
    x = np.arange(int(np.prod(shape)), dtype=float).reshape(shape)
    x.sum(axis=data.draw(tst.axes(len(shape))), keepdims=data.draw(tst.keepdims()))
    index = data.draw(tst.indices(shape))
    x[index]  # NumPy accepts it


def test_indices_draw_every_kind() -> None:
    kinds = set()

    @settings(max_examples=300, derandomize=True)
    @given(tst.indices((4, 3)))
    def collect(index: object) -> None:
        for item in index if isinstance(index, tuple) else (index,):
            if isinstance(item, np.ndarray):
                kinds.add(
                    "mask"
                    if item.dtype == bool
                    else "repeats"
                    if len(set(item.ravel())) < item.size
                    else "int"
                )
            else:
                kinds.add(type(item).__name__)

    collect()
    assert {"mask", "repeats", "int", "slice", "NoneType", "ellipsis"} <= kinds


@given(tst.token_batches(vocab_size=7, max_batch=3, max_len=5))
def test_token_batches(tokens: np.ndarray) -> None:
    assert tokens.dtype == np.int64 and tokens.ndim == 2
    assert 1 <= tokens.shape[0] <= 3 and 1 <= tokens.shape[1] <= 5
    assert tokens.min() >= 0 and tokens.max() < 7
