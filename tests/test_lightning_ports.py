"""Lightning programs run on Ember after renaming alone.

Each file in tests/lightning_ports/ is a Lightning program in the style of one of Lightning's
examples/pytorch/ programs (tiny synthetic data, a few epochs). The Ember test renames ``lightning.pytorch``,
``pytorch_lightning`` and ``lightning`` to ``ember.trainer`` (and torch's names as tests/test_ports.py does)
and runs the result: that the renamed text trains proves the port needs nothing but the rename. Where
Lightning is installed the original runs too (test_lightning_ports_original.py), and the same checks hold
for both.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest

from tests.test_ports import assert_trains
from tests.test_ports import rename as rename_torch

PROGRAMS = Path(__file__).resolve().parent / "lightning_ports"

# Lightning's import paths, the longer names first; then torch's (tests/test_ports.py).
LIGHTNING_RENAMES = [
    (r"\blightning\.pytorch\b", "ember.trainer"),
    (r"\bpytorch_lightning\b", "ember.trainer"),
    (r"\blightning\b", "ember.trainer"),
]


def rename(source: str) -> str:
    """The Lightning program as an Ember program: the module names replaced, nothing else."""
    for pattern, replacement in LIGHTNING_RENAMES:
        source = re.sub(pattern, replacement, source)
    return rename_torch(source)


def run_program(name: str, argv: list[str], ported: bool) -> dict:
    """Runs tests/lightning_ports/NAME.py's ``main(argv)`` (renamed to Ember when ``ported``); returns its
    results."""
    path = PROGRAMS / f"{name}.py"
    source = path.read_text()
    if ported:
        source = rename(source)
        left = re.search(r"\b(torch|lightning|pytorch_lightning)\b", source)
        assert left is None, f"{name}: the rename left {left.group()!r} behind"
    namespace = {"__name__": f"lightning_ports.{name}", "__file__": str(path)}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 (our own test programs)
    return namespace["main"](argv)


def _import_lightning():
    """Lightning, or a skip. Lightning imports torchvision when it is installed, whose CUDA wheel fails to
    register its compiled operators against the CPU torch: tests/vision/_torchvision.py tolerates that."""
    pytest.importorskip("torch")
    if importlib.util.find_spec("torchvision") is not None:
        from tests.vision._torchvision import import_torchvision

        import_torchvision()
    return pytest.importorskip("lightning")


def test_rename_touches_only_module_names():
    source = ("import lightning as L\nimport pytorch_lightning as pl\nfrom lightning.pytorch.callbacks import "
              "EarlyStopping\nimport torch\nlightning_logs = 'lightning_logs'\n")
    assert rename(source) == ("import ember.trainer as L\nimport ember.trainer as pl\nfrom ember.trainer.callbacks "
                              "import EarlyStopping\nimport ember\nlightning_logs = 'lightning_logs'\n")


# -- what each program must achieve, on either framework ------------------------------------------------------


def check_autoencoder(result: dict) -> None:
    assert_trains(result["reconstruction_errors"], window=2, factor=0.5)
    epochs = result["epochs_run"]
    assert epochs >= 6  # (EarlyStopping's patience is 3 and the loss keeps falling)
    assert result["learning_rates"] == pytest.approx([0.01 * 0.5 ** (epoch // 4) for epoch in range(epochs)])
    best = result["best_val_loss"]
    assert f"val_loss={best:.4f}.ckpt" in result["best_model_path"]
    # test(ckpt_path="best"), predict(ckpt_path="best") and load_from_checkpoint all see the best weights
    assert result["reloaded_test_loss"] == pytest.approx(result["test_loss"], rel=1e-5)
    assert result["prediction_loss"] == pytest.approx(result["test_loss"], rel=1e-5)
    assert result["test_loss"] < 2 * best
    assert result["reloaded_hidden_dim"] == 32


def check_generative_adversarial_net(result: dict) -> None:
    distances = result["sample_distances"]  # the first: the sanity check's, before any training
    assert len(distances) == 1 + 5
    assert min(distances[1:]) < 0.35 * distances[0], distances
    assert result["steps"] == 2 * 5 * 8  # each optimizer's step counts, as in Lightning
    assert math.isfinite(result["d_loss"]) and math.isfinite(result["g_loss"])


def check_reinforce_learn_Qnet(result: dict) -> None:
    assert result["greedy_actions"] == [1, 1, 1, 1, 1]  # walk right, from every state
    q_right = result["q_right"]  # the discounted return of stepping right: 0.9 ** (steps to the goal - 1)
    assert q_right[-1] == pytest.approx(1.0, abs=0.15)
    assert q_right[0] < q_right[-1]
    assert result["steps"] == 60 * 4  # 64 samples a pass, batches of 16
    logs = result["step_logs"]  # the training_step's dict, "log" entry and all, reaches on_train_batch_end
    assert [log["steps"] for log in logs] == list(range(240))
    assert all(math.isfinite(log["loss"]) for log in logs)


def check_computer_vision_fine_tuning(result: dict) -> None:
    assert result["trainable_per_epoch"] == [6, 6, 10, 10, 18, 18]  # head; + last conv & norms; + the rest
    assert result["group_sizes"] == [6, 2, 4]  # train_bn=False: the norms' parameters join no group
    # MultiStepLR at epochs 2 and 4 (x0.1) acts on the groups added by then; each new group starts at lr / 10
    assert result["group_lrs"] == pytest.approx([1e-4, 1e-5, 1e-5])
    assert result["batch_norm_tracks_running_stats"] == [True, True, True]
    assert_trains(result["val_losses"], window=1, factor=0.5)
    assert result["val_acc"] > 0.9


def check_transformer(result: dict) -> None:
    assert result["vocab_size"] == 16 and result["num_blocks"] == 2400 // 12 - 1  # WikiText2's tokenization
    assert_trains(result["train_losses"], window=4, factor=0.3)
    assert len(result["train_losses"]) == 3 * result["train_batches"] == 60
    assert result["steps"] == 30  # accumulate_grad_batches=2: one optimizer step per two batches
    # val_check_interval=0.5: validation after every 10 batches (5 steps), twice an epoch
    assert [step for step, _ in result["val_losses"]] == [5, 10, 15, 20, 25, 30]
    assert result["val_losses"][-1][1] < 0.2 * result["val_losses"][0][1]
    norms = result["clipped_grad_norms"]  # gradient_clip_val=0.25, seen by an optimizer_step override
    assert len(norms) == 30 and max(norms) <= 0.25 + 1e-4 and norms[0] == pytest.approx(0.25, rel=1e-4)
    assert result["test_loss"] < result["val_losses"][0][1]


def check_reinforce_learn_ppo(result: dict) -> None:
    history = result["history"]  # per epoch: the logged means of the episode statistics
    assert len(history) == 8 and result["steps"] == 8 * 2 * 2  # 2 batches an epoch, 2 optimizers
    assert history[-1]["avg_ep_reward"] == 1.0  # every episode reaches the goal ...
    assert history[-1]["avg_ep_len"] < 6 < max(h["avg_ep_len"] for h in history[:3])  # ... in about 4 steps
    assert history[-1]["loss_critic"] < 0.3 * max(h["loss_critic"] for h in history[:2])


def check_reinforce_learn_ppo_point(result: dict) -> None:
    """Continuous actions (a Normal policy, ``log_prob(...).sum(axis=-1)``): the point ends nearer 0."""
    rewards = [h["avg_ep_reward"] for h in result["history"]]
    assert len(rewards) == 8 and result["steps"] == 8 * 2 * 2
    assert max(rewards[-2:]) > rewards[1]  # (the first epoch's mean is a partial one)


# case -> (program in tests/lightning_ports/, arguments for a quick run, the check)
CASES = {
    "autoencoder": ("autoencoder", [], check_autoencoder),
    "computer_vision_fine_tuning": ("computer_vision_fine_tuning", [], check_computer_vision_fine_tuning),
    "generative_adversarial_net": ("generative_adversarial_net", [], check_generative_adversarial_net),
    "reinforce_learn_Qnet": ("reinforce_learn_Qnet", [], check_reinforce_learn_Qnet),
    "reinforce_learn_ppo[corridor]": ("reinforce_learn_ppo", ["--env", "corridor"], check_reinforce_learn_ppo),
    "reinforce_learn_ppo[point]": ("reinforce_learn_ppo", ["--env", "point"], check_reinforce_learn_ppo_point),
    "transformer": ("transformer", [], check_transformer),
}
# Cases that run on Lightning but not yet on Ember, with what they wait for. They join CASES when it lands.
PENDING: dict[str, str] = {}


def _program(case: str) -> str:
    return CASES[case][0] if case in CASES else case.split("[")[0]


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in PROGRAMS.glob("*.py")}
    assert programs == {_program(case) for case in (*CASES, *PENDING)}
    assert not set(CASES) & set(PENDING)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_runs(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, argv, check = CASES[case]
    check(run_program(name, [*argv, "--default_root_dir", str(tmp_path)], ported=True))


AUTOENCODER_CONFIG = """\
seed_everything: 1234
trainer:
  max_epochs: 4
  enable_progress_bar: false
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args: {monitor: val_loss, save_top_k: 2, filename: "{epoch}-{val_loss:.4f}"}
    - class_path: lightning.pytorch.callbacks.EarlyStopping
      init_args: {monitor: val_loss, patience: 3}
