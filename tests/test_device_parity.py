"""The same training on the CPU and on ``--device`` (cuda: needs CuPy and a GPU), and the device paths
that replace host-side value checks (``tests/test_device_syncs.py`` runs those on simulated device
arrays; these run them on a real GPU). With ``--device cpu`` each compares the CPU with itself."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import optim
from zoo.models import GPT, LSTMLM, GPTConfig, RecurrentConfig
from zoo.train import TrainConfig, Trainer

V = 13
IDS = np.random.default_rng(1).integers(0, V, 4000)


def losses_on(device: str, build, steps: int = 3) -> list[float]:
    tg.manual_seed(0)
    config = TrainConfig(batch_size=4, max_steps=10, warmup_steps=2, device=device)
    trainer = Trainer(build().to(device), IDS, IDS, config)
    return [trainer.train_step() for _ in range(steps)]


@pytest.mark.parametrize(
    "build",
    [
        lambda: GPT(
            GPTConfig(vocab_size=V, context_length=8, n_layers=2, n_heads=2, d_model=16, dropout=0.1)
        ),
        lambda: LSTMLM(RecurrentConfig(vocab_size=V, context_length=8, d_embed=8, d_hidden=16)),
    ],
    ids=["gpt", "lstm"],
)
def test_training_steps_match_the_cpu(device, build):
    np.testing.assert_allclose(losses_on(device, build), losses_on("cpu", build), rtol=1e-5)


def test_an_out_of_range_target_raises_on_the_cpu_and_makes_nan_on_a_gpu(device):
    logits = tg.randn(4, 5, device=device, requires_grad=True)
    targets = tg.tensor([0, 1, 7, -100], device=device)
    if device == "cpu":
        with pytest.raises(IndexError, match=r"\[0, 7\]"):
            tg.functional.cross_entropy(logits, targets)
        return
    loss = tg.functional.cross_entropy(logits, targets)
    loss.backward()
    assert np.isnan(loss.item()) and np.isnan(logits.grad.numpy()).all()
    fine = tg.functional.cross_entropy(logits, tg.tensor([0, 1, 4, -100], device=device))
    expected = tg.functional.cross_entropy(logits.to("cpu"), tg.tensor([0, 1, 4, -100]))
    assert fine.item() == pytest.approx(expected.item(), rel=1e-6)


def test_an_out_of_range_embedding_index_raises_on_the_cpu_and_makes_nan_rows_on_a_gpu(device):
    weight = tg.randn(5, 3, device=device, requires_grad=True)
    index = tg.tensor([[0, 9], [4, -1]], device=device)
    if device == "cpu":
        with pytest.raises(IndexError, match=r"\[-1, 9\]"):
            tg.functional.embedding(index, weight)
        return
    rows = tg.functional.embedding(index, weight)
    rows.sum().backward()
    values = rows.numpy()
    assert np.isnan(values[:, 1]).all() and not np.isnan(values[:, 0]).any()
    np.testing.assert_array_equal(weight.grad.numpy().sum(axis=1), [3, 0, 0, 0, 3])


def test_clipping_matches_the_cpu(device):
    grads = [np.array([3.0, 4.0], np.float32), np.array([[12.0]], np.float32)]
    results = {}
    for where in ("cpu", device):
        params = [tg.zeros(*g.shape, device=where, requires_grad=True) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = tg.tensor(g, device=where)
        total = optim.clip_grad_norm_(params, 6.5)
        results[where] = (float(total), [p.grad.numpy() for p in params])
    assert results[device][0] == results["cpu"][0] == 13.0
    for a, b in zip(results[device][1], results["cpu"][1], strict=True):
        np.testing.assert_array_equal(a, b)
