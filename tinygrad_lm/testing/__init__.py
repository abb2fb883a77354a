"""Testing kit: finite-difference gradient checks and hypothesis strategies for tensors.

``gradcheck``/``gradgradcheck`` compare a function's first/second derivatives from the autograd
engine with central differences; ``strategies`` draws shapes, tensors, axes, indices and token
batches; ``registry`` lists every differentiable op with its NumPy reference and input domains
(import it explicitly: it needs hypothesis, like ``strategies``); ``python -m
tinygrad_lm.testing.report`` prints the per-op check table.
"""

from . import strategies
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "strategies"]
