"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from .optimizer import Optimizer, ParamsArg, non_negative


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's exact update equations.

    For each parameter p with gradient g, at step t (b is the momentum buffer)::

        g = g + weight_decay * p                  if weight_decay != 0
        b = g                                     at the first step,  if momentum != 0
        b = momentum * b + (1 - dampening) * g    at later steps,     if momentum != 0
        g = g + momentum * b   if nesterov   else   g = b             if momentum != 0
        p = p - lr * g

    Nesterov momentum needs ``momentum > 0`` and ``dampening == 0``. The state of a parameter is
    ``{"momentum_buffer": array}`` once momentum has been applied to it.
    """

    hyperparameter_checks = {
        "lr": (non_negative, "a number >= 0"),
        "momentum": (non_negative, "a number >= 0"),
        "dampening": (non_negative, "a number >= 0"),
        "weight_decay": (non_negative, "a number >= 0"),
    }

    def __init__(
        self,
        params: ParamsArg,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay
        )
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: nesterov=True needs momentum > 0 and dampening == 0, got "
                f"momentum={group['momentum']!r} and dampening={group['dampening']!r}"
            )

    def update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_xp(param)
        lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
        momentum, dampening = float(group["momentum"]), float(group["dampening"])
        if weight_decay != 0:
            grad = xp.multiply(param, weight_decay) + grad
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = xp.array(grad, copy=True)
            else:
                xp.multiply(buffer, momentum, out=buffer)
                buffer += grad if dampening == 0 else xp.multiply(grad, 1.0 - dampening)
            grad = xp.multiply(buffer, momentum) + grad if group["nesterov"] else buffer
        param -= xp.multiply(grad, lr)
