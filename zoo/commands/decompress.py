"""``python -m zoo decompress``: the original file back from ``python -m zoo compress``'s output, with
the same checkpoint; the header is checked before the model is loaded and the original's SHA-256
after decoding, so a wrong checkpoint or a damaged file is an error (exit 2), never garbage."""

from __future__ import annotations

import argparse
import time

from zoo.adaptive import decompress_adaptive
from zoo.commands.common import user_input
from zoo.commands.compress import checked_paths, coding_model, progress_bar
from zoo.compressed_file import unpack
from zoo.compression import decompress
from zoo.files import write_atomic


def run(args: argparse.Namespace) -> int:
    """Decompress ``args.input`` into ``args.output`` after checking its header and checkpoint."""
    with user_input():
        source, target = checked_paths(args)
        packed = source.read_bytes()
        header, _ = unpack(packed, str(source))  # a foreign or damaged file fails before the model loads
        started = time.perf_counter()
        if args.checkpoint is None:
            with progress_bar(args, "decompress", header.symbols, "byte") as bar:
                original = decompress_adaptive(packed, str(source), bar.update)
        else:
            model, tokenizer, identity = coding_model(args.checkpoint)
            with progress_bar(args, "decompress", header.symbols) as bar:
                original = decompress(model, tokenizer, identity, packed, str(source), bar.update)
        write_atomic(target, original)
    seconds = time.perf_counter() - started
    print(f"{source} -> {target}: {len(packed):,} -> {len(original):,} bytes, checksum ok, {seconds:.1f} s")
    return 0
