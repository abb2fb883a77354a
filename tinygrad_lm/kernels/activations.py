"""GELU (tanh form) as two compiled loops: ``ops.elementwise.GeluTanh``'s forward and vjp.

Per element, with u = sqrt(2/pi) (x + 0.044715 x^3) and the gate s = 1 / (1 + e^(-2u)):

    forward:  s,  y = x s
    vjp:      dx = g (s + y (1 - s) (2 sqrt(2/pi)) (1 + 3 * 0.044715 x^2))

NumPy needs eight passes for the forward and seven for the vjp; each loop here is one pass, split
over the threads. Inputs of any layout (made contiguous first); outputs contiguous, of x's shape.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .compiled import loops
from .scalar import FAST_SUMS, exp

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
GELU_CUBIC = 0.044715


@loops(fastmath=FAST_SUMS)
def _gelu_tanh_forward(x, s, y):
    one = x.dtype.type(1.0)
    a = x.dtype.type(-2 * SQRT_2_OVER_PI)
    b = x.dtype.type(-2 * SQRT_2_OVER_PI * GELU_CUBIC)
    for i in prange(x.size):
        v = x[i]
        gate = one / (one + exp((v * v * b + a) * v))
        s[i] = gate
        y[i] = v * gate


@loops(fastmath=FAST_SUMS)
def _gelu_tanh_vjp(g, x, s, y, dx):
    one = x.dtype.type(1.0)
    a = x.dtype.type(2 * SQRT_2_OVER_PI)
    b = x.dtype.type(6 * SQRT_2_OVER_PI * GELU_CUBIC)
    for i in prange(x.size):
        v, gate = x[i], s[i]
        dx[i] = g[i] * (gate + y[i] * (one - gate) * (a + b * (v * v)))


def gelu_tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, y) for x of any shape: the gate and the GELU."""
    flat = np.ascontiguousarray(x).reshape(-1)
    s, y = np.empty_like(flat), np.empty_like(flat)
    _gelu_tanh_forward(flat, s, y)
    return s.reshape(x.shape), y.reshape(x.shape)


def gelu_tanh_vjp(g: np.ndarray, x: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/dx from g = dL/dy and the forward's (s, y); all of x's shape."""
    flat = [np.ascontiguousarray(a).reshape(-1) for a in (g, x, s, y)]
    dx = np.empty_like(flat[1])
    _gelu_tanh_vjp(*flat, dx)
    return dx.reshape(x.shape)
