"""Axis and shape bookkeeping shared by the ops, with errors that name the op and the shape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy

Axes = int | Sequence[int] | None


def normalize_axis(axis: int, ndim: int, op: str, shape: tuple[int, ...] = ()) -> int:
    """A possibly negative axis as an index in ``range(ndim)``."""
    if not isinstance(axis, int | numpy.integer):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise IndexError(
            f"{op}: axis {axis} is out of range for a tensor of {ndim} dimension(s) (shape {shape}); "
            f"expected {-ndim} <= axis < {ndim}"
        )
    return int(axis) % ndim if ndim else 0


def normalize_axes(axis: Axes, ndim: int, op: str, shape: tuple[int, ...] = ()) -> tuple[int, ...]:
    """``None`` -> all axes; an int or a sequence -> sorted, distinct, non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | numpy.integer) else tuple(axis)
    normalized = tuple(sorted(normalize_axis(a, ndim, op, shape) for a in axes))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op}: repeated axis in {axis!r} for shape {shape}")
    return normalized


def keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape a reduction over ``axes`` has with ``keepdims=True``."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def broadcast_shapes(*shapes: tuple[int, ...], op: str = "broadcast") -> tuple[int, ...]:
    """NumPy's broadcast of several shapes, or a ValueError naming them."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for position in range(-ndim, 0):
        sizes = {s[position] for s in shapes if len(s) >= -position} - {1}
        if len(sizes) > 1:
            raise ValueError(
                f"{op}: shapes {', '.join(map(str, shapes))} are not broadcastable "
                f"(sizes {sorted(sizes)} at axis {position})"
            )
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)
