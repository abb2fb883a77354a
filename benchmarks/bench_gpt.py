"""The GPT training step (nanoGPT's CPU configuration) and its forward pass, against PyTorch eager.

    python benchmarks/bench_gpt.py [--rounds 30] [--warmup 5] [--gelu tanh|none] [--bias]
    python benchmarks/bench_gpt.py --profile --rounds 20      # where our step's time goes (cProfile)
    python benchmarks/bench_gpt.py --profile-torch --rounds 20    # and PyTorch's (torch.profiler)
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_gpt.py     # the steadier 1-thread figure
    python benchmarks/bench_gpt.py --device cuda --preset nanogpt-gpu [--path tinyshakespeare.txt]
    python benchmarks/bench_gpt.py --preset nanogpt-gpu --dry-run    # the configuration and sizes, as JSON

Configuration: 4 layers, 4 heads, d_model 128, context 64, batch 12, vocabulary 65, weight tying, no
biases (nanoGPT's default), float32. A training step is what ``zoo.train.Trainer`` does: forward,
mean cross-entropy, zero_grad, backward, clip the global gradient norm at 1.0, AdamW (weight decay
0.1 on matrices, 0 on vectors, betas (0.9, 0.99)). The same model is written in PyTorch below, with
``F.scaled_dot_product_attention`` as nanoGPT uses it. The two implementations alternate within each
round; the ratio is the median of the per-round ratios ours / torch.

``--preset nanogpt-gpu`` is nanoGPT's GPU configuration for Tiny Shakespeare (6 layers, 6 heads,
d_model 384, context 256, batch 64, dropout 0.2, the same AdamW at learning rate 1e-3). With
``--device cuda`` both implementations run on the GPU (ours on CuPy, PyTorch eager on CUDA, both
full float32: CuPy and PyTorch leave TF32 off by default); each timed call ends by waiting for the
GPU (``cupy.cuda.Device().synchronize()``, ``torch.cuda.synchronize()``), and memory is the GPU
memory held (CuPy's pool, PyTorch's peak allocation) instead of the resident size. ``--path`` takes
the batches from a text's characters instead of random tokens (the timings do not depend on it).

The forward pass without gradients (``no_grad``, logits only) is timed the same way. Peak resident
memory of a training run (``--memory``, the default) is read in two fresh subprocesses, one per
implementation, each running ``--rounds`` steps: the peak (``ru_maxrss``) and the growth over the
resident size just before the first step (the run's own memory, without the libraries' code).

Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import subprocess
import sys
from collections.abc import Callable

import numpy

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import (
    alternate,
    emit,
    environment,
    gpu_environment,
    require_device,
    synchronized,
    synchronizer,
    text_batches,
    text_ids,
    token_batches,
    torch_synchronizer,
    try_torch,
)
from torch_gpt import nanogpt_model, nanogpt_optimizer

PRESETS = {
    "cpu": {"n_layers": 4, "n_heads": 4, "d_model": 128, "context_length": 64, "batch": 12, "dropout": 0.0},
    "nanogpt-gpu": {
        "n_layers": 6,
        "n_heads": 6,
        "d_model": 384,
        "context_length": 256,
        "batch": 64,
        "dropout": 0.2,
    },
}
CONFIG = {**PRESETS["cpu"], "vocab_size": 65}  # the preset in use (main() may switch it)
LR, WEIGHT_DECAY, BETAS, CLIP = 1e-3, 0.1, (0.9, 0.99), 1.0
TEXT: list[numpy.ndarray] = []  # the character ids of --path, when given
SUBPROCESS_ARGS: list[str] = []  # --preset and --path, for the memory subprocesses


def batches(count: int) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    c = CONFIG
    if TEXT:
        return text_batches(TEXT[0], count, c["batch"], c["context_length"])
    return token_batches(count, c["batch"], c["context_length"], c["vocab_size"])


def memory_mib(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, MiB (Linux).

    Read from /proc rather than ``getrusage``: ``ru_maxrss`` survives exec, so a subprocess started
    from a large process would report its parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


# ----------------------------------------------------------------------------- tinygrad_lm
def our_model(gelu: str, bias: bool):
    """tinygrad_lm's GPT of the configuration in use (on the CPU)."""
    from zoo.models import GPT, GPTConfig

    c = CONFIG
    dropout = {"dropout": c["dropout"]} if c["dropout"] else {}
    gelu_field = {} if gelu == "tanh" else {"gelu": gelu}  # (so it also runs on versions before the field)
    return GPT(
        GPTConfig(
            vocab_size=c["vocab_size"],
            context_length=c["context_length"],
            n_layers=c["n_layers"],
            n_heads=c["n_heads"],
            d_model=c["d_model"],
            bias=bias,
            **dropout,
            **gelu_field,
        )
    )


