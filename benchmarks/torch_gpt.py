"""nanoGPT's GPT written in PyTorch: the reference the benchmarks time and train against.

PyTorch is a reference only, never a dependency of the library: callers pass the ``torch`` module in.
The model follows nanoGPT's ``model.py`` (pre-LN blocks, ``F.scaled_dot_product_attention``, tied
input and output embeddings, N(0, 0.02) initialisation with the residual projections scaled by
1/sqrt(2N), dropout on the embeddings, the attention weights and both residual branches);
``forward(idx)`` returns the logits (B, T, V), on the device of ``idx``.
"""

from __future__ import annotations

import math
from typing import Any


def nanogpt_model(
    torch: Any,
    vocab_size: int,
    context_length: int = 64,
    n_layers: int = 4,
    n_heads: int = 4,
    d_model: int = 128,
    bias: bool = False,
    gelu: str = "tanh",
    dropout: float = 0.0,
) -> Any:
    tnn, F = torch.nn, torch.nn.functional

    def drop() -> Any:  # nanoGPT's dropout sites; none at all when dropout is 0
        return tnn.Dropout(dropout) if dropout else tnn.Identity()

    class Block(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(d_model, bias=bias), tnn.LayerNorm(d_model, bias=bias)
            self.c_attn = tnn.Linear(d_model, 3 * d_model, bias=bias)
            self.attn_c_proj = tnn.Linear(d_model, d_model, bias=bias)
            self.c_fc = tnn.Linear(d_model, 4 * d_model, bias=bias)
            self.c_proj = tnn.Linear(4 * d_model, d_model, bias=bias)
            self.gelu = tnn.GELU(approximate=gelu)
            self.attn_dropout, self.mlp_dropout = drop(), drop()

        def forward(self, x):
            b, t, _ = x.shape
            heads = self.c_attn(self.ln_1(x)).view(b, t, 3, n_heads, d_model // n_heads)
            q, k, v = heads.permute(2, 0, 3, 1, 4)
            p = dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            x = x + self.attn_dropout(self.attn_c_proj(y.transpose(1, 2).reshape(b, t, d_model)))
            return x + self.mlp_dropout(self.c_proj(self.gelu(self.c_fc(self.ln_2(x)))))

    class GPT(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(vocab_size, d_model), tnn.Embedding(context_length, d_model)
            self.blocks = tnn.ModuleList(Block() for _ in range(n_layers))
            self.ln_f = tnn.LayerNorm(d_model, bias=bias)
            self.dropout = drop()
            for module in self.modules():
                if isinstance(module, tnn.Linear | tnn.Embedding):
                    tnn.init.normal_(module.weight, 0.0, 0.02)
                if isinstance(module, tnn.Linear) and module.bias is not None:
                    tnn.init.zeros_(module.bias)
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):  # both residual projections
                    tnn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layers))

        def forward(self, idx):
            x = self.dropout(self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device)))
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.T  # tied output layer

    return GPT()


def nanogpt_optimizer(torch: Any, model: Any, lr: float, weight_decay: float, betas: tuple) -> Any:
    """AdamW with weight decay on matrices (2-D and up) only, as nanoGPT's ``configure_optimizers``."""
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)
