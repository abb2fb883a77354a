"""One recurrent layer over a whole sequence as one op (``RecurrentScan``), and its composed twin.

``scan_fused`` runs a layer as ``RecurrentScan`` (first-order gradients, fast); ``scan_composed``
builds the same computation from Tensor ops per time step (differentiable to any order, slow). The
cell equations come from the math classes of ``recurrent_cells.py``.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..backend import get_xp
from ..creation import zeros
from ..function import is_grad_enabled
from ..kernels import kernels_for
from ..ops.fused_function import FusedFunction
from ..ops.movement import stack
from ..tensor import Tensor
from .recurrent_cells import RNNMath, State


class RecurrentScan(FusedFunction):
    """One layer over a whole sequence as one op, for speed:
    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, state_t = cell(a_t, state_{t-1}).

    Inputs x (B, T, C), W_ih (G H, C), b_ih (G H,), W_hh (G H, H), b_hh (G H,), then the initial state
    arrays (B, H). The output packs h_1..h_T followed by the final values of the other state entries
    (c_T for the LSTM): (B, T + n_states - 1, H).

    Feature-major inside (see above): the input projections of all steps come from ONE batched product
    W_ih (x^T)_t -> (T, G H, B), with b_ih (and b_hh where it only adds) folded in. Backward first
    computes the cell's coefficients for all steps in a few whole-sequence passes, then runs back
    through time with a few products per step, storing the pre-activation gradients dA as (G, H, T, B):
    strided (G, H, B) blocks per step, but (G H, T B) as a whole, so the weight gradients
    dW = sum_t dA_t (input_t)^T, the bias gradients and dx = W_ih^T dA are single products after the
    loop with no transposed copy of dA. With the compiled kernels (``kernels/recurrent.py``) dA is
    stored (T, G, H, B) instead, contiguous per step, and copied to (G H, T B) once after the loop:
    writing 4 H rows T B apart each step costs the kernel three times its arithmetic.
    Its vjp runs on arrays only (a loop writing into buffers), so
    it is first-order only: under ``create_graph`` it raises (build the layer with ``fused=False``).
    """

    differentiable_twice = False
    composed_form = "the layer built with fused=False (the composition of Tensor ops)"

    def forward(self, x, w_ih, b_ih, w_hh, b_hh, *state, math=RNNMath):
        xp = get_xp(x)
        batch, steps, _ = x.shape
        hidden = w_hh.shape[1]
        self.math = math
        self.x_t = xp.ascontiguousarray(x.transpose(1, 2, 0))  # (T, C, B)
        x_in = xp.matmul(w_ih, self.x_t)  # (T, G H, B)
        x_in += (b_ih + b_hh if math.additive_recurrent_bias else b_ih)[:, None]
        state = self.initial = tuple(xp.ascontiguousarray(s.T) for s in state)  # (H, B) each
        self.hs = xp.empty((steps, hidden, batch), dtype=x.dtype)  # h_1 .. h_T
        self.proj = xp.empty_like(x_in)  # W_hh h (+ b_hh), then whatever the cell keeps of it
        self.seq = math.buffers(steps, batch, hidden, x.dtype, xp)
        for t in range(steps):
            a = xp.matmul(w_hh, state[0], out=self.proj[t])
            if not math.additive_recurrent_bias:
                a += b_hh[:, None]
            seq_t = {name: buffer[t] for name, buffer in self.seq.items()}
            state = math.forward_step(x_in[t], a, state, seq_t, self.hs[t], xp)
        packed = xp.empty((batch, steps + math.n_states - 1, hidden), dtype=x.dtype)
        packed[:, :steps] = self.hs.transpose(2, 0, 1)
        for k, final in enumerate(state[1:]):
            packed[:, steps + k] = final.T
        if not is_grad_enabled():  # nothing is kept for a backward that cannot come
            self.x_t = self.proj = self.seq = None
        return packed

    def vjp(self, xp, g, inputs, saved):
        xp, w_ih, w_hh = get_xp(g), inputs[1], inputs[3]
        math, (steps, hidden, batch) = self.math, self.hs.shape
        h_prev = xp.concatenate([self.initial[0][None], self.hs[:-1]])  # (T, H, B)
        coef = math.backward_coefficients(
            self.proj, dict(self.seq, h=self.hs, h_prev=h_prev), self.initial, xp
        )
        # dA as (G, H, T, B) = (G H, T B); with the compiled steps as (T, G, H, B), made (G H, T B) by one
        # blocked copy after the loop: the steps then write contiguous blocks (3x faster than strided)
        time_major = kernels_for("recurrent", g) is not None
        shape = (steps, math.gates, hidden, batch) if time_major else (math.gates, hidden, steps, batch)
        d_x = xp.empty(shape, dtype=g.dtype)
        d_hproj = d_x if math.shared_pre_activation else xp.empty_like(d_x)
        g_h = xp.ascontiguousarray(
            g[:, :steps].transpose(1, 2, 0)
        )  # (T, H, B); g is (B, T + n_states - 1, H)
        carry = tuple(xp.ascontiguousarray(g[:, steps + k].T) for k in range(math.n_states - 1))
        d_h = xp.zeros_like(self.initial[0])  # the gradient reaching h_t from step t + 1
        for t in reversed(range(steps)):
            d_h += g_h[t]
            coef_t = {name: c[t] for name, c in coef.items()}
            d_x_t, d_hproj_t = (d_x[t], d_hproj[t]) if time_major else (d_x[:, :, t], d_hproj[:, :, t])
            carry, direct = math.backward_step(d_h, carry, coef_t, d_x_t, d_hproj_t, xp)
            d_h = w_hh.T @ d_hproj_t.reshape(-1, batch)
            if direct is not None:
                d_h += direct
        # the weight and bias gradients contract over (t, b): one product each, feature-first (., T B)
        if time_major:
            d_x_f = _feature_first(d_x.reshape(steps, -1, batch), xp)
            d_hproj_f = d_x_f if d_hproj is d_x else _feature_first(d_hproj.reshape(steps, -1, batch), xp)
        else:
            d_x_f, d_hproj_f = (d.reshape(-1, steps * batch) for d in (d_x, d_hproj))  # (G H, T B)
        x_f = _feature_first(self.x_t, xp)  # (C, T B)
        grads = (
            (w_ih.T @ d_x_f).reshape(-1, steps, batch).transpose(2, 1, 0),  # dx (B, T, C)
            d_x_f @ x_f.T,  # dW_ih (G H, C)
            d_x_f.sum(axis=1),
            d_hproj_f @ _feature_first(h_prev, xp).T,  # dW_hh (G H, H)
            d_hproj_f.sum(axis=1),
            d_h.T,
            *(c.T for c in carry),
        )
        return tuple(xp.asarray(d) for d in grads)


def _feature_first(a, xp):
    """(T, F, B) -> (F, T B), contiguous: a sequence laid out for one product over all steps."""
    fast = kernels_for("recurrent", a)
    if fast is not None:
        return fast.feature_first(a)
    return xp.ascontiguousarray(a.transpose(1, 0, 2)).reshape(a.shape[1], -1)


def scan_fused(
    math: Any, x: Tensor, weights: tuple[Tensor | None, ...], state: State
) -> tuple[Tensor, State]:
    """(outputs (B, T, H), final state) of one layer with ``RecurrentScan``; weights (W_ih, W_hh,
    b_ih, b_hh) with None biases for a layer without them."""
    w_ih, w_hh, b_ih, b_hh = weights
    b_ih, b_hh = (
        zeros(w_hh.shape[0], dtype=w_hh.dtype, device=w_hh.device) if b is None else b for b in (b_ih, b_hh)
    )
    packed = RecurrentScan.apply(x, w_ih, b_ih, w_hh, b_hh, *state, math=math)  # (B, T + n_states - 1, H)
    steps = x.shape[1]
    outputs = packed if math.n_states == 1 else packed[:, :steps]
    return outputs, (packed[:, steps - 1], *(packed[:, steps + k] for k in range(math.n_states - 1)))


def scan_composed(math: Any, x_proj: Tensor, w_hh: Tensor, b_hh: Tensor | None, state: State) -> tuple:
    """The same with Tensor ops per step: differentiable to any order; slower (the per-step slices
    of x_proj each scatter a gradient of x_proj's full size)."""
    outputs = []
    for t in range(x_proj.shape[1]):
        state = math.step(x_proj[:, t], F.linear(state[0], w_hh, b_hh), state)
        outputs.append(state[0])
    return stack(outputs, axis=1), state
