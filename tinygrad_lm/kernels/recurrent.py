"""The element-wise parts of the recurrent cells as compiled loops: ``nn.recurrent_cells``' array methods.

The fused ``RecurrentScan`` (``nn/recurrent_scan.py``) works feature-major: a state is (H, B), a step's
pre-activations (G H, B) with the gates as blocks of H rows, sequences (T, ., B). The products
W_hh h and W_hh^T dA stay BLAS; what NumPy runs as a dozen single-threaded passes per time step is
one pass here, over the (H, B) positions (rows split over the kernel threads). Per position:

LSTM, a = x_proj + h_proj split (i, f, g, o), s = sigmoid:

    forward step:   i, f, o = s(a_i), s(a_f), s(a_o),  g = tanh(a_g),  c' = f c + i g,  h' = o tanh c'
                    (the activations overwrite a: backward reads them)
    coefficients:   k = (g i(1-i), c f(1-f), i (1-g^2), tanh c' o(1-o)),  q = o (1 - tanh^2 c')
    backward step:  dc = dh q + dc_next,  dA = (k_i dc, k_f dc, k_g dc, k_o dh),  carry dc f

GRU, gates (r, z, n), a = W_hh h + b_hh (b_hn sits inside r (W_hn h + b_hn)):

    forward step:   r, z = s(x_r + a_r), s(x_z + a_z),  n = tanh(x_n + r a_n),  h' = n + z (h - n)
    coefficients:   e = (1 - n^2)(1 - z),  k_x = (e a_n r(1-r), (h - n) z(1-z), e),  k_h = k_x but e r
    backward step:  dA_x = k_x dh,  dA_h = k_h dh,  and dh z reaches h directly

RNN:  forward h' = tanh(x_proj + h_proj);  coefficient 1 - h'^2 (its backward step is one product).

The functions' float32 exp and tanh are ``scalar``'s (vectorisable), with multiply-adds fused
(``FMA``); NumPy's g = 2 s(2 a_g) - 1 and this tanh a_g agree to a few epsilons. Inputs of any layout
are made contiguous; outputs are written where they lie (a strided view is indexed by its strides,
only slower) and must not overlap the inputs (the loops are compiled assuming they don't; ``a`` of
the LSTM step is read and overwritten element by element). Shapes are checked before anything is
written: a mismatch raises ValueError instead of reading past an array. ``feature_first`` is the
layout copy (T, F, B) -> (F, T B) the scan makes of dA, x and h_{t-1} for its weight gradients.

Threads: a training step alternates 2 T of these kernels with BLAS products, so with BLAS on two
threads keep the kernels on one (the default; see ``kernels/__init__.py``): measured on two cores,
``TINYGRAD_LM_KERNEL_THREADS=2`` made the LSTM language-model step 12 times slower (1139 ms vs 94).
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import prange
from numba.core.errors import NumbaIRAssumptionWarning

from .compiled import loops
from .scalar import sigmoid, tanh

FMA = {"contract"}  # a * b + c may become one fused multiply-add (one rounding instead of two): 20% faster

# A loop body that inlines one of scalar's functions more than once (four gates here) trips an internal
# "pedantic" SSA check of numba 0.68 at compile time (variables of the inlined copies reported as not in
# scope, with a request to file a bug); the compiled code is right (tests/test_kernels_recurrent.py).
warnings.filterwarnings(
    "ignore", r"variable '_(sigmoid|tanh|exp)_overload", NumbaIRAssumptionWarning, r"numba\.core\.ssa"
)


def _check(what: str, expected: tuple[int, ...], *arrays: np.ndarray) -> None:
    """ValueError unless every array has the shape ``expected``."""
    for a in arrays:
        if a.shape != expected:
            raise ValueError(f"{what}: expected arrays of shape {expected}, got {a.shape}")


# ---- LSTM ----------------------------------------------------------------------------------------


@loops(fastmath=FMA)
def _lstm_forward_step(x_t, a, c_prev, c, tanh_c, h):
    hidden, batch = c.shape
    for j in prange(hidden):
        for b in range(batch):
            i = sigmoid(a[j, b] + x_t[j, b])
            f = sigmoid(a[hidden + j, b] + x_t[hidden + j, b])
            g = tanh(a[2 * hidden + j, b] + x_t[2 * hidden + j, b])
            o = sigmoid(a[3 * hidden + j, b] + x_t[3 * hidden + j, b])
            a[j, b], a[hidden + j, b], a[2 * hidden + j, b], a[3 * hidden + j, b] = i, f, g, o
            cell = f * c_prev[j, b] + i * g
            squashed = tanh(cell)
            c[j, b], tanh_c[j, b], h[j, b] = cell, squashed, o * squashed


@loops(fastmath=FMA)
def _lstm_coefficients(act, c, tanh_c, c0, coef, q):
    steps, _, hidden, batch = act.shape
    one = act.dtype.type(1.0)
    for row in prange(steps * hidden):
        t, j = row // hidden, row % hidden
        for b in range(batch):
            i, f, g, o = act[t, 0, j, b], act[t, 1, j, b], act[t, 2, j, b], act[t, 3, j, b]
            cell_prev = c0[j, b] if t == 0 else c[t - 1, j, b]
            squashed = tanh_c[t, j, b]
            coef[t, 0, j, b] = (one - i) * i * g
            coef[t, 1, j, b] = (one - f) * f * cell_prev
            coef[t, 2, j, b] = (one - g * g) * i
            coef[t, 3, j, b] = (one - o) * o * squashed
            q[t, j, b] = (one - squashed * squashed) * o


@loops(fastmath=FMA)
def _lstm_backward_step(dh, carry, coef, q, f, d_a, carry_out):
    hidden, batch = dh.shape
    for j in prange(hidden):
        for b in range(batch):
            dc = dh[j, b] * q[j, b] + carry[j, b]
            d_a[0, j, b] = coef[0, j, b] * dc
            d_a[1, j, b] = coef[1, j, b] * dc
            d_a[2, j, b] = coef[2, j, b] * dc
            d_a[3, j, b] = coef[3, j, b] * dh[j, b]
            carry_out[j, b] = dc * f[j, b]


def lstm_forward_step(
    x_t: np.ndarray, a: np.ndarray, c_prev: np.ndarray, c: np.ndarray, tanh_c: np.ndarray, h: np.ndarray
) -> None:
    """One step: x_t, a (4H, B) -> c, tanh c, h (H, B) written; a overwritten by (i, f, g, o)."""
    _check("lstm_forward_step", a.shape, x_t)
    _check("lstm_forward_step", (a.shape[0] // 4, a.shape[1]), c_prev, c, tanh_c, h)
    if a.shape[0] % 4:
        raise ValueError(f"lstm_forward_step: 4H rows expected, got {a.shape[0]}")
    _lstm_forward_step(np.ascontiguousarray(x_t), a, np.ascontiguousarray(c_prev), c, tanh_c, h)


def lstm_coefficients(
    act: np.ndarray, c: np.ndarray, tanh_c: np.ndarray, c0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(k (T, 4, H, B), q (T, H, B)) from the activations act (T, 4, H, B), c, tanh c (T, H, B), c_0."""
    steps, gates, hidden, batch = act.shape
    if gates != 4:
        raise ValueError(f"lstm_coefficients: activations (T, 4, H, B) expected, got {act.shape}")
    _check("lstm_coefficients", (steps, hidden, batch), c, tanh_c)
    _check("lstm_coefficients", (hidden, batch), c0)
    act, c, tanh_c, c0 = (np.ascontiguousarray(x) for x in (act, c, tanh_c, c0))
    coef, q = np.empty_like(act), np.empty_like(c)
    _lstm_coefficients(act, c, tanh_c, c0, coef, q)
    return coef, q


