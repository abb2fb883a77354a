"""The op registry's conventions: at points where a derivative is undefined, the documented value, no NaN."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm.testing.registry import SPECS

WITH_CONVENTIONS = [(spec, convention) for spec in SPECS for convention in spec.conventions]


@pytest.mark.parametrize(
    "spec, convention", WITH_CONVENTIONS, ids=[f"{s.name}-{i}" for i, (s, _) in enumerate(WITH_CONVENTIONS)]
)
def test_each_convention_holds_exactly(spec, convention):
    inputs = [tg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in convention.inputs]
    with np.errstate(all="ignore"):  # inf is a stated value at some points (sqrt at 0)
        outputs = spec.fn(*inputs, **convention.params)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        total = sum(out.sum() for out in outputs)
        grads = tg.grad(total, inputs, allow_unused=True)
    for position, (got, expected) in enumerate(zip(grads, convention.grads, strict=True)):
        expected = np.asarray(expected, dtype=np.float64)
        assert got is not None, f"{spec.name}: no gradient for input {position}"
        assert not np.isnan(got.numpy()).any(), f"{spec.name}: nan in the gradient of input {position}"
        np.testing.assert_array_equal(got.numpy(), expected, err_msg=f"{spec.name}, input {position}")


def test_every_avoided_point_has_a_stated_convention():
    """A spec that keeps its random inputs away from points must say what the op does at them."""
    missing = []
    for spec in SPECS:
        stated = {float(v) for c in spec.conventions for a in c.inputs for v in np.ravel(a)}
        missing += [f"{spec.name} at {point}" for point in spec.avoid if point not in stated]
    assert not missing, f"avoided points without a Convention: {missing}"


def test_the_second_derivative_of_std_at_a_constant_row_is_finite():
    row = tg.tensor([[2.0, 2.0, 2.0]], dtype="float64", requires_grad=True)
    (first,) = tg.grad(row.std(axis=1).sum(), row, create_graph=True)
    (second,) = tg.grad((first * first).sum(), row)
    assert first.tolist() == [[0.0, 0.0, 0.0]] and second.tolist() == [[0.0, 0.0, 0.0]]
