"""The comparison run: every model of the catalog on one corpus, one split, one budget each.

For each model m the figure of merit is the exact validation cross-entropy

    L(m) = -(1 / (N - 1)) sum_{i=1}^{N-1} log p_m(x_i | x_<i)      (nats per token = per character)

over the same validation characters (``zoo.evaluate``). The n-gram's one hyper-parameter, its order,
is chosen on validation among 1..8; every neural model gets the same budget (seconds of training or
tokens seen) through the same ``Trainer``. On synthetic corpora the source's entropy rate H is the
floor no model can beat, and ``L(m) - H`` is how far each model is from perfect.

``train_neural`` and ``fit_ngram`` are shared with ``python -m zoo train``.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import tinygrad_lm as tg
from zoo.catalog import NGramConfig, build_model, model_config, model_spec, train_config
from zoo.data import Corpus, load_corpus
from zoo.evaluate import evaluate
from zoo.models.ngram import NGramLM
from zoo.tokenizers import CharTokenizer
from zoo.train import TrainConfig, Trainer, TrainState

DEFAULT_BUDGET, QUICK_BUDGET = "60s", "5s"
CURVE = {"eval_points": 8, "eval_tokens": 5000}  # the curve's points, on a validation prefix
QUICK_CURVE = {"eval_points": 4, "eval_tokens": 1000}
QUICK_VAL_TOKENS = 4000
SAMPLE_CHARS, SAMPLE_TEMPERATURE, PROMPT_CHARS = 200, 0.8, 16


# ------------------------------------------------------------------------------------- budgets
@dataclass(frozen=True)
class Budget:
    """How long each neural model trains: ``seconds`` of training steps, ``tokens`` seen, or ``steps``."""

    seconds: float | None = None
    tokens: int | None = None
    steps: int | None = None

    @classmethod
    def parse(cls, text: str) -> Budget:
        """``"60s"``/``"1.5m"`` (seconds/minutes of training), ``"500k"``/``"2M"``/``"20000"`` (tokens)."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smkM]?)\s*", text)
        if not match or float(match[1]) <= 0:
            raise ValueError(
                f"bad budget {text!r}: use seconds or minutes (60s, 1.5m) or tokens (20000, 500k, 2M)"
            )
        value, unit = float(match[1]), match[2]
        if unit in ("s", "m"):
            return cls(seconds=value * (60 if unit == "m" else 1))
        tokens = value * {"": 1, "k": 1e3, "M": 1e6}[unit]
        if tokens != int(tokens):
            raise ValueError(f"bad budget {text!r}: a number of tokens must be a whole number")
        return cls(tokens=int(tokens))

    @classmethod
    def of(cls, config: TrainConfig) -> Budget:
        """The budget a ``TrainConfig`` trains for (seconds, else tokens, else steps)."""
        if config.max_seconds:
            return cls(seconds=config.max_seconds)
        return cls(tokens=config.max_tokens) if config.max_tokens else cls(steps=config.max_steps)

    def limits(self, tokens_per_step: int) -> dict:
        """``TrainConfig`` fields for this budget; warm-up is a tenth of the steps (at most 100), or 10
        steps when only wall-clock time is known."""
        steps = self.steps or (self.tokens and math.ceil(self.tokens / tokens_per_step))
        return {
            "max_steps": self.steps or 10**12,
            "max_tokens": self.tokens,
            "max_seconds": self.seconds,
            "warmup_steps": min(100, max(1, steps // 10)) if steps else 10,
        }

    @property
    def unit(self) -> str:
        return "s" if self.seconds else "tokens" if self.tokens else "steps"

    @property
    def total(self) -> float:
        return self.seconds or self.tokens or self.steps

    def used(self, state: TrainState) -> float:
        """How much of the budget ``state`` has spent, in ``unit``."""
        return state.seconds if self.seconds else state.tokens if self.tokens else state.step

    def describe(self) -> str:
        if not (self.seconds or self.tokens or self.steps):
            return "none (counted in one pass)"
        if self.seconds:
            return f"{self.seconds:g} s of training"
        return f"{self.tokens:,} tokens" if self.tokens else f"{self.steps:,} steps"


# ---------------------------------------------------------------------------------------- data
@dataclass
class Dataset:
    """A corpus as token ids; ``val_ids`` may be a prefix of the validation split (``val_note`` says)."""

    corpus: Corpus
    tokenizer: CharTokenizer
    train_ids: np.ndarray
    val_ids: np.ndarray
    val_note: str = ""

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def describe(self) -> dict:
        corpus = self.corpus
        return {
            "name": corpus.name,
            "source": corpus.source,
            "train_characters": len(corpus.train),
            "val_characters": len(corpus.val),
            "val_tokens_scored": len(self.val_ids) - 1,
            "val_note": self.val_note,
            "vocab_size": self.vocab_size,
            "entropy_rate": corpus.entropy_rate,
        }


def open_corpus(name: str, data_path: str | None = None) -> Corpus:
    """``load_corpus(name)``, from the local copy ``data_path`` when given (shakespeare, names)."""
    return load_corpus(name) if data_path is None else load_corpus(name, path=data_path)


def load_dataset(
    name: str,
    data_path: str | None = None,
    val_tokens: int | None = None,
    tokenizer: CharTokenizer | None = None,
) -> Dataset:
    """Load corpus ``name`` and encode it at the character level.

    The vocabulary is every character of train and validation (so any corpus works) unless a
    ``tokenizer`` is given (a checkpoint's); ``val_tokens`` keeps only a prefix of the validation ids.
    """
    corpus = open_corpus(name, data_path)
    tokenizer = tokenizer or CharTokenizer.fit(corpus.train, extra_chars=corpus.val)
    train_ids, val_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.val)
    note = ""
    if val_tokens is not None and len(val_ids) > val_tokens + 1:
        val_ids, note = val_ids[: val_tokens + 1], f"first {val_tokens:,} of {len(corpus.val) - 1:,} targets"
    return Dataset(corpus, tokenizer, train_ids, val_ids, note)


# -------------------------------------------------------------------------------------- models
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

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")

    def to_json(self) -> dict:
        return {**asdict(self), "tokens_per_second": self.tokens_per_second}


def fit_ngram(
    config: NGramConfig, data: Dataset, log: Callable[[str], None] | None = None
) -> tuple[NGramLM, ModelResult]:
    """Fit the n-gram: order ``config.order``, or each order 1..max_order keeping the best on validation
    (``log`` gets a line per order)."""
    largest = max(1, int(math.log(2**63 - 1) / math.log(max(2, data.vocab_size))))  # V**n fits int64
    orders = [config.order] if config.order else range(1, min(config.max_order, largest) + 1)
    best, per_order = None, []
    for order in orders:
        started = time.perf_counter()
        model = NGramLM(order, config.smoothing, config.k).fit(data.train_ids, data.vocab_size)
        seconds = time.perf_counter() - started
        val = evaluate(model, data.val_ids, data.tokenizer)
        per_order.append({"order": order, "fit_seconds": seconds, **val})
        if log is not None:
            log(f"ngram order {order}: val {val['nats_per_token']:.4f} nats/token, fitted in {seconds:.2f} s")
        if best is None or val["nats_per_token"] < best[2]["nats_per_token"]:
            best = (model, seconds, val)
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
    )
    return model, result


