"""Matrix products, with NumPy's ``matmul`` rules: 1-D operands and broadcast batch dimensions."""

from __future__ import annotations

from ..function import Function
from .fused_function import FusedFunction


class MatMul(Function):
    """z = x @ y, z[..., i, j] = sum_k x[..., i, k] y[..., k, j];  dL/dx = g @ y^T, dL/dy = x^T @ g.

    A 1-D x is a row vector (1, k) and a 1-D y a column vector (k, 1) whose added axis is dropped
    from z; backward restores those axes before the products. Batch broadcasting is undone by the
    engine's sum_to. A stack of rows times one matrix ((..., k) @ (k, n), as in every linear layer) is
    done as ONE (rows, k) @ (k, n) product: NumPy's broadcast matmul would loop over the batch
    without BLAS, and the weight gradient becomes one product instead of a product per batch plus a sum.
    """

    def forward(self, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError("matmul needs operands of at least one dimension, got a scalar")
        inner_x, inner_y = x.shape[-1], y.shape[-2] if y.ndim > 1 else y.shape[0]
        if inner_x != inner_y:
            raise ValueError(
                f"inner dimensions differ: {x.shape} @ {y.shape} needs x.shape[-1] == y.shape[-2] "
                f"({inner_x} != {inner_y})"
            )
        if y.ndim == 2 and x.ndim > 2:
            return (x.reshape(-1, inner_x) @ y).reshape(x.shape[:-1] + y.shape[1:])
        return x @ y

    def backward(self, gz):
        x, y = self.inputs
        needs_x, needs_y = self.needs_input_grad
        if y.ndim == 2 and x.ndim >= 2:  # rows times one matrix
            gx = gz @ y.T if needs_x else None
            gy = x.reshape(-1, x.shape[-1]).T @ gz.reshape(-1, y.shape[1]) if needs_y else None
            return gx, gy
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if x.ndim == 1:
            gz = gz.unsqueeze(-2 if y.ndim > 1 else 0)
        if y.ndim == 1:
            gz = gz.unsqueeze(-1)
        gx = gz @ y2.swapaxes(-1, -2) if needs_x else None
        gy = x2.swapaxes(-1, -2) @ gz if needs_y else None
        if gx is not None and x.ndim == 1:
            gx = gx.reshape(-1, x.shape[0]).sum(axis=0)
        if gy is not None and y.ndim == 1:
            gy = gy.reshape(-1, y.shape[0]).sum(axis=0)
        return gx, gy


class LinearFunction(FusedFunction):
    """y = x W^T + b for x (..., in), W (out, in), b (out,) or none -> y (..., out) (``nn.Linear``'s op).

    One Function instead of transpose, product, bias add and reshapes: the leading axes are flattened
    into ONE (M, in) @ (in, out) product. With them flattened in backward too (G = g as (M, out),
    X = x as (M, in)):

        dL/dx = G W,   dL/dW = G^T X  (out, in): the weight's own layout, contiguous for the optimizer,
        dL/db = sum over the rows of G.
    """

    def forward(self, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"expected x (..., {weight.shape[-1]}) and weight (out, in), got {x.shape}")
        if bias is not None and bias.shape != weight.shape[:1]:
            raise ValueError(f"bias {bias.shape} must have shape ({weight.shape[0]},)")
        y = x.reshape(-1, weight.shape[1]) @ weight.T
        if bias is not None:
            y += bias
        return y.reshape(x.shape[:-1] + weight.shape[:1])

    def vjp(self, xp, g, inputs, saved):
        x, weight = inputs[:2]
        needs_x, needs_weight, *needs_bias = self.needs_input_grad
        rows = g.reshape(-1, weight.shape[0])  # (M, out)
        gx = (rows @ weight).reshape(x.shape) if needs_x else None
        gw = rows.T @ x.reshape(-1, weight.shape[1]) if needs_weight else None
        if not needs_bias:  # called without a bias
            return gx, gw
        return gx, gw, (xp.column_sums(rows) if needs_bias[0] else None)
