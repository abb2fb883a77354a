"""``python -m zoo``: compare the models of the zoo, train one, sample from it, evaluate it.

    python -m zoo compare [--dataset python-docs] [--models ngram,mlp,...] [--budget 60s] [--quick]
    python -m zoo train --model gpt --dataset shakespeare --steps 2000 --out runs/gpt [--resume]
    python -m zoo sample --checkpoint runs/gpt/checkpoint.npz --prompt "ROMEO:" --tokens 200
    python -m zoo eval --checkpoint runs/gpt/checkpoint.npz --dataset shakespeare

Mistakes in the input (an unknown model or dataset, a missing file, an unavailable device, a
character the model has never seen) end the command with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import tinygrad_lm as tg
from tinygrad_lm import parse_device
from zoo import catalog, compare, report
from zoo.compare import Budget
from zoo.data import DEFAULT_CORPUS
from zoo.evaluate import evaluate
from zoo.threads import blas_threads
from zoo.train import TrainConfig, Trainer

DEFAULT_TRAIN_STEPS = 2000


class UsageError(Exception):
    """A mistake in the command's input: reported as one line on stderr, exit code 2."""


@contextlib.contextmanager
def user_input() -> Iterator[None]:
    """Turn the errors that bad input raises (unknown names, missing files, no CUDA) into UsageError."""
    try:
        yield
    except (ValueError, OSError, RuntimeError) as error:
        raise UsageError(str(error).splitlines()[0] if str(error) else type(error).__name__) from error


def _progress(args: argparse.Namespace) -> bool:
    return not args.no_progress and sys.stderr.isatty()


def _say(line: str) -> None:
    print(line, flush=True)


