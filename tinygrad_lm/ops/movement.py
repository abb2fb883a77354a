"""Shape and layout: reshape, permute, concatenation, device transfer (views where the backend allows),
and the functions on Tensors that parse the shape arguments of the Tensor methods, ``cat`` and ``stack``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import get_xp, to_device
from ..function import Function
from ..shapes import Axes, broadcast_shapes, normalize_axes, normalize_axis
from .reduce import Expand


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


# ----------------------------------------------------------------------------- functions on Tensors
# The argument handling of the Tensor methods and of tg.cat/tg.stack; each ends in one of the
# Functions above (the Tensors come in as arguments: this module never imports the Tensor class).


def shape_arg(shape: tuple) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], list | tuple):
        return tuple(shape[0])
    return tuple(shape)


def flatten(x: Any, start: int, end: int) -> Any:
    if x.ndim == 0:
        return x.reshape(1)
    start = normalize_axis(start, x.ndim, "flatten", x.shape)
    end = normalize_axis(end, x.ndim, "flatten", x.shape)
    return x.reshape(*x.shape[:start], -1, *x.shape[end + 1 :])


def permute(x: Any, axes: tuple[int, ...]) -> Any:
    if sorted(normalize_axes(axes, x.ndim, "permute", x.shape)) != list(range(x.ndim)) or len(axes) != x.ndim:
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of {x.shape}")
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def swapaxes(x: Any, axis0: int, axis1: int) -> Any:
    axes = list(range(x.ndim))
    a = normalize_axis(axis0, x.ndim, "swapaxes", x.shape)
    b = normalize_axis(axis1, x.ndim, "swapaxes", x.shape)
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, axes=tuple(axes))


def expand(x: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast x to ``shape``; -1 keeps an existing size."""
    new_axes = len(shape) - x.ndim
    if any(n == -1 for n in shape[:new_axes]):
        raise ValueError(f"expand: -1 keeps an existing size and cannot stand for a new axis ({shape})")
    shape = tuple(x.shape[i - new_axes] if n == -1 else n for i, n in enumerate(shape))
    if shape == x.shape:
        return x
    if broadcast_shapes(x.shape, shape, op="expand") != shape:
        raise ValueError(f"expand: shape {x.shape} cannot be broadcast to {shape}")
    return Expand.apply(x, shape=shape)


def squeeze(x: Any, axis: Axes) -> Any:
    axes = normalize_axes(axis, x.ndim, "squeeze", x.shape)
    if axis is not None and any(x.shape[a] != 1 for a in axes):
        raise ValueError(f"squeeze: axis {axis} of shape {x.shape} does not have size 1")
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


def split(x: Any, sizes: int | Sequence[int], axis: int) -> tuple:
    """Pieces of ``sizes[i]`` along ``axis`` (or of ``sizes`` each, the last one shorter)."""
    axis = normalize_axis(axis, x.ndim, "split", x.shape)
    length = x.shape[axis]
    if isinstance(sizes, int):
        if sizes <= 0:
            raise ValueError(f"split: size must be positive, got {sizes}")
        sizes = [min(sizes, length - start) for start in range(0, length, sizes)]
    if sum(sizes) != length:
        raise ValueError(f"split: sizes {list(sizes)} do not add up to {length} (axis {axis} of {x.shape})")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(x: Any, chunks: int, axis: int) -> tuple:
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"chunk: chunks must be an integer >= 1, got {chunks!r} (shape {tuple(x.shape)})")
    length = x.shape[normalize_axis(axis, x.ndim, "chunk", x.shape)]
    return split(x, max(1, -(-length // chunks)), axis)


def cat(tensors: Sequence[Any], axis: int = 0) -> Any:
    """Join tensors of equal shape except along ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: needs at least one tensor")
    return Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Any:
    """Join tensors of equal shape along a new ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    axis = normalize_axis(axis, tensors[0].ndim + 1, "stack", tensors[0].shape)
    return cat([t.unsqueeze(axis) for t in tensors], axis=axis)
