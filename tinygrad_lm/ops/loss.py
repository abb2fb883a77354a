"""Cross-entropy: log-softmax and the negative log-likelihood of the targets as one op."""

from __future__ import annotations

from ..backend import get_xp, is_host_array
from .fused_function import FusedFunction
from .rows import row_sums

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(FusedFunction):
    """loss_n = logsumexp(z_n) - z_n[t_n] for logits z (..., C) and integer targets t (...).

    Rows whose target equals ``ignore_index`` contribute 0 and are not counted. Reductions:
    ``"mean"`` = sum_n loss_n / N with N the number of non-ignored rows (NaN when N = 0, as PyTorch),
    ``"sum"``, or ``"none"`` (a loss per row, shape of t, 0 at ignored rows).

    A target outside [0, C) (other than ``ignore_index``) raises IndexError, naming the values, before
    any work on host (NumPy) arrays. On device arrays nothing is read back during a step: such a
    target makes N NaN, hence the "mean" loss and its gradient (the "sum" and "none" losses read it
    modulo C, as CuPy's indexing does).

    Forward is stable for logits of any magnitude: logsumexp(z) = m + log sum e^(z - m), m = max z.

    Backward:  dL/dz_n = w_n softmax(z_n) - w_n onehot(t_n),  w_n = g / N (mean), g (sum) or g_n (none),
    and w_n = 0 at ignored rows. Forward saves softmax(z) (N, C); ``recompute`` gives it as a Tensor.
    """

    def forward(self, logits, targets, ignore_index=-100, reduction="mean"):
        xp = get_xp(logits)
        _check_cross_entropy(logits, targets, ignore_index, reduction)
        classes = logits.shape[-1]
        z = logits.reshape(-1, classes)  # (N, C)
        t = targets.reshape(-1)  # (N,)
        self.valid = t != ignore_index  # (N,)
        self.safe_targets = xp.where(self.valid, t, 0)
        self.count = _counted_rows(self.valid, t, classes, logits.dtype)
        self.reduction = reduction
        shifted = z - z.max(axis=-1, keepdims=True)  # (N, C), the only (N, C) allocation
        picked = shifted[xp.arange(len(t)), self.safe_targets]
        probs = xp.exp(shifted, out=shifted)
        total = row_sums(probs)
        probs /= total
        self.saved = (probs,)  # softmax(z), for backward
        losses = xp.where(self.valid, xp.log(total[:, 0]) - picked, 0).astype(logits.dtype)
        if reduction == "none":
            return losses.reshape(targets.shape)
        if reduction == "sum":
            return losses.sum()
        if not isinstance(self.count, int):
            return losses.sum() / self.count  # on the device: NaN for N = 0 or a target out of range
        return losses.sum() / self.count if self.count else xp.asarray(xp.nan, dtype=logits.dtype)

    def recompute(self, logits, targets):
        return (logits.reshape(-1, logits.shape[-1]).softmax(-1),)

    def vjp(self, xp, g, inputs, saved):
        (probs,) = saved
        logits = inputs[0]
        valid = self.valid.astype(probs.dtype)[:, None]  # (N, 1)
        if self.reduction == "none":
            weights = g.reshape(-1, 1) * xp.constant(valid)  # w_n of the docstring (N, 1)
        else:
            scale = self._row_scale()
            weights = g.reshape(1, 1) * xp.constant(valid * scale)
        onehot = xp.constant(self.onehot_targets(logits.shape[-1], probs.dtype))  # (N, C)
        return (probs * weights - onehot * weights).reshape(logits.shape), None

    def _row_scale(self):
        """1/N for the mean (a 0-d array on a device, see the class docstring), else 1."""
        if self.reduction != "mean":
            return 1.0
        if not isinstance(self.count, int):  # a 0-d array on the device
            return 1 / self.count
        return 1 / self.count if self.count else 1.0

    def onehot_targets(self, classes: int, dtype):
        """(N, C): 1 at each row's target (the masked ignore_index rows point at class 0, weight 0)."""
        return (self.safe_targets[:, None] == get_xp(self.safe_targets).arange(classes)).astype(dtype)


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
        return  # on a device, a target out of range makes N NaN instead (_counted_rows)
    used = targets[targets != ignore_index]
    if used.size and (used.min() < 0 or used.max() >= logits.shape[-1]):
        raise IndexError(
            f"targets must lie in [0, {logits.shape[-1]}) (or equal ignore_index={ignore_index}), "
            f"got values in [{int(used.min())}, {int(used.max())}]"
        )


def _counted_rows(valid, targets, classes: int, dtype):
    """N, the number of non-ignored rows: an int read at once from host arrays (whose targets
    ``_check_cross_entropy`` has checked), a 0-d array left on the device otherwise, NaN when a
    non-ignored target lies outside [0, C) (nothing is read back during the step)."""
    if is_host_array(valid):
        return int(valid.sum())
    xp = get_xp(valid)
    in_range = ~valid | ((targets >= 0) & (targets < classes))
    return xp.where(in_range.all(), valid.sum(), xp.nan).astype(dtype)
