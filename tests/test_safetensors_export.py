"""``python -m zoo export/import --format safetensors``: nanoGPT's names and layout (checked by loading
the export into the PyTorch nanoGPT of benchmarks/torch_gpt.py), exact round trips, refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import tinygrad_lm as tg
from zoo.checkpoints import load_checkpoint
from zoo.cli import main

safetensors_numpy = pytest.importorskip("safetensors.numpy")

TINY = "markov:order=1,vocab=4,n_train=3000,n_val=600"
GPT_SETTINGS = ("context_length=16", "n_layers=2", "n_heads=2", "d_model=24", "gelu=none")


def _train(out, model: str, *settings: str) -> str:
    args = ["train", "--model", model, "--dataset", TINY, "--steps", "3", "--out", str(out)]
    assert main([*args, "--set", *settings] if settings else args) == 0
    return str(out / "checkpoint.npz")


@pytest.fixture(scope="module")
def gpt_checkpoint(tmp_path_factory) -> str:
    return _train(tmp_path_factory.mktemp("gpt"), "gpt", *GPT_SETTINGS)


@pytest.fixture(scope="module")
def gpt_export(gpt_checkpoint, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("export") / "gpt.safetensors"
    assert main(["export", "--checkpoint", gpt_checkpoint, "--format", "safetensors", "-o", str(path)]) == 0
    return str(path)


def _nanogpt_names(n_layers: int) -> set[str]:
    """The keys of nanoGPT's ``GPT(GPTConfig(bias=True)).state_dict()`` (model.py, torch >= 2)."""
    per_block = [
        "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
        "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
        "mlp.c_proj.weight", "mlp.c_proj.bias",
    ]  # fmt: skip
    blocks = {f"transformer.h.{i}.{name}" for i in range(n_layers) for name in per_block}
    ends = {"transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight"}
    return blocks | ends | {"transformer.ln_f.bias", "lm_head.weight"}


def test_export_has_nanogpts_names_shapes_and_config(gpt_export) -> None:
    from safetensors import safe_open

    arrays = safetensors_numpy.load_file(gpt_export)
    assert set(arrays) == _nanogpt_names(2)
    c = 24
    assert arrays["transformer.h.0.attn.c_attn.weight"].shape == (3 * c, c)  # nn.Linear: (out, in)
    assert arrays["transformer.h.1.mlp.c_fc.weight"].shape == (4 * c, c)
    assert arrays["transformer.h.1.mlp.c_proj.weight"].shape == (c, 4 * c)
    assert np.array_equal(arrays["lm_head.weight"], arrays["transformer.wte.weight"])
    assert all(a.dtype == np.float32 for a in arrays.values())
    with safe_open(gpt_export, "np") as f:
        metadata = f.metadata()
    assert metadata["layout"] == "nanogpt" and metadata["format"] == "pt"
    config = json.loads(metadata["config"])
    assert config == {"block_size": 16, "vocab_size": 4, "n_layer": 2, "n_head": 2, "n_embd": 24,
                      "dropout": 0.0, "bias": True}  # fmt: skip


def _torch_gpt_names(name: str) -> str:
    """nanoGPT's names -> those of benchmarks/torch_gpt.py (same modules, flatter names)."""
    name = name.replace("transformer.h.", "blocks.").replace("transformer.", "")
    name = re.sub(r"attn\.c_proj", "attn_c_proj", name)
    return name.replace("attn.c_attn", "c_attn").replace("mlp.", "")


def test_the_pytorch_nanogpt_loaded_from_the_export_gives_the_zoo_logits(gpt_checkpoint, gpt_export) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    from benchmarks.torch_gpt import nanogpt_model

    state = load_file(gpt_export)
    assert torch.equal(state.pop("lm_head.weight"), state["transformer.wte.weight"])  # tied
    reference = nanogpt_model(torch, vocab_size=4, context_length=16, n_layers=2, n_heads=2, d_model=24,
                              bias=True, gelu="none")  # fmt: skip
    reference.load_state_dict({_torch_gpt_names(k): v for k, v in state.items()}, strict=True)
    reference.eval()
    model = load_checkpoint(gpt_checkpoint).model
    model.eval()
    idx = np.random.default_rng(0).integers(0, 4, size=(3, 16))
    with torch.no_grad():
        expected = reference(torch.as_tensor(idx)).numpy()
    with tg.no_grad():
        got = model.logits(tg.as_tensor(idx)).numpy()
    assert got.dtype == np.float32 and expected.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model", ["gpt", "mlp", "gru"])