def ours(gelu: str, bias: bool, device: str = "cpu") -> tuple[Callable[[], None], Callable[[], None]]:
    """(train_step, forward) closures of tinygrad_lm's GPT on ``device``."""
    import tinygrad_lm as tg
    from tinygrad_lm import optim
    from zoo.train import parameter_groups

    tg.manual_seed(0)
    model = our_model(gelu, bias).to(device)
    optimizer = optim.AdamW(parameter_groups(model, WEIGHT_DECAY), lr=LR, betas=BETAS)
    data = itertools.cycle(
        [(tg.tensor(x, device=device), tg.tensor(y, device=device)) for x, y in batches(8)]
    )
    first_batch = tg.tensor(batches(1)[0][0], device=device)

    def train_step() -> None:
        x, y = next(data)
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()

    def forward() -> None:
        with tg.no_grad():
            model(first_batch)

    return train_step, forward


# ----------------------------------------------------------------------------- PyTorch
def reference_model(torch, gelu: str, bias: bool):
    """The same GPT in PyTorch (torch_gpt.py: nanoGPT's model), on the CPU."""
    c = CONFIG
    return nanogpt_model(
        torch,
        c["vocab_size"],
        c["context_length"],
        c["n_layers"],
        c["n_heads"],
        c["d_model"],
        bias,
        gelu,
        c["dropout"],
    )


