"""Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay): one update."""

from __future__ import annotations

import math
from typing import Any

from ..backend import get_xp
from ..kernels import kernels_for
from .optimizer import Optimizer, ParamsArg, non_negative, pair_in_unit_interval


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with PyTorch's bias correction and L2 weight decay.

    For each parameter p with gradient g, at its step t = 1, 2, ... (m, v start at zero)::

        g = g + weight_decay * p                       (Adam: L2 penalty in the gradient)
        p = p - lr * weight_decay * p                  (AdamW: decoupled, before the Adam step)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The decoupled decay is computed as ``p = p * (1 - lr * weight_decay)``, as PyTorch does. The state
    of a parameter is ``{"step": t, "exp_avg": m, "exp_avg_sq": v}``. Every operation is
    an in-place array operation with Python-float scalars, so float32 parameters stay float32.
    """

    decoupled_weight_decay = False
    hyperparameter_checks = {
        "lr": (non_negative, "a number >= 0"),
        "betas": (pair_in_unit_interval, "a pair (beta1, beta2), each in [0, 1)"),
        "eps": (non_negative, "a number >= 0"),
        "weight_decay": (non_negative, "a number >= 0"),
    }

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def flattening_pays(self, group: dict[str, Any]) -> bool:
        """Not with the compiled update: on the GPT benchmark's AdamW step, 1.3 ms per parameter
        against 2.5 ms over flat buffers (``benchmarks/bench_compiled.py --optimizer``): gathering and
        scattering them is the difference."""
        first = group["params"][0].data
        return kernels_for("adam", first) is None

    def init_state(self, param: Any) -> dict[str, Any]:
        xp = get_xp(param)
        return {"step": 0, "exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}

    def update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_xp(param)
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        state["step"] = t = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        fast = kernels_for("adam", param, grad, m, v)
        if fast is not None and fast.adam_update(
            param, grad, m, v, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
            decoupled=self.decoupled_weight_decay, t=t,
        ):  # fmt: skip
            return  # the same update as one compiled loop (kernels/adam.py)
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                xp.multiply(param, 1.0 - lr * weight_decay, out=param)
            else:
                grad = xp.multiply(param, weight_decay) + grad
        scratch = xp.multiply(grad, 1.0 - beta1, out=xp.empty_like(param))  # an array even when 0-d
        xp.multiply(m, beta1, out=m)
        m += scratch
        xp.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - beta2
        xp.multiply(v, beta2, out=v)
        v += scratch
        xp.sqrt(v, out=scratch)
        scratch /= math.sqrt(1.0 - beta2**t)
        scratch += eps
        xp.divide(m, scratch, out=scratch)
        scratch *= lr / (1.0 - beta1**t)
        param -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``p = p - lr * weight_decay * p``
    before the Adam step, instead of adding ``weight_decay * p`` to the gradient. See ``Adam``."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsArg,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
