"""Results of a run: the leaderboard table, ``results.json``, ``report.md`` and the pictures.

Pictures (matplotlib, Agg backend, written next to the report):

* ``curves.png``: validation nats/token against training seconds and against tokens seen, every
  neural model on the same axes; the n-gram as a horizontal line, the entropy floor (synthetic
  corpora) as a dashed line;
* ``bits_per_char.png``: the final validation bits per character of every model;
* ``surprisal.png``: a validation snippet once per model, each character shaded by its surprisal
  -log2 p under that model (``zoo.surprisal``);
* ``attention.png``: the GPT's attention weights softmax(q k^T / sqrt(d)) of every layer and head on
  a validation snippet, row = query character, column = the key characters it attends to.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HEADERS = (
    "model",
    "params",
    "steps",
    "tokens",
    "train s",
    "tokens/s",
    "val nats/tok",
    "bits/char",
    "compressed bits/char",
    "ppl",
)
COMPRESSION_GAP = (
    "The compressed bits/char are the validation text actually coded with each model (an arithmetic "
    "coder, `python -m zoo compress`), without the file's fixed header. They exceed the cross-entropy "
    "only by the quantisation of each distribution to integers (under 6e-6 bits per character), the "
    "coder's termination (at most 2 bytes) and 8 bits per byte of characters the model does not know; "
    "the rest of the difference is what is scored: the coder also codes the first character, without "
    "context, and a neural model's coder restarts its window on its last half when full, where the "
    "evaluation uses overlapping windows."
)


def printable(text: str) -> str:
    """``text`` with every non-printable character but the newline escaped (``\\t``, ``\\x00``)."""
    return "".join(c if c == "\n" or c.isprintable() else ascii(c)[1:-1] for c in text)


# --------------------------------------------------------------------------------- the results
def versions() -> dict:
    """Python, NumPy and tinygrad_lm versions (and CuPy's when installed)."""
    import numpy

    import tinygrad_lm

    found = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "tinygrad_lm": tinygrad_lm.__version__,
    }
    try:
        import cupy

        found["cupy"] = cupy.__version__
    except ImportError:
        pass
    return found


