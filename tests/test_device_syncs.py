"""No host-device synchronisation inside a training step, counted without a GPU.

``tinygrad_lm.testing.sync_counter.simulated_device`` runs the library's device code paths on
NumPy arrays that record every read of their values by the host (what would make the host wait for
a GPU). The step is ``zoo.train.Trainer.train_step`` (forward, cross-entropy, backward,
``clip_grad_norm_``, AdamW), whose one sync is its last line, ``return loss.item()``: the loss it
hands to the caller for printing.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import optim
from tinygrad_lm.backend import is_host_array
from tinygrad_lm.testing.sync_counter import DeviceLikeArray, simulated_device
from zoo.models import GPT, LSTMLM, GPTConfig, RecurrentConfig
from zoo.train import TrainConfig, Trainer

V = 11
IDS = np.random.default_rng(0).integers(0, V, 3000)
LOGGING_LINE = "zoo/train.py"


def tiny_gpt() -> GPT:
    return GPT(GPTConfig(vocab_size=V, context_length=8, n_layers=2, n_heads=2, d_model=16, dropout=0.1))


def tiny_lstm() -> LSTMLM:
    return LSTMLM(RecurrentConfig(vocab_size=V, context_length=8, d_embed=4, d_hidden=6))


def trainer_on(device: str, build) -> Trainer:
    tg.manual_seed(0)
    model = build().to(device)
    config = TrainConfig(batch_size=3, max_steps=10, warmup_steps=2, grad_clip=0.5, device=device)
    return Trainer(model, IDS, IDS, config)


def only_the_logging_line(syncs) -> bool:
    """Exactly one sync, ``loss.item()`` on the Trainer's ``return`` line."""
    return syncs.count == 1 and any(
        LOGGING_LINE in frame and "return loss.item()" in frame for frame in syncs.events[0][1]
    )


@pytest.mark.parametrize("build", [tiny_gpt, tiny_lstm], ids=["gpt", "lstm"])
def test_a_training_step_syncs_only_to_hand_back_the_loss(build):
    cpu_losses = [trainer_on("cpu", build).train_step()]
    with simulated_device() as syncs:
        trainer = trainer_on("cuda", build)
        assert isinstance(next(iter(trainer.model.parameters())).data, DeviceLikeArray)
        losses = []
        for _ in range(3):  # the first step (optimizer state made) and later ones
            syncs.clear()
            losses.append(trainer.train_step())
            assert only_the_logging_line(syncs), syncs.report()
            assert syncs.mixed == [], syncs.report()  # no host array met a device array (CuPy: TypeError)
    cpu = trainer_on("cpu", build)
    cpu_losses = [cpu.train_step() for _ in range(3)]
    assert losses == cpu_losses  # the device code paths compute bit for bit what the host paths do


def test_the_counter_catches_a_deliberately_inserted_item(monkeypatch):
    """A test of the test: a sync slipped into the optimizer's step is found, with its line."""
    original = optim.AdamW.step

    def step_that_reads_a_value(self, *args, **kwargs):
        self.param_groups[0]["params"][0].grad.sum().item()  # the inserted sync
        return original(self, *args, **kwargs)

    monkeypatch.setattr(optim.AdamW, "step", step_that_reads_a_value)
    with simulated_device() as syncs:
        trainer = trainer_on("cuda", tiny_gpt)
        syncs.clear()
        trainer.train_step()
    assert syncs.count == 2 and not only_the_logging_line(syncs)
    assert "the inserted sync" in syncs.events[0][1][-2], syncs.report()


@pytest.mark.parametrize(
    "read",
    [
        lambda x: x[0].item(),
        lambda x: float(x.sum()),
        lambda x: int(x.max()),
        lambda x: bool((x > 0).any()),
        lambda x: x.tolist(),
        lambda x: tg.asnumpy(x),
        lambda x: x[x > 0],
        lambda x: np.nonzero(x),
        lambda x: f"{x.sum():.3f}",
        lambda x: range(10)[x.argmax()],
        lambda x: x.get(),
    ],
    ids=["item", "float", "int", "bool", "tolist", "asnumpy", "mask", "nonzero", "format", "index", "get"],
)
def test_each_kind_of_read_counts_once(read):
    with simulated_device() as syncs:
        x = tg.tensor([1.0, -2.0, 3.0], device="cuda").data
        assert not is_host_array(x)
        read(x)
    assert syncs.count == 1, syncs.report()


