"""Layer norm over the last axis as compiled row loops: ``ops.normalization.LayerNormFunction``.

For each row x (D features), with means over the row:

    forward:  mu = mean(x),  1/sigma = 1 / sqrt(mean((x - mu)^2) + eps),  x_hat = (x - mu) / sigma,
              y = x_hat w + b
    vjp:      g_hat = g w,  dx = (g_hat - mean(g_hat) - x_hat mean(g_hat x_hat)) / sigma,
              dw = sum over rows of g x_hat,  db = sum over rows of g

NumPy spends eleven passes on the forward and more on the vjp; here a row is read once or twice
while it sits in the cache, and rows are split over the threads. The column sums dw and db are
accumulated per block of rows (one block per thread) and the blocks' partial sums added at the end.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import kernel_threads
from .compiled import loops
from .scalar import FAST_SUMS


@loops(fastmath=FAST_SUMS)
def _forward(x, w, b, eps, y, x_hat, inv_sigma):
    rows, width = x.shape
    scale = x.dtype.type(1.0) / width
    for r in prange(rows):
        total = x.dtype.type(0.0)
        for j in range(width):
            total += x[r, j]
        mean = total * scale
        squares = x.dtype.type(0.0)
        for j in range(width):
            centered = x[r, j] - mean
            x_hat[r, j] = centered
            squares += centered * centered
        inv = x.dtype.type(1.0) / np.sqrt(squares * scale + eps)
        inv_sigma[r] = inv
        for j in range(width):
            normalized = x_hat[r, j] * inv
            x_hat[r, j] = normalized
            y[r, j] = normalized * w[j] + b[j]


@loops(fastmath=FAST_SUMS)
def _vjp(g, x_hat, inv_sigma, w, dx, dw_blocks, db_blocks):
    rows, width = g.shape
    blocks = dw_blocks.shape[0]
    scale = g.dtype.type(1.0) / width
    for block in prange(blocks):
        for r in range(block * rows // blocks, (block + 1) * rows // blocks):
            mean_g_hat = g.dtype.type(0.0)
            mean_g_hat_x_hat = g.dtype.type(0.0)
            for j in range(width):
                g_hat = g[r, j] * w[j]
                mean_g_hat += g_hat
                mean_g_hat_x_hat += g_hat * x_hat[r, j]
                dw_blocks[block, j] += g[r, j] * x_hat[r, j]
                db_blocks[block, j] += g[r, j]
            mean_g_hat *= scale
            mean_g_hat_x_hat *= scale
            inv = inv_sigma[r]
            for j in range(width):
                dx[r, j] = (g[r, j] * w[j] - mean_g_hat - x_hat[r, j] * mean_g_hat_x_hat) * inv


def layer_norm_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, x_hat, 1/sigma) for x (..., D): y and x_hat of x's shape, 1/sigma (..., 1)."""
    rows = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
    bias = np.zeros_like(weight) if bias is None else bias
    y, x_hat = np.empty_like(rows), np.empty_like(rows)
    inv_sigma = np.empty(rows.shape[0], dtype=x.dtype)
    _forward(rows, weight, bias, x.dtype.type(eps), y, x_hat, inv_sigma)
    return y.reshape(x.shape), x_hat.reshape(x.shape), inv_sigma.reshape(x.shape[:-1] + (1,))


def layer_norm_vjp(
    g: np.ndarray, x_hat: np.ndarray, inv_sigma: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) from g = dL/dy (x's shape) and the forward's x_hat, 1/sigma."""
    width = x_hat.shape[-1]
    rows = np.ascontiguousarray(g).reshape(-1, width)
    blocks = max(1, min(kernel_threads(), rows.shape[0]))
    dw_blocks = np.zeros((blocks, width), dtype=g.dtype)
    db_blocks = np.zeros((blocks, width), dtype=g.dtype)
    dx = np.empty_like(rows)
    _vjp(rows, x_hat.reshape(-1, width), inv_sigma.reshape(-1), weight, dx, dw_blocks, db_blocks)
    return dx.reshape(x_hat.shape), dw_blocks.sum(axis=0), db_blocks.sum(axis=0)
