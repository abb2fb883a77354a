"""dtypes, and turning user data (numbers, nested lists, NumPy/CuPy arrays) into backend arrays."""

from __future__ import annotations

from typing import Any

import numpy

from .backend import device_of, get_xp, parse_device, to_device
from .function import is_tensor

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int64 = numpy.dtype("int64")
bool_ = numpy.dtype("bool")
DEFAULT_FLOAT = float32

Scalar = int | float | bool


def as_dtype(dtype: Any) -> numpy.dtype | None:
    """``None`` stays ``None``; names, NumPy dtypes and Python types become a NumPy dtype."""
    if dtype is None:
        return None
    if dtype is float:
        return DEFAULT_FLOAT
    return numpy.dtype(dtype)


def to_array(data: Any, dtype: Any = None, device: str | None = None) -> Any:
    """A fresh backend array from a Tensor, an array or (nested) Python numbers.

    Python floats become float32 (the default) and ints int64, as in PyTorch; arrays keep their dtype.
    """
    dtype = as_dtype(dtype)
    if is_tensor(data):
        data = data.data
    if hasattr(data, "__array__") or hasattr(data, "__cuda_array_interface__"):
        xp = get_xp(data)
        array = xp.array(data, dtype=dtype, copy=True)
        source = device_of(array)
    else:
        array = numpy.array(data, dtype=dtype)
        if dtype is None and array.dtype == float64:
            array = array.astype(DEFAULT_FLOAT)
        source = "cpu"
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"tensor: data of dtype {array.dtype} (from {type(data).__name__}) is not supported; expected "
            "real numbers, booleans or arrays of them (not strings, objects or complex numbers)"
        )
    target = source if device is None else parse_device(device)
    return to_device(array, target)
