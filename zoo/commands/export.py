"""``python -m zoo export``: a checkpoint in another library's format.

* ``--format safetensors`` (neural models): the weights plus a JSON config (``zoo.safetensors_weights``);
  a tied GPT under nanoGPT's parameter names, so it loads into nanoGPT's ``GPT`` with ``load_state_dict``.
* ``--format arpa`` (the n-gram): the ARPA backoff model KenLM and SRILM read (``zoo.models.arpa``).

The output is written atomically and never over an existing file (``--force`` replaces it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zoo.checkpoints import load_checkpoint
from zoo.commands.common import say, user_input
from zoo.models import NGramLM, write_arpa
from zoo.nanogpt_layout import nanogpt_gelu_note
from zoo.safetensors_weights import export_safetensors

FORMATS = ("safetensors", "arpa")


def check_output(path: Path, force: bool) -> None:
    """A ValueError unless ``path`` is new (or ``force``) and its folder exists."""
    if path.exists() and not force:
        raise ValueError(f"-o {path} exists: choose another path or pass --force to replace it")
    if not path.parent.is_dir():
        raise ValueError(f"-o {path}: the folder {path.parent} does not exist")


def run(args: argparse.Namespace) -> int:
    """Read ``--checkpoint`` and write it as ``--format`` to ``-o``."""
    out = Path(args.output)
    with user_input():
        check_output(out, args.force)
        model, tokenizer, info, _ = load_checkpoint(args.checkpoint)
        is_ngram = isinstance(model, NGramLM)
        if args.format == "arpa" and not is_ngram:
            raise ValueError(f"--format arpa is for the n-gram; {args.checkpoint} holds a {info['model']}")
        if args.format == "safetensors" and is_ngram:
            raise ValueError(f"--format safetensors is for neural models; {args.checkpoint} holds an n-gram")
        if args.format == "safetensors":
            layout = export_safetensors(model, info, out, args.layout)
        else:
            write_arpa(model, tokenizer, out)
    if args.format == "safetensors":
        say(f"wrote {out}: {info['model']} weights, {layout} layout")
        note = nanogpt_gelu_note(model.config) if layout == "nanogpt" else None
        if note:
            say(f"note: {note}")
    else:
        say(f"wrote {out}: order-{model.order} {model.smoothing} n-gram in ARPA backoff form")
    return 0
