"""Learning-rate schedules and gradient clipping against their published formulas and against torch."""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import optim
from tinygrad_lm.serialization import load, save


# --------------------------------------------------------------------------- schedules
def nanogpt_lr(it, lr, warmup, total, min_lr):
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > total:
        return min_lr
    ratio = (it - warmup) / (total - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def two_group_optimizer():
    a, b = tg.Tensor([1.0], requires_grad=True), tg.Tensor([2.0], requires_grad=True)
    return optim.AdamW([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0)


def test_warmup_cosine_follows_nanogpt_formula():
    optimizer = two_group_optimizer()
    scheduler = optim.WarmupCosine(optimizer, warmup_steps=5, total_steps=20, min_lr=0.1)
    for it in range(30):
        expected = [nanogpt_lr(it, base, 5, 20, 0.1) for base in (1.0, 0.5)]
        assert scheduler.get_last_lr() == pytest.approx(expected, rel=1e-15, abs=0)
        scheduler.step()
    assert scheduler.get_last_lr() == [0.1, 0.1]


def former_warmup_cosine_lr_at(step, lr, min_lr, warmup_steps, total_steps):
    """WarmupCosine.lr_at before it was written through WarmupCosine.rate (the reference)."""
    if step < warmup_steps:
        return lr * (step + 1) / (warmup_steps + 1)
    if step >= total_steps:
        return min_lr
    ratio = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


@pytest.mark.parametrize("warmup, total", [(0, 0), (0, 1), (5, 5), (5, 20), (100, 2000), (3, 1000)])
def test_warmup_cosine_equals_its_former_formula_bit_for_bit(warmup, total):
    optimizer = two_group_optimizer()
    scheduler = optim.WarmupCosine(optimizer, warmup_steps=warmup, total_steps=total, min_lr=[0.1, 1e-4])
    for it in range(total + 10):
        expected = [former_warmup_cosine_lr_at(it, b, m, warmup, total) for b, m in ((1.0, 0.1), (0.5, 1e-4))]
        assert scheduler.get_last_lr() == expected
        scheduler.step()


def test_warmup_cosine_rate_by_budget_fraction():
    rate, fraction = optim.WarmupCosine.rate, optim.WarmupCosine.decay_fraction
    assert rate(1, 1.0, 0.1, 4, 0.0) == 2 / 5  # warmup ignores the fraction
    assert rate(4, 1.0, 0.1, 4, fraction(0.25, 0.25)) == 1.0  # the cosine starts where warmup ended
    assert rate(9, 1.0, 0.1, 4, fraction(1.5, 0.25)) == 0.1  # past the budget: the floor
    assert rate(9, 1.0, 0.1, 4, fraction(0.625, 0.25)) == pytest.approx(0.55)  # half-way through the decay


def test_warmup_cosine_per_group_min_lr_and_no_warmup():
    optimizer = two_group_optimizer()
    scheduler = optim.WarmupCosine(optimizer, warmup_steps=0, total_steps=4, min_lr=[0.0, 0.05])
    assert scheduler.get_last_lr() == [1.0, 0.5]
    for _ in range(4):
        scheduler.step()
    assert scheduler.get_last_lr() == [0.0, 0.05]
    with pytest.raises(ValueError, match="warmup_steps <= total_steps"):
        optim.WarmupCosine(optimizer, warmup_steps=5, total_steps=4)


def test_step_lr_follows_its_formula():
    optimizer = two_group_optimizer()
    scheduler = optim.StepLR(optimizer, step_size=3, gamma=0.5)
    for it in range(10):
        assert scheduler.get_last_lr() == [1.0 * 0.5 ** (it // 3), 0.5 * 0.5 ** (it // 3)]
        scheduler.step()


def test_scheduler_state_round_trip(tmp_path):
    optimizer = two_group_optimizer()
    scheduler = optim.WarmupCosine(optimizer, warmup_steps=3, total_steps=10, min_lr=0.01)
    for _ in range(5):
        scheduler.step()
    save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "s.npz")
    state = load(tmp_path / "s.npz")
    fresh_optimizer = two_group_optimizer()
    fresh = optim.WarmupCosine(fresh_optimizer, warmup_steps=3, total_steps=10, min_lr=0.01)
    fresh_optimizer.load_state_dict(state["optimizer"])
    fresh.load_state_dict(state["scheduler"])
    for _ in range(7):
        assert fresh.get_last_lr() == scheduler.get_last_lr()
        scheduler.step()
        fresh.step()
    with pytest.raises(ValueError, match="expected keys"):
        fresh.load_state_dict({"last_step": 3})


# --------------------------------------------------------------------------- clipping
def grads_of(values):
    params = []
    for value in values:
        p = tg.Tensor(np.zeros_like(value), requires_grad=True)
        p.grad = tg.Tensor(value)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_follows_its_formula(norm_type):
    rng = np.random.default_rng(7)
    values = [rng.standard_normal((4, 3)), rng.standard_normal(5)]
    params = grads_of(values) + [tg.Tensor([1.0], requires_grad=True)]  # the last has no grad
    flat = np.concatenate([v.ravel() for v in values])
    expected = (
        np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    )
    total = optim.clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
    assert isinstance(total, float) and total == pytest.approx(expected, rel=1e-12)
    for p, v in zip(params, values, strict=False):
        np.testing.assert_allclose(p.grad.numpy(), v * 0.5 / (expected + 1e-6), rtol=1e-12)
    assert params[-1].grad is None


def test_clip_grad_norm_leaves_small_gradients_and_keeps_dtype():
    params = grads_of([np.array([0.3, 0.4], dtype=np.float32)])
    before = params[0].grad
    assert optim.clip_grad_norm_(params, max_norm=1.0) == pytest.approx(0.5, rel=1e-6)
    assert params[0].grad is before
    assert optim.clip_grad_norm_(params, max_norm=0.1) == pytest.approx(0.5, rel=1e-6)
    assert params[0].grad.dtype == np.float32
    np.testing.assert_allclose(params[0].grad.numpy(), [0.06, 0.08], rtol=1e-5)
    assert optim.clip_grad_norm_([tg.Tensor([1.0], requires_grad=True)], 1.0) == 0.0


def test_clip_grad_norm_with_a_shared_gradient_scales_each_once():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    b = tg.Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(2.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.5], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.5], rtol=1e-5)


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    values = [rng.standard_normal((6, 2)) * 3, rng.standard_normal(4)]
    params = grads_of(values)
    theirs = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in values]
    for t, v in zip(theirs, values, strict=True):
        t.grad = torch.tensor(v)
    total = optim.clip_grad_norm_(params, 1.5, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    for p, t in zip(params, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)
