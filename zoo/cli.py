"""``python -m zoo``: compare the models of the zoo, train one, sample from it, evaluate it.

    python -m zoo compare [--dataset python-docs] [--models ngram,mlp,...] [--budget 60s] [--quick]
    python -m zoo train --model gpt --dataset shakespeare --steps 2000 --out runs/gpt [--resume]
    python -m zoo sample --checkpoint runs/gpt/checkpoint.npz --prompt "ROMEO:" --tokens 200
    python -m zoo eval --checkpoint runs/gpt/checkpoint.npz --dataset shakespeare
    python -m zoo export --checkpoint runs/gpt/checkpoint.npz --format safetensors -o gpt.safetensors
    python -m zoo import --format safetensors gpt.safetensors -o runs/imported/checkpoint.npz
    python -m zoo compress --checkpoint runs/gpt/checkpoint.npz notes.txt -o notes.zlm
    python -m zoo decompress --checkpoint runs/gpt/checkpoint.npz notes.zlm -o notes.txt

Mistakes in the input (an unknown model or dataset, a missing file, an unavailable device, a
character the model has never seen, an output folder that holds a run or is in use) end the
command with one line on stderr and exit code 2; a training loss that turns NaN or infinite, with
exit code 1.

This module is the argument parser and the dispatch; each command is a module of ``zoo.commands``.
"""

from __future__ import annotations

import argparse
import os
import sys

from zoo import catalog
from zoo.commands import compare, compress, decompress, export, import_, sample, train
from zoo.commands import eval as eval_command
from zoo.commands.common import QUICK_VAL_TOKENS, UsageError
from zoo.commands.train import DEFAULT_TRAIN_STEPS
from zoo.data import DEFAULT_CORPUS
from zoo.parallel import agree_before_exit
from zoo.train import NonFiniteLoss

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
    "--val-tokens": {
        "type": lambda text: _positive_int("--val-tokens", text),
        "metavar": "N",
        "help": "score only the first N validation characters",
    },
    "--no-progress": {"action": "store_true", "help": "no progress bar (also off when stderr is not a TTY)"},
    "--threads": {
        "type": lambda text: _positive_int("--threads", text),
        "metavar": "N",
        "help": "BLAS threads (default 1, or OPENBLAS_NUM_THREADS when set): use the idle cores "
        "for speed; on busy cores more threads are far slower",
    },
    "--tokenizer": {
        "default": "char",
        "help": "char (default), bpe:N (N merges) or word[:M] (words seen M times, default 2)",
    },
    "--checkpoint": {"required": True, "metavar": "PATH", "help": "a checkpoint.npz written by `train`"},
}


