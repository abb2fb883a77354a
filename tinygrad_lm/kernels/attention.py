"""The row-wise parts of attention as compiled loops: ``ops.attention``'s softmax and its vjp.

The products q k^T, P v and those of the backward stay BLAS products (``ops/attention.py``); what NumPy
runs as separate passes over the (..., Tq, Tk) weights is done here in one pass per row:

    forward:  P_i = softmax(S_i) over the keys j the row may see (j <= i + Tk - Tq when causal, all
              otherwise); the others get P_ij = 0 and are never read
    vjp:      D_i = g_i . o_i,   dS_ij = s P_ij (dP_ij - D_i)   (the scale s of dq = s dS k folded in)

where S = s q k^T arrives in the buffer that becomes P, and dP = G V^T in the buffer that becomes dS.
A causal row costs its i + 1 keys, not Tk (NumPy masks, exponentiates and normalises the full row).
Rows are split over the kernel threads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from .compiled import loops
from .scalar import FAST_SUMS, exp


@loops(fastmath=FAST_SUMS)
def _softmax_rows(scores, steps, keys, offset, causal):
    """scores (R, keys) in place, row r being query r % steps."""
    for r in prange(scores.shape[0]):
        row = scores[r]
        seen = min(keys, r % steps + offset + 1) if causal else keys
        if seen <= 0:  # a query that may see no key: NaN, as softmax over all -inf is
            row[:] = np.nan
            continue
        largest = row[0]
        for j in range(1, seen):
            largest = max(largest, row[j])
        total = row.dtype.type(0.0)
        for j in range(seen):
            e = exp(row[j] - largest)
            row[j] = e
            total += e
        inverse = row.dtype.type(1.0) / total
        for j in range(seen):
            row[j] *= inverse
        row[seen:] = 0


@loops(fastmath=FAST_SUMS)
def _softmax_rows_vjp(p, dp, g, out, scale):
    """dp (R, keys) <- s p (dp - D) in place, D_r = g_r . out_r; g, out (A, B, Tq, dv), any strides,
    row r of p being [a, b, i] of g and out."""
    heads, steps = g.shape[1], g.shape[2]
    for r in prange(p.shape[0]):
        a, b, i = r // (heads * steps), (r // steps) % heads, r % steps
        d = p.dtype.type(0.0)
        for c in range(g.shape[3]):
            d += g[a, b, i, c] * out[a, b, i, c]
        for j in range(p.shape[1]):
            dp[r, j] = p[r, j] * (dp[r, j] - d) * scale


def softmax_rows(scores: np.ndarray, causal: bool) -> np.ndarray:
    """P from contiguous scores (..., Tq, Tk), in place; causal: query i sees keys j <= i + Tk - Tq."""
    steps, keys = scores.shape[-2:]
    _softmax_rows(scores.reshape(-1, keys), steps, keys, keys - steps, causal)
    return scores


def softmax_rows_vjp(p: np.ndarray, dp: np.ndarray, g: np.ndarray, out: np.ndarray, scale: float) -> Any:
    """dS = s P (dP - rowsum(G O)) into dp, in place: p, dp (..., Tq, Tk) contiguous; g, out (..., Tq, dv)
    (4-D ones of any strides as they are, others reshaped to 4-D)."""
    keys = p.shape[-1]
    g, out = (a if a.ndim == 4 else a.reshape(1, -1, *a.shape[-2:]) for a in (g, out))
    _softmax_rows_vjp(p.reshape(-1, keys), dp.reshape(-1, keys), g, out, p.dtype.type(scale))
    return dp
