"""Version counters: backward refuses to use values overwritten in place after an op saved them."""

import numpy
import pytest

import tinygrad_lm as tg
from tinygrad_lm import nn, optim

MODIFIED = "modified by an in-place operation"


def cube_sum(x):
    return (x * x * x).sum()


def test_write_under_no_grad_after_forward_makes_backward_raise():
    x = tg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    y = cube_sum(x)
    with tg.no_grad():
        x[0] = 5.0
    expected = rf"backward of mul: input \d \(shape \(3,\), float64\) was {MODIFIED}"
    with pytest.raises(RuntimeError, match=expected):
        y.backward()
    assert x.grad is None


def test_message_names_the_versions():
    x = tg.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    y = (x * x).sum()
    with tg.no_grad():
        x[1] = 3.0
    expected = rf"at version {x._version}, mul saved it at version \d+ or earlier"
    with pytest.raises(RuntimeError, match=expected):
        y.backward()


def test_write_into_a_saved_intermediate_raises():
    x = tg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    with tg.no_grad():
        h[1] = 0.0
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_write_into_an_op_output_that_backward_reads_raises():
    x = tg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    e = x.exp()  # exp's backward reads its output
    with tg.no_grad():
        e[0] = 0.0
    with pytest.raises(RuntimeError, match=f"backward of exp: its output .* was {MODIFIED}"):
        e.sum().backward()


def test_matmul_saved_input_modified_raises():
    a = tg.tensor(numpy.ones((2, 3)), requires_grad=True)
    w = tg.tensor(numpy.full((3, 4), 0.5), requires_grad=True)
    y = (a @ w).sum()
    with tg.no_grad():
        w[0, 0] = 7.0
    with pytest.raises(RuntimeError, match=r"backward of matmul: input 1 \(shape \(3, 4\)"):
        y.backward()


@pytest.mark.parametrize("flatten", [True, False], ids=["flat-buffers", "per-parameter"])
@pytest.mark.parametrize("make", [optim.SGD, optim.AdamW], ids=["sgd", "adamw"])
def test_optimizer_step_between_forward_and_backward_raises(flatten, make):
    tg.manual_seed(0)
    layer = nn.Linear(3, 2)
    opt = make(layer.parameters(), lr=0.1)
    opt.flatten = flatten
    x = tg.randn(4, 3)
    layer(x).sum().backward()  # every parameter has a gradient: the flat path applies
    loss = (layer(x) ** 2).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=f"backward of linear: input [12] .* was {MODIFIED}"):
        loss.backward()


def test_backward_twice_with_a_step_between_raises():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_nn_init_and_load_state_dict_are_writes():
    layer = nn.Linear(3, 2)
    out = layer(tg.ones(1, 3)).sum()
    nn.init.zeros_(layer.weight)
    with pytest.raises(RuntimeError, match=MODIFIED):
        out.backward()
    out = layer(tg.ones(1, 3)).sum()
    layer.load_state_dict({k: v.numpy() + 1 for k, v in layer.state_dict().items()})
    with pytest.raises(RuntimeError, match=MODIFIED):
        out.backward()


def test_writes_before_the_graph_is_built_are_fine():
    x = tg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    with tg.no_grad():
        x[0] = 5.0
    cube_sum(x).backward()
    assert x.grad.tolist() == [75.0, 3.0, 12.0]


def test_a_training_loop_is_not_disturbed():
    tg.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.AdamW(model.parameters(), lr=0.01)
    x, target = tg.randn(8, 3), tg.randn(8, 1)
    for _ in range(3):
        opt.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
    assert model.weight._version > 0


def test_writes_to_data_bypass_the_check_as_documented():
    x = tg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    y = cube_sum(x)
    x.data[0] = 5.0  # the raw array: not tracked (as PyTorch's .data)
    y.backward()  # no error, and a mixture of both graphs (neither 0.75 nor 75): the user's risk
    assert x.grad.tolist()[0] == 50.25