def test_arithmetic_reductions_and_creation_do_not_count():
    with simulated_device() as syncs:
        x = tg.randn(4, 5, device="cuda")
        y = (x.exp() * 2 + tg.zeros(4, 5, device="cuda")).sum(axis=0).max()
        assert isinstance(y.data, DeviceLikeArray) and y.device == "cuda:0"
    assert syncs.count == 0 and syncs.mixed == [], syncs.report()


def test_a_host_array_meeting_a_device_array_is_recorded():
    with simulated_device() as syncs:
        x = tg.ones(3, device="cuda").data
        x + np.ones(3)
    assert len(syncs.mixed) == 1 and syncs.count == 0


# ------------------------------------------------------------------ out-of-range targets and indices
def test_out_of_range_targets_raise_on_the_host_and_make_nan_on_a_device():
    logits, targets = tg.randn(4, 5, requires_grad=True), tg.tensor([0, 1, 7, -100])
    with pytest.raises(IndexError, match=r"\[0, 7\]"):
        tg.functional.cross_entropy(logits, targets)
    with simulated_device() as syncs:
        z = tg.Tensor(logits.data, device="cuda", requires_grad=True)
        loss = tg.functional.cross_entropy(z, tg.tensor([0, 1, 7, -100], device="cuda"))
        loss.backward()
        assert np.isnan(np.asarray(loss.data)) and np.isnan(np.asarray(z.grad.data)).all()
        ignored = tg.functional.cross_entropy(z, tg.tensor([-100] * 4, device="cuda"))
        assert np.isnan(np.asarray(ignored.data))
    assert syncs.count == 0, syncs.report()


def test_out_of_range_embedding_indices_raise_on_the_host_and_make_nan_rows_on_a_device():
    weight = tg.randn(5, 3, requires_grad=True)
    with pytest.raises(IndexError, match=r"\[0, 9\]"):
        tg.functional.embedding(tg.tensor([0, 9]), weight)
    with simulated_device() as syncs:
        w = tg.Tensor(weight.data, device="cuda", requires_grad=True)
        rows = tg.functional.embedding(tg.tensor([[0, 9], [4, -1]], device="cuda"), w)
        rows.sum().backward()
    values = np.asarray(rows.data)
    assert np.isnan(values[0, 1]).all() and np.isnan(values[1, 1]).all()
    np.testing.assert_array_equal(values[0, 0], weight.data[0])
    np.testing.assert_array_equal(np.asarray(w.grad.data), [[1] * 3, [0] * 3, [0] * 3, [0] * 3, [1] * 3])
    assert syncs.count == 0, syncs.report()


def test_clipping_on_a_device_matches_the_host_and_returns_the_norm_there():
    grads = [np.array([3.0, 4.0], np.float32), np.array([[12.0]], np.float32)]
    host = [tg.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for p, g in zip(host, grads, strict=True):
        p.grad = tg.tensor(g)
    total = optim.clip_grad_norm_(host, 6.5)
    with simulated_device() as syncs:
        device = [tg.Tensor(np.zeros_like(g), device="cuda", requires_grad=True) for g in grads]
        for p, g in zip(device, grads, strict=True):
            p.grad = tg.tensor(g, device="cuda")
        device_total = optim.clip_grad_norm_(device, 6.5)
        assert isinstance(device_total, tg.Tensor) and device_total.device == "cuda:0"
    assert syncs.count == 0, syncs.report()
    assert total == 13.0 and float(np.asarray(device_total.data)) == total
    for p, q in zip(host, device, strict=True):
        np.testing.assert_array_equal(p.grad.data, np.asarray(q.grad.data))
