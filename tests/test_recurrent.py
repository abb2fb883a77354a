"""RNN/LSTM/GRU cells and layers: NumPy reference, PyTorch parity, fused vs composed, gradchecks."""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import nn
from tinygrad_lm.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(2)
KINDS = {"rnn": (nn.RNN, nn.RNNCell), "lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}


def f64(*shape, requires_grad=False):
    return tg.tensor(RNG.standard_normal(shape), dtype="float64", requires_grad=requires_grad)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def reference_step(kind, x, state, w_ih, w_hh, b_ih, b_hh):
    """One step of the PyTorch-documented equations; state is (h,) or (h, c)."""
    a_x, a_h = x @ w_ih.T + b_ih, state[0] @ w_hh.T + b_hh
    if kind == "rnn":
        return (np.tanh(a_x + a_h),)
    if kind == "lstm":
        i, f, g, o = np.split(a_x + a_h, 4, axis=-1)
        c = sigmoid(f) * state[1] + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    (x_r, x_z, x_n), (h_r, h_z, h_n) = np.split(a_x, 3, -1), np.split(a_h, 3, -1)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * state[0],)


def reference_layers(kind, module, x, state):
    """Multi-layer reference: per layer, per step; state entries (L, B, H)."""
    finals = []
    for layer in range(module.num_layers):
        weights = [p.numpy() for p in module.layer_weights(layer)]
        s = tuple(entry[layer] for entry in state)
        outputs = []
        for t in range(x.shape[1]):
            s = reference_step(kind, x[:, t], s, *weights)
            outputs.append(s[0])
        x = np.stack(outputs, axis=1)
        finals.append(s)
    return x, tuple(np.stack([f[k] for f in finals]) for k in range(len(state)))


def initial_state(kind, layers, batch, hidden):
    entries = tuple(f64(layers, batch, hidden, requires_grad=True) for _ in range(2 if kind == "lstm" else 1))
    return entries, (entries if kind == "lstm" else entries[0])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cells_match_the_documented_equations(kind):
    cell = KINDS[kind][1](3, 4).double()
    x = f64(2, 3)
    entries, state = initial_state(kind, 1, 2, 4)
    entries = tuple(e[0] for e in entries)
    out = cell(x, entries if kind == "lstm" else entries[0])
    weights = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    expected = reference_step(kind, x.numpy(), [e.numpy() for e in entries], *(w.numpy() for w in weights))
    for ours, theirs in zip(out if kind == "lstm" else (out,), expected, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-13)
    zero_state = cell(x)
    assert (zero_state[0] if kind == "lstm" else zero_state).shape == (2, 4)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_layers_match_reference(kind, fused):
    module = KINDS[kind][0](3, 5, num_layers=2, fused=fused).double()
    x = f64(2, 4, 3)
    entries, state = initial_state(kind, 2, 2, 5)
    out, final = module(x, state)
    expected_out, expected_final = reference_layers(kind, module, x.numpy(), [e.numpy() for e in entries])
    np.testing.assert_allclose(out.numpy(), expected_out, atol=1e-13)
    for ours, theirs in zip(final if kind == "lstm" else (final,), expected_final, strict=True):
        assert ours.shape == (2, 2, 5)
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-13)


def test_parameter_names_shapes_and_init_follow_pytorch():
    lstm = nn.LSTM(3, 4, num_layers=2)
    assert [(n, p.shape) for n, p in lstm.named_parameters()] == [
        ("weight_ih_l0", (16, 3)), ("weight_hh_l0", (16, 4)), ("bias_ih_l0", (16,)), ("bias_hh_l0", (16,)),
        ("weight_ih_l1", (16, 4)), ("weight_hh_l1", (16, 4)), ("bias_ih_l1", (16,)), ("bias_hh_l1", (16,)),
    ]  # fmt: skip
    assert all(np.abs(p.numpy()).max() <= 0.5 for p in lstm.parameters())  # U(-1/sqrt(4), 1/sqrt(4))
    gru = nn.GRU(3, 2, bias=False)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert gru(f64(1, 2, 3).astype("float32"))[0].shape == (1, 2, 2)
    assert repr(nn.GRUCell(3, 2)) == "GRUCell(3, 2, bias=True)"


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_layers_match_torch_forward_and_gradients(kind, fused):
    torch = pytest.importorskip("torch")
    module = KINDS[kind][0](3, 4, num_layers=2, fused=fused).double()
    theirs = getattr(torch.nn, kind.upper())(3, 4, num_layers=2, batch_first=True).double()
    with torch.no_grad():
        for name, p in module.named_parameters():
            getattr(theirs, name).copy_(torch.from_numpy(p.numpy()))
    x = f64(2, 5, 3, requires_grad=True)
    entries, state = initial_state(kind, 2, 2, 4)
    x_t = torch.tensor(x.numpy(), requires_grad=True)
    entries_t = tuple(torch.tensor(e.numpy(), requires_grad=True) for e in entries)
    out, final = module(x, state)
    out_t, final_t = theirs(x_t, entries_t if kind == "lstm" else entries_t[0])
    finals = final if kind == "lstm" else (final,)
    finals_t = final_t if kind == "lstm" else (final_t,)
    upstream = [RNG.standard_normal(t.shape) for t in (out, *finals)]
    sum((t * tg.tensor(u)).sum() for t, u in zip((out, *finals), upstream, strict=True)).backward()
    sum((t * torch.tensor(u)).sum() for t, u in zip((out_t, *finals_t), upstream, strict=True)).backward()
    for ours, reference in zip((out, *finals), (out_t, *finals_t), strict=True):
        np.testing.assert_allclose(ours.numpy(), reference.detach().numpy(), atol=1e-12)
    for ours, reference in zip((x, *entries), (x_t, *entries_t), strict=True):
        np.testing.assert_allclose(ours.grad.numpy(), reference.grad.numpy(), atol=1e-12)
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), getattr(theirs, name).grad.numpy(), atol=1e-12)


