"""Indexing: ``x[index]`` with ints, slices, None, Ellipsis, integer arrays and boolean masks.

Its backward scatters the gradient into zeros of the input's shape, *adding* where an integer array
repeats an element; the scatter's own backward is the same indexing again, so both are twice
differentiable.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp, scatter_add
from ..dtypes import as_dtype, float32
from ..function import Function, constant, is_tensor
from ..shapes import normalize_axis
from .elementwise import where


def normalize_index(index: Any, xp: Any, shape: tuple[int, ...]) -> tuple:
    """A tuple of backend objects: Tensors -> arrays, lists -> arrays, boolean masks -> their nonzeros.

    A boolean mask must have the shape of the axes it indexes (``IndexError`` otherwise, as NumPy's):
    its nonzeros alone would silently select from a prefix of a longer axis."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(
        item.data if is_tensor(item) else xp.asarray(item) if isinstance(item, list) else item
        for item in items
    )
    normalized: list = []
    for axis, item in zip(_first_axes(items, len(shape)), items, strict=True):
        if hasattr(item, "dtype") and getattr(item, "ndim", 0) > 0:
            if item.dtype == bool:
                indexed = tuple(shape[axis : axis + item.ndim])
                if tuple(item.shape) != indexed:
                    raise IndexError(
                        f"boolean index of shape {tuple(item.shape)} does not match the indexed axes "
                        f"{axis}..{axis + item.ndim - 1} of shape {indexed} (tensor shape {tuple(shape)})"
                    )
                normalized.extend(xp.nonzero(item))
                continue
            if item.dtype.kind not in "iu":
                raise IndexError(f"index arrays must be integer or boolean, got dtype {item.dtype}")
        normalized.append(item)
    return tuple(normalized)


def _first_axes(items: tuple, ndim: int) -> list[int]:
    """The first axis of the indexed tensor that each index item applies to."""
    used = [
        0 if item is None or item is Ellipsis else getattr(item, "ndim", 1) if _is_mask(item) else 1
        for item in items
    ]
    axes, axis = [], 0
    for position, (item, count) in enumerate(zip(items, used, strict=True)):
        if item is Ellipsis:
            axis = ndim - sum(used[position + 1 :])
        axes.append(axis)
        axis += count
    return axes


def _is_mask(item: Any) -> bool:
    return hasattr(item, "dtype") and item.dtype.kind == "b" and getattr(item, "ndim", 0) > 0


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


# ----------------------------------------------------------------------------- functions on Tensors
def gather(x: Any, axis: int, index: Any) -> Any:
    """y[..., i, ...] = x[..., index[..., i, ...], ...] along ``axis`` (NumPy's take_along_axis)."""
    xp = get_xp(x.data)
    index = xp.asarray(index.data if is_tensor(index) else index)
    axis = normalize_axis(axis, x.ndim, "gather", x.shape)
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index of shape {index.shape} needs {x.ndim} dims like the input {x.shape}")
    grids = [xp.arange(n).reshape((-1,) + (1,) * (index.ndim - d - 1)) for d, n in enumerate(index.shape)]
    grids[axis] = index
    return x[tuple(grids)]


def triangle(x: Any, diagonal: int, lower: bool) -> Any:
    """``tril`` (lower) or ``triu``: the elements on one side of the ``diagonal``-th diagonal, else 0."""
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: needs at least 2 dimensions, got {x.shape}")
    rows, cols = x.shape[-2:]
    keep = get_xp(x.data).tri(rows, cols, diagonal if lower else diagonal - 1, dtype=bool)
    return where(keep if lower else ~keep, x, 0.0)


def one_hot(indices: Any, num_classes: int, dtype: Any = float32) -> Any:
    """(...) integer indices -> (..., num_classes) with a 1 at each index (not differentiable)."""
    data = indices.data if is_tensor(indices) else get_xp(indices).asarray(indices)
    xp = get_xp(data)
    if data.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got dtype {data.dtype}")
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise IndexError(f"one_hot: indices must lie in [0, {num_classes}), got [{data.min()}, {data.max()}]")
    return constant((data[..., None] == xp.arange(num_classes)).astype(as_dtype(dtype)))