def test_export_then_import_gives_identical_arrays(model, gpt_checkpoint, tmp_path) -> None:
    checkpoint = gpt_checkpoint if model == "gpt" else _train(tmp_path / model, model)
    exported, imported = tmp_path / "model.safetensors", tmp_path / "imported.npz"
    assert main(["export", "--checkpoint", checkpoint, "--format", "safetensors", "-o", str(exported)]) == 0
    assert main(["import", "--format", "safetensors", str(exported), "-o", str(imported)]) == 0
    original, back = load_checkpoint(checkpoint), load_checkpoint(imported)
    assert back.tokenizer.chars == original.tokenizer.chars and back.info["model"] == model
    before, after = original.model.state_dict(), back.model.state_dict()
    assert list(after) == list(before)
    for name in before:
        a, b = before[name].numpy(), after[name].numpy()
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert main(["eval", "--checkpoint", str(imported)]) == 0  # the imported checkpoint is usable


def test_an_imported_checkpoint_has_no_training_to_resume(gpt_export, tmp_path, capsys) -> None:
    checkpoint = str(tmp_path / "checkpoint.npz")
    assert main(["import", "--format", "safetensors", gpt_export, "-o", checkpoint]) == 0
    assert main(["train", "--out", str(tmp_path), "--resume"]) == 2
    assert "weights from `python -m zoo import`" in capsys.readouterr().err


def test_export_never_replaces_a_file_without_force(gpt_checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "taken.safetensors"
    out.write_bytes(b"earlier result")
    args = ["export", "--checkpoint", gpt_checkpoint, "--format", "safetensors", "-o", str(out)]
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err and out.read_bytes() == b"earlier result"
    assert main([*args, "--force"]) == 0 and out.read_bytes() != b"earlier result"


def test_untied_gpt_has_no_nanogpt_layout_and_exports_with_zoo_names(tmp_path, capsys) -> None:
    checkpoint = _train(tmp_path / "untied", "gpt", *GPT_SETTINGS, "tie_weights=false")
    out = str(tmp_path / "untied.safetensors")
    args = ["export", "--checkpoint", checkpoint, "--format", "safetensors", "-o", out]
    assert main([*args, "--layout", "nanogpt"]) == 2
    assert "tie_weights=False has no nanoGPT layout" in capsys.readouterr().err
    assert main(args) == 0
    assert "zoo layout" in capsys.readouterr().out
    assert "blocks.0.attn.qkv.weight" in safetensors_numpy.load_file(out)


def test_import_rejects_files_it_cannot_rebuild(tmp_path, capsys) -> None:
    foreign = tmp_path / "foreign.safetensors"
    safetensors_numpy.save_file({"w": np.zeros(2, np.float32)}, str(foreign))
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    for path, message in ((foreign, "not written by `python -m zoo export"), (damaged, "not a readable")):
        assert main(["import", "--format", "safetensors", str(path), "-o", str(tmp_path / "x.npz")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_export_refuses_the_wrong_format_for_the_model(tmp_path, capsys) -> None:
    ngram = tmp_path / "ngram"
    train = ["train", "--model", "ngram", "--dataset", TINY, "--set", "order=2", "--out", str(ngram)]
    assert main(train) == 0
    args = ["export", "--checkpoint", str(ngram / "checkpoint.npz"), "--format", "safetensors"]
    assert main([*args, "-o", str(tmp_path / "n.safetensors")]) == 2
    assert "for neural models" in capsys.readouterr().err
