"""The GPT training step (nanoGPT's CPU configuration) and its forward pass, against PyTorch eager.

    python benchmarks/bench_gpt.py [--rounds 30] [--warmup 5] [--gelu tanh|none] [--bias]
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
from common import alternate, emit, environment, try_torch

CONFIG = {"n_layers": 4, "n_heads": 4, "d_model": 128, "context_length": 64, "batch": 12, "vocab_size": 65}
LR, WEIGHT_DECAY, BETAS, CLIP = 1e-3, 0.1, (0.9, 0.99), 1.0


def batches(count: int, seed: int = 0) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    """``count`` random (x, y) batches of token ids, the same for both implementations."""
    rng = numpy.random.default_rng(seed)
    shape = (CONFIG["batch"], CONFIG["context_length"] + 1)
    windows = [rng.integers(0, CONFIG["vocab_size"], shape) for _ in range(count)]
    return [(w[:, :-1].copy(), w[:, 1:].copy()) for w in windows]


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
            gelu=gelu,
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
    """(train_step, forward) closures of the same GPT in PyTorch (nanoGPT's model, condensed)."""
    tnn, F = torch.nn, torch.nn.functional
    c = CONFIG
    d, heads = c["d_model"], c["n_heads"]

    class Block(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(d, bias=bias), tnn.LayerNorm(d, bias=bias)
            self.qkv, self.attn_proj = tnn.Linear(d, 3 * d, bias=bias), tnn.Linear(d, d, bias=bias)
            self.fc, self.proj = tnn.Linear(d, 4 * d, bias=bias), tnn.Linear(4 * d, d, bias=bias)
            self.gelu = tnn.GELU(approximate=gelu)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln_1(x)).view(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn_proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.proj(self.gelu(self.fc(self.ln_2(x))))

    class GPT(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(c["vocab_size"], d), tnn.Embedding(c["context_length"], d)
            self.blocks = tnn.ModuleList(Block() for _ in range(c["n_layers"]))
            self.ln_f = tnn.LayerNorm(d, bias=bias)
            self.lm_head = tnn.Linear(d, c["vocab_size"], bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx, targets=None):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                return logits, None
            return logits, F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))

    torch.manual_seed(0)
    model = GPT()
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=LR, betas=BETAS)
    data = itertools.cycle([(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches(8)])
    first_batch = torch.from_numpy(batches(1)[0][0])

    def train_step() -> None:
        x, y = next(data)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()

    def forward() -> None:
        with torch.no_grad():
            model(first_batch)

    return train_step, forward


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
    parser.add_argument("--measure-memory-of", choices=("ours", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_memory_of:
        return measure_memory_here(args.measure_memory_of, args.rounds, args.gelu, args.bias)
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
