"""The ``ember`` command, driven through click's runner as a user would type it."""

from __future__ import annotations

import json
import pathlib

import pytest
from click.testing import CliRunner

from ember.cli.main import main
from ember.cli.recipe import builtin_recipes

SMALL = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
         "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def small_overrides(name: str, tmp_path=None) -> list[str]:
    """Overrides that make a built-in recipe finish in a few seconds (writing tiny data for the recipes
    that read users' files in their real formats)."""
    extra = {
        "digits-lenet": ["data.train_size=256", "data.test_size=64"],
        "shapes-resnet": ["data.train_size=128", "data.test_size=32", "data.num_workers=0", "data.batch_size=32"],
        "vowels-cnn": ["data.train_size=40", "data.val_size=10", "data.test_size=10"],
        "pythondocs-chargpt": ["data.block_size=16", "model.sample_length=8", "trainer.val_check_interval=2",
                               "model.model.n_layer=1"],
        "docstrings-textcnn": ["data.batch_size=8"],
    }.get(name, [])
    if name in WRITERS:
        extra = WRITERS[name](tmp_path)
    return SMALL + extra


def _write_image_folder(tmp_path):
    from PIL import Image
    import numpy as np

    rng = np.random.default_rng(0)
    for label in ["cat", "dog"]:
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(tmp_path / "images" / label / f"{i}.png")
    return [f"data.dataset={tmp_path / 'images'}", "data.image_size=32", "data.batch_size=4", "data.num_workers=0",
            "model.network.num_classes=2"]


def _write_mnist(tmp_path):
    import numpy as np

    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in [("train", 64), ("t10k", 16)]:
        images = rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            np.array([0x803, n, 28, 28], ">i4").tobytes() + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(np.array([0x801, n], ">i4").tobytes() + labels.tobytes())
    return [f"data.root={tmp_path / 'data'}", "data.batch_size=16"]


def _write_cifar(tmp_path):
    import pickle

    import numpy as np

    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 255, (8, 3072), dtype=np.uint8), "labels": rng.integers(0, 10, 8).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"label_names": [f"c{i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return [f"data.root={tmp_path / 'data'}", "data.batch_size=8", "data.num_workers=0"]


def _write_audio_folder(tmp_path):
    import numpy as np
    import soundfile

    rng = np.random.default_rng(0)
    for label, freq in [("low", 300.0), ("high", 2000.0)]:
        (tmp_path / "clips" / label).mkdir(parents=True)
        for i in range(6):
            t = np.arange(16000) / 16000
            clip = 0.5 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(16000)
            soundfile.write(tmp_path / "clips" / label / f"{i}.wav", clip.astype(np.float32), 16000)
    return [f"data.dataset={tmp_path / 'clips'}", "model.network.n_classes=2", "data.batch_size=4"]


def _write_csv(tmp_path):
    rows = [(1, "stocks fell as markets closed"), (2, "the team won the final match"),
            (1, "bank rates rose again today"), (2, "a late goal decided the game")] * 6
    for name in ["train.csv", "test.csv"]:
        (tmp_path / name).write_text("".join(f'"{label}","{text}"\n' for label, text in rows))
    return [f"data.train_file={tmp_path / 'train.csv'}", f"data.test_file={tmp_path / 'test.csv'}",
            "model.network.num_classes=2", "data.batch_size=4", "data.min_frequency=1"]


WRITERS = {"csv-textcnn": _write_csv, "imagefolder-resnet": _write_image_folder, "mnist-lenet": _write_mnist, "cifar10-resnet": _write_cifar,
           "audiofolder-cnn": _write_audio_folder}


def test_version_and_help():
    assert "ember" in run("--version").output
    for command in ["fit", "validate", "test", "predict", "recipes", "check", "summary", "runs", "plot"]:
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_recipes_list_show_and_copy(tmp_path):
    listing = run("recipes").output
    assert "digits-lenet" in listing and "LeNet-5" in listing
    assert "class_path" in run("recipes", "show", "digits-lenet").output
    assert run("recipes", "copy", "digits-lenet", "mine.yaml").exit_code == 0
    original = (tmp_path / "mine.yaml").read_text()
    again = run("recipes", "copy", "digits-lenet", "mine.yaml")
    assert again.exit_code == 2 and "already exists" in again.output
    assert (tmp_path / "mine.yaml").read_text() == original


def test_fit_writes_a_run_directory_that_reproduces_itself(tmp_path):
    result = run("fit", "digits-lenet", *small_overrides("digits-lenet"))
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "digits-lenet" / "version_0"
    for name in ["config.yaml", "metrics.csv", "summary.json"]:
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["global_step"] == 2
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert "run directory" in result.output and "val_acc" in result.output
    again = run("fit", str(run_dir / "config.yaml"))
    assert again.exit_code == 0, again.output
    second = tmp_path / "runs" / "digits-lenet" / "version_1"
    assert (second / "metrics.csv").read_text() == (run_dir / "metrics.csv").read_text()
    listing = run("runs").output
    assert "digits-lenet" in listing and "completed" in listing and "version_1" in listing


def test_resume_from_last_checkpoint_continues_the_run(tmp_path):
    args = small_overrides("digits-lenet")
    assert run("fit", "digits-lenet", *args).exit_code == 0
    longer = [a for a in args if not a.startswith("trainer.max_epochs")] + ["trainer.max_epochs=2"]
    result = run("fit", "digits-lenet", *longer, "--ckpt", "last")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "digits-lenet" / "version_0" / "summary.json").read_text())
    assert summary["global_step"] == 4
    assert not (tmp_path / "runs" / "digits-lenet" / "version_1").exists()


