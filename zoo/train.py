"""One training loop for every neural language model of the zoo.

Each step: a batch of B windows of T tokens, the mean cross-entropy, backward, gradient clipping at
``grad_clip`` (global L2 norm), AdamW with decoupled weight decay on matrices only (biases and
LayerNorm gains are not decayed), and a learning rate that warms up linearly then decays by a cosine
to ``min_lr``. Attention and MLP models draw random windows; recurrent models read contiguous streams
and carry their hidden state from one window to the next (truncated backpropagation through time).

The budget is a number of steps, of tokens, or of seconds, whichever ends first (``Budget`` parses
and describes it for the commands); the schedule follows the fraction of the budget used. Step and
token budgets are reproducible bit for bit (same seed, same losses, also across a checkpoint and
``resume``); a wall-clock budget depends on the machine. ``train_with_progress`` runs a ``Trainer``
under a progress bar. On one of N ranks (``zoo/parallel.py``, set as ``Trainer.parallel``) a step uses
this rank's rows of the batch and the gradients are averaged over the ranks.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import optim

from .batching import random_windows, stream_windows
from .evaluate import evaluate
from .models import detach_state


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite: the run stops before anything is saved from it."""


@dataclass
class TrainConfig:
    batch_size: int = 12
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    max_steps: int = 2000
    max_tokens: int | None = None
    max_seconds: float | None = None
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float | None = 1.0  # None: no clipping
    eval_points: int = 10  # points on the validation curve, evenly spaced over the budget
    eval_tokens: int = 20_000  # validation prefix for the curve; the final figure uses all of it
    seed: int = 0
    device: str = "cpu"


@dataclass
class TrainState:
    step: int = 0
    tokens: int = 0
    seconds: float = 0.0
    warmup_end: float | None = None  # the progress at which warmup ended (the cosine starts there)
    curve: list[dict] = field(default_factory=list)


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


def learning_rate(config: TrainConfig, step: int, progress: float, warmup_end: float = 0.0) -> float:
    """``optim.WarmupCosine``'s rate over the budget of ``config``: linear warmup over ``warmup_steps``,
    then a cosine from ``learning_rate`` to ``min_lr`` over the rest of the budget. ``progress`` is the
    fraction (0..1) of the budget used and ``warmup_end`` the progress at which warmup ended, so with a
    step budget the decay runs over steps warmup..max_steps exactly as nanoGPT's ``get_lr`` does."""
    decayed = optim.WarmupCosine.decay_fraction(progress, warmup_end)
    return optim.WarmupCosine.rate(step, config.learning_rate, config.min_lr, config.warmup_steps, decayed)


def parameter_groups(model: tg.nn.Module, weight_decay: float) -> list[dict]:
    """Matrices (2-D and up: linear weights, embeddings) are decayed; vectors (biases, gains) are not."""
    params = list(model.parameters())
    return [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]


