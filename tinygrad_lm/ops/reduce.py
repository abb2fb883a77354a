"""Reductions over axes, and ``SumTo`` (the engine's un-broadcast) with its adjoint ``Expand``.

Axes are normalised once in forward; backward reshapes the upstream gradient to the keepdims shape
and broadcasts it back over the reduced axes.
"""

from __future__ import annotations

from ..backend import get_xp
from ..function import Function, constant
from ..shapes import keepdims_shape, normalize_axes


def reduced_count(shape: tuple[int, ...], axis, op: str) -> int:
    """How many elements a reduction over ``axis`` combines into each result (a mean's divisor)."""
    count = 1
    for a in normalize_axes(axis, len(shape), op, shape):
        count *= shape[a]
    if count == 0:
        raise ValueError(f"{op}: over zero elements (shape {tuple(shape)}, axis {axis}) is undefined")
    return count


class Sum(Function):
    """y = sum_{axes} x;  dy/dx = 1 broadcast over the reduced axes."""

    def forward(self, x, axis=None, keepdims=False):
        self.axes = normalize_axes(axis, x.ndim, "sum", x.shape)
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        return gy.reshape(keepdims_shape(x.shape, self.axes)).expand(x.shape)


class Max(Function):
    """y = max_{axes} x (or min);  the gradient goes to the extreme elements, shared equally on ties."""

    def forward(self, x, axis=None, keepdims=False, smallest=False):
        self.axes = normalize_axes(axis, x.ndim, "min" if smallest else "max", x.shape)
        if x.size == 0:
            raise ValueError("max/min of an empty tensor is undefined")
        reduce = x.min if smallest else x.max
        return reduce(axis=self.axes, keepdims=keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        shape = keepdims_shape(x.shape, self.axes)
        extreme = self.output().data.reshape(shape)
        is_extreme = (x.data == extreme).astype(x.data.dtype)
        share = is_extreme / is_extreme.sum(axis=self.axes, keepdims=True)
        return gy.reshape(shape).expand(x.shape) * constant(share)


class LogSumExp(Function):
    """y = log sum_{axes} e^x, computed as m + log sum e^(x - m) with m = max x;  dy/dx = e^(x - y)."""

    def forward(self, x, axis=None, keepdims=False):
        xp = get_xp(x)
        self.axes = normalize_axes(axis, x.ndim, "logsumexp", x.shape)
        m = x.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return y if keepdims else y.squeeze(self.axes)

    def backward(self, gy):
        x = self.inputs[0]
        shape = keepdims_shape(x.shape, self.axes)
        return gy.reshape(shape) * (x - self.output().reshape(shape)).exp()


class SumTo(Function):
    """y = x summed down to ``shape`` (undoes broadcasting);  its adjoint is ``Expand``."""

    def forward(self, x, shape=()):
        shape = tuple(shape)
        lead = x.ndim - len(shape)
        if lead < 0:
            raise ValueError(f"cannot sum shape {x.shape} to the larger rank of {shape}")
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
        )
        y = x.sum(axis=axes, keepdims=True) if axes else x
        if y.shape[lead:] != shape:
            raise ValueError(f"shape {x.shape} does not broadcast from {shape}")
        return y.reshape(shape)

    def backward(self, gy):
        return gy.expand(self.inputs[0].shape)


class Expand(Function):
    """y = x broadcast to ``shape`` (a view);  its adjoint is ``SumTo``."""

    def forward(self, x, shape=()):
        return get_xp(x).broadcast_to(x, tuple(shape))

    def backward(self, gy):
        return gy.sum_to(self.inputs[0].shape)
