"""The embeddings in a run's report: ``embeddings.png`` and the nearest-neighbour tables of report.md.

Both read ``results["models"][i]["embeddings"]`` (``zoo.embeddings.embedding_summary``), one panel or
table per model that has them (the GPT and one recurrent model, under each tokenizer).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

PICTURE = "embeddings.png"


def embedded_models(results: dict) -> list[dict]:
    """The models of ``results`` that carry an embedding summary."""
    return [m for m in results["models"] if m.get("embeddings")]


def _label(m: dict) -> str:
    tokenizer = m.get("tokenizer", "char")
    return m["name"] if tokenizer == "char" else f"{m['name']} [{tokenizer}]"


def plot_embeddings(results: dict, path: Path) -> None:
    """One panel per model: the PCA coordinates of its most frequent tokens, each labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = embedded_models(results)
    columns = min(3, len(models))
    rows = -(-len(models) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4.5 * rows), squeeze=False)
    for ax, m in zip(axes.flat, models, strict=False):
        summary = m["embeddings"]
        xs, ys = zip(*summary["coordinates"], strict=True)
        ax.scatter(xs, ys, s=8, color="tab:blue")
        for x, y, text in zip(xs, ys, summary["labels"], strict=True):
            ax.annotate(text, (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
        first, second = summary["explained"]
        ax.set_title(f"{_label(m)}: PCA of token embeddings", fontsize=9)
        ax.set_xlabel(f"PC 1 ({first:.0%} of variance)", fontsize=8)
        ax.set_ylabel(f"PC 2 ({second:.0%})", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(models) :]:
        ax.axis("off")
    fig.tight_layout()
    with warnings.catch_warnings():  # characters the font lacks are drawn as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        fig.savefig(path, dpi=110)
    plt.close(fig)


def neighbours_markdown(results: dict) -> list[str]:
    """report.md lines: per model, each frequent token and its nearest neighbours by cosine."""
    lines: list[Any] = []
    for m in embedded_models(results):
        lines += [f"### {_label(m)}", "", "| token | nearest by cosine similarity |", "|---|---|"]
        for entry in m["embeddings"]["neighbours"]:
            nearest = ", ".join(f"`{token}` {cosine:.2f}" for token, cosine in entry["nearest"])
            lines.append(f"| `{entry['token']}` | {nearest} |")
        lines.append("")
    return lines
