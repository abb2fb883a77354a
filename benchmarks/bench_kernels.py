"""The single operations behind the remaining gap to PyTorch, each timed alone (µs, medians).

    python benchmarks/bench_kernels.py [--repeats 300]

Shapes are those of the GPT and LSTM benchmarks, float32:

* ``attention_scores``: q k^T for (12, 4, 64, 32) heads split out of a packed (12, 64, 384) array,
  NumPy's batched matmul against ``torch.matmul`` (both with the process's threads).
* ``row_sums_*``: a sum over the last axis by NumPy's reduction and as the product with a vector of ones
  (``ops/rows.py``), for a layer norm's (768, 128) and attention's (12, 4, 64, 64).
* ``column_broadcast``: (3072, 64) times a (3072, 1) column against times a (3072, 64) array.
* ``exp_one_thread``: e^x over (768, 512), NumPy against PyTorch with one thread, ns per element.
* ``thread_handoff``: a round trip to a Python worker thread that does nothing, and e^x over (768, 512)
  split between the calling thread and the worker against the whole on the calling thread.
* ``recurrent_product``: an LSTM step's W_hh h^T (1024 x 256 by 256 x 32) as stored (feature-major,
  the fused scan's layout) against h W_hh^T (batch-major).

Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import threading
import time
from collections.abc import Callable

import numpy

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from common import emit, environment, try_torch


def median_us(fn: Callable[[], object], repeats: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1e6 * statistics.median(times), 1)


class Worker:
    """One Python thread that runs a job when told and says when it is done (two semaphores)."""

    def __init__(self) -> None:
        self.go, self.done, self.job = threading.Semaphore(0), threading.Semaphore(0), None
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.go.acquire()
            self.job()
            self.done.release()

    def run_beside(self, here: Callable[[], object], there: Callable[[], object]) -> None:
        self.job = there
        self.go.release()
        here()
        self.done.acquire()


def measure(repeats: int, torch) -> dict:
    rng = numpy.random.default_rng(0)
    f32 = lambda *shape: rng.standard_normal(shape, dtype=numpy.float32)
    record: dict = {}

    qkv = f32(12, 64, 384).reshape(12, 64, 3, 4, 32).transpose(2, 0, 3, 1, 4)  # q, k, v: (12, 4, 64, 32)
    q, k = qkv[0], qkv[1]
    record["attention_scores"] = {"numpy_us": median_us(lambda: q @ k.swapaxes(-1, -2), repeats)}
    if torch is not None:
        tq, tk = torch.from_numpy(q.copy()), torch.from_numpy(k.copy())
        record["attention_scores"]["torch_us"] = median_us(lambda: tq @ tk.transpose(-1, -2), repeats)

    for name, shape in (("row_sums_layer_norm", (768, 128)), ("row_sums_attention", (12, 4, 64, 64))):
        a, ones = f32(*shape), numpy.ones(shape[-1], dtype=numpy.float32)
        record[name] = {
            "reduction_us": median_us(lambda a=a: a.sum(axis=-1, keepdims=True), repeats),
            "product_us": median_us(lambda a=a, ones=ones: a @ ones, repeats),
        }

    rows, column, out = f32(3072, 64), f32(3072, 1), numpy.empty((3072, 64), dtype=numpy.float32)
    full = numpy.repeat(column, 64, axis=1)
    record["column_broadcast"] = {
        "column_us": median_us(lambda: numpy.multiply(rows, column, out=out), repeats),
        "same_shape_us": median_us(lambda: numpy.multiply(rows, full, out=out), repeats),
    }

    x, y = f32(768, 512), numpy.empty((768, 512), dtype=numpy.float32)
    per_element = 1e3 / x.size
    record["exp_one_thread"] = {
        "numpy_ns": round(median_us(lambda: numpy.exp(x, out=y), repeats) * per_element, 2)
    }
    if torch is not None:
        threads, tx = torch.get_num_threads(), torch.from_numpy(x)
        torch.set_num_threads(1)
        record["exp_one_thread"]["torch_ns"] = round(
            median_us(lambda: torch.exp(tx), repeats) * per_element, 2
        )
        torch.set_num_threads(threads)

    worker, half = Worker(), x.shape[0] // 2
    record["thread_handoff"] = {
        "no_op_round_trip_us": median_us(lambda: worker.run_beside(lambda: None, lambda: None), repeats),
        "exp_one_thread_us": median_us(lambda: numpy.exp(x, out=y), repeats),
        "exp_split_over_two_us": median_us(
            lambda: worker.run_beside(
                lambda: numpy.exp(x[:half], out=y[:half]), lambda: numpy.exp(x[half:], out=y[half:])
            ),
            repeats,
        ),
    }

    w, h = f32(1024, 256), f32(32, 256)
    h_t, a, a_t = (
        numpy.ascontiguousarray(h.T),
        numpy.empty((32, 1024), numpy.float32),
        numpy.empty((1024, 32), numpy.float32),
    )
    record["recurrent_product"] = {
        "feature_major_us": median_us(lambda: numpy.matmul(w, h_t, out=a_t), repeats),
        "batch_major_us": median_us(lambda: numpy.matmul(h, w.T, out=a), repeats),
    }
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    torch = try_torch()
    emit({"benchmark": "kernels", **measure(args.repeats, torch), **environment(torch)})


if __name__ == "__main__":
    main()