def make_trainer(
    name: str, model: Any, data: Dataset, budget: Budget, overrides: dict, **hooks: Any
) -> Trainer:
    """Model ``name``'s ``Trainer``: the catalog's training settings, then ``budget``, then ``overrides``."""
    tokens_per_step = train_config(name, **overrides).batch_size * model.context_length
    settings = train_config(name, **{**budget.limits(tokens_per_step), **overrides})
    return Trainer(model, data.train_ids, data.val_ids, settings, **hooks)


def train_neural(trainer: Trainer, name: str, budget: Budget, progress: bool, pause_at: int | None = None):
    """Run ``trainer`` to the end of its budget (or step ``pause_at``) with a progress bar on stderr."""
    from tqdm import tqdm

    amount = "{n:.1f}/{total:.0f} s" if budget.seconds else "{n:,.0f}/{total:,.0f} " + budget.unit
    bar_format = "{desc} {bar} " + amount + "{postfix} [{elapsed}]"
    options = {
        "disable": not progress,
        "file": sys.stderr,
        "leave": False,
        "ncols": 100,
        "bar_format": bar_format,
    }
    with tqdm(total=budget.total, desc=f"{name:>6}", **options) as bar:
        bar.update(budget.used(trainer.state))

        def on_step(state: TrainState, loss: float) -> None:
            bar.update(budget.used(state) - bar.n)
            bar.set_postfix_str(f"loss {loss:.3f}", refresh=False)

        return trainer.run(on_step=on_step, pause_at=pause_at)


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
    )


