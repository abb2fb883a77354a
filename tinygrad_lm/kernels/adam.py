"""Adam's and AdamW's update as one compiled loop: ``optim.adam.Adam.update``.

Per element, with the scalars already cast to the parameters' dtype (as NumPy casts Python floats),
in the order of the NumPy update so that the two agree to the last bit:

    p = p (1 - lr wd)  (AdamW)   or   g = p wd + g  (Adam)
    m = m beta1 + g (1 - beta1),   v = v beta2 + g g (1 - beta2)
    p = p - m / (sqrt(v) / sqrt(1 - beta2^t) + eps) * (lr / (1 - beta1^t))

NumPy makes ten passes over the parameters and four arrays of state; this is one.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .compiled import loops


@loops()
def _update(p, g, m, v, decay, l2, beta1, beta2, keep1, keep2, bias2, eps, step):
    one = p.dtype.type(1.0)
    for i in prange(p.size):
        grad = g[i]
        if l2 != 0:
            grad = p[i] * l2 + grad
        if decay != one:
            p[i] = p[i] * decay
        m[i] = m[i] * beta1 + grad * keep1
        v[i] = v[i] * beta2 + grad * grad * keep2
        p[i] = p[i] - m[i] / (np.sqrt(v[i]) / bias2 + eps) * step


def adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    decoupled: bool,
    t: int,
) -> bool:
    """Update param, m, v in place for step t; False (nothing written) unless all are contiguous."""
    arrays = (param, grad, m, v)
    if any(not a.flags.c_contiguous or a.shape != param.shape for a in arrays):
        return False
    cast = param.dtype.type
    beta1, beta2 = betas
    _update(
        *(a.reshape(-1) for a in arrays),
        cast(1.0 - lr * weight_decay if decoupled else 1.0),
        cast(0.0 if decoupled else weight_decay),
        cast(beta1),
        cast(beta2),
        cast(1.0 - beta1),
        cast(1.0 - beta2),
        cast(math.sqrt(1.0 - beta2**t)),
        cast(eps),
        cast(lr / (1.0 - beta1**t)),
    )
    return True
