"""The model catalog: every language model of the zoo by name, with its configuration and checkpoints.

    name -> ModelSpec(model class, config dataclass, default overrides, --quick overrides, training)

A model's configuration is its config dataclass filled in layers, later ones winning: the
dataclass defaults, the catalog's ``defaults`` (the small models ``python -m zoo compare`` trains),
the ``quick`` overrides (``--quick``: smaller still), then the command line (``--set key=value``,
each value converted to the field's type; no ``eval``). ``compare`` and ``train`` both build their
models through ``build_model`` and train them through ``zoo.train.Trainer``, so a model added here is
available to every command (see the README, "Adding a model to the zoo").

A checkpoint (``save_checkpoint``/``load_checkpoint``) is one ``tinygrad_lm.save`` archive holding the
trainer's state (or the n-gram counts) plus ``"zoo"``: the model's catalog name and config, the
tokenizer's characters and the dataset, which is what ``sample`` and ``eval`` need to rebuild it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import tinygrad_lm as tg
from zoo.models import (
    GPT,
    GRULM,
    LSTMLM,
    MLPLM,
    RNNLM,
    GPTConfig,
    MLPConfig,
    NeuralNGramConfig,
    NeuralNGramLM,
    RecurrentConfig,
)
from zoo.models.ngram import NGramLM
from zoo.tokenizers import CharTokenizer
from zoo.train import TrainConfig, Trainer


@dataclass
class NGramConfig:
    """The count-based model's settings; ``order = 0`` chooses the order on validation (1..max_order)."""

    vocab_size: int = 65
    order: int = 0
    max_order: int = 8
    smoothing: str = "mkn"  # "mkn" (modified Kneser-Ney) | "kn" | "addk"
    k: float = 1.0  # add-k pseudo-count


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the catalog. ``training`` overrides ``TrainConfig`` (batch size, learning rate);
    the learning rates suit short budgets (about a minute of training on a CPU)."""

    name: str
    description: str
    model_class: type
    config_class: type
    defaults: dict = field(default_factory=dict)
    quick: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)

    @property
    def neural(self) -> bool:
        """Trained by gradient descent (everything but the count-based n-gram)."""
        return self.model_class is not NGramLM


def _recurrent(name: str, description: str, model_class: type) -> ModelSpec:
    """The three recurrent models share their sizes and training settings (truncated BPTT, T = 64)."""
    return ModelSpec(
        name,
        description,
        model_class,
        RecurrentConfig,
        defaults={"context_length": 64, "d_embed": 64, "d_hidden": 256, "n_layers": 1},
        quick={"context_length": 32, "d_embed": 32, "d_hidden": 96},
        training={"batch_size": 32, "learning_rate": 1e-2, "min_lr": 1e-3},
    )


CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("ngram", "count-based n-gram, interpolated modified Kneser-Ney", NGramLM, NGramConfig),
        ModelSpec(
            "bigram",
            "neural bigram: a table of logits trained by gradient descent",
            NeuralNGramLM,
            NeuralNGramConfig,
            defaults={"order": 2, "context_length": 64},
            quick={"context_length": 32},
            training={"batch_size": 32, "learning_rate": 0.1, "min_lr": 0.01, "weight_decay": 0.0},
        ),
        ModelSpec(
            "mlp",
            "Bengio et al. (2003) MLP over the previous 8 embedded characters",
            MLPLM,
            MLPConfig,
            defaults={"context_length": 64, "n_context": 8, "d_embed": 32, "d_hidden": 512},
            quick={"context_length": 32, "d_embed": 16, "d_hidden": 128},
            training={"batch_size": 32, "learning_rate": 1e-2, "min_lr": 1e-3},
        ),
        _recurrent("rnn", "Elman RNN (tanh), truncated BPTT", RNNLM),
        _recurrent("lstm", "LSTM, truncated BPTT", LSTMLM),
        _recurrent("gru", "GRU, truncated BPTT", GRULM),
        ModelSpec(
            "gpt",
            "decoder-only Transformer (nanoGPT)",
            GPT,
            GPTConfig,
            defaults={"context_length": 64, "n_layers": 4, "n_heads": 4, "d_model": 128},
            quick={"context_length": 32, "n_layers": 2, "n_heads": 2, "d_model": 48},
            training={"batch_size": 12, "learning_rate": 2e-3, "min_lr": 2e-4},
        ),
    )
}
DEFAULT_MODELS = ("ngram", "mlp", "rnn", "lstm", "gru", "gpt")
COMMAND_LINE_KEYS = ("vocab_size", "max_steps", "max_tokens", "max_seconds", "seed", "device")
"""Fields that ``--set`` may not touch: the vocabulary comes from the data, the rest from flags."""


def model_spec(name: str) -> ModelSpec:
    """The catalog entry ``name``; a ValueError lists the valid names."""
    if name not in CATALOG:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(CATALOG)}")
    return CATALOG[name]


def model_config(name: str, vocab_size: int, quick: bool = False, **overrides: Any) -> Any:
    """The config dataclass of model ``name``: defaults, then ``quick`` overrides, then ``overrides``."""
    spec = model_spec(name)
    settings = {**spec.defaults, **(spec.quick if quick else {}), **overrides, "vocab_size": vocab_size}
    return spec.config_class(**settings)


def build_model(name: str, vocab_size: int, quick: bool = False, **overrides: Any) -> Any:
    """A fresh model ``name`` (an unfitted ``NGramLM`` for ``ngram``, which needs an explicit order)."""
    return instantiate(name, model_config(name, vocab_size, quick, **overrides))


def instantiate(name: str, config: Any) -> Any:
    """The model of catalog entry ``name`` built from a filled-in ``config``."""
    spec = model_spec(name)
    if spec.neural:
        return spec.model_class(config)
    if config.order < 1:
        raise ValueError("ngram: give an order >= 1 (order 0 means 'choose on validation')")
    return NGramLM(config.order, config.smoothing, config.k)


def train_config(name: str, **overrides: Any) -> TrainConfig:
    """``TrainConfig`` for model ``name``: the catalog's training overrides, then ``overrides``."""
    return TrainConfig(**{**model_spec(name).training, **overrides})


