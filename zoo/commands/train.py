"""``python -m zoo train``: train one model of the catalog with checkpoints (or fit the n-gram), then
sample it and write its report next to the checkpoint; ``--resume`` continues bit for bit."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from typing import Any

import tinygrad_lm as tg
from tinygrad_lm import distributed as tg_distributed
from tinygrad_lm import kernels
from zoo import catalog, report, run_folder
from zoo.checkpoints import checkpoint_info, load_checkpoint, save_checkpoint
from zoo.commands.common import ready_kernels, say, show_progress, user_input, val_tokens
from zoo.datasets import Dataset, load_dataset
from zoo.models.ngram import NGramLM
from zoo.models.ngram_shards import refuse_wide
from zoo.parallel import DataParallel, join_launched_ranks
from zoo.report import attention_snippet
from zoo.results import ModelResult, add_sample, describe_result, fit_ngram, neural_result
from zoo.sampling import sample_settings
from zoo.threads import blas_threads
from zoo.tokenizer_spec import parse_tokenizer_spec
from zoo.train import Budget, TrainConfig, Trainer, train_with_progress

DEFAULT_TRAIN_STEPS = 2000


def run(args: argparse.Namespace) -> int:
    """Train (or resume) into ``--out``/checkpoint.npz; data-parallel under an MPI launcher."""
    path = Path(args.out) / run_folder.CHECKPOINT_NAME
    with user_input():
        ranks = join_launched_ranks(args.device)
        run_folder.refuse_existing_run(Path(args.out), args.resume, args.force)
        device = tg.parse_device(args.device)
    if ranks is None:
        return _run(args, path, device, ranks)
    if ranks[0] > 0:  # rank 0 alone prints; errors still reach stderr
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            return _run(args, path, device, ranks)
    say(f"data-parallel training on {ranks[1]} ranks over {tg_distributed.get_backend().upper()}")
    return _run(args, path, device, ranks)


def _run(args: argparse.Namespace, path: Path, device: str, ranks: tuple[int, int] | None) -> int:
    with user_input():
        budget = _train_budget(args)
        if args.resume:
            trainer, data, info = _resumed_trainer(path, device, budget, args)
        else:
            trainer, data, info = _new_trainer(args, device, budget or Budget(steps=DEFAULT_TRAIN_STEPS))
        if ranks is not None:
            if trainer is None:  # the n-gram: every rank counts its shard of the ids
                _ngram_counts_on_ranks(info, ranks)
            else:
                parallel = DataParallel(trainer.model, trainer.config.batch_size, info["model"], device)
                trainer.run_on(parallel)
                say(trainer.parallel.describe())
        _note_rank_change(info, 1 if ranks is None else ranks[1])
    owner = ranks is None or ranks[0] == 0  # rank 0 alone writes the run folder, so it alone locks it
    with user_input():
        notes = run_folder.claim(args.out, args.resume, args.force) if owner else []
    try:
        for note in notes:
            say(note)
        if trainer is None:  # the n-gram: counted in one pass
            model, result = fit_ngram(catalog.NGramConfig(**info["config"]), data, log=say, ranks=ranks)
            if result is None:  # a rank other than 0 only counted
                return 0
            save_checkpoint(model, path, {**info, "config": result.config})
            return _finish_train(args, model, result, data, Budget(), info)
        ready_kernels(tg.device_of(next(iter(trainer.model.parameters())).data))
        return _train(args, trainer, path, data, info)
    finally:
        if owner:
            run_folder.release(args.out)


def _train(args: argparse.Namespace, trainer: Trainer, path: Path, data: Dataset, info: dict) -> int:
    """Train with a line and a checkpoint per curve point; stop early at ``--pause-at``."""

    def on_curve_point(t: Trainer) -> None:
        p = t.state.curve[-1]
        say(
            f"step {p['step']:>6,}  tokens {p['tokens']:>11,}  {p['seconds']:8.1f} s  "
            f"train {p['train']:.4f}  val {p['val']:.4f}"
        )
        save_checkpoint(t, path, info)  # on N ranks: all gather, rank 0 alone writes

    main = trainer.parallel is None or trainer.parallel.is_main  # rank 0 alone reports
    trainer.on_curve_point = on_curve_point
    budget, name, model = Budget.of(trainer.config), info["model"], trainer.model
    say(
        f"training {name} ({model.num_parameters():,} parameters) on {data.corpus.name} for "
        f"{budget.describe()} on {blas_threads()}, {kernels.describe()}; checkpoint: {path}"
    )
    state = train_with_progress(trainer, name, budget, show_progress(args) and main, args.pause_at)
    if trainer.budget_left():  # paused
        if not state.curve or state.curve[-1]["step"] != state.step:
            save_checkpoint(trainer, path, info)
        say(f"paused at step {state.step:,}; continue with: python -m zoo train --out {args.out} --resume")
        return 0
    if not main:
        return 0
    result = neural_result(name, trainer, data, trainer.config.device)
    return _finish_train(args, model, result, data, budget, info)


def _ngram_counts_on_ranks(info: dict, ranks: tuple[int, int]) -> None:
    """Refuse, before any counting, an n-gram whose keys cannot be sharded (wide keys)."""
    config = catalog.NGramConfig(**info["config"])
    for order in [config.order] if config.order else range(1, config.max_order + 1):
        refuse_wide(NGramLM(order, config.smoothing, config.k), config.vocab_size)
    say(f"counting the n-gram on {ranks[1]} ranks: each counts its shard, the counts are merged exactly")


def _train_budget(args: argparse.Namespace) -> Budget | None:
    if args.steps is not None:
        if args.steps < 1:
            raise ValueError(f"--steps must be at least 1, got {args.steps}")
        return Budget(steps=args.steps)
    return Budget.parse(args.budget) if args.budget else None


def _new_trainer(args: argparse.Namespace, device: str, budget: Budget) -> tuple:
    """(trainer or None for the n-gram, data, checkpoint info) of a fresh run."""
    if not args.model:
        raise ValueError(f"--model is required unless --resume; valid models: {', '.join(catalog.CATALOG)}")
    name = args.model
    model_overrides, train_overrides = catalog.parse_settings(args.set, name)
    parse_tokenizer_spec(args.tokenizer)  # a bad spec fails before the corpus is read
    data = load_dataset(args.dataset, args.data_path, val_tokens(args), tokenizer_spec=args.tokenizer)
    config = catalog.model_config(name, data.vocab_size, args.quick, **model_overrides)
    data_info = {"dataset": args.dataset, "data_path": args.data_path, "val_tokens": val_tokens(args)}
    info = checkpoint_info(name, config, data.tokenizer, {**data_info, "quick": args.quick})
    if not catalog.model_spec(name).neural:
        return None, data, info
    tg.manual_seed(args.seed)
    model = catalog.instantiate(name, config).to(device)
    curve = {key: getattr(args, key) for key in ("eval_points", "eval_tokens") if getattr(args, key)}
    curve = {**(catalog.QUICK_CURVE if args.quick else {}), **curve}
    overrides = {"seed": args.seed, "device": device, **curve, **train_overrides}
    return catalog.make_trainer(name, model, data, budget, overrides), data, info


def _resumed_trainer(path: Path, device: str, budget: Budget | None, args: argparse.Namespace) -> tuple:
    """(trainer restored from ``path``, data, checkpoint info); a new ``budget`` replaces the old one."""
    model, tokenizer, info, saved = load_checkpoint(path, device)
    if saved is None:
        raise ValueError(
            f"{path} holds no training state (a fitted n-gram, or weights from `python -m zoo import`): "
            "there is no training to resume"
        )
    _refuse_resume_conflicts(args, info, saved)
    run = info["data"]
    data = load_dataset(run["dataset"], run["data_path"], run["val_tokens"], tokenizer)
    settings = {**saved, "device": device}
    if budget is not None:  # the learning-rate schedule follows the new budget from here on
        settings.update({k: v for k, v in budget.limits(1).items() if k != "warmup_steps"})
    trainer = Trainer(model, data.train_ids, data.val_ids, TrainConfig(**settings))
    trainer.resume(str(path))
    say(f"resuming from {path} at step {trainer.state.step:,}")
    return trainer, data, info


def _note_rank_change(info: dict, ranks: int) -> None:
    """Record the number of ranks in the checkpoint; say so when a resumed run changes it."""
    before = info.get("ranks", 1)
    if before != ranks:
        say(
            f"this run was trained on {before} rank(s) and continues on {ranks}: the same batches, "
            "their sums in another order, so not bit for bit what it would have been"
        )
    info["ranks"] = ranks


def _refuse_resume_conflicts(args: argparse.Namespace, info: dict, saved: dict) -> None:
    """``--resume`` continues the saved run as it was: an option given that would change it is an error."""
    run = info["data"]
    kept = {
        "--model": (args.model, info["model"]),
        "--dataset": (args.dataset, run["dataset"]),
        "--data-path": (args.data_path, run["data_path"]),
        "--val-tokens": (args.val_tokens, run["val_tokens"]),
        "--seed": (args.seed, saved["seed"]),
        "--eval-points": (args.eval_points, saved["eval_points"]),
        "--eval-tokens": (args.eval_tokens, saved["eval_tokens"]),
    }
    given = {word.split("=")[0] for word in args.argv if word.startswith("--")}
    conflicts = [
        f"{option} {new} (the run has {old})"
        for option, (new, old) in kept.items()
        if option in given and new != old
    ]
    conflicts += ["--set (the run keeps its settings)"] * bool(args.set)
    conflicts += ["--tokenizer (the run keeps its tokenizer)"] * ("--tokenizer" in given)
    conflicts += ["--quick (the run was not quick)"] * (args.quick and not run.get("quick", False))
    if conflicts:
        raise ValueError(
            f"--resume continues the saved run as it was; these options would change it: "
            f"{'; '.join(conflicts)}. Drop them, or start a new run with another --out"
        )


def _finish_train(
    args: argparse.Namespace, model: Any, result: ModelResult, data: Dataset, budget: Budget, info: dict
) -> int:
    """Sample, print the model's line, and write the report next to the checkpoint."""
    seed, quick = args.seed, info["data"].get("quick", False)
    add_sample(result, model, data, seed)
    say(describe_result(result))
    results = report.make_results(
        f"{result.name} on {data.corpus.name}",
        args.argv,
        data,
        [result],
        budget,
        seed=seed,
        device=args.device,
        quick=quick,
        out=args.out,
        **sample_settings(data, seed),
    )
    attention = attention_snippet(model, data) if result.name == "gpt" else None
    files = report.write_report(results, args.out, attention)
    written = [
        name for name in (run_folder.CHECKPOINT_NAME, *files.values()) if (Path(args.out) / name).is_file()
    ]
    say(f"wrote {args.out}/: {', '.join(written)}")
    return 0
