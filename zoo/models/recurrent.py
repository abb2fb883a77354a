"""Recurrent language models: vanilla (tanh) RNN, LSTM and GRU over embedded tokens.

    e_t = E[x_t]                      (B, T, d_embed)
    h_t = cell(e_t, h_{t-1})          (B, T, d_hidden), n_layers stacked
    logits_t = W h_t + b              (B, T, V)

Trained with truncated backpropagation through time: consecutive windows of each stream are fed in
order and the final state of one window (detached from its graph) starts the next, so the state
carries context far beyond ``context_length`` (the BPTT window) while gradients stop at the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tinygrad_lm as tg
from tinygrad_lm import nn

from .base import LanguageModel

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass
class RecurrentConfig:
    vocab_size: int = 65
    context_length: int = 64  # truncated-BPTT window
    d_embed: int = 64
    d_hidden: int = 256
    n_layers: int = 1
    cell: str = "lstm"  # "rnn" | "lstm" | "gru"


class RecurrentLM(LanguageModel):
    """Embedding -> multi-layer RNN/LSTM/GRU -> linear read-out; ``forward_stateful`` carries the state."""

    recurrent = True

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"unknown cell {config.cell!r}; expected one of {sorted(CELLS)}")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.d_embed)
        self.rnn = CELLS[config.cell](config.d_embed, config.d_hidden, num_layers=config.n_layers)
        self.head = nn.Linear(config.d_hidden, config.vocab_size)

    def forward_stateful(self, idx: tg.Tensor, state: Any = None) -> tuple[tg.Tensor, Any]:
        """idx (B, T), state from the previous window (or None) -> logits (B, T, V), final state."""
        hidden, state = self.rnn(self.embedding(idx), state)  # (B, T, d_hidden)
        return self.head(hidden), state

    def logits(self, idx: tg.Tensor) -> tg.Tensor:
        return self.forward_stateful(idx)[0]

    def start_decoding(self, idx: tg.Tensor) -> tuple[tg.Tensor, Any]:
        logits, state = self.forward_stateful(idx)
        return logits[:, -1], state

    def continue_decoding(self, token: tg.Tensor, state: Any) -> tuple[tg.Tensor, Any]:
        logits, state = self.forward_stateful(token.reshape(-1, 1), state)
        return logits[:, -1], state


def detach_state(state: Any) -> Any:
    """The same hidden state cut from its graph (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(detach_state(s) for s in state)
    return state.detach()


class RNNLM(RecurrentLM):
    """Elman RNN: h_t = tanh(W_ih e_t + b_ih + W_hh h_{t-1} + b_hh)."""

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__(_with_cell(config, "rnn"))


class LSTMLM(RecurrentLM):
    """LSTM (Hochreiter & Schmidhuber 1997) with input, forget, cell and output gates."""

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__(_with_cell(config, "lstm"))


class GRULM(RecurrentLM):
    """GRU (Cho et al. 2014) with reset and update gates."""

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__(_with_cell(config, "gru"))


def _with_cell(config: RecurrentConfig, cell: str) -> RecurrentConfig:
    from dataclasses import replace

    return replace(config, cell=cell)
