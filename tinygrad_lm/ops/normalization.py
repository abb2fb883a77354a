"""Layer normalisation over the last axis as one op, with its hand-derived backward."""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..kernels import kernels_for
from .fused_function import FusedFunction
from .rows import row_means


class LayerNormFunction(FusedFunction):
    """y = x_hat * w + b,  x_hat = (x - mu) / sigma,  sigma = sqrt(var + eps), over the last axis
    (``nn.LayerNorm``'s op).

    mu and var are the mean and the biased variance of x over its last axis (size D); w, b have shape
    (D,). Backward, with g = dL/dy and g_hat = g * w, means taken over the last axis:

        dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sigma
        dw = sum over leading axes of g * x_hat,   db = sum over leading axes of g

    Forward saves x_hat and 1/sigma; ``recompute`` gives them as Tensors of x (``normalize``).
    """

    def forward(self, x, weight, bias=None, eps=1e-5):
        xp = get_xp(x)
        if weight.shape != x.shape[-1:] or (bias is not None and bias.shape != x.shape[-1:]):
            raise ValueError(
                f"weight {weight.shape} and bias {None if bias is None else bias.shape} must have the "
                f"shape of the last axis ({x.shape[-1:] if x.ndim else '()'})"
            )
        self.eps = eps
        fast = kernels_for("layer_norm", x, weight, *(() if bias is None else (bias,)))
        if fast is not None:  # the same formulas as compiled row loops (kernels/layer_norm.py)
            y, x_hat, inv_sigma = fast.layer_norm_forward(x, weight, bias, eps)
            self.saved = (x_hat, inv_sigma)
            return y
        centered = x - row_means(x)
        variance = row_means(xp.square(centered))
        variance += eps
        inv_sigma = xp.reciprocal(xp.sqrt(variance, out=variance), out=variance)
        centered *= inv_sigma
        x_hat = centered
        self.saved = (x_hat, inv_sigma)
        y = x_hat * weight
        if bias is not None:
            y += bias
        return y

    def recompute(self, x, *weight_and_bias):
        return normalize(x, self.eps)

    def vjp(self, xp, g, inputs, saved):
        x_hat, inv_sigma = saved
        weight = inputs[1]
        needs_x, needs_w, *needs_b = self.needs_input_grad
        fast = kernels_for("layer_norm", g, x_hat, inv_sigma, weight)
        if fast is not None:
            grads = fast.layer_norm_vjp(g, x_hat, inv_sigma, weight)  # (dx, dw, db)
            needed = self.needs_input_grad
            return tuple(d if need else None for d, need in zip(grads, needed, strict=False))
        dx = dw = None
        if needs_x:
            g_hat = g * weight
            dx = (g_hat - xp.row_means(g_hat) - x_hat * xp.row_means(g_hat * x_hat)) * inv_sigma
        if needs_w:
            dw = xp.column_sums(g * x_hat)
        if not needs_b:  # called without a bias
            return dx, dw
        return dx, dw, (xp.column_sums(g) if needs_b[0] else None)


def normalize(x: Any, eps: float) -> tuple[Any, Any]:
    """(x_hat, 1/sigma) of ``LayerNormFunction`` with Tensor ops (differentiable)."""
    centered = x - x.mean(axis=-1, keepdims=True)
    inv_sigma = ((centered * centered).mean(axis=-1, keepdims=True) + eps) ** -0.5
    return centered * inv_sigma, inv_sigma