def reference(
    torch, gelu: str, bias: bool, device: str = "cpu"
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(train_step, forward) closures of the same GPT in PyTorch on ``device``."""
    torch.manual_seed(0)
    model = reference_model(torch, gelu, bias).to(device)
    optimizer = nanogpt_optimizer(torch, model, LR, WEIGHT_DECAY, BETAS)
    cross_entropy = torch.nn.functional.cross_entropy
    data = itertools.cycle(
        [(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)) for x, y in batches(8)]
    )
    first_batch = torch.from_numpy(batches(1)[0][0]).to(device)

    def train_step() -> None:
        x, y = next(data)
        logits = model(x)
        loss = cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()

    def forward() -> None:
        with torch.no_grad():
            model(first_batch)

    return train_step, forward


# ----------------------------------------------------------------------------- profile
def profile(steps: int, gelu: str, bias: bool, top: int = 12) -> dict:
    """Where our training step's time goes: cProfile over ``steps`` steps, the ``top`` functions by
    own time (ms per step), and how many ``Function.apply`` calls a step makes."""
    import cProfile
    import pstats

    train_step = ours(gelu, bias)[0]
    train_step()
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [train_step() for _ in range(steps)])
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (calls, primitive, own, cumulative, ...)}
    rows = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    applies = sum(v[0] for (file, _, name), v in stats.items() if name == "apply" and "function.py" in file)
    return {
        "profiled_ms_per_step": round(1e3 * sum(v[2] for v in stats.values()) / steps, 1),
        "function_apply_per_step": applies // steps,
        "own_ms_per_step": {
            f"{pathlib.Path(file).name}:{line}({name})": round(1e3 * v[2] / steps, 2)
            for (file, line, name), v in rows
        },
    }


def profile_torch(steps: int, gelu: str, bias: bool, top: int = 12) -> dict:
    """The same for PyTorch's step (``torch.profiler``): the ``top`` ATen ops by self CPU time, ms per
    step, to set beside ours op for op."""
    torch = try_torch()
    if torch is None:
        raise SystemExit("--profile-torch needs PyTorch (pip install torch==2.13.0)")
    train_step = reference(torch, gelu, bias)[0]
    for _ in range(3):
        train_step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            train_step()
    events = sorted(profiler.key_averages(), key=lambda e: -e.self_cpu_time_total)
    return {
        "profiled_ms_per_step": round(sum(e.self_cpu_time_total for e in events) / 1e3 / steps, 1),
        "self_ms_per_step": {e.key: round(e.self_cpu_time_total / 1e3 / steps, 2) for e in events[:top]},
    }


# ----------------------------------------------------------------------------- memory
def peak_memory(which: str, steps: int, gelu: str, bias: bool) -> dict:
    """Peak RSS of ``steps`` training steps of one implementation, in a fresh subprocess."""
    command = [sys.executable, __file__, "--measure-memory-of", which, "--rounds", str(steps), "--gelu", gelu]
    command += (["--bias"] if bias else []) + SUBPROCESS_ARGS
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure_memory_here(which: str, steps: int, gelu: str, bias: bool) -> None:
    train_step = ours(gelu, bias)[0] if which == "ours" else reference(try_torch(), gelu, bias)[0]
    if which == "ours":  # numba and the compiled kernels are library code: loaded before the baseline
        import tinygrad_lm as tg

        tg.warm_up_kernels()
    before = memory_mib("VmRSS")
    for _ in range(steps):
        train_step()
    peak = memory_mib("VmHWM")
    print(json.dumps({"peak_mib": round(peak, 1), "growth_mib": round(peak - before, 1)}))


def gpu_memory(torch) -> dict:
    """GPU memory after the timed runs, MiB: CuPy's pool (held by ours) and PyTorch's peak allocation."""
    import cupy

    record = {"ours_pool_mib": round(cupy.get_default_memory_pool().total_bytes() / 2**20, 1)}
    if torch is not None:
        record["torch_peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return record


def dry_run(preset: str, device: str, gelu: str, bias: bool) -> dict:
    """The configuration and the models' sizes, without timing anything (both models built on the CPU)."""
    torch = try_torch()
    record = {"benchmark": "gpt_dry_run", "preset": preset, "device": device, **CONFIG}
    record.update(lr=LR, weight_decay=WEIGHT_DECAY, betas=list(BETAS), grad_clip=CLIP, optimizer="AdamW")
    record["parameters"] = sum(p.size for p in our_model(gelu, bias).parameters())
    if torch is not None:
        record["torch_parameters"] = sum(p.numel() for p in reference_model(torch, gelu, bias).parameters())
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="model and batch sizes")
    parser.add_argument(
        "--device", default="cpu", help="cpu (default) or cuda: where both implementations run"
    )
    parser.add_argument(
        "--path", help="a text file whose characters make the batches (default random tokens)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the configuration as JSON and exit")
    parser.add_argument("--gelu", choices=("tanh", "none"), default="tanh")
    parser.add_argument("--bias", action="store_true", help="biases in linear layers and layer norms")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--profile", action="store_true", help="profile our step instead of timing both")
    parser.add_argument("--profile-torch", action="store_true", help="profile PyTorch's step instead")
    parser.add_argument("--measure-memory-of", choices=("ours", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    CONFIG.update(PRESETS[args.preset])
    SUBPROCESS_ARGS.extend(["--preset", args.preset] + (["--path", args.path] if args.path else []))
    if args.path:
        ids, CONFIG["vocab_size"] = text_ids(args.path)
        TEXT.append(ids)
    if args.dry_run:
        return emit(dry_run(args.preset, args.device, args.gelu, args.bias))
    require_device(args.device, "bench_gpt.py")
    if args.measure_memory_of:
        return measure_memory_here(args.measure_memory_of, args.rounds, args.gelu, args.bias)
    if args.profile:
        return emit(
            {
                "benchmark": "gpt_profile",
                **CONFIG,
                **profile(args.rounds, args.gelu, args.bias),
                **environment(),
            }
        )
    if args.profile_torch:
        record = {
            "benchmark": "gpt_profile_torch",
            **CONFIG,
            **profile_torch(args.rounds, args.gelu, args.bias),
        }
        return emit({**record, **environment(try_torch())})
    emit(timed_run(args))


def timed_run(args: argparse.Namespace) -> dict:
    """Both implementations' training step and forward pass, alternating, on ``args.device``."""
    device = args.device
    torch = try_torch()
    torch_note = None
    if torch is not None and device != "cpu" and not torch.cuda.is_available():
        torch, torch_note = None, "PyTorch has no CUDA device here: ours only"
    sync = synchronizer(device)
    our_step, our_forward = (synchronized(f, sync) for f in ours(args.gelu, args.bias, device))
    ref_step = ref_forward = None
    if torch is not None:
        torch_sync = torch_synchronizer(torch, device)
        ref_step, ref_forward = (
            synchronized(f, torch_sync) for f in reference(torch, args.gelu, args.bias, device)
        )
    tokens = CONFIG["batch"] * CONFIG["context_length"]
    step = alternate(our_step, ref_step, args.rounds, args.warmup)
    step["ours_tokens_per_s"] = round(tokens / step["ours_ms"] * 1e3)
    if "torch_ms" in step:
        step["torch_tokens_per_s"] = round(tokens / step["torch_ms"] * 1e3)
    record = {
        "benchmark": "gpt",
        "preset": args.preset,
        "device": device,
        "dtype": "float32",
        **CONFIG,
        "gelu": args.gelu,
        "bias": args.bias,
        "data": "text" if args.path else "random tokens",
        "train_step": step,
        "forward_no_grad": alternate(our_forward, ref_forward, args.rounds, args.warmup),
    }
    if torch_note:
        record["torch_note"] = torch_note
    if device != "cpu":
        record["gpu_memory"] = gpu_memory(torch)
    elif not args.no_memory:
        record["memory"] = {"ours": peak_memory("ours", args.rounds, args.gelu, args.bias)}
        if torch:
            record["memory"]["torch"] = peak_memory("torch", args.rounds, args.gelu, args.bias)
    record.update(target_ratio=1.0, **environment(torch))
    return {**record, **gpu_environment(torch)} if device != "cpu" else record


if __name__ == "__main__":
    main()
