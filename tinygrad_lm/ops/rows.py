"""Means over the last axis and sums over the leading axes, as matrix-vector products.

NumPy reduces a short last axis (a layer norm's 128 features, an attention row's 64 keys) one row at a
time; written as the product with a constant vector, BLAS computes the same sums several times faster:

    row_means(a)[..., 0] = a @ (1/D, ..., 1/D)          a (..., D)
    row_sums(a)[..., 0]  = a @ (1, ..., 1)
    column_sums(a)       = (1, ..., 1) @ a as (M, D)    the sum over every axis but the last -> (D,)

Arrays only (the vjp formulas of ``FusedFunction`` reach them as ``xp.row_sums`` etc., and Tensors get
their differentiable ``sum``/``mean`` there instead); non-float or empty arrays use NumPy's reductions.
"""

from __future__ import annotations

import functools
from typing import Any

from ..backend import device_of, xp_for


def row_means(a: Any) -> Any:
    """The mean over the last axis, kept as an axis of size 1: (..., D) -> (..., 1)."""
    if not _is_float_array(a):
        return a.mean(axis=-1, keepdims=True)
    return (a @ _filled(a.shape[-1], 1 / a.shape[-1], a.dtype.str, device_of(a)))[..., None]


def row_sums(a: Any) -> Any:
    """The sum over the last axis, kept as an axis of size 1: (..., D) -> (..., 1)."""
    if not _is_float_array(a):
        return a.sum(axis=-1, keepdims=True)
    return (a @ _filled(a.shape[-1], 1.0, a.dtype.str, device_of(a)))[..., None]


def column_sums(a: Any) -> Any:
    """The sum over every axis but the last: (..., D) -> (D,)."""
    if not _is_float_array(a) or a.ndim < 2:
        return a.sum(axis=tuple(range(a.ndim - 1)))
    rows = a.reshape(-1, a.shape[-1])
    return _filled(rows.shape[0], 1.0, a.dtype.str, device_of(a)) @ rows


def _is_float_array(a: Any) -> bool:
    """A non-empty floating-point array of at least one axis."""
    return a.dtype.kind == "f" and a.ndim > 0 and a.shape[-1] > 0


@functools.lru_cache(maxsize=64)
def _filled(size: int, value: float, dtype: str, device: str) -> Any:
    """A constant vector (size,) on ``device``, made once per (size, value, dtype, device)."""
    return xp_for(device).full(size, value, dtype=dtype)
