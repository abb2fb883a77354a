"""The benchmark scripts run and print one JSON line (tiny settings, no timings asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_lm as tg

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"
# this checkout's library first, not whichever one the environment has installed
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(BENCHMARKS.parent), os.environ.get("PYTHONPATH", "")]),
}
no_gpu = pytest.mark.skipif(tg.cuda.is_available(), reason="checks the message given without a GPU")


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(BENCHMARKS / script), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=ENV)


def run_benchmark(script: str, *args: str) -> dict:
    done = run_script(script, *args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


def test_bench_gpt_reports_step_forward_and_memory():
    record = run_benchmark("bench_gpt.py", "--rounds", "1", "--warmup", "0")
    assert record["train_step"]["ours_ms"] > 0 and record["forward_no_grad"]["ours_ms"] > 0
    assert record["memory"]["ours"]["peak_mib"] >= record["memory"]["ours"]["growth_mib"] > 0
    assert {"blas", "numpy", "python", "thread_env"} <= record.keys()


def test_bench_gpt_profiles_our_step_and_pytorchs():
    record = run_benchmark("bench_gpt.py", "--profile", "--rounds", "1")
    assert record["function_apply_per_step"] > 0 and len(record["own_ms_per_step"]) == 12
    pytest.importorskip("torch")
    record = run_benchmark("bench_gpt.py", "--profile-torch", "--rounds", "1")
    assert "aten::mm" in record["self_ms_per_step"] and record["profiled_ms_per_step"] > 0


def test_bench_lstm_reports_a_step():
    record = run_benchmark("bench_lstm.py", "--rounds", "1", "--warmup", "0")
    assert record["train_step"]["ours_ms"] > 0 and record["target_ratio"] == 1.5


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason="needs ../shared/data/tinyshakespeare.txt")
def test_bench_ngram_reports_times_and_figures():
    record = run_benchmark("bench_ngram.py", "--path", str(SHAKESPEARE), "--orders", "3", "--repeats", "1")
    assert 0 < record["fit_plus_score_s_mkn8"] and set(record["val_nats_per_char"]) == {"3"}
    assert record["val_nats_per_char"]["3"] == pytest.approx(2.0381, abs=1e-3)


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason="needs ../shared/data/tinyshakespeare.txt")
def test_bench_ngram_fits_word_tokens_with_wide_keys_and_reports_bits_per_char():
    args = ("--path", str(SHAKESPEARE), "--tokenizer", "word", "--orders", "5", "--timed-order", "5")
    record = run_benchmark("bench_ngram.py", *args, "--repeats", "1")
    assert record["vocab_size"] > 7000 and record["val_chars"] == 111_540
    assert 0 < record["fit_s"] + record["score_s"] < 5.0  # the target: order 3-5 in 5 s
    assert record["val_bits_per_char"]["5"] == pytest.approx(2.2811, abs=1e-3)


def test_bench_compress_round_trips_at_the_cross_entropy():
    record = run_benchmark("bench_compress.py", "--data-path", str(SHAKESPEARE), "--val-chars", "3000")
    ngram = record["ngram"]
    assert ngram["characters"] == 3000 and ngram["round_trip"] and ngram["within_0.5%+64B"]
    assert abs(ngram["excess_bytes"]) < 3 and set(record["baselines_given_train"]) == {"gzip", "bzip2", "xz"}
    assert ngram["bits_per_char"] < min(record["baselines_given_train"].values())


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason="needs ../shared/data/tinyshakespeare.txt")
def test_gpt_curve_against_a_checkout_of_the_same_code_is_identical():
    root = str(BENCHMARKS.parent)
    record = run_benchmark("gpt_curve.py", "--path", str(SHAKESPEARE), "--steps", "2", "--against", root)
    assert len(record["losses"]) == 2 and record["losses"][0] > record["losses"][1] > 0
    assert record["max_relative_difference"] == 0.0


def test_bench_kernels_reports_each_measurement():
    record = run_benchmark("bench_kernels.py", "--repeats", "3")
    assert (
        record["row_sums_layer_norm"]["product_us"] > 0
        and record["thread_handoff"]["no_op_round_trip_us"] > 0
    )
    assert {"attention_scores", "column_broadcast", "exp_one_thread", "recurrent_product"} <= record.keys()


def test_bench_gpt_gpu_preset_builds_nanogpts_gpu_sizes():
    record = run_benchmark("bench_gpt.py", "--preset", "nanogpt-gpu", "--device", "cuda", "--dry-run")
    sizes = {k: record[k] for k in ("n_layers", "n_heads", "d_model", "context_length", "batch", "dropout")}
    assert sizes == {
        "n_layers": 6,
        "n_heads": 6,
        "d_model": 384,
        "context_length": 256,
        "batch": 64,
        "dropout": 0.2,
    }
    assert record["lr"] == 1e-3 and record["optimizer"] == "AdamW" and record["device"] == "cuda"
    assert record["parameters"] == 10_745_088  # nanoGPT's 10.65M, plus the 256 x 384 position embedding
    if "torch_parameters" in record:
        assert record["torch_parameters"] == record["parameters"]


@no_gpu
def test_bench_gpt_on_cuda_without_a_gpu_fails_with_one_line():
    done = run_script("bench_gpt.py", "--device", "cuda", "--preset", "nanogpt-gpu", "--rounds", "1")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "needs CuPy and an NVIDIA GPU" in done.stderr


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason="needs ../shared/data/tinyshakespeare.txt")
def test_bench_gpt_reads_batches_from_a_text():
    record = run_benchmark(
        "bench_gpt.py", "--path", str(SHAKESPEARE), "--rounds", "1", "--warmup", "0", "--no-memory"
    )
    assert record["data"] == "text" and record["vocab_size"] == 65 and record["train_step"]["ours_ms"] > 0


def test_device_parity_of_the_cpu_with_itself_is_exact():
    record = run_benchmark("device_parity.py", "--device", "cpu", "--steps", "2")
    assert record["passed"] and record["max_relative_difference"] == 0.0
    assert len(record["gpt"]["cpu_losses"]) == len(record["lstm"]["device_losses"]) == 2


@no_gpu
def test_device_parity_without_a_gpu_says_so_and_exits_cleanly():
    record = run_benchmark("device_parity.py", "--device", "cuda")
    assert record["skipped"].startswith("no CUDA device")
    assert run_script("device_parity.py", "--device", "cuda", "--require-device").returncode == 2


def test_bench_distributed_reports_allreduce_and_the_data_parallel_step():
    pytest.importorskip("mpi4py", reason="the distributed extra is not installed")
    record = run_benchmark(
        "bench_distributed.py", "--rounds", "1", "--steps", "1", "--warmup", "0", "--repeats", "1"
    )
    assert list(record["allreduce_2_ranks"]) == ["1MiB", "4MiB", "16MiB", "64MiB"]
    assert all(size["busbw_GBps"] > 0 for size in record["allreduce_2_ranks"].values())
    step = record["gpt_step"]
    assert step["ratio"] > 0 and 0 < step["allreduce_share"] < 1


def test_bench_engine_ab_compares_two_checkouts_in_one_process():
    record = run_benchmark("bench_engine_ab.py", "--against", str(BENCHMARKS.parent), "--rounds", "2")
    assert record["chain_300_ops"]["ratio"] > 0 and record["mlp_step"]["against_ms"] > 0


def test_bench_ngram_shards_reports_time_and_memory_per_rank_and_identical_tables():
    pytest.importorskip("mpi4py", reason="the distributed extra is not installed")
    record = run_benchmark("bench_ngram_shards.py", "--tokens", "200000", "--order", "5")
    if "skipped" in record:
        pytest.skip(record["skipped"])
    assert record["identical"] is True
    assert len(record["2_ranks"]["peak_gib_per_rank"]) == 2
    assert all(run["fit_seconds"] > 0 for name, run in record.items() if name.endswith(("ranks", "process")))
