"""Scalar functions for the kernels' loops: exp, sigmoid and tanh, vectorisable in float32.

numba compiles ``math.exp`` on float32 to one call of the C library per element, which no loop
vectoriser can widen: a kernel with an exponential would run at a tenth of NumPy's SIMD ``exp``. The
float32 ``exp`` here is written as arithmetic, so LLVM turns a loop over it into vector instructions:

    exp(x) = 2^n exp(r),   n = round(x / ln 2),   r = x - n ln 2  in [-ln2/2, ln2/2]

with n ln 2 subtracted in two parts (Cody and Waite: ln 2 = C1 + C2, C1 exact in a few bits, so n C1
is exact), exp(r) from Cephes' degree-7 polynomial for ``expf``, and 2^n built from its bits (an
exponent field shifted into place) as two factors 2^(n/2) so that each stays a normal number and the
results from FLT_MAX down to the subnormals come out right. Measured against float64 ``exp``: at most
0.7 float32 epsilons of relative error on [-87, 88] (NumPy's float32 ``exp``: 1.6). Above ln(FLT_MAX)
the result is inf, below -104 it is 0, and NaN stays NaN.

In float64 the functions are ``math``'s, to the last digit. Call them only from compiled code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

FAST_SUMS = {"reassoc", "contract"}
"""numba ``fastmath`` flags for kernels with sums: additions may be reordered (into vector lanes) and
a product and a sum fused; rounding changes by a few epsilons, infinities and NaNs keep their meaning."""

_F = np.float32
LOG2_E = _F(1.4426950408889634)
LN2_C1, LN2_C2 = _F(0.693359375), _F(-2.12194440e-4)
EXP_MAX, EXP_MIN = _F(88.72283), _F(-104.0)  # ln(FLT_MAX); below ln(2^-150) e^x rounds to 0
EXPF_POLYNOMIAL = (
    _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3),
    _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1),
)  # fmt: skip
TANHF_POLYNOMIAL = (
    _F(-5.70498872745e-3), _F(2.06390887954e-2), _F(-5.37397155531e-2),
    _F(1.33314422036e-1), _F(-3.33332819422e-1),
)  # fmt: skip  (Cephes tanhf, |x| < 0.625)


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits`` (LLVM ``bitcast``)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return types.float32(types.int32), codegen


@njit(inline="always")
def _exp32(x):
    clamped = min(max(x, EXP_MIN), EXP_MAX)
    n = np.floor(clamped * LOG2_E + _F(0.5))
    r = clamped - n * LN2_C1 - n * LN2_C2
    p = EXPF_POLYNOMIAL[0]
    for c in EXPF_POLYNOMIAL[1:]:
        p = p * r + c
    p = p * r * r + r + _F(1.0)
    k = np.int32(n)
    half = k >> np.int32(1)  # 2^n as 2^half 2^(n - half): each factor a normal float32
    result = p * _float32_from_bits((half + np.int32(127)) << np.int32(23))
    result *= _float32_from_bits((k - half + np.int32(127)) << np.int32(23))
    if x > EXP_MAX:
        result = _F(np.inf)
    if x < EXP_MIN:
        result = _F(0.0)
    if x != x:
        result = x  # NaN in, NaN out
    return result


@njit(inline="always")
def _tanh32(x):
    a = abs(x)
    if a < _F(0.625):
        z = x * x
        p = TANHF_POLYNOMIAL[0]
        for c in TANHF_POLYNOMIAL[1:]:
            p = p * z + c
        return p * z * x + x
    y = _F(1.0) - _F(2.0) / (_exp32(a + a) + _F(1.0))
    return y if x > 0 else -y


def exp(x):
    """e^x (see the module docstring)."""
    return math.exp(x)


def tanh(x):
    """tanh x: Cephes' odd polynomial for |x| < 0.625 in float32, else 1 - 2 / (e^(2|x|) + 1)."""
    return math.tanh(x)


def sigmoid(x):
    """1 / (1 + e^-x); exactly 0 where e^-x overflows."""
    return 1 / (1 + math.exp(-x))


@overload(exp, inline="always")
def _exp_overload(x):
    if x == types.float32:
        return lambda x: _exp32(x)
    return lambda x: math.exp(x)


@overload(tanh, inline="always")
def _tanh_overload(x):
    if x == types.float32:
        return lambda x: _tanh32(x)
    return lambda x: math.tanh(x)


@overload(sigmoid, inline="always")
def _sigmoid_overload(x):
    if x == types.float32:
        return lambda x: _F(1.0) / (_F(1.0) + _exp32(-x))
    return lambda x: 1.0 / (1.0 + math.exp(-x))
