"""Recurrent layers: cells (one time step) and multi-layer ``RNN``/``LSTM``/``GRU`` over (B, T, C).

Equations, gate orders, parameter names and initialisation follow PyTorch, so weights copy across:

* RNN (tanh):  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
* LSTM, gates (i, f, g, o) stacked in W_ih (4H, C) and W_hh (4H, H):
  i, f, o = sigmoid(.), g = tanh(.) of (W_ih x + b_ih + W_hh h + b_hh);  c' = f c + i g;  h' = o tanh(c')
* GRU, gates (r, z, n):  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z likewise,
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) n + z h

Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)). A state is a tuple: (h,) or, for the LSTM, (h, c).

Each cell kind is a small "math" class with the step written twice: with Tensor ops (``step``, used
by the cells and by the composed scan) and on raw arrays with its hand-derived backward (used by the
fused ``RecurrentScan`` op, one per layer). The fused scan projects the inputs of ALL time steps in one
product per layer; its loop then does W_hh h and the element-wise gates per step, and backward takes the
weight gradients in one product each after its loop (see ``RecurrentScan``).
"""

from __future__ import annotations

import functools
from typing import Any

from .. import functional as F
from ..backend import Generator, get_xp, overflow_allowed
from ..creation import zeros
from ..function import Function, is_grad_enabled
from ..tensor import Tensor, stack
from . import init
from .layers import new_parameter
from .module import Module

State = tuple[Tensor, ...]
constant = Tensor._from_array


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
        a += x_t
        return (xp.tanh(a, out=h_out),)

    @staticmethod
    def backward_coefficients(proj, seq, initial, xp) -> dict:
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
        dc = dh * coef_t["q"]
        dc += carry[0]
        xp.multiply(coef_t["coef"][:3], dc, out=d_x_t[:3])
        xp.multiply(coef_t["coef"][3], dh, out=d_x_t[3])
        dc *= coef_t["f"]
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
        xp.multiply(coef_t["x"], dh, out=d_x_t)
        xp.multiply(coef_t["h"], dh, out=d_h_t)
        return (), dh * coef_t["z"]


class RecurrentScan(Function):
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
    loop with no transposed copy of dA. It is first-order only: under ``create_graph`` it raises
    (use ``fused=False``).
    """

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

    def backward(self, g):
        if is_grad_enabled():
            raise RuntimeError(
                "RecurrentScan (the fused RNN/LSTM/GRU loop) is differentiable once only; for "
                "create_graph=True build the layer with fused=False (the composition of Tensor ops)"
            )
        xp, w_ih, w_hh, g = get_xp(g.data), self.inputs[1].data, self.inputs[3].data, g.data
        math, (steps, hidden, batch) = self.math, self.hs.shape
        h_prev = xp.concatenate([self.initial[0][None], self.hs[:-1]])  # (T, H, B)
        coef = math.backward_coefficients(
            self.proj, dict(self.seq, h=self.hs, h_prev=h_prev), self.initial, xp
        )
        d_x = xp.empty((math.gates, hidden, steps, batch), dtype=g.dtype)  # dA as (G, H, T, B)
        d_hproj = d_x if math.shared_pre_activation else xp.empty_like(d_x)
        g_h = xp.ascontiguousarray(
            g[:, :steps].transpose(1, 2, 0)
        )  # (T, H, B); g is (B, T + n_states - 1, H)
        carry = tuple(xp.ascontiguousarray(g[:, steps + k].T) for k in range(math.n_states - 1))
        d_h = xp.zeros_like(self.initial[0])  # the gradient reaching h_t from step t + 1
        for t in reversed(range(steps)):
            d_h += g_h[t]
            coef_t = {name: c[t] for name, c in coef.items()}
            d_x_t, d_hproj_t = d_x[:, :, t], d_hproj[:, :, t]  # (G, H, B), strided
            carry, direct = math.backward_step(d_h, carry, coef_t, d_x_t, d_hproj_t, xp)
            d_h = w_hh.T @ d_hproj_t.reshape(-1, batch)
            if direct is not None:
                d_h += direct
        # the weight and bias gradients contract over (t, b): one product each, feature-first (., T B)
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
        return tuple(constant(xp.asarray(d)) for d in grads)


def _feature_first(a, xp):
    """(T, F, B) -> (F, T B), contiguous: a sequence laid out for one product over all steps."""
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


def _register_gate_parameters(
    module: Module, suffix: str, input_size: int, hidden_size: int, bias: bool, generator: Generator | None
) -> None:
    """weight_ih{suffix} (G H, C), weight_hh{suffix} (G H, H), bias_ih/hh{suffix} (G H,) ~ U(+-1/sqrt H)."""
    rows = module.math.gates * hidden_size
    shapes = {
        "weight_ih": (rows, input_size),
        "weight_hh": (rows, hidden_size),
        "bias_ih": (rows,),
        "bias_hh": (rows,),
    }
    for name, shape in shapes.items():
        if name.startswith("bias") and not bias:
            module.register_parameter(name + suffix, None)
            continue
        parameter = init.fan_in_uniform_(new_parameter(*shape), hidden_size, generator)
        module.register_parameter(name + suffix, parameter)


def _zero_state(math: Any, batch: tuple[int, ...], hidden_size: int, like: Tensor) -> State:
    return tuple(
        zeros(*batch, hidden_size, dtype=like.dtype, device=like.device) for _ in range(math.n_states)
    )


def _as_tuple(math: Any, state: Any) -> State:
    return (state,) if math.n_states == 1 else tuple(state)


def _from_tuple(math: Any, state: State) -> Any:
    return state[0] if math.n_states == 1 else state


class _Cell(Module):
    """One time step: x (B, C) and a state -> the next state (h, or (h, c) for the LSTM)."""

    math: Any = RNNMath

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, generator: Generator | None = None
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _register_gate_parameters(self, "", input_size, hidden_size, bias, generator)

    def forward(self, x: Tensor, state: Any = None) -> Any:
        if state is None:
            state = _zero_state(self.math, x.shape[:-1], self.hidden_size, x)
        else:
            state = _as_tuple(self.math, state)
        x_proj = F.linear(x, self.weight_ih, self.bias_ih)
        new = self.math.step(x_proj, F.linear(state[0], self.weight_hh, self.bias_hh), state)
        return _from_tuple(self.math, new)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_Cell):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    math = RNNMath


class LSTMCell(_Cell):
    """(h', c') from x and (h, c); gates i, f, g, o as in the module docstring."""

    math = LSTMMath


class GRUCell(_Cell):
    """h' from x and h; gates r, z, n as in the module docstring."""

    math = GRUMath


