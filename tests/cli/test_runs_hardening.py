"""Run directories, resume commands, error reports and ``ember runs`` under the conditions that broke them:
two fits started together, a hostile ``name``, an interrupted run resumed by its printed command, a data
loader worker failing, a damaged ``summary.json`` and a double Ctrl-C."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner
from ember.cli.main import main
from ember.trainer.callbacks import Callback

REPO = pathlib.Path(__file__).resolve().parents[2]
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
SMALL = ["data.train_size=64", "data.test_size=32", "data.batch_size=32", "trainer.max_epochs=1", *QUIET]


class SendSigint(Callback):
    """Sends this process ``times`` real SIGINTs, one right after the other, at the end of step ``step``."""

    def __init__(self, step: int, times: int = 1):
        self.step, self.times = step, times

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


def sigint_at(step: int, times: int = 1) -> str:
    return (f"trainer.callbacks=[{{class_path: tests.cli.test_runs_hardening.SendSigint, "
            f"init_args: {{step: {step}, times: {times}}}}}]")


def environment() -> dict:
    """This Python's `ember` first on PATH, the repository importable (for the callback above)."""
    path = os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")])
    python_path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PATH=path, PYTHONPATH=python_path)


def ember(*args, cwd, wait=True):
    command = [sys.executable, "-m", "ember.cli.main", *map(str, args)]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=environment(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, check=False, cwd=cwd, env=environment(), capture_output=True, text=True,
                          timeout=300)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def summary_of(run_dir: pathlib.Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_two_fits_started_together_write_two_version_folders(tmp_path):
    fits = [ember("fit", "digits-lenet", *SMALL, cwd=tmp_path, wait=False) for _ in range(2)]
    outputs = [fit.communicate(timeout=300) for fit in fits]
    for fit, (out, err) in zip(fits, outputs):
        assert fit.returncode == 0, out + err
    runs = tmp_path / "runs" / "digits-lenet"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0", "version_1"]
    printed = sorted(line.split(": ")[1] for out, _ in outputs for line in out.splitlines()
                     if "run directory:" in line)
    assert printed == ["runs/digits-lenet/version_0", "runs/digits-lenet/version_1"]
    first, second = runs / "version_0", runs / "version_1"
    # same seed, same recipe: two whole, identical runs (not one folder holding pieces of both)
    assert (first / "metrics.csv").read_text() == (second / "metrics.csv").read_text()
    assert (first / "metrics.csv").read_text().count("epoch,") == 1
    for run_dir in (first, second):
        assert summary_of(run_dir)["status"] == "completed" and summary_of(run_dir)["global_step"] == 2
        assert str(run_dir.relative_to(tmp_path)) in summary_of(run_dir)["last_model_path"]


@pytest.mark.parametrize("name", ["../../escaped", "ABSOLUTE"])
def test_a_name_outside_the_runs_folder_is_refused(tmp_path, monkeypatch, name):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    if name == "ABSOLUTE":
        name = str(tmp_path / "escaped")
    result = run("fit", "digits-lenet", f"name={name}", *SMALL)
    assert result.exit_code == 2, result.output
    assert "name:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "a" / "escaped").exists() and not (tmp_path / "escaped").exists()


def test_the_printed_resume_command_resumes_that_run(tmp_path):
    """An interrupted run with overrides, then a later run of the same recipe: the command printed by the
    first must continue the first (its folder, its overrides), not the latest run of the recipe."""
    overrides = ["data.train_size=128", "data.test_size=32", "data.batch_size=32", "trainer.max_epochs=2",
                 *QUIET]
    first = ember("fit", "digits-lenet", *overrides, sigint_at(3), cwd=tmp_path)
    assert first.returncode == 130, first.stdout + first.stderr
    runs = tmp_path / "runs" / "digits-lenet"
    assert summary_of(runs / "version_0")["status"] == "interrupted"
    later = ember("fit", "digits-lenet", *SMALL, cwd=tmp_path)
    assert later.returncode == 0, later.stdout + later.stderr
    later_summary = (runs / "version_1" / "summary.json").read_text()

    said = [line.partition("resume with: ")[2] for line in first.stdout.splitlines()
            if "resume with:" in line]
    assert len(said) == 1, first.stdout
    resumed = subprocess.run(said[0], check=False, shell=True, cwd=tmp_path, env=environment(),
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, said[0] + "\n" + resumed.stdout + resumed.stderr
    summary = summary_of(runs / "version_0")
    assert summary["status"] == "completed" and summary["global_step"] == 8  # 4 steps x 2 epochs
    assert (runs / "version_1" / "summary.json").read_text() == later_summary
    assert sorted(p.name for p in runs.iterdir()) == ["version_0", "version_1"]


def test_a_second_ctrl_c_exits_130_and_marks_the_run_interrupted(tmp_path):
    result = ember("fit", "digits-lenet", *SMALL, sigint_at(1, times=2), "--run-dir", "aborted", cwd=tmp_path)
    assert result.returncode == 130, result.stdout + result.stderr
    assert summary_of(tmp_path / "aborted")["status"] == "interrupted"
    assert "Ctrl-C again: aborting" in result.stderr and "Traceback" not in result.stderr


def _image_folder_of_broken_files(root: pathlib.Path) -> pathlib.Path:
    for label in ["cat", "dog"]:
        (root / label).mkdir(parents=True)
        for i in range(4):
            (root / label / f"{i}.png").write_bytes(b"not a png")
    return root


def test_a_worker_error_is_reported_in_one_line_as_in_the_main_process(tmp_path):
    images = _image_folder_of_broken_files(tmp_path / "images")
    args = ["fit", "imagefolder-resnet", f"data.dataset={images}", "data.image_size=32",
            "data.batch_size=4", "model.network.num_classes=2", "trainer.max_epochs=1",
            "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.num_sanity_val_steps=0",
            *QUIET]
    in_process = run(*args, "data.num_workers=0", "--run-dir", "zero")
    in_worker = run(*args, "data.num_workers=2", "--run-dir", "two")
    for result in (in_process, in_worker):
        assert result.exit_code == 1, result.output
        errors = [line for line in result.output.splitlines() if line.strip()]
        assert errors[-1] == "(run again with --debug for the full traceback)", result.output
        assert errors[-2].startswith("error: RuntimeError: could not read image"), result.output
        assert f"{images}/" in errors[-2] and "Traceback" not in result.output
    assert len(in_worker.output.splitlines()) == len(in_process.output.splitlines())
    assert "DataLoader worker process" in in_worker.output.splitlines()[-2]


def test_runs_lists_every_run_and_flags_a_malformed_summary(tmp_path):
    good = {"recipe": "digits-lenet", "status": "completed", "global_step": 12, "monitor": "val_acc",
            "best_model_score": 0.75}
    summaries = {"version_0": json.dumps(good), "version_1": "[1, 2]", "version_2": '{"status": "compl',
                 "version_3": json.dumps({**good, "best_model_score": "high"}), "version_4": None}
    for version, text in summaries.items():
        run_dir = tmp_path / "runs" / "digits-lenet" / version
        run_dir.mkdir(parents=True)
        (run_dir / "config.yaml").write_text("seed: 0\n")
        if text is not None:
            (run_dir / "summary.json").write_text(text)
    result = run("runs")
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if "version_" in line and "warning" not in line]
    rows = {line.split()[-1].rsplit("/", 1)[-1]: line for line in table}
    assert "completed" in rows["version_0"] and " 12 " in rows["version_0"]
    assert "val_acc=0.75" in rows["version_0"]
    assert "running or crashed" in rows["version_4"]
    for version in ("version_1", "version_2", "version_3"):
        assert "malformed summary.json" in rows[version], result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3 and all("summary.json" in w for w in warnings), result.output
