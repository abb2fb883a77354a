"""Softmax and log-softmax along an axis, stable for logits of any magnitude (the max is subtracted)."""

from __future__ import annotations

from ..backend import get_xp
from ..function import Function
from ..shapes import normalize_axis


class Softmax(Function):
    """s = e^(x - max x) / sum e^(x - max x);  dL/dx = s * (g - sum(g * s)) along the axis."""

    def forward(self, x, axis=-1):
        xp = get_xp(x)
        self.axis = normalize_axis(axis, x.ndim, "softmax", x.shape)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, gs):
        s = self.output()
        return s * (gs - (gs * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x);  dL/dx = g - softmax(x) * sum(g) along the axis."""

    def forward(self, x, axis=-1):
        xp = get_xp(x)
        self.axis = normalize_axis(axis, x.ndim, "log_softmax", x.shape)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        return gy - self.output().exp() * gy.sum(axis=self.axis, keepdims=True)
