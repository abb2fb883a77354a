"""Optimizers against their published equations (NumPy) and against torch (schedules and clipping:
test_schedules_and_clipping.py)."""


import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import optim
from tinygrad_lm.serialization import load, save

STEPS = 6
SHAPES = [(3, 4), (5,)]


def random_problem(seed=0, dtype=np.float64):
    """Initial parameters and a sequence of gradients for each of them."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES] for _ in range(STEPS)]
    return params, grads


def run_ours(make, params, grads):
    tensors = [tg.Tensor(p.copy(), requires_grad=True) for p in params]
    optimizer = make(tensors)
    for step_grads in grads:
        for tensor, g in zip(tensors, step_grads, strict=True):
            tensor.grad = tg.Tensor(g)
        optimizer.step()
    return [t.numpy() for t in tensors], optimizer


# --------------------------------------------------------------------------- reference equations
def sgd_reference(p, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    """PyTorch's SGD, written out (torch.optim.SGD docs)."""
    p, b = p.copy(), None
    for g in grads:
        g = g + weight_decay * p
        if momentum != 0:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def adam_reference(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """Adam / AdamW as in the papers, with bias-corrected moments m_hat and v_hat."""
    (beta1, beta2), p = betas, p.copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
]
ADAM_CONFIGS = [
    dict(lr=0.01),
    dict(lr=0.03, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, betas=(0.0, 0.5)),
]


def per_param_grads(grads, i):
    return [step_grads[i] for step_grads in grads]


@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_sgd_matches_its_equations(config):
    params, grads = random_problem()
    ours, _ = run_ours(lambda ps: optim.SGD(ps, **config), params, grads)
    for i, p in enumerate(params):
        np.testing.assert_allclose(ours[i], sgd_reference(p, per_param_grads(grads, i), **config), rtol=1e-13)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("config", ADAM_CONFIGS)
def test_adam_and_adamw_match_their_equations(config, decoupled):
    cls = optim.AdamW if decoupled else optim.Adam
    config = {"weight_decay": 0.0, **config}
    params, grads = random_problem(1)
    ours, _ = run_ours(lambda ps: cls(ps, **config), params, grads)
    for i, p in enumerate(params):
        expected = adam_reference(p, per_param_grads(grads, i), decoupled=decoupled, **config)
        np.testing.assert_allclose(ours[i], expected, rtol=1e-12)


def test_adamw_default_weight_decay_is_decoupled():
    params, grads = random_problem(2)
    ours, _ = run_ours(lambda ps: optim.AdamW(ps, lr=0.01), params, grads)
    expected = adam_reference(params[0], per_param_grads(grads, 0), 0.01, weight_decay=1e-2, decoupled=True)
    np.testing.assert_allclose(ours[0], expected, rtol=1e-12)


def test_parameter_groups_have_their_own_hyperparameters():
    params, grads = random_problem(3)

    def make(ps):
        groups = [{"params": [ps[0]], "weight_decay": 0.1}, {"params": [ps[1]], "lr": 0.05}]
        return optim.AdamW(groups, lr=0.01, weight_decay=0.0)

    ours, optimizer = run_ours(make, params, grads)
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, 0.05]
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1, 0.0]
    first = adam_reference(params[0], per_param_grads(grads, 0), 0.01, weight_decay=0.1, decoupled=True)
    second = adam_reference(params[1], per_param_grads(grads, 1), 0.05, decoupled=True)
    np.testing.assert_allclose(ours[0], first, rtol=1e-12)
    np.testing.assert_allclose(ours[1], second, rtol=1e-12)


# --------------------------------------------------------------------------- against torch
TORCH_CASES = [("SGD", c) for c in SGD_CONFIGS] + [
    (name, c) for name in ("Adam", "AdamW") for c in ADAM_CONFIGS + [dict(lr=0.02, weight_decay=0.3)]
]


@pytest.mark.parametrize(("name", "config"), TORCH_CASES)
def test_optimizers_match_torch(name, config):
    torch = pytest.importorskip("torch")
    params, grads = random_problem(4)
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": config["lr"] / 2}]
    ours, _ = run_ours(lambda ps: getattr(optim, name)(groups(ps), **config), params, grads)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    optimizer = getattr(torch.optim, name)(groups(theirs), **config)
    for step_grads in grads:
        for tensor, g in zip(theirs, step_grads, strict=True):
            tensor.grad = torch.tensor(g)
        optimizer.step()
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference.detach().numpy(), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- dtypes and in-place updates
OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5),
    lambda ps: optim.Adam(ps, lr=np.float64(0.01), betas=(np.float64(0.9), 0.99), weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=np.float64(0.1)),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_float32_parameters_stay_float32_and_are_updated_in_place(make):
    params, grads = random_problem(5, dtype=np.float32)
    tensors = [tg.Tensor(p, requires_grad=True) for p in params]
    arrays = [t.data for t in tensors]
    optimizer = make(tensors)
    for step_grads in grads:
        for tensor, g in zip(tensors, step_grads, strict=True):
            tensor.grad = tg.Tensor(g)
        optimizer.step()
    for tensor, array in zip(tensors, arrays, strict=True):
        assert tensor.data is array and tensor.dtype == np.float32
    for state in optimizer.state.values():
        assert all(v.dtype == np.float32 for v in state.values() if hasattr(v, "dtype"))
    # and the float32 result is the float64 one, rounded along the way
    as64 = [p.astype(np.float64) for p in params]
    grads64 = [[g.astype(np.float64) for g in step] for step in grads]
    reference, _ = run_ours(make, as64, grads64)
    for tensor, expected in zip(tensors, reference, strict=True):
        np.testing.assert_allclose(tensor.numpy(), expected, rtol=2e-5, atol=1e-6)


