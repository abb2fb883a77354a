"""The GPT training step (nanoGPT's CPU configuration) and its forward pass, against PyTorch eager.

    python benchmarks/bench_gpt.py [--rounds 30] [--warmup 5] [--gelu tanh|none] [--bias]
    python benchmarks/bench_gpt.py --profile --rounds 20      # where our step's time goes (cProfile)
    python benchmarks/bench_gpt.py --profile-torch --rounds 20    # and PyTorch's (torch.profiler)
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_gpt.py     # the steadier 1-thread figure

Configuration: 4 layers, 4 heads, d_model 128, context 64, batch 12, vocabulary 65, weight tying, no
biases (nanoGPT's default), float32. A training step is what ``zoo.train.Trainer`` does: forward,
mean cross-entropy, zero_grad, backward, clip the global gradient norm at 1.0, AdamW (weight decay
0.1 on matrices, 0 on vectors, betas (0.9, 0.99)). The same model is written in PyTorch below, with
``F.scaled_dot_product_attention`` as nanoGPT uses it. The two implementations alternate within each
round; the ratio is the median of the per-round ratios ours / torch.

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
from common import alternate, emit, environment, token_batches, try_torch
from torch_gpt import nanogpt_model, nanogpt_optimizer

CONFIG = {"n_layers": 4, "n_heads": 4, "d_model": 128, "context_length": 64, "batch": 12, "vocab_size": 65}
LR, WEIGHT_DECAY, BETAS, CLIP = 1e-3, 0.1, (0.9, 0.99), 1.0


def batches(count: int) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    c = CONFIG
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
def ours(gelu: str, bias: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    """(train_step, forward) closures of tinygrad_lm's GPT."""
    import tinygrad_lm as tg
    from tinygrad_lm import optim
    from zoo.models import GPT, GPTConfig
    from zoo.train import parameter_groups

    tg.manual_seed(0)
    c = CONFIG
    model = GPT(
        GPTConfig(
            vocab_size=c["vocab_size"],
            context_length=c["context_length"],
            n_layers=c["n_layers"],
            n_heads=c["n_heads"],
            d_model=c["d_model"],
            bias=bias,
            **({} if gelu == "tanh" else {"gelu": gelu}),  # (so it also runs on versions before the field)
        )
    )
    optimizer = optim.AdamW(parameter_groups(model, WEIGHT_DECAY), lr=LR, betas=BETAS)
    data = itertools.cycle([(tg.tensor(x), tg.tensor(y)) for x, y in batches(8)])
    first_batch = tg.tensor(batches(1)[0][0])

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
def reference(torch, gelu: str, bias: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    """(train_step, forward) closures of the same GPT in PyTorch (torch_gpt.py: nanoGPT's model)."""
    c = CONFIG
    torch.manual_seed(0)
    model = nanogpt_model(
        torch, c["vocab_size"], c["context_length"], c["n_layers"], c["n_heads"], c["d_model"], bias, gelu
    )
    optimizer = nanogpt_optimizer(torch, model, LR, WEIGHT_DECAY, BETAS)
    cross_entropy = torch.nn.functional.cross_entropy
    data = itertools.cycle([(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches(8)])
    first_batch = torch.from_numpy(batches(1)[0][0])

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
    command += ["--bias"] if bias else []
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure_memory_here(which: str, steps: int, gelu: str, bias: bool) -> None:
    train_step = ours(gelu, bias)[0] if which == "ours" else reference(try_torch(), gelu, bias)[0]
    before = memory_mib("VmRSS")
    for _ in range(steps):
        train_step()
    peak = memory_mib("VmHWM")
    print(json.dumps({"peak_mib": round(peak, 1), "growth_mib": round(peak - before, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--gelu", choices=("tanh", "none"), default="tanh")
    parser.add_argument("--bias", action="store_true", help="biases in linear layers and layer norms")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--profile", action="store_true", help="profile our step instead of timing both")
    parser.add_argument("--profile-torch", action="store_true", help="profile PyTorch's step instead")
    parser.add_argument("--measure-memory-of", choices=("ours", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
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
    torch = try_torch()
    our_step, our_forward = ours(args.gelu, args.bias)
    ref_step, ref_forward = reference(torch, args.gelu, args.bias) if torch else (None, None)
    tokens = CONFIG["batch"] * CONFIG["context_length"]
    step = alternate(our_step, ref_step, args.rounds, args.warmup)
    step["ours_tokens_per_s"] = round(tokens / step["ours_ms"] * 1e3)
    record = {
        "benchmark": "gpt",
        "dtype": "float32",
        **CONFIG,
        "gelu": args.gelu,
        "bias": args.bias,
        "train_step": step,
        "forward_no_grad": alternate(our_forward, ref_forward, args.rounds, args.warmup),
    }
    if not args.no_memory:
        record["memory"] = {"ours": peak_memory("ours", args.rounds, args.gelu, args.bias)}
        if torch:
            record["memory"]["torch"] = peak_memory("torch", args.rounds, args.gelu, args.bias)
    emit({**record, "target_ratio": 1.0, **environment(torch)})


if __name__ == "__main__":
    main()