# ------------------------------------------------------------------------------------- compare
def run_compare(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with user_input():
        options = compare.CompareOptions(
            models=_model_names(args.models),
            budget=Budget.parse(
                args.budget or (compare.QUICK_BUDGET if args.quick else compare.DEFAULT_BUDGET)
            ),
            device=parse_device(args.device),
            seed=args.seed,
            quick=args.quick,
            progress=_progress(args),
        )
        data = compare.load_dataset(args.dataset, args.data_path, _val_tokens(args))
    out = Path(args.out or Path("runs") / (args.name or time.strftime("%Y%m%d-%H%M%S")))
    count = len(options.models)
    _say(f"python -m zoo compare: {count} model{'s' * (count > 1)}, {options.budget.describe()} each")
    for line in report.summary_lines(
        data.describe(), options.budget.describe(), args.seed, options.device, args.quick
    ):
        _say(line)
    models, attention = compare.run_comparison(options, data, log=_say)
    results = report.make_results(
        f"Model comparison on {data.corpus.name}",
        args.argv,
        data,
        models,
        options.budget,
        seed=args.seed,
        device=options.device,
        quick=args.quick,
        out=str(out),
        **compare.sample_settings(data, args.seed),
    )
    files = report.write_report(results, out, attention)
    print("\n" + report.console_report(results))
    print(f"\nwrote {out}/: {', '.join(files.values())}  ({time.perf_counter() - started:.0f} s in all)")
    return 0


def _model_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ValueError(f"--models is empty; valid models: {', '.join(catalog.CATALOG)}")
    for name in names:
        catalog.model_spec(name)
    return names


def _val_tokens(args: argparse.Namespace) -> int | None:
    return args.val_tokens or (compare.QUICK_VAL_TOKENS if args.quick else None)


# --------------------------------------------------------------------------------------- train
def run_train(args: argparse.Namespace) -> int:
    path = Path(args.out) / "checkpoint.npz"
    with user_input():
        device = parse_device(args.device)
        budget = _train_budget(args)
        if args.resume:
            trainer, data, info = _resumed_trainer(path, device, budget)
        else:
            trainer, data, info = _new_trainer(args, device, budget or Budget(steps=DEFAULT_TRAIN_STEPS))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if trainer is None:  # the n-gram: counted in one pass
        model, result = compare.fit_ngram(catalog.NGramConfig(**info["config"]), data, log=_say)
        catalog.save_checkpoint(model, path, {**info, "config": result.config})
        return _finish_train(args, model, result, data, Budget(), info)
    return _train(args, trainer, path, data, info)


def _train(args: argparse.Namespace, trainer: Trainer, path: Path, data, info: dict) -> int:
    """Train with a line and a checkpoint per curve point; stop early at ``--pause-at``."""

    def on_curve_point(t: Trainer) -> None:
        p = t.state.curve[-1]
        _say(
            f"step {p['step']:>6,}  tokens {p['tokens']:>11,}  {p['seconds']:8.1f} s  "
            f"train {p['train']:.4f}  val {p['val']:.4f}"
        )
        _checkpoint(t, path, info)

    trainer.on_curve_point = on_curve_point
    budget, name, model = Budget.of(trainer.config), info["model"], trainer.model
    _say(
        f"training {name} ({model.num_parameters():,} parameters) on {data.corpus.name} for "
        f"{budget.describe()} on {blas_threads()}; checkpoint: {path}"
    )
    state = compare.train_neural(trainer, name, budget, _progress(args), args.pause_at)
    if trainer.budget_left():  # paused
        if not state.curve or state.curve[-1]["step"] != state.step:
            _checkpoint(trainer, path, info)
        _say(f"paused at step {state.step:,}; continue with: python -m zoo train --out {args.out} --resume")
        return 0
    result = compare.neural_result(name, trainer, data, trainer.config.device)
    return _finish_train(args, model, result, data, budget, info)


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
    data = compare.load_dataset(args.dataset, args.data_path, _val_tokens(args))
    config = catalog.model_config(name, data.vocab_size, args.quick, **model_overrides)
    data_info = {"dataset": args.dataset, "data_path": args.data_path, "val_tokens": _val_tokens(args)}
    info = catalog.checkpoint_info(name, config, data.tokenizer, {**data_info, "quick": args.quick})
    if not catalog.model_spec(name).neural:
        return None, data, info
    tg.manual_seed(args.seed)
    model = catalog.instantiate(name, config).to(device)
    curve = {key: getattr(args, key) for key in ("eval_points", "eval_tokens") if getattr(args, key)}
    curve = {**(compare.QUICK_CURVE if args.quick else {}), **curve}
    overrides = {"seed": args.seed, "device": device, **curve, **train_overrides}
    return compare.make_trainer(name, model, data, budget, overrides), data, info


def _resumed_trainer(path: Path, device: str, budget: Budget | None) -> tuple:
    """(trainer restored from ``path``, data, checkpoint info); a new ``budget`` replaces the old one."""
    model, tokenizer, info, saved = catalog.load_checkpoint(path, device)
    if saved is None:
        raise ValueError(f"{path} holds a fitted n-gram: there is no training to resume")
    run = info["data"]
    data = compare.load_dataset(run["dataset"], run["data_path"], run["val_tokens"], tokenizer)
    settings = {**saved, "device": device}
    if budget is not None:  # the learning-rate schedule follows the new budget from here on
        settings.update({k: v for k, v in budget.limits(1).items() if k != "warmup_steps"})
    trainer = Trainer(model, data.train_ids, data.val_ids, TrainConfig(**settings))
    trainer.resume(str(path))
    _say(f"resuming from {path} at step {trainer.state.step:,}")
    return trainer, data, info


def _checkpoint(trainer: Trainer, path: Path, info: dict) -> None:
    catalog.save_checkpoint(trainer, path, info)


def _finish_train(args, model, result: compare.ModelResult, data, budget: Budget, info: dict) -> int:
    """Sample, print the model's line, and write the report next to the checkpoint."""
    seed, quick = args.seed, info["data"].get("quick", False)
    compare.add_sample(result, model, data, seed)
    _say(compare.describe_result(result))
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
        **compare.sample_settings(data, seed),
    )
    attention = compare.attention_snippet(model, data) if result.name == "gpt" else None
    files = report.write_report(results, args.out, attention)
    _say(f"wrote {args.out}/: checkpoint.npz, {', '.join(files.values())}")
    return 0


