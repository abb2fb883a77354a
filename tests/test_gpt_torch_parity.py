"""The whole GPT training step against PyTorch, in float64: same weights, same batches, same AdamW
groups, clipping and schedule. The losses and the final weights must agree to rounding, so any
difference between a zoo GPT run and a PyTorch (nanoGPT) run comes from randomness, not from the
model, its gradients or the optimizer. Skipped when torch is not installed (it is never a dependency).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import optim
from zoo.models import GPT, GPTConfig
from zoo.train import TrainConfig, learning_rate, parameter_groups

torch = pytest.importorskip("torch")

CONFIG = GPTConfig(vocab_size=11, context_length=8, n_layers=2, n_heads=2, d_model=16, bias=False)
TRAIN = TrainConfig(learning_rate=3e-3, min_lr=3e-4, warmup_steps=3, max_steps=15, weight_decay=0.1)


class TorchBlock(torch.nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(d, bias=False), torch.nn.LayerNorm(d, bias=False)
        self.qkv, self.attn_proj = torch.nn.Linear(d, 3 * d, bias=False), torch.nn.Linear(d, d, bias=False)
        self.fc, self.proj = torch.nn.Linear(d, 4 * d, bias=False), torch.nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln_1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.proj(torch.nn.functional.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class TorchGPT(torch.nn.Module):
    """nanoGPT's model (bias=False), with the zoo GPT's weights copied in."""

    def __init__(self, ours: GPT) -> None:
        super().__init__()
        c = ours.config
        self.wte = torch.nn.Embedding(c.vocab_size, c.d_model)
        self.wpe = torch.nn.Embedding(c.context_length, c.d_model)
        self.blocks = torch.nn.ModuleList(TorchBlock(c.d_model, c.n_heads) for _ in range(c.n_layers))
        self.ln_f = torch.nn.LayerNorm(c.d_model, bias=False)
        with torch.no_grad():
            self.wte.weight.copy_(torch.from_numpy(ours.token_embedding.weight.numpy()))
            self.wpe.weight.copy_(torch.from_numpy(ours.position_embedding.weight.numpy()))
            self.ln_f.weight.copy_(torch.from_numpy(ours.ln_f.weight.numpy()))
            for mine, block in zip(self.blocks, ours.blocks, strict=True):
                pairs = [
                    (mine.ln_1, block.ln_1),
                    (mine.ln_2, block.ln_2),
                    (mine.qkv, block.attn.qkv),
                    (mine.attn_proj, block.attn.proj),
                    (mine.fc, block.fc),
                    (mine.proj, block.proj),
                ]
                for theirs, ours_layer in pairs:
                    theirs.weight.copy_(torch.from_numpy(ours_layer.weight.numpy()))

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.T  # tied
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def test_gpt_training_matches_pytorch_step_by_step_in_float64():
    tg.manual_seed(3)
    ours = GPT(CONFIG).astype(np.float64)
    theirs = TorchGPT(ours).double()
    groups = parameter_groups(ours, TRAIN.weight_decay)
    our_opt = optim.AdamW(groups, lr=TRAIN.learning_rate, betas=(0.9, 0.99))
    params = list(theirs.parameters())
    their_opt = torch.optim.AdamW(
        [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": TRAIN.weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=TRAIN.learning_rate,
        betas=(0.9, 0.99),
    )
    rng = np.random.default_rng(0)
    for step in range(TRAIN.max_steps):
        window = rng.integers(0, CONFIG.vocab_size, (4, CONFIG.context_length + 1))
        x, y = window[:, :-1], window[:, 1:]
        lr = learning_rate(TRAIN, step, step / TRAIN.max_steps, TRAIN.warmup_steps / TRAIN.max_steps)
        for group in our_opt.param_groups + their_opt.param_groups:
            group["lr"] = lr
        _, loss = ours(tg.tensor(x), tg.tensor(y))
        our_opt.zero_grad()
        loss.backward()
        our_norm = optim.clip_grad_norm_(ours.parameters(), 0.5)
        our_opt.step()
        their_loss = theirs(torch.from_numpy(x), torch.from_numpy(y))
        their_opt.zero_grad()
        their_loss.backward()
        their_norm = torch.nn.utils.clip_grad_norm_(params, 0.5)
        their_opt.step()
        assert loss.item() == pytest.approx(their_loss.item(), rel=1e-11), step
        assert our_norm == pytest.approx(float(their_norm), rel=1e-10), step
    their_embedding = theirs.wte.weight.detach().numpy()
    np.testing.assert_allclose(ours.token_embedding.weight.numpy(), their_embedding, rtol=1e-9)
    assert math.isfinite(loss.item())
