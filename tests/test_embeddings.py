"""PCA and nearest neighbours of token embeddings, and their place in the report."""

from __future__ import annotations

import numpy as np

from zoo.catalog import build_model
from zoo.embeddings import embedding_matrix, embedding_summary, nearest_neighbours, pca_2d
from zoo.models import NGramLM
from zoo.tokenizers import CharTokenizer


def test_pca_finds_the_direction_of_the_spread_and_its_share_of_variance():
    rng = np.random.default_rng(0)
    direction = np.array([3.0, 4.0, 0.0]) / 5
    points = rng.normal(size=(50, 1)) * 10 * direction + rng.normal(size=(50, 3)) * 0.01 + 7.0
    coordinates, explained = pca_2d(points)
    centred = points - points.mean(axis=0)
    np.testing.assert_allclose(np.abs(coordinates[:, 0]), np.abs(centred @ direction), atol=0.05)
    assert explained[0] > 0.999 and explained[1] < 1e-3
    assert np.isclose((coordinates**2).sum(), (centred**2).sum() * explained.sum())


def test_nearest_neighbours_by_cosine_exclude_the_token_itself():
    embeddings = np.array([[1.0, 0.0], [10.0, 0.5], [0.0, 1.0], [-1.0, 0.1]])
    first = nearest_neighbours(embeddings, np.array([0]), 1)[0][0]  # (id, cosine) of query 0's nearest
    third = nearest_neighbours(embeddings, np.array([2]), 1)[0][0]
    assert first[0] == 1 and np.isclose(first[1], 10 / np.hypot(10, 0.5))  # length does not matter
    assert third[0] == 3  # cos = 0.1 / |(-1, 0.1)| beats 0.5 / |(10, 0.5)|
    assert [j for j, _ in nearest_neighbours(embeddings, np.array([0]), 3)[0]] == [1, 2, 3]


def test_the_summary_labels_the_most_frequent_tokens_of_models_that_embed():
    tokenizer = CharTokenizer.fit("aaaabbbc \n")
    train = tokenizer.encode("aaaabbbc \n" * 3)
    gpt = build_model("gpt", tokenizer.vocab_size, quick=True)
    summary = embedding_summary(gpt, train, tokenizer)
    assert summary["labels"][:3] == ["a", "b", "c"] or summary["labels"][:2] == ["a", "b"]
    assert len(summary["coordinates"]) == len(summary["labels"]) == tokenizer.vocab_size
    assert all(entry["token"].strip() for entry in summary["neighbours"])  # no whitespace queries
    assert (
        embedding_matrix(build_model("gru", tokenizer.vocab_size, quick=True)).shape[0]
        == tokenizer.vocab_size
    )
    assert embedding_matrix(build_model("mlp", tokenizer.vocab_size, quick=True)) is None
    assert embedding_summary(NGramLM(2).fit(train, tokenizer.vocab_size), train, tokenizer) is None
