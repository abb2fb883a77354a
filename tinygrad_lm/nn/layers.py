"""Layers with PyTorch's parameter names, shapes and default initialisations."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..backend import Generator
from ..creation import zeros
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def new_parameter(*shape: int) -> Parameter:
    """A float32 Parameter of zeros, for an initialiser to fill."""
    return Parameter(zeros(*shape))


class Linear(Module):
    """y = x W^T + b for x (..., in_features) -> y (..., out_features).

    W (out_features, in_features) and b (out_features,) ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, generator: Generator | None = None
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = init.fan_in_uniform_(new_parameter(out_features, in_features), generator=generator)
        self.bias = (
            init.fan_in_uniform_(new_parameter(out_features), in_features, generator) if bias else None
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Embedding(Module):
    """A lookup table: integer indices (...) -> rows of W (..., embedding_dim); W ~ N(0, 1)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, generator: Generator | None = None) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = init.normal_(new_parameter(num_embeddings, embedding_dim), generator=generator)

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last axis (biased variance).

    weight = 1 and bias = 0 initially; both absent when ``elementwise_affine=False``, the bias alone
    when ``bias=False`` (as in PyTorch).
    """

    def __init__(
        self, normalized_shape: int, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True
    ) -> None:
        super().__init__()
        self.normalized_shape, self.eps = normalized_shape, eps
        self.weight = init.ones_(new_parameter(normalized_shape)) if elementwise_affine else None
        self.bias = init.zeros_(new_parameter(normalized_shape)) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"({self.normalized_shape},), eps={self.eps}, elementwise_affine={self.weight is not None}"


class Dropout(Module):
    """Inverted dropout in training (zero with probability p, scale survivors by 1/(1-p)); identity in eval.

    Masks come from ``generator`` (default: the library's default generator).
    """

    def __init__(self, p: float = 0.5, generator: Generator | None = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must lie in [0, 1], got {p}")
        self.p, self.generator = p, generator

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class GELU(Module):
    """x Phi(x) (``approximate="none"``, PyTorch's default; Phi the normal CDF) or, with
    ``approximate="tanh"``, x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return x.gelu(self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
