"""Lightning behaviours the ported Lightning programs (tests/lightning_ports) rely on: metric dicts of tensors,
``add_dataloader_idx=False``, ``fit_loop.max_epochs`` before another ``fit``, ``is_last_batch`` with a loader
without length, ``state.fn`` after a run.

``observe`` runs one small program on either framework; its observations are compared with the same literal
values for Ember and (where torch and Lightning are installed) for Lightning itself.
"""

from __future__ import annotations

import types

import ember
import numpy as np
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import Callback, EarlyStopping, ModelCheckpoint

from .models import Classifier, read_csv, trainer_kwargs, weights


def _ember() -> types.SimpleNamespace:
    import ember.trainer as L
    from ember import data

    return types.SimpleNamespace(L=L, lib=ember, nn=ember.nn, optim=ember.optim, Tensor=ember.Tensor,
                                 DataLoader=data.DataLoader, TensorDataset=data.TensorDataset,
                                 IterableDataset=data.IterableDataset)


def _lightning() -> types.SimpleNamespace:
    from tests.test_lightning_ports import _import_lightning

    L = _import_lightning()
    import torch
    from torch.utils import data

    return types.SimpleNamespace(L=L, lib=torch, nn=torch.nn, optim=torch.optim, Tensor=torch.Tensor,
                                 DataLoader=data.DataLoader, TensorDataset=data.TensorDataset,
                                 IterableDataset=data.IterableDataset)


def observe(fw, root) -> dict:
    """What a ported program sees of the five behaviours, on framework ``fw`` (``_ember()`` / ``_lightning()``)."""
    L, lib = fw.L, fw.lib
    x = lib.ones(8, 2)

    class Module(L.LightningModule if hasattr(L, "LightningModule") else L.TrainingModule):
        def __init__(self, val_names=("a", "b")):
            super().__init__()
            self.layer = fw.nn.Linear(2, 1)
            self.val_names, self.last = val_names, []

        def training_step(self, batch, batch_idx):
            self.log("step_value", float(batch_idx), prog_bar=True)
            self.last.append(self.trainer.is_last_batch)
            return self.layer(batch[0]).pow(2).mean()

        def validation_step(self, batch, batch_idx, dataloader_idx=0):
            self.log(self.val_names[dataloader_idx], float(dataloader_idx + 1), add_dataloader_idx=False)
            self.log("c", 1.0)

        def configure_optimizers(self):
            return fw.optim.SGD(self.parameters(), lr=0.1)

    class Stream(fw.IterableDataset):  # five batches, no __len__
        def __iter__(self):
            return iter([(x[i],) for i in range(5)])

    kwargs = {"default_root_dir": str(root), "logger": False, "enable_checkpointing": False,
              "enable_progress_bar": False, "enable_model_summary": False, "num_sanity_val_steps": 0,
              "log_every_n_steps": 1}
    seen = {}
    model, trainer = Module(), L.Trainer(max_epochs=1, **kwargs)
    trainer.fit(model, fw.DataLoader(fw.TensorDataset(x), batch_size=2))
    value = trainer.callback_metrics["step_value"]
    seen["callback_metric"] = (isinstance(value, fw.Tensor), tuple(value.shape), value.item())
    value = trainer.logged_metrics["step_value"]
    seen["logged_metric"] = (isinstance(value, fw.Tensor), tuple(value.shape), value.item())
    seen["progress_bar_metric"] = trainer.progress_bar_metrics["step_value"]
    seen["fn_after_fit"], seen["stage_after_fit"] = str(trainer.state.fn.value if hasattr(trainer.state.fn, "value")
                                                        else trainer.state.fn), trainer.state.stage

    trainer.fit_loop.max_epochs = 3  # train two more epochs with the same trainer
    seen["max_epochs"] = trainer.max_epochs
    trainer.fit(model, fw.DataLoader(fw.TensorDataset(x), batch_size=2))
    seen["refit"] = (trainer.current_epoch, trainer.global_step)

    loaders = [fw.DataLoader(fw.TensorDataset(x), batch_size=2), fw.DataLoader(fw.TensorDataset(x), batch_size=4)]
    trainer = L.Trainer(**kwargs)
    seen["validate"] = trainer.validate(Module(), loaders, verbose=False)
    seen["validate_callback_metrics"] = sorted(trainer.callback_metrics)
    try:
        L.Trainer(**kwargs).validate(Module(val_names=("v", "v")), loaders, verbose=False)
    except Exception as error:  # noqa: BLE001 (Lightning raises a MisconfigurationException, Ember a ValueError)
        seen["clash"] = str(error).split(". ")[0]

    model = Module()
    L.Trainer(max_epochs=2, **kwargs).fit(model, fw.DataLoader(Stream(), batch_size=None))
    seen["is_last_batch"] = model.last
    return seen


