"""Checkpoints of the zoo's models, written by ``python -m zoo train`` and read by ``sample``/``eval``.

A checkpoint is one ``tinygrad_lm.save`` archive holding the trainer's state (``Trainer.save``: the
weights, optimizer, generator, stream position; or the fitted n-gram's counts under ``"ngram"``) plus
``"zoo"``: the model's catalog name and config, the tokenizer (``to_dict``: its kind and vocabulary;
checkpoints from before the other kinds hold a character tokenizer without a ``type``) and the
dataset, which is what ``load_checkpoint`` needs to rebuild the model through ``zoo.catalog``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import tinygrad_lm as tg
from zoo.catalog import instantiate, model_spec
from zoo.models import NGramLM
from zoo.tokenizers import tokenizer_from_dict
from zoo.train import Trainer


def checkpoint_info(name: str, config: Any, tokenizer: Any, data: dict) -> dict:
    """What ``sample``/``eval``/``--resume`` need besides the weights: model, config, tokenizer, data."""
    return {"model": name, "config": asdict(config), "tokenizer": tokenizer.to_dict(), "data": data}


def save_checkpoint(model_or_trainer: Any, path: str | Path, info: dict) -> None:
    """Write ``path`` atomically: the trainer's full state (``Trainer.save``, for bit-exact resuming)
    or the n-gram's counts, plus ``info`` under ``"zoo"``."""
    if isinstance(model_or_trainer, Trainer):
        model_or_trainer.save(str(path), zoo=info)
    else:
        tg.save({"ngram": model_or_trainer.state_dict(), "zoo": info}, path)


class Checkpoint(NamedTuple):
    """What ``load_checkpoint`` returns; ``train_config`` is the saved ``TrainConfig`` (None for n-grams)."""

    model: Any
    tokenizer: Any
    info: dict
    train_config: dict | None


def load_checkpoint(path: str | Path, device: str = "cpu") -> Checkpoint:
    """The model (weights loaded, on ``device``), tokenizer and metadata of a ``save_checkpoint`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    checkpoint = tg.load(path, map_location=device)
    if "zoo" not in checkpoint:
        raise ValueError(f"{path} is not a zoo checkpoint (write one with `python -m zoo train`)")
    info = checkpoint["zoo"]
    tokenizer = tokenizer_from_dict(info["tokenizer"], f"{path}: the tokenizer")
    spec = model_spec(info["model"])
    if not spec.neural:
        return Checkpoint(NGramLM.from_state_dict(checkpoint["ngram"], device), tokenizer, info, None)
    model = instantiate(spec.name, spec.config_class(**info["config"]))
    model.to(device).load_state_dict(checkpoint["model"])
    return Checkpoint(model, tokenizer, info, checkpoint["train_config"])