def lstm_backward_step(
    dh: np.ndarray, carry: np.ndarray, coef: np.ndarray, q: np.ndarray, f: np.ndarray, d_a: np.ndarray
) -> np.ndarray:
    """dA written into d_a (4, H, B), a view of any strides (contiguous is fastest); returns the carry
    dc f to step t - 1. dh, carry, q, f (H, B); coef (4, H, B)."""
    _check("lstm_backward_step", dh.shape, carry, q, f)
    _check("lstm_backward_step", (4, *dh.shape), coef, d_a)
    carry_out = np.empty(dh.shape, dtype=dh.dtype)
    inputs = (np.ascontiguousarray(x) for x in (dh, carry, coef, q, f))
    _lstm_backward_step(*inputs, d_a, carry_out)
    return carry_out


# ---- GRU -----------------------------------------------------------------------------------------


@loops(fastmath=FMA)
def _gru_forward_step(x_t, a, h, rz, n, h_out):
    hidden, batch = h.shape
    for j in prange(hidden):
        for b in range(batch):
            r = sigmoid(x_t[j, b] + a[j, b])
            z = sigmoid(x_t[hidden + j, b] + a[hidden + j, b])
            candidate = tanh(r * a[2 * hidden + j, b] + x_t[2 * hidden + j, b])
            rz[j, b], rz[hidden + j, b], n[j, b] = r, z, candidate
            h_out[j, b] = candidate + (h[j, b] - candidate) * z


@loops(fastmath=FMA)
def _gru_coefficients(rz, n, proj, h_prev, coef_x, coef_h):
    steps, hidden, batch = n.shape
    one = n.dtype.type(1.0)
    for row in prange(steps * hidden):
        t, j = row // hidden, row % hidden
        for b in range(batch):
            r, z, candidate = rz[t, j, b], rz[t, hidden + j, b], n[t, j, b]
            d_n = (one - candidate * candidate) * (one - z)
            d_r = d_n * proj[t, 2 * hidden + j, b] * (r * (one - r))
            d_z = (h_prev[t, j, b] - candidate) * (z * (one - z))
            coef_x[t, 0, j, b], coef_x[t, 1, j, b], coef_x[t, 2, j, b] = d_r, d_z, d_n
            coef_h[t, 0, j, b], coef_h[t, 1, j, b], coef_h[t, 2, j, b] = d_r, d_z, d_n * r


