"""Sharded n-gram counting (``zoo.models.ngram_shards``) equals the single-process count exactly.

Ranks are simulated in one process (``count_shard`` on each rank's shard, ``merge_shards`` on the
list); one test runs the real thing, ``mpiexec -n 2 ... zoo train --model ngram``, and compares its
checkpoint with the single-process one (skipped without mpiexec).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpi_launch import run_ranks

import tinygrad_lm as tg
from zoo.models.ngram import NGramLM
from zoo.models.ngram_keys import count_ngrams
from zoo.models.ngram_shards import count_shard, merge_shards, refuse_wide, shard_bounds


def sharded_counts(ids, order, vocab, kneser_ney, world):
    per_rank = []
    for rank in range(world):
        start, end, stop = shard_bounds(len(ids), order, rank, world)
        per_rank.append(count_shard(ids[start:stop], end - start, order, vocab, kneser_ney))
    return merge_shards(per_rank, ids[: order - 1], order, vocab, kneser_ney)


def sharded_model(ids, order, vocab, smoothing, world):
    counted = sharded_counts(ids, order, vocab, smoothing != "addk", world)
    return NGramLM(order, smoothing).fit_from_counts(counted, vocab)


def assert_same_model(a, b):
    assert len(a.tables) == len(b.tables)
    for ta, tb in zip(a.tables, b.tables, strict=True):
        for field in ("keys", "counts", "history_keys", "totals", "gamma", "discount_by_count"):
            np.testing.assert_array_equal(getattr(ta, field), getattr(tb, field), err_msg=field)


@pytest.mark.parametrize("rank_world", [(1, 1), (3, 2), (7, 3)])
def test_every_starting_position_belongs_to_exactly_one_rank(rank_world):
    n, world = 50, rank_world[1]
    owners = np.zeros(n, int)
    for rank in range(world):
        start, end, stop = shard_bounds(n, 4, rank, world)
        owners[start:end] += 1
        assert stop == min(n, end + 3)
    assert (owners == 1).all()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 120),
    vocab=st.integers(1, 6),
    order=st.integers(1, 8),
    world=st.integers(1, 9),
    smoothing=st.sampled_from(["addk", "kn", "mkn"]),
    seed=st.integers(0, 2**16),
)
def test_sharded_counts_and_model_equal_one_process_with_boundaries_anywhere(
    n, vocab, order, world, smoothing, seed
):
    ids = np.random.default_rng(seed).integers(0, vocab, n).astype(np.int64)
    kneser_ney = smoothing != "addk"
    expected = count_ngrams(ids, order, vocab, kneser_ney, wide=False)
    got = sharded_counts(ids, order, vocab, kneser_ney, world)
    for m, ((ek, ec, _), (gk, gc, _)) in enumerate(zip(expected, got, strict=True), start=1):
        np.testing.assert_array_equal(gk, ek, err_msg=f"keys of order {m}")
        np.testing.assert_array_equal(gc, ec, err_msg=f"counts of order {m}")
    one = NGramLM(order, smoothing).fit(ids, vocab)
    many = sharded_model(ids, order, vocab, smoothing, world)
    assert_same_model(many, one)
    probe = np.random.default_rng(seed + 1).integers(0, vocab, 30).astype(np.int64)
    np.testing.assert_array_equal(many.score(probe), one.score(probe))


@pytest.mark.parametrize("order", range(1, 9))
@pytest.mark.parametrize("smoothing", ["addk", "kn", "mkn"])
def test_a_markov_text_on_two_and_five_ranks_gives_the_one_process_model(order, smoothing):
    rng = np.random.default_rng(order)
    ids = np.cumsum(rng.integers(0, 3, 3000)) % 11  # a repetitive walk: many repeated n-grams
    one = NGramLM(order, smoothing).fit(ids, 11)
    for world in (2, 5):
        assert_same_model(sharded_model(ids, order, 11, smoothing, world), one)


def test_wide_keys_are_refused_with_the_vocabulary_and_the_order():
    with pytest.raises(ValueError, match=r"order 8 over a vocabulary of 5000 .* fit it in one process"):
        refuse_wide(NGramLM(8), 5000)
    with pytest.raises(ValueError, match="keys='wide'"):
        refuse_wide(NGramLM(2, keys="wide"), 65)
    refuse_wide(NGramLM(8), 65)  # codes fit: no error


def test_two_ranks_fit_the_zoo_ngram_whose_checkpoint_equals_one_process(tmp_path, capsys):
    command = ["train", "--model", "ngram", "--quick", "--no-progress", "--set", "order=5"]
    done = run_ranks(["-m", "zoo", *command, "--out", str(tmp_path / "two")], timeout=240)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "counting the n-gram on 2 ranks" in done.stdout
    from zoo.cli import main

    assert main([*command, "--out", str(tmp_path / "one")]) == 0
    two, one = (tg.load(tmp_path / name / "checkpoint.npz") for name in ("two", "one"))
    assert two["ngram"]["order"] == one["ngram"]["order"] == 5
    for name in ("keys", "counts"):
        assert len(two["ngram"][name]) == len(one["ngram"][name]) == 5
        for a, b in zip(two["ngram"][name], one["ngram"][name], strict=True):
            np.testing.assert_array_equal(tg.asnumpy(a), tg.asnumpy(b))
    printed = {}
    for name in ("two", "one"):  # a single-process eval and sample of each give the same lines
        checkpoint = str(tmp_path / name / "checkpoint.npz")
        capsys.readouterr()
        assert main(["eval", "--checkpoint", checkpoint, "--val-tokens", "2000"]) == 0
        assert main(["sample", "--checkpoint", checkpoint, "--tokens", "40", "--seed", "3"]) == 0
        printed[name] = capsys.readouterr().out.replace(checkpoint, "CHECKPOINT")
    assert printed["two"] == printed["one"] and "nats" in printed["one"]


def test_on_two_real_ranks_every_rank_gets_the_one_process_model(tmp_path):
    from mpi_launch import run_script

    out = run_script(
        tmp_path,
        """
        import numpy as np
        from tinygrad_lm import distributed as dist
        from zoo.models.ngram import NGramLM
        from zoo.models.ngram_shards import fit_sharded

        dist.init_process_group("mpi")
        rng = np.random.default_rng(5)
        # the second half more varied: the ranks send counts of different lengths (padding)
        ids = np.concatenate([rng.integers(0, 3, 2001), rng.integers(0, 9, 1500)])
        for smoothing in ("addk", "kn", "mkn"):
            for order in (1, 4, 8):
                one = NGramLM(order, smoothing).fit(ids, 9)
                many = fit_sharded(NGramLM(order, smoothing), ids, 9)
                for a, b in zip(many.tables, one.tables, strict=True):
                    for field in ("keys", "counts", "history_keys", "totals", "gamma"):
                        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
                np.testing.assert_array_equal(many.score(ids[:300]), one.score(ids[:300]))
            rest = fit_sharded(NGramLM(5, smoothing), ids, 9, root_only=True)
            assert (rest is None) == (dist.get_rank() > 0)
        print("rank", dist.get_rank(), "equal")
        """,
    )
    assert out.count("equal") == 2
