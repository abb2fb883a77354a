"""The zoo GPT's parameters under the names and layout of nanoGPT's ``model.py``, and back.

    zoo GPT                           nanoGPT (``GPT.state_dict()``)
    token_embedding.weight            transformer.wte.weight          (V, C)
    position_embedding.weight         transformer.wpe.weight          (T, C)
    blocks.{i}.ln_1.{weight,bias}     transformer.h.{i}.ln_1.{weight,bias}
    blocks.{i}.attn.qkv.*             transformer.h.{i}.attn.c_attn.*  (3C, C): rows q, then k, then v
    blocks.{i}.attn.proj.*            transformer.h.{i}.attn.c_proj.*  (C, C)
    blocks.{i}.ln_2.*                 transformer.h.{i}.ln_2.*
    blocks.{i}.fc.*                   transformer.h.{i}.mlp.c_fc.*     (4C, C)
    blocks.{i}.proj.*                 transformer.h.{i}.mlp.c_proj.*   (C, 4C)
    ln_f.*                            transformer.ln_f.*
    lm_head.weight                    lm_head.weight                   (V, C), tied to wte

Both libraries keep a linear layer's weight as (out, in) and pack q, k, v the same way (the first C
output features are q, heads contiguous within each), so every array is copied as it is: only the
names change. nanoGPT always ties ``lm_head`` to ``wte`` (its ``state_dict`` lists the shared
array under both names), so only a tied zoo GPT has this layout; ``bias=False`` drops the bias keys
in both. nanoGPT's MLP uses the exact GELU (``nn.GELU()``): a zoo GPT trained with ``gelu="tanh"``
(the zoo's default) loads, but its logits in nanoGPT differ by the GELU approximation
(``nanogpt_gelu_note``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

RENAMES = (  # (zoo name, nanoGPT name); {i} is a block's index, {p} is weight or bias
    ("token_embedding.weight", "transformer.wte.weight"),
    ("position_embedding.weight", "transformer.wpe.weight"),
    ("blocks.{i}.ln_1.{p}", "transformer.h.{i}.ln_1.{p}"),
    ("blocks.{i}.attn.qkv.{p}", "transformer.h.{i}.attn.c_attn.{p}"),
    ("blocks.{i}.attn.proj.{p}", "transformer.h.{i}.attn.c_proj.{p}"),
    ("blocks.{i}.ln_2.{p}", "transformer.h.{i}.ln_2.{p}"),
    ("blocks.{i}.fc.{p}", "transformer.h.{i}.mlp.c_fc.{p}"),
    ("blocks.{i}.proj.{p}", "transformer.h.{i}.mlp.c_proj.{p}"),
    ("ln_f.{p}", "transformer.ln_f.{p}"),
    ("lm_head.weight", "lm_head.weight"),
)
_FIELDS = {"i": r"(?P<i>\d+)", "p": r"(?P<p>weight|bias)"}


def _template_regex(template: str) -> str:
    """``"blocks.{i}.fc.{p}"`` -> a regex matching such names, with the fields as named groups."""
    parts = re.split(r"\{(\w)\}", template)  # text, field, text, field, ...
    return "".join(_FIELDS[part] if k % 2 else re.escape(part) for k, part in enumerate(parts))


def _rename(name: str, source: int, what: str) -> str:
    """``name`` from column ``source`` of ``RENAMES`` (0: zoo, 1: nanoGPT) to the other column."""
    for pair in RENAMES:
        found = re.fullmatch(_template_regex(pair[source]), name)
        if found:
            return pair[1 - source].format(**found.groupdict())
    known = ", ".join(pair[source] for pair in RENAMES)
    raise ValueError(f"{what}: {name!r} is not a parameter of that layout (expected one of {known})")


def nanogpt_config(config: Any) -> dict:
    """nanoGPT's ``GPTConfig`` fields for a zoo ``GPTConfig``: ``GPT(GPTConfig(**this))``."""
    return {
        "block_size": config.context_length,
        "vocab_size": config.vocab_size,
        "n_layer": config.n_layers,
        "n_head": config.n_heads,
        "n_embd": config.d_model,
        "dropout": config.dropout,
        "bias": config.bias,
    }


def nanogpt_gelu_note(config: Any) -> str | None:
    """What a user loading this GPT into nanoGPT's ``model.py`` must know about its GELU, if anything."""
    if config.gelu == "none":
        return None
    return (
        "this GPT's MLP uses the tanh GELU (gelu='tanh'); nanoGPT's model.py uses the exact one "
        "(nn.GELU()): use nn.GELU(approximate='tanh') there for the same logits"
    )


def to_nanogpt(state: dict[str, np.ndarray], config: Any) -> dict[str, np.ndarray]:
    """The zoo GPT's ``state`` (name -> array) under nanoGPT's names; needs ``config.tie_weights``."""
    if not config.tie_weights:
        raise ValueError(
            "a GPT with tie_weights=False has no nanoGPT layout (nanoGPT ties lm_head to wte): "
            "export it with --layout zoo"
        )
    return {_rename(name, 0, "zoo GPT"): array for name, array in state.items()}


def from_nanogpt(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """nanoGPT's names back to the zoo GPT's; ``lm_head.weight`` must equal ``transformer.wte.weight``."""
    tied = ("lm_head.weight", "transformer.wte.weight")
    if all(name in tensors for name in tied) and not np.array_equal(*(tensors[name] for name in tied)):
        raise ValueError(
            "lm_head.weight differs from transformer.wte.weight: nanoGPT ties them, so the file is "
            "not a nanoGPT GPT (or was edited)"
        )
    return {_rename(name, 1, "nanoGPT"): array for name, array in tensors.items()}