# ------------------------------------------------------------------------------ --set key=value
def parse_settings(assignments: list[str], name: str) -> tuple[dict, dict]:
    """``["d_model=256", "learning_rate=3e-3"]`` -> (model config overrides, TrainConfig overrides).

    Keys are looked up in model ``name``'s config dataclass first, then in ``TrainConfig``; values
    are converted to the field's declared type (int, float, bool, str, or ``None`` where optional).
    """
    model_types = _field_types(model_spec(name).config_class)
    train_types = _field_types(TrainConfig)
    model_overrides: dict = {}
    train_overrides: dict = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {assignment!r}")
        if key in COMMAND_LINE_KEYS:
            raise ValueError(f"--set {key}=... is not allowed: it comes from the data or a command-line flag")
        if key in model_types:
            model_overrides[key] = convert(text.strip(), model_types[key], key)
        elif key in train_types:
            train_overrides[key] = convert(text.strip(), train_types[key], key)
        else:
            valid = [k for k in [*model_types, *train_types] if k not in COMMAND_LINE_KEYS]
            raise ValueError(f"unknown setting {key!r} for model {name!r}; valid keys: {', '.join(valid)}")
    return model_overrides, train_overrides


def _field_types(config_class: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_class)
    return {f.name: hints[f.name] for f in fields(config_class)}


def convert(text: str, kind: Any, key: str = "value") -> Any:
    """``text`` as a value of type ``kind``: int, float, bool, str, or ``X | None`` ("none" -> None)."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if type(None) in options and text.lower() in ("none", "null", ""):
        return None
    kind = next(option for option in options if option is not type(None))
    if kind is bool:
        truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if text.lower() not in truth:
            raise ValueError(f"{key}: expected true or false, got {text!r}")
        return truth[text.lower()]
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not a valid {kind.__name__}") from None


# ---------------------------------------------------------------------------------- checkpoints
def checkpoint_info(name: str, config: Any, tokenizer: CharTokenizer, data: dict) -> dict:
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
    tokenizer: CharTokenizer
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
    chars = info["tokenizer"]
    tokenizer = CharTokenizer(chars["chars"], unk=chars["unk"], boundary=chars["boundary"])
    spec = model_spec(info["model"])
    if not spec.neural:
        return Checkpoint(NGramLM.from_state_dict(checkpoint["ngram"], device), tokenizer, info, None)
    model = instantiate(spec.name, spec.config_class(**info["config"]))
    model.to(device).load_state_dict(checkpoint["model"])
    return Checkpoint(model, tokenizer, info, checkpoint["train_config"])
