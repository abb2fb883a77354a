"""Exact evaluation and the training loop (budgets, learning, bit-identical resume)."""

import math

import numpy as np
import pytest

import tinygrad_lm as tg
from zoo.evaluate import evaluate
from zoo.models import GPT, LSTMLM, GPTConfig, RecurrentConfig
from zoo.models.ngram import NGramLM
from zoo.train import TrainConfig, Trainer, learning_rate

V = 7


def ids_of(n, seed=0):
    return np.random.default_rng(seed).integers(0, V, n)


def tiny_gpt(context=6):
    tg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=V, context_length=context, n_layers=1, n_heads=2, d_model=8)).double()


def tiny_lstm(context=5):
    tg.manual_seed(0)
    return LSTMLM(RecurrentConfig(vocab_size=V, context_length=context, d_embed=4, d_hidden=6)).double()


def test_ngram_evaluation_is_the_mean_of_its_scores():
    ids = ids_of(300)
    lm = NGramLM(order=3, smoothing="kn").fit(ids, vocab_size=V)
    result = evaluate(lm, ids)
    assert result["tokens"] == 299
    assert result["nats_per_token"] == pytest.approx(-lm.score(ids).mean(), rel=1e-12)
    assert result["perplexity"] == pytest.approx(math.exp(result["nats_per_token"]))
    assert result["bits_per_char"] == pytest.approx(result["nats_per_token"] / math.log(2))


def brute_force_nats(model, ids, context):
    """Score each target i with the model run on exactly its preceding ``context`` tokens."""
    total = 0.0
    with tg.no_grad():
        for i in range(1, len(ids)):
            window = ids[max(0, i - context) : i][None, :]
            logits = model(window)[0].numpy()[0, -1]
            total -= logits[ids[i]] - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
    return total / (len(ids) - 1)


def test_windowed_evaluation_with_stride_one_gives_every_target_its_full_context():
    model, ids = tiny_gpt(), ids_of(40, seed=1)
    model.eval()
    exact = evaluate(model, ids, batch_size=4, stride=1)["nats_per_token"]
    assert exact == pytest.approx(brute_force_nats(model, ids, context=6), rel=1e-10)


def test_streamed_evaluation_carries_the_hidden_state():
    model, ids = tiny_lstm(), ids_of(23, seed=2)
    with tg.no_grad():
        logits = model(ids[None, :-1])[0].numpy()[0]  # one pass over the whole sequence
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(22), ids[1:]].mean()
    assert evaluate(model, ids, batch_size=1)["nats_per_token"] == pytest.approx(expected, rel=1e-10)


def test_bits_per_char_counts_decoded_characters():
    class TwoCharTokens:
        def decode(self, ids):
            return "xy" * len(ids)

    ids = ids_of(50)
    lm = NGramLM(order=2, smoothing="addk").fit(ids, vocab_size=V)
    plain, bpe = evaluate(lm, ids), evaluate(lm, ids, tokenizer=TwoCharTokens())
    assert bpe["characters"] == 98
    assert bpe["bits_per_char"] == pytest.approx(plain["bits_per_char"] / 2)


def test_learning_rate_schedule_warms_up_then_decays_to_the_minimum():
    config = TrainConfig(learning_rate=1.0, min_lr=0.1, warmup_steps=4, max_steps=100)
    assert learning_rate(config, 0, 0.0) == pytest.approx(1 / 5)
    assert learning_rate(config, 50, 0.5) == pytest.approx(0.1 + 0.45)
    assert learning_rate(config, 100, 1.0) == pytest.approx(0.1)
    # with warmup ending at progress 0.04, the cosine spans steps 4..100 (nanoGPT's get_lr)
    assert learning_rate(config, 4, 0.04, 0.04) == pytest.approx(1.0)
    assert learning_rate(config, 52, 0.52, 0.04) == pytest.approx(0.1 + 0.45)


