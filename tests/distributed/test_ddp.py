"""Trainer(strategy="ddp") on MPI: each test starts `mpiexec -n 2` in a subprocess (ddp_job.py)."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="mpiexec not found (pip install mpich)")

JOB = Path(__file__).with_name("ddp_job.py")
REPO = Path(__file__).resolve().parents[2]


def run(processes: int, out: Path, mode: str, *args: str, timeout: float = 120):
    command = ([MPIEXEC, "-n", str(processes)] if processes > 1 else []) + [sys.executable, str(JOB), str(out), mode, *args]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)
    return done, time.monotonic() - started


def finished(out: Path, processes: int, mode: str, *args: str) -> Path:
    done, _ = run(processes, out, mode, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def weights(out: Path) -> dict:
    with np.load(out / "weights.npz") as data:
        return dict(data)


def losses(out: Path, column: str = "loss") -> list[float]:
    with open(out / "logs" / "metrics.csv") as f:
        return [float(row[column]) for row in csv.DictReader(f) if row.get(column)]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    return finished(tmp_path_factory.mktemp("one"), 1, "fit")


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    return finished(tmp_path_factory.mktemp("two"), 2, "fit")


def assert_same_weights(a: dict, b: dict, tol: float = 1e-6) -> None:
    assert sorted(a) == sorted(b)
    for key, value in a.items():
        np.testing.assert_allclose(value, b[key], rtol=0, atol=tol, err_msg=key)


def test_two_ranks_of_batch_16_match_one_process_of_batch_32(one_process, two_ranks):
    # 20 steps of SGD with momentum over 4 shuffled epochs, SyncBatchNorm vs BatchNorm, float64
    assert_same_weights(weights(one_process), weights(two_ranks))
    single, distributed = losses(one_process), losses(two_ranks)
    assert len(single) == len(distributed) == 20
    np.testing.assert_allclose(distributed, single, rtol=1e-9)
    assert single[-1] < 0.6 * single[0]  # it learns
    # validation: each rank reads half of the 40 samples; sync_dist averages the batch means
    assert len(losses(one_process, "val_loss")) == 4
    np.testing.assert_allclose(losses(two_ranks, "val_loss"), losses(one_process, "val_loss"), rtol=1e-9)
    assert "world=2 step=20" in (two_ranks / "info.txt").read_text()


def test_gradient_accumulation_across_ranks(tmp_path):
    # 2 ranks x batch 8 x 2 accumulated batches = one optimizer step of 32 samples (no BatchNorm, whose
    # statistics would be over 16 samples instead of 32)
    single = finished(tmp_path / "one", 1, "fit", "norm=none", "steps=10")
    accumulated = finished(tmp_path / "two", 2, "fit", "norm=none", "steps=10", "accumulate=2")
    assert_same_weights(weights(single), weights(accumulated))
    assert "step=10 interrupted=False reductions=10" in (tmp_path / "two" / "info.txt").read_text()  # once per step
    micro = np.array(losses(accumulated))  # one row per accumulated batch, each over 16 samples
    np.testing.assert_allclose((micro[0::2] + micro[1::2]) / 2, losses(single), rtol=1e-9)


def test_resuming_an_interrupted_two_rank_run_gives_the_same_weights(two_ranks, tmp_path):
    # rank 1 alone gets SIGTERM after step 7: both ranks stop at the same step, rank 0 saves last.ckpt
    finished(tmp_path, 2, "interrupt")
    assert "step=7 interrupted=True" in (tmp_path / "info.txt").read_text()
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    finished(tmp_path, 2, "resume")
    assert "step=20 interrupted=False" in (tmp_path / "info.txt").read_text()
    final, uninterrupted = weights(tmp_path), weights(two_ranks)
    for key in uninterrupted:
        np.testing.assert_array_equal(final[key], uninterrupted[key], err_msg=key)
    assert losses(tmp_path) == losses(two_ranks)


def test_an_exception_on_one_rank_ends_every_rank_naming_it(tmp_path):
    done, elapsed = run(2, tmp_path, "raise", timeout=90)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert elapsed < 60
    assert "[ember] rank 1/2" in output and "ValueError: boom on purpose" in output
    assert not (tmp_path / "weights.npz").exists()


def test_an_exception_after_fit_on_one_rank_ends_every_rank(tmp_path):
    script = tmp_path / "after_fit.py"
    script.write_text("from mpi4py import MPI\nfrom ember.trainer import Trainer\n"
                      "trainer = Trainer(strategy='ddp', logger=False)\n"
                      "if trainer.global_rank == 1:\n    raise KeyError('only on rank 1')\n"
                      "MPI.COMM_WORLD.Barrier()  # rank 0 would wait here forever\n")
    started = time.monotonic()
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)], capture_output=True, text=True,
                          timeout=90, cwd=REPO, check=False)
    assert done.returncode != 0 and time.monotonic() - started < 60
    assert "[ember] rank 1/2" in done.stderr and "KeyError: 'only on rank 1'" in done.stderr


def test_a_rank_killed_with_sigkill_ends_the_job_and_its_pid_names_the_rank(tmp_path):
    done, elapsed = run(2, tmp_path, "kill", timeout=90)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert elapsed < 60
    table = {int(pid): int(rank) for rank, pid in re.findall(r"rank (\d+) = pid (\d+)", output)}
    killed = [int(pid) for pid in re.findall(r"PID (\d+) RUNNING AT", output)]
    assert killed and table.get(killed[0]) == 1, output


def test_ember_fit_devices_2_starts_the_ranks_and_names_a_killed_one(tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        "seed: 0\n"
        "model:\n  class_path: ember.trainer.tasks.Classifier\n  init_args:\n"
        "    network: {class_path: ember.nn.Linear, init_args: {in_features: 6, out_features: 2}}\n"
        "    num_classes: 2\n"
        "data: {class_path: tests.distributed.faults.TinyData}\n"
        "trainer: {max_steps: 6, enable_progress_bar: false, enable_model_summary: false}\n"
    )
    command = [sys.executable, "-m", "ember.cli.main", "fit", str(recipe), "trainer.devices=2"]
    ok = subprocess.run([*command, "--run-dir", str(tmp_path / "run")], capture_output=True, text=True,
                        timeout=120, cwd=REPO, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "DDP on 2 MPI processes" in ok.stderr
    assert "completed after 6 steps" in ok.stdout
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()

    started = time.monotonic()
    killed = subprocess.run([*command, "trainer.callbacks=[{class_path: tests.distributed.faults.KillRank}]",
                             "--run-dir", str(tmp_path / "killed")], capture_output=True, text=True,
                            timeout=90, cwd=REPO, check=False)
    assert killed.returncode != 0
    assert time.monotonic() - started < 60
    assert re.search(r"\[ember\] rank 1 of 2 \(pid \d+ on \S+\) was killed by signal 9 \(SIGKILL\)", killed.stderr)


def test_a_hung_rank_is_ended_by_the_watchdog(tmp_path):
    done, elapsed = run(2, tmp_path, "hang", "timeout=3", timeout=90)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert elapsed < 60
    assert re.search(r"\[ember\] rank 0/2: .* \(train, epoch 0, global step 3\) waited \d+ s for the other ranks", output)


def test_several_devices_outside_mpiexec_is_a_clear_error(monkeypatch):
    from ember.trainer import Trainer

    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match=r"mpiexec -n 2 python"):
        Trainer(devices=2)
    with pytest.raises(ValueError, match="strategy must be one of"):
        Trainer(strategy="horovod")
    with pytest.raises(ValueError, match="needs strategy='ddp'"):
        Trainer(strategy="single_device", devices=2)