class Trainer:
    """Holds the model, optimizer, data stream and generator, so a run can be checkpointed and resumed."""

    def __init__(
        self,
        model: Any,
        train_ids: np.ndarray,
        val_ids: np.ndarray,
        config: TrainConfig,
        on_curve_point: Callable[[Trainer], None] | None = None,
    ) -> None:
        self.model, self.config, self.on_curve_point = model, config, on_curve_point
        self.train_ids, self.val_ids = np.asarray(train_ids), np.asarray(val_ids)
        self.generator = tg.Generator(config.seed)
        groups = [g for g in parameter_groups(model, config.weight_decay) if g["params"]]
        self.optimizer = optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2))
        self.state = TrainState()
        # recurrent models read contiguous streams: where this pass started, how many windows are read
        self._stream: Iterator | None = None
        self._stream_offset, self._stream_windows = 0, 0
        self._hidden: Any = None
        self.parallel: Any = None  # a zoo.parallel.DataParallel on one of N ranks (``run_on``)

    # ----------------------------------------------------------------------------- data
    def next_batch(self) -> tuple[tg.Tensor, tg.Tensor]:
        c, model = self.config, self.model
        if not model.recurrent:
            x, y = random_windows(
                self.train_ids, c.batch_size, model.context_length, self.generator, c.device
            )
            if self.parallel is not None:
                x, y = self.parallel.my_rows(x, y)
            return tg.as_tensor(x), tg.as_tensor(y)
        batch = next(self._stream, None) if self._stream is not None else None
        if batch is None:  # a new pass over the streams, starting at a random offset
            offset = int(self.generator.integers(0, model.context_length, (), np.int64, "cpu"))
            self._open_streams(offset, 0)
            self._hidden = None
            batch = next(self._stream)
        self._stream_windows += 1
        if self.parallel is not None:
            batch = self.parallel.my_rows(*batch)
        return tg.as_tensor(batch[0]), tg.as_tensor(batch[1])

    def _open_streams(self, offset: int, windows_read: int) -> None:
        """The truncated-BPTT windows of a pass starting at ``offset``, less the first ``windows_read``."""
        c = self.config
        streams = stream_windows(self.train_ids[offset:], c.batch_size, self.model.context_length, c.device)
        self._stream = itertools.islice(streams, windows_read, None)
        self._stream_offset, self._stream_windows = offset, windows_read

    # ----------------------------------------------------------------------------- steps
    def progress(self) -> float:
        c, s = self.config, self.state
        fractions = [s.step / c.max_steps]
        if c.max_tokens:
            fractions.append(s.tokens / c.max_tokens)
        if c.max_seconds:
            fractions.append(s.seconds / c.max_seconds)
        return max(fractions)

    def train_step(self) -> float:
        x, y = self.next_batch()
        model = self.model
        if model.recurrent:
            if self.parallel is None:
                logits, hidden = model.forward_stateful(x, self._hidden)
            else:
                logits, hidden = self.parallel.model.forward_through(model.forward_stateful, x, self._hidden)
            self._hidden = detach_state(hidden)
            loss = model.loss(logits, y)
        else:
            _, loss = (model if self.parallel is None else self.parallel.model)(x, y)
        s = self.state
        if s.warmup_end is None and s.step >= self.config.warmup_steps:
            s.warmup_end = self.progress()
        lr = learning_rate(self.config, s.step, self.progress(), s.warmup_end or 0.0)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad()
        loss.backward()
        if self.config.grad_clip is not None:
            optim.clip_grad_norm_(model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.state.step += 1
        if self.parallel is None:
            self.state.tokens += x.size
            return loss.item()
        self.state.tokens += x.size * self.parallel.world
        return self.parallel.mean_loss(loss.item())

    def budget_left(self) -> bool:
        c, s = self.config, self.state
        return (
            s.step < c.max_steps
            and (not c.max_tokens or s.tokens < c.max_tokens)
            and (not c.max_seconds or s.seconds < c.max_seconds)
        )

    def run(
        self, on_step: Callable[[TrainState, float], None] | None = None, pause_at: int | None = None
    ) -> TrainState:
        """Train until the budget is spent (or step ``pause_at``, to checkpoint and resume later).

        The validation curve gets a point each time another 1/``eval_points`` of the budget is used.
        """
        s = self.state
        self.model.train()
        while self.budget_left() and (pause_at is None or s.step < pause_at):
            started = time.perf_counter()
            loss = self.train_step()
            s.seconds += time.perf_counter() - started
            _stop_unless_finite("loss", loss, s.step)
            if self.parallel is not None:
                s.seconds = self.parallel.slowest(s.seconds)
            if on_step is not None:
                on_step(s, loss)
            if self._curve_point_due():
                self.record(loss)
                if self.on_curve_point is not None:
                    self.on_curve_point(self)
        if not self.budget_left() and (not s.curve or s.curve[-1]["step"] != s.step):
            self.record(float("nan"))
        return s

    def _curve_point_due(self) -> bool:
        recorded, points = len(self.state.curve), self.config.eval_points
        return recorded < points and self.progress() >= (recorded + 1) / points

    def record(self, train_loss: float) -> None:
        """Append a point of the validation curve (on the first ``eval_tokens`` validation tokens)."""
        prefix = self.val_ids[: self.config.eval_tokens + 1]
        if self.parallel is None or self.parallel.is_main:
            val = evaluate(self.model, prefix, device=self.config.device)["nats_per_token"]
        if self.parallel is not None:  # rank 0 alone evaluates, every rank keeps the same curve
            val = self.parallel.from_main(val if self.parallel.is_main else 0.0)
        s = self.state
        _stop_unless_finite("validation loss", val, s.step)
        s.curve.append(
            {"step": s.step, "tokens": s.tokens, "seconds": s.seconds, "train": train_loss, "val": val}
        )
        self.model.train()

    def run_on(self, parallel: Any) -> None:
        """Train as one rank of ``parallel`` (a ``zoo.parallel.DataParallel``) from now on."""
        self.parallel = parallel
        self._hidden = parallel.my_state(self._hidden)

    # ----------------------------------------------------------------------------- checkpoints
    def save(self, path: str, **extra: Any) -> None:
        """Everything needed to continue bit for bit (with ``extra`` entries of the caller's); atomic.
        On N ranks every rank calls it (the recurrent state is gathered) and rank 0 alone writes."""
        hidden = self._hidden if self.parallel is None else self.parallel.whole_state(self._hidden)
        if self.parallel is not None and not self.parallel.is_main:
            return
        tg.save(
            {
                "model": self.model.state_dict(),
                "model_class": type(self.model).__name__,
                "model_config": asdict(self.model.config),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(),
                "train_config": asdict(self.config),
                "state": asdict(self.state),
                "streams": {
                    "open": self._stream is not None,
                    "offset": self._stream_offset,
                    "windows_read": self._stream_windows,
                    "hidden": hidden,
                },
                **extra,
            },
            path,
        )

    def resume(self, path: str) -> dict:
        """Restore a ``save``d run (returns the whole checkpoint, for the caller's ``extra`` entries)."""
        checkpoint = tg.load(path, map_location=self.config.device)
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.generator.set_state(checkpoint["generator"])
        self.state = TrainState(**checkpoint["state"])
        streams = checkpoint["streams"]
        if streams["open"]:
            self._open_streams(streams["offset"], streams["windows_read"])
            self._hidden = streams["hidden"]
        return checkpoint


def _stop_unless_finite(what: str, value: float, step: int) -> None:
    """Raise ``NonFiniteLoss`` for a NaN or infinite loss: before a checkpoint could save its weights."""
    if not math.isfinite(value):
        raise NonFiniteLoss(
            f"training stopped at step {step}: the {what} is {value}; nothing from this step on is saved "
            "(an earlier checkpoint is kept). Lower learning_rate or grad_clip; tg.detect_anomaly() finds "
            "the first op that makes a NaN or an inf"
        )


def train_with_progress(
    trainer: Trainer, name: str, budget: Budget, progress: bool, pause_at: int | None = None
) -> TrainState:
    """Run ``trainer`` to the end of its budget (or step ``pause_at``) with a progress bar named ``name``
    on stderr (none unless ``progress``)."""
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