def test_print_config_shows_resolved_recipe():
    result = run("fit", "digits-lenet", "trainer.max_epochs=7", "--print-config")
    assert result.exit_code == 0 and "max_epochs: 7" in result.output and "name: digits-lenet" in result.output


def write_recipe(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


GOOD = """\
seed: 0
model:
  class_path: ember.trainer.tasks.Classifier
  init_args:
    network:
      class_path: ember.vision.models.LeNet5
      init_args: {num_classes: 10}
data:
  class_path: ember.vision.data.ImageClassificationData
  init_args: {dataset: synthetic_digits, batch_size: 16, train_size: 64, test_size: 32}
trainer:
  max_epochs: 1
"""


@pytest.mark.parametrize(
    "text, overrides, expected",
    [
        (GOOD.replace("num_classes: 10", "num_clases: 10"), [],
         ["model.init_args.network.init_args.num_clases", "unknown argument of ember.vision.models.LeNet5",
          "did you mean 'num_classes'"]),
        (GOOD.replace("batch_size: 16", "batch_size: sixteen"), [],
         ["data.init_args.batch_size", "expected int, got str 'sixteen'"]),
        (GOOD.replace("ember.vision.models.LeNet5", "ember.vision.models.LeNet6"), [],
         ["model.init_args.network.class_path", "cannot import 'ember.vision.models.LeNet6'", "LeNet5"]),
        (GOOD.replace("ember.vision.models.LeNet5", "nonexistent_package.Model"), [],
         ["cannot import 'nonexistent_package.Model'"]),
        (GOOD, ["trainer.max_epoch=3"], ["trainer.max_epoch", "unknown argument of ember.trainer.Trainer",
                                          "did you mean 'max_epochs'"]),
        (GOOD, ["data.init_args.batch_sise=3"], ["batch_sise", "did you mean 'batch_size'"]),
        (GOOD, ["~model.init_args.nothing"], ["no key 'model.init_args.nothing'"]),
        (GOOD.replace("max_epochs: 1", "max_epochs: [1"), [], ["r.yaml:13:1: malformed YAML"]),
    ],
)
def test_recipe_mistakes_exit_2_with_file_key_and_suggestion(tmp_path, text, overrides, expected):
    path = write_recipe(tmp_path, text)
    result = run("fit", path, *overrides)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in expected:
        assert fragment in result.output, (fragment, result.output)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("metrics.csv"))


def test_missing_recipe_file_exits_2():
    result = run("fit", "does-not-exist.yaml")
    assert result.exit_code == 2 and "does-not-exist.yaml: no such recipe file" in result.output


def test_check_reports_every_problem_at_once(tmp_path):
    text = GOOD.replace("num_classes: 10", "num_clases: 10").replace("batch_size: 16", "batch_size: x")
    result = run("check", write_recipe(tmp_path, text), "trainer.max_epochz=1")
    assert result.exit_code == 2
    assert "num_clases" in result.output and "batch_size" in result.output and "max_epochz" in result.output
    assert run("check", write_recipe(tmp_path, GOOD, "ok.yaml")).exit_code == 0


def test_summary_prints_the_model_table(tmp_path):
    result = run("summary", write_recipe(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    assert "conv1" in result.output and "Conv2d" in result.output


def test_plot_names_the_extra_when_matplotlib_is_missing(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.csv").write_text("epoch,step,val_acc\n0,10,0.5\n1,20,0.7\n")
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = run("plot", str(run_dir))
    assert result.exit_code == 1 and "pip install 'ember[plot]'" in result.output


@pytest.mark.parametrize("name", sorted(builtin_recipes()))
def test_every_builtin_recipe_runs_end_to_end(name, tmp_path):
    result = run("fit", name, *small_overrides(name, tmp_path))
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").glob("*/version_0"))
    assert (run_dir / "config.yaml").is_file() and (run_dir / "metrics.csv").is_file()


def test_help_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys\nfrom ember.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numba', 'PIL', 'soundfile', 'tqdm', 'ember.trainer', 'ember.nn', 'yaml') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "HEAVY []" in out, out


def test_sigint_leaves_a_checkpoint_that_resumes_to_the_uninterrupted_result(tmp_path):
    """A real SIGINT in a real `ember fit` process (sent by a callback at step 5 of 12, mid-epoch)."""
    import os
    import subprocess
    import sys

    import numpy as np

    import ember

    repo = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    common = ["data.train_size=224", "data.test_size=32", "data.batch_size=32", "trainer.max_epochs=2",
              "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]

    def ember_fit(*args, run_dir):
        return subprocess.run([sys.executable, "-m", "ember.cli.main", "fit", "digits-lenet", *common, *args,
                               "--run-dir", str(run_dir)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)

    interrupt = "trainer.callbacks=[{class_path: tests.cli.interrupt_callback.InterruptAt, init_args: {step: 5}}]"
    first = ember_fit(interrupt, run_dir=tmp_path / "interrupted")
    assert first.returncode == 130, first.stdout + first.stderr
    assert "interrupted" in first.stdout and "--ckpt last" in first.stdout
    assert (tmp_path / "interrupted" / "checkpoints" / "last.ckpt").is_file()
    resumed = ember_fit("--ckpt", "last", run_dir=tmp_path / "interrupted")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    reference = ember_fit(run_dir=tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr

    def weights(run):
        return ember.load(str(tmp_path / run / "checkpoints" / "last.ckpt"))["state_dict"]

    a, b = weights("interrupted"), weights("reference")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key]._data, b[key]._data, err_msg=key)
    assert (tmp_path / "interrupted" / "metrics.csv").read_text() == (tmp_path / "reference" / "metrics.csv").read_text()
