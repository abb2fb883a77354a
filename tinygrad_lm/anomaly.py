"""Anomaly mode: find the first op whose forward output or backward gradient is not finite.

A NaN or an infinity, once made, flows into every value computed from it; by the time the loss is
NaN the op that made it is long gone. Inside ``detect_anomaly()`` (a context manager and decorator,
``tg.detect_anomaly`` or ``tg.autograd.detect_anomaly``, as in PyTorch):

* every op's forward output is checked with ``isfinite`` as it is computed, and the first one with a
  NaN or an inf raises ``RuntimeError`` naming the op, its inputs' shapes and dtypes, and the line of
  the user's code that called it;
* every op linked into a graph records where the user's code created it (the innermost frame outside
  this library), and every gradient its backward returns is checked: the first non-finite one raises
  naming the op, the input the gradient is for, and that line of forward code.

The checks run while the mode is on: wrap both the forward pass and ``backward()`` in it. Off by
default, and then free: ``Function.apply`` and the engine test one class attribute. On, each op costs
an ``isfinite`` pass over its output and each gradient (and, on a GPU, a wait for the device to read
the answer): for debugging, not for training runs.
"""

from __future__ import annotations

import contextlib
import functools
import linecache
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .backend import get_xp

_LIBRARY = os.path.dirname(os.path.abspath(__file__)) + os.sep


class _Anomaly:
    """Whether anomaly mode is on (toggled by ``detect_anomaly``)."""

    enabled = False
    in_backward = False  # the ops a backward applies are checked as that backward's gradients


@contextlib.contextmanager
def backward_phase() -> Iterator[None]:
    """Inside the engine's backward: the ops it applies are not checked one by one."""
    previous, _Anomaly.in_backward = _Anomaly.in_backward, True
    try:
        yield
    finally:
        _Anomaly.in_backward = previous


class detect_anomaly(contextlib.ContextDecorator):  # lower case: named as PyTorch's
    """Check every forward output and backward gradient for NaN/inf inside (``with`` or ``@``)."""

    def __enter__(self) -> detect_anomaly:
        self.previous = _Anomaly.enabled
        _Anomaly.enabled = True
        return self

    def __exit__(self, *exc: object) -> None:
        _Anomaly.enabled = self.previous

    def __call__(self, fn: Callable) -> Callable:  # a fresh context per call (re-entrant)
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper


def is_anomaly_enabled() -> bool:
    return _Anomaly.enabled


def user_frame() -> tuple[str, int, str]:
    """(file, line, function) of the innermost frame of the caller's code, outside this library."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY):
        frame = frame.f_back
    if frame is None:
        return ("<unknown>", 0, "<unknown>")
    return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def check_forward(fn: Any, inputs: tuple, output: Any) -> None:
    """Record where ``fn`` was called; raise if its output array holds a NaN or an inf."""
    if _Anomaly.in_backward:
        return
    fn.created_at = user_frame()
    if output.dtype.kind == "f" and not bool(get_xp(output).isfinite(output).all()):
        raise RuntimeError(
            f"anomaly: the forward output of {_name(fn)} {_described(output)} contains "
            f"{_what(output)}; inputs {_inputs(inputs)}; {_name(fn)} was called at {_where(fn)}"
        )


def check_backward(fn: Any, gradients: tuple) -> None:
    """Raise if a gradient returned by ``fn``'s backward holds a NaN or an inf."""
    for position, gradient in enumerate(gradients):
        if gradient is None or gradient.data.dtype.kind != "f":
            continue
        array = gradient.data
        if not bool(get_xp(array).isfinite(array).all()):
            raise RuntimeError(
                f"anomaly: the backward of {_name(fn)} returned {_what(array)} in the gradient of input "
                f"{position} {_described(array)}; inputs {_inputs(fn.inputs)}; {_name(fn)} was called in "
                f"forward at {_where(fn)}"
            )


def _name(fn: Any) -> str:
    return type(fn).__name__.removesuffix("Function").lower()


def _described(array: Any) -> str:
    return f"(shape {tuple(array.shape)}, {array.dtype})"


def _inputs(inputs: tuple) -> str:
    return ", ".join(f"{tuple(t.shape)} {t.data.dtype}" for t in inputs) or "none"


def _what(array: Any) -> str:
    xp = get_xp(array)
    found = [("nan", xp.isnan(array).any()), ("inf", xp.isinf(array).any())]
    return " and ".join(name for name, present in found if present)


def _where(fn: Any) -> str:
    file, line, function = getattr(fn, "created_at", ("<unknown>", 0, "<unknown>"))
    if line == 0:
        return "an unknown place (it was created outside anomaly mode)"
    code = linecache.getline(file, line).strip()
    return f'File "{file}", line {line}, in {function}: {code}'
