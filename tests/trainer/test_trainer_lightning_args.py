"""Trainer arguments from Lightning: profiler, sync_batchnorm, reload_dataloaders_every_n_epochs, benchmark,
use_distributed_sampler, barebones, enable_autolog_hparams."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from ember.trainer import DataModule, Trainer
from ember.trainer.callbacks import Timer
from ember.trainer.loggers import CSVLogger
from ember.trainer.profilers import AdvancedProfiler, SimpleProfiler
from ember.trainer.strategies import Strategy

from .models import Classifier, loader, trainer_kwargs


def _trainer(tmp_path, **kwargs):
    return Trainer(**trainer_kwargs(tmp_path, **{"logger": False, "enable_checkpointing": False, **kwargs}))


def test_simple_profiler_prints_a_report_of_hooks_and_actions(tmp_path, capsys):
    trainer = _trainer(tmp_path, max_epochs=2, limit_train_batches=3, limit_val_batches=1, profiler="simple",
                       enable_checkpointing=True)
    trainer.fit(Classifier(), loader(), loader())
    out = capsys.readouterr().out
    assert "FIT Profiler Report" in out
    assert "Mean duration (s)" in out and "Num calls" in out and "Total time (s)" in out
    rows = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in out.splitlines()
            if line.startswith("|  ") and "Action" not in line}
    assert rows["run_training_epoch"] == "2"
    assert rows["run_training_batch"] == "6"
    assert rows["[_TrainingEpochLoop].train_dataloader_next"] == "6"
    assert rows["[LightningModule]Classifier.training_step"] == "6"
    assert rows["[LightningModule]Classifier.optimizer_step"] == "6"
    assert rows["[LightningModule]Classifier.validation_step"] == "2"
    assert any(name.startswith("[Callback]ModelCheckpoint") and name.endswith("on_validation_end") for name in rows)


def test_simple_profiler_writes_its_report_to_a_file(tmp_path, capsys):
    profiler = SimpleProfiler(dirpath=tmp_path / "perf", filename="perf_logs")
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2, profiler=profiler)
    trainer.fit(Classifier(), loader())
    trainer.test(Classifier(), loader(), verbose=False)
    assert "Profiler Report" not in capsys.readouterr().out
    fit_report = (tmp_path / "perf" / "fit-perf_logs.txt").read_text()
    assert "FIT Profiler Report" in fit_report and "run_training_batch" in fit_report
    test_report = (tmp_path / "perf" / "test-perf_logs.txt").read_text()
    assert "[LightningModule]Classifier.test_step" in test_report and "run_training_batch" not in test_report


def test_advanced_profiler_reports_cprofile_stats_per_action(tmp_path):
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2,
                       profiler=AdvancedProfiler(dirpath=tmp_path, filename="adv"))
    trainer.fit(Classifier(), loader())
    report = (tmp_path / "fit-adv.txt").read_text()
    assert "Profile stats for: [LightningModule]Classifier.training_step" in report
    assert "ncalls" in report and "cumulative" in report
    assert "cross_entropy" in report  # the training step's own calls are in its table
    assert isinstance(Trainer(profiler="advanced", logger=False).profiler, AdvancedProfiler)


def test_an_unknown_profiler_is_an_error():
    with pytest.raises(ValueError, match="profiler"):
        Trainer(profiler="fancy")


class CountingData(DataModule):
    def __init__(self):
        super().__init__()
        self.train_calls = self.val_calls = 0

    def train_dataloader(self):
        self.train_calls += 1
        return loader()

    def val_dataloader(self):
        self.val_calls += 1
        return loader()


@pytest.mark.parametrize(("every", "expected"), [(0, 1), (1, 3), (2, 2)])
def test_reload_dataloaders_every_n_epochs(tmp_path, every, expected):
    data = CountingData()
    trainer = _trainer(tmp_path, max_epochs=3, limit_train_batches=2, limit_val_batches=1,
                       reload_dataloaders_every_n_epochs=every)
    trainer.fit(Classifier(), datamodule=data)
    assert data.train_calls == expected
    assert data.val_calls == expected
    assert trainer.global_step == 6


def test_benchmark_sets_ember_backends_cudnn_benchmark(tmp_path, monkeypatch):
    import ember.backends.cudnn

    monkeypatch.setattr(ember.backends.cudnn, "benchmark", False)
    Trainer(benchmark=True, logger=False)
    assert ember.backends.cudnn.benchmark is True
    Trainer(deterministic=True, logger=False)
    assert ember.backends.cudnn.benchmark is False


def test_barebones_turns_off_the_opt_out_features_and_rejects_them(tmp_path):
    model = Classifier()
    trainer = Trainer(barebones=True, default_root_dir=str(tmp_path), max_epochs=1, limit_train_batches=2)
    assert trainer.loggers == [] and trainer.callbacks == []
    assert trainer.log_every_n_steps == 0 and trainer.num_sanity_val_steps == 0
    with pytest.warns(UserWarning, match="barebones"):
        trainer.fit(model, loader(), loader())
    assert trainer.global_step == 2 and trainer.callback_metrics == {}
    assert not os.listdir(tmp_path)
    for bad in ({"enable_checkpointing": True}, {"logger": CSVLogger(str(tmp_path))}, {"enable_progress_bar": True},
                {"enable_model_summary": True}, {"log_every_n_steps": 10}, {"num_sanity_val_steps": 2},
                {"profiler": "simple"}, {"detect_anomaly": True}, {"fast_dev_run": True}):
        with pytest.raises(ValueError, match="barebones"):
            Trainer(barebones=True, **bad)
    # callbacks are still allowed (only Lightning's opt-out features are off)
    timer = Timer()
    Trainer(barebones=True, callbacks=[timer], max_epochs=1, limit_train_batches=1).fit(Classifier(), loader())
    assert timer.time_elapsed("train") > 0


def test_enable_autolog_hparams_false_logs_no_hyperparameters(tmp_path):
    logger = CSVLogger(str(tmp_path))
    _trainer(tmp_path, max_epochs=1, limit_train_batches=1, logger=logger,
             enable_autolog_hparams=False).fit(Classifier(), loader())
    assert not os.path.exists(os.path.join(logger.log_dir, "hparams.yaml"))
    logger = CSVLogger(str(tmp_path))
    _trainer(tmp_path, max_epochs=1, limit_train_batches=1, logger=logger).fit(Classifier(), loader())
    assert os.path.exists(os.path.join(logger.log_dir, "hparams.yaml"))


class Recording(Strategy):
    """A one-process strategy that records which loaders it was asked to split."""

    def __init__(self):
        self.kinds = []

    def process_dataloader(self, loader, kind):
        self.kinds.append(kind)
        return loader


@pytest.mark.parametrize(("use", "expected"), [(True, ["train", "val", "test"]), (False, [])])
def test_use_distributed_sampler_false_leaves_the_loaders_to_the_user(tmp_path, use, expected):
    strategy = Recording()
    trainer = _trainer(tmp_path, strategy=strategy, max_epochs=1, limit_train_batches=1,
                       use_distributed_sampler=use)
    trainer.fit(Classifier(), loader(), loader())
    trainer.test(Classifier(), loader(), verbose=False)
    assert strategy.kinds == expected


_DDP_SCRIPT = textwrap.dedent('''
    import sys
    import ember
    from ember import nn
    from ember.trainer import Trainer
    sys.path.insert(0, sys.argv[1])
    from tests.trainer.models import Classifier, loader

    class WithNorm(Classifier):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))

    model = WithNorm()
    data = loader(shuffle=True)
    trainer = Trainer(strategy="ddp", devices=1, sync_batchnorm=sys.argv[2] == "1", max_epochs=1,
                      limit_train_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False)
    trainer.fit(model, data)
    print(type(model.net[1]).__name__)
''')


def test_sync_batchnorm_under_ddp_converts_the_batch_norms(tmp_path):
    pytest.importorskip("mpi4py")
    script = tmp_path / "job.py"
    script.write_text(_DDP_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, str(script), root, "1"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)  # (a process of its own: it joins MPI)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "SyncBatchNorm"