@loops(fastmath=FMA)
def _gru_backward_step(dh, coef_x, coef_h, z, d_x, d_h, direct):
    hidden, batch = dh.shape
    for j in prange(hidden):
        for b in range(batch):
            g = dh[j, b]
            for k in range(3):
                d_x[k, j, b] = coef_x[k, j, b] * g
                d_h[k, j, b] = coef_h[k, j, b] * g
            direct[j, b] = g * z[j, b]


def gru_forward_step(
    x_t: np.ndarray, a: np.ndarray, h: np.ndarray, rz: np.ndarray, n: np.ndarray, h_out: np.ndarray
) -> None:
    """One step: x_t, a = W_hh h + b_hh (3H, B), h (H, B) -> (r, z) into rz (2H, B), n, h' (H, B)."""
    _check("gru_forward_step", a.shape, x_t)
    _check("gru_forward_step", (a.shape[0] // 3, a.shape[1]), h, n, h_out)
    _check("gru_forward_step", (2 * h.shape[0], h.shape[1]), rz)
    if a.shape[0] % 3:
        raise ValueError(f"gru_forward_step: 3H rows expected, got {a.shape[0]}")
    _gru_forward_step(*(np.ascontiguousarray(x) for x in (x_t, a, h)), rz, n, h_out)


def gru_coefficients(
    rz: np.ndarray, n: np.ndarray, proj: np.ndarray, h_prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(k_x, k_h), each (T, 3, H, B), from rz (T, 2H, B), n, h_prev (T, H, B) and proj (T, 3H, B),
    whose n block holds a_n = W_hn h + b_hn."""
    steps, hidden, batch = n.shape
    _check("gru_coefficients", (steps, hidden, batch), h_prev)
    _check("gru_coefficients", (steps, 2 * hidden, batch), rz)
    _check("gru_coefficients", (steps, 3 * hidden, batch), proj)
    rz, n, proj, h_prev = (np.ascontiguousarray(x) for x in (rz, n, proj, h_prev))
    coef_x = np.empty((steps, 3, hidden, batch), dtype=n.dtype)
    coef_h = np.empty_like(coef_x)
    _gru_coefficients(rz, n, proj, h_prev, coef_x, coef_h)
    return coef_x, coef_h


def gru_backward_step(
    dh: np.ndarray, coef_x: np.ndarray, coef_h: np.ndarray, z: np.ndarray, d_x: np.ndarray, d_h: np.ndarray
) -> np.ndarray:
    """dA_x = k_x dh, dA_h = k_h dh written into the views d_x, d_h (3, H, B); returns dh z, the
    gradient reaching h_{t-1} directly. dh, z (H, B); k_x, k_h (3, H, B)."""
    _check("gru_backward_step", dh.shape, z)
    _check("gru_backward_step", (3, *dh.shape), coef_x, coef_h, d_x, d_h)
    direct = np.empty(dh.shape, dtype=dh.dtype)
    _gru_backward_step(*(np.ascontiguousarray(x) for x in (dh, coef_x, coef_h, z)), d_x, d_h, direct)
    return direct


# ---- RNN -----------------------------------------------------------------------------------------


@loops(fastmath=FMA)
def _rnn_forward_step(x_t, a, h_out):
    hidden, batch = h_out.shape
    for j in prange(hidden):
        for b in range(batch):
            h_out[j, b] = tanh(a[j, b] + x_t[j, b])


@loops(fastmath=FMA)
def _rnn_slopes(h, slope):
    steps, hidden, batch = h.shape
    one = h.dtype.type(1.0)
    for row in prange(steps * hidden):
        t, j = row // hidden, row % hidden
        for b in range(batch):
            slope[t, 0, j, b] = one - h[t, j, b] * h[t, j, b]


def rnn_forward_step(x_t: np.ndarray, a: np.ndarray, h_out: np.ndarray) -> None:
    """One step: h' = tanh(x_t + a), all (H, B)."""
    _check("rnn_forward_step", h_out.shape, x_t, a)
    _rnn_forward_step(np.ascontiguousarray(x_t), np.ascontiguousarray(a), h_out)


def rnn_slopes(h: np.ndarray) -> np.ndarray:
    """1 - h^2 as (T, 1, H, B) for the outputs h (T, H, B)."""
    slope = np.empty((h.shape[0], 1) + h.shape[1:], dtype=h.dtype)
    _rnn_slopes(np.ascontiguousarray(h), slope)
    return slope


# ---- layout --------------------------------------------------------------------------------------


@loops()
def _feature_first(a, out):
    steps, rows, batch = a.shape
    block = 16  # rows per task: 16 rows of each step are read while their lines are in the cache
    for first in prange((rows + block - 1) // block):
        for t in range(steps):
            for r in range(first * block, min(rows, first * block + block)):
                for b in range(batch):
                    out[r, t, b] = a[t, r, b]


def feature_first(a: np.ndarray) -> np.ndarray:
    """(T, F, B) -> (F, T B), contiguous: a time-major sequence laid out for one product over all steps."""
    steps, rows, batch = a.shape
    out = np.empty((rows, steps, batch), dtype=a.dtype)
    _feature_first(np.ascontiguousarray(a), out)
    return out.reshape(rows, steps * batch)
