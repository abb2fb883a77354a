"""Creating tensors: from data, constant fills, ranges, and seeded random draws."""

from __future__ import annotations

from typing import Any

import numpy

from .backend import Generator, array_from_dlpack, default_generator, device_of, parse_device, xp_for
from .dtypes import DEFAULT_FLOAT, as_dtype, int64
from .tensor import Tensor


def tensor(data: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or a Tensor)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: str | None = None) -> Tensor:
    """A constant tensor that SHARES ``data``'s memory when ``data`` is already a NumPy/CuPy array of
    ``dtype`` on ``device`` (as ``torch.as_tensor``); otherwise a converted copy. No gradient.

    The no-copy path is for arrays the caller will not modify while the tensor is in use (batches of
    token ids, arrays handed back by an op); ``tensor`` always copies.
    """
    if isinstance(data, Tensor):
        data = data.data
    wanted = as_dtype(dtype)
    is_array = isinstance(data, numpy.ndarray) or hasattr(data, "__cuda_array_interface__")
    if (
        is_array
        and (wanted is None or data.dtype == wanted)
        and (device is None or device_of(data) == parse_device(device))
    ):
        return Tensor._from_array(data)
    return Tensor(data, dtype=dtype, device=device)


def from_dlpack(x: Any) -> Tensor:
    """A constant tensor SHARING the memory of ``x``, any DLPack producer (a NumPy, PyTorch or CuPy
    array, a Tensor): writes on either side are seen on the other; dtype and shape are kept.

    Only the values come: ``x``'s gradient and graph (a PyTorch tensor's ``requires_grad``) do not,
    and PyTorch itself refuses to export a tensor that requires grad (``x.detach()`` first)."""
    return Tensor._from_array(array_from_dlpack(x))


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], list | tuple):
        shape = tuple(shape[0])
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"a shape needs non-negative ints, got {shape}")
    return tuple(shape)


def _make(array: Any, requires_grad: bool) -> Tensor:
    out = Tensor._from_array(array)
    return out.requires_grad_(True) if requires_grad else out


def full(
    shape: Any, value: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    dtype = as_dtype(dtype) or (DEFAULT_FLOAT if isinstance(value, float) else None)
    xp = xp_for(parse_device(device))
    return _make(
        xp.full(_shape((shape,) if isinstance(shape, int) else (shape,)), value, dtype=dtype), requires_grad
    )


def zeros(
    *shape: Any, dtype: Any = DEFAULT_FLOAT, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return _make(xp_for(parse_device(device)).zeros(_shape(shape), dtype=as_dtype(dtype)), requires_grad)


def ones(
    *shape: Any, dtype: Any = DEFAULT_FLOAT, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return _make(xp_for(parse_device(device)).ones(_shape(shape), dtype=as_dtype(dtype)), requires_grad)


def arange(
    start: float,
    stop: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """start, start + step, ... below stop (``arange(n)`` is 0..n-1); ints give int64, floats float32."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, int) for v in (start, stop, step)) else DEFAULT_FLOAT
    return _make(xp_for(parse_device(device)).arange(start, stop, step, dtype=as_dtype(dtype)), requires_grad)


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = DEFAULT_FLOAT,
    device: str | None = None,
    requires_grad: bool = False,
) -> Tensor:
    return _make(xp_for(parse_device(device)).eye(n, m, dtype=as_dtype(dtype)), requires_grad)


def randn(
    *shape: Any,
    dtype: Any = DEFAULT_FLOAT,
    device: str | None = None,
    requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Standard normal draws N(0, 1)."""
    draw = (generator or default_generator).normal(_shape(shape), as_dtype(dtype), parse_device(device))
    return _make(draw, requires_grad)


def rand(
    *shape: Any,
    dtype: Any = DEFAULT_FLOAT,
    device: str | None = None,
    requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Uniform draws on [0, 1)."""
    draw = (generator or default_generator).uniform(_shape(shape), as_dtype(dtype), parse_device(device))
    return _make(draw, requires_grad)


def randint(
    low: int,
    high: int,
    shape: Any,
    dtype: Any = int64,
    device: str | None = None,
    generator: Generator | None = None,
) -> Tensor:
    """Uniform integers in [low, high)."""
    if high <= low:
        raise ValueError(f"randint: need low < high, got [{low}, {high})")
    shape = _shape((shape,) if isinstance(shape, int) else (tuple(shape),))
    draw = (generator or default_generator).integers(low, high, shape, as_dtype(dtype), parse_device(device))
    return Tensor._from_array(draw)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(*t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(*t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def full_like(t: Tensor, value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return full(t.shape, value, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def randn_like(
    t: Tensor, dtype: Any = None, requires_grad: bool = False, generator: Generator | None = None
) -> Tensor:
    return randn(
        *t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad, generator=generator
    )


def rand_like(
    t: Tensor, dtype: Any = None, requires_grad: bool = False, generator: Generator | None = None
) -> Tensor:
    return rand(
        *t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad, generator=generator
    )
