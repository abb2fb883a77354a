"""The neural language models share one interface; each is checked for shapes, learning and gradients."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import optim
from zoo.models import (
    GPT,
    GRULM,
    LSTMLM,
    MLPLM,
    RNNLM,
    GPTConfig,
    MLPConfig,
    NeuralNGramConfig,
    NeuralNGramLM,
    RecurrentConfig,
)

V = 11


def tiny_models():
    tg.manual_seed(0)
    recurrent = RecurrentConfig(vocab_size=V, context_length=8, d_embed=6, d_hidden=10, n_layers=2)
    bigram = NeuralNGramLM(NeuralNGramConfig(vocab_size=V, order=2, context_length=8))
    bigram.table.data = tg.randn(*bigram.table.shape).data  # a zero table would tie every logit
    return {
        "gpt": GPT(GPTConfig(vocab_size=V, context_length=8, n_layers=2, n_heads=2, d_model=8)),
        "rnn": RNNLM(recurrent),
        "lstm": LSTMLM(recurrent),
        "gru": GRULM(recurrent),
        "mlp": MLPLM(MLPConfig(vocab_size=V, context_length=8, n_context=3, d_embed=4, d_hidden=16)),
        "bigram": bigram,
    }


MODEL_NAMES = list(tiny_models())


def batch(b=3, t=8, seed=0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, V, (b, t + 1))
    return tokens[:, :-1], tokens[:, 1:]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_shape_contract(name):
    model = tiny_models()[name]
    x, y = batch()
    logits, loss = model(x, y)
    assert logits.shape == (3, 8, V) and loss.shape == () and loss.dtype == np.float32
    assert model(x)[1] is None
    assert model.context_length == 8
    with pytest.raises(ValueError, match="must be \\(B, T\\) integers"):
        model(np.zeros(4, dtype=np.int64))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_overfits_a_tiny_batch(name):
    model = tiny_models()[name]
    x, y = batch(b=2, t=8, seed=1)
    if name == "bigram":  # a bigram table cannot fit contexts that repeat with different successors
        x = np.arange(16).reshape(2, 8) % V
        y = (x + 1) % V
    optimizer = optim.AdamW(list(model.parameters()), lr=3e-2, weight_decay=0.0)
    for _ in range(300):
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05, f"{name} did not overfit: loss {loss.item()}"


@pytest.mark.parametrize("name", ["gpt", "lstm", "gru"])
def test_end_to_end_gradient_in_float64(name):
    """Directional derivative of the loss along a random direction in every parameter vs backward."""
    model = tiny_models()[name].double()
    x, y = batch(b=2, t=5, seed=2)
    _, loss = model(x, y)
    loss.backward()
    rng = np.random.default_rng(3)
    eps = 1e-6
    for pname, p in model.named_parameters():
        direction = rng.standard_normal(p.shape)
        analytic = float((p.grad.numpy() * direction).sum())
        original = p.data.copy()
        with tg.no_grad():
            p.data = original + eps * direction
            plus = model(x, y)[1].item()
            p.data = original - eps * direction
            minus = model(x, y)[1].item()
            p.data = original
        numeric = (plus - minus) / (2 * eps)
        assert abs(analytic - numeric) <= 1e-6 + 1e-5 * abs(numeric), (
            f"{name}.{pname}: {analytic} vs {numeric}"
        )


def test_gpt_cached_and_uncached_generation_agree():
    model = tiny_models()["gpt"].double()
    model.eval()
    prompt = tg.tensor(np.array([[1, 2, 3], [4, 5, 6]]))
    with tg.no_grad():
        cached_logits, cache = model.start_decoding(prompt)
        tokens = prompt
        for step in range(8):  # runs past the context length: the cache must be cropped too
            uncached_logits = model(tokens[:, -model.context_length :])[0][:, -1]
            np.testing.assert_allclose(cached_logits.numpy(), uncached_logits.numpy(), atol=1e-5)
            new = tg.tensor(np.array([step % V, (3 * step) % V]))
            tokens = tg.cat([tokens, new.reshape(-1, 1)], axis=1)
            cached_logits, cache = model.continue_decoding(new, cache)


def test_gpt_weight_tying_and_attention_maps():
    model = GPT(GPTConfig(vocab_size=V, context_length=8, n_layers=2, n_heads=2, d_model=8, tie_weights=True))
    assert model.lm_head.weight is model.token_embedding.weight
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == len({id(p) for p in model.parameters()})
    maps = model.attention_maps(batch()[0])
    assert len(maps) == 2 and maps[0].shape == (3, 2, 8, 8)
    np.testing.assert_allclose(maps[1].sum(-1), 1, rtol=1e-5)
    assert np.all(np.triu(maps[0][0, 0], 1) == 0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_generation_is_reproducible_and_respects_top_k(name):
    model = tiny_models()[name]
    prompt = np.array([[1, 2], [3, 4]])
    first = model.generate(prompt, 6, generator=tg.Generator(5))
    second = model.generate(prompt, 6, generator=tg.Generator(5))
    np.testing.assert_array_equal(first, second)
    assert first.shape == (2, 8) and np.array_equal(first[:, :2], prompt)
    greedy = model.generate(prompt, 4, temperature=0)
    top1 = model.generate(prompt, 4, top_k=1, generator=tg.Generator(9))
    np.testing.assert_array_equal(greedy, top1)  # top-1 sampling can only emit the argmax


def test_neural_bigram_converges_to_the_add_k_estimate():
    """Gradient descent on cross-entropy + pseudo-count penalty lands on (c(h,w) + k) / (c(h) + kV)."""
    k, vocab = 0.5, 4
    ids = np.array([0, 1, 2, 1, 2, 3, 1, 2, 0, 1, 1, 3, 2, 2, 0, 1])
    x, y = ids[None, :-1], ids[None, 1:]
    config = NeuralNGramConfig(vocab_size=vocab, order=2, context_length=15, pseudo_count=k, train_tokens=15)
    model = NeuralNGramLM(config).double()
    optimizer = optim.Adam(list(model.parameters()), lr=0.1)
    for _ in range(1500):
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    counts = np.zeros((vocab, vocab))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    add_k = (counts + k) / (counts.sum(1, keepdims=True) + k * vocab)
    learned = model.table.softmax(-1).numpy()[:vocab]
    np.testing.assert_allclose(learned, add_k, atol=1e-4)
