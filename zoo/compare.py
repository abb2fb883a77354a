"""The comparison run: every model of the catalog on one corpus, one split, one budget each.

For each model m the figure of merit is the exact validation cross-entropy

    L(m) = -(1 / (N - 1)) sum_{i=1}^{N-1} log p_m(x_i | x_<i)      (nats per token = per character)

over the same validation characters (``zoo.evaluate``), and the size of those characters actually
coded with the model (``zoo.compression_figures``: always for the n-gram, with ``compress`` for
the neural models too). The n-gram's one hyper-parameter, its order,
is chosen on validation among 1..8; every neural model gets the same budget (seconds of training or
tokens seen) through the same ``Trainer``. On synthetic corpora the source's entropy rate H is the
floor no model can beat, and ``L(m) - H`` is how far each model is from perfect.

Everything here is the comparison's own; the pieces it shares with ``python -m zoo train`` live in
``zoo.datasets``, ``zoo.catalog``, ``zoo.train`` and ``zoo.results``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tinygrad_lm as tg
from zoo.catalog import QUICK_CURVE, build_model, make_trainer, model_config, model_spec
from zoo.compression_figures import compressed_figures
from zoo.datasets import Dataset
from zoo.embeddings import embedding_summary
from zoo.report import attention_snippet
from zoo.results import ModelResult, add_sample, describe_result, fit_ngram, neural_result
from zoo.surprisal import surprisal_bits, surprisal_snippet
from zoo.train import Budget, train_with_progress

DEFAULT_BUDGET, QUICK_BUDGET = "60s", "5s"
CURVE = {"eval_points": 8, "eval_tokens": 5000}  # the curve's points, on a validation prefix


# ---------------------------------------------------------------------------------- comparison
@dataclass
class CompareOptions:
    """What to compare and how; ``quick`` selects the catalog's smaller configurations."""

    models: tuple[str, ...]
    budget: Budget
    device: str = "cpu"
    seed: int = 0
    quick: bool = False
    progress: bool = True
    compress: bool = False  # also code the validation text with each neural model (the n-gram always)


def run_comparison(
    options: CompareOptions, data: Dataset, log: Callable[[str], None] = print
) -> tuple[list[ModelResult], dict | None]:
    """Fit or train every model of ``options.models`` on ``data``, evaluate and sample each; returns the
    results, best first, and the GPT's attention snippet (None without a GPT)."""
    results, attention = [], None
    for name in options.models:
        tg.manual_seed(options.seed)  # each model's initialisation is independent of the others
        if model_spec(name).neural:
            model, result = _train_and_evaluate(name, data, options)
            if name == "gpt":
                attention = attention_snippet(model, data)
            if name in ("gpt", _embedded_recurrent(options.models)):
                result.embeddings = embedding_summary(model, data.train_ids, data.tokenizer)
        else:
            model, result = fit_ngram(model_config("ngram", data.vocab_size, options.quick), data)
        if not model_spec(name).neural or options.compress:
            result.val.update(compressed_figures(model, data.tokenizer, data.val_ids[1:]))  # [0]: train's end
        result.val["surprisal_bits"] = surprisal_bits(
            model, data.tokenizer, surprisal_snippet(data.corpus.val)
        )
        add_sample(result, model, data, options.seed)
        log(describe_result(result))
        results.append(result)
    results.sort(key=lambda r: r.val["bits_per_char"])
    return results, attention


def _embedded_recurrent(models: tuple[str, ...]) -> str | None:
    """The recurrent model whose embeddings the report shows: the GRU, else the LSTM, else the RNN."""
    return next((name for name in ("gru", "lstm", "rnn") if name in models), None)


def _train_and_evaluate(name: str, data: Dataset, options: CompareOptions) -> tuple[Any, ModelResult]:
    model = build_model(name, data.vocab_size, options.quick).to(options.device)
    curve = QUICK_CURVE if options.quick else CURVE
    trainer = make_trainer(
        name, model, data, options.budget, {"seed": options.seed, "device": options.device, **curve}
    )
    train_with_progress(trainer, name, options.budget, options.progress)
    return model, neural_result(name, trainer, data, options.device)