def test_cells_match_torch():
    torch = pytest.importorskip("torch")
    for kind in KINDS:
        cell = KINDS[kind][1](3, 4).double()
        theirs = getattr(torch.nn, kind.upper() + "Cell")(3, 4).double()
        with torch.no_grad():
            for name, p in cell.named_parameters():
                getattr(theirs, name).copy_(torch.from_numpy(p.numpy()))
        x = f64(2, 3)
        out = cell(x)
        out_t = theirs(torch.tensor(x.numpy()))
        np.testing.assert_allclose(
            (out[1] if kind == "lstm" else out).numpy(),
            (out_t[1] if kind == "lstm" else out_t).detach().numpy(),
        )


def module_gradcheck(module, x, state_entries, second_order=False):
    """Check gradients with respect to x, the initial state and every parameter."""
    names = [name for name, _ in module.named_parameters()]
    params = [p.detach().requires_grad_() for p in module.parameters()]
    n_state = len(state_entries)

    def run(x, *rest):
        entries, weights = rest[:n_state], rest[n_state:]
        state = entries if n_state == 2 else entries[0]
        out, final = nn.functional_call(module, dict(zip(names, weights, strict=True)), x, state)
        return (out, *final) if n_state == 2 else (out, final)

    check = gradgradcheck if second_order else gradcheck
    check(run, [x, *state_entries, *params], name=type(module).__name__)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_layer_gradchecks_over_several_steps(kind, fused):
    module = KINDS[kind][0](2, 3, num_layers=2, fused=fused).double()
    entries, _ = initial_state(kind, 2, 2, 3)
    module_gradcheck(module, f64(2, 4, 2), entries)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_composed_layers_are_twice_differentiable(kind):
    module = KINDS[kind][0](2, 2, fused=False).double()
    entries, _ = initial_state(kind, 1, 1, 2)
    module_gradcheck(module, f64(1, 3, 2), entries, second_order=True)


def test_fused_scan_refuses_create_graph_with_a_clear_message():
    lstm = nn.LSTM(2, 2).double()
    x = f64(1, 3, 2, requires_grad=True)
    out, _ = lstm(x)
    with pytest.raises(RuntimeError, match="fused=False"):
        tg.grad(out.sum(), [x], create_graph=True)


def test_cell_gradchecks():
    for kind in KINDS:
        cell = KINDS[kind][1](2, 3).double()
        names = [n for n, _ in cell.named_parameters()]
        params = [p.detach().requires_grad_() for p in cell.parameters()]
        n_state = 2 if kind == "lstm" else 1

        def run(x, *rest, cell=cell, names=names, n_state=n_state):
            state = rest[:n_state] if n_state == 2 else rest[0]
            out = nn.functional_call(cell, dict(zip(names, rest[n_state:], strict=True)), x, state)
            return out if n_state == 2 else (out,)

        gradcheck(run, [f64(2, 2), *(f64(2, 3) for _ in range(n_state)), *params], name=kind)


def test_state_carries_across_windows_like_one_long_sequence():
    lstm = nn.LSTM(3, 4, num_layers=2).double()
    x = f64(2, 6, 3)
    whole, (h, c) = lstm(x)
    first, state = lstm(x[:, :4])
    second, (h2, c2) = lstm(x[:, 4:], state)
    np.testing.assert_allclose(tg.cat([first, second], axis=1).numpy(), whole.numpy(), atol=1e-14)
    np.testing.assert_allclose(h2.numpy(), h.numpy(), atol=1e-14)
    np.testing.assert_allclose(c2.numpy(), c.numpy(), atol=1e-14)


def test_input_and_state_validation():
    gru = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"expected input \(B, T, 3\), got \(2, 3\)"):
        gru(tg.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\(num_layers, B, H\) = \(2, 1, 4\), got \(1, 1, 4\)"):
        gru(tg.zeros(1, 2, 3), tg.zeros(1, 1, 4))
    with pytest.raises(ValueError, match="batch_first=True"):
        nn.LSTM(3, 4, batch_first=False)
    with pytest.raises(ValueError, match=r"GRU: the sequence is empty \(T = 0 in input \(2, 0, 3\)\)"):
        gru(tg.zeros(2, 0, 3))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_float32_fused_and_composed_agree(kind):
    """float32 in, float32 out, and the fused scan's gradients (input, every weight) equal the composed
    ops' to float32 rounding over 10 steps and two layers."""
    tg.manual_seed(0)
    fused, composed = KINDS[kind][0](8, 16, num_layers=2), KINDS[kind][0](8, 16, num_layers=2, fused=False)
    composed.load_state_dict(fused.state_dict())
    x = tg.randn(4, 10, 8, requires_grad=True)
    results = []
    for module in (fused, composed):
        x.grad = None
        out, _ = module(x)
        (out * out).sum().backward()
        results.append([out.numpy(), x.grad.numpy(), *(p.grad.numpy() for p in module.parameters())])
    for a, b in zip(*results, strict=True):  # float32 eps 1.2e-7 times sums over up to 4*10*16 terms
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
