"""The file format of ``python -m zoo compress``: a checked header, then the range coder's bytes.

All integers little-endian::

    magic           8 bytes   b"\\x89zooLMZ\\n"  (not text; a foreign file fails here)
    version         u16       FORMAT_VERSION
    model identity  32 bytes  SHA-256 of the checkpoint's model name, config, tokenizer and weights
    symbols         u64       symbols coded: tokens plus escapes (the decoder stops there)
    original size   u64       bytes of the original file
    original hash   32 bytes  SHA-256 of the original file, checked after decoding
    payload size    u64       bytes of the coded stream that follows the header
    payload CRC-32  u32       of those bytes: corruption and truncation are caught before any work
    environment     u16 + JSON  what the decoder's arithmetic must share (see ``environment``)
    header CRC-32   u32       of every header byte before it

What must match between the machine that compresses and the one that decompresses: the checkpoint
(checked: the model identity), the format (checked: version) and, for neural models, the floating-point
results of the forward pass step by step -- the same NumPy and BLAS library, the same BLAS thread
count and the same dtype. Those are recorded in ``environment``; a mismatch is reported with the
values, and if the arithmetic differs anyway the original's hash rejects the result. The n-gram's
probabilities are exactly rounded float64 operations, the same on every IEEE machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm import asnumpy

MAGIC = b"\x89zooLMZ\n"
FORMAT_VERSION = 1
_FIXED = struct.Struct("<8sH32sQQ32sQIH")


class CompressedFileError(ValueError):
    """A compressed file that cannot be decoded with this checkpoint: foreign, damaged or mismatched."""


@dataclass(frozen=True)
class Header:
    model_identity: bytes
    symbols: int
    original_size: int
    original_hash: bytes
    payload_size: int
    payload_crc: int
    environment: dict

    def pack(self) -> bytes:
        environment = json.dumps(self.environment, sort_keys=True).encode("utf-8")
        fixed = _FIXED.pack(
            MAGIC,
            FORMAT_VERSION,
            self.model_identity,
            self.symbols,
            self.original_size,
            self.original_hash,
            self.payload_size,
            self.payload_crc,
            len(environment),
        )
        body = fixed + environment
        return body + struct.pack("<I", zlib.crc32(body))


def unpack(data: bytes, name: str = "the input") -> tuple[Header, bytes]:
    """The header and the payload of a compressed file, every check done (``CompressedFileError``)."""
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise CompressedFileError(f"{name} is not a file written by `python -m zoo compress` (no magic)")
    if len(data) < _FIXED.size + 4:
        raise CompressedFileError(f"{name} is truncated: {len(data)} bytes, shorter than a header")
    fields = _FIXED.unpack_from(data)
    version, env_size = fields[1], fields[8]
    if version != FORMAT_VERSION:
        raise CompressedFileError(f"{name} has format version {version}; this program reads {FORMAT_VERSION}")
    end = _FIXED.size + env_size
    if len(data) < end + 4:
        raise CompressedFileError(f"{name} is truncated inside its header")
    (crc,) = struct.unpack_from("<I", data, end)
    if zlib.crc32(data[:end]) != crc:
        raise CompressedFileError(f"{name} is corrupted: its header fails its CRC-32")
    header = Header(fields[2], fields[3], fields[4], fields[5], fields[6], fields[7], _environment(data, end))
    payload = data[end + 4 :]
    if len(payload) != header.payload_size:
        raise CompressedFileError(
            f"{name} is truncated or extended: {len(payload)} payload bytes, the header says "
            f"{header.payload_size}"
        )
    if zlib.crc32(payload) != header.payload_crc:
        raise CompressedFileError(f"{name} is corrupted: its coded bytes fail their CRC-32")
    return header, payload


def _environment(data: bytes, end: int) -> dict:
    return json.loads(data[_FIXED.size : end].decode("utf-8"))


def model_identity(info: dict, state: dict) -> bytes:
    """SHA-256 over the checkpoint's model name, config and tokenizer (JSON) and every weight array
    (name, dtype, shape, bytes), in sorted order."""
    digest = hashlib.sha256()
    described = {key: info.get(key) for key in ("model", "config", "tokenizer")}
    digest.update(json.dumps(described, sort_keys=True, default=str).encode("utf-8"))
    _hash_value(digest, state)
    return digest.digest()


def _hash_value(digest: Any, value: Any) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            digest.update(repr(key).encode("utf-8"))
            _hash_value(digest, value[key])
    elif isinstance(value, list | tuple):
        digest.update(f"[{len(value)}]".encode())
        for item in value:
            _hash_value(digest, item)
    elif isinstance(value, tg.Tensor | np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        array = np.ascontiguousarray(asnumpy(value.data if isinstance(value, tg.Tensor) else value))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    else:
        digest.update(repr(value).encode("utf-8"))


def environment(model: Any) -> dict:
    """What a neural model's decoder must share with its encoder (the n-gram: nothing but IEEE)."""
    variables = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    threads = next((os.environ[v] for v in variables if os.environ.get(v)), "default")
    if hasattr(model, "tables"):
        return {"arithmetic": "float64"}
    dtype = str(next(iter(model.parameters())).dtype)
    return {"arithmetic": dtype, "numpy": np.__version__, "blas_threads": threads}
