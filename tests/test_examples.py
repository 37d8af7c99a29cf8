"""Every script in examples/ runs to the end with a small step limit, so the examples cannot rot.

Each example runs in a subprocess, in a fresh temporary directory (runs and files it writes land there),
with arguments that keep it to a few optimizer steps and small data. The expected line proves the
script got past its training loop to the part that uses the result.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"

# script -> (arguments for a quick run, a line fragment its output must contain)
QUICK_RUNS = {
    "autograd_basics.py": (["--max-steps", "5"], "fitted w="),
    "custom_function.py": (["--max-steps", "5"], "gradcheck and gradgradcheck passed"),
    "mnist_loop.py": (["--max-steps", "2", "--batch-size", "8", "--train-size", "32", "--test-size", "16",
                       "--test-batch-size", "16", "--save-model"], "Test set: Average loss"),
    "trainer_module.py": (["--max-steps", "3", "--train-size", "120"], "prediction for the first test image"),
    "gan.py": (["--max-steps", "3"], "blobs covered"),
    "char_gpt.py": (["--max-steps", "3", "--n-layer", "1", "--n-embd", "32", "--batch-size", "8",
                     "--val-batches", "1", "--sample-length", "20"], "--- sample ---"),
    "audio_classifier.py": (["--max-steps", "2", "--train-size", "40", "--eval-size", "10"],
                            "test accuracy on unseen speakers"),
    "imagefolder_recipe.py": (["--max-steps", "2", "--per-class", "6", "--image-size", "16", "--network",
                               "resnet20"], "status: completed"),
}


def test_every_example_has_a_quick_run():
    scripts = {path.name for path in EXAMPLES.glob("*.py")}
    assert scripts == set(QUICK_RUNS), "add new examples to QUICK_RUNS (and remove deleted ones)"


@pytest.mark.parametrize("script", sorted(QUICK_RUNS))
def test_example_runs(script, tmp_path):
    arguments, expected = QUICK_RUNS[script]
    env = dict(os.environ, PYTHONUNBUFFERED="1", EMBER_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *arguments], capture_output=True, text=True, check=False,
                            cwd=tmp_path, env=env, timeout=900)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-2000:]}\n--- stderr ---\n{result.stderr[-3000:]}"
    assert expected in result.stdout, f"{script} did not print {expected!r}:\n{result.stdout[-3000:]}"