class _Recurrent(Module):
    """Stacked layers over a batch-first sequence x (B, T, C); layer l > 0 reads layer l-1's outputs.

    ``forward(x, state=None)`` returns (outputs (B, T, H) of the last layer, final state), each state
    entry (num_layers, B, H) -- h_n, or (h_n, c_n) for the LSTM -- and takes an initial state of the
    same form (zeros by default). ``fused=True`` runs each layer as one ``RecurrentScan`` op
    (first-order gradients); ``fused=False`` composes Tensor ops (any order).
    """

    math: Any = RNNMath

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        fused: bool = True,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        if not batch_first:
            raise ValueError(f"{type(self).__name__}: only batch_first=True (B, T, C) inputs are supported")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.fused = bias, fused
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size
            _register_gate_parameters(self, f"_l{layer}", size, hidden_size, bias, generator)

    def layer_weights(self, layer: int) -> tuple[Tensor, ...]:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of ``layer`` (biases None without bias)."""
        return tuple(
            self._parameters[f"{name}_l{layer}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input (B, T, {self.input_size}), got {x.shape}"
            )
        if x.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: the sequence is empty (T = 0 in input {x.shape})")
        initial = self._initial_states(state, x)
        finals = []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer)
            if self.fused:
                x, final = scan_fused(self.math, x, (w_ih, w_hh, b_ih, b_hh), initial[layer])
            else:
                x_proj = F.linear(x, w_ih, b_ih)  # (B, T, G H): every time step in one product
                x, final = scan_composed(self.math, x_proj, w_hh, b_hh, initial[layer])
            finals.append(final)
        stacked = tuple(stack([final[k] for final in finals]) for k in range(self.math.n_states))
        return x, _from_tuple(self.math, stacked)  # (B, T, H), entries (num_layers, B, H)

    def _initial_states(self, state: Any, x: Tensor) -> list[State]:
        """One state tuple per layer, from entries of shape (num_layers, B, H) or zeros."""
        if state is None:
            return [_zero_state(self.math, x.shape[:1], self.hidden_size, x) for _ in range(self.num_layers)]
        entries = _as_tuple(self.math, state)
        expected = (self.num_layers, x.shape[0], self.hidden_size)
        for entry in entries:
            if entry.shape != expected:
                raise ValueError(
                    f"{type(self).__name__}: initial state entries must have shape (num_layers, B, H) = "
                    f"{expected}, got {entry.shape}"
                )
        return [tuple(entry[layer] for entry in entries) for layer in range(self.num_layers)]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}"


class RNN(_Recurrent):
    """Multi-layer Elman RNN with tanh: ``output, h_n = rnn(x, h_0)``."""

    math = RNNMath


class LSTM(_Recurrent):
    """Multi-layer LSTM: ``output, (h_n, c_n) = lstm(x, (h_0, c_0))``."""

    math = LSTMMath


class GRU(_Recurrent):
    """Multi-layer GRU: ``output, h_n = gru(x, h_0)``."""

    math = GRUMath
