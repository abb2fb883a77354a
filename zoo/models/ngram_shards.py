"""Counting the n-gram across MPI ranks: each rank counts its shard, the counts are merged exactly.

**Shards.** Every starting position ``p`` of the text (``0 .. n-1``) belongs to exactly one rank:
rank ``r`` owns ``[r n / N, (r+1) n / N)`` (``shard_bounds``). It counts the m-grams (every
``m <= order``) that *start* at its positions, so it reads ``ids[start : end + order - 1]``: its
positions plus the ``order - 1`` tokens after them (the next rank's first ones; shards overlap by
``order - 1``). An m-gram starts at exactly one position, so across the ranks every m-gram of the text
is counted once: none at a boundary is lost, none counted twice.

**Merge.** A rank's counts of one order are (sorted unique int64 codes, counts); the union of the
ranks' codes with their counts summed by code is ``unique(all codes, return_counts=True)`` of the
whole text: the same arrays (``merge_counts``). ``addk`` merges every order; Kneser-Ney merges the
top order only and derives the continuation counts ``N_1+(. u)`` below from the merged distinct
types, plus one for the text's *first* m-gram (only the global first: ``head`` is ``ids[:order-1]``),
with ``ngram_keys.continuation_counts``, as ``count_ngrams`` does. The tables are then built by
``NGramLM.fit_from_counts`` from the same inputs as ``fit``: the model equals the single-process fit.

Int64 codes only: wide keys name a history by its rank among the whole text's histories, which no
rank knows alone, so ``fit_sharded`` refuses them. Memory per rank: its shard's codes (8 bytes a
token per order counted) and its own counts, then the gathered counts of every rank and the merged
tables (16 bytes per distinct n-gram), which every rank holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lm import get_xp

from .ngram_keys import codes_fit, continuation_counts, ngram_codes

Counts = tuple[Any, Any]  # (sorted unique int64 codes, int64 counts)


def shard_bounds(n: int, order: int, rank: int, world: int) -> tuple[int, int, int]:
    """``(start, end, stop)``: rank ``rank`` of ``world`` owns the starting positions ``[start, end)``
    of a text of ``n`` tokens and reads ``ids[start:stop]``, ``stop = min(n, end + order - 1)``."""
    if not 0 <= rank < world:
        raise ValueError(f"rank must lie in [0, {world}), got {rank}")
    start, end = rank * n // world, (rank + 1) * n // world
    return start, end, min(n, end + order - 1)


def count_shard(shard: Any, owned: int, order: int, vocab_size: int, kneser_ney: bool) -> list[Counts]:
    """This rank's raw counts: of the top order (Kneser-Ney) or of orders 1..order (``addk``), each
    over the m-grams starting at the first ``owned`` positions of ``shard`` that fit in it."""
    xp = get_xp(shard)
    orders = [order] if kneser_ney else range(1, order + 1)
    out = []
    for m in orders:
        codes = ngram_codes(shard[: owned + m - 1], m, vocab_size)
        keys, counts = xp.unique(codes, return_counts=True)
        out.append((keys, counts.astype(xp.int64)))
    return out


def merge_counts(parts: list[Counts]) -> Counts:
    """The ranks' counts of one order -> (sorted unique codes, counts summed by code). A stable
    argsort is timsort, which merges the ranks' sorted runs in about linear time."""
    if len(parts) == 1:
        return parts[0]
    xp = get_xp(parts[0][0])
    keys = xp.concatenate([k for k, _ in parts])
    by_key = xp.argsort(keys, kind="stable")
    keys = keys[by_key]
    counts = xp.concatenate([c for _, c in parts]).astype(xp.int64)[by_key]
    del by_key
    if len(keys) == 0:
        return keys, counts
    is_first = xp.ones(len(keys), dtype=bool)
    is_first[1:] = keys[1:] != keys[:-1]
    starts = xp.flatnonzero(is_first)
    return keys[starts], xp.add.reduceat(counts, starts)


