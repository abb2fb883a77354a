"""``Function``: the unit of differentiation, and ``constant``, the one constructor ops use.

A subclass is one primitive operation. The instance is the op's context:

* ``forward(self, *arrays, **params) -> array`` runs on raw backend arrays (NumPy or CuPy), keeps
  on ``self`` only what backward needs, and returns the output array.
* ``backward(self, grad_output: Tensor) -> Tensor | None | tuple`` returns one gradient per input
  (``None`` where ``self.needs_input_grad[i]`` is False, or for non-differentiable inputs). It is
  written with Tensor operations, so that with ``create_graph=True`` the gradient carries a graph of
  its own and can be differentiated again: one mechanism gives higher-order derivatives for every
  op. Inside backward, ``self.inputs`` are the input Tensors and ``self.output()`` the output Tensor.
* Gradients may have the broadcast shape: the engine sums each one down to its input's shape
  (``sum_to``) in one place, so ops never undo broadcasting themselves.

Users define their own differentiable ops the same way (compare ``torch.autograd.Function``)::

    class Cube(Function):
        def forward(self, x):
            return x ** 3
        def backward(self, grad_output):
            (x,) = self.inputs
            return grad_output * 3 * x ** 2

    y = Cube.apply(x)

An op that must be fast (fused attention, layer norm, cross-entropy, ...) is a ``FusedFunction``
(``ops/fused_function.py``): one vjp formula evaluated on the saved arrays, or on Tensors under
``create_graph``.

Layering: this module sits below ``ops/`` and ``tensor.py``. It creates Tensors (the outputs of
``apply`` and ``constant``) but cannot import ``tensor.py``, which imports the ops, which import this
module; ``tensor.py`` hands its class over with ``bind_tensor_class`` once it is defined.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy

from .anomaly import _Anomaly, check_forward
from .backend import device_of
from .versions import _Writes

if TYPE_CHECKING:
    from .tensor import Tensor


_Tensor: Any = None  # the Tensor class, bound by tensor.py (see the module docstring)


def bind_tensor_class(tensor_class: type) -> None:
    """Called once by ``tensor.py``: the class that ``apply`` and ``constant`` instantiate."""
    global _Tensor
    _Tensor = tensor_class


def constant(array: Any) -> Tensor:
    """Wrap a backend array as a Tensor without copying; it needs no gradient (a constant)."""
    return _Tensor._from_array(array)


def is_tensor(value: Any) -> bool:
    return isinstance(value, _Tensor)


class _GradMode:
    """Whether operations record a graph (toggled by ``no_grad``/``enable_grad``)."""

    enabled = True


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    inputs: tuple[Tensor, ...]
    needs_input_grad: tuple[bool, ...]

    def forward(self, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad_output: Tensor) -> Tensor | None | tuple[Tensor | None, ...]:
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    def output(self) -> Tensor:
        """The Tensor this op produced (alive while backward runs)."""
        return self._output()

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run forward on the inputs' arrays and, when a graph is recorded, link the result to them."""
        if len(inputs) > 1:
            for t in inputs:
                if type(t.data) is not numpy.ndarray:  # only then can two devices meet
                    _check_same_device(cls, inputs)
                    break
        fn = cls()
        try:
            data = fn.forward(*[t.data for t in inputs], **params)
        except (ValueError, IndexError, TypeError) as error:
            raise _op_error(cls, inputs, params, error) from error
        if type(data) is not numpy.ndarray and isinstance(data, numpy.generic):
            data = numpy.asarray(data)
        if _Anomaly.enabled:
            check_forward(fn, inputs, data)
        if _GradMode.enabled and data.dtype.kind == "f":
            needs = tuple(t.requires_grad for t in inputs)
            if True in needs:
                fn.inputs = inputs
                fn.needs_input_grad = needs
                fn.saved_at = _Writes.count
                out = _Tensor._from_op(data, fn)
                fn._output = weakref.ref(out)
                return out
        return _Tensor._from_array(data)

    def release(self) -> None:
        """Drop the saved inputs and arrays once backward has used them (the graph is freed)."""
        self.__dict__.clear()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def op_name(cls: type) -> str:
    """The name errors use: ``Exp`` -> "exp", ``LinearFunction`` -> "linear"."""
    return cls.__name__.removesuffix("Function").lower()


def _check_same_device(cls: type, inputs: tuple[Tensor, ...]) -> None:
    devices = [device_of(t.data) for t in inputs]
    if len(set(devices)) > 1:
        listed = ", ".join(f"{d} (shape {tuple(t.shape)})" for d, t in zip(devices, inputs, strict=True))
        raise RuntimeError(
            f"{op_name(cls)}: expected all tensors on one device, got {listed}; move them with .to(device)"
        )


def _op_error(cls: type, inputs: tuple[Tensor, ...], params: dict, error: Exception) -> Exception:
    """Re-raise a backend error with the op's name, its inputs' shapes and dtypes, and its parameters."""
    described = ", ".join(f"{tuple(t.shape)} {t.data.dtype}" for t in inputs)
    shown = {k: v for k, v in params.items() if not hasattr(v, "shape")}
    extra = f" with {shown}" if shown else ""
    message = f"{op_name(cls)}: inputs {described}{extra}: {error}"
    for kind in (IndexError, TypeError):
        if isinstance(error, kind):
            return kind(message)
    return ValueError(message)
