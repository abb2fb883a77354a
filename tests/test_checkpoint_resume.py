"""Training, checkpointing and resuming in a fresh process state gives bit-identical losses."""

from dataclasses import dataclass

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import nn, optim
from tinygrad_lm.serialization import load, save

TOTAL_STEPS = 12
MAX_NORM = 0.8
W_TRUE = tg.Tensor([[0.5, -1.0, 2.0, 0.25]])


@dataclass
class Run:
    model: nn.Module
    optimizer: optim.Optimizer
    scheduler: optim.LRScheduler
    data_rng: tg.Generator
    dropout_rng: tg.Generator


def adamw_warmup_cosine(model):
    named = list(model.named_parameters())
    groups = [
        {"params": [p for name, p in named if name.endswith("weight")], "weight_decay": 0.1},
        {"params": [p for name, p in named if name.endswith("bias")], "weight_decay": 0.0},
    ]
    optimizer = optim.AdamW(groups, lr=3e-2)
    return optimizer, optim.WarmupCosine(optimizer, warmup_steps=3, total_steps=TOTAL_STEPS, min_lr=3e-3)


def sgd_step_lr(model):
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    return optimizer, optim.StepLR(optimizer, step_size=4, gamma=0.5)


def new_run(seed, make_optimizer):
    """A model, optimizer, schedule and generators, all seeded from ``seed``."""
    init, dropout_rng = tg.Generator(seed), tg.Generator(seed + 1)
    model = nn.Sequential(
        nn.Linear(4, 16, generator=init),
        nn.Tanh(),
        nn.Dropout(0.1, generator=dropout_rng),
        nn.Linear(16, 1, generator=init),
    )
    optimizer, scheduler = make_optimizer(model)
    return Run(model, optimizer, scheduler, tg.Generator(seed + 2), dropout_rng)


def train_step(run, clipped):
    x = tg.Tensor(run.data_rng.normal((32, 4), np.float32, "cpu"))
    y = (x * W_TRUE).sum(axis=1, keepdims=True).tanh()
    loss = ((run.model(x) - y) ** 2).mean()
    run.optimizer.zero_grad()
    loss.backward()
    clipped.append(optim.clip_grad_norm_(run.model.parameters(), MAX_NORM) > MAX_NORM)
    run.optimizer.step()
    run.scheduler.step()
    return loss.item()


def checkpoint(run, step):
    return {
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "rng": {"data": run.data_rng.get_state(), "dropout": run.dropout_rng.get_state()},
        "step": step,
        "config": {"hidden": 16, "max_norm": MAX_NORM, "note": "resume test"},
    }


def restore(run, state):
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.data_rng.set_state(state["rng"]["data"])
    run.dropout_rng.set_state(state["rng"]["dropout"])
    return state["step"]


def parameters(run):
    return [p.numpy().copy() for p in run.model.parameters()]


@pytest.mark.parametrize("make_optimizer", [adamw_warmup_cosine, sgd_step_lr])
@pytest.mark.parametrize("interrupt_at", [1, 5, 11])
def test_resumed_training_is_bit_identical(tmp_path, make_optimizer, interrupt_at):
    clipped = []
    straight = new_run(0, make_optimizer)
    expected = [train_step(straight, clipped) for _ in range(TOTAL_STEPS)]

    first = new_run(0, make_optimizer)
    losses = [train_step(first, clipped) for _ in range(interrupt_at)]
    save(checkpoint(first, interrupt_at), tmp_path / "ckpt.npz")
    del first

    resumed = new_run(1234, make_optimizer)  # everything different until the checkpoint is loaded
    assert not np.array_equal(parameters(resumed)[0], parameters(straight)[0])
    start = restore(resumed, load(tmp_path / "ckpt.npz"))
    losses += [train_step(resumed, clipped) for _ in range(start, TOTAL_STEPS)]

    assert losses == expected
    for mine, reference in zip(parameters(resumed), parameters(straight), strict=True):
        np.testing.assert_array_equal(mine, reference)
    assert resumed.scheduler.get_last_lr() == straight.scheduler.get_last_lr()
    assert any(clipped) and not all(clipped)  # clipping was exercised both ways


def test_checkpoint_every_step_chain(tmp_path):
    """Save and reload into a fresh run after every single step: still the uninterrupted losses."""
    clipped = []
    straight = new_run(0, adamw_warmup_cosine)
    expected = [train_step(straight, clipped) for _ in range(6)]
    run, losses = new_run(0, adamw_warmup_cosine), []
    for step in range(6):
        losses.append(train_step(run, clipped))
        save(checkpoint(run, step + 1), tmp_path / "ckpt.npz")  # overwrites atomically
        run = new_run(step + 100, adamw_warmup_cosine)
        restore(run, load(tmp_path / "ckpt.npz"))
    assert losses == expected