model:
  class_path: autoencoder_port.LitAutoEncoder
  init_args: {learning_rate: 0.01}
data:
  class_path: autoencoder_port.ManifoldDataModule
  init_args: {data_dir: data, batch_size: 32}
"""


def test_autoencoder_trains_from_a_lightningcli_style_config(tmp_path, monkeypatch):
    """The renamed program's classes, named by a LightningCLI-style config (renamed too), train with
    ``ember fit`` and test their best checkpoint with ``ember test --ckpt best``, as ``python autoencoder.py fit
    --config config.yaml`` and ``test`` would with LightningCLI."""
    from click.testing import CliRunner
    from ember.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # (ember fit appends the recipe's folder)
    (tmp_path / "autoencoder_port.py").write_text(rename((PROGRAMS / "autoencoder.py").read_text()))
    (tmp_path / "autoencoder.yaml").write_text(rename(AUTOENCODER_CONFIG))
    try:
        fit = CliRunner().invoke(main, ["fit", "autoencoder.yaml"], catch_exceptions=False)
        assert fit.exit_code == 0, fit.output
        test = CliRunner().invoke(main, ["test", "autoencoder.yaml", "--ckpt", "best"], catch_exceptions=False)
        assert test.exit_code == 0, test.output
    finally:
        sys.modules.pop("autoencoder_port", None)
    run = tmp_path / "runs" / "autoencoder" / "version_0"
    summary = json.loads((run / "summary.json").read_text())
    assert len(list((run / "checkpoints").iterdir())) == 2  # save_top_k=2
    assert f"val_loss={summary['best_model_score']:.4f}.ckpt" in summary["best_model_path"]
    assert summary["best_model_score"] < 0.05  # (from about 0.16 after the first epoch)
    assert summary["test_results"][0]["test_loss"] < 2 * summary["best_model_score"]
