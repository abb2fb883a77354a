"""Gradient-check your own function and your own ``tg.Function``, with finite differences and hypothesis.

The mathematics: for y = f(x) and a random upstream vector u, the scalar L(x) = <u, f(x)> has
gradient J^T u, which backward computes; ``gradcheck`` compares it with central differences
(L(x + eps e_j) - L(x - eps e_j)) / (2 eps) in float64. ``gradgradcheck`` does the same for the
gradient itself (a Hessian-vector product through double backward). A random u matters: a backward
that forgets to multiply by its upstream gradient returns J^T 1, right for u = 1 and wrong otherwise,
which the deliberately wrong softplus below shows.

Softplus, s(x) = log(1 + e^x), has s'(x) = sigmoid(x) and s''(x) = sigmoid(x) (1 - sigmoid(x)).

    python examples/gradcheck_your_function.py [--smoke] [--examples 50]
"""

from __future__ import annotations

import argparse

from hypothesis import given, settings

import tinygrad_lm as tg
from tinygrad_lm.backend import get_xp
from tinygrad_lm.testing import GradcheckError, gradcheck, gradgradcheck
from tinygrad_lm.testing import strategies as tst


def my_function(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
    """A composition of library ops: logsumexp over the last axis of tanh(x) * y."""
    return (x.tanh() * y).logsumexp(axis=-1)


class Softplus(tg.Function):
    """s(x) = log(1 + e^x), computed stably as logaddexp(0, x); backward uses Tensor ops, so the
    gradient is differentiable again (double backward for free)."""

    def forward(self, x):
        return get_xp(x).logaddexp(0, x)

    def backward(self, grad_output: tg.Tensor) -> tg.Tensor:
        (x,) = self.inputs
        return grad_output * x.sigmoid()


class ForgetfulSoftplus(Softplus):
    """Wrong on purpose: returns ds/dx without multiplying by the upstream gradient."""

    def backward(self, grad_output: tg.Tensor) -> tg.Tensor:
        (x,) = self.inputs
        return x.sigmoid()


def check_fixed_inputs() -> None:
    tg.manual_seed(0)
    x, y = tg.randn(3, 4, dtype="float64"), tg.randn(3, 4, dtype="float64")
    print("gradcheck(my_function):", gradcheck(my_function, (x, y)))
    print("gradgradcheck(my_function):", gradgradcheck(my_function, (x, y)))
    print("gradcheck(Softplus):", gradcheck(Softplus.apply, (x,)))
    print("gradgradcheck(Softplus):", gradgradcheck(Softplus.apply, (x,)))


def show_the_wrong_backward_is_caught() -> None:
    x = tg.randn(2, 3, dtype="float64")
    print(
        "gradcheck(ForgetfulSoftplus, raise_exception=False):",
        gradcheck(ForgetfulSoftplus.apply, (x,), raise_exception=False),
    )
    try:
        gradcheck(ForgetfulSoftplus.apply, (x,))
    except GradcheckError as error:
        print("  caught, as it should be:", str(error).splitlines()[0])
    else:
        raise AssertionError("the wrong backward was not caught")


def property_based(examples: int) -> None:
    """Any shape, any values in the default domain: both derivatives of both functions agree."""

    @settings(max_examples=examples, deadline=None, database=None)
    @given(tst.broadcastable_tensors(n=2, max_dims=3, max_side=4))
    def check_my_function(xy):
        assert gradgradcheck(my_function, xy)

    @settings(max_examples=examples, deadline=None, database=None)
    @given(tst.tensors(shape=tst.shapes(max_dims=3, max_side=4)))
    def check_softplus(x):
        assert gradgradcheck(Softplus.apply, (x,))

    check_my_function()
    check_softplus()
    print(f"hypothesis: {examples} random shapes and values each for my_function and Softplus: all agree")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="hypothesis examples per property")
    parser.add_argument("--smoke", action="store_true", help="5 hypothesis examples per property")
    args = parser.parse_args()
    check_fixed_inputs()
    show_the_wrong_backward_is_caught()
    property_based(5 if args.smoke else args.examples)


if __name__ == "__main__":
    main()