def merge_shards(
    per_rank: list[list[Counts]], head: Any, order: int, vocab_size: int, kneser_ney: bool
) -> list[tuple]:
    """``count_ngrams``'s result (``[(keys, counts, None)]`` for m = 1..order) from every rank's
    ``count_shard``; ``head`` is the text's first ``order - 1`` tokens (its first m-grams)."""
    merged = [merge_counts([rank[i] for rank in per_rank]) for i in range(len(per_rank[0]))]
    if not kneser_ney:
        return [(keys, counts, None) for keys, counts in merged]
    counted = merged
    for m in range(order - 1, 0, -1):
        first_code = ngram_codes(head[:m], m, vocab_size)  # empty when the text is shorter
        counted.append(continuation_counts(counted[-1][0], first_code, m, vocab_size))
    return [(keys, counts, None) for keys, counts in counted[::-1]]


def gather_shard_counts(local: list[Counts]) -> list[list[Counts]]:
    """Every rank's ``count_shard`` result, in rank order, over the process group: the sizes with
    ``all_gather_object``, then one ``all_gather`` of each rank's codes and counts packed (and padded
    to the longest) in one int64 buffer. A collective: every rank calls it."""
    import tinygrad_lm as tg
    from tinygrad_lm import distributed as dist

    sizes = [len(keys) for keys, _ in local]
    all_sizes = dist.all_gather_object(sizes)
    longest = max(2 * sum(s) for s in all_sizes)
    packed = np.zeros(max(longest, 1), dtype=np.int64)
    offset = 0
    for keys, counts in local:
        packed[offset : offset + len(keys)] = keys
        packed[offset + len(keys) : offset + 2 * len(keys)] = counts
        offset += 2 * len(keys)
    mine = tg.as_tensor(packed)
    parts = [tg.zeros_like(mine) for _ in all_sizes]
    dist.all_gather(parts, mine)
    del mine, packed
    out = []  # views of the gathered buffers, no copies
    for rank_sizes, part in zip(all_sizes, parts, strict=True):
        buffer, offset, counts_of_rank = part.data, 0, []
        for size in rank_sizes:
            counts_of_rank.append((buffer[offset : offset + size], buffer[offset + size : offset + 2 * size]))
            offset += 2 * size
        out.append(counts_of_rank)
    return out


def refuse_wide(model: Any, vocab_size: int) -> None:
    """Sharded counting needs int64 codes; wide keys rank histories over the whole text."""
    if model.keys == "wide" or not codes_fit(vocab_size, model.order):
        raise ValueError(
            f"the n-gram of order {model.order} over a vocabulary of {vocab_size} needs wide keys "
            f"({vocab_size}**{model.order} does not fit int64 codes, or keys='wide'), which rank "
            "histories over the whole text: sharded counting cannot build them; fit it in one process "
            "(without mpiexec), or lower the order or the vocabulary"
        )


def fit_sharded(model: Any, train_ids: Any, vocab_size: int, root_only: bool = False) -> Any:
    """Fit ``model`` (an unfitted ``NGramLM``) on ``train_ids`` with the counting split over the
    ranks of the process group: every rank passes the whole ids and gets the same fitted model,
    equal to ``model.fit(train_ids, vocab_size)``; with ``root_only`` rank 0 alone merges and builds
    the tables, the others return None once their counts are sent (less memory and time on them).
    A collective: every rank calls it."""
    from tinygrad_lm import distributed as dist

    refuse_wide(model, vocab_size)
    ids = np.asarray(train_ids, dtype=np.int64)
    if ids.ndim != 1 or (len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size)):
        raise ValueError(f"expected 1-D token ids in [0, {vocab_size}), got shape {ids.shape}")
    kneser_ney = model.smoothing != "addk"
    start, end, stop = shard_bounds(len(ids), model.order, dist.get_rank(), dist.get_world_size())
    local = count_shard(ids[start:stop], end - start, model.order, vocab_size, kneser_ney)
    per_rank = gather_shard_counts(local)
    del local
    if root_only and dist.get_rank() > 0:
        return None
    counted = merge_shards(per_rank, ids[: model.order - 1], model.order, vocab_size, kneser_ney)
    return model.fit_from_counts(counted, vocab_size)
