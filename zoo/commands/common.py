"""What the commands of ``python -m zoo`` share: bad input as ``UsageError``, printing, ``--quick``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import tinygrad_lm as tg
from zoo.tokenizer_spec import parse_tokenizer_spec, tokenizer_name, unknown_characters

QUICK_VAL_TOKENS = 4000
"""``--quick`` scores only this many validation characters."""


class UsageError(Exception):
    """A mistake in the command's input: reported as one line on stderr, exit code 2."""


@contextlib.contextmanager
def user_input() -> Iterator[None]:
    """Turn the errors that bad input raises (unknown names, missing files, no CUDA) into UsageError."""
    try:
        yield
    except (ValueError, OSError, RuntimeError) as error:
        raise UsageError(str(error).splitlines()[0] if str(error) else type(error).__name__) from error


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar unless ``--no-progress`` or stderr is not a terminal."""
    return not args.no_progress and sys.stderr.isatty()


def say(line: str) -> None:
    """Print one line of the command's log, at once."""
    print(line, flush=True)


def ready_kernels(device: str) -> None:
    """Compile (or load from numba's cache) the compiled kernels before any training budget starts
    (``tg.warm_up_kernels``), and say so when that took a while (a fresh install: seconds)."""
    if device == "cpu" and (seconds := tg.warm_up_kernels()) > 1.0:
        say(f"compiled the numba kernels in {seconds:.1f} s, before any budget (numba caches them)")


def val_tokens(args: argparse.Namespace) -> int | None:
    """The validation prefix to score: ``--val-tokens``, else ``QUICK_VAL_TOKENS`` with ``--quick``."""
    return args.val_tokens or (QUICK_VAL_TOKENS if args.quick else None)


def check_vocabulary(tokenizer: Any, text: str, what: str) -> None:
    """A ValueError naming the characters of ``text`` (``what``) that ``tokenizer`` does not know."""
    unknown = unknown_characters(tokenizer, text)
    if unknown:
        shown = " ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise ValueError(f"{what} has {len(unknown)} character(s) outside the model's vocabulary: {shown}")


def check_tokenizer_option(args: argparse.Namespace, tokenizer: Any) -> None:
    """``--tokenizer`` of sample/eval, when given, must name the checkpoint's own tokenizer (the only
    one whose ids its model reads)."""
    wanted = getattr(args, "tokenizer", None)
    if wanted is None:
        return
    kind, number = parse_tokenizer_spec(wanted)
    own = tokenizer_name(tokenizer)
    if (kind if number is None else f"{kind}:{number}") != own:
        raise ValueError(f"--tokenizer {wanted}: the checkpoint's model reads {own} tokens; expected {own}")
