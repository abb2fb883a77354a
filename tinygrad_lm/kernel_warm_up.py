"""``warm_up_kernels()``: compile (or load from numba's cache) the kernels before the clock starts.

A kernel compiles on its first call for each dtype and array layout: about 8 s for all of them in a
fresh install, 0.4 s to load them from the cache afterwards (``benchmarks/bench_compiled.py
--compile-cost``). A training run with a time budget should not spend its budget on that, so the zoo
calls this first: it runs each op that has a kernel (GELU, layer norm, packed attention, the RNN, LSTM
and GRU scans, AdamW) forward and backward on tiny inputs, through the same code paths and layouts as
real use.
"""

from __future__ import annotations

import time

from . import functional, kernels, nn, optim
from .creation import randn


def warm_up_kernels(dtype: str = "float32") -> float:
    """Seconds spent making every kernel ready for ``dtype`` (0.0 when the kernels are off)."""
    if not kernels.kernels_enabled():
        return 0.0
    start = time.perf_counter()
    x = randn(2, 3, 12, dtype=dtype, requires_grad=True)
    weight = randn(12, dtype=dtype, requires_grad=True)
    y = functional.layer_norm(x, 12, weight, weight).gelu("tanh")
    y = functional.multi_head_self_attention(y, n_heads=2)  # (2, 3, 4)
    for kind in (nn.RNN, nn.LSTM, nn.GRU):
        layer = kind(4, 3, batch_first=True)
        for p in layer.parameters():
            p.data = p.data.astype(dtype)
        out, _ = layer(y)
        y = y + out.sum() * 0
    y.sum().backward()
    optim.AdamW([x, weight], lr=1e-3).step()
    return time.perf_counter() - start
