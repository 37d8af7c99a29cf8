"""RNN / LSTM / GRU and their cells against PyTorch (weights by state_dict; outputs, final states and all
gradients), plus the errors a user meets."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn

from .layer_parity import check_parity

torch = pytest.importorskip("torch")


def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _pair(constructor):
    torch.manual_seed(0)
    return constructor(nn), constructor(torch.nn)


RECURRENT = [
    ("LSTM", lambda nn: nn.LSTM(4, 6), (5, 3, 4), None),
    ("LSTM-2layer-bidir", lambda nn: nn.LSTM(4, 6, num_layers=2, bidirectional=True), (5, 3, 4), None),
    (
        "LSTM-batch-first-states",
        lambda nn: nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True),
        (3, 5, 4),
        ((4, 3, 6), (4, 3, 6)),
    ),
    (
        "LSTM-proj",
        lambda nn: nn.LSTM(4, 6, num_layers=2, proj_size=3, bidirectional=True),
        (5, 3, 4),
        ((4, 3, 3), (4, 3, 6)),
    ),
    ("LSTM-nobias", lambda nn: nn.LSTM(4, 6, bias=False), (5, 3, 4), None),
    # sizes past the kernels' 16-row tiles, batch-major and reversed
    ("LSTM-wide-batch-first", lambda nn: nn.LSTM(8, 20, batch_first=True), (17, 5, 8), None),
    ("LSTM-wide-bidir", lambda nn: nn.LSTM(8, 20, bidirectional=True), (5, 17, 8), None),
    # weights past 2 MB: the input projection of the whole sequence leaves the step loop
    ("LSTM-large-bidir", lambda nn: nn.LSTM(200, 300, bidirectional=True), (4, 3, 200), None),
    (
        "LSTM-large-2layer-batch-first-states",
        lambda nn: nn.LSTM(200, 300, num_layers=2, batch_first=True),
        (3, 4, 200),
        ((2, 3, 300), (2, 3, 300)),
    ),
    ("GRU", lambda nn: nn.GRU(4, 6), (5, 3, 4), None),
    (
        "GRU-2layer-bidir-states",
        lambda nn: nn.GRU(4, 6, num_layers=2, bidirectional=True, batch_first=True),
        (3, 5, 4),
        (4, 3, 6),
    ),
    ("GRU-nobias", lambda nn: nn.GRU(4, 6, bias=False, num_layers=2), (5, 3, 4), None),
    ("RNN-tanh-bidir", lambda nn: nn.RNN(4, 6, num_layers=2, bidirectional=True), (5, 3, 4), (4, 3, 6)),
    ("RNN-relu", lambda nn: nn.RNN(4, 6, nonlinearity="relu", batch_first=True), (3, 5, 4), None),
]


def _grad_subsets(has_state):
    """Which of (sequence, initial state) require grad: data needs neither, a carried-over state may."""
    return [[True, True], [False, False], [True, False], [False, True]] if has_state else [[True], [False]]


@pytest.mark.parity
@pytest.mark.parametrize(
    "constructor,input_shape,state_shape,input_grads",
    [(*r[1:], g) for r in RECURRENT for g in _grad_subsets(r[3] is not None)],
    ids=[f"{r[0]}-{''.join('g' if x else 'n' for x in g)}" for r in RECURRENT for g in _grad_subsets(r[3] is not None)],
)
def test_recurrent_layer_matches_torch(constructor, input_shape, state_shape, input_grads):
    ember_module, torch_module = _pair(constructor)
    inputs = _inputs(input_shape)
    if state_shape is not None:
        if isinstance(state_shape[0], tuple):
            inputs.append(tuple(_inputs(*state_shape, seed=1)))
        else:
            inputs += _inputs(state_shape, seed=1)
    check_parity(ember_module, torch_module, inputs, atol=2e-5, input_grads=input_grads)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("input_grads", [[False, False], [True, False], [False, True]])
def test_cells_with_inputs_not_requiring_grad_match_torch(name, input_grads):
    ember_module, torch_module = _pair(lambda nn: getattr(nn, name)(4, 5))
    x, h, c = _inputs((3, 4), (3, 5), (3, 5))
    check_parity(ember_module, torch_module, [x, (h, c) if name == "LSTMCell" else h], input_grads=input_grads)


@pytest.mark.parity
def test_unbatched_lstm_matches_torch():
    ember_module, torch_module = _pair(lambda nn: nn.LSTM(4, 6, num_layers=2))
    x, h0, c0 = _inputs((5, 4), (2, 6), (2, 6))
    check_parity(ember_module, torch_module, [x, (h0, c0)])


@pytest.mark.parity
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(name):
    ember_module, torch_module = _pair(lambda nn: getattr(nn, name)(4, 5))
    x, h, c = _inputs((3, 4), (3, 5), (3, 5))
    check_parity(ember_module, torch_module, [x, (h, c) if name == "LSTMCell" else h])
    check_parity(ember_module, torch_module, [x[0]], load=False)  # unbatched, no initial state


def test_lstm_state_dict_keys_are_pytorchs():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    keys = list(lstm.state_dict())
    assert keys[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    assert "weight_hh_l1_reverse" in keys and len(keys) == 20
    assert tuple(lstm.weight_hh_l0.shape) == (16, 2)
    assert tuple(lstm.weight_ih_l1.shape) == (16, 4)  # input of layer 1 is 2 directions x proj_size


def test_initialisation_is_uniform_in_one_over_sqrt_hidden():
    gru = nn.GRU(10, 64, num_layers=2)
    bound = 1 / np.sqrt(64)
    values = np.concatenate([p.detach().numpy().ravel() for p in gru.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert abs(values.std() - bound / np.sqrt(3)) < 0.01 * bound * 5


def test_lstm_gradients_match_finite_differences_in_float64():
    lstm = nn.LSTM(2, 3, num_layers=1, bidirectional=True, proj_size=2).double()
    x = ember.randn(4, 2, 2, dtype=ember.float64, requires_grad=True)
    h0 = ember.randn(2, 2, 2, dtype=ember.float64, requires_grad=True)
    c0 = ember.randn(2, 2, 3, dtype=ember.float64, requires_grad=True)
    params = list(lstm.parameters())

    def fn(x, h0, c0, *weights):
        out, (h, c) = lstm(x, (h0, c0))
        return (out * out).sum() + (h * c[..., :2]).sum() + c.sum()

    assert ember.autograd.gradcheck(fn, (x, h0, c0, *params))


def test_gru_gradients_match_finite_differences_in_float64():
    gru = nn.GRU(2, 3, num_layers=2, bidirectional=True).double()
    x = ember.randn(4, 2, 2, dtype=ember.float64, requires_grad=True)
    h0 = ember.randn(4, 2, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, h0, *w: (gru(x, h0)[0] ** 2).sum(), (x, h0, *gru.parameters()))


def test_rnn_dropout_between_layers_only_in_training():
    rnn = nn.GRU(4, 8, num_layers=2, dropout=0.5)
    x = ember.randn(6, 2, 4)
    rnn.eval()
    a, b = rnn(x)[0], rnn(x)[0]
    np.testing.assert_array_equal(
        a.numpy() if not a.requires_grad else a.detach().numpy(), b.detach().numpy()
    )
    rnn.train()
    c, d = rnn(x)[0], rnn(x)[0]
    assert not np.allclose(c.detach().numpy(), d.detach().numpy())


def test_wrong_input_size_is_named():
    lstm = nn.LSTM(10, 20)
    with pytest.raises(RuntimeError, match="Expected 10, got 7"):
        lstm(ember.randn(5, 3, 7))
    with pytest.raises(RuntimeError, match=r"Expected hx size \(1, 3, 20\), got \[1, 4, 20\]"):
        lstm(ember.randn(5, 3, 10), (ember.zeros(1, 4, 20), ember.zeros(1, 4, 20)))


def test_backward_twice_without_retain_graph_raises():
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(ember.randn(2, 1, 3))
    loss = out.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_modifying_weights_before_backward_raises():
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(ember.randn(2, 1, 3))
    with ember.no_grad():
        lstm.weight_hh_l0.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@pytest.mark.parametrize("cls", [nn.GRU, nn.RNN, nn.LSTM])
def test_partly_frozen_recurrent_weights_still_get_the_other_gradients(cls):
    layer = cls(3, 4)
    layer.weight_hh_l0.requires_grad_(False)
    out = layer(ember.randn(5, 2, 3))[0]
    out.sum().backward()
    assert layer.weight_hh_l0.grad is None
    assert layer.weight_ih_l0.grad is not None and np.abs(layer.weight_ih_l0.grad.numpy()).sum() > 0
    assert layer.bias_hh_l0.grad is not None


@pytest.mark.parity
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_packed_sequences_match_torch(name):
    from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    ember_module, torch_module = _pair(lambda nn: getattr(nn, name)(3, 4, num_layers=2, bidirectional=True))
    from .layer_parity import load_torch_weights

    load_torch_weights(ember_module, torch_module)
    x, h0 = _inputs((6, 4, 3), (4, 4, 4))
    lengths = [3, 6, 1, 3]
    e_x, t_x = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    e_h0, t_h0 = ember.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
    e_state = (e_h0, ember.tensor(h0)) if name == "LSTM" else e_h0
    t_state = (t_h0, torch.tensor(h0)) if name == "LSTM" else t_h0
    e_out, e_hn = ember_module(pack_padded_sequence(e_x, lengths, enforce_sorted=False), e_state)
    t_out, t_hn = torch_module(
        torch.nn.utils.rnn.pack_padded_sequence(t_x, lengths, enforce_sorted=False), t_state
    )
    np.testing.assert_array_equal(e_out.batch_sizes.numpy(), t_out.batch_sizes.numpy())
    np.testing.assert_allclose(e_out.data.detach().numpy(), t_out.data.detach().numpy(), atol=1e-5)
    e_hn = e_hn[0] if name == "LSTM" else e_hn
    t_hn = t_hn[0] if name == "LSTM" else t_hn
    np.testing.assert_allclose(e_hn.detach().numpy(), t_hn.detach().numpy(), atol=1e-5)
    e_pad, e_len = pad_packed_sequence(e_out, batch_first=True)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True)
    np.testing.assert_array_equal(e_len.numpy(), t_len.numpy())
    np.testing.assert_allclose(e_pad.detach().numpy(), t_pad.detach().numpy(), atol=1e-5)
    g = _inputs(tuple(t_pad.shape), seed=5)[0]
    ((e_pad * ember.tensor(g)).sum() + e_hn.sum()).backward()
    ((t_pad * torch.tensor(g)).sum() + t_hn.sum()).backward()
    np.testing.assert_allclose(e_x.grad.numpy(), t_x.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(e_h0.grad.numpy(), t_h0.grad.numpy(), atol=1e-5)
    for pname, p in torch_module.named_parameters():
        np.testing.assert_allclose(
            ember_module.get_parameter(pname).grad.numpy(), p.grad.numpy(), atol=1e-5, err_msg=pname
        )


def test_pack_padded_sequence_requires_sorted_lengths_unless_told():
    from ember.nn.utils.rnn import pack_padded_sequence

    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_padded_sequence(ember.randn(4, 2, 3), [2, 4])
    packed = pack_padded_sequence(ember.randn(4, 2, 3), [2, 4], enforce_sorted=False)
    assert packed.batch_sizes.numpy().tolist() == [2, 2, 1, 1]
    assert packed.sorted_indices.numpy().tolist() == [1, 0]
