"""``FusedFunction``: the one way to write a fast op (attention, layer norm, cross-entropy, GELU, ...).

A fast op replaces a composition of primitives with one forward on arrays and one hand-derived
vector-Jacobian product. It is written as three parts, and the base class does the rest:

* ``forward(self, *arrays, **params)`` computes the output and keeps in ``self.saved`` (a tuple of
  arrays) the intermediate values the vjp reuses, e.g. layer norm's (x_hat, 1/sigma).
* ``recompute(self, *inputs)`` returns the same values computed from the input Tensors with Tensor
  ops, so that they carry their dependence on the inputs. It runs only under ``create_graph``.
* ``vjp(self, xp, g, inputs, saved)`` is the formula: the gradients with respect to the inputs (one
  per input, None where none is needed) from g = dL/d(output). It is written ONCE and evaluated on
  either kind of value:

  - a plain ``backward()``: on arrays (g, the inputs' arrays and ``self.saved``), with no per-op
    bookkeeping; the results are wrapped as constant Tensors;
  - ``create_graph=True``: on Tensors (g, the input Tensors and ``recompute``'s values), so the
    gradient is itself differentiable (second derivatives, Hessian-vector products).

  The formula may use what arrays and Tensors share (arithmetic operators, ``@``, ``.T``,
  ``.reshape``, ``.swapaxes``, indexing, ``.sum``/``.mean`` with ``axis``/``keepdims``) and the
  namespace ``xp``, whose few functions exist for both: ``row_sums``, ``row_means``,
  ``column_sums``, ``stack``, ``constant``. For arrays ``xp`` is ``ArrayFormulas`` (reductions as
  BLAS products, ``ops/rows.py``); for Tensors ``TENSOR_FORMULAS`` (the differentiable reductions).

Why one formula with a recompute hook rather than a separate gradient Function per op (Chainer's
``XGrad``): the second derivative then comes from the formula itself, with nothing more to derive
or to test per op, and the engine needs no multi-output Functions.

An op whose vjp can only run on arrays (the fused recurrent scan) sets ``differentiable_twice =
False`` and names its ``composed_form``; under ``create_graph`` it raises an error naming both
instead of computing a wrong second derivative.
"""

from __future__ import annotations

import functools
from typing import Any

from ..backend import get_xp
from ..function import Function, constant, is_grad_enabled, op_name
from .movement import stack
from .rows import column_sums, row_means, row_sums


class ArrayFormulas:
    """The vjp namespace on backend arrays (NumPy or CuPy, the module of the gradient)."""

    row_sums = staticmethod(row_sums)
    row_means = staticmethod(row_means)
    column_sums = staticmethod(column_sums)

    def __init__(self, array_module: Any) -> None:
        self.stack = array_module.stack

    @staticmethod
    def constant(array: Any) -> Any:
        return array


class TensorFormulas:
    """The vjp namespace on Tensors: every function differentiable."""

    stack = staticmethod(stack)
    constant = staticmethod(constant)

    @staticmethod
    def row_sums(a: Any) -> Any:
        return a.sum(axis=-1, keepdims=True)

    @staticmethod
    def row_means(a: Any) -> Any:
        return a.mean(axis=-1, keepdims=True)

    @staticmethod
    def column_sums(a: Any) -> Any:
        return a.sum(axis=tuple(range(a.ndim - 1)))


TENSOR_FORMULAS = TensorFormulas()


@functools.cache
def _array_formulas(array_module: Any) -> ArrayFormulas:
    return ArrayFormulas(array_module)


class FusedFunction(Function):
    """Base class of the fast ops (see the module docstring)."""

    saved: tuple = ()
    differentiable_twice = True
    composed_form = ""  # with differentiable_twice = False: what to use under create_graph instead

    def recompute(self, *inputs: Any) -> tuple:
        """``self.saved`` computed from the input Tensors with Tensor ops (for ``create_graph``)."""
        return ()

    def vjp(self, xp: Any, g: Any, inputs: tuple, saved: tuple) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.vjp is not implemented")

    def backward(self, g: Any) -> Any:
        if is_grad_enabled():  # create_graph: the formula on Tensors, differentiable again
            if not self.differentiable_twice:
                raise RuntimeError(
                    f"{op_name(type(self))}: this fused op is differentiable once only; for "
                    f"create_graph=True use {self.composed_form}"
                )
            return self.vjp(TENSOR_FORMULAS, g, self.inputs, self.recompute(*self.inputs))
        array = g.data
        inputs = tuple(t.data for t in self.inputs)
        grads = self.vjp(_array_formulas(get_xp(array)), array, inputs, self.saved)
        if isinstance(grads, tuple):
            return tuple(None if d is None else constant(d) for d in grads)
        return constant(grads)
