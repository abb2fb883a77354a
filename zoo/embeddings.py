"""What the token embeddings learned: a 2-D PCA projection and nearest neighbours by cosine.

For an embedding matrix ``E`` (V, d) (a GPT's ``token_embedding`` or a recurrent model's
``embedding``), centred ``X = E - mean(E)``, with the thin SVD ``X = U S W^T``::

    coordinates        = X W[:, :2] = U[:, :2] S[:2]        (V, 2): the best 2-D linear view of E
    explained variance = S[:2]^2 / sum(S^2)
    cos(a, b)          = E_a . E_b / (|E_a| |E_b|)           the neighbours of a: the largest cos(a, .)

Only the tokens seen most often in training are labelled and queried: a rare token's embedding has
barely moved from its random initialisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_lm as tg

LABELLED, QUERIED, NEIGHBOURS = 40, 8, 5


def embedding_matrix(model: Any) -> np.ndarray | None:
    """The (V, d) float64 token embeddings of ``model``, or None if it has none to show."""
    if hasattr(model, "token_embedding"):  # the GPT
        layer = model.token_embedding
    elif getattr(model, "recurrent", False) and hasattr(model, "embedding"):
        layer = model.embedding
    else:
        return None
    return np.asarray(tg.asnumpy(layer.weight.data), dtype=np.float64)[: model.config.vocab_size]


def pca_2d(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(coordinates (V, 2), explained variance ratio (2,))`` of the centred rows (module docstring)."""
    centred = embeddings - embeddings.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    total = float((s**2).sum()) or 1.0
    return u[:, :2] * s[:2], s[:2] ** 2 / total


def nearest_neighbours(embeddings: np.ndarray, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """For each query id, the ``k`` other ids of largest cosine similarity, with that similarity."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.where(norms > 0, norms, 1.0)
    cosine = unit[queries] @ unit.T  # (Q, V)
    cosine[np.arange(len(queries)), queries] = -np.inf  # not itself
    order = np.argsort(-cosine, axis=1, kind="stable")[:, :k]
    return [[(int(j), float(cosine[q, j])) for j in row] for q, row in enumerate(order)]


def embedding_summary(model: Any, train_ids: np.ndarray, tokenizer: Any) -> dict | None:
    """JSON-able ``{"labels", "coordinates", "explained", "neighbours"}`` of the most frequent tokens
    (None for a model without token embeddings)."""
    embeddings = embedding_matrix(model)
    if embeddings is None:
        return None
    frequency = np.bincount(np.asarray(train_ids, dtype=np.int64), minlength=len(embeddings))
    frequent = np.argsort(-frequency, kind="stable")[: min(LABELLED, len(embeddings))]
    coordinates, explained = pca_2d(embeddings)
    queries = [int(i) for i in frequent if tokenizer.decode([int(i)]).strip()][:QUERIED]  # no spaces
    neighbours = nearest_neighbours(embeddings, np.asarray(queries, dtype=np.int64), NEIGHBOURS)

    def spell(i: int) -> str:  # the token's text, escaped and with visible spaces: '\n', '␣', 'the'
        return repr(tokenizer.decode([i]))[1:-1].replace(" ", "␣")

    return {
        "labels": [spell(int(i)) for i in frequent],
        "coordinates": coordinates[frequent].round(5).tolist(),
        "explained": explained.round(5).tolist(),
        "neighbours": [
            {"token": spell(q), "nearest": [[spell(j), round(c, 4)] for j, c in row]}
            for q, row in zip(queries, neighbours, strict=True)
        ],
    }
