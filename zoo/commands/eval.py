"""``python -m zoo eval``: the exact validation figures of a checkpoint on its corpus or another."""

from __future__ import annotations

import argparse
from pathlib import Path

import tinygrad_lm as tg
from zoo import report
from zoo.checkpoints import load_checkpoint
from zoo.commands.common import check_tokenizer_option, check_vocabulary, user_input
from zoo.datasets import load_dataset, open_corpus
from zoo.evaluate import evaluate
from zoo.pictures import plot_surprisal
from zoo.surprisal import surprisal_bits, surprisal_snippet


def run(args: argparse.Namespace) -> int:
    """Score the validation split of ``--dataset`` (default: the checkpoint's) and print the table."""
    with user_input():
        device = tg.parse_device(args.device)
        model, tokenizer, info, _ = load_checkpoint(args.checkpoint, device)
        check_tokenizer_option(args, tokenizer)
        data = {"dataset": args.dataset, "data_path": args.data_path} if args.dataset else info["data"]
        corpus = open_corpus(data["dataset"], data["data_path"])
        check_vocabulary(tokenizer, corpus.val, f"the validation text of {corpus.name}")
        ids = load_dataset(data["dataset"], data["data_path"], args.val_tokens, tokenizer).val_ids
        if args.surprisal and Path(args.surprisal).exists():
            raise FileExistsError(f"--surprisal {args.surprisal} already exists: choose another file")
    figures = evaluate(model, ids, tokenizer, batch_size=args.batch_size, device=device)
    rows = [
        [key, f"{value:,}" if isinstance(value, int) else f"{value:.4f}"] for key, value in figures.items()
    ]
    print(f"{info['model']} from {args.checkpoint} on {corpus.name} (validation split)")
    print(report.text_table(["metric", "value"], rows))
    if args.surprisal:
        snippet = surprisal_snippet(corpus.val)
        bits = {info["model"]: surprisal_bits(model, tokenizer, snippet)}
        plot_surprisal(snippet, bits, Path(args.surprisal))
        print(f"wrote {args.surprisal}: the surprisal of the first {len(snippet)} validation characters")
    return 0