def _positive_int(option: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{option} needs a positive integer, got {text!r}")
    return int(text)


def _positive(option: str):
    """An argparse ``type`` accepting integers >= 1 for ``option`` (one line naming it otherwise)."""
    return lambda text: _positive_int(option, text)


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
        compare.run,
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
        f"{QUICK_VAL_TOKENS:,} validation characters: under a minute in all",
    )
    p.add_argument(
        "--tokenizer",
        default="char",
        help="comma list of char, bpe:N, word[:M]: every model under each, one leaderboard in bits/char "
        "(default char)",
    )
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/NAME)")
    p.add_argument("--name", help="run name for the default output directory (default: a timestamp)")
    p.add_argument("--force", action="store_true", help="replace the results already in the output directory")
    p.add_argument(
        "--compress",
        action="store_true",
        help="also code the validation text with every neural model (the n-gram always is)",
    )

    p = _command(
        commands,
        "train",
        train.run,
        "train one model with checkpoints (or fit the n-gram)",
        "Train one model, printing a line per point of the validation curve and writing "
        "OUT/checkpoint.npz at each; --resume continues bit for bit where the checkpoint left off "
        "(recurrent models included: their hidden state and stream position are saved).",
        (*data, "--val-tokens", "--no-progress"),
    )
    p.add_argument("--model", choices=list(catalog.CATALOG), help="the model (required unless --resume)")
    p.add_argument("--tokenizer", **OPTIONS["--tokenizer"])
    p.add_argument("--out", required=True, metavar="DIR", help="where checkpoint.npz and the report go")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--steps", type=_positive("--steps"), help=f"optimizer steps (default {DEFAULT_TRAIN_STEPS})"
    )
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
    p.add_argument("--force", action="store_true", help="replace the run already in OUT (default: refuse)")
    p.add_argument(
        "--pause-at",
        type=_positive("--pause-at"),
        metavar="STEP",
        help="stop at this step, with a checkpoint",
    )
    p.add_argument(
        "--eval-points",
        type=_positive("--eval-points"),
        metavar="N",
        help="points on the validation curve (default 10)",
    )
    p.add_argument(
        "--eval-tokens",
        type=_positive("--eval-tokens"),
        metavar="N",
        help="validation prefix for the curve (default 20000)",
    )

    p = _command(
        commands,
        "sample",
        sample.run,
        "generate text from a checkpoint",
        "Print the prompt followed by sampled characters.",
        ("--checkpoint", "--device", "--seed", "--threads"),
    )
    p.add_argument("--prompt", help="text to continue (default: a newline)")
    p.add_argument("--tokenizer", help="optional: the checkpoint's tokenizer (an error if it is another)")
    p.add_argument(
        "--tokens",
        type=_positive("--tokens"),
        default=200,
        help="characters to generate (default %(default)s)",
    )
    p.add_argument("--temperature", type=float, default=0.8, help="0 means greedy (default %(default)s)")
    p.add_argument(
        "--top-k", type=_positive("--top-k"), help="sample among the k most probable characters only"
    )
    p.add_argument("--top-p", type=float, help="sample among the fewest characters holding this probability")

    p = _command(
        commands,
        "eval",
        eval_command.run,
        "exact validation loss of a checkpoint on any corpus",
        "Score every validation character of a corpus after the first, exactly once.",
        ("--checkpoint", "--data-path", "--device", "--seed", "--threads", "--val-tokens"),
    )
    p.add_argument("--dataset", help=f"the corpus to score (default: the checkpoint's): {DATASETS}")
    p.add_argument("--tokenizer", help="optional: the checkpoint's tokenizer (an error if it is another)")
    p.add_argument(
        "--batch-size",
        type=_positive("--batch-size"),
        default=32,
        help="windows per forward pass (default %(default)s)",
    )
    p.add_argument(
        "--surprisal", metavar="PNG", help="also draw the first validation characters shaded by -log2 p"
    )

    p = _command(
        commands,
        "export",
        export.run,
        "write a checkpoint as safetensors (neural models) or ARPA (the n-gram)",
        "Write a checkpoint in another library's format: safetensors weights plus a JSON config "
        "(a tied GPT under nanoGPT's parameter names), or the n-gram as an ARPA backoff model "
        "(KenLM, SRILM). Never replaces an existing file unless --force.",
        ("--checkpoint",),
    )
    p.add_argument("--format", required=True, choices=export.FORMATS, help="the output format")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the file to write")
    p.add_argument(
        "--layout",
        choices=("nanogpt", "zoo"),
        help="safetensors names: nanogpt (default for a tied GPT) or zoo (the zoo's own; other models)",
    )
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")

    p = commands.add_parser(
        "import",
        help="read a safetensors export back into a zoo checkpoint",
        description="Rebuild a zoo checkpoint (for sample and eval) from a file written by "
        "`python -m zoo export --format safetensors`. Never replaces an existing file unless --force.",
    )
    p.set_defaults(run=import_.run)
    p.add_argument("input", metavar="INPUT", help="the safetensors file")
    p.add_argument("--format", required=True, choices=("safetensors",), help="the input format")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the checkpoint.npz to write")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    _coding_commands(commands)
    return parser


def _coding_commands(commands) -> None:
    """``compress`` and ``decompress``: the model's probabilities driving an arithmetic coder."""
    for name, module, summary in (
        ("compress", compress, "compress a UTF-8 file with a checkpoint's model (arithmetic coding)"),
        ("decompress", decompress, "restore a file written by `compress`, with the same checkpoint"),
    ):
        p = _command(
            commands,
            name,
            module.run,
            summary,
            f"{summary[0].upper()}{summary[1:]}; the output is written atomically and never over an "
            "existing file unless --force.",
            ("--no-progress",),
        )
        p.add_argument(
            "--checkpoint",
            metavar="PATH",
            help="a checkpoint.npz written by `train`; without one, a byte model learns as it codes",
        )
        p.add_argument("input", metavar="INPUT", help="the file to read")
        p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="the file to write")
        p.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m zoo`` with ``argv`` (default: the command line); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except UsageError as error:
        print(f"python -m zoo {args.command}: error: {error}", file=sys.stderr, flush=True)
        agree_before_exit(error)
        return 2
    except NonFiniteLoss as error:
        print(f"python -m zoo {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"python -m zoo {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
