"""A neural model's weights as a safetensors file (the Hugging Face / PyTorch format), and back.

The file holds every parameter as a named array (the model's own dtype) and, in its JSON header's
``__metadata__`` (string values), what is needed to rebuild the model:

* ``"format": "pt"`` -- the convention that lets PyTorch tools read it;
* ``"layout"`` -- ``"nanogpt"`` (a tied GPT: the names of nanoGPT's ``model.py``, see
  ``zoo.nanogpt_layout``) or ``"zoo"`` (the zoo's own parameter names, every other model);
* ``"config"`` -- JSON: nanoGPT's ``GPTConfig`` fields for the ``nanogpt`` layout, the zoo config
  otherwise;
* ``"zoo"`` -- JSON: the zoo checkpoint's info (model name, config, tokenizer, dataset), which
  ``import_safetensors`` turns back into a zoo checkpoint for ``sample`` and ``eval``.

Loading the export into nanoGPT (``gpt.load_state_dict(safetensors.torch.load_file(path))``) gives
its parameters; ``json.loads(safe_open(path, "np").metadata()["config"])`` its ``GPTConfig``.
``safetensors`` is the optional extra ``interop`` (``pip install -e ".[interop]"``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lm as tg
from zoo.catalog import instantiate, model_spec
from zoo.files import write_atomic
from zoo.nanogpt_layout import from_nanogpt, nanogpt_config, to_nanogpt

LAYOUTS = ("nanogpt", "zoo")


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise RuntimeError(
            "the safetensors format needs the optional package safetensors: pip install -e '.[interop]'"
        ) from None
    return safetensors.numpy


def default_layout(name: str, config: Any) -> str:
    """``"nanogpt"`` for a GPT with tied embeddings (the only kind nanoGPT has), else ``"zoo"``."""
    return "nanogpt" if name == "gpt" and config.tie_weights else "zoo"


def export_safetensors(model: Any, info: dict, path: str | Path, layout: str | None = None) -> str:
    """Write ``model``'s weights and ``info`` (a zoo checkpoint's) to ``path`` atomically; returns the
    layout used."""
    config = model.config
    layout = default_layout(info["model"], config) if layout is None else layout
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "nanogpt" and info["model"] != "gpt":
        raise ValueError(f"the nanogpt layout is for the gpt model, not {info['model']!r}")
    state = {name: np.ascontiguousarray(tg.asnumpy(t.data)) for name, t in model.state_dict().items()}
    if layout == "nanogpt":
        state, config_json = to_nanogpt(state, config), nanogpt_config(config)
    else:
        config_json = asdict(config)
    metadata = {"format": "pt", "layout": layout, "config": json.dumps(config_json), "zoo": json.dumps(info)}
    write_atomic(Path(path), _safetensors_numpy().save(state, metadata=metadata))
    return layout


def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays of ``path`` and its zoo info (``"zoo"`` metadata, with ``"layout"`` added)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"safetensors file not found: {path}")
    safetensors = _safetensors_numpy()
    try:
        arrays = safetensors.load_file(str(path))
        with safe_open(str(path), "np") as f:
            metadata = f.metadata() or {}
    except Exception as error:  # safetensors raises its own SafetensorError for damaged files
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from None
    missing = [key for key in ("layout", "zoo") if key not in metadata]
    if missing:
        raise ValueError(
            f"{path}: its metadata lacks {missing} (found keys {sorted(metadata)}): "
            "it was not written by `python -m zoo export --format safetensors`"
        )
    if metadata["layout"] not in LAYOUTS:
        raise ValueError(f"{path}: unknown layout {metadata['layout']!r}, expected one of {LAYOUTS}")
    return arrays, {**json.loads(metadata["zoo"]), "layout": metadata["layout"]}


def import_safetensors(path: str | Path) -> tuple[Any, dict]:
    """The zoo model rebuilt from an ``export_safetensors`` file, with its checkpoint info."""
    arrays, info = read_safetensors(path)
    layout = info.pop("layout")
    if layout == "nanogpt":
        arrays = from_nanogpt(arrays)
    spec = model_spec(info["model"])
    model = instantiate(spec.name, spec.config_class(**info["config"]))
    model.load_state_dict(arrays)
    return model, info


