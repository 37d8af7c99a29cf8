"""``ember.trainer.demos``: Lightning's demo models and data sets, which its examples and bug reports import."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.trainer import Trainer
from ember.trainer.demos import (
    BoringDataModule,
    BoringModel,
    DemoModel,
    ManualOptimBoringModel,
    RandomDataset,
    RandomDictDataset,
    RandomIterableDataset,
    RandomIterableDatasetWithLen,
    Transformer,
    WikiText2,
    tokenize,
)

from .models import trainer_kwargs


def _fit(tmp_path, model, datamodule=None):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=16, limit_val_batches=2,
                                       logger=False, enable_checkpointing=False))
    trainer.fit(model, datamodule=datamodule)
    return trainer


@pytest.mark.parametrize("model_class", [BoringModel, ManualOptimBoringModel])
def test_boring_models_train_on_their_own_loaders_or_a_datamodule(tmp_path, model_class):
    """(SGD at lr 0.1 on batches of one 32-dimensional normal vector overshoots, in Lightning too: a boring
    model is for checking that things run, not that they learn.)"""
    ember.manual_seed(0)
    model = model_class()
    before = model.layer.weight.detach().numpy().copy()
    trainer = _fit(tmp_path, model, BoringDataModule() if model_class is BoringModel else None)
    assert trainer.global_step == 16
    assert not np.allclose(model.layer.weight.detach().numpy(), before)
    assert np.isfinite(model.layer.weight.detach().numpy()).all()


def test_demo_model_lowers_the_sum_of_its_outputs(tmp_path):
    ember.manual_seed(0)
    model = DemoModel()
    dataset = RandomDataset(32, 32)
    before = model(dataset.data).sum().item()
    Trainer(**trainer_kwargs(tmp_path, max_epochs=3, logger=False, enable_checkpointing=False)).fit(
        model, ember.data.DataLoader(dataset, batch_size=8))
    assert model(dataset.data).sum().item() < 0.5 * before


def test_random_data_sets():
    assert len(RandomDataset(4, 10)) == 10 and RandomDataset(4, 10)[3].shape == (4,)
    sample = RandomDictDataset(4, 10)[0]
    np.testing.assert_allclose(sample["b"].numpy(), sample["a"].numpy() + 2)
    assert [x.shape for x in RandomIterableDataset(3, 5)] == [(3,)] * 5
    assert not hasattr(RandomIterableDataset(3, 5), "__len__") and len(RandomIterableDatasetWithLen(3, 5)) == 5
    datamodule = BoringDataModule()
    datamodule.setup("fit")
    assert len(datamodule.random_train) == len(datamodule.random_val) == 64


def test_wikitext2_reads_its_file_as_blocks_of_word_ids(tmp_path):
    (tmp_path / "wikitext-2.txt").write_text("a b c\n\nb a\n", encoding="utf8")
    ids, dictionary = tokenize(tmp_path / "wikitext-2.txt")
    assert dictionary.idx2word == ["a", "b", "c", "<eos>"]
    assert ids.dtype == ember.int64 and ids.tolist() == [0, 1, 2, 3, 3, 1, 0, 3]
    dataset = WikiText2(tmp_path, block_size=3, download=False)
    assert dataset.vocab_size == 4 and len(dataset) == 8 // 3 - 1
    inputs, target = dataset[1]
    assert inputs.tolist() == [3, 3, 1] and target.tolist() == [3, 1, 0]
    with pytest.raises(FileNotFoundError, match="missing"):
        WikiText2(tmp_path / "missing", download=False)


def test_transformer_gives_log_probabilities_for_every_position():
    ember.manual_seed(0)
    model = Transformer(vocab_size=11, ninp=8, nhead=2, nhid=16, nlayers=1, dropout=0.0)
    inputs = ember.randint(0, 11, (3, 5))
    out = model(inputs, inputs)
    assert out.shape == (15, 11)
    np.testing.assert_allclose(out.exp().sum(-1).detach().numpy(), np.ones(15), rtol=1e-5)
    mask = model.generate_square_subsequent_mask(3).numpy()
    assert np.isneginf(mask[0, 1]) and mask[1, 0] == 0 and mask[1, 1] == 0


@pytest.mark.parity
def test_transformer_matches_lightnings_demo_from_the_same_weights():
    from tests.test_lightning_ports import _import_lightning

    _import_lightning()
    import torch
    from lightning.pytorch.demos import Transformer as LightningDemoTransformer

    torch.manual_seed(0)
    theirs = LightningDemoTransformer(vocab_size=11, ninp=8, nhead=2, nhid=16, nlayers=1, dropout=0.0).eval()
    ours = Transformer(vocab_size=11, ninp=8, nhead=2, nhid=16, nlayers=1, dropout=0.0).eval()
    ours.load_state_dict({k: ember.from_numpy(v.numpy().copy()) for k, v in theirs.state_dict().items()})
    tokens = np.random.default_rng(0).integers(0, 11, (2, 6))
    target = np.roll(tokens, -1, axis=1)
    expected = theirs(torch.from_numpy(tokens), torch.from_numpy(target)).detach().numpy()
    got = ours(ember.from_numpy(tokens), ember.from_numpy(target)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