# ---------------------------------------------------------------------------------- sample/eval
def run_sample(args: argparse.Namespace) -> int:
    with user_input():
        model, tokenizer, _, _ = catalog.load_checkpoint(args.checkpoint, parse_device(args.device))
        default_prompt = "\n" if "\n" in tokenizer.chars else tokenizer.chars[0]
        prompt = default_prompt if args.prompt is None else args.prompt
        _check_vocabulary(tokenizer, prompt, "the prompt")
        sampling = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p}
        text = compare.sample_text(model, tokenizer, prompt, args.tokens, args.seed, **sampling)
    print(prompt + text)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    with user_input():
        device = parse_device(args.device)
        model, tokenizer, info, _ = catalog.load_checkpoint(args.checkpoint, device)
        data = {"dataset": args.dataset, "data_path": args.data_path} if args.dataset else info["data"]
        corpus = compare.open_corpus(data["dataset"], data["data_path"])
        _check_vocabulary(tokenizer, corpus.val, f"the validation text of {corpus.name}")
    ids = tokenizer.encode(corpus.val)[: args.val_tokens + 1 if args.val_tokens else None]
    figures = evaluate(model, ids, tokenizer, batch_size=args.batch_size, device=device)
    rows = [
        [key, f"{value:,}" if isinstance(value, int) else f"{value:.4f}"] for key, value in figures.items()
    ]
    print(f"{info['model']} from {args.checkpoint} on {corpus.name} (validation split)")
    print(report.text_table(["metric", "value"], rows))
    return 0


def _check_vocabulary(tokenizer, text: str, what: str) -> None:
    unknown = sorted(set(text) - set(tokenizer.chars))
    if unknown:
        shown = " ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise ValueError(f"{what} has {len(unknown)} character(s) outside the model's vocabulary: {shown}")


# -------------------------------------------------------------------------------------- parser
DATASETS = (
    "python-docs (default), shakespeare, names, file:PATH, markov:key=value,..., longrange:key=value,..."
)
OPTIONS: dict[str, dict] = {
    "--dataset": {"default": DEFAULT_CORPUS, "help": f"the corpus: {DATASETS}"},
    "--data-path": {"metavar": "PATH", "help": "a local copy of the shakespeare or names file"},
    "--device": {"default": "cpu", "help": "cpu (default), cuda or cuda:N (needs CuPy and a GPU)"},
    "--seed": {"type": int, "default": 0, "help": "seed of initialisation, batches and sampling (default 0)"},
    "--budget": {"help": "seconds or minutes of training (60s, 1.5m) or tokens seen (20000, 500k, 2M)"},
    "--val-tokens": {"type": int, "metavar": "N", "help": "score only the first N validation characters"},
    "--no-progress": {"action": "store_true", "help": "no progress bar (also off when stderr is not a TTY)"},
    "--threads": {
        "type": lambda text: _positive_int("--threads", text),
        "metavar": "N",
        "help": "BLAS threads (default 1, or OPENBLAS_NUM_THREADS when set): use the idle cores "
        "for speed; on busy cores more threads are far slower",
    },
    "--checkpoint": {"required": True, "metavar": "PATH", "help": "a checkpoint.npz written by `train`"},
}


