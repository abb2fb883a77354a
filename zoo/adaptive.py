"""Compression with no checkpoint at all: a byte model that learns while it codes.

Both sides start from the same empty model and, after each byte, add it to the same counts, so the
decoder replays the encoder's training exactly (as nncp does with a neural network; here with
counts). The model is interpolated absolute discounting over the last 0..k bytes (``k = order``)::

    P_{-1}(b)     = 1 / 256
    P_m(b | h)    = [ max(c(h b) - D, 0) + D N(h) P_{m-1}(b | h') ] / T(h)    if T(h) > 0
                  = P_{m-1}(b | h')                                            otherwise

with ``c(h b)`` the times byte ``b`` followed the ``m`` bytes ``h`` so far, ``T(h) = sum_b c(h b)``,
``N(h)`` the distinct bytes seen after ``h`` and ``D`` in ``(0, 1)``: each ``P_m`` sums to 1 and no byte
gets probability 0. It works on bytes, so any file (UTF-8 or not) round-trips; the float64
arithmetic is the same sequence of exactly rounded operations on both sides.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

from zoo.coding import RangeDecoder, RangeEncoder, decode_symbol, row_cumulative
from zoo.compressed_file import CompressedFileError, Header, unpack
from zoo.compression import Progress

ORDER, DISCOUNT = 3, 0.75  # 2.640 bits/char on Tiny Shakespeare's validation split alone (4: 2.659)


class AdaptiveByteModel:
    """Counts of each byte after each context of 0..order bytes, updated by ``push``."""

    def __init__(self, order: int = ORDER, discount: float = DISCOUNT) -> None:
        if order < 0 or not 0 < discount < 1:
            raise ValueError(f"order must be >= 0 and discount in (0, 1), got {order}, {discount}")
        self.order, self.discount = order, discount
        self.tables: list[dict[bytes, dict[int, int]]] = [{} for _ in range(order + 1)]
        self.history = b""

    @property
    def identity(self) -> bytes:
        """What the header stores in place of a checkpoint's identity."""
        return hashlib.sha256(
            f"adaptive-bytes:order={self.order}:discount={self.discount!r}".encode()
        ).digest()

    def next_probs(self) -> np.ndarray:
        probs = np.full(256, 1.0 / 256)
        for m in range(min(self.order, len(self.history)) + 1):
            counts = self.tables[m].get(self.history[len(self.history) - m :])
            if counts:
                total = float(sum(counts.values()))
                symbols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                seen = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                probs = probs * (self.discount * len(counts) / total)
                probs[symbols] += (seen - self.discount) / total
        return probs

    def push(self, byte: int) -> None:
        for m in range(min(self.order, len(self.history)) + 1):
            counts = self.tables[m].setdefault(self.history[len(self.history) - m :], {})
            counts[byte] = counts.get(byte, 0) + 1
        self.history = (self.history + bytes([byte]))[-self.order :] if self.order else b""


def compress_adaptive(original: bytes, progress: Progress | None = None) -> bytes:
    """The compressed file of any bytes, with no model given: the header, then the coded bytes."""
    model, encoder = AdaptiveByteModel(), RangeEncoder()
    for done, byte in enumerate(original):
        cum = row_cumulative(model.next_probs())
        encoder.encode(int(cum[byte]), int(cum[byte + 1] - cum[byte]), int(cum[-1]))
        model.push(byte)
        if progress and done % 4096 == 4095:
            progress(4096)
    payload = encoder.finish()
    header = Header(
        model_identity=model.identity,
        symbols=len(original),
        original_size=len(original),
        original_hash=hashlib.sha256(original).digest(),
        payload_size=len(payload),
        payload_crc=zlib.crc32(payload),
        environment={"arithmetic": "float64", "model": "adaptive"},
    )
    return header.pack() + payload


def decompress_adaptive(data: bytes, name: str = "the input", progress: Progress | None = None) -> bytes:
    """The original bytes of a ``compress_adaptive`` file (``CompressedFileError`` otherwise)."""
    header, payload = unpack(data, name)
    model = AdaptiveByteModel()
    if header.model_identity != model.identity:
        raise CompressedFileError(
            f"{name} was compressed with a checkpoint's model: decompress it with --checkpoint"
        )
    decoder, out = RangeDecoder(payload), bytearray()
    for done in range(header.symbols):
        byte = decode_symbol(decoder, row_cumulative(model.next_probs()))
        out.append(byte)
        model.push(byte)
        if progress and done % 4096 == 4095:
            progress(4096)
    if hashlib.sha256(out).digest() != header.original_hash:
        raise CompressedFileError(f"{name}: the decoded bytes fail the original's SHA-256")
    return bytes(out)
