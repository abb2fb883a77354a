"""Shape and layout: reshape, permute, concatenation, device transfer. Views where the backend allows."""

from __future__ import annotations

from ..backend import get_xp, to_device
from ..function import Function
from ..shapes import normalize_axis


class Reshape(Function):
    """y = x with a new shape (same elements, row-major order);  the gradient is reshaped back."""

    def forward(self, x, shape=()):
        return x.reshape(shape)

    def backward(self, gy):
        return gy.reshape(self.inputs[0].shape)


class Permute(Function):
    """y = x with its axes reordered, y.shape[i] = x.shape[axes[i]];  the gradient is permuted back."""

    def forward(self, x, axes=()):
        self.axes = tuple(axes)
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis] = position
        return gy.permute(*inverse)


class Cat(Function):
    """y = the inputs joined along ``axis``;  each input's gradient is its slice of dL/dy."""

    def forward(self, *xs, axis=0):
        self.axis = normalize_axis(axis, xs[0].ndim, "cat", xs[0].shape)
        return get_xp(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for x, needed in zip(self.inputs, self.needs_input_grad, strict=True):
            stop = start + x.shape[self.axis]
            index = (slice(None),) * self.axis + (slice(start, stop),)
            grads.append(gy[index] if needed else None)
            start = stop
        return tuple(grads)


class ToDevice(Function):
    """y = a copy of x on another device;  the gradient is copied back."""

    def forward(self, x, device="cpu"):
        return to_device(x, device)

    def backward(self, gy):
        return gy.to(self.inputs[0].device)
