"""nn.utils.rnn.unpad_sequence / unpack_sequence: the inverses of pad_sequence / pack_sequence, as torch's."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn.utils.rnn import pack_sequence, pad_sequence, unpack_sequence, unpad_sequence


def _sequences(lib, rng):
    return [lib.tensor(rng.standard_normal((n, 3)).astype(np.float32), requires_grad=True) for n in (2, 4, 1)]


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_gives_back_the_sequences_and_their_gradients(batch_first):
    sequences = _sequences(ember, np.random.default_rng(0))
    padded = pad_sequence(sequences, batch_first=batch_first)
    before = padded.shape
    unpadded = unpad_sequence(padded, ember.tensor([2, 4, 1]), batch_first=batch_first)
    assert padded.shape == before  # (torch's transposes a time-major input in place)
    for got, expected in zip(unpadded, sequences, strict=True):
        np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
    sum((s * (i + 1)).sum() for i, s in enumerate(unpadded)).backward()
    for i, leaf in enumerate(sequences):
        np.testing.assert_array_equal(leaf.grad.numpy(), np.full(leaf.shape, i + 1.0))
    with pytest.raises(ValueError, match="2 lengths for a batch of 3 sequences"):
        unpad_sequence(padded, [2, 4], batch_first=batch_first)


@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_unpack_gives_back_the_packed_sequences_in_order(enforce_sorted):
    sequences = _sequences(ember, np.random.default_rng(1))
    if enforce_sorted:
        sequences = sorted(sequences, key=len, reverse=True)
    unpacked = unpack_sequence(pack_sequence(sequences, enforce_sorted=enforce_sorted))
    assert [s.shape for s in unpacked] == [s.shape for s in sequences]
    for got, expected in zip(unpacked, sequences, strict=True):
        np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
    unpacked[1].sum().backward()
    assert sequences[1].grad is not None and (sequences[1].grad.numpy() == 1).all()


@pytest.mark.parity
def test_unpad_and_unpack_match_torch():
    torch = pytest.importorskip("torch")
    results = {}
    for lib in (ember, torch):
        sequences = _sequences(lib, np.random.default_rng(2))
        rnn_utils = lib.nn.utils.rnn
        padded = rnn_utils.pad_sequence(sequences)
        unpadded = rnn_utils.unpad_sequence(padded, lib.tensor([2, 4, 1]))
        unpacked = rnn_utils.unpack_sequence(rnn_utils.pack_sequence(sequences, enforce_sorted=False))
        (sum((s ** 2).sum() for s in unpadded) + sum(s.sum() * 3 for s in unpacked)).backward()
        results[lib] = ([s.detach().numpy() for s in unpadded + unpacked], [s.grad.numpy() for s in sequences])
    for ours, theirs in zip(results[ember], results[torch], strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6)