def former_zoo_learning_rate(config, step, progress, warmup_end=0.0):
    """zoo.train.learning_rate as it was before it moved onto optim.WarmupCosine (the reference)."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / (config.warmup_steps + 1)
    ratio = min(1.0, max(0.0, (progress - warmup_end) / max(1.0 - warmup_end, 1e-12)))
    return config.min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (config.learning_rate - config.min_lr)


SCHEDULES = [
    (lr, min_lr, warmup, steps)
    for lr, min_lr in [(1.0, 0.1), (1e-3, 1e-4), (2e-3, 2e-4), (0.1, 0.01), (1e-2, 0.0), (3e-4, 5e-4)]
    for warmup, steps in [(0, 1), (0, 37), (3, 12), (4, 100), (10, 10), (100, 2000), (100, 60), (7, 333)]
]


@pytest.mark.parametrize("lr, min_lr, warmup, steps", SCHEDULES)
def test_learning_rate_equals_the_former_formula_bit_for_bit(lr, min_lr, warmup, steps):
    """Step, token and wall-clock budgets (nanoGPT's get_lr form included) give the same float64 rates."""
    config = TrainConfig(learning_rate=lr, min_lr=min_lr, warmup_steps=warmup, max_steps=steps)
    rng = np.random.default_rng(steps * 1000 + warmup)
    seconds = np.cumsum(rng.uniform(0.001, 0.1, max(steps, warmup) + 20))
    tokens_per_step, max_tokens, max_seconds = 64, 64 * steps - 17, float(seconds[steps // 2])
    budgets = {
        "steps": (lambda t: t / steps, warmup / steps),  # nanoGPT: progress t / max_steps
        "tokens": (lambda t: max(t / steps, t * tokens_per_step / max_tokens), None),
        "seconds": (lambda t: max(t / steps, seconds[t] / max_seconds), None),
    }
    for progress, warmup_end in budgets.values():
        warmup_end = progress(warmup) if warmup_end is None else warmup_end
        for step in range(max(steps, warmup) + 20):  # past the end of the budget too
            for end in (warmup_end, 0.0):
                new = learning_rate(config, step, progress(step), end)
                old = former_zoo_learning_rate(config, step, progress(step), end)
                assert new == old and type(new) is float, (step, new, old)


def test_trainer_uses_the_former_schedule_with_a_token_budget():
    config = TrainConfig(
        learning_rate=1e-3, min_lr=1e-4, warmup_steps=3, max_steps=100, max_tokens=500, eval_points=0
    )
    trainer = Trainer(tiny_gpt(), np.tile(np.arange(V), 30), np.tile(np.arange(V), 5), config)
    while trainer.budget_left():
        progress = trainer.progress()  # what the step reads before it counts its tokens
        step = trainer.state.step
        trainer.train_step()
        expected = former_zoo_learning_rate(config, step, progress, trainer.state.warmup_end or 0.0)
        assert [g["lr"] for g in trainer.optimizer.param_groups] == [expected, expected]
    assert trainer.state.step == 7  # 72 tokens a step (12 windows of 6)


def test_trainer_follows_nanogpts_schedule_step_by_step():
    config = TrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_steps=3, max_steps=12, eval_points=0)
    trainer = Trainer(tiny_gpt(), np.tile(np.arange(V), 30), np.tile(np.arange(V), 5), config)
    seen = []
    for _ in range(config.max_steps):
        trainer.train_step()
        seen.append(trainer.optimizer.param_groups[0]["lr"])
    expected = [nanogpt_lr(it, 1e-3, 3, 12, 1e-4) for it in range(12)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


def nanogpt_lr(it: int, lr: float, warmup: int, total: int, min_lr: float) -> float:
    """nanoGPT's get_lr, written out."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    ratio = (it - warmup) / (total - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


@pytest.mark.parametrize("make_model", [tiny_gpt, tiny_lstm], ids=["gpt", "lstm"])
def test_training_lowers_the_validation_loss(make_model):
    train_ids = np.tile(np.arange(V), 60)  # a deterministic cycle: easy to learn
    model = make_model()
    config = TrainConfig(batch_size=4, learning_rate=3e-2, max_steps=60, warmup_steps=5, eval_points=2)
    state = Trainer(model, train_ids, train_ids[:80], config).run()
    assert state.step == 60 and state.tokens == 60 * 4 * model.context_length
    assert state.curve[-1]["val"] < 0.5 * math.log(V)  # half the loss of a uniform guess


def test_token_budget_stops_the_run():
    model = tiny_gpt()
    config = TrainConfig(batch_size=2, max_steps=1000, max_tokens=120, eval_points=1)
    state = Trainer(model, ids_of(200), ids_of(30, 1), config).run()
    assert state.tokens == 120 and state.step == 10


@pytest.mark.parametrize("make_model", [tiny_gpt, tiny_lstm], ids=["gpt", "lstm"])
def test_resume_from_a_checkpoint_is_bit_identical(tmp_path, make_model):
    """Also mid-stream for the LSTM: its hidden state and the stream position are in the checkpoint."""
    train_ids, val_ids = ids_of(400), ids_of(40, seed=3)
    config = TrainConfig(batch_size=3, max_steps=12, warmup_steps=3, eval_points=3, learning_rate=1e-2)

    straight = Trainer(make_model(), train_ids, val_ids, config)
    losses_straight = []
    straight.run(on_step=lambda s, loss: losses_straight.append(loss))

    first = Trainer(make_model(), train_ids, val_ids, config)
    losses_resumed = []
    first.run(on_step=lambda s, loss: losses_resumed.append(loss), pause_at=6)
    first.save(str(tmp_path / "ckpt.npz"))

    tg.manual_seed(123)  # a different global state must not matter
    second = Trainer(type(first.model)(first.model.config).double(), train_ids, val_ids, config)
    second.resume(str(tmp_path / "ckpt.npz"))
    second.run(on_step=lambda s, loss: losses_resumed.append(loss))
    assert losses_resumed == losses_straight
    assert [p["val"] for p in second.state.curve] == [p["val"] for p in straight.state.curve]
