"""Results of a run: the leaderboard table, ``results.json``, ``report.md`` and the pictures.

Pictures (matplotlib, Agg backend, written next to the report):

* ``curves.png``: validation nats/token against training seconds and against tokens seen, every
  neural model on the same axes; the n-gram as a horizontal line, the entropy floor (synthetic
  corpora) as a dashed line;
* ``bits_per_char.png``: the final validation bits per character of every model;
* ``embeddings.png`` (``zoo.embeddings_report``): a PCA of the token embeddings of the GPT and one
  recurrent model, with their nearest neighbours by cosine in report.md;
* ``surprisal.png``: a validation snippet once per model, each character shaded by its surprisal
  -log2 p under that model (``zoo.surprisal``);
* ``attention.png``: the GPT's attention weights softmax(q k^T / sqrt(d)) of every layer and head on
  a validation snippet, row = query character, column = the key characters it attends to.
"""

from __future__ import annotations

import json
import math
import platform
import shlex
import time
from pathlib import Path
from typing import Any

from zoo.embeddings_report import PICTURE, embedded_models, neighbours_markdown, plot_embeddings
from zoo.files import write_atomic
from zoo.pictures import model_label, plot_attention, plot_bits_per_char, plot_curves, plot_surprisal

HEADERS = (
    "model",
    "tokenizer",
    "vocab",
    "tok/char",
    "params",
    "steps",
    "tokens",
    "train s",
    "tokens/s",
    "val nats/tok",
    "ppl/tok",
    "bits/char",
    "bits/byte",
    "compressed bits/char",
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
    ids = data.tokenizer.encode(data.corpus.val[:length])[: min(length, model.context_length)]
    tokens = [data.tokenizer.decode([int(i)]) for i in ids]  # the tick labels: one per token
    maps = model.attention_maps(ids[None, :])
    return {"text": "".join(tokens), "tokens": tokens, "maps": [layer[0] for layer in maps]}


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
            m.get("tokenizer", "char"),
            f"{m.get('vocab_size', 0):,}",
            f"{val.get('tokens_per_char', 1.0):.3f}",
            f"{m['parameters']:,}",
            f"{m['steps']:,}" if m["steps"] else "-",
            f"{m['tokens']:,}",
            f"{m['seconds']:.1f}",
            f"{m['tokens_per_second']:,.0f}",
            f"{val['nats_per_token']:.4f}",
            f"{val['perplexity']:.3f}",
            f"{val['bits_per_char']:.4f}",
            f"{val['bits_per_byte']:.4f}" if "bits_per_byte" in val else "-",
            f"{val['compressed_bits_per_char']:.4f}" if "compressed_bits_per_char" in val else "-",
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
        f"{corpus['val_tokens_scored']:,} validation tokens scored"
        + (f" ({corpus['val_characters_scored']:,} characters)" if "val_characters_scored" in corpus else "")
        + f", tokenizer {corpus.get('tokenizer', 'char')}, vocabulary {corpus['vocab_size']:,}"
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
        lines.append(f"\n--- {model_label(m)} ---\n{printable(results['prompt'] + m['sample'])}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- writing
def write_report(results: dict, out_dir: str | Path, attention: dict | None = None) -> dict[str, str]:
    """Write results.json, report.md and the pictures into ``out_dir``; returns {what: file name}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pictures = {"curves": "curves.png", "bits_per_char": "bits_per_char.png"}
    if attention is not None:
        pictures["attention"] = "attention.png"
    if embedded_models(results):
        pictures["embeddings"] = PICTURE
        plot_embeddings(results, out / PICTURE)
    surprisal = {
        model_label(m): m["val"]["surprisal_bits"] for m in results["models"] if "surprisal_bits" in m["val"]
    }
    if surprisal:
        pictures["surprisal"] = "surprisal.png"
        plot_surprisal(results["surprisal_snippet"], surprisal, out / pictures["surprisal"])
    results = {**results, "pictures": pictures}
    plot_curves(results, out / pictures["curves"])
    plot_bits_per_char(results, out / pictures["bits_per_char"])
    if attention is not None:
        plot_attention(
            attention["maps"], attention.get("tokens", attention["text"]), out / pictures["attention"]
        )
    write_atomic(out / "results.json", json.dumps(strict_json(results), indent=2, allow_nan=False) + "\n")
    write_atomic(out / "report.md", markdown_report(results, attention))
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
    if embedded_models(results):
        parts += ["", "## Nearest neighbours of frequent tokens (token embeddings)", ""]
        parts += neighbours_markdown(results)
    parts += ["", f"## Samples (prompt {printable(results['prompt'])!r}, {results['sampling']})", ""]
    for m in results["models"]:
        parts += [f"### {model_label(m)}", "", "```", printable(results["prompt"] + m["sample"]), "```", ""]
    return "\n".join(parts)
