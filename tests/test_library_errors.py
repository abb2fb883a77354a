"""Bad input to the library is a clear error before any work, never a silently wrong result."""

import numpy
import pytest

import tinygrad_lm as tg
from tinygrad_lm import nn, optim
from zoo.models import NGramLM


@pytest.mark.parametrize(
    "index",
    [numpy.array([True, False]), [True, False], (Ellipsis, numpy.array([True, False]))],
    ids=["array", "list", "after-ellipsis"],
)
def test_a_boolean_mask_of_the_wrong_shape_is_an_index_error_as_in_numpy(index):
    x = tg.arange(24).reshape(4, 2, 3).astype("float64")
    with pytest.raises(IndexError):
        x.numpy()[index]
    with pytest.raises(IndexError, match=r"boolean index of shape \(2,\) does not match"):
        x[index]
    with pytest.raises(IndexError), tg.no_grad():
        x[index] = 0.0


@pytest.mark.parametrize(
    "index",
    [
        numpy.array([True, False, True, True]),
        (slice(None), numpy.array([True, False])),
        numpy.ones((4, 2), bool),
        (None, numpy.array([False, True, True, False])),
        (Ellipsis, numpy.array([True, False, True])),
    ],
)
def test_a_boolean_mask_of_the_right_shape_selects_as_numpy(index):
    x = tg.arange(24).reshape(4, 2, 3).astype("float64")
    numpy.testing.assert_array_equal(x[index].numpy(), x.numpy()[index])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: tg.zeros(0).mean(), r"mean: over zero elements \(shape \(0,\), axis None\) is undefined"),
        (lambda: tg.zeros(0, 3).var(axis=0), r"var: over zero elements \(shape \(0, 3\), axis 0\)"),
        (lambda: tg.zeros(0).argmax(), r"argmax: of an empty tensor"),
        (lambda: tg.zeros(3, 0).argmin(axis=1), r"argmin: of an empty tensor"),
        (lambda: tg.zeros(0).max(), r"max/min of an empty tensor is undefined"),
        (lambda: tg.ones(4).chunk(0), r"chunk: chunks must be an integer >= 1, got 0"),
        (lambda: tg.ones(4).chunk(-2), r"chunk: chunks must be an integer >= 1, got -2"),
    ],
)
def test_zero_size_reductions_and_zero_chunks_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_reductions_over_non_empty_axes_of_empty_tensors_still_work():
    assert tg.zeros(0, 3).mean(axis=1).shape == (0,)
    assert tg.zeros(0, 3).argmax(axis=1).shape == (0,)


@pytest.mark.parametrize("max_norm", [-1.0, 0.0, float("nan"), "1", True])
def test_clip_grad_norm_refuses_a_non_positive_or_nan_max_norm(max_norm):
    w = tg.tensor([1.0, 1.0], requires_grad=True)
    w.grad = tg.tensor([3.0, 4.0])
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be a number > 0"):
        optim.clip_grad_norm_([w], max_norm)
    assert w.grad.tolist() == [3.0, 4.0]  # untouched (a negative max_norm used to reverse it)


def test_clip_grad_norm_with_inf_does_not_clip():
    w = tg.tensor([1.0, 1.0], requires_grad=True)
    w.grad = tg.tensor([3.0, 4.0])
    assert optim.clip_grad_norm_([w], float("inf")) == 5.0 and w.grad.tolist() == [3.0, 4.0]


def test_an_optimizer_refuses_the_state_of_another_optimizer():
    layer = nn.Linear(2, 2)
    sgd = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    adam = optim.AdamW(layer.parameters())
    with pytest.raises(
        ValueError,
        match=r"AdamW.load_state_dict: group 0 of the state lacks betas, eps and has "
        r"dampening, momentum, nesterov: it was saved by another optimizer",
    ):
        adam.load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="SGD.load_state_dict: .* saved by another optimizer"):
        sgd.load_state_dict(adam.state_dict())


@pytest.mark.parametrize("k", [float("inf"), float("nan"), 0.0, -1.0])
def test_ngram_refuses_a_non_finite_or_non_positive_k(k):
    with pytest.raises(ValueError, match="k must be a finite number > 0"):
        NGramLM(2, "addk", k)


@pytest.mark.parametrize(
    "data",
    ["abc", ["a", "b"], [object()], numpy.array([1 + 2j])],
    ids=["str", "strings", "object", "complex"],
)
def test_tensor_refuses_strings_objects_and_complex(data):
    with pytest.raises(TypeError, match="tensor: data of dtype .* is not supported"):
        tg.tensor(data)
