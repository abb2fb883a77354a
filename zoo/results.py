"""A model's row of the leaderboard (``ModelResult``) and how each kind of model gets one.

The figure of merit is the exact validation cross-entropy of ``zoo.evaluate`` (nats per token).
``fit_ngram`` counts the n-gram, choosing its order on validation when the config leaves it open;
``neural_result`` scores a model that a ``zoo.train.Trainer`` has trained. ``python -m zoo train``
makes one row, ``python -m zoo compare`` one per model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from zoo.catalog import NGramConfig, model_spec
from zoo.datasets import Dataset
from zoo.evaluate import evaluate
from zoo.models import NGramLM
from zoo.models.ngram_shards import fit_sharded
from zoo.sampling import report_sample
from zoo.train import Trainer


@dataclass
class ModelResult:
    """One row of the leaderboard, with what produced it."""

    name: str
    description: str
    parameters: int
    steps: int
    tokens: int
    seconds: float
    val: dict
    config: dict
    training: dict | None = None
    curve: list = field(default_factory=list)
    orders: list | None = None  # the n-gram's validation figure per order
    sample: str = ""
    tokenizer: str = "char"  # zoo.tokenizer_spec's name of the tokenizer the model reads and writes
    vocab_size: int = 0
    embeddings: dict | None = None  # zoo.embeddings.embedding_summary (the GPT, one recurrent model)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")

    def to_json(self) -> dict:
        return {**asdict(self), "tokens_per_second": self.tokens_per_second}


def fit_ngram(
    config: NGramConfig, data: Dataset, log: Callable[[str], None] | None = None, ranks: Any = None
) -> tuple[NGramLM, ModelResult | None]:
    """Fit the n-gram: order ``config.order``, or each order 1..max_order keeping the best on validation
    (``log`` gets a line per order). ``ranks`` (rank, world) from an MPI launcher: every rank calls
    this, the counting is sharded over them (``zoo.models.ngram_shards``) and rank 0 alone evaluates;
    the other ranks get ``(the last model, None)``."""
    orders = [config.order] if config.order else range(1, config.max_order + 1)  # any V: wide keys
    best, per_order = None, []
    for order in orders:
        started = time.perf_counter()
        model = NGramLM(order, config.smoothing, config.k)
        if ranks is None:
            model.fit(data.train_ids, data.vocab_size)
        else:
            fit_sharded(model, data.train_ids, data.vocab_size, root_only=True)
        seconds = time.perf_counter() - started
        if ranks is not None and ranks[0] > 0:
            continue
        val = evaluate(model, data.val_ids, data.tokenizer)
        per_order.append({"order": order, "fit_seconds": seconds, **val})
        if log is not None:
            log(f"ngram order {order}: val {val['nats_per_token']:.4f} nats/token, fitted in {seconds:.2f} s")
        if best is None or val["nats_per_token"] < best[2]["nats_per_token"]:
            best = (model, seconds, val)
    if best is None:  # a rank other than 0: it only helped count
        return model, None
    model, seconds, val = best
    config = NGramConfig(**{**asdict(config), "order": model.order})
    result = ModelResult(
        name="ngram",
        description=model_spec("ngram").description,
        parameters=sum(len(table.keys) for table in model.tables),  # the stored n-gram counts
        steps=0,
        tokens=len(data.train_ids),  # one counting pass
        seconds=seconds,
        val=val,
        config=asdict(config),
        orders=per_order,
        tokenizer=data.tokenizer_name,
        vocab_size=data.vocab_size,
    )
    return model, result


def neural_result(name: str, trainer: Trainer, data: Dataset, device: str) -> ModelResult:
    """Evaluate a trained model exactly on the validation ids and collect its row."""
    model, state = trainer.model, trainer.state
    val = evaluate(model, data.val_ids, data.tokenizer, device=device)
    return ModelResult(
        name=name,
        description=model_spec(name).description,
        parameters=model.num_parameters(),
        steps=state.step,
        tokens=state.tokens,
        seconds=state.seconds,  # training steps only, not the curve's evaluations
        val=val,
        config=asdict(model.config),
        training=asdict(trainer.config),
        curve=list(state.curve),
        tokenizer=data.tokenizer_name,
        vocab_size=data.vocab_size,
    )


def add_sample(result: ModelResult, model: Any, data: Dataset, seed: int) -> None:
    """Set ``result.sample``: what ``model`` writes after the prompt of ``zoo.sampling.sample_settings``."""
    result.sample = report_sample(model, data, seed)


def describe_result(result: ModelResult) -> str:
    """The line printed when a model finishes."""
    order = f" (order {result.config['order']})" if result.orders else ""
    tokenizer = "" if result.tokenizer == "char" else f" [{result.tokenizer}]"
    return (
        f"{result.name}{order}{tokenizer}: {result.parameters:,} parameters, {result.steps:,} steps, "
        f"{result.tokens:,} tokens, {result.seconds:.1f} s, "
        f"val {result.val['nats_per_token']:.4f} nats/token, "
        f"{result.val['bits_per_char']:.4f} bits/char"
    )
