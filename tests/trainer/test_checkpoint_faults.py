"""Checkpoints when the disk says no: a save killed midway, a full disk, a folder that refuses writes.

The previous checkpoint must survive every failed save, a failure must name the file, a run folder that
cannot be written must be reported before the first epoch, and the temp file of a killed save must not
stay behind. The failures are real where this machine allows (a tiny tmpfs, an immutable folder);
a test that cannot set its failure up is skipped.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import uuid

import ember
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import Callback, ModelCheckpoint

from .models import Classifier, loader, trainer_kwargs


def temp_files(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def make_unwritable(folder):
    """Makes ``folder`` refuse new files, as root too (root ignores the permission bits, not the immutable
    flag); returns the function that undoes it."""
    folder = str(folder)
    if os.geteuid() != 0:
        os.chmod(folder, 0o500)
        return lambda: os.chmod(folder, 0o700)
    result = subprocess.run(["chattr", "+i", folder], capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot make a folder unwritable as root here (chattr: {result.stderr.strip()})")
    return lambda: subprocess.run(["chattr", "-i", folder], check=True)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 320 KiB file system of its own (tmpfs): room for one checkpoint of ``BIG``, not for two."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k", f"ember-test-{uuid.uuid4().hex[:8]}",
                             str(mount_point)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


BIG = {"hidden": 3000}  # weights plus momentum of Classifier(hidden=3000): about 200 KiB a checkpoint


class AtStep(Callback):
    """Calls ``action()`` at the end of training step ``step`` (before that step's checkpoint is written)."""

    def __init__(self, step: int, action):
        self.step, self.action = step, action

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            self.action()


def fit_saving_every_step(tmp_path, folder, max_steps: int, *callbacks, **module_arguments) -> Trainer:
    trainer = Trainer(**trainer_kwargs(tmp_path, max_steps=max_steps, logger=False, callbacks=[
        ModelCheckpoint(dirpath=folder, every_n_train_steps=1), *callbacks]))
    trainer.fit(Classifier(**module_arguments), loader())
    return trainer


def test_temp_file_of_a_save_killed_midway_is_removed_at_the_next_save(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    killed_save = textwrap.dedent("""
        import os, signal, sys
        import ember
        os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)  # killed just before the rename
        ember.save({"w": ember.ones(1000)}, sys.argv[1])
    """)
    process = subprocess.run([sys.executable, "-c", killed_save, str(folder / "epoch=0-step=7.ckpt")], timeout=60,
                             check=False)
    assert process.returncode == -signal.SIGKILL
    leftover = temp_files(folder)
    assert len(leftover) == 1 and leftover[0].startswith(".epoch=0-step=7.ckpt.")
    for name in ("notes.tmp", ".epoch=0-step=7.ckpt.backup", "run.ckpt.tmp"):  # not ember.save's: kept
        (folder / name).write_text("mine")

    fit_saving_every_step(tmp_path, folder, 2)

    assert temp_files(folder) == ["notes.tmp", "run.ckpt.tmp"]
    assert (folder / ".epoch=0-step=7.ckpt.backup").exists()
    assert ember.load(str(folder / "epoch=0-step=2.ckpt"))["global_step"] == 2


def test_disk_full_names_the_checkpoint_and_keeps_the_previous_one(tmp_path, tiny_disk):
    with pytest.raises(OSError) as info:
        fit_saving_every_step(tmp_path, tiny_disk, 3, **BIG)
    failed = str(tiny_disk / "epoch=0-step=2.ckpt")
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == failed and repr(failed) in str(info.value)
    assert ember.load(str(tiny_disk / "epoch=0-step=1.ckpt"))["global_step"] == 1  # intact, not deleted
    assert os.listdir(tiny_disk) == ["epoch=0-step=1.ckpt"]  # and no temp file fills the disk


def test_permission_error_names_the_checkpoint_and_keeps_the_previous_one(tmp_path):
    folder = tmp_path / "checkpoints"
    undo = []
    try:
        with pytest.raises(PermissionError) as info:
            fit_saving_every_step(tmp_path, folder, 3, AtStep(2, lambda: undo.append(make_unwritable(folder))))
    finally:
        for action in undo:
            action()
    failed = str(folder / "epoch=0-step=2.ckpt")
    assert info.value.filename == failed and repr(failed) in str(info.value)
    assert ember.load(str(folder / "epoch=0-step=1.ckpt"))["global_step"] == 1
    assert os.listdir(folder) == ["epoch=0-step=1.ckpt"]


class CountsSteps(Classifier):
    def __init__(self):
        super().__init__()
        self.save_hyperparameters(dict(self.hparams), logger=False)  # nothing logged before the first step
        self.steps = 0

    def training_step(self, batch, batch_idx):
        self.steps += 1
        return super().training_step(batch, batch_idx)


@pytest.mark.parametrize("where", ["checkpoint folder under a file", "checkpoint folder refusing writes",
                                   "run folder under a file"])
def test_unwritable_run_folder_is_reported_before_the_first_epoch(tmp_path, where):
    (tmp_path / "a_file").write_text("")
    undo = lambda: None
    if where == "checkpoint folder under a file":
        folder = tmp_path / "a_file" / "checkpoints"
        kwargs = trainer_kwargs(tmp_path, logger=False, callbacks=[ModelCheckpoint(dirpath=folder)])
    elif where == "checkpoint folder refusing writes":
        folder = tmp_path / "checkpoints"
        folder.mkdir()
        undo = make_unwritable(folder)
        kwargs = trainer_kwargs(tmp_path, logger=False, callbacks=[ModelCheckpoint(dirpath=folder)])
    else:  # the default CSV logger's version folder, under default_root_dir
        folder = tmp_path / "a_file" / "runs"
        kwargs = trainer_kwargs(folder, enable_checkpointing=False)
    module = CountsSteps()
    try:
        with pytest.raises(OSError) as info:
            Trainer(**kwargs, max_epochs=1).fit(module, loader())
    finally:
        undo()
    assert module.steps == 0
    assert str(folder) in str(info.value)
