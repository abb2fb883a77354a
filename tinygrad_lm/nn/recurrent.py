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
fused ``RecurrentScan`` op). The multi-layer driver, shared by the three layers, projects the inputs
of ALL time steps in one product (B*T, C) @ W_ih^T per layer; the loop then does h @ W_hh^T and the
element-wise gates per step.
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


def _sigmoid(a, xp):
    """1 / (1 + e^-a) = (1 + tanh(a/2)) / 2, which never overflows."""
    return 0.5 * (1 + xp.tanh(0.5 * a))


def _lstm_gates(a, xp):
    """(sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)) with ONE exponential, in place on a (B, 4H):
    s = 1 / (1 + e^(-k a)) with k = 1 on i, f, o and k = 2 on g, then g = 2 s - 1 = tanh(a_g).
    (e^(-k a) may overflow to inf, where s = 0 exactly: the limit.)"""
    hidden = a.shape[-1] // 4
    a *= _gate_exponents(a.shape[-1], a.dtype.str, xp)
    with overflow_allowed():
        xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)
    g = a[..., 2 * hidden : 3 * hidden]
    g *= 2
    g -= 1
    return a


@functools.lru_cache(maxsize=32)
def _gate_exponents(width: int, dtype: str, xp: Any) -> Any:
    """-k of ``_lstm_gates``: -1 on the i, f, o quarters and -2 on g."""
    exponents = xp.full(width, -1.0, dtype=dtype)
    exponents[width // 2 : 3 * width // 4] = -2.0
    return exponents


def _split(a, parts: int) -> list:
    """The last axis of an array cut into ``parts`` equal pieces (views)."""
    size = a.shape[-1] // parts
    return [a[..., k * size : (k + 1) * size] for k in range(parts)]


class RNNMath:
    """h' = tanh(a), a = x_proj + h_proj;  da = dh' (1 - h'^2)."""

    gates, n_states = 1, 1
    shared_pre_activation = True  # d x_proj = d h_proj: backward stores it once

    @staticmethod
    def step(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        return ((x_proj + h_proj).tanh(),)

    @staticmethod
    def forward_arrays(x_proj, h_proj, state, xp):
        h_proj += x_proj  # h_proj is the driver's fresh buffer: the step may overwrite it
        h = xp.tanh(h_proj, out=h_proj)
        return (h,), h

    @staticmethod
    def backward_arrays(d_state, h, xp):
        """(d x_proj, d h_proj, gradient reaching the previous state other than through h_proj)."""
        da = d_state[0] * (1 - h * h)
        return da, da, (0,)


class LSTMMath:
    """c' = f c + i g, h' = o tanh c';  with a = x_proj + h_proj split (i, f, g, o):
    dc = dc' + dh' o (1 - tanh^2 c'),  da = (dc g i(1-i), dc c f(1-f), dc i (1-g^2), dh' tanh c' o(1-o)),
    and dc flows on as dc f."""

    gates, n_states = 4, 2
    shared_pre_activation = True

    @staticmethod
    def step(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        _, c = state
        i, f, g, o = (x_proj + h_proj).chunk(4, axis=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    @staticmethod
    def forward_arrays(x_proj, h_proj, state, xp):
        _, c_prev = state
        h_proj += x_proj
        act = _lstm_gates(h_proj, xp)
        i, f, g, o = _split(act, 4)
        c = f * c_prev
        c += i * g
        tanh_c = xp.tanh(c)
        return (o * tanh_c, c), (act, c_prev, tanh_c)

    @staticmethod
    def backward_arrays(d_state, saved, xp):
        dh, dc = d_state
        act, c_prev, tanh_c = saved
        i, f, g, o = _split(act, 4)
        dc = dc + dh * o * (1 - tanh_c * tanh_c)
        slopes = 1 - act  # the activations' derivatives: s (1 - s) on i, f, o and 1 - g^2 on g
        slopes *= act
        slopes[..., g_slice(act)] = 1 - g * g
        da = xp.empty_like(act)
        di, df, dg, do = _split(da, 4)
        xp.multiply(dc, g, out=di)
        xp.multiply(dc, c_prev, out=df)
        xp.multiply(dc, i, out=dg)
        xp.multiply(dh, tanh_c, out=do)
        da *= slopes
        return da, da, (0, dc * f)


def g_slice(act) -> slice:
    """Where the cell input g sits among the LSTM's (i, f, g, o) gates on the last axis."""
    hidden = act.shape[-1] // 4
    return slice(2 * hidden, 3 * hidden)


class GRUMath:
    """h' = n + z (h - n), n = tanh(a_n), a_n = x_n + r h_n:  da_n = dh' (1 - z)(1 - n^2),
    dr = da_n h_n,  dz = dh' (h - n);  d x_proj = (dr r(1-r), dz z(1-z), da_n),
    d h_proj = (same, same, da_n r), and dh' z reaches h directly."""

    gates, n_states = 3, 1
    shared_pre_activation = False

    @staticmethod
    def step(x_proj: Tensor, h_proj: Tensor, state: State) -> State:
        (h,) = state
        x_r, x_z, x_n = x_proj.chunk(3, axis=-1)
        h_r, h_z, h_n = h_proj.chunk(3, axis=-1)
        r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        return ((1 - z) * n + z * h,)

    @staticmethod
    def forward_arrays(x_proj, h_proj, state, xp):
        (h,) = state
        hidden = h.shape[-1]
        rz = _sigmoid(x_proj[:, : 2 * hidden] + h_proj[:, : 2 * hidden], xp)  # (B, 2H)
        r, z = _split(rz, 2)
        h_n = h_proj[:, 2 * hidden :]
        n = xp.tanh(x_proj[:, 2 * hidden :] + r * h_n)
        return (n + z * (h - n),), (rz, n, h_n, h)

    @staticmethod
    def backward_arrays(d_state, saved, xp):
        (dh,) = d_state
        rz, n, h_n, h = saved
        r, z = _split(rz, 2)
        da_n = dh * (1 - z) * (1 - n * n)
        da_rz = xp.concatenate([da_n * h_n * r * (1 - r), dh * (h - n) * z * (1 - z)], axis=-1)
        return xp.concatenate([da_rz, da_n], -1), xp.concatenate([da_rz, da_n * r], -1), (dh * z,)


class RecurrentScan(Function):
    """One layer over a whole sequence as one op, for speed: state_t = cell(x_proj_t, h_{t-1} W_hh^T + b_hh).

    Inputs x_proj (B, T, G H) (the input projections), W_hh (G H, H), b_hh (G H,), then the initial
    state arrays (B, H). The output packs h_1..h_T followed by the final values of the other state
    entries (c_T for the LSTM): (B, T + n_states - 1, H).

    Backward runs back through time on arrays with the cell's hand-derived step, storing the
    pre-activation gradients dA (B, T, G H); then dW_hh = dA^T h_prev and db_hh = sum dA in ONE product
    after the loop. Time steps are read and written as strided views of the (B, T, .) arrays. It is
    first-order only: under ``create_graph`` it raises (use ``fused=False``).
    """

    def forward(self, x_proj, w_hh, b_hh, *state, math=RNNMath):
        xp = get_xp(x_proj)
        (batch, steps, _), hidden = x_proj.shape, w_hh.shape[1]
        self.math, self.h0 = math, state[0]
        packed = xp.empty((batch, steps + math.n_states - 1, hidden), dtype=x_proj.dtype)
        self.saved, recording = [], is_grad_enabled()  # under no_grad nothing is kept for backward
        for t in range(steps):  # x_proj[:, t] and packed[:, t] are strided views: no transposed copies
            h_proj = state[0] @ w_hh.T
            h_proj += b_hh
            state, saved = math.forward_arrays(x_proj[:, t], h_proj, state, xp)
            packed[:, t] = state[0]
            if recording:
                self.saved.append(saved)
        for k, final in enumerate(state[1:]):
            packed[:, steps + k] = final
        self.hs = packed[:, :steps]  # (B, T, H)
        return packed

    def backward(self, g):
        if is_grad_enabled():
            raise RuntimeError(
                "RecurrentScan (the fused RNN/LSTM/GRU loop) is differentiable once only; for "
                "create_graph=True build the layer with fused=False (the composition of Tensor ops)"
            )
        xp, w_hh, g = get_xp(g.data), self.inputs[1].data, g.data  # g: (B, T + n_states - 1, H)
        steps = len(self.saved)
        d_state = (xp.zeros_like(g[:, 0]), *(g[:, k] for k in range(steps, g.shape[1])))
        d_x = xp.empty((g.shape[0], steps, w_hh.shape[0]), dtype=g.dtype)  # (B, T, G H)
        d_hproj = d_x if self.math.shared_pre_activation else xp.empty_like(d_x)
        for t in reversed(range(steps)):
            d_state = (d_state[0] + g[:, t], *d_state[1:])
            d_x[:, t], d_h, d_prev = self.math.backward_arrays(d_state, self.saved[t], xp)
            if d_hproj is not d_x:
                d_hproj[:, t] = d_h
            d_prev_h = d_hproj[:, t] @ w_hh
            d_prev_h += d_prev[0]
            d_state = (d_prev_h, *d_prev[1:])
        h_prev = xp.concatenate([self.h0[:, None], self.hs[:, :-1]], axis=1)  # (B, T, H)
        flat = d_hproj.reshape(-1, w_hh.shape[0])  # (B T, G H)
        d_w = flat.T @ h_prev.reshape(-1, w_hh.shape[1])
        grads = (d_x, d_w, flat.sum(axis=0), *d_state)
        return tuple(constant(xp.asarray(d)) for d in grads)


def scan_fused(math: Any, x_proj: Tensor, w_hh: Tensor, b_hh: Tensor | None, state: State) -> tuple:
    """(outputs (B, T, H), final state) of one layer with ``RecurrentScan``."""
    if b_hh is None:
        b_hh = zeros(w_hh.shape[0], dtype=w_hh.dtype, device=w_hh.device)
    packed = RecurrentScan.apply(x_proj, w_hh, b_hh, *state, math=math)  # (B, T + n_states - 1, H)
    steps = x_proj.shape[1]
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
        scan = scan_fused if self.fused else scan_composed
        initial = self._initial_states(state, x)
        finals = []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer)
            x_proj = F.linear(x, w_ih, b_ih)  # (B, T, G H): every time step in one product
            x, final = scan(self.math, x_proj, w_hh, b_hh, initial[layer])
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
