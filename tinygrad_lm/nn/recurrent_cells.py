"""The equations of the RNN, LSTM and GRU cells, each written twice: with Tensor ops and on arrays.

Each cell kind is a small "math" class: ``step`` with Tensor ops (used by the cells and the composed
scan, differentiable to any order), and the array methods of the fused ``RecurrentScan``
(``recurrent_scan.py``) with their hand-derived backward. The equations and gate orders are
PyTorch's (see ``recurrent.py``).
"""

from __future__ import annotations

import functools
from typing import Any

from ..backend import overflow_allowed
from ..kernels import kernels_for
from ..tensor import Tensor

State = tuple[Tensor, ...]


def _sigmoid_(a, xp):
    """a <- 1 / (1 + e^-a), in place. (e^-a may overflow to inf, where the result is 0 exactly: the limit.)"""
    xp.negative(a, out=a)
    with overflow_allowed():
        xp.exp(a, out=a)
    a += 1
    return xp.reciprocal(a, out=a)


def _lstm_gates_(a, xp):
    """(sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)) with ONE exponential, in place on a (4H, B):
    s = 1 / (1 + e^(-k a)) with k = 1 on i, f, o and k = 2 on g, then g = 2 s - 1 = tanh(a_g)."""
    a *= _gate_exponents(a.shape[0], a.dtype.str, xp)
    with overflow_allowed():
        xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)
    g = _gate_rows(a, 4)[2]
    g *= 2
    g -= 1
    return a


