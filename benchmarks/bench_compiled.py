"""Each compiled kernel (``tinygrad_lm.kernels``, numba) against the NumPy formula it replaces.

    python benchmarks/bench_compiled.py [--rounds 200] [--kernel-threads N]
    python benchmarks/bench_compiled.py --compile-cost      # first-call compile and cached-load times

Shapes are those of the GPT and LSTM benchmarks, float32. Each case runs one op's forward and vjp on
arrays, exactly as a training step calls them, once through the kernel and once through NumPy,
alternating; ``speedup`` is the median over rounds of numpy time / kernel time.

* ``gelu_tanh``: (768, 512), the GPT's MLP activations.
* ``layer_norm``: (768, 128) with weight and bias.
* ``packed_attention``: qkv (12, 64, 384), 4 heads, causal.
* ``adam``: AdamW over one flat buffer of the GPT's 0.8M parameters.
* ``lstm_cell`` (when the recurrent kernel exists): the LSTM benchmark's layer (T 64, B 32, H 256),
  forward and backward of the fused scan.

``--beside-blas`` times a layer norm kernel alone, a (768, 128) @ (128, 384) product alone and the
two in turn (what a training step does), µs medians: with BLAS on two threads and
``TINYGRAD_LM_KERNEL_THREADS=2`` the pair costs far more than its parts (each pool's threads spin after
their work); on one kernel thread it costs their sum. ``--optimizer`` times the GPT benchmark's AdamW
step over flat buffers and per parameter, kernels on and off (flat forced where Adam, with the
compiled update, would not flatten).

``--compile-cost`` runs two fresh processes with an empty numba cache directory: the first compiles
every kernel (seconds), the second loads them from the cache (what every later run pays).

Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import emit, environment

import tinygrad_lm as tg
from tinygrad_lm import kernels
from tinygrad_lm.kernels import use_kernels


def forward_and_vjp(function_class, inputs: list[np.ndarray], **params) -> Callable[[], None]:
    """One Function's forward then vjp on arrays, as the engine runs them in a training step."""
    from tinygrad_lm.ops.fused_function import _array_formulas

    tensors = [tg.tensor(a, requires_grad=True) for a in inputs]
    xp = _array_formulas(np)

    def forward():
        fn = function_class()
        fn.inputs, fn.needs_input_grad = tensors, (True,) * len(tensors)
        return fn, fn.forward(*inputs, **params)

    shape, dtype = (lambda y: (y.shape, y.dtype))(forward()[1])
    g = np.random.default_rng(1).standard_normal(shape).astype(dtype)

    def run() -> None:
        fn, _ = forward()
        fn.vjp(xp, g, tuple(inputs), fn.saved)

    return run


