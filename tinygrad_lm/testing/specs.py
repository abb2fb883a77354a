"""The ``OpSpec`` format shared by every registry table, the ``Case`` it draws, and the torch helpers.

An ``OpSpec`` says how to call the op and what it should compute:

* ``name``: the test id; ``fn(*tensors, **params)`` calls the op on ``tg.Tensor`` inputs and returns a
  Tensor or a tuple of Tensors; ``ref(*arrays, **params)`` is the NumPy reference on the same values
  (float64 arrays) and returns an array or a tuple of arrays; ``torch_fn(*torch_tensors, **params)``
  is the optional PyTorch counterpart (raise ``NotImplementedError`` for params torch cannot express).
* ``arity``: the number of tensor inputs (the most, for variadic ops: a ``shapes`` strategy decides).
* ``covers``: what the spec exercises: names of ``Function`` subclasses (``"GetItem"``) and of public
  API (``"Tensor.__getitem__"``, ``"tg.cat"``, ``"functional.layer_norm"``). Every Function subclass
  under ``tinygrad_lm`` and every public Tensor method / ``tg`` function / ``functional`` function
  must be covered by some spec or listed in ``NOT_DIFFERENTIABLE`` (tests/test_op_registry.py).
* Inputs: ``shapes(broadcast) -> strategy of a tuple of shapes`` (default: one shape of
  ``min_dims..max_dims`` dims with sides ``min_side..max_side``, repeated ``arity`` times, or mutually
  broadcastable shapes when ``broadcast``); values per input in ``domain`` (one (low, high) pair or one
  per input), kept ``MARGIN`` away from the points in ``avoid``, pairwise apart if ``distinct`` (ties).
* ``params(shapes) -> strategy of a dict`` of non-tensor arguments (axis, keepdims, index, masks...).
* ``broadcasts``: the inputs broadcast against each other (checked with broadcast shapes too).
* ``first_order`` / ``second_order`` / ``float32``: True, or a string saying why that check does not
  apply (printed as n/a in the report). Piecewise-linear ops have a zero second derivative almost
  everywhere: that is still checked. ``keeps_dtype``: the output has the input's dtype.
* ``float32_grad_error(*arrays, **params)``: for an op whose float32 backward cancels by an amount that
  depends on the input (layer norm over a row of small spread), the absolute gradient error that
  float32 rounding gives on these inputs, used instead of the fixed tolerance when larger.
* ``conventions``: the points where the op's derivative is undefined or singular (ties, kinks, 0 ** 0,
  a constant row's std), each a ``Convention``: the inputs there and the gradients of the sum of the
  outputs that the library's documented convention gives, exactly; every value in ``avoid`` must
  appear in one (tests/test_conventions.py), so a new op with such points states what it does there.
* ``kind``: ``"unary"``/``"binary"`` (element-wise) or ``"reduction"`` (axis, keepdims) make the op
  available to the random expression graphs of tests/test_composite_properties.py.

The tables (``registry_elementwise.py``, ``registry_reduce_movement.py``, ``registry_nn.py``,
``registry_sequence.py``) import this module; ``registry.py`` gathers them into ``SPECS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st

import tinygrad_lm as tg

from . import strategies as tst
from .strategies import DEFAULT_DOMAIN, Domain, Shape


class Case(NamedTuple):
    """One drawn example: the tensor inputs' values (NumPy) and the op's other arguments."""

    arrays: tuple[np.ndarray, ...]
    params: dict

    def tensors(self, device: str = "cpu", dtype: Any = None) -> list[tg.Tensor]:
        """The arrays as fresh leaf tensors (requires_grad) on ``device``, in ``dtype`` or their own."""
        return [tg.Tensor(a, dtype=dtype or a.dtype, device=device, requires_grad=True) for a in self.arrays]


class Convention(NamedTuple):
    """At ``inputs`` (and ``params``), the gradients of the sum of the op's outputs are ``grads``."""

    inputs: tuple
    grads: tuple
    params: dict = {}


@dataclass(frozen=True)
class OpSpec:
    """One op's registry entry: how to call it, its references and its inputs (see the module doc)."""

    name: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    arity: int = 1
    covers: tuple[str, ...] = ()
    domain: Domain | tuple[Domain, ...] = DEFAULT_DOMAIN
    avoid: tuple[float, ...] = ()
    distinct: bool = False
    params: Callable[[tuple[Shape, ...]], st.SearchStrategy] | None = None
    shapes: Callable[[bool], st.SearchStrategy] | None = None
    min_dims: int = 0
    max_dims: int = 3
    min_side: int = 1
    max_side: int = 4
    broadcasts: bool = False
    first_order: bool | str = True
    second_order: bool | str = True
    float32: bool | str = True
    float32_grad_error: Callable[..., float] | None = None
    keeps_dtype: bool = True
    kind: str = "other"
    conventions: tuple[Convention, ...] = ()
    torch_fn: Callable[..., Any] | None = None

    def cases(self, dtype: Any = "float64", broadcast: bool = False) -> st.SearchStrategy:
        """Strategy of ``Case``s: values of ``dtype``, broadcast shapes if ``broadcast``."""
        return _cases(self, np.dtype(dtype), broadcast)

    def draw_shapes(self, broadcast: bool = False) -> st.SearchStrategy:
        """Strategy of the inputs' shapes: ``shapes`` if given, else ``arity`` equal (or broadcast) ones."""
        if self.shapes is not None:
            return self.shapes(broadcast)
        sizes = dict(
            min_dims=self.min_dims, max_dims=self.max_dims, min_side=self.min_side, max_side=self.max_side
        )
        if broadcast and self.broadcasts:
            return tst.broadcastable_shapes(self.arity, **sizes).filter(lambda ss: len(set(ss)) > 1)
        return tst.shapes(**sizes).map(lambda s: (s,) * self.arity)


@st.composite
def _cases(draw: Any, spec: OpSpec, dtype: np.dtype, broadcast: bool) -> Case:
    shapes = draw(spec.draw_shapes(broadcast))
    arrays = draw(tst.float_arrays(shapes, dtype, spec.domain, spec.avoid, spec.distinct))
    params = draw(spec.params(shapes)) if spec.params else {}
    return Case(arrays, params)


def torch_module() -> Any:
    """``torch``, imported when a torch reference runs (the registry itself does not need it)."""
    import torch

    return torch


def as_torch(array: Any) -> Any:
    """A NumPy array (an index, a mask, a target) as a torch tensor."""
    return torch_module().as_tensor(array)


def sigmoid_ref(a: np.ndarray) -> np.ndarray:
    """The logistic function, the NumPy reference of sigmoid and of the recurrent gates."""
    return 1 / (1 + np.exp(-a))
