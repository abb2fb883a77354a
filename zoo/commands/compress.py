"""``python -m zoo compress``: a checkpoint's model as a lossless compressor (``decompress`` undoes it).

    python -m zoo compress --checkpoint runs/ngram/checkpoint.npz input.txt -o input.zlm
    python -m zoo decompress --checkpoint runs/ngram/checkpoint.npz input.zlm -o restored.txt

The output is written atomically and never over an existing file (``--force`` replaces it). Bad
input -- a non-UTF-8 file, another checkpoint's file, a damaged or truncated one -- is one line on
stderr and exit code 2, before anything is written. Without ``--checkpoint`` any file (UTF-8 or
not) is coded by a byte model that learns as it codes (``zoo.adaptive``). See
``zoo.compressed_file`` for what must match between the machines that compress and decompress.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from zoo.adaptive import compress_adaptive
from zoo.checkpoints import load_checkpoint
from zoo.commands.common import show_progress, user_input
from zoo.compressed_file import model_identity
from zoo.compression import compress, decode_text
from zoo.files import write_atomic


def run(args: argparse.Namespace) -> int:
    """Compress ``args.input`` into ``args.output``; print sizes and bits per character."""
    with user_input():
        source, target = checked_paths(args)
        original = source.read_bytes()
        started = time.perf_counter()
        if args.checkpoint is None:  # no model: any bytes, a model learning as it codes
            characters = len(original)
            with progress_bar(args, "compress", characters, "byte") as bar:
                packed = compress_adaptive(original, bar.update)
        else:
            characters = len(decode_text(original, str(source)))
            model, tokenizer, identity = coding_model(args.checkpoint)
            with progress_bar(args, "compress", characters) as bar:
                packed = compress(model, tokenizer, identity, original, bar.update)
        write_atomic(target, packed)
    seconds = time.perf_counter() - started
    unit = "byte" if args.checkpoint is None else "char"
    rate = f"{8 * len(packed) / characters:.4f} bits/{unit}" if characters else "empty input"
    print(f"{source} -> {target}: {len(original):,} -> {len(packed):,} bytes, {rate}, {seconds:.1f} s")
    return 0


def checked_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """The input and output paths, refusing a missing input and an existing output (unless --force)."""
    source, target = Path(args.input), Path(args.output)
    if not source.is_file():
        raise FileNotFoundError(f"input file not found: {source}")
    if target.exists() and target.resolve() == source.resolve():
        raise ValueError(f"-o {target} is the input file itself: choose another output")
    if target.exists() and not args.force:
        raise FileExistsError(f"{target} already exists: choose another -o or pass --force to replace it")
    return source, target


def coding_model(checkpoint: str) -> tuple:
    """The model, tokenizer and identity (``zoo.compressed_file.model_identity``) of a checkpoint."""
    model, tokenizer, info, _ = load_checkpoint(checkpoint, "cpu")
    return model, tokenizer, model_identity(info, model.state_dict())


def progress_bar(args: argparse.Namespace, name: str, total: int, unit: str = "char"):
    """A tqdm bar on stderr (disabled by --no-progress or a non-terminal stderr)."""
    from tqdm import tqdm

    options = {"disable": not show_progress(args), "file": sys.stderr, "leave": False, "ncols": 100}
    return tqdm(total=total, desc=name, unit=unit, unit_scale=True, **options)


