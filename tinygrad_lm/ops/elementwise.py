"""Element-wise primitives. Binary ops broadcast as NumPy does; the engine un-broadcasts gradients.

Each backward is the derivative written with Tensor operations (so it is itself differentiable);
masks of piecewise-linear ops (relu, abs, clip, maximum) are constants, whose derivative is zero
almost everywhere.
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import erf, get_xp, overflow_allowed
from ..dtypes import bool_
from ..function import Function, constant, is_tensor
from ..kernels import kernels_for
from .fused_function import FusedFunction


class Add(Function):
    """z = x + y;  dz/dx = 1, dz/dy = 1."""

    def forward(self, x, y):
        return x + y

    def backward(self, gz):
        return gz, gz


class Sub(Function):
    """z = x - y;  dz/dx = 1, dz/dy = -1."""

    def forward(self, x, y):
        return x - y

    def backward(self, gz):
        return gz, (-gz if self.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y;  dz/dx = y, dz/dy = x."""

    def forward(self, x, y):
        return x * y

    def backward(self, gz):
        x, y = self.inputs
        needs_x, needs_y = self.needs_input_grad
        return (gz * y if needs_x else None), (gz * x if needs_y else None)


class Div(Function):
    """z = x / y;  dz/dx = 1/y, dz/dy = -x/y^2 = -z/y."""

    def forward(self, x, y):
        return x / y

    def backward(self, gz):
        x, y = self.inputs
        needs_x, needs_y = self.needs_input_grad
        gx = gz / y if needs_x else None
        gy = -gz * x / (y * y) if needs_y else None
        return gx, gy


class Pow(Function):
    """z = x ** y;  dz/dx = y x^(y-1), dz/dy = z log x.

    Conventions where the formulas are undefined: dz/dx = 0 at x = 0 where y = 0 (x ** 0 is the
    constant 1 there too; y x^(y-1) would be 0 * inf); dz/dy = 0 at x = 0 (log 0 taken as 0)."""

    def forward(self, x, y):
        return get_xp(x).power(x, y)

    def backward(self, gz):
        x, y = self.inputs
        needs_x, needs_y = self.needs_input_grad
        gx = _zero_at_zero_power_of_zero(x, y, gz * y * x ** (y - 1)) if needs_x else None
        gy = gz * self.output() * _log_or_zero_at_zero(x) if needs_y else None
        return gx, gy


def _zero_at_zero_power_of_zero(x, y, gradient):
    """``gradient`` with 0 where x = y = 0 (broadcast), so no 0 * inf = nan survives at 0 ** 0."""
    at_zero = (x.data == 0) & (y.data == 0)
    if not at_zero.any():
        return gradient
    return Where.apply(constant(at_zero), constant(get_xp(at_zero).zeros((), gradient.dtype)), gradient)


def sqrt_zero_gradient_at_zero(x):
    """sqrt x, whose derivative is taken as 0 (not inf) where x = 0: the convention of a norm at the
    origin (its minimal subgradient), used by ``Tensor.std`` for a constant row (x = var = 0)."""
    at_zero = x.data == 0
    if not at_zero.any():
        return x.sqrt()
    xp, mask = get_xp(at_zero), constant(at_zero)
    safe = Where.apply(mask, constant(xp.ones((), x.dtype)), x)  # sqrt of 1 there: a finite derivative
    return Where.apply(mask, constant(xp.zeros((), x.dtype)), safe.sqrt())


def _log_or_zero_at_zero(x):
    """log x with 0 where x == 0 (log is taken of 1 there, so no nan leaks into any derivative)."""
    at_zero = x.data == 0
    if not at_zero.any():
        return x.log()
    zero = constant(get_xp(x.data).zeros((), x.dtype))
    return Where.apply(constant(at_zero), zero, x.masked_fill(at_zero, 1.0).log())


class Maximum(Function):
    """z = max(x, y);  the gradient goes to the larger input, split in half on ties."""

    def forward(self, x, y):
        return get_xp(x).maximum(x, y)

    def backward(self, gz):
        x, y = self.inputs
        share = _tie_split(x.data > y.data, x.data == y.data, gz.dtype)
        return gz * constant(share), gz * constant(1 - share)


class Minimum(Function):
    """z = min(x, y);  the gradient goes to the smaller input, split in half on ties."""

    def forward(self, x, y):
        return get_xp(x).minimum(x, y)

    def backward(self, gz):
        x, y = self.inputs
        share = _tie_split(x.data < y.data, x.data == y.data, gz.dtype)
        return gz * constant(share), gz * constant(1 - share)


def _tie_split(wins, ties, dtype):
    return wins.astype(dtype) + 0.5 * ties.astype(dtype)


class Where(Function):
    """z = x where condition else y;  the gradient is routed by the (non-differentiable) condition."""

    def forward(self, condition, x, y):
        return get_xp(x).where(condition, x, y)

    def backward(self, gz):
        condition = self.inputs[0]
        zero = constant(get_xp(gz.data).zeros((), dtype=gz.dtype))
        _, needs_x, needs_y = self.needs_input_grad
        gx = Where.apply(condition, gz, zero) if needs_x else None
        gy = Where.apply(condition, zero, gz) if needs_y else None
        return None, gx, gy