def _positive_int(option: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{option} needs a positive integer, got {text!r}")
    return int(text)


def _command(commands, name: str, run, summary: str, description: str, shared: tuple[str, ...]):
    parser = commands.add_parser(name, help=summary, description=description)
    for option in shared:
        parser.add_argument(option, **OPTIONS[option])
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    examples = __doc__.split("\n\n")[1]
    parser = argparse.ArgumentParser(
        prog="python -m zoo",
        description="Compare the language models of the zoo, train one, sample from it, evaluate it.",
        epilog=f"examples:\n{examples}\n\n`python -m zoo COMMAND --help` lists a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
    data = ("--dataset", "--data-path", "--device", "--seed", "--threads")

    p = _command(
        commands,
        "compare",
        run_compare,
        "train every model on one corpus, print the leaderboard",
        "Fit the n-gram (order chosen on validation) and train each neural model with the same budget "
        "on one corpus; print the leaderboard and a sample per model; write results.json, report.md "
        "and pictures.",
        (*data, "--val-tokens", "--no-progress"),
    )
    budget_help = OPTIONS["--budget"]["help"]
    p.add_argument("--budget", help=f"per neural model: {budget_help}; default 60s, 5s with --quick")
    p.add_argument(
        "--models",
        default=",".join(catalog.DEFAULT_MODELS),
        help=f"comma list from {', '.join(catalog.CATALOG)} (default: %(default)s)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller models, 5 s each (unless --budget), first "
        f"{compare.QUICK_VAL_TOKENS:,} validation characters: under a minute in all",
    )
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/NAME)")
    p.add_argument("--name", help="run name for the default output directory (default: a timestamp)")

    p = _command(
        commands,
        "train",
        run_train,
        "train one model with checkpoints (or fit the n-gram)",
        "Train one model, printing a line per point of the validation curve and writing "
        "OUT/checkpoint.npz at each; --resume continues bit for bit where the checkpoint left off "
        "(recurrent models included: their hidden state and stream position are saved).",
        (*data, "--val-tokens", "--no-progress"),
    )
    p.add_argument("--model", choices=list(catalog.CATALOG), help="the model (required unless --resume)")
    p.add_argument("--out", required=True, metavar="DIR", help="where checkpoint.npz and the report go")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help=f"optimizer steps (default {DEFAULT_TRAIN_STEPS})")
    budget.add_argument("--budget", help=OPTIONS["--budget"]["help"] + ", instead of steps")
    p.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="model or training settings, e.g. --set d_model=256 learning_rate=3e-4 batch_size=32",
    )
    p.add_argument("--quick", action="store_true", help="the smaller configuration of `compare --quick`")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.npz (same data and "
        "settings; --steps or --budget, if given, replaces the budget)",
    )
    p.add_argument("--pause-at", type=int, metavar="STEP", help="stop at this step, with a checkpoint")
    p.add_argument("--eval-points", type=int, metavar="N", help="points on the validation curve (default 10)")
    p.add_argument(
        "--eval-tokens", type=int, metavar="N", help="validation prefix for the curve (default 20000)"
    )

    p = _command(
        commands,
        "sample",
        run_sample,
        "generate text from a checkpoint",
        "Print the prompt followed by sampled characters.",
        ("--checkpoint", "--device", "--seed", "--threads"),
    )
    p.add_argument("--prompt", help="text to continue (default: a newline)")
    p.add_argument("--tokens", type=int, default=200, help="characters to generate (default %(default)s)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 means greedy (default %(default)s)")
    p.add_argument("--top-k", type=int, help="sample among the k most probable characters only")
    p.add_argument("--top-p", type=float, help="sample among the fewest characters holding this probability")

    p = _command(
        commands,
        "eval",
        run_eval,
        "exact validation loss of a checkpoint on any corpus",
        "Score every validation character of a corpus after the first, exactly once.",
        ("--checkpoint", "--data-path", "--device", "--seed", "--threads", "--val-tokens"),
    )
    p.add_argument("--dataset", help=f"the corpus to score (default: the checkpoint's): {DATASETS}")
    p.add_argument(
        "--batch-size", type=int, default=32, help="windows per forward pass (default %(default)s)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m zoo`` with ``argv`` (default: the command line); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except UsageError as error:
        print(f"python -m zoo {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"python -m zoo {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
