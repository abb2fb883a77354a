"""The model catalog: every language model of the zoo by name, with its configuration and training.

    name -> ModelSpec(model class, config dataclass, default overrides, --quick overrides, training)

A model's configuration is its config dataclass filled in layers, later ones winning: the
dataclass defaults, the catalog's ``defaults`` (the small models ``python -m zoo compare`` trains),
the ``quick`` overrides (``--quick``: smaller still), then the command line (``--set key=value``,
each value converted to the field's type; no ``eval``). ``compare`` and ``train`` both build their
models through ``build_model``/``instantiate`` and train them through ``make_trainer`` (a
``zoo.train.Trainer`` with the catalog's training settings), so a model added here is available to
every command (see the README, "Adding a model to the zoo"); ``zoo.checkpoints`` rebuilds them too.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any

from zoo.datasets import Dataset
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
    NGramLM,
    RecurrentConfig,
)
from zoo.train import Budget, TrainConfig, Trainer
from zoo.validation import check_cell, check_corpus, check_settings


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
QUICK_CURVE = {"eval_points": 4, "eval_tokens": 1000}
"""``--quick``'s validation curve (``TrainConfig`` fields): fewer points, on a shorter prefix."""


def model_spec(name: str) -> ModelSpec:
    """The catalog entry ``name``; a ValueError lists the valid names."""
    if name not in CATALOG:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(CATALOG)}")
    return CATALOG[name]


def model_config(name: str, vocab_size: int, quick: bool = False, **overrides: Any) -> Any:
    """The config dataclass of model ``name``: defaults, then ``quick`` overrides, then ``overrides``."""
    spec = model_spec(name)
    settings = {**spec.defaults, **(spec.quick if quick else {}), **overrides, "vocab_size": vocab_size}
    check_cell(name, overrides)
    config = spec.config_class(**settings)
    check_settings(config, name)
    return config


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


def make_trainer(
    name: str, model: Any, data: Dataset, budget: Budget, overrides: dict, **hooks: Any
) -> Trainer:
    """Model ``name``'s ``Trainer``: the catalog's training settings, then ``budget``, then ``overrides``."""
    tokens_per_step = train_config(name, **overrides).batch_size * model.context_length
    settings = train_config(name, **{**budget.limits(tokens_per_step), **overrides})
    check_settings(settings, name)
    sizes = (len(data.train_ids), len(data.val_ids), model.context_length, settings.batch_size)
    check_corpus(name, *sizes, recurrent=model.recurrent)
    return Trainer(model, data.train_ids, data.val_ids, settings, **hooks)


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
