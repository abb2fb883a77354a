"""``python -m zoo compare``: every model of ``--models`` under every tokenizer of ``--tokenizer`` on one
corpus, one leaderboard sorted by bits per character, then the report (``zoo.compare`` does the
comparison itself)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import tinygrad_lm as tg
from tinygrad_lm import kernels
from zoo import catalog, compare, report
from zoo.commands.common import ready_kernels, say, show_progress, user_input, val_tokens
from zoo.compression_figures import fair_bits_per_char
from zoo.datasets import load_dataset
from zoo.sampling import sample_settings
from zoo.surprisal import surprisal_snippet
from zoo.threads import blas_threads
from zoo.tokenizer_spec import parse_tokenizer_list
from zoo.train import Budget


def run(args: argparse.Namespace) -> int:
    """Compare, print the leaderboard, write the report to ``--out`` (default ``runs/NAME``)."""
    started = time.perf_counter()
    out = Path(args.out or Path("runs") / (args.name or time.strftime("%Y%m%d-%H%M%S")))
    with user_input():
        if (out / "results.json").exists() and not args.force:
            raise ValueError(
                f"{out} already holds a comparison (results.json): choose another --out or --name, or "
                "replace it with --force"
            )
        options = compare.CompareOptions(
            models=model_names(args.models),
            budget=Budget.parse(
                args.budget or (compare.QUICK_BUDGET if args.quick else compare.DEFAULT_BUDGET)
            ),
            device=tg.parse_device(args.device),
            seed=args.seed,
            quick=args.quick,
            progress=show_progress(args),
            compress=args.compress,
        )
        specs = parse_tokenizer_list(args.tokenizer)
        data = load_dataset(args.dataset, args.data_path, val_tokens(args), tokenizer_spec=specs[0])
    count = len(options.models)
    say(
        f"python -m zoo compare: {count} model{'s' * (count > 1)}, {options.budget.describe()} each, "
        f"on {blas_threads()}, {kernels.describe()}"
    )
    for line in report.summary_lines(
        data.describe(), options.budget.describe(), args.seed, options.device, args.quick
    ):
        say(line)
    ready_kernels(options.device)
    models, attention = compare.run_comparison(options, data, log=say)
    described = [data.describe()]
    for spec in specs[1:]:  # the same corpus and validation text under each further tokenizer
        with user_input():
            other = load_dataset(args.dataset, args.data_path, val_tokens(args), tokenizer_spec=spec)
        described.append(other.describe())
        say(
            report.summary_lines(
                described[-1], options.budget.describe(), args.seed, options.device, args.quick
            )[0]
        )
        models += compare.run_comparison(options, other, log=say)[0]
    models.sort(key=lambda result: result.val["bits_per_char"])
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
        **sample_settings(data, args.seed),
        tokenizers=described,
        surprisal_snippet=surprisal_snippet(data.corpus.val),
        compressors=fair_bits_per_char(data.corpus.train, data.tokenizer.decode(data.val_ids[1:])),
    )
    files = report.write_report(results, out, attention)
    print("\n" + report.console_report(results))
    print(f"\nwrote {out}/: {', '.join(files.values())}  ({time.perf_counter() - started:.0f} s in all)")
    return 0


def model_names(text: str) -> tuple[str, ...]:
    """``--models``: a comma list of catalog names (a ValueError lists the valid ones)."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ValueError(f"--models is empty; valid models: {', '.join(catalog.CATALOG)}")
    for name in names:
        catalog.model_spec(name)
    return names
