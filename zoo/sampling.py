"""Next-token sampling shared by every language model of the zoo (n-gram and neural).

A model hands over one row of scores per sequence, ``(B, V)``: logits or log-probabilities (the two
give the same distribution, since the softmax ignores a per-row constant). ``sample_next`` turns
them into one token per row:

1. ``p = softmax(scores / temperature)``; ``temperature == 0`` means greedy decoding (``argmax``,
   the first maximum on ties), and then ``top_k``/``top_p`` do not matter;
2. top-k: keep the tokens whose probability is at least the k-th largest (ties with the k-th are
   kept, as in nanoGPT/Hugging Face, so the kept set can exceed k only through exact ties);
3. top-p (nucleus): of what is left, keep the smallest head of the descending order whose mass
   reaches ``top_p`` of the kept mass (the most probable token is always kept; ties with the last
   kept probability are kept too);
4. renormalise and draw by inverse CDF with one uniform ``u`` in [0, 1) per row: the token is the
   first ``j`` with ``cdf[j] > u * cdf[-1]``. Since ``u < 1`` such a ``j`` exists, and since
   ``cdf[j] > u * cdf[-1] >= cdf[j-1]`` the drawn token has ``p[j] > 0``: a token that the filters
   removed (or that has probability exactly 0) is never drawn, whatever the rounding.

Runs on NumPy or CuPy arrays alike (``xp = get_xp(scores)``); the uniforms come from a
``tinygrad_lm.Generator`` (default: ``tinygrad_lm.default_generator``), so a seeded
generator reproduces the same tokens on every device.

On top of it, ``sample_text`` continues a text prompt through a model's ``generate`` and a tokenizer
(``python -m zoo sample``); ``sample_settings`` and ``SAMPLE_*`` fix the sample each report shows: the
first ``PROMPT_CHARS`` validation characters continued by ``SAMPLE_CHARS`` at ``SAMPLE_TEMPERATURE``.
"""

from __future__ import annotations

from typing import Any

import tinygrad_lm as tg
from tinygrad_lm import Generator, device_of, get_xp

SAMPLE_CHARS, SAMPLE_TEMPERATURE, PROMPT_CHARS = 200, 0.8, 16


def sample_next(
    scores: Any,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: Generator | None = None,
) -> Any:
    """Draw one token per row of ``scores`` (``(B, V)`` logits or log-probs) -> ``(B,)`` int64.

    The result lives on the device of ``scores`` (NumPy in, NumPy out). Entries of ``-inf`` are
    tokens of probability 0 and are never drawn; each row needs at least one finite entry.
    """
    _check_arguments(temperature, top_k, top_p)
    xp = get_xp(scores)
    scores = xp.asarray(scores, dtype=xp.float64)
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(f"scores must have shape (B, V) with V >= 1, got {scores.shape}")
    row_max = scores.max(axis=1, keepdims=True)
    if not bool(xp.all(xp.isfinite(row_max))):
        raise ValueError("every row of scores needs a finite maximum (no NaN, not all -inf)")
    if temperature == 0:
        return xp.argmax(scores, axis=1).astype(xp.int64)
    probs = xp.exp((scores - row_max) / temperature)  # softmax numerator; max entry = 1
    if top_k is not None:
        probs = keep_top_k(probs, top_k)
    if top_p is not None:
        probs = keep_top_p(probs, top_p)
    generator = tg.default_generator if generator is None else generator
    uniforms = generator.uniform((scores.shape[0], 1), xp.float64, device_of(scores))
    return inverse_cdf(probs, uniforms)


def keep_top_k(probs: Any, k: int) -> Any:
    """Zero every entry of ``probs`` (B, V) below the row's k-th largest value (ties kept)."""
    xp = get_xp(probs)
    if k >= probs.shape[1]:
        return probs
    kth_largest = xp.sort(probs, axis=1)[:, -int(k)][:, None]
    return xp.where(probs >= kth_largest, probs, 0.0)


def keep_top_p(probs: Any, p: float) -> Any:
    """Nucleus filter of unnormalised ``probs`` (B, V): keep the smallest most-probable head whose
    mass is >= ``p`` times the row total; zero the rest (ties with the smallest kept value kept)."""
    xp = get_xp(probs)
    descending = xp.sort(probs, axis=1)[:, ::-1]
    cumulative = xp.cumsum(descending, axis=1)
    mass_before = xp.concatenate([xp.zeros_like(cumulative[:, :1]), cumulative[:, :-1]], axis=1)
    total = cumulative[:, -1:]
    kept_count = xp.maximum((mass_before < p * total).sum(axis=1), 1)  # the top token always stays
    threshold = xp.take_along_axis(descending, (kept_count - 1)[:, None], axis=1)
    return xp.where(probs >= threshold, probs, 0.0)


def inverse_cdf(probs: Any, uniforms: Any) -> Any:
    """Token ``j`` per row of unnormalised ``probs`` (B, V) with ``cdf[j-1] <= u * total < cdf[j]``,
    ``uniforms`` (B, 1) in [0, 1). Returns (B,) int64."""
    xp = get_xp(probs)
    cdf = xp.cumsum(probs, axis=1)  # non-decreasing, also in floating point
    target = uniforms * cdf[:, -1:]
    return (cdf <= target).sum(axis=1).astype(xp.int64)


def _check_arguments(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not temperature >= 0:  # also rejects NaN
        raise ValueError(f"temperature must be >= 0 (0 means argmax), got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 or None, got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1] or None, got {top_p}")


def sample_text(model: Any, tokenizer: Any, prompt: str, n_chars: int, seed: int, **sampling: Any) -> str:
    """``n_chars`` characters generated after ``prompt`` with a generator seeded by ``seed``; ``sampling``
    goes to ``model.generate`` (temperature, top_k, top_p)."""
    ids = tokenizer.encode(prompt)[None, :]
    out = model.generate(ids, n_chars, generator=tg.Generator(seed), **sampling)
    return tokenizer.decode(out[0, ids.shape[1] :])


def sample_settings(data: Any, seed: int) -> dict:
    """The prompt of every report's sample (the start of ``data``'s validation text) and how samples
    are drawn."""
    prompt = data.corpus.val[:PROMPT_CHARS]
    return {
        "prompt": prompt,
        "sampling": f"{SAMPLE_CHARS} characters, temperature {SAMPLE_TEMPERATURE}, seed {seed}",
    }


def report_sample(model: Any, data: Any, seed: int) -> str:
    """What ``model`` writes after the prompt of ``sample_settings`` (the sample a report shows)."""
    prompt = sample_settings(data, seed)["prompt"]
    return sample_text(model, data.tokenizer, prompt, SAMPLE_CHARS, seed, temperature=SAMPLE_TEMPERATURE)
