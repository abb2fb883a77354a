"""Gradient clipping by the global norm of all gradients together."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from ..backend import get_xp, is_host_array
from ..function import constant
from ..tensor import Tensor


def _vector_norm(array: Any, norm_type: float) -> Any:
    """||array||_p of the flattened array, as a 0-d array on its device (0 for an empty one)."""
    xp = get_xp(array)
    flat = array.ravel()
    if flat.size == 0:
        return xp.zeros((), dtype=array.dtype)
    if norm_type == math.inf:
        return xp.abs(flat).max()
    return xp.linalg.norm(flat, ord=norm_type)


def _clip_on_device(params: list[Tensor], grads: list[Any], total: Any, max_norm: float) -> Tensor:
    """``clip_grad_norm_`` without reading the norm back: the coefficient min(c, 1) is applied on the
    device to every gradient (a product by 1 changes nothing), c not < 1 (nan) counting as 1. c is
    computed in float64 and rounded to the gradients' dtype, as the host path's Python float is."""
    xp = get_xp(total)
    coefficient = float(max_norm) / (total.astype(xp.float64) + 1e-6)
    coefficient = xp.where(coefficient < 1.0, coefficient, 1.0)
    rounded: dict[Any, Any] = {}  # the coefficient in each gradient dtype, cast once
    for param, grad in zip(params, grads, strict=True):
        if grad.dtype not in rounded:
            rounded[grad.dtype] = coefficient.astype(grad.dtype)
        param.grad = constant(grad * rounded[grad.dtype])
    return constant(total)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0
) -> float | Tensor:
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    As PyTorch: ``total = (sum_p ||g_p||^q)^(1/q)`` over the parameters that have a gradient
    (``max_p max|g_p|`` for ``norm_type=inf``), and when ``c = max_norm / (total + 1e-6) < 1`` every
    gradient becomes ``c * g``. Returns ``total``, the norm before clipping (``0.0`` when no
    parameter has a gradient). A non-finite gradient makes ``total`` inf or nan: with inf every
    gradient is multiplied by 0, with nan none is changed; check the returned value to skip a step.

    On a device (CuPy arrays) the norm is not read back, which would wait for the GPU: every gradient
    is multiplied by min(c, 1) there and ``total`` is returned as a 0-d Tensor on the device
    (``float(total)`` reads it when wanted).

    Each clipped ``.grad`` is a fresh array, not scaled in place: the autograd engine may share one
    gradient array between several parameters (``a + b`` hands both the same one).
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(
            f"clip_grad_norm_: max_norm must be a number > 0 (or inf: no clipping), got {max_norm!r}; "
            "a negative one would reverse every gradient"
        )
    norm_type = float(norm_type)
    if not (norm_type > 0):
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    params = [p for p in params if p.grad is not None]
    if not params:
        return 0.0
    grads = [p.grad.data for p in params]
    norms = get_xp(grads[0]).stack([_vector_norm(g, norm_type) for g in grads])
    if not is_host_array(norms):
        return _clip_on_device(params, grads, _vector_norm(norms, norm_type), max_norm)
    total = float(_vector_norm(norms, norm_type))
    coefficient = float(max_norm) / (total + 1e-6)
    if coefficient < 1.0:
        for param, grad in zip(params, grads, strict=True):
            param.grad = constant(grad * coefficient)
    return total
