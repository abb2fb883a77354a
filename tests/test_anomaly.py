"""Anomaly mode: the first op whose forward output or backward gradient is not finite raises."""

import numpy
import pytest

import tinygrad_lm as tg
from tinygrad_lm import autograd


def test_forward_nan_names_the_op_the_inputs_and_the_users_line():
    x = tg.tensor([1.0, -1.0], dtype="float64")
    with tg.detect_anomaly(), pytest.raises(RuntimeError) as caught:
        x.sqrt()  # the line the message must quote
    message = str(caught.value)
    assert "forward output of sqrt (shape (2,), float64) contains nan" in message
    assert "inputs (2,) float64" in message
    assert "test_anomaly.py" in message and "x.sqrt()  # the line the message must quote" in message


def test_backward_inf_names_the_op_and_the_forward_line():
    x = tg.tensor([0.0, 4.0], dtype="float64", requires_grad=True)
    with autograd.detect_anomaly():
        y = x.sqrt()  # finite forward, infinite derivative at 0
        with pytest.raises(RuntimeError) as caught:
            y.sum().backward()
    message = str(caught.value)
    assert "backward of sqrt returned inf in the gradient of input 0 (shape (2,), float64)" in message
    assert "y = x.sqrt()  # finite forward" in message


def test_decorator_form_and_off_by_default():
    @tg.detect_anomaly()
    def log_of(values):
        return tg.tensor(values, dtype="float64").log()

    with pytest.raises(RuntimeError, match="forward output of log .* contains inf"):
        log_of([0.0, 1.0])
    with numpy.errstate(divide="ignore"):
        assert tg.tensor([0.0], dtype="float64").log().item() == -numpy.inf  # off again: no check


def test_finite_computation_is_unchanged_in_anomaly_mode():
    x = tg.tensor([0.5, 2.0], dtype="float64", requires_grad=True)
    with tg.detect_anomaly():
        (x * x).exp().sum().backward()
    expected = 2 * numpy.array([0.5, 2.0]) * numpy.exp(numpy.array([0.25, 4.0]))
    numpy.testing.assert_array_equal(x.grad.numpy(), expected)
