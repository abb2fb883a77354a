"""Gradient clipping by the global norm of all gradients together."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..backend import get_xp
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


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    As PyTorch: ``total = (sum_p ||g_p||^q)^(1/q)`` over the parameters that have a gradient
    (``max_p max|g_p|`` for ``norm_type=inf``), and when ``c = max_norm / (total + 1e-6) < 1`` every
    gradient becomes ``c * g``. Returns ``total``, the norm before clipping (``0.0`` when no
    parameter has a gradient). A non-finite gradient makes ``total`` inf or nan: with inf every
    gradient is multiplied by 0, with nan none is changed; check the returned value to skip a step.

    Each clipped ``.grad`` is a fresh array, not scaled in place: the autograd engine may share one
    gradient array between several parameters (``a + b`` hands both the same one).
    """
    norm_type = float(norm_type)
    if not (norm_type > 0):
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    params = [p for p in params if p.grad is not None]
    if not params:
        return 0.0
    grads = [p.grad.data for p in params]
    norms = get_xp(grads[0]).stack([_vector_norm(g, norm_type) for g in grads])
    total = float(_vector_norm(norms, norm_type))
    coefficient = float(max_norm) / (total + 1e-6)
    if coefficient < 1.0:
        for param, grad in zip(params, grads, strict=True):
            param.grad = constant(grad * coefficient)
    return total
