"""Every setting checked when a command starts, before any work: one line naming it and what is allowed.

The rules are keyed by field name, so one table serves every config dataclass of the zoo (the models'
and ``TrainConfig``); a field a config lacks is not checked. ``check_settings`` applies them and the
rules that relate two fields (heads dividing the width, ``min_lr <= learning_rate``);
``check_corpus`` refuses a corpus too small for the model's windows, with the sizes needed. The
errors are ``ValueError``s, which the commands report as one line with exit code 2.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from zoo.models.ngram import SMOOTHINGS

RECURRENT_CELLS = ("rnn", "lstm", "gru")


def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: _integer(v) and v >= low), f"an integer >= {low}"


def positive_number() -> tuple[Callable[[Any], bool], str]:
    return (lambda v: _real(v) and v > 0), "a finite number > 0"


def non_negative_number() -> tuple[Callable[[Any], bool], str]:
    return (lambda v: _real(v) and v >= 0), "a finite number >= 0"


def below_one() -> tuple[Callable[[Any], bool], str]:
    return (lambda v: _real(v) and 0 <= v < 1), "a number in [0, 1)"


def one_of(*choices: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in choices), "one of " + ", ".join(map(repr, choices))


def optional(rule: tuple[Callable[[Any], bool], str], meaning: str) -> tuple[Callable[[Any], bool], str]:
    valid, allowed = rule
    return (lambda v: v is None or valid(v)), f"{allowed}, or none ({meaning})"


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    # sizes of the models
    "vocab_size": at_least(1),
    "context_length": at_least(1),
    "n_layers": at_least(1),
    "n_heads": at_least(1),
    "d_model": at_least(1),
    "d_embed": at_least(1),
    "d_hidden": at_least(1),
    "n_context": at_least(1),
    "dropout": below_one(),
    "gelu": one_of("tanh", "none"),
    "cell": one_of(*RECURRENT_CELLS),
    "order": at_least(0),  # the n-gram's 0: choose the order on validation
    "max_order": at_least(1),
    "smoothing": one_of(*SMOOTHINGS),
    "k": positive_number(),
    "pseudo_count": non_negative_number(),
    "train_tokens": at_least(1),
    # training
    "batch_size": at_least(1),
    "learning_rate": positive_number(),
    "min_lr": non_negative_number(),
    "warmup_steps": at_least(0),
    "max_steps": at_least(1),
    "max_tokens": optional(at_least(1), "no token limit"),
    "max_seconds": optional(positive_number(), "no time limit"),
    "weight_decay": non_negative_number(),
    "beta1": below_one(),
    "beta2": below_one(),
    "grad_clip": optional(positive_number(), "no clipping"),
    "eval_points": at_least(1),
    "eval_tokens": at_least(1),
    "seed": at_least(0),
}


def check_settings(config: Any, what: str) -> None:
    """Raise ``ValueError`` for the first field of the dataclass ``config`` outside what is allowed."""
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name in RULES and not RULES[f.name][0](value):
            raise ValueError(f"{what}: {f.name}={value!r} is not allowed; expected {RULES[f.name][1]}")
    values = {f.name: getattr(config, f.name) for f in fields(config)}
    if "n_heads" in values and "d_model" in values and values["d_model"] % values["n_heads"]:
        raise ValueError(
            f"{what}: n_heads={values['n_heads']} does not divide d_model={values['d_model']}; "
            "expected d_model to be a multiple of n_heads"
        )
    if "smoothing" in values and values["vocab_size"] ** values["order"] > 2**63 - 1:  # the n-gram's codes
        raise ValueError(
            f"{what}: order={values['order']} is too high for {values['vocab_size']} token types; "
            "expected vocab_size**order to fit in int64"
        )
    if "min_lr" in values and values["min_lr"] > values.get("learning_rate", math.inf):
        raise ValueError(
            f"{what}: min_lr={values['min_lr']!r} is above learning_rate={values['learning_rate']!r}; "
            "expected min_lr <= learning_rate"
        )


def check_cell(name: str, overrides: dict) -> None:
    """The recurrent models fix their cell: ``--model lstm --set cell=gru`` would be silently an LSTM."""
    if name in RECURRENT_CELLS and overrides.get("cell", name) != name:
        raise ValueError(
            f"{name}: cell={overrides['cell']!r} is not allowed; the {name} model's cell is {name!r} "
            f"(use --model {overrides['cell']})"
        )


def check_corpus(
    name: str, train_tokens: int, val_tokens: int, context_length: int, batch_size: int, recurrent: bool
) -> None:
    """Refuse a corpus too small for ``name``'s training windows (or a validation split under 2 tokens)."""
    needed = batch_size * context_length + 1 if recurrent else context_length + 1
    how = (
        f"batch_size x context_length + 1 = {batch_size} x {context_length} + 1 (one window per stream)"
        if recurrent
        else f"context_length + 1 = {context_length} + 1"
    )
    if train_tokens < needed:
        raise ValueError(
            f"{name}: the training split has {train_tokens:,} tokens; training needs at least {needed:,} "
            f"({how}): use a larger corpus or a smaller context_length/batch_size"
        )
    if val_tokens < 2:
        raise ValueError(f"{name}: the validation split has {val_tokens} token(s); scoring needs at least 2")
