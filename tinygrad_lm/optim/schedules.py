"""Learning-rate schedules: set each parameter group's ``"lr"`` from a function of the step.

Call ``scheduler.step()`` once after each ``optimizer.step()``. Constructing a scheduler already sets
the learning rates of step 0. Each group's base learning rate is remembered as ``group["initial_lr"]``
(as PyTorch does), so a scheduler built over an optimizer whose state was loaded keeps the right base.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .optimizer import Optimizer


class LRScheduler:
    """Base class: a subclass defines ``lr_at(step, group)``, the learning rate of a group at a step."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lrs = [
            float(group.setdefault("initial_lr", group["lr"])) for group in optimizer.param_groups
        ]
        self.last_step = -1
        self.step()

    def lr_at(self, step: int, group: int) -> float:
        raise NotImplementedError(f"{type(self).__name__}.lr_at is not implemented")

    def step(self) -> None:
        """Advance one step and set every group's learning rate."""
        self.last_step += 1
        self._apply()

    def _apply(self) -> None:
        for i, group in enumerate(self.optimizer.param_groups):
            group["lr"] = float(self.lr_at(self.last_step, i))

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step`` set, one per group."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer: the step, the base learning rates and the schedule's settings."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` and set the learning rates of its step."""
        expected = set(self.state_dict())
        if set(state) != expected:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected keys {sorted(expected)}, "
                f"got {sorted(state)}"
            )
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state has {len(state['base_lrs'])} base "
                f"learning rates, the optimizer {len(self.optimizer.param_groups)} parameter groups"
            )
        self.__dict__.update(state)
        self._apply()


def _per_group(value: float | Sequence[float], optimizer: Optimizer, name: str) -> list[float]:
    values = [value] * len(optimizer.param_groups) if isinstance(value, int | float) else list(value)
    if len(values) != len(optimizer.param_groups):
        raise ValueError(f"{name}: {len(values)} values for {len(optimizer.param_groups)} parameter groups")
    return [float(v) for v in values]


class WarmupCosine(LRScheduler):
    """Linear warmup, then cosine decay to ``min_lr`` (nanoGPT's schedule). With base rate ``lr``::

        lr(t) = lr * (t + 1) / (warmup_steps + 1)                        for t < warmup_steps
        lr(t) = min_lr + 0.5 * (1 + cos(pi * r)) * (lr - min_lr)          for t <= total_steps,
                    where r = (t - warmup_steps) / (total_steps - warmup_steps)
        lr(t) = min_lr                                                    for t > total_steps

    ``min_lr`` is an absolute learning rate: one number for every group, or one per group.

    ``WarmupCosine.rate`` is the same formula without an optimizer, the cosine's argument given as the
    fraction of the decay done; ``WarmupCosine.decay_fraction`` gives that fraction for a budget not
    counted in steps (tokens seen, seconds), whose last step is not known in advance.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        min_lr: float | Sequence[float] = 0.0,
    ) -> None:
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"WarmupCosine: need 0 <= warmup_steps <= total_steps, got warmup_steps={warmup_steps} "
                f"and total_steps={total_steps}"
            )
        self.warmup_steps, self.total_steps = int(warmup_steps), int(total_steps)
        self.min_lrs = _per_group(min_lr, optimizer, "WarmupCosine: min_lr")
        super().__init__(optimizer)

    def lr_at(self, step: int, group: int) -> float:
        lr, min_lr = self.base_lrs[group], self.min_lrs[group]
        if step >= self.total_steps:  # the cosine equals min_lr exactly at total_steps (>= warmup_steps)
            return min_lr
        warmup = self.warmup_steps
        ratio = 0.0 if step < warmup else (step - warmup) / (self.total_steps - warmup)
        return self.rate(step, lr, min_lr, warmup, ratio)

    @staticmethod
    def rate(step: int, lr: float, min_lr: float, warmup_steps: int, decayed: float) -> float:
        """``lr * (step + 1) / (warmup_steps + 1)`` for ``step < warmup_steps``, else the cosine
        ``min_lr + 0.5 * (1 + cos(pi * r)) * (lr - min_lr)`` with ``r`` = ``decayed`` clipped to [0, 1],
        the fraction of the decay done."""
        if step < warmup_steps:
            return lr * (step + 1) / (warmup_steps + 1)
        ratio = min(1.0, max(0.0, decayed))
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)

    @staticmethod
    def decay_fraction(progress: float, warmup_end: float) -> float:
        """The fraction of the decay done when ``progress`` (0..1) of a budget is used and warmup ended
        at progress ``warmup_end``: ``(progress - warmup_end) / (1 - warmup_end)``. With a budget of
        ``total_steps`` steps (``progress = t / total_steps``) this is ``lr_at``'s ratio up to rounding."""
        return (progress - warmup_end) / max(1.0 - warmup_end, 1e-12)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps:
    ``lr(t) = lr * gamma ** (t // step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        if gamma < 0:
            raise ValueError(f"StepLR: gamma must be >= 0, got {gamma}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def lr_at(self, step: int, group: int) -> float:
        return self.base_lrs[group] * self.gamma ** (step // self.step_size)