def sample_text(
    model: Any, tokenizer: CharTokenizer, prompt: str, n_chars: int, seed: int, **sampling
) -> str:
    """``n_chars`` characters generated after ``prompt`` with a generator seeded by ``seed``."""
    ids = tokenizer.encode(prompt)[None, :]
    out = model.generate(ids, n_chars, generator=tg.Generator(seed), **sampling)
    return tokenizer.decode(out[0, ids.shape[1] :])


def sample_settings(data: Dataset, seed: int) -> dict:
    """The prompt of every sample (the start of the validation text) and how samples are drawn."""
    prompt = data.corpus.val[:PROMPT_CHARS]
    return {
        "prompt": prompt,
        "sampling": f"{SAMPLE_CHARS} characters, temperature {SAMPLE_TEMPERATURE}, seed {seed}",
    }


def add_sample(result: ModelResult, model: Any, data: Dataset, seed: int) -> None:
    """Set ``result.sample``: what ``model`` writes after the prompt of ``sample_settings``."""
    prompt = sample_settings(data, seed)["prompt"]
    result.sample = sample_text(
        model, data.tokenizer, prompt, SAMPLE_CHARS, seed, temperature=SAMPLE_TEMPERATURE
    )


def attention_snippet(model: Any, data: Dataset, length: int = 32) -> dict:
    """The GPT's attention weights on ~32 validation characters: ``{"text", "maps"}``, maps being one
    (heads, T, T) array per layer."""
    text = data.corpus.val[: min(length, model.context_length)]
    maps = model.attention_maps(data.tokenizer.encode(text)[None, :])
    return {"text": text, "maps": [layer[0] for layer in maps]}


def describe_result(result: ModelResult) -> str:
    """The line printed when a model finishes."""
    order = f" (order {result.config['order']})" if result.orders else ""
    return (
        f"{result.name}{order}: {result.parameters:,} parameters, {result.steps:,} steps, "
        f"{result.tokens:,} tokens, {result.seconds:.1f} s, val {result.val['nats_per_token']:.4f} nats/token"
    )


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
        else:
            model, result = fit_ngram(model_config("ngram", data.vocab_size, options.quick), data)
        add_sample(result, model, data, options.seed)
        log(describe_result(result))
        results.append(result)
    results.sort(key=lambda r: r.val["nats_per_token"])
    return results, attention


def _train_and_evaluate(name: str, data: Dataset, options: CompareOptions) -> tuple[Any, ModelResult]:
    model = build_model(name, data.vocab_size, options.quick).to(options.device)
    curve = QUICK_CURVE if options.quick else CURVE
    trainer = make_trainer(
        name, model, data, options.budget, {"seed": options.seed, "device": options.device, **curve}
    )
    train_neural(trainer, name, options.budget, options.progress)
    return model, neural_result(name, trainer, data, options.device)
