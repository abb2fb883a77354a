"""Fused neural-network ops: one ``Function`` each where the composition of primitives would be slower
or less stable.

* ``CrossEntropy``: log-softmax and the negative log-likelihood of the targets as one op.
* ``LayerNorm``: normalisation over the last axis with its hand-derived backward.

Both backwards are written with Tensor operations, so they are differentiable again. They read the
arrays saved by forward when no graph is being recorded (the usual first-order ``backward()``), and
recompute those quantities from the input Tensors with Tensor ops when one is (``create_graph=True``),
so that the second derivative sees their dependence on the input.
"""

from __future__ import annotations

from ..backend import get_xp, is_host_array
from ..function import Function, evaluate_formula, is_grad_enabled
from ..tensor import Tensor
from .rows import column_sums, row_means, row_sums

constant = Tensor._from_array
REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """loss_n = logsumexp(z_n) - z_n[t_n] for logits z (..., C) and integer targets t (...).

    Rows whose target equals ``ignore_index`` contribute 0 and are not counted. Reductions:
    ``"mean"`` = sum_n loss_n / N with N the number of non-ignored rows (NaN when N = 0, as PyTorch),
    ``"sum"``, or ``"none"`` (a loss per row, shape of t, 0 at ignored rows).

    A target outside [0, C) (other than ``ignore_index``) raises IndexError, naming the values, before
    any work on host (NumPy) arrays; on device arrays nothing is read back, and it makes the "mean"
    loss and its gradient NaN instead (``_counted_rows``).

    Forward is stable for logits of any magnitude: logsumexp(z) = m + log sum e^(z - m), m = max z.

    Backward:  dL/dz_n = w_n (softmax(z_n) - onehot(t_n)),  w_n = g / N (mean), g (sum) or g_n (none),
    and w_n = 0 at ignored rows. Without a graph being recorded (a plain ``backward()``) this is two
    array passes over the probabilities saved by forward; with one (``create_graph=True``) the same
    formula is built from Tensor ops with ``z.softmax(-1)`` recomputed, so it is differentiable again.
    """

    def forward(self, logits, targets, ignore_index=-100, reduction="mean"):
        xp = get_xp(logits)
        _check_cross_entropy(logits, targets, ignore_index, reduction)
        classes = logits.shape[-1]
        z = logits.reshape(-1, classes)  # (N, C)
        t = targets.reshape(-1)  # (N,)
        self.valid = t != ignore_index  # (N,)
        self.safe_targets = xp.where(self.valid, t, 0)
        self.rows = xp.arange(len(t))
        self.count = _counted_rows(self.valid, t, classes, logits.dtype)
        self.reduction = reduction
        shifted = z - z.max(axis=-1, keepdims=True)  # (N, C), the only (N, C) allocation
        picked = shifted[self.rows, self.safe_targets]
        probs = xp.exp(shifted, out=shifted)
        total = row_sums(probs)
        probs /= total
        self.probs = probs  # softmax(z), for backward
        losses = xp.where(self.valid, xp.log(total[:, 0]) - picked, 0).astype(logits.dtype)
        if reduction == "none":
            return losses.reshape(targets.shape)
        if reduction == "sum":
            return losses.sum()
        return _mean(losses.sum(), self.count, logits.dtype)

    def backward(self, g):
        logits = self.inputs[0]
        shape, classes = logits.shape, logits.shape[-1]
        weights = self._row_weights(g)  # (N, 1)
        if is_grad_enabled():
            probs = logits.reshape(-1, classes).softmax(-1)
            onehot = get_xp(self.probs).zeros_like(self.probs)
            onehot[self.rows, self.safe_targets] = 1
            return ((probs - constant(onehot)) * weights).reshape(shape), None
        grad = self.probs * weights.data
        grad[self.rows, self.safe_targets] -= weights.data[:, 0]
        return constant(grad.reshape(shape)), None

    def _row_weights(self, g: Tensor) -> Tensor:
        """w_n of the docstring as an (N, 1) Tensor (a function of g, so differentiable in it)."""
        valid = constant(self.valid.astype(g.dtype)[:, None])
        if self.reduction == "none":
            return g.reshape(-1, 1) * valid
        scale = 1 / self.count if self.reduction == "mean" and self.count else 1.0
        return g.reshape(1, 1) * (valid * scale)


def _check_cross_entropy(logits, targets, ignore_index: int, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if logits.dtype.kind != "f":
        raise TypeError(f"logits must be floating point, got dtype {logits.dtype}")
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be integer class indices (int64), got dtype {targets.dtype}")
    if logits.ndim < 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"logits {logits.shape} and targets {targets.shape} are incompatible: expected logits "
            "(..., C) with targets of shape logits.shape[:-1], e.g. (N, C) with (N,) or (B, T, C) with (B, T)"
        )
    if not is_host_array(targets):
        return  # on a device, a target out of range makes the mean NaN instead (_counted_rows)
    used = targets[targets != ignore_index]
    if used.size and (used.min() < 0 or used.max() >= logits.shape[-1]):
        raise IndexError(
            f"targets must lie in [0, {logits.shape[-1]}) (or equal ignore_index={ignore_index}), "
            f"got values in [{int(used.min())}, {int(used.max())}]"
        )