@functools.lru_cache(maxsize=32)
def _gate_exponents(rows: int, dtype: str, xp: Any) -> Any:
    """-k of ``_lstm_gates_`` as a column (4H, 1): -1 on the i, f, o blocks and -2 on g."""
    exponents = xp.full((rows, 1), -1.0, dtype=dtype)
    exponents[rows // 2 : 3 * rows // 4] = -2.0
    return exponents


def _gate_rows(a, parts: int) -> list:
    """The gate axis (-2) of a feature-major array (..., G H, B) cut into ``parts`` blocks (views)."""
    size = a.shape[-2] // parts
    return [a[..., k * size : (k + 1) * size, :] for k in range(parts)]


# The fused scan works FEATURE-MAJOR: a state is h^T (H, B), a step's pre-activations a^T (G H, B), and
# sequences are (T, ., B). Then h_t^T = W_hh h_{t-1}^T is a product of the weight as it is stored, every
# gate is a contiguous block of rows, and each step reads and writes contiguous memory. (NumPy is several
# times slower on the strided rows of a (B, T, .) array, and OpenBLAS is faster on W h^T than on h W^T.)
# Each math class writes its cell twice: ``step`` with Tensor ops (cells, composed scan) and the array
# methods used by ``RecurrentScan``:
#   buffers(steps, batch, hidden, dtype, xp)  the (T, ., B) arrays its forward steps fill
#   forward_step(x_t, a, state, seq_t, h_out, xp)  one step; a = W_hh h (+ b_hh) may be overwritten
#   backward_coefficients(proj, seq, initial, xp)  everything backward needs that does NOT depend on
#       the incoming gradient, for all time steps at once (T, ...); seq also holds h and h_prev
#   backward_step(dh, carry, coef_t, d_x_t, d_h_t, xp)  writes d x_proj_t, d h_proj_t into (G, H, B) views and
#       returns (carry to step t - 1, gradient reaching h_{t-1} directly or None)
# With the coefficients precomputed, each step of backward is a handful of products that are linear in
# the incoming gradient.


class RNNMath:
    """h' = tanh(a), a = x_proj + h_proj;  da = dh' (1 - h'^2)."""

    gates, n_states = 1, 1
    shared_pre_activation = True  # d x_proj = d h_proj: backward stores it once
    additive_recurrent_bias = True  # b_hh only adds to a: it is added to x_proj once for all steps

    @staticmethod
    def step(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        return ((x_proj + h_proj).tanh(),)

    @staticmethod
    def buffers(steps, batch, hidden, dtype, xp) -> dict:
        return {}

    @staticmethod
    def forward_step(x_t, a, state, seq_t, h_out, xp):
        fast = kernels_for("recurrent", x_t, a, h_out)
        if fast is not None:  # the same step as one compiled pass (kernels/recurrent.py)
            fast.rnn_forward_step(x_t, a, h_out)
            return (h_out,)
        a += x_t
        return (xp.tanh(a, out=h_out),)

    @staticmethod
    def backward_coefficients(proj, seq, initial, xp) -> dict:
        fast = kernels_for("recurrent", seq["h"])
        if fast is not None:
            return {"slope": fast.rnn_slopes(seq["h"])}
        slope = 1 - seq["h"] * seq["h"]
        return {"slope": slope[:, None]}  # (T, 1, H, B)

    @staticmethod
    def backward_step(dh, carry, coef_t, d_x_t, d_h_t, xp):
        xp.multiply(coef_t["slope"], dh, out=d_x_t)
        return (), None


class LSTMMath:
    """c' = f c + i g, h' = o tanh c';  with a = x_proj + h_proj split (i, f, g, o):
    dc = dc' + dh' q,  da = (dc g i(1-i), dc c f(1-f), dc i (1-g^2), dh' tanh c' o(1-o)),  dc flows on
    as dc f, where q = o (1 - tanh^2 c') and the four factors multiplying dc, dc, dc, dh' are the
    precomputed coefficients."""

    gates, n_states = 4, 2
    shared_pre_activation = True
    additive_recurrent_bias = True

    @staticmethod
    def step(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        _, c = state
        i, f, g, o = (x_proj + h_proj).chunk(4, axis=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    @staticmethod
    def buffers(steps, batch, hidden, dtype, xp) -> dict:
        return {name: xp.empty((steps, hidden, batch), dtype=dtype) for name in ("c", "tanh_c")}

    @staticmethod
    def forward_step(x_t, a, state, seq_t, h_out, xp):
        fast = kernels_for("recurrent", x_t, a, state[1])
        if fast is not None:  # the same step as one compiled pass (kernels/recurrent.py)
            fast.lstm_forward_step(x_t, a, state[1], seq_t["c"], seq_t["tanh_c"], h_out)
            return h_out, seq_t["c"]
        a += x_t
        i, f, g, o = _gate_rows(_lstm_gates_(a, xp), 4)  # a now holds the activations (kept for backward)
        c = xp.multiply(f, state[1], out=seq_t["c"])
        c += i * g
        tanh_c = xp.tanh(c, out=seq_t["tanh_c"])
        return xp.multiply(o, tanh_c, out=h_out), c

    @staticmethod
    def backward_coefficients(proj, seq, initial, xp) -> dict:
        act = proj.reshape(proj.shape[0], 4, -1, proj.shape[-1])  # (T, 4, H, B): i, f, g, o
        c, tanh_c = seq["c"], seq["tanh_c"]
        fast = kernels_for("recurrent", act, c, tanh_c, initial[1])
        if fast is not None:
            coef, q = fast.lstm_coefficients(act, c, tanh_c, initial[1])
            return {"coef": coef, "q": q, "f": act[:, 1]}
        c_prev = xp.concatenate([initial[1][None], c[:-1]])
        coef = 1 - act  # the activations' slopes s(1 - s), and 1 - g^2 on g
        coef *= act
        g = act[:, 2]
        xp.multiply(g, g, out=coef[:, 2])
        xp.subtract(1, coef[:, 2], out=coef[:, 2])
        for k, factor in enumerate((g, c_prev, act[:, 0], tanh_c)):
            coef[:, k] *= factor
        q = 1 - tanh_c * tanh_c
        q *= act[:, 3]
        return {"coef": coef, "q": q, "f": act[:, 1]}

    @staticmethod
    def backward_step(dh, carry, coef_t, d_x_t, d_h_t, xp):
        coef, q, f = coef_t["coef"], coef_t["q"], coef_t["f"]
        fast = kernels_for("recurrent", dh, carry[0], coef, q, f, d_x_t)
        if fast is not None:
            return (fast.lstm_backward_step(dh, carry[0], coef, q, f, d_x_t),), None
        dc = dh * q
        dc += carry[0]
        xp.multiply(coef[:3], dc, out=d_x_t[:3])
        xp.multiply(coef[3], dh, out=d_x_t[3])
        dc *= f
        return (dc,), None


class GRUMath:
    """h' = n + z (h - n), n = tanh(a_n), a_n = x_n + r h_n:  da_n = dh' (1 - z)(1 - n^2),
    dr = da_n h_n,  dz = dh' (h - n);  d x_proj = (dr r(1-r), dz z(1-z), da_n),
    d h_proj = (same, same, da_n r), and dh' z reaches h directly: all linear in dh'."""

    gates, n_states = 3, 1
    shared_pre_activation = False
    additive_recurrent_bias = False  # b_hn sits inside r * (W_hn h + b_hn)

    @staticmethod
    def step(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        (h,) = state
        x_r, x_z, x_n = x_proj.chunk(3, axis=-1)
        h_r, h_z, h_n = h_proj.chunk(3, axis=-1)
        r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        return ((1 - z) * n + z * h,)

    @staticmethod
    def buffers(steps, batch, hidden, dtype, xp) -> dict:
        return {
            "rz": xp.empty((steps, 2 * hidden, batch), dtype=dtype),
            "n": xp.empty((steps, hidden, batch), dtype=dtype),
        }

    @staticmethod
    def forward_step(x_t, a, state, seq_t, h_out, xp):
        (h,) = state
        fast = kernels_for("recurrent", x_t, a, h)
        if fast is not None:  # the same step as one compiled pass (kernels/recurrent.py)
            fast.gru_forward_step(x_t, a, h, seq_t["rz"], seq_t["n"], h_out)
            return (h_out,)
        hidden = h.shape[0]
        rz = _sigmoid_(xp.add(x_t[: 2 * hidden], a[: 2 * hidden], out=seq_t["rz"]), xp)
        r, z = _gate_rows(rz, 2)
        n = xp.multiply(r, a[2 * hidden :], out=seq_t["n"])  # a keeps h_n = W_hn h + b_hn
        n += x_t[2 * hidden :]
        xp.tanh(n, out=n)
        step = h - n
        step *= z
        return (xp.add(n, step, out=h_out),)

    @staticmethod
    def backward_coefficients(proj, seq, initial, xp) -> dict:
        r, z = _gate_rows(seq["rz"], 2)
        fast = kernels_for("recurrent", seq["rz"], seq["n"], proj, seq["h_prev"])
        if fast is not None:
            coef_x, coef_h = fast.gru_coefficients(seq["rz"], seq["n"], proj, seq["h_prev"])
            return {"x": coef_x, "h": coef_h, "z": z}
        n, h_n = seq["n"], _gate_rows(proj, 3)[2]
        coef_x = xp.empty((n.shape[0], 3) + n.shape[1:], dtype=n.dtype)  # (T, 3, H, B)
        da_n = coef_x[:, 2]
        xp.multiply(n, n, out=da_n)
        xp.subtract(1, da_n, out=da_n)
        da_n *= 1 - z
        xp.multiply(da_n, h_n, out=coef_x[:, 0])
        coef_x[:, 0] *= r * (1 - r)
        xp.subtract(seq["h_prev"], n, out=coef_x[:, 1])
        coef_x[:, 1] *= z * (1 - z)
        coef_h = coef_x.copy()
        coef_h[:, 2] *= r
        return {"x": coef_x, "h": coef_h, "z": z}

    @staticmethod
    def backward_step(dh, carry, coef_t, d_x_t, d_h_t, xp):
        fast = kernels_for("recurrent", dh, coef_t["x"], coef_t["h"], coef_t["z"], d_x_t, d_h_t)
        if fast is not None:
            return (), fast.gru_backward_step(dh, coef_t["x"], coef_t["h"], coef_t["z"], d_x_t, d_h_t)
        xp.multiply(coef_t["x"], dh, out=d_x_t)
        xp.multiply(coef_t["h"], dh, out=d_h_t)
        return (), dh * coef_t["z"]
