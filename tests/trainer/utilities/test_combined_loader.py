"""``CombinedLoader``'s four modes (Lightning's documented batches), and several training loaders in ``fit``."""

from __future__ import annotations

import ember.nn.functional as F
import pytest
from ember.data import DataLoader
from ember.trainer import Trainer
from ember.trainer.utilities import CombinedLoader

from ..models import Classifier, blobs, trainer_kwargs


def _loaders():
    return {"a": DataLoader(range(6), batch_size=4), "b": DataLoader(range(15), batch_size=5)}


def _read(combined):
    def value(batch):
        if isinstance(batch, dict):
            return {k: None if v is None else v.tolist() for k, v in batch.items()}
        if isinstance(batch, list):
            return [v.tolist() for v in batch]
        return batch.tolist()

    return [(value(batch), batch_idx, dataloader_idx) for batch, batch_idx, dataloader_idx in combined]


def test_the_four_modes_give_lightnings_batches():
    a0, a1, b0, b1, b2 = [0, 1, 2, 3], [4, 5], [0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14]
    cycle = CombinedLoader(_loaders(), "max_size_cycle")
    assert len(cycle) == 3
    assert _read(cycle) == [({"a": a0, "b": b0}, 0, 0), ({"a": a1, "b": b1}, 1, 0), ({"a": a0, "b": b2}, 2, 0)]
    longest = CombinedLoader(_loaders(), "max_size")
    assert len(longest) == 3 and _read(longest)[2] == ({"a": None, "b": b2}, 2, 0)
    shortest = CombinedLoader(_loaders(), "min_size")
    assert len(shortest) == 2 and [batch for batch, _, _ in _read(shortest)] == [{"a": a0, "b": b0}, {"a": a1, "b": b1}]
    sequential = CombinedLoader(_loaders(), "sequential")
    assert len(sequential) == 5
    assert _read(sequential) == [(a0, 0, 0), (a1, 1, 0), (b0, 0, 1), (b1, 1, 1), (b2, 2, 1)]
    listed = CombinedLoader(list(_loaders().values()), "min_size")
    assert _read(listed)[0] == ([a0, b0], 0, 0)
    with pytest.raises(ValueError, match="Unsupported mode 'longest'"):
        CombinedLoader(_loaders(), "longest")


class TwoSources(Classifier):
    """Trains on the sum of two losses, one per loader of a dict; records what each step received."""

    def __init__(self):
        super().__init__()
        self.received = []

    def training_step(self, batch, batch_idx):
        self.received.append((sorted(batch), len(batch["small"][1]), len(batch["large"][1])))
        (xs, ys), (xl, yl) = batch["small"], batch["large"]
        return F.cross_entropy(self(xs), ys) + F.cross_entropy(self(xl), yl)


def test_fit_combines_a_dict_of_training_loaders_cycling_the_shorter(tmp_path):
    model = TwoSources()
    loaders = {"small": DataLoader(blobs(32), batch_size=16), "large": DataLoader(blobs(80), batch_size=16)}
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2, logger=False, enable_checkpointing=False))
    trainer.fit(model, loaders)
    assert trainer.num_training_batches == 5 and trainer.global_step == 10  # the longest loader's 5 batches
    assert model.received[:5] == [(["large", "small"], 16, 16)] * 5


def test_fit_takes_a_combined_loader_in_its_own_mode_and_refuses_sequential(tmp_path):
    model = TwoSources()
    loaders = {"small": DataLoader(blobs(32), batch_size=16), "large": DataLoader(blobs(80), batch_size=16)}
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False))
    trainer.fit(model, CombinedLoader(loaders, "min_size"))
    assert trainer.global_step == 2
    with pytest.raises(ValueError, match="sequential"):
        Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=False)).fit(
            TwoSources(), CombinedLoader(loaders, "sequential"))


@pytest.mark.parity
def test_every_mode_reads_as_lightnings_combined_loader():
    torch = pytest.importorskip("torch")
    from tests.test_lightning_ports import _import_lightning

    _import_lightning()
    from lightning.pytorch.utilities import CombinedLoader as LightningCombinedLoader

    for mode in ("min_size", "max_size_cycle", "max_size", "sequential"):
        theirs = LightningCombinedLoader({"a": torch.utils.data.DataLoader(range(6), batch_size=4),
                                          "b": torch.utils.data.DataLoader(range(15), batch_size=5)}, mode)
        iter(theirs)
        assert len(CombinedLoader(_loaders(), mode)) == len(theirs)
        assert _read(CombinedLoader(_loaders(), mode)) == _read(theirs), mode


def test_a_list_of_batches_stays_one_loader(tmp_path):
    """Ember reads a plain list of ``(x, y)`` batches as one loader: it is not a list of loaders to combine."""
    batches = [(x, y) for x, y in DataLoader(blobs(48), batch_size=16)]
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False))
    trainer.fit(Classifier(), batches)
    assert trainer.num_training_batches == 3 and trainer.global_step == 3


class PerLoader(Classifier):
    """Logs the validation / test loss of each loader and records the dataloader_idx each step was given."""

    def __init__(self):
        super().__init__()
        self.indices = []

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self.indices.append(dataloader_idx)
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        return self.validation_step(batch, batch_idx, dataloader_idx)


def test_evaluation_reads_a_dict_of_loaders_one_after_the_other(tmp_path):
    """As Lightning: a dict of validation / test loaders is read sequentially, each step given its loader's
    dataloader_idx, each loader's metrics suffixed with it; a CombinedLoader in another mode gives dict batches."""
    model = PerLoader()
    loaders = {"small": DataLoader(blobs(32), batch_size=16), "large": DataLoader(blobs(48), batch_size=16)}
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=1, logger=False,
                                       enable_checkpointing=False))
    trainer.fit(model, DataLoader(blobs(32), batch_size=16), loaders)
    assert model.indices == [0, 0, 1, 1, 1] and trainer.num_val_batches == [2, 3]
    assert {"val_loss/dataloader_idx_0", "val_loss/dataloader_idx_1"} <= set(trainer.callback_metrics)
    model.indices.clear()
    results = trainer.test(model, CombinedLoader(loaders, "sequential"), verbose=False)
    assert model.indices == [0, 0, 1, 1, 1] and len(results) == 2

    class DictBatches(Classifier):
        def validation_step(self, batch, batch_idx):
            x, y = batch["large"]
            self.log("val_loss", F.cross_entropy(self(x), y))

    results = trainer.validate(DictBatches(), CombinedLoader(loaders, "min_size"), verbose=False)
    assert trainer.num_val_batches == [2] and set(results[0]) == {"val_loss"}
