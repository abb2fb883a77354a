"""Recurrent layers: cells (one time step) and multi-layer ``RNN``/``LSTM``/``GRU`` over (B, T, C).

Equations, gate orders, parameter names and initialisation follow PyTorch, so weights copy across:

* RNN (tanh):  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
* LSTM, gates (i, f, g, o) stacked in W_ih (4H, C) and W_hh (4H, H):
  i, f, o = sigmoid(.), g = tanh(.) of (W_ih x + b_ih + W_hh h + b_hh);  c' = f c + i g;  h' = o tanh(c')
* GRU, gates (r, z, n):  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z likewise,
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) n + z h

Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)). A state is a tuple: (h,) or, for the LSTM, (h, c).

The cells' equations are written twice, with Tensor ops and on arrays (``recurrent_cells.py``); a layer
runs as one fused ``RecurrentScan`` op per layer, or as composed Tensor ops with ``fused=False``
(``recurrent_scan.py``).
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..backend import Generator
from ..creation import zeros
from ..ops.movement import stack
from ..tensor import Tensor
from . import init
from .layers import new_parameter
from .module import Module
from .recurrent_cells import GRUMath, LSTMMath, RNNMath, State
from .recurrent_scan import scan_composed, scan_fused


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
