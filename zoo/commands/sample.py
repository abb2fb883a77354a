"""``python -m zoo sample``: print a prompt and what a checkpoint's model writes after it."""

from __future__ import annotations

import argparse

import tinygrad_lm as tg
from zoo.checkpoints import load_checkpoint
from zoo.commands.common import check_tokenizer_option, check_vocabulary, user_input
from zoo.sampling import sample_text
from zoo.tokenizer_spec import unknown_characters


def run(args: argparse.Namespace) -> int:
    """Sample ``--tokens`` characters after ``--prompt`` (default: a newline, if the model knows it)."""
    with user_input():
        model, tokenizer, _, _ = load_checkpoint(args.checkpoint, tg.parse_device(args.device))
        check_tokenizer_option(args, tokenizer)
        default_prompt = "\n" if not unknown_characters(tokenizer, "\n") else tokenizer.chars[0]
        prompt = default_prompt if args.prompt is None else args.prompt
        check_vocabulary(tokenizer, prompt, "the prompt")
        sampling = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p}
        text = sample_text(model, tokenizer, prompt, args.tokens, args.seed, **sampling)
    print(prompt + text)
    return 0