def adam_step(size: int) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    p = rng.standard_normal(size).astype(np.float32)
    param = tg.tensor(p, requires_grad=True)
    param.grad = tg.tensor(rng.standard_normal(size).astype(np.float32))
    optimizer = tg.optim.AdamW([param], lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    return optimizer.step


def lstm_layer() -> Callable[[], None] | None:
    from tinygrad_lm.nn import LSTM

    rng = np.random.default_rng(0)
    layer = LSTM(64, 256, batch_first=True)
    x = tg.tensor(rng.standard_normal((32, 64, 64)).astype(np.float32), requires_grad=True)
    for p in layer.parameters():
        p.data = p.data.astype(np.float32)

    def run() -> None:
        out, _ = layer(x)
        out.sum().backward()

    return run


def cases() -> dict[str, Callable[[], None]]:
    from tinygrad_lm.ops.attention import PackedSelfAttention
    from tinygrad_lm.ops.elementwise import GeluTanh
    from tinygrad_lm.ops.normalization import LayerNormFunction

    rng = np.random.default_rng(0)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    found = {
        "gelu_tanh": forward_and_vjp(GeluTanh, [f32(768, 512)]),
        "layer_norm": forward_and_vjp(LayerNormFunction, [f32(768, 128), f32(128), f32(128)]),
        "packed_attention": forward_and_vjp(PackedSelfAttention, [f32(12, 64, 384)], n_heads=4, causal=True),
        "adam": adam_step(800_000),
    }
    if "recurrent" in kernels.KERNEL_MODULES and (run := lstm_layer()) is not None:
        found["lstm_layer"] = run
    return found


def median_us(fn: Callable[[], object], rounds: int) -> float:
    for _ in range(5):
        fn()
    return round(1e6 * statistics.median(timed(fn) for _ in range(rounds)), 1)


def beside_blas(rounds: int) -> dict:
    """A layer norm kernel, a BLAS product, and the two in turn."""
    from tinygrad_lm.kernels import layer_norm

    rng = np.random.default_rng(0)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    x, w, a, m = f32(768, 128), np.ones(128, np.float32), f32(768, 128), f32(128, 384)
    kernel = lambda: layer_norm.layer_norm_forward(x, w, w, 1e-5)
    product = lambda: a @ m
    return {
        "kernel_threads": kernels.kernel_threads(),
        "kernel_us": median_us(kernel, rounds),
        "product_us": median_us(product, rounds),
        "both_in_turn_us": median_us(lambda: (product(), kernel()), rounds),
    }


def optimizer_steps(rounds: int) -> dict:
    """The GPT benchmark's AdamW step (its parameter groups) over flat buffers and per parameter."""
    from bench_gpt import our_model

    from zoo.train import parameter_groups

    model = our_model("tanh", False)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.grad = tg.tensor(rng.standard_normal(p.shape).astype(p.dtype))
    optimizer = tg.optim.AdamW(parameter_groups(model, 0.1), lr=1e-3, betas=(0.9, 0.99))
    record = {}
    for on in (True, False):
        with use_kernels(on):
            for flat in (True, False):  # flat forced even where flattening_pays says no (kernels on)
                optimizer.flatten = flat
                optimizer.flattening_pays = lambda group: True
                how = "flat" if flat else "per_parameter"
                record[f"kernels_{'on' if on else 'off'}_{how}_us"] = median_us(optimizer.step, rounds)
    return record


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(fn: Callable[[], None], rounds: int) -> dict:
    """Alternate kernel and NumPy; the medians and the median of the per-round ratios."""
    for on in (True, False, True, False):
        with use_kernels(on):
            fn()
    fast, slow = [], []
    for _ in range(rounds):
        with use_kernels(True):
            fast.append(timed(fn))
        with use_kernels(False):
            slow.append(timed(fn))
    return {
        "kernel_us": round(1e6 * statistics.median(fast), 1),
        "numpy_us": round(1e6 * statistics.median(slow), 1),
        "speedup": round(statistics.median(s / f for s, f in zip(slow, fast, strict=True)), 2),
    }


COMPILE_PROBE = """
import time
start = time.perf_counter()
import sys
sys.path.insert(0, {here!r})
import bench_compiled
for name, fn in bench_compiled.cases().items():
    fn()
print(time.perf_counter() - start)
"""


def compile_cost() -> dict:
    """Seconds for a fresh process to run every case once: with an empty cache, then with it filled."""
    here = str(pathlib.Path(__file__).parent)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", COMPILE_PROBE.format(here=here)], env=env, capture_output=True,
                text=True, check=True,
            ).stdout  # fmt: skip
            runs.append(round(float(out.split()[-1]), 2))
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, kernels.ENVIRONMENT_VARIABLE: "0"}
        out = subprocess.run(
            [sys.executable, "-c", COMPILE_PROBE.format(here=here)], env=env, capture_output=True, text=True,
            check=True,
        ).stdout  # fmt: skip
    return {"first_run_s": runs[0], "cached_run_s": runs[1], "numpy_run_s": round(float(out.split()[-1]), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--kernel-threads", type=int, default=None, help="numba threads (default: all)")
    parser.add_argument("--compile-cost", action="store_true", help="time compiling and loading instead")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--beside-blas", action="store_true", help="a kernel next to a BLAS product instead")
    parser.add_argument("--optimizer", action="store_true", help="AdamW flat and per parameter instead")
    args = parser.parse_args()
    if not kernels.available():
        raise SystemExit("bench_compiled.py: numba is not installed (pip install -e '.[fast]')")
    kernels.kernels_for("layer_norm", np.zeros(1, np.float32))  # the environment's kernel threads
    if args.kernel_threads:
        kernels.set_kernel_threads(args.kernel_threads)
    record: dict = {"benchmark": "compiled_kernels", "kernels": kernels.describe()}
    if args.compile_cost:
        record["compile"] = compile_cost()
    elif args.beside_blas:
        record["beside_blas"] = beside_blas(args.rounds)
    elif args.optimizer:
        record["adamw_step"] = optimizer_steps(args.rounds)
    else:
        chosen = set(filter(None, args.cases.split(",")))
        found = {name: fn for name, fn in cases().items() if not chosen or name in chosen}
        record.update({name: compare(fn, args.rounds) for name, fn in found.items()})
    emit({**record, **environment(None)})


if __name__ == "__main__":
    main()
