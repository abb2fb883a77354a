"""The n-gram counted across MPI ranks (``zoo.models.ngram_shards``): fit time and peak memory per rank.

    python benchmarks/bench_ngram_shards.py [--tokens 16000000] [--order 8] [--smoothing mkn]
                                            [--perturb 0.01]

The corpus: Tiny Shakespeare's characters (``shared/data/tinyshakespeare.txt``) repeated to
``--tokens`` tokens, each copy after the first with a share ``--perturb`` of its characters replaced
by seeded random ones (so the copies add new n-grams). Three runs, each a fresh process that builds
the corpus and then times one fit: ``NGramLM.fit`` in one process without MPI, and ``fit_sharded``
on 1 and on 2 ranks (``mpiexec -n N``, one BLAS thread each). Per rank: the fit's seconds (the
slowest rank's) and the peak resident memory (``ru_maxrss``, the corpus of 8 bytes a token
included); ``2_ranks_root_only``: rank 0 alone merges and builds the tables, as ``zoo train``
does. ``identical``: every run's tables (keys and counts of every order) hash the same.
Prints ONE JSON line (``{"skipped": ...}`` without the data file or without mpiexec/mpi4py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
DATA = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


def corpus(tokens: int, perturb: float) -> tuple[np.ndarray, int]:
    """``tokens`` character ids: the text, then copies with a share ``perturb`` of characters replaced."""
    text = DATA.read_text(encoding="utf-8")
    chars = sorted(set(text))
    lookup = np.zeros(max(map(ord, chars)) + 1, dtype=np.int64)
    lookup[[ord(c) for c in chars]] = np.arange(len(chars))
    base = lookup[np.frombuffer(text.encode("utf-32-le"), dtype="<u4")]
    rng = np.random.default_rng(0)
    copies = [base]
    while sum(map(len, copies)) < tokens:
        copy = base.copy()
        where = rng.random(len(copy)) < perturb
        copy[where] = rng.integers(0, len(chars), int(where.sum()))
        copies.append(copy)
    return np.concatenate(copies)[:tokens], len(chars)


def digest(model) -> str:
    h = hashlib.sha256()
    for table in model.tables:
        h.update(np.ascontiguousarray(table.keys).tobytes())
        h.update(np.ascontiguousarray(table.counts).tobytes())
    return h.hexdigest()[:16]


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def worker(mode: str, tokens: int, order: int, smoothing: str, perturb: float, root_only: bool) -> None:
    from zoo.models.ngram import NGramLM

    ids, vocab = corpus(tokens, perturb)
    model = NGramLM(order, smoothing)
    if mode == "single":
        started = time.perf_counter()
        model.fit(ids, vocab)
        print(
            json.dumps(
                {"seconds": time.perf_counter() - started, "peak_gib": [peak_gib()], "hash": digest(model)}
            )
        )
        return
    from tinygrad_lm import distributed as dist
    from zoo.models.ngram_shards import fit_sharded

    dist.init_process_group("mpi")
    dist.barrier()
    started = time.perf_counter()
    fitted = fit_sharded(model, ids, vocab, root_only=root_only)
    seconds = time.perf_counter() - started
    figures = dist.all_gather_object((seconds, peak_gib(), digest(model) if fitted else None))
    if dist.get_rank() == 0:
        record = {
            "seconds": max(f[0] for f in figures),
            "peak_gib": [f[1] for f in figures],
            "hash": figures[0][2],
            "ranks_agree": len({f[2] for f in figures if f[2]}) == 1,
        }
        print(json.dumps(record))


def launch(command: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=16_000_000)
    parser.add_argument("--order", type=int, default=8)
    parser.add_argument("--smoothing", default="mkn", choices=("addk", "kn", "mkn"))
    parser.add_argument(
        "--perturb", type=float, default=0.01, help="share of each copy's characters replaced"
    )
    parser.add_argument("--root-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("single", "sharded"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.tokens, args.order, args.smoothing, args.perturb, args.root_only)
    from common import emit, environment

    beside = pathlib.Path(sys.executable).parent / "mpiexec"
    mpiexec = str(beside) if beside.exists() else shutil.which("mpiexec")
    if not DATA.is_file():
        return emit({"benchmark": "ngram_shards", "skipped": f"no data file {DATA}"})
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        mpiexec = None
    if mpiexec is None:
        return emit({"benchmark": "ngram_shards", "skipped": "no mpi4py or no mpiexec"})
    this = [sys.executable, str(pathlib.Path(__file__).resolve())]
    settings = ["--tokens", str(args.tokens), "--order", str(args.order), "--smoothing", args.smoothing]
    settings += ["--perturb", str(args.perturb)]
    runs = {"one_process": launch([*this, *settings, "--worker", "single"])}
    for ranks in (1, 2):
        command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", *this[1:], *settings]
        runs[f"{ranks}_ranks"] = launch([*command, "--worker", "sharded"])
    runs["2_ranks_root_only"] = launch([*command, "--worker", "sharded", "--root-only"])  # as the zoo
    emit(
        {
            "benchmark": "ngram_shards",
            "tokens": args.tokens,
            "order": args.order,
            "smoothing": args.smoothing,
            "perturb": args.perturb,
            **{
                name: {
                    "fit_seconds": round(r["seconds"], 2),
                    "peak_gib_per_rank": [round(g, 3) for g in r["peak_gib"]],
                }
                for name, r in runs.items()
            },
            "identical": len({r["hash"] for r in runs.values()}) == 1
            and all(r.get("ranks_agree", True) for r in runs.values()),
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
