"""A language model as a lossless compressor: the range coder driven by the model's next-token
distributions (Shannon; Deletang et al. 2023, "Language Modeling Is Compression").

The text (any UTF-8 file) becomes a stream of symbols over ``V + 1`` letters: the tokenizer's ``V``
tokens and an escape ``V``. A character the tokenizer does not know is coded as the escape followed
by its UTF-8 bytes, each uniform over 256 values; it is not shown to the model, whose context holds
the known tokens only. At every step the model's distribution ``p`` of the next token (given the
tokens so far) is quantised (``zoo.coding.frequencies``) and the escape gets frequency 1, so

    compressed bits = sum_i -log2 q_i + (at most 16 bits of termination)
                    ~ sum_i -log2 p_i = the model's cross-entropy over the text, in bits

plus ``8 b`` bits per escaped character of ``b`` UTF-8 bytes and the header. The encoder of the n-gram
computes every position's distribution in one batched call; every decoder, and the neural encoders,
go step by step (``zoo.predictors``), with bit-identical numbers.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.coding import (
    CorruptStreamError,
    RangeDecoder,
    RangeEncoder,
    cumulative,
    decode_symbol,
    frequencies,
    row_cumulative,
)
from zoo.compressed_file import CompressedFileError, Header, environment, unpack
from zoo.predictors import ngram_probabilities, predictor_for

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Symbols:
    """A text as the coder sees it: the known tokens ``ids`` and the escaped characters, each with the
    number of tokens before it (several escapes may share a position; they keep the text's order)."""

    ids: np.ndarray
    escapes: list[tuple[int, str]]

    @property
    def count(self) -> int:
        return len(self.ids) + len(self.escapes)


def to_symbols(text: str, tokenizer: Any) -> Symbols:
    """Split ``text`` into known tokens and escaped characters (none if the tokenizer round-trips it)."""
    try:
        ids = tokenizer.encode(text)
        if tokenizer.decode(ids) == text:
            return Symbols(np.asarray(ids, dtype=np.int64), [])
    except ValueError:
        pass
    known = {tokenizer.decode([i]) for i in range(tokenizer.vocab_size)}
    pieces: list[np.ndarray] = []
    escapes: list[tuple[int, str]] = []
    run: list[str] = []
    tokens_so_far = 0
    for char in text:
        if char in known:
            run.append(char)
        else:
            tokens_so_far += _flush(run, pieces, tokenizer)
            escapes.append((tokens_so_far, char))
    _flush(run, pieces, tokenizer)
    ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    return Symbols(ids, escapes)


def _flush(run: list[str], pieces: list[np.ndarray], tokenizer: Any) -> int:
    """Encode the run of known characters into ``pieces``, empty it, return its number of tokens."""
    if not run:
        return 0
    text = "".join(run)
    piece = np.asarray(tokenizer.encode(text), dtype=np.int64)
    if tokenizer.decode(piece) != text:
        raise ValueError("the tokenizer does not round-trip a run of its own characters")
    pieces.append(piece)
    run.clear()
    return len(piece)


def from_symbols(tokens: list[int], escapes: list[tuple[int, str]], tokenizer: Any) -> str:
    """The text of ``to_symbols``'s output."""
    parts, start = [], 0
    for position, char in escapes:
        parts += [tokenizer.decode(tokens[start:position]) if position > start else "", char]
        start = position
    parts.append(tokenizer.decode(tokens[start:]) if len(tokens) > start else "")
    return "".join(parts)


def step_frequencies(probs: np.ndarray) -> np.ndarray:
    """Cumulative frequencies (P, V + 2) of the model's rows (P, V) with the escape's frequency 1."""
    freqs = frequencies(probs, reserve=1)
    return cumulative(np.concatenate([freqs, np.ones((len(freqs), 1), dtype=np.int64)], axis=1))


def step_rows(model: Any, ids: np.ndarray) -> Iterator[np.ndarray]:
    """The model's distributions of positions 0 .. len(ids), in chunks of rows (P, V)."""
    if hasattr(model, "tables"):
        yield from ngram_probabilities(model, ids, chunk=max(1, (1 << 20) // model.vocab_size))
        return
    predictor = predictor_for(model)
    yield predictor.next_probs()[None]
    for token in ids.tolist():
        predictor.push(token)
        yield predictor.next_probs()[None]


@dataclass(frozen=True)
class Encoded:
    """The coded bytes, and ``sum -log2 p`` of the tokens under the unquantised distributions (the
    model's cross-entropy over the text in bits; escapes excluded)."""

    payload: bytes
    ideal_bits: float


def encode_symbols(model: Any, symbols: Symbols, progress: Progress | None = None) -> Encoded:
    """The range coder's bytes for ``symbols`` under ``model``."""
    encoder, escapes = RangeEncoder(), iter(symbols.escapes)
    pending = next(escapes, None)
    position, ideal = 0, 0.0
    for rows in step_rows(model, symbols.ids):
        cum = step_frequencies(rows)
        count = max(0, min(len(rows), len(symbols.ids) - position))  # rows that code a token
        tokens, index = symbols.ids[position : position + count], np.arange(count)
        ideal += float(-np.log2(rows[index, tokens]).sum())
        starts = cum[index, tokens].tolist()
        freqs = (cum[index, tokens + 1] - cum[index, tokens]).tolist()
        totals = cum[:, -1].tolist()
        for k in range(len(rows)):
            while pending is not None and pending[0] == position:
                _encode_escape(encoder, cum[k], pending[1])
                pending = next(escapes, None)
            if k < count:
                encoder.encode(starts[k], freqs[k], totals[k])
            position += 1
        if progress:
            progress(count)
    return Encoded(encoder.finish(), ideal)


def _encode_escape(encoder: RangeEncoder, cum: np.ndarray, char: str) -> None:
    escape = len(cum) - 2
    encoder.encode(int(cum[escape]), 1, int(cum[-1]))
    for byte in char.encode("utf-8"):
        encoder.encode_uniform(byte, 256)


def decode_symbols(
    model: Any, data: bytes, count: int, progress: Progress | None = None
) -> tuple[list[int], list[tuple[int, str]]]:
    """The tokens and escaped characters of ``count`` symbols coded by ``encode_symbols``."""
    predictor, decoder = predictor_for(model), RangeDecoder(data)
    escape = model.vocab_size
    tokens: list[int] = []
    escapes: list[tuple[int, str]] = []
    for done in range(count):
        cum = row_cumulative(predictor.next_probs(), extra=1)  # = step_frequencies, one row
        symbol = decode_symbol(decoder, cum)
        if symbol == escape:
            escapes.append((len(tokens), _decode_escape(decoder)))
        else:
            tokens.append(symbol)
            predictor.push(symbol)
        if progress and (done % 1024 == 1023 or done == count - 1):
            progress(done % 1024 + 1)
    return tokens, escapes


def _decode_escape(decoder: RangeDecoder) -> str:
    lead = decoder.decode_uniform(256)
    size = 1 if lead < 0x80 else 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else 4
    if size == 4 and lead >> 3 != 0b11110:
        raise CorruptStreamError("the coded stream is corrupted: an escape holds no UTF-8 character")
    raw = bytes([lead] + [decoder.decode_uniform(256) for _ in range(size - 1)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorruptStreamError("the coded stream is corrupted: an escape holds invalid UTF-8") from error


def decode_text(data: bytes, name: str = "the input") -> str:
    """``data`` as UTF-8, or a ValueError naming the first offending byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name} is not UTF-8 text: byte {error.start} is {data[error.start]:#04x} ({error.reason})"
        ) from error


def compress(
    model: Any, tokenizer: Any, identity: bytes, original: bytes, progress: Progress | None = None
) -> bytes:
    """The compressed file (header + coded stream) of the UTF-8 bytes ``original``."""
    return compress_measured(model, tokenizer, identity, original, progress)[0]


def compress_measured(
    model: Any, tokenizer: Any, identity: bytes, original: bytes, progress: Progress | None = None
) -> tuple[bytes, Encoded]:
    """``compress``'s file and its coded stream with the ideal cost of its tokens."""
    symbols = to_symbols(decode_text(original), tokenizer)
    encoded = encode_symbols(model, symbols, progress)
    header = Header(
        model_identity=identity,
        symbols=symbols.count,
        original_size=len(original),
        original_hash=hashlib.sha256(original).digest(),
        payload_size=len(encoded.payload),
        payload_crc=zlib.crc32(encoded.payload),
        environment=environment(model),
    )
    return header.pack() + encoded.payload, encoded


def decompress(
    model: Any,
    tokenizer: Any,
    identity: bytes,
    data: bytes,
    name: str = "the input",
    progress: Progress | None = None,
) -> bytes:
    """The original bytes of a ``compress`` file; ``CompressedFileError`` if anything does not match."""
    header, payload = unpack(data, name)
    if header.model_identity != identity:
        raise CompressedFileError(
            f"{name} was compressed with another model (identity {header.model_identity.hex()[:16]}..., "
            f"this checkpoint is {identity.hex()[:16]}...): decompress with the same checkpoint"
        )
    mismatch = environment_mismatch(header.environment, environment(model))
    try:
        tokens, escapes = decode_symbols(model, payload, header.symbols, progress)
        original = from_symbols(tokens, escapes, tokenizer).encode("utf-8")
    except CorruptStreamError as error:
        raise CompressedFileError(f"{name}: {error}{mismatch}") from error
    if len(original) != header.original_size or hashlib.sha256(original).digest() != header.original_hash:
        raise CompressedFileError(
            f"{name}: the decoded text fails the original's SHA-256 ({len(original)} bytes, expected "
            f"{header.original_size}){mismatch}"
        )
    return original


def environment_mismatch(recorded: dict, here: dict) -> str:
    """'' or a clause naming the recorded settings that differ here (the likely cause of a failure)."""
    differ = [
        f"{key} {recorded.get(key)!r} there, {here.get(key)!r} here"
        for key in sorted(set(recorded) | set(here))
        if recorded.get(key) != here.get(key)
    ]
    return f"; the file was compressed with different arithmetic: {', '.join(differ)}" if differ else ""
