"""Post-accumulate gradient hooks: each runs once per backward, after the leaf's last contribution."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import grad_hooks


def recorder(log):
    def hook(leaf):
        log.append(leaf.grad.numpy().copy())

    return hook


def test_hook_sees_the_complete_gradient_of_a_leaf_used_many_times():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(recorder(seen))
    # w is used four times, on paths of different depth: d/dw sum(w*w + 3w + w) = 2w + 4
    y = (w * w + ((w * 3.0).exp().log()) + w).sum()
    y.backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 2 * np.array([1.0, 2.0]) + 4, rtol=1e-12)


def test_hook_runs_once_per_backward_and_sees_the_accumulated_grad():
    w = tg.tensor([1.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(recorder(seen))
    (w * 2.0).sum().backward()
    (w * 5.0).sum().backward()
    assert [s.tolist() for s in seen] == [[2.0], [7.0]]


def test_hooks_fire_in_the_order_gradients_become_final():
    first, last = tg.tensor([1.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    order = []
    first.register_post_accumulate_grad_hook(lambda t: order.append("first"))
    last.register_post_accumulate_grad_hook(lambda t: order.append("last"))
    h = (first * 2.0).exp()  # `first` sits deep in the graph, `last` near the output
    (h * last).sum().backward()
    assert order == ["last", "first"]


def test_removed_hook_and_unreached_leaf_are_not_called():
    w, unused = tg.tensor([1.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda t: calls.append("w"))
    unused.register_post_accumulate_grad_hook(lambda t: calls.append("unused"))
    (w * 2.0).sum().backward()
    handle.remove()
    (w * 2.0).sum().backward()
    assert calls == ["w"]


def test_grad_does_not_run_hooks_and_a_dead_leaf_leaves_no_entry():
    w = tg.tensor([1.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    tg.grad((w * 2.0).sum(), w)
    assert calls == []
    key = id(w)
    del w
    assert key not in grad_hooks._HOOKS


def test_root_leaf_hook():
    w = tg.tensor(3.0, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(recorder(seen))
    w.backward()
    assert [s.tolist() for s in seen] == [1.0]


def test_only_leaves_that_require_grad_take_hooks():
    with pytest.raises(RuntimeError, match="only a leaf tensor that requires grad"):
        tg.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)
    w = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only a leaf tensor"):
        (w * 2.0).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="must be callable"):
        w.register_post_accumulate_grad_hook(3)