EXPECTED = {
    "callback_metric": (True, (), 3.0),
    "logged_metric": (True, (), 3.0),
    "progress_bar_metric": 3.0,  # (Lightning's progress-bar metrics are numbers)
    "fn_after_fit": "fit",
    "stage_after_fit": None,
    "max_epochs": 3,
    "refit": (3, 12),
    "validate": [{"a": 1.0, "c/dataloader_idx_0": 1.0}, {"b": 2.0, "c/dataloader_idx_1": 1.0}],
    "validate_callback_metrics": ["a", "b", "c/dataloader_idx_0", "c/dataloader_idx_1"],
    "clash": "You called `self.log(v, ...)` twice in `validation_step` with different arguments",
    "is_last_batch": [False, False, False, False, True] * 2,
}


def test_ported_program_sees_lightnings_metrics_limits_and_last_batch(tmp_path):
    seen = observe(_ember(), tmp_path)
    assert seen == EXPECTED
    assert type(seen["progress_bar_metric"]) is float


@pytest.mark.parity
def test_the_same_program_on_lightning_sees_the_same(tmp_path):
    seen = observe(_lightning(), tmp_path)
    seen["stage_after_fit"] = None if seen["stage_after_fit"] is None else str(seen["stage_after_fit"])
    assert seen == EXPECTED


# -- metric tensors: what reads them keeps working ---------------------------------------------------------


def test_callbacks_and_csv_read_the_tensor_metrics_as_numbers(tmp_path):
    checkpoint = ModelCheckpoint(monitor="val_loss", filename="{epoch}-{val_loss:.3f}", save_top_k=1)
    stopping = EarlyStopping(monitor="val_loss", patience=10)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2, limit_train_batches=2, limit_val_batches=2),
                      callbacks=[checkpoint, stopping])
    from .models import loader

    trainer.fit(Classifier(), loader(), loader())
    val_loss = trainer.callback_metrics["val_loss"]
    assert isinstance(val_loss, ember.Tensor) and val_loss.shape == ()
    assert f"val_loss={val_loss.item():.3f}.ckpt" in checkpoint.best_model_path  # formatted as a number
    assert float(stopping.best_score) == pytest.approx(val_loss.item())
    rows = read_csv(tmp_path / "lightning_logs" / "version_0" / "metrics.csv")
    last = [row["val_loss"] for row in rows if row.get("val_loss")][-1]
    assert float(last) == pytest.approx(val_loss.item())  # (CSV rows hold numbers)


def test_a_value_written_into_callback_metrics_stays_until_logged_again(tmp_path):
    class Writes(Callback):
        def on_train_epoch_start(self, trainer, module):
            trainer.callback_metrics["external"] = ember.tensor(5.0)

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2, logger=False,
                                       enable_checkpointing=False), callbacks=[Writes()])
    from .models import loader

    trainer.fit(Classifier(), loader())
    metrics = trainer.callback_metrics
    assert metrics["external"].item() == 5.0 and "train_loss" in metrics
    assert trainer.callback_metrics is metrics  # the same dict at every read, as Lightning's


# -- a loader without length: the batch fetched ahead keeps resuming exact ----------------------------------


class _Stream(ember.data.IterableDataset):
    """Seven batches of four blobs samples, with no ``__len__``."""

    def __init__(self):
        rng = np.random.default_rng(3)
        self.x = rng.normal(size=(28, 4)).astype(np.float32)
        self.y = rng.integers(0, 3, 28)

    def __iter__(self):
        for i in range(0, 28, 4):
            yield ember.tensor(self.x[i:i + 4]), ember.tensor(self.y[i:i + 4])


class _SaveEveryStep(Callback):
    def __init__(self, folder):
        self.folder = folder

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        trainer.save_checkpoint(str(self.folder / f"batches{trainer.state.total_batch_idx + 1}.ckpt"))


def _fit_stream(root, ckpt_path=None, callbacks=()):
    ember.manual_seed(0)
    model = Classifier(dropout=0.3)
    trainer = Trainer(**trainer_kwargs(root, max_epochs=2, accumulate_grad_batches=2, logger=False,
                                       enable_checkpointing=False), callbacks=list(callbacks))
    trainer.fit(model, ember.data.DataLoader(_Stream(), batch_size=None), ckpt_path=ckpt_path)
    return trainer, model


def test_loader_without_length_steps_at_its_last_batch_and_resumes_exactly_from_every_step(tmp_path):
    reference, reference_model = _fit_stream(tmp_path / "straight", callbacks=[_SaveEveryStep(tmp_path)])
    # seven batches, two per step: the last batch steps alone (known to be last), as in Lightning
    assert reference.global_step == 8
    expected = weights(reference_model)
    # after a step: mid-epoch, after the last batch of epoch 0 (its end-of-epoch work not done), inside epoch 1 (a
    # checkpoint inside an accumulation window cannot resume exactly: the gradients summed so far are not saved)
    for total in (4, 7, 11):
        trainer, model = _fit_stream(tmp_path / f"resumed{total}", ckpt_path=str(tmp_path / f"batches{total}.ckpt"))
        assert trainer.global_step == 8 and trainer.current_epoch == 2
        got = weights(model)
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"resumed at batch {total}: {key}")
