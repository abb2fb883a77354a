"""``TensorValues``: what a Tensor is as plain values, outside any graph (the base of ``Tensor``).

Conversions to Python and NumPy (``item``, ``numpy``, ``tolist``, ``numpy.asarray(t)``, DLPack,
``float``/``int``/``bool``/``len``/iteration, the repr) and the non-differentiable comparisons, logic
and arg-extremes. None of them records an op; each returns a plain array's worth of values or a new
Tensor without a graph (``_from_array``). ``tensor.py`` holds the differentiable methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy

from .backend import asnumpy, dlpack_capsule, get_xp
from .dtypes import Scalar, bool_, float32, int64
from .shapes import Axes, broadcast_shapes, normalize_axis

if TYPE_CHECKING:
    from .tensor import Tensor


class TensorValues:
    """The value-level methods of ``Tensor`` (see the module docstring); no state of its own."""

    __slots__ = ()

    # ----------------------------------------------------------------------------- as values
    def item(self) -> Scalar:
        if self.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number, not {self.shape}")
        return self.data.item()

    def numpy(self) -> numpy.ndarray:
        """The values as a NumPy array (a copy from the GPU; detached from the graph)."""
        return asnumpy(self.data)

    def tolist(self) -> Any:
        return self.numpy().tolist()

    # NumPy and DLPack (backend.py): the values only, shared, never a gradient
    def __dlpack__(self, **options: Any) -> Any:
        """A DLPack capsule sharing this tensor's memory (``torch.from_dlpack(t)``); ``options`` are
        the consumer's (``stream``, ``max_version``, ``dl_device``, ``copy``)."""
        return dlpack_capsule(self.data, **options)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.data.__dlpack_device__()

    def __repr__(self) -> str:
        body = numpy.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4, threshold=200)
        extras = []
        if self.dtype not in (float32, int64, bool_):
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.creator is not None:
            extras.append(f"creator={type(self.creator).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any()/.all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # ----------------------------------------------------------------------------- comparisons, logic
    def _compare(self, other: Any, name: str) -> Tensor:
        other = self._lift(other)
        broadcast_shapes(self.shape, other.shape, op=name)
        return self._from_array(getattr(get_xp(self.data), name)(self.data, other.data))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, "less")

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, "less_equal")

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, "greater")

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, "greater_equal")

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "equal")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "not_equal")

    def __invert__(self) -> Tensor:
        return self._from_array(~self.data)

    def __and__(self, other: Any) -> Tensor:
        return self._from_array(self.data & self._lift(other).data)

    def __or__(self, other: Any) -> Tensor:
        return self._from_array(self.data | self._lift(other).data)

    def any(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return self._from_array(self.data.any(axis=axis, keepdims=keepdims))

    def all(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return self._from_array(self.data.all(axis=axis, keepdims=keepdims))

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self._arg_extreme("argmax", axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self._arg_extreme("argmin", axis, keepdims)

    def _arg_extreme(self, name: str, axis: int | None, keepdims: bool) -> Tensor:
        if axis is not None:
            axis = normalize_axis(axis, self.ndim, name, self.shape)
        if self.shape[axis] == 0 if axis is not None else self.size == 0:
            raise ValueError(f"{name}: of an empty tensor (shape {self.shape}, axis {axis}) is undefined")
        found = getattr(self.data, name)(axis=axis, keepdims=keepdims)
        return self._from_array(get_xp(self.data).asarray(found, dtype=int64))