def make_results(title: str, argv: list[str], data: Any, models: list, budget: Any, **settings: Any) -> dict:
    """The JSON document of a run: ``settings`` (seed, device, quick, prompt, sampling, ...), the
    corpus (``data.describe()``), the budget, and each model's row (``ModelResult.to_json()``)."""
    return {
        "title": title,
        "command": shlex.join(["python", "-m", "zoo", *argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        **settings,
        "corpus": data.describe(),
        "budget": {
            "description": budget.describe(),
            "seconds": budget.seconds,
            "tokens": budget.tokens,
            "steps": budget.steps,
        },
        "models": [m.to_json() for m in models],
    }


def attention_snippet(model: Any, data: Any, length: int = 32) -> dict:
    """The GPT's attention weights on ~32 validation characters of ``data`` (a ``zoo.datasets.Dataset``):
    ``{"text", "maps"}``, maps being one (heads, T, T) array per layer (for ``attention.png``)."""
    text = data.corpus.val[: min(length, model.context_length)]
    maps = model.attention_maps(data.tokenizer.encode(text)[None, :])
    return {"text": text, "maps": [layer[0] for layer in maps]}


# ----------------------------------------------------------------------------------- the table
def leaderboard(results: dict) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the leaderboard (models already sorted, best first)."""
    floor = results["corpus"]["entropy_rate"]
    headers = list(HEADERS) + (["above floor"] if floor is not None else [])
    rows = []
    for m in results["models"]:
        name = f"{m['name']} (order {m['config']['order']})" if m.get("orders") else m["name"]
        val = m["val"]
        row = [
            name,
            f"{m['parameters']:,}",
            f"{m['steps']:,}" if m["steps"] else "-",
            f"{m['tokens']:,}",
            f"{m['seconds']:.1f}",
            f"{m['tokens_per_second']:,.0f}",
            f"{val['nats_per_token']:.4f}",
            f"{val['bits_per_char']:.4f}",
            f"{val['compressed_bits_per_char']:.4f}" if "compressed_bits_per_char" in val else "-",
            f"{val['perplexity']:.3f}",
        ]
        rows.append(row + ([f"{val['nats_per_token'] - floor:+.4f}"] if floor is not None else []))
    return headers, rows


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    aligns = ["---"] + ["---:"] * (len(headers) - 1)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [headers, aligns, *rows])


def summary_lines(corpus: dict, budget: str, seed: int, device: str, quick: bool) -> list[str]:
    """What was run, in a few lines (the console and report.md)."""
    lines = [
        f"corpus {corpus['name']}: {corpus['train_characters']:,} training characters, "
        f"{corpus['val_tokens_scored']:,} validation characters scored, vocabulary {corpus['vocab_size']}"
    ]
    if corpus["val_note"]:
        lines.append(f"validation subset: {corpus['val_note']}")
    if corpus["entropy_rate"] is not None:
        floor = corpus["entropy_rate"]
        lines.append(f"entropy floor of the source: {floor:.4f} nats/token ({floor / math.log(2):.4f} bits)")
    quick_note = ", --quick (smaller models)" if quick else ""
    lines.append(f"budget per neural model: {budget}; seed {seed}, device {device}{quick_note}")
    return lines


def _summary(results: dict) -> list[str]:
    keys = ("seed", "device", "quick")
    return summary_lines(results["corpus"], results["budget"]["description"], *(results[k] for k in keys))


def ngram_orders(model: dict) -> str:
    """The n-gram's validation figure per order, in one line."""
    figures = ", ".join(f"{o['order']}: {o['nats_per_token']:.4f}" for o in model["orders"])
    return f"n-gram order chosen on validation: {model['config']['order']} (nats/token by order: {figures})"


def console_report(results: dict) -> str:
    """The leaderboard, the n-gram's per-order figures and one sample per model, as printed."""
    headers, rows = leaderboard(results)
    lines = ["Leaderboard (validation, best first):", text_table(headers, rows)]
    lines += [ngram_orders(m) for m in results["models"] if m.get("orders")]
    if results.get("compressors"):
        figures = ", ".join(f"{name} {bpc:.4f}" for name, bpc in results["compressors"].items())
        lines.append(f"standard compressors given the training text, bits/char: {figures}")
    lines.append(f"\nSamples after the prompt {printable(results['prompt'])!r} ({results['sampling']}):")
    for m in results["models"]:
        lines.append(f"\n--- {m['name']} ---\n{printable(results['prompt'] + m['sample'])}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- writing
def write_report(results: dict, out_dir: str | Path, attention: dict | None = None) -> dict[str, str]:
    """Write results.json, report.md and the pictures into ``out_dir``; returns {what: file name}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pictures = {"curves": "curves.png", "bits_per_char": "bits_per_char.png"}
    if attention is not None:
        pictures["attention"] = "attention.png"
    surprisal = {
        m["name"]: m["val"]["surprisal_bits"] for m in results["models"] if "surprisal_bits" in m["val"]
    }
    if surprisal:
        pictures["surprisal"] = "surprisal.png"
        plot_surprisal(results["surprisal_snippet"], surprisal, out / pictures["surprisal"])
    results = {**results, "pictures": pictures}
    plot_curves(results, out / pictures["curves"])
    plot_bits_per_char(results, out / pictures["bits_per_char"])
    if attention is not None:
        plot_attention(attention["maps"], attention["text"], out / pictures["attention"])
    _write_text(out / "results.json", json.dumps(strict_json(results), indent=2, allow_nan=False) + "\n")
    _write_text(out / "report.md", markdown_report(results, attention))
    return {"results": "results.json", "report": "report.md", **pictures}


def strict_json(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats (e.g. the undefined last training loss) replaced by None."""
    if isinstance(obj, dict):
        return {key: strict_json(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict_json(value) for value in obj]
    return None if isinstance(obj, float) and not math.isfinite(obj) else obj


def markdown_report(results: dict, attention: dict | None = None) -> str:
    """report.md: what was run, the leaderboard, the n-gram's orders, the pictures and the samples."""
    headers, rows = leaderboard(results)
    parts = [f"# {results['title']}", "", f"`{results['command']}`", ""]
    parts += [f"- {line}" for line in _summary(results)]
    parts += ["", "## Leaderboard (validation, sorted)", "", markdown_table(headers, rows), ""]
    for m in results["models"]:
        if m.get("orders"):
            cells = [
                [str(o["order"]), f"{o['nats_per_token']:.4f}", f"{o['fit_seconds']:.2f}"]
                for o in m["orders"]
            ]
            parts += [f"n-gram order chosen on validation: {m['config']['order']}", ""]
            parts += [markdown_table(["order", "val nats/tok", "fit s"], cells), ""]
    if results.get("compressors"):
        figures = ", ".join(f"{name} {bpc:.4f}" for name, bpc in results["compressors"].items())
        parts += [
            "## Compression",
            "",
            f"Standard compressors given the training text, size(train + val) "
            f"- size(train), in bits/char: {figures}.",
            "",
            COMPRESSION_GAP,
            "",
        ]
    parts += ["## Pictures", ""] + [f"![{name}]({file})" for name, file in results["pictures"].items()]
    if attention is not None:
        parts += ["", f"Attention snippet: `{printable(attention['text'])!r}`"]
    parts += ["", f"## Samples (prompt {printable(results['prompt'])!r}, {results['sampling']})", ""]
    for m in results["models"]:
        parts += [f"### {m['name']}", "", "```", printable(results["prompt"] + m["sample"]), "```", ""]
    return "\n".join(parts)


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, then ``os.replace``)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------ pictures
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
                    label=m["name"],
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
    names = [m["name"] for m in models][::-1]
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


def plot_attention(maps: list, text: str, path: Path) -> None:
    """One panel per (layer, head): attention weights (T, T), the snippet's characters as tick labels
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
