"""``model.compile`` in a recipe: the run trains the compiled module, resumes exactly, and a wrong value is a
recipe problem naming the key."""

from __future__ import annotations

import json

import ember
import numpy as np
import pytest
from click.testing import CliRunner
from ember.cli.main import main

SMALL = ["data.train_size=256", "data.test_size=64", "trainer.max_epochs=2", "trainer.limit_val_batches=1",
         "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]  # 4 steps an epoch
INTERRUPT = "trainer.callbacks=[{class_path: tests.cli.interrupt_callback.InterruptAt, init_args: {step: %d}}]"


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBER_COMPILE_DEBUG", "1")  # each compiled graph leaves a folder: the proof it compiled
    monkeypatch.setenv("EMBER_COMPILE_DEBUG_DIR", str(tmp_path / "compiled"))


def last_weights(run_dir) -> dict:
    state = ember.load(str(run_dir / "checkpoints" / "last.ckpt"))["state_dict"]
    return {key: value.numpy() for key, value in state.items()}


def test_a_compiled_recipe_run_resumes_to_the_uninterrupted_compiled_run(tmp_path):
    straight = run("fit", "digits-lenet", *SMALL, "model.compile=true", "--run-dir", "straight")
    assert straight.exit_code == 0, straight.output
    graphs = sorted(p.name for p in (tmp_path / "compiled").iterdir())
    assert graphs and all("Classifier_forward" in name for name in graphs)  # compiled, no fallback to eager
    assert "compile: true" in (tmp_path / "straight" / "config.yaml").read_text()

    first = run("fit", "digits-lenet", *SMALL, "model.compile=true", INTERRUPT % 3, "--run-dir", "resumed")
    assert first.exit_code == 130, first.output
    resumed = run("fit", "digits-lenet", *SMALL, "model.compile=true", "--ckpt", "last", "--run-dir", "resumed")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((tmp_path / "resumed" / "summary.json").read_text())["global_step"] == 8

    expected, got = last_weights(tmp_path / "straight"), last_weights(tmp_path / "resumed")
    assert list(got) == list(expected) and not any(k.startswith("_orig_mod.") for k in got)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)  # bit for bit
    assert (tmp_path / "resumed" / "metrics.csv").read_text() == (tmp_path / "straight" / "metrics.csv").read_text()

    eager = run("fit", "digits-lenet", *SMALL, "--run-dir", "eager")  # the same run, not compiled
    assert eager.exit_code == 0, eager.output
    for key, value in last_weights(tmp_path / "eager").items():
        np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-5, err_msg=key)


def test_compile_options_reach_the_run_and_wrong_ones_name_the_key(tmp_path):
    shown = run("fit", "digits-lenet", "model.compile.dynamic=true", "--print-config")
    assert shown.exit_code == 0 and "compile:\n    dynamic: true" in shown.output, shown.output
    assert run("check", "digits-lenet", "model.compile={fullgraph: true, mode: null}").exit_code == 0
    sizes = ["data.train_size=64", "data.test_size=64"]
    summaries = [run("summary", "digits-lenet", *sizes, *compiled) for compiled in ([], ["model.compile=true"])]
    assert summaries[0].exit_code == 0 and summaries[1].output == summaries[0].output  # (the eager modules, once each)

    wrong = run("check", "digits-lenet", "model.compile=maybe")
    assert wrong.exit_code == 2
    assert "model.compile: expected true, false or a mapping of ember.compile's arguments" in wrong.output
    wrong = run("check", "digits-lenet", "model.compile.dynamc=true", "model.compile.fullgraph=1")
    assert wrong.exit_code == 2
    assert "model.compile.dynamc: not an argument of ember.compile; did you mean 'dynamic'?" in wrong.output
    assert "model.compile.fullgraph: expected bool, got 1" in wrong.output
    (tmp_path / "r.yaml").write_text("extends: digits-lenet\nmodel:\n  compil: true\n")
    wrong = run("check", str(tmp_path / "r.yaml"))
    assert wrong.exit_code == 2 and "model.compil: unknown key in the model section; did you mean 'compile'?" \
        in wrong.output, wrong.output