class Neg(Function):
    """y = -x."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Exp(Function):
    """y = e^x;  dy/dx = y."""

    def forward(self, x):
        return get_xp(x).exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        return get_xp(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 y)."""

    def forward(self, x):
        return get_xp(x).sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output())


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at 0)."""

    def forward(self, x):
        return get_xp(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * constant(get_xp(x).sign(x))


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y^2."""

    def forward(self, x):
        return get_xp(x).tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x), computed from e^-|x| so it never overflows;  dy/dx = y (1 - y)."""

    def forward(self, x):
        xp = get_xp(x)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, gy):
        y = self.output()
        return gy * y * (1 - y)


class Relu(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        return get_xp(x).maximum(x, 0)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * constant((x > 0).astype(x.dtype))


class Clip(Function):
    """y = min(max(x, low), high);  dy/dx = 1 where low <= x <= high, else 0."""

    def forward(self, x, low=None, high=None):
        self.low, self.high = low, high
        return get_xp(x).clip(x, low, high)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = get_xp(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * constant(inside.astype(x.dtype))


class Erf(Function):
    """y = erf x = (2/sqrt(pi)) int_0^x e^(-t^2) dt;  dy/dx = (2/sqrt(pi)) e^(-x^2)."""

    def forward(self, x):
        return erf(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * (2 / math.sqrt(math.pi)) * (-(x * x)).exp()


SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
GELU_CUBIC = 0.044715


def gelu_tanh_exponent(x):
    """2u = 2 sqrt(2/pi) (x + 0.044715 x^3), the argument of the GELU's sigmoid gate."""
    return (2 * SQRT_2_OVER_PI) * (x + GELU_CUBIC * x * x * x)


class GeluTanh(FusedFunction):
    """The tanh approximation of GELU (GPT-2): y = x/2 (1 + tanh u),  u = sqrt(2/pi) (x + 0.044715 x^3).

    Computed as y = x s with the gate s = (1 + tanh u)/2 = 1 / (1 + e^(-2u)): one exponential instead
    of a tanh (NumPy's float32 tanh is the slower) and no cancellation in 1 + tanh u for x << 0. For
    very negative x, e^(-2u) overflows to inf and s is exactly 0, its limit. Forward keeps s and y;
    given them,

        dy/dx = s + 2 x s (1 - s) du/dx = s + y (1 - s) (2 sqrt(2/pi)) (1 + 3 * 0.044715 x^2).
    """

    def forward(self, x):
        fast = kernels_for("activations", x)
        if fast is not None:  # the same formula as one compiled pass (kernels/activations.py)
            self.saved = fast.gelu_tanh_forward(x)
            return self.saved[1]
        xp = get_xp(x)
        # s = 1 / (1 + e^(-2u)) built in one buffer, -2u = -2 sqrt(2/pi) x (1 + 0.044715 x^2)
        gate = xp.multiply(x, x, out=xp.empty_like(x))  # (out=: an array even for 0-d x)
        gate *= -2 * SQRT_2_OVER_PI * GELU_CUBIC
        gate -= 2 * SQRT_2_OVER_PI
        gate *= x
        with overflow_allowed():
            xp.exp(gate, out=gate)
        gate += 1
        s = xp.reciprocal(gate, out=gate)
        y = x * s
        self.saved = (s, y)
        return y

    def recompute(self, x):
        return gelu_tanh_exponent(x).sigmoid(), self.output()

    def vjp(self, xp, g, inputs, saved):
        (x,), (s, y) = inputs, saved
        fast = kernels_for("activations", g, x)
        if fast is not None:
            return fast.gelu_tanh_vjp(g, x, s, y)
        return g * (s + y * (1 - s) * (2 * SQRT_2_OVER_PI + (6 * SQRT_2_OVER_PI * GELU_CUBIC) * (x * x)))


class GeluErf(Function):
    """The exact GELU: y = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dy/dx = Phi(x) + x phi(x)."""

    def forward(self, x):
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    def backward(self, gy):
        x = self.inputs[0]
        cdf = 0.5 * (1 + (x / math.sqrt(2)).erf())
        pdf = (-0.5 * x * x).exp() / math.sqrt(2 * math.pi)
        return gy * (cdf + x * pdf)


class Cast(Function):
    """y = x converted to another floating dtype;  the gradient is converted back."""

    def forward(self, x, dtype=None):
        return x.astype(dtype)

    def backward(self, gy):
        return gy.astype(self.inputs[0].dtype)


# ----------------------------------------------------------------------------- functions on Tensors
def where(condition: Any, x: Any, y: Any) -> Any:
    """Element-wise ``x if condition else y``; differentiable in x and y, broadcasting all three."""
    anchor = next((t for t in (x, y) if is_tensor(t)), None)
    if anchor is None:
        raise TypeError("where: at least one of x and y must be a Tensor")
    condition = condition if is_tensor(condition) else anchor._lift(condition)
    if condition.dtype != bool_:
        condition = constant(condition.data.astype(bool))
    return Where.apply(condition, anchor._lift(x), anchor._lift(y))


def maximum(x: Any, y: Any) -> Any:
    return x.maximum(y) if is_tensor(x) else y.maximum(x)


def minimum(x: Any, y: Any) -> Any:
    return x.minimum(y) if is_tensor(x) else y.minimum(x)
