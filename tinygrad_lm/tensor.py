"""``Tensor``: an array on a device, the gradient it receives, and the op that created it.

Every differentiable method is a one-liner that applies a ``Function`` from ``ops/`` (or a function
there that parses the arguments and applies one): to read an op, follow the method to ``ops/``.
The ops never import this module; it hands its class to ``function.py`` (``bind_tensor_class``).

Its value-level methods (conversions, comparisons, logic: nothing that records an op) are in its
base class, ``tensor_values.TensorValues``; every differentiable method is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from . import autograd, grad_hooks
from .backend import device_of, get_xp, numpy_view, parse_device
from .dtypes import DEFAULT_FLOAT, Scalar, as_dtype, bool_, float32, float64, int64, to_array
from .function import bind_tensor_class, is_grad_enabled
from .ops import movement
from .ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Div,
    Erf,
    Exp,
    GeluErf,
    GeluTanh,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    sqrt_zero_gradient_at_zero,
    where,
)
from .ops.indexing import GetItem, gather, normalize_index, triangle
from .ops.linalg import MatMul
from .ops.movement import Reshape, ToDevice, shape_arg
from .ops.reduce import LogSumExp, Max, Sum, SumTo, reduced_count
from .ops.softmax import LogSoftmax, Softmax
from .shapes import Axes, normalize_axis
from .tensor_values import TensorValues
from .versions import mark_modified

__all__ = ["DEFAULT_FLOAT", "Tensor", "as_dtype", "bool_", "float32", "float64", "int64", "to_array"]

class Tensor(TensorValues):
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``data`` is a NumPy or CuPy array; ``grad`` is filled by ``backward``; ``creator`` is the
    ``Function`` that produced it (``None`` for leaves).
    """

    __slots__ = ("__weakref__", "_version", "creator", "data", "grad", "requires_grad")
    __array_ufunc__ = None  # make NumPy defer to the reflected operators (ndarray * Tensor -> Tensor)

    def __init__(self, data: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False):
        self.data = to_array(data, dtype, device)
        self.grad: Tensor | None = None
        self.creator = None
        self.requires_grad = False
        self._version = 0
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_array(cls, data: Any) -> Tensor:
        """Wrap a backend array without copying (a constant: no gradient)."""
        tensor = cls.__new__(cls)
        tensor.data, tensor.grad, tensor.creator, tensor.requires_grad = data, None, None, False
        tensor._version = 0
        return tensor

    @classmethod
    def _from_op(cls, data: Any, creator: Any) -> Tensor:
        tensor = cls.__new__(cls)
        tensor.data, tensor.grad, tensor.creator, tensor.requires_grad = data, None, creator, True
        tensor._version = 0
        return tensor

    # ----------------------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> numpy.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def T(self) -> Tensor:
        """The axes reversed (the transpose of a matrix)."""
        return self.permute(*reversed(range(self.ndim)))

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor; got dtype {self.data.dtype} "
                f"(shape {self.shape}): convert with .astype('float32') first"
            )
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: only leaf tensors can stop requiring grad; use .detach()")
        self.requires_grad = requires_grad
        return self

    # ----------------------------------------------------------------------------- conversion
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> numpy.ndarray:
        """``numpy.asarray(t)``: the CPU tensor's own array (no copy unless asked); GPU tensors raise."""
        return numpy_view(self.data, dtype, copy)

    def detach(self) -> Tensor:
        """The same array (shared, not copied) without a graph."""
        return Tensor._from_array(self.data)

    def to(self, device: str) -> Tensor:
        """A copy on ``device`` (differentiable), or ``self`` when it is already there."""
        device = parse_device(device)
        return self if device == self.device else ToDevice.apply(self, device=device)

    def astype(self, dtype: Any) -> Tensor:
        """Convert the dtype; differentiable between floating dtypes."""
        dtype = as_dtype(dtype)
        if dtype == self.dtype:
            return self
        return Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        return self.astype(float32)

    def double(self) -> Tensor:
        return self.astype(float64)

    def long(self) -> Tensor:
        return self.astype(int64)

    __hash__ = object.__hash__

    # ----------------------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad."""
        autograd.backward(self, gradient, retain_graph, create_graph)

    def register_post_accumulate_grad_hook(self, hook: Any) -> grad_hooks.HookHandle:
        """Call ``hook(self)`` in each ``backward()`` once ``self.grad`` is complete (see grad_hooks.py)."""
        return grad_hooks.register_post_accumulate_grad_hook(self, hook)

    # ----------------------------------------------------------------------------- arithmetic
    def _lift(self, other: Any) -> Tensor:
        """A Python number or array as a constant tensor on this tensor's device."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, bool | int | float):
            kind = self.dtype.kind
            if isinstance(other, float) and kind in "iub":
                dtype = DEFAULT_FLOAT
            elif isinstance(other, int) and not isinstance(other, bool) and kind == "b":
                dtype = int64
            else:
                dtype = self.dtype
            return Tensor._from_array(get_xp(self.data).asarray(other, dtype=dtype))
        return Tensor(other, device=self.device)

    def _pair(self, other: Any) -> tuple[Tensor, Tensor]:
        """Both operands as tensors; an integer tensor meeting a Python float becomes the default float."""
        lifted = self._lift(other)
        if isinstance(other, float) and self.dtype.kind in "iub":
            return self.astype(lifted.dtype), lifted
        return self, lifted

    def __add__(self, other: Any) -> Tensor:
        return Add.apply(*self._pair(other))

    def __radd__(self, other: Any) -> Tensor:
        x, c = self._pair(other)
        return Add.apply(c, x)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(*self._pair(other))

    def __rsub__(self, other: Any) -> Tensor:
        x, c = self._pair(other)
        return Sub.apply(c, x)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(*self._pair(other))

    def __rmul__(self, other: Any) -> Tensor:
        x, c = self._pair(other)
        return Mul.apply(c, x)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(*self._pair(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        x, c = self._pair(other)
        return Div.apply(c, x)

    def __pow__(self, exponent: Any) -> Tensor:
        return Pow.apply(*self._pair(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        x, c = self._pair(base)
        return Pow.apply(c, x)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self._lift(other), self)

    def __getitem__(self, index: Any) -> Tensor:
        return GetItem.apply(self, index=normalize_index(index, get_xp(self.data), self.shape))

    def __setitem__(self, index: Any, value: Any) -> None:
        """In-place assignment, for tensors outside any graph (building data, updating parameters);
        bumps the version, so a graph that saved this tensor refuses backward (``versions.py``)."""
        if is_grad_enabled() and (self.requires_grad or self.creator is not None):
            raise RuntimeError(
                f"__setitem__: in-place assignment into a tensor in a graph (shape {self.shape}) would "
                "corrupt its gradient; do it under no_grad() (a graph already built from it then refuses "
                "backward) or build a new tensor with where()"
            )
        self.data[normalize_index(index, get_xp(self.data), self.shape)] = (
            value.data if isinstance(value, Tensor) else value
        )
        mark_modified(self)

    # ----------------------------------------------------------------------------- element-wise
    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sqrt(self) -> Tensor:
        return Sqrt.apply(self)

    def abs(self) -> Tensor:
        return Abs.apply(self)

    def tanh(self) -> Tensor:
        return Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return Relu.apply(self)

    def erf(self) -> Tensor:
        return Erf.apply(self)

    def gelu(self, approximate: str = "none") -> Tensor:
        """GELU: ``approximate="tanh"`` (GPT-2's) or ``"none"`` (the exact x Phi(x) with erf)."""
        if approximate == "tanh":
            return GeluTanh.apply(self)
        if approximate == "none":
            return GeluErf.apply(self)
        raise ValueError(f"gelu: approximate must be 'tanh' or 'none', got {approximate!r}")

    def maximum(self, other: Any) -> Tensor:
        return Maximum.apply(self, self._lift(other))

    def minimum(self, other: Any) -> Tensor:
        return Minimum.apply(self, self._lift(other))

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        if low is None and high is None:
            raise ValueError("clip: give at least one of low and high")
        return Clip.apply(self, low=low, high=high)

    def masked_fill(self, mask: Any, value: Scalar) -> Tensor:
        """``value`` where ``mask`` is True, else ``self`` (mask broadcasts)."""
        return where(mask, value, self)

    # ----------------------------------------------------------------------------- reductions
    def sum(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        count = reduced_count(self.shape, axis, "mean")
        return self.sum(axis, keepdims) * (1.0 / count)

    def var(self, axis: Axes = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """sum (x - mean)^2 / (N - correction); ``correction=1`` is the unbiased estimate (PyTorch's)."""
        count = reduced_count(self.shape, axis, "var")
        centered = self - self.mean(axis, keepdims=True)
        dof = count - correction  # no degrees of freedom left: nan, as NumPy and PyTorch give
        return (centered * centered).sum(axis, keepdims) * (1.0 / dof if dof > 0 else float("nan"))

    def std(self, axis: Axes = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """sqrt(var); its gradient is 0 (not nan) for a constant row, where var = 0."""
        return sqrt_zero_gradient_at_zero(self.var(axis, keepdims, correction))

    def max(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return Max.apply(self, axis=axis, keepdims=keepdims, smallest=True)

    def logsumexp(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return LogSoftmax.apply(self, axis=axis)

    def sum_to(self, shape: Sequence[int]) -> Tensor:
        """Sum broadcast axes away so the result has ``shape`` (the adjoint of ``expand``)."""
        shape = tuple(shape)
        return self if shape == self.shape else SumTo.apply(self, shape=shape)

    # ----------------------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        shape = shape_arg(shape)
        return self if shape == self.shape else Reshape.apply(self, shape=shape)

    def flatten(self, start: int = 0, end: int = -1) -> Tensor:
        return movement.flatten(self, start, end)

    def permute(self, *axes: Any) -> Tensor:
        return movement.permute(self, shape_arg(axes))

    def transpose(self, axis0: int = -2, axis1: int = -1) -> Tensor:
        """Swap two axes (the last two by default)."""
        return self.swapaxes(axis0, axis1)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return movement.swapaxes(self, axis0, axis1)

    def expand(self, *shape: Any) -> Tensor:
        return movement.expand(self, shape_arg(shape))

    broadcast_to = expand

    def squeeze(self, axis: Axes = None) -> Tensor:
        return movement.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        axis = normalize_axis(axis, self.ndim + 1, "unsqueeze", self.shape)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def split(self, sizes: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
        """Pieces of ``sizes[i]`` along ``axis`` (or of ``sizes`` each, the last one shorter)."""
        return movement.split(self, sizes, axis)

    def chunk(self, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
        return movement.chunk(self, chunks, axis)

    def gather(self, axis: int, index: Any) -> Tensor:
        """y[..., i, ...] = x[..., index[..., i, ...], ...] along ``axis`` (NumPy's take_along_axis)."""
        return gather(self, axis, index)

    def tril(self, diagonal: int = 0) -> Tensor:
        """Keep the elements on and below the ``diagonal``-th diagonal of the last two axes."""
        return triangle(self, diagonal, lower=True)

    def triu(self, diagonal: int = 0) -> Tensor:
        return triangle(self, diagonal, lower=False)


bind_tensor_class(Tensor)
