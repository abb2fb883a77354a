"""An arithmetic (range) coder over integer frequencies, and the quantisation of a distribution to them.

**Interval narrowing.** The coder keeps an interval ``[low, low + range)`` of integers (64 bits of
precision, carried in Python ints). A symbol ``s`` with integer frequency ``f_s``, cumulative
frequency ``F_s = f_0 + ... + f_{s-1}`` and total ``F = sum_s f_s`` narrows it to::

    r     = floor(range / F)
    low   = low + r F_s
    range = r f_s

Whenever ``range < 2^56`` the top byte of ``low`` can no longer change except by a carry, so it is
shifted out (LZMA's cache-and-carry scheme) and ``range`` is scaled by 256: ``range`` stays in
``[2^56, 2^64)``. The decoder mirrors this with ``code = value - low``: ``floor(code / r)`` lies in
``[F_s, F_s + f_s)`` and names ``s``.

**Cost.** Each step multiplies ``range`` by ``r f_s / range >= (f_s / F)(1 - F / 2^56)``, so after
``N`` symbols the interval has width at least ``2^64 prod_i q_i (1 - F/2^56)^N`` (``q_i = f/F`` of the
symbol coded at step ``i``). Bytes shifted out plus the ones needed to name one value in the final
interval total::

    bytes <= (sum_i -log2 q_i + N log2(1 / (1 - 2^-32))) / 8 + TERMINATION_BYTES

with ``F <= 2^24`` (``PRECISION_BITS``): the truncation costs under 3.4e-10 bits per symbol, and the
stream ends with at most ``TERMINATION_BYTES = 2`` bytes more than that: ``finish`` picks the value in
the final interval with the most trailing zero bytes (at least 7 of its 8 low bytes are then zero
once ``range >= 2^56``), writes it and drops its trailing zero bytes, which the decoder reads back as
the zeros past the end of the stream. (The leading byte of LZMA's scheme is always 0 and is not
written.)

**Quantisation.** ``frequencies(p)`` maps a distribution over ``V`` symbols to integers
``f_i = floor(p_i K) + 1`` with ``K = 2^24 - V - R``, where ``R`` symbols of frequency 1 are reserved
(the compressor's escape: ``R = 1``): every symbol gets at least 1 (any symbol can be coded) and
``F = sum f_i + R <= K + V + R = 2^24``. Since ``f_i >= p_i K`` and ``F <= 2^24``,

    -log2 q_i <= -log2 p_i + log2(2^24 / K) = -log2 p_i - log2(1 - (V + R) / 2^24),

about ``(V + R) / 2^24 / ln 2`` bits per symbol (5.7e-6 bits for V + R = 66). ``frequencies`` acts on each row
independently and elementwise, so a batch of rows and the same rows one at a time give the same
integers.
"""

from __future__ import annotations

import math

import numpy as np

PRECISION_BITS = 24
MAX_TOTAL = 1 << PRECISION_BITS
TERMINATION_BYTES = 2
_TOP = 1 << 64
_MASK = _TOP - 1
_BOTTOM = 1 << 56


class CorruptStreamError(ValueError):
    """The coded stream does not decode under the given frequencies (corrupted or truncated)."""


def frequencies(probs: np.ndarray, reserve: int = 0) -> np.ndarray:
    """Rows of probabilities (..., V) float64 -> integer frequencies (..., V) int64, each >= 1, with
    ``f = floor(p K) + 1``, ``K = 2^24 - V - reserve``: row sums <= 2^24 - reserve, leaving room for
    ``reserve`` more symbols of frequency 1 (rows must sum to at most 1 + 1e-9)."""
    probs = np.asarray(probs, dtype=np.float64)
    vocab = probs.shape[-1]
    if vocab + reserve >= MAX_TOTAL:
        raise ValueError(f"frequencies: {vocab + reserve} symbols do not fit a total of 2^{PRECISION_BITS}")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0) or np.any(probs.sum(axis=-1) > 1 + 1e-9):
        raise ValueError("frequencies: probabilities must be finite, >= 0 and sum to at most 1")
    return np.floor(probs * float(MAX_TOTAL - vocab - reserve)).astype(np.int64) + 1


def row_cumulative(probs: np.ndarray, extra: int = 0) -> np.ndarray:
    """``cumulative`` of ``frequencies(probs, reserve=extra)`` for one row (V,) followed by ``extra``
    symbols of frequency 1, without the checks: the decoder's fast copy of what the encoder computed
    (and checked) for the same numbers. -> (V + extra + 1,) int64."""
    vocab = len(probs)
    freqs = np.floor(probs * float(MAX_TOTAL - vocab - extra)).astype(np.int64)
    freqs += 1
    cum = np.empty(vocab + extra + 1, dtype=np.int64)
    cum[0] = 0
    np.cumsum(freqs, out=cum[1 : vocab + 1])
    for k in range(1, extra + 1):
        cum[vocab + k] = cum[vocab] + k
    return cum


