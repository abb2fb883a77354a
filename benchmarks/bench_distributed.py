"""Data-parallel training on 2 MPI ranks: the all-reduce, and the GPT step against one process.

    python benchmarks/bench_distributed.py [--rounds 5] [--steps 12]

* **all-reduce**: ``tinygrad_lm.distributed.all_reduce`` of 1, 4, 16 and 64 MiB of float32 on 2 ranks
  (``mpiexec -n 2``): milliseconds (median of repeats), the algorithm bandwidth (bytes / time) and the
  bus bandwidth (2 (N - 1) / N x bytes / time, what a ring moves per rank, as nccl-tests report it),
  beside one ``numpy.copyto`` of the same buffer in the same process as the reference;
* **GPT step**: nanoGPT's CPU configuration (benchmarks/bench_gpt.py: 4 layers, d_model 128, context
  64, global batch 12) trained by ``DistributedDataParallel`` on 2 ranks x 1 BLAS thread x 6 rows,
  against 1 process x 2 BLAS threads x 12 rows, alternating launches, ``--rounds`` each; the ratio is
  the median of the per-round ratios (2 ranks / 1 process; also against 1 process x 1 thread, the
  steadier figure when the cores are busy), and the all-reduce's share of the
  data-parallel step is the time spent inside the bucket reductions (waiting for the other rank
  included) over the step's time. On a 2-core machine this measures the overhead, not a speed-up.

Needs the ``distributed`` extra (mpi4py, mpich); prints ONE JSON line (``{"skipped": ...}`` without it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
SIZES_MIB = (1, 4, 16, 64)
GLOBAL_BATCH = 12


# ----------------------------------------------------------------------------- workers (inside MPI)
def allreduce_worker(repeats: int) -> dict:
    import numpy

    import tinygrad_lm as tg
    from tinygrad_lm import distributed as dist

    dist.init_process_group("mpi")
    world, figures = dist.get_world_size(), {}
    for mib in SIZES_MIB:
        array = numpy.ones(mib * 2**20 // 4, dtype=numpy.float32)
        tensor, spare = tg.as_tensor(array), numpy.empty_like(array)
        times, copies = [], []
        for _ in range(repeats):
            dist.barrier()
            started = time.perf_counter()
            dist.all_reduce(tensor)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            numpy.copyto(spare, array)
            copies.append(time.perf_counter() - started)
        seconds, nbytes = statistics.median(times), array.nbytes
        figures[f"{mib}MiB"] = {
            "ms": seconds * 1e3,
            "algbw_GBps": nbytes / seconds / 1e9,
            "busbw_GBps": 2 * (world - 1) / world * nbytes / seconds / 1e9,
            "copy_ms": statistics.median(copies) * 1e3,
        }
    return {"ranks": world, "sizes": figures}


def step_worker(steps: int, warmup: int) -> dict:
    """Median seconds of the GPT training step here (one process, or this rank of a DDP job)."""
    import bench_gpt

    import tinygrad_lm as tg
    from tinygrad_lm import distributed as dist
    from tinygrad_lm import optim
    from tinygrad_lm.distributed import process_group
    from zoo.train import parameter_groups

    parallel = dist.launched_world_size() > 1
    if parallel:
        dist.init_process_group("mpi")
    rank, world = (dist.get_rank(), dist.get_world_size()) if parallel else (0, 1)
    rows = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)
    tg.manual_seed(0)
    model = bench_gpt.our_model("tanh", False)
    forward = dist.DistributedDataParallel(model) if parallel else model
    optimizer = optim.AdamW(
        parameter_groups(model, bench_gpt.WEIGHT_DECAY), lr=bench_gpt.LR, betas=bench_gpt.BETAS
    )
    data = [(tg.tensor(x[rows]), tg.tensor(y[rows])) for x, y in bench_gpt.batches(8)]
    reducing = [0.0]
    if parallel:  # time every reduction of a bucket
        group = process_group._group
        inner = group.all_reduce

        def timed(array, op):
            started = time.perf_counter()
            inner(array, op)
            reducing[0] += time.perf_counter() - started

        group.all_reduce = timed
    step_times, reduce_times = [], []
    for step in range(warmup + steps):
        x, y = data[step % len(data)]
        reducing[0] = 0.0
        started = time.perf_counter()
        _, loss = forward(x, y)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), bench_gpt.CLIP)
        optimizer.step()
        if step >= warmup:
            step_times.append(time.perf_counter() - started)
            reduce_times.append(reducing[0])
    return {
        "ranks": world,
        "step_ms": statistics.median(step_times) * 1e3,
        "allreduce_ms": statistics.median(reduce_times) * 1e3,
    }


# ----------------------------------------------------------------------------- driver
def mpiexec() -> str | None:
    import shutil

    beside = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def launch(worker: list[str], ranks: int, threads: int) -> dict:
    """Run this file's ``worker`` on ``ranks`` processes of ``threads`` BLAS threads; rank 0's JSON."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        **dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), str(threads)),
    }
    command = [sys.executable, __file__, *worker]
    if ranks > 1:
        command = [mpiexec(), "-n", str(ranks), sys.executable, "-m", "mpi4py", __file__, *worker]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"bench_distributed: {' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=9, help="all-reduces per size")
    parser.add_argument("--worker", choices=["allreduce", "step"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = (
            allreduce_worker(args.repeats)
            if args.worker == "allreduce"
            else step_worker(args.steps, args.warmup)
        )
        if int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0"))) == 0:
            print(json.dumps(result), flush=True)
        return
    from common import emit, environment

    if importlib.util.find_spec("mpi4py") is None or mpiexec() is None:
        skipped = "needs mpi4py and mpiexec: pip install -e '.[distributed]'"
        emit({"benchmark": "distributed", "skipped": skipped})
        return
    allreduce = launch(["--worker", "allreduce", "--repeats", str(args.repeats)], 2, 1)
    step = ["--worker", "step", "--steps", str(args.steps), "--warmup", str(args.warmup)]
    rounds = []
    for _ in range(args.rounds):
        alone = launch(step, 1, 2)
        parallel = launch(step, 2, 1)
        single = launch(step, 1, 1)  # also 1 process x 1 thread: steadier than 2 threads on busy cores
        rounds.append((alone, parallel, single))
    emit(
        {
            "benchmark": "distributed",
            "allreduce_2_ranks": allreduce["sizes"],
            "gpt_step": {
                "config": "nanoGPT CPU: 4 layers, 4 heads, d_model 128, context 64, global batch 12, float32",
                "one_process_2_threads_ms": statistics.median(a["step_ms"] for a, _, _ in rounds),
                "two_ranks_1_thread_ms": statistics.median(p["step_ms"] for _, p, _ in rounds),
                "ratio": statistics.median(p["step_ms"] / a["step_ms"] for a, p, _ in rounds),
                "one_process_1_thread_ms": statistics.median(o["step_ms"] for _, _, o in rounds),
                "ratio_to_1_thread": statistics.median(p["step_ms"] / o["step_ms"] for _, p, o in rounds),
                "allreduce_ms": statistics.median(p["allreduce_ms"] for _, p, _ in rounds),
                "allreduce_share": statistics.median(p["allreduce_ms"] / p["step_ms"] for _, p, _ in rounds),
            },
            "rounds": args.rounds,
            "steps_per_round": args.steps,
            **environment(None),
        }
    )


if __name__ == "__main__":
    main()