class _DeviceCount:
    """N of ``CrossEntropy`` kept on the device (a 0-d float array): ``1 / count`` stays there, and it
    is always true, so nothing reads it. NaN when a target is out of range, so the mean and its
    gradient become NaN; with every row ignored, 0, so the mean is NaN (0 / 0) and so is its gradient."""

    def __init__(self, array) -> None:
        self.array = array

    def __bool__(self) -> bool:
        return True

    def __rtruediv__(self, other):
        return other / self.array


def _counted_rows(valid, targets, classes: int, dtype):
    """The number N of non-ignored rows: an int read at once from host arrays (whose targets
    ``_check_cross_entropy`` has already checked), a ``_DeviceCount`` for device arrays.

    On a device no value is read back during the step: a non-ignored target outside [0, C) does not
    raise but makes N, and so the "mean" loss and every gradient, NaN (the "sum" and "none" losses
    read such a target modulo C, as CuPy's indexing does)."""
    if is_host_array(valid):
        return int(valid.sum())
    xp = get_xp(valid)
    in_range = ~valid | ((targets >= 0) & (targets < classes))
    return _DeviceCount(xp.where(in_range.all(), valid.sum(), xp.nan).astype(dtype))


def _mean(total, count, dtype):
    """total / N, NaN when N = 0 (``count`` an int or a ``_DeviceCount``, see ``_counted_rows``)."""
    if isinstance(count, _DeviceCount):
        return total / count.array
    return total / count if count else get_xp(total).asarray(get_xp(total).nan, dtype=dtype)


class LayerNorm(Function):
    """y = x_hat * w + b,  x_hat = (x - mu) / sigma,  sigma = sqrt(var + eps), over the last axis.

    mu and var are the mean and the biased variance of x over its last axis (size D); w, b have shape
    (D,). Backward, with g = dL/dy and g_hat = g * w, means taken over the last axis:

        dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sigma
        dw = sum over leading axes of g * x_hat,   db = sum over leading axes of g

    x_hat and 1/sigma are the saved arrays, or recomputed from x with Tensor ops when a graph is
    recorded (``layer_norm_vjp`` evaluates on either).
    """

    def forward(self, x, weight, bias=None, eps=1e-5):
        xp = get_xp(x)
        if weight.shape != x.shape[-1:] or (bias is not None and bias.shape != x.shape[-1:]):
            raise ValueError(
                f"weight {weight.shape} and bias {None if bias is None else bias.shape} must have the "
                f"shape of the last axis ({x.shape[-1:] if x.ndim else '()'})"
            )
        self.eps = eps
        centered = x - row_means(x)
        variance = row_means(xp.square(centered))
        variance += eps
        self.inv_sigma = xp.reciprocal(xp.sqrt(variance, out=variance), out=variance)
        centered *= self.inv_sigma
        self.x_hat = centered
        y = self.x_hat * weight
        if bias is not None:
            y += bias
        return y

    def backward(self, g):
        x, weight = self.inputs[:2]
        if is_grad_enabled():
            x_hat, inv_sigma = normalize(x, self.eps)
        else:
            x_hat, inv_sigma = self.x_hat, self.inv_sigma
        grads = evaluate_formula(
            layer_norm_vjp,
            g,
            x_hat,
            inv_sigma,
            weight,
            *self.needs_input_grad[:2],
            len(self.inputs) == 3 and self.needs_input_grad[2],
        )
        return grads if len(self.inputs) == 3 else grads[:2]


def layer_norm_vjp(g, x_hat, inv_sigma, weight, needs_x: bool, needs_w: bool, needs_b: bool):
    """(dx, dw, db) of ``LayerNorm`` from g = dL/dy, on arrays or Tensors (see the class docstring)."""
    dx = dw = db = None
    if needs_x:
        g_hat = g * weight
        dx = (g_hat - row_means(g_hat) - x_hat * row_means(g_hat * x_hat)) * inv_sigma
    if needs_w:
        dw = column_sums(g * x_hat)
    if needs_b:
        db = column_sums(g)
    return dx, dw, db


def normalize(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """(x_hat, 1/sigma) of ``LayerNorm`` with Tensor ops (differentiable)."""
    centered = x - x.mean(axis=-1, keepdims=True)
    inv_sigma = ((centered * centered).mean(axis=-1, keepdims=True) + eps) ** -0.5
    return centered * inv_sigma, inv_sigma
