"""The pictures of a run folder (matplotlib, Agg backend): ``curves.png``, ``bits_per_char.png``,
``attention.png`` and ``surprisal.png`` (what each shows: ``zoo.report``'s docstring)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def model_label(m: dict) -> str:
    """A model's name, with its tokenizer unless it reads characters: ``gpt [bpe:512]``."""
    tokenizer = m.get("tokenizer", "char")
    return m["name"] if tokenizer == "char" else f"{m['name']} [{tokenizer}]"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(results: dict, path: Path) -> None:
    """Validation loss vs training seconds (left) and vs tokens (right), all models on one figure."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    floor = results["corpus"]["entropy_rate"]
    for m in results["models"]:
        for ax, x in zip(axes, ("seconds", "tokens"), strict=True):
            if m.get("orders"):
                ax.axhline(
                    m["val"]["nats_per_token"],
                    color="gray",
                    lw=1.5,
                    label=f"n-gram (order {m['config']['order']})",
                )
            elif m["curve"]:
                ax.plot(
                    [p[x] for p in m["curve"]],
                    [p["val"] for p in m["curve"]],
                    marker="o",
                    ms=3,
                    label=model_label(m),
                )
    for ax, xlabel in zip(axes, ("training seconds", "training tokens"), strict=True):
        if floor is not None:
            ax.axhline(floor, color="black", ls="--", lw=1, label="entropy floor")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation nats / token")
    axes[1].legend(fontsize=8)
    prefixes = {m["training"]["eval_tokens"] for m in results["models"] if m.get("training")}
    scored = results["corpus"]["val_tokens_scored"]
    prefix = (
        f" (curves on the first {min(prefixes):,} validation tokens)"
        if prefixes and min(prefixes) < scored
        else ""
    )
    fig.suptitle(f"{results['corpus']['name']}: validation loss during training{prefix}")
    _save(fig, path)


def plot_bits_per_char(results: dict, path: Path) -> None:
    """A bar per model: final validation bits per character (the entropy floor dashed, when known)."""
    plt = _pyplot()
    models = results["models"]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(models) + 1.5))
    names = [model_label(m) for m in models][::-1]
    values = [m["val"]["bits_per_char"] for m in models][::-1]
    bars = ax.barh(names, values, color="tab:blue")
    ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    if results["corpus"]["entropy_rate"] is not None:
        ax.axvline(
            results["corpus"]["entropy_rate"] / math.log(2), color="black", ls="--", label="entropy floor"
        )
        ax.legend(fontsize=8)
    ax.set_xlabel("validation bits per character")
    ax.set_xlim(0, max(values) * 1.15)
    _save(fig, path)


def tick_label(char: str) -> str:
    """A character as a tick label: visible symbols for the newline and space, mathtext-safe ``$``."""
    return {"\n": "⏎", " ": "␣", "$": r"\$"}.get(char, char if char.isprintable() else "?")


def plot_attention(maps: list, text: str | list[str], path: Path) -> None:
    """One panel per (layer, head): attention weights (T, T), the snippet's tokens as tick labels
    (keys along the bottom row, queries down the left column)."""
    plt = _pyplot()
    layers, heads = len(maps), maps[0].shape[0]
    labels, ticks = [tick_label(c) for c in text], range(len(text))
    width, height = 0.6 + 3 * heads, 0.9 + 3 * layers
    fig, axes = plt.subplots(layers, heads, figsize=(width, height), squeeze=False)
    for layer, row in enumerate(axes):
        for head, ax in enumerate(row):
            ax.imshow(maps[layer][head], cmap="viridis", vmin=0.0, vmax=1.0)
            ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=8)
            ax.set_xticks(ticks, labels if layer == layers - 1 else [], fontsize=5)
            ax.set_yticks(ticks, labels if head == 0 else [], fontsize=5)
            ax.tick_params(length=0, pad=1)
    fig.supxlabel("key: the character attended to", fontsize=9)
    fig.supylabel("query: the position predicting the next character", fontsize=9)
    margins = {"left": 0.6 / width, "right": 1 - 0.1 / width, "bottom": 0.6 / height, "top": 1 - 0.3 / height}
    fig.subplots_adjust(**margins, wspace=0.1, hspace=0.25)
    with warnings.catch_warnings():  # characters the font lacks are drawn as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        _save(fig, path, tight=False)


def plot_surprisal(text: str, rows: dict[str, list[float]], path: Path, max_bits: float = 12.0) -> None:
    """One line of ``text`` per model, each character on a cell shaded by its surprisal -log2 p in
    bits (``zoo.surprisal``; NaN, a character the model cannot see, at the darkest shade)."""
    plt = _pyplot()
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(0.14 * len(text) + 2.5, 0.55 * len(rows) + 1.1), squeeze=False
    )
    for ax, (name, bits) in zip(axes[:, 0], rows.items(), strict=True):
        values = np.array(bits, dtype=np.float64)
        image = ax.imshow(
            np.nan_to_num(values, nan=max_bits)[None], cmap="Reds", vmin=0, vmax=max_bits, aspect="auto"
        )
        for k, char in enumerate(text):
            color = "white" if np.nan_to_num(values[k], nan=max_bits) > 0.6 * max_bits else "black"
            ax.text(k, 0, tick_label(char), ha="center", va="center", fontsize=7, color=color)
        ax.set_yticks([0], [f"{name}\n{np.nanmean(values):.2f} bits/char"], fontsize=7)
        ax.set_xticks([])
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="-log2 p (bits)", fraction=0.02, pad=0.01)
    fig.suptitle("surprisal of each validation character under each model", fontsize=9)
    with warnings.catch_warnings():  # characters the font lacks are drawn as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        _save(fig, path, tight=False)


def _save(fig: Any, path: Path, tight: bool = True) -> None:
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
