"""What every neural language model of the zoo shares: the loss, the interface, and generation.

A model maps token ids ``idx`` (B, T) to next-token logits (B, T, V):

    forward(idx, targets=None) -> (logits, loss)      loss = mean_{b,t} -log softmax(logits)[targets]

and generates by repeated sampling. Generation goes through two hooks so that each architecture
decides what it carries from one step to the next:

    start_decoding(idx)            -> (logits of the last position (B, V), state)
    continue_decoding(token, state) -> (logits for the next position (B, V), state)

The defaults re-run ``forward`` on the last ``context_length`` tokens (state = the tokens so far);
the GPT carries a key/value cache and the recurrent models their hidden state instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import asnumpy, nn, to_device
from tinygrad_lm import functional as F

from ..sampling import sample_next


class LanguageModel(nn.Module):
    """Base class: subclasses set ``self.config`` and implement ``logits(idx)``."""

    recurrent = False  # recurrent models carry a hidden state across windows (truncated BPTT)

    @property
    def context_length(self) -> int:
        return self.config.context_length

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def logits(self, idx: tg.Tensor) -> tg.Tensor:
        raise NotImplementedError

    def forward(self, idx: Any, targets: Any = None) -> tuple[tg.Tensor, tg.Tensor | None]:
        """``idx`` (B, T) int -> logits (B, T, V) and, with ``targets`` (B, T), the mean cross-entropy."""
        idx = self._check_ids(idx, "idx")
        logits = self.logits(idx)
        return logits, self.loss(logits, targets)

    def loss(self, logits: tg.Tensor, targets: Any) -> tg.Tensor | None:
        if targets is None:
            return None
        targets = self._check_ids(targets, "targets")
        if targets.shape != logits.shape[:-1]:
            raise ValueError(f"targets of shape {targets.shape} do not match logits {logits.shape[:-1]}")
        return F.cross_entropy(logits, targets)

    def _check_ids(self, ids: Any, name: str) -> tg.Tensor:
        ids = ids if isinstance(ids, tg.Tensor) else tg.as_tensor(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(
                f"{type(self).__name__}: {name} must be (B, T) integers, got {ids.shape} {ids.dtype}"
            )
        return ids

    # ----------------------------------------------------------------------------- generation
    def start_decoding(self, idx: tg.Tensor) -> tuple[tg.Tensor, Any]:
        logits, _ = self(idx[:, -self.context_length :])
        return logits[:, -1], idx

    def continue_decoding(self, token: tg.Tensor, state: Any) -> tuple[tg.Tensor, Any]:
        idx = tg.cat([state, token.reshape(-1, 1)], axis=1)
        return self.start_decoding(idx)

    def generate(
        self,
        idx: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: tg.Generator | None = None,
    ) -> np.ndarray:
        """Extend each row of ``idx`` (B, T) by ``max_new_tokens`` sampled tokens -> NumPy (B, T + n)."""
        device = self.device()
        prompt = to_device(np.asarray(asnumpy(getattr(idx, "data", idx)), dtype=np.int64), device)
        if prompt.ndim != 2 or prompt.shape[1] == 0:
            raise ValueError(f"generate: idx must be (B, T) with T >= 1, got {prompt.shape}")
        was_training = self.training
        self.eval()
        try:
            with tg.no_grad():
                tokens = [asnumpy(prompt)]
                logits, state = self.start_decoding(tg.as_tensor(prompt))
                for step in range(max_new_tokens):
                    new = sample_next(logits.data, temperature, top_k, top_p, generator)
                    tokens.append(asnumpy(new)[:, None])
                    if step + 1 < max_new_tokens:
                        logits, state = self.continue_decoding(tg.as_tensor(new), state)
        finally:
            self.train(was_training)
        return np.concatenate(tokens, axis=1)

    def device(self) -> str:
        return next(iter(self.parameters())).device