def test_step_uses_autograd_gradients_and_skips_parameters_without_one():
    w = tg.Tensor([1.0, -2.0], requires_grad=True)
    unused = tg.Tensor([5.0], requires_grad=True)
    optimizer = optim.SGD([w, unused], lr=0.5)
    loss = optimizer.step(lambda: (w * w).sum())
    assert loss is not None and w.grad is None  # the closure only computes the loss
    (w * w).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])  # w - 0.5 * 2w
    np.testing.assert_array_equal(unused.numpy(), [5.0])
    optimizer.zero_grad()
    assert w.grad is None and unused.grad is None


def test_momentum_buffer_does_not_alias_a_shared_gradient():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    b = tg.Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # the engine may hand a and b the same gradient array
    optimizer = optim.SGD([a, b], lr=0.1, momentum=0.9)
    optimizer.step()
    optimizer.step()
    np.testing.assert_allclose(a.numpy(), [1.0 - 0.1 - 0.19, 2.0 - 0.1 - 0.19])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


# --------------------------------------------------------------------------- errors
def test_constructor_errors_are_clear():
    w = tg.Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"Adam: parameter 0 of group 0 has dtype int64"):
        optim.Adam([tg.Tensor([1, 2])])
    with pytest.raises(ValueError, match="already in group 0"):
        optim.AdamW([{"params": [w]}, {"params": [w]}])
    with pytest.raises(ValueError, match="already earlier in this group"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: invalid lr=-0\.1; expected a number >= 0"):
        optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match=r"Adam: invalid betas=\(0\.9, 1\.0\)"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"AdamW: invalid eps=-1"):
        optim.AdamW([w], eps=-1)
    with pytest.raises(ValueError, match="Adam: invalid weight_decay=-0.5"):
        optim.Adam([{"params": [w], "weight_decay": -0.5}])
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="not a Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([w * 2], lr=0.1)


# --------------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("make", OPTIMIZERS)
def test_state_dict_round_trip_resumes_bit_for_bit(make, tmp_path):
    params, grads = random_problem(6, dtype=np.float32)
    straight, _ = run_ours(make, params, grads)
    halfway, optimizer = run_ours(make, params, grads[:3])
    save(optimizer.state_dict(), tmp_path / "opt.npz")
    tensors = [tg.Tensor(p, requires_grad=True) for p in halfway]
    fresh = make(tensors)
    fresh.load_state_dict(load(tmp_path / "opt.npz"))
    for step_grads in grads[3:]:
        for tensor, g in zip(tensors, step_grads, strict=True):
            tensor.grad = tg.Tensor(g)
        fresh.step()
    for tensor, expected in zip(tensors, straight, strict=True):
        np.testing.assert_array_equal(tensor.numpy(), expected)


def test_load_state_dict_copies_and_checks():
    w = tg.Tensor(np.ones((2, 2)), requires_grad=True)
    optimizer = optim.Adam([w], lr=0.1)
    w.grad = tg.Tensor(np.ones((2, 2)))
    optimizer.step()
    state = optimizer.state_dict()
    assert state["state"][0]["step"] == 1 and state["param_groups"][0]["params"] == [0]
    other = optim.Adam([tg.Tensor(np.ones((2, 2)), requires_grad=True)], lr=0.5)
    other.load_state_dict(state)
    assert other.param_groups[0]["lr"] == 0.1
    assert other.state[0]["exp_avg"] is not optimizer.state[0]["exp_avg"]
    np.testing.assert_array_equal(other.state[0]["exp_avg"], optimizer.state[0]["exp_avg"])
    two = optim.Adam([w, tg.Tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state and 2 in this optimizer"):
        two.load_state_dict(state)
    stray = {**state, "state": {5: state["state"][0]}}
    with pytest.raises(ValueError, match="state for parameter 5, which no saved group lists"):
        other.load_state_dict(stray)
    wrong_shape = optim.Adam([tg.Tensor(np.ones(3), requires_grad=True)])
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 has shape \(2, 2\)"):
        wrong_shape.load_state_dict(state)
