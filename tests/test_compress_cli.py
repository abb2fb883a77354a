"""``python -m zoo compress`` / ``decompress``: a round trip through files for an n-gram and a neural
checkpoint, and every bad input (wrong checkpoint, damaged, truncated or foreign file, an existing
output, a non-UTF-8 input) as one line on stderr with exit code 2 and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from zoo.cli import main

TINY = "markov:order=1,vocab=4,n_train=3000,n_val=600"
TEXT = "abcabd\nxyz \u00e9\U0001f600 unseen characters too\n" * 20


def zoo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("coders")
    paths = {}
    for name, settings in (
        ("ngram", ["--set", "order=3"]),
        ("ngram2", ["--set", "order=2"]),
        ("gru", ["--set", "d_embed=4", "d_hidden=8", "context_length=8", "batch_size=4", "--budget", "320"]),
    ):
        model = "ngram" if name.startswith("ngram") else name
        out = root / name
        assert (
            main(
                ["train", "--model", model, "--dataset", TINY, *settings, "--no-progress", "--out", str(out)]
            )
            == 0
        )
        paths[name] = str(out / "checkpoint.npz")
    return paths


@pytest.mark.parametrize("name", ["ngram", "gru"])
def test_round_trip_through_files(checkpoints, tmp_path, name):
    source = tmp_path / "in.txt"
    source.write_text(TEXT, encoding="utf-8")
    packed, restored = tmp_path / "in.zlm", tmp_path / "out.txt"
    done = zoo("compress", "--checkpoint", checkpoints[name], str(source), "-o", str(packed))
    assert done.returncode == 0, done.stderr
    assert "bits/char" in done.stdout
    done = zoo("decompress", "--checkpoint", checkpoints[name], str(packed), "-o", str(restored))
    assert done.returncode == 0, done.stderr
    assert restored.read_bytes() == source.read_bytes()


@pytest.fixture
def packed(checkpoints, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text(TEXT, encoding="utf-8")
    assert (
        main(["compress", "--checkpoint", checkpoints["ngram"], str(source), "-o", str(tmp_path / "in.zlm")])
        == 0
    )
    return tmp_path / "in.zlm"


def damaged(path, tmp_path):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10
    (tmp_path / "flipped.zlm").write_bytes(bytes(data))
    return tmp_path / "flipped.zlm"


@pytest.mark.parametrize(
    "case, message",
    [
        ("wrong checkpoint", "another model"),
        ("flipped byte", "corrupted"),
        ("truncated", "truncated"),
        ("foreign", "not a file written by"),
        ("existing output", "already exists"),
    ],
)
def test_bad_files_are_one_line_and_exit_code_2(checkpoints, packed, tmp_path, capsys, case, message):
    checkpoint, source = checkpoints["ngram"], packed
    if case == "wrong checkpoint":
        checkpoint = checkpoints["ngram2"]
    elif case == "flipped byte":
        source = damaged(packed, tmp_path)
    elif case == "truncated":
        source = tmp_path / "short.zlm"
        source.write_bytes(packed.read_bytes()[:-5])
    elif case == "foreign":
        source = tmp_path / "in.txt"
    target = tmp_path / "out.txt"
    if case == "existing output":
        target.write_text("earlier result")
    capsys.readouterr()
    assert main(["decompress", "--checkpoint", checkpoint, str(source), "-o", str(target)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert not target.exists() or target.read_text() == "earlier result"


def test_a_non_utf8_input_is_refused(checkpoints, tmp_path, capsys):
    source = tmp_path / "binary.dat"
    source.write_bytes(b"abc\xff\xfe")
    assert (
        main(["compress", "--checkpoint", checkpoints["ngram"], str(source), "-o", str(tmp_path / "x")]) == 2
    )
    assert "not UTF-8 text: byte 3 is 0xff" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_compare_codes_the_validation_text_beside_the_standard_compressors(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["compare", "--dataset", TINY, "--models", "ngram,rnn", "--quick", "--budget", "640", "--compress"]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["compressors"]) == {"gzip", "bzip2", "xz"}
    characters = results["corpus"]["val_tokens_scored"] + 1
    for model in results["models"]:
        val = model["val"]
        assert val["compressed_bits_per_char"] >= val["coded_cross_entropy_bits_per_char"] - 8 / characters
        assert val["compressed_bits_per_char"] <= val["coded_cross_entropy_bits_per_char"] + 24 / characters
        assert abs(val["coded_cross_entropy_bits_per_char"] - val["bits_per_char"]) < 0.05
    report = (out / "report.md").read_text()
    assert "## Compression" in report and "compressed bits/char" in report
    assert (out / "surprisal.png").is_file() and "surprisal.png" in report
    assert "standard compressors given the training text" in capsys.readouterr().out


def test_eval_draws_the_surprisal_picture(checkpoints, tmp_path, capsys):
    picture = tmp_path / "surprisal.png"
    assert main(["eval", "--checkpoint", checkpoints["ngram"], "--surprisal", str(picture)]) == 0
    assert picture.is_file() and f"wrote {picture}" in capsys.readouterr().out
    assert main(["eval", "--checkpoint", checkpoints["ngram"], "--surprisal", str(picture)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_without_a_checkpoint_any_file_round_trips(tmp_path):
    source = tmp_path / "binary.dat"
    source.write_bytes(bytes(range(256)) * 3 + TEXT.encode())
    packed, restored = tmp_path / "b.zlm", tmp_path / "b.out"
    assert main(["compress", str(source), "-o", str(packed), "--no-progress"]) == 0
    assert main(["decompress", str(packed), "-o", str(restored), "--no-progress"]) == 0
    assert restored.read_bytes() == source.read_bytes()
