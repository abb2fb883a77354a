"""Optimizers, learning-rate schedules and gradient clipping.

Typical training step::

    optimizer = optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    scheduler = optim.WarmupCosine(optimizer, warmup_steps=100, total_steps=5000, min_lr=3e-5)
    for batch in batches:
        loss = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
"""

from .adam import Adam, AdamW
from .clip import clip_grad_norm_
from .optimizer import Optimizer
from .schedules import LRScheduler, StepLR, WarmupCosine
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "LRScheduler", "Optimizer", "StepLR", "WarmupCosine", "clip_grad_norm_"]
