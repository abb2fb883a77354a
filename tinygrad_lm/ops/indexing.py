"""Indexing: ``x[index]`` with ints, slices, None, Ellipsis, integer arrays and boolean masks.

Its backward scatters the gradient into zeros of the input's shape, *adding* where an integer array
repeats an element; the scatter's own backward is the same indexing again, so both are twice
differentiable.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp, scatter_add
from ..function import Function


def normalize_index(index: Any, xp: Any) -> tuple:
    """A tuple of backend objects: Tensors -> arrays, lists -> arrays, boolean masks -> their nonzeros."""
    from ..tensor import Tensor

    items = index if isinstance(index, tuple) else (index,)
    normalized: list = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = xp.asarray(item)
        if hasattr(item, "dtype") and getattr(item, "ndim", 0) > 0:
            if item.dtype == bool:
                normalized.extend(xp.nonzero(item))
                continue
            if item.dtype.kind not in "iu":
                raise IndexError(f"index arrays must be integer or boolean, got dtype {item.dtype}")
        normalized.append(item)
    return tuple(normalized)


def is_advanced(index: tuple) -> bool:
    return any(hasattr(item, "ndim") and item.ndim > 0 for item in index)


class GetItem(Function):
    """y = x[index];  dL/dx = zeros with dL/dy added at the indexed positions."""

    def forward(self, x, index=()):
        self.index = index
        return x[index]

    def backward(self, gy):
        return IndexAdd.apply(gy, index=self.index, shape=self.inputs[0].shape)


class IndexAdd(Function):
    """y = zeros(shape) with y[index] += g (repeated indices accumulate);  its backward is ``GetItem``."""

    def forward(self, g, index=(), shape=()):
        self.index = index
        y = get_xp(g).zeros(shape, dtype=g.dtype)
        if is_advanced(index):
            scatter_add(y, index, g)
        else:
            y[index] = g
        return y

    def backward(self, gy):
        return GetItem.apply(gy, index=self.index)
