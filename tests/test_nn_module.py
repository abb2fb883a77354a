"""Module, Parameter and the containers: registration, traversal, state dicts, modes, tying."""

import copy

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import nn


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3))
        self.register_buffer("steps", tg.zeros(2))
        self.drop = nn.Dropout(0.5)

    def forward(self, idx):
        return self.body(self.drop(self.embed(idx)))


class TiedLM(nn.Module):
    def __init__(self, vocab: int = 6, dim: int = 4) -> None:
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.tok_emb.weight

    def forward(self, idx):
        return self.lm_head(self.tok_emb(idx))


def test_parameter_is_a_trainable_leaf_sharing_a_tensors_array():
    t = tg.ones(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf and p.data is t.data
    assert "Parameter(" in repr(p)
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(tg.tensor([1, 2]))
    y = p * 2
    assert type(y) is tg.Tensor


def test_named_parameters_children_modules_and_counts():
    model = Tiny()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["embed.weight", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"]
    assert [name for name, _ in model.named_children()] == ["embed", "body", "drop"]
    assert len(list(model.modules())) == 1 + 1 + 4 + 1
    assert model.num_parameters() == 5 * 3 + (3 * 4 + 4) + (4 * 3 + 3)
    assert isinstance(model.body[0], nn.Linear) and len(model.body) == 3


def test_module_without_super_init_explains_itself():
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(tg.ones(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_reassigning_parameters_and_buffers():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Parameter"):
        layer.weight = tg.ones(2, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    model = Tiny()
    model.steps = tg.ones(2)
    assert "steps" in model.state_dict() and model.state_dict()["steps"].tolist() == [1, 1]
    del model.drop
    assert "drop" not in dict(model.named_children())


def test_state_dict_round_trip_copies_in_place():
    tg.manual_seed(0)
    source, target = Tiny(), Tiny()
    state = source.state_dict()
    assert set(state) == {*dict(source.named_parameters()), "steps"}
    assert all(not t.requires_grad and t.creator is None for t in state.values())
    weight_before = target.body[0].weight
    array_before = weight_before.data
    result = target.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.body[0].weight is weight_before and weight_before.data is array_before
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy())
    numpy_state = {k: v.numpy() for k, v in state.items()}  # arrays load too
    Tiny().load_state_dict(numpy_state)


def test_strict_loading_lists_every_problem():
    model = Tiny()
    state = model.state_dict()
    del state["embed.weight"], state["body.2.bias"]
    state["extra.weight"] = tg.zeros(1)
    state["body.0.weight"] = tg.zeros(7, 7)
    state["body.0.bias"] = tg.zeros(4, dtype="float64")
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    for fragment in (
        "5 error(s)",
        "'embed.weight'",
        "'body.2.bias'",
        "'extra.weight'",
        "shape mismatch for 'body.0.weight': checkpoint (7, 7), model (4, 3)",
        "dtype mismatch for 'body.0.bias': checkpoint float64, model float32",
    ):
        assert fragment in message


def test_non_strict_loading_reports_keys_but_still_rejects_mismatches():
    model = Tiny()
    state = model.state_dict()
    del state["steps"]
    state["unused"] = tg.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["steps"] and result.unexpected_keys == ["unused"]
    state["body.0.bias"] = tg.zeros(5)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        model.load_state_dict(state, strict=False)


def test_tied_weights_listed_once_saved_under_both_names_and_gradients_summed():
    tg.manual_seed(0)
    model = TiedLM()
    params = list(model.parameters())
    assert len(params) == 1 and params[0] is model.tok_emb.weight
    assert model.num_parameters() == 6 * 4
    state = model.state_dict()
    assert set(state) == {"tok_emb.weight", "lm_head.weight"}
    model.load_state_dict(state)
    assert model.lm_head.weight is model.tok_emb.weight

    idx = np.array([[0, 2, 2], [5, 1, 0]])
    weights = np.random.default_rng(0).standard_normal((2, 3, 6))
    (model(idx) * tg.tensor(weights)).sum().backward()
    # d/dW of sum(w * (E[idx] @ E^T)): the head's use plus the embedding's use.
    e = model.tok_emb.weight.numpy().astype(np.float64)
    head_grad = np.einsum("btv,btd->vd", weights, e[idx])
    emb_grad = np.zeros_like(e)
    np.add.at(emb_grad, idx, weights @ e)
    np.testing.assert_allclose(model.tok_emb.weight.grad.numpy(), head_grad + emb_grad, rtol=1e-5, atol=1e-5)


def test_train_eval_propagate_and_zero_grad():
    model = Tiny()
    model.eval()
    assert not any(m.training for m in model.modules())
    x = np.array([[1, 2]])
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())  # dropout off in eval
    model.train()
    assert all(m.training for m in model.modules())
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_nested_repr_reads_like_pytorch():
    text = repr(Tiny())
    assert text == (
        "Tiny(\n"
        "  (embed): Embedding(5, 3)\n"
        "  (body): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (1): Tanh()\n"
        "    (2): Linear(in_features=4, out_features=3, bias=True)\n"
        "  )\n"
        "  (drop): Dropout(p=0.5)\n"
        ")"
    )


def test_astype_keeps_identity_and_converts_buffers():
    model = Tiny()
    weight = model.body[0].weight
    model.astype("float64")
    assert model.body[0].weight is weight and weight.dtype == np.float64 and model.steps.dtype == np.float64
    assert model(np.array([[0]])).dtype == np.float64
    model.float()
    assert weight.dtype == np.float32


def test_non_persistent_buffers_are_not_saved():
    model = nn.Module()
    model.register_buffer("mask", tg.ones(3), persistent=False)
    model.register_buffer("count", tg.zeros(1))
    assert list(model.state_dict()) == ["count"]
    assert [name for name, _ in model.named_buffers()] == ["mask", "count"]


def test_containers():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
    layers.append(nn.ReLU())
    assert len(layers) == 3 and isinstance(layers[-1], nn.ReLU) and len(layers[:2]) == 2
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    heads = nn.ModuleDict({"a": nn.Linear(2, 2)})
    heads["b"] = nn.Linear(2, 1)
    assert "b" in heads and list(heads) == ["a", "b"] and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()][-1] == "b.bias"
    seq = nn.Sequential(nn.Linear(2, 2)).append(nn.Tanh())
    assert seq(tg.ones(1, 2)).shape == (1, 2) and isinstance(seq[1], nn.Tanh)


def test_shared_submodule_is_visited_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(model.parameters())) == 2
    assert sum(1 for m in model.modules() if m is shared) == 1
    assert set(model.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_deepcopy_gives_independent_parameters():
    model = Tiny()
    clone = copy.deepcopy(model)
    clone.body[0].weight.data[...] = 0
    assert np.abs(model.body[0].weight.numpy()).sum() > 0
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]


def test_functional_call_swaps_parameters_for_one_call():
    layer = nn.Linear(2, 1)
    weight = tg.ones(1, 2, dtype="float64", requires_grad=True)
    bias = tg.zeros(1, dtype="float64", requires_grad=True)
    y = nn.functional_call(layer, {"weight": weight, "bias": bias}, tg.tensor([[1.0, 2.0]], dtype="float64"))
    assert y.item() == 3.0 and isinstance(layer.weight, nn.Parameter)
    y.backward()
    assert weight.grad.tolist() == [[1.0, 2.0]]
    with pytest.raises(KeyError, match="nope"):
        nn.functional_call(layer, {"nope": weight}, tg.ones(1, 2))