def cumulative(freqs: np.ndarray) -> np.ndarray:
    """(..., V) frequencies -> (..., V + 1) cumulative frequencies, starting at 0."""
    zeros = np.zeros((*freqs.shape[:-1], 1), dtype=np.int64)
    return np.concatenate([zeros, np.cumsum(freqs, axis=-1)], axis=-1)


def cost_bits(freq: int, total: int) -> float:
    """-log2(freq / total): the ideal cost of one coded symbol."""
    return math.log2(total) - math.log2(freq)


class RangeEncoder:
    """Code symbols given as ``(cumulative frequency, frequency, total)``; ``finish()`` -> bytes."""

    def __init__(self) -> None:
        self.low, self.range = 0, _MASK
        self.cache, self.cache_size = 0, 1
        self.out = bytearray()
        self.finished = False

    def encode(self, start: int, freq: int, total: int) -> None:
        """Narrow to the symbol occupying ``[start, start + freq)`` of ``[0, total)``."""
        if not (0 <= start and 0 < freq and start + freq <= total <= MAX_TOTAL):
            raise ValueError(
                f"encode: need 0 <= start < start + freq <= total <= 2^24, got {(start, freq, total)}"
            )
        r = self.range // total
        self.low += r * start
        self.range = r * freq
        while self.range < _BOTTOM:
            self.range <<= 8
            self._shift_low()

    def encode_uniform(self, value: int, total: int) -> None:
        """Code ``value`` in ``[0, total)`` with every value equally likely."""
        self.encode(value, 1, total)

    def _shift_low(self) -> None:
        if self.low < 0xFF << 56 or self.low >= _TOP:
            carry = self.low >> 64
            byte = self.cache
            while self.cache_size:
                self.out.append((byte + carry) & 0xFF)
                byte, self.cache_size = 0xFF, self.cache_size - 1
            self.cache = (self.low >> 56) & 0xFF
        self.cache_size += 1
        self.low = (self.low << 8) & _MASK

    def finish(self) -> bytes:
        """The coded bytes: a value of the final interval with the most trailing zero bytes."""
        if self.finished:
            raise RuntimeError("finish() was already called")
        self.finished = True
        for shift in range(64, -1, -8):
            value = -(-self.low // (1 << shift)) << shift  # the smallest multiple of 2^shift >= low
            if value < self.low + self.range:
                break
        self.low = value
        for _ in range(9):
            self._shift_low()
        return bytes(self.out[1:]).rstrip(b"\x00")  # the first byte is always 0


class RangeDecoder:
    """Read back what ``RangeEncoder`` wrote: ``decode_target(total)``, then ``consume(start, freq)``."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0
        self.range, self.code = _MASK, 0
        for _ in range(8):
            self.code = (self.code << 8) | self._next_byte()
        self._r = 0

    def _next_byte(self) -> int:
        byte = self.data[self.position] if self.position < len(self.data) else 0
        self.position += 1
        return byte

    def decode_target(self, total: int) -> int:
        """The cumulative frequency in ``[0, total)`` the next symbol's interval contains."""
        self._r = self.range // total
        target = self.code // self._r
        if target >= total:
            raise CorruptStreamError("the coded stream is corrupted: it points outside every symbol")
        return target

    def consume(self, start: int, freq: int) -> None:
        """Remove the symbol ``[start, start + freq)`` found from ``decode_target``'s value."""
        self.code -= self._r * start
        self.range = self._r * freq
        while self.range < _BOTTOM:
            self.range <<= 8
            self.code = ((self.code << 8) | self._next_byte()) & _MASK

    def decode_uniform(self, total: int) -> int:
        """The value coded by ``encode_uniform(value, total)``."""
        value = self.decode_target(total)
        self.consume(value, 1)
        return value


def decode_symbol(decoder: RangeDecoder, cum: np.ndarray) -> int:
    """The symbol of one step coded with cumulative frequencies ``cum`` (V + 1,) int64."""
    target = decoder.decode_target(int(cum[-1]))
    symbol = int(np.searchsorted(cum, target, side="right")) - 1
    decoder.consume(int(cum[symbol]), int(cum[symbol + 1] - cum[symbol]))
    return symbol
