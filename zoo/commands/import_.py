"""``python -m zoo import``: a file written in another library's format back into a zoo checkpoint
(``--format safetensors``: an export of ``python -m zoo export``), ready for ``sample`` and ``eval``."""

from __future__ import annotations

import argparse
from pathlib import Path

import tinygrad_lm as tg
from zoo.commands.common import say, user_input
from zoo.commands.export import check_output
from zoo.safetensors_weights import import_safetensors


def run(args: argparse.Namespace) -> int:
    """Read ``INPUT`` and write the zoo checkpoint ``-o``."""
    out = Path(args.output)
    with user_input():
        check_output(out, args.force)
        model, info = import_safetensors(args.input)
    state = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    tg.save({"model": state, "train_config": None, "zoo": {**info, "imported_from": str(args.input)}}, out)
    say(f"wrote {out}: {info['model']} ({model.num_parameters():,} parameters) from {args.input}")
    return 0
