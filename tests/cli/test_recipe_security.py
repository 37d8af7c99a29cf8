"""Reading a recipe never runs code it names: every ``class_path`` must be a class of the type its slot
declares, checked before anything is built, in ``ember check`` as in ``ember fit``."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from ember.cli.main import main
from ember.cli.recipe import builtin_recipes

TOUCH = "{class_path: subprocess.Popen, init_args: {args: [touch, pwned]}}"
COMPOSE = "{class_path: ember.vision.transforms.Compose, init_args: {transforms: [ITEMS]}}"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def assert_refused(tmp_path, args, expected):
    """``ember check`` and ``ember fit`` both exit 2 naming key, class and expected type; nothing ran."""
    for command in (["check"], ["fit", "--run-dir", str(tmp_path / "run")]):
        result = run(*command, *args)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
        for fragment in expected:
            assert fragment in result.output, (command, fragment, result.output)
        assert not (tmp_path / "pwned").exists(), command
        assert not (tmp_path / "run").exists(), command


def test_ember_check_does_not_run_os_system_as_the_model(tmp_path):
    """The issue's recipe, through a real ``ember check`` process."""
    path = write(
        tmp_path,
        'extends: digits-lenet\nmodel: {class_path: os.system, init_args: {command: "touch pwned"}}\n',
    )
    result = subprocess.run(
        [sys.executable, "-m", "ember.cli.main", "check", path],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert not (tmp_path / "pwned").exists()
    assert "OK" not in result.stdout and "Traceback" not in result.stderr
    assert f"{path}: model.class_path: os.system is a built-in function, not a class" in result.stderr
    assert "expected a subclass of ember.trainer.TrainingModule" in result.stderr


@pytest.mark.parametrize(
    "recipe, overrides, expected",
    [
        (
            "extends: digits-lenet\ndata: {class_path: subprocess.run, init_args: {args: [touch, pwned]}}\n",
            [],
            [
                "data.class_path",
                "subprocess.run is a function",
                "expected a subclass of ember.trainer.DataModule",
            ],
        ),
        (
            f"extends: digits-lenet\ntrainer:\n  callbacks: [{TOUCH}]\n",
            [],
            [
                "trainer.callbacks.0.class_path",
                "subprocess.Popen is a class but not a subclass of ember.trainer.Callback",
            ],
        ),
        (
            "extends: digits-lenet\n",
            [f"trainer.callbacks={TOUCH}"],
            ["trainer.callbacks.class_path", "subprocess.Popen", "ember.trainer.Callback"],
        ),
        (
            f"extends: digits-lenet\ntrainer:\n  logger: {TOUCH}\n",
            [],
            [
                "trainer.logger.class_path",
                "subprocess.Popen",
                "not a subclass of ember.trainer.loggers.Logger",
            ],
        ),
        (
            f"extends: digits-lenet\nmodel:\n  init_args:\n    optimizer: {TOUCH}\n",
            [],
            ["model.init_args.optimizer.class_path", "subprocess.Popen", "ember.optim.Optimizer"],
        ),
        (
            "extends: digits-lenet\n",
            ["model.lr_scheduler={class_path: ember.optim.SGD, init_args: {lr: 0.1}}"],
            [
                "model.init_args.lr_scheduler.class_path",
                "ember.optim.SGD is a class but not a subclass of ember.optim.lr_scheduler.LRScheduler",
            ],
        ),
        (
            "extends: pythondocs-chargpt\n",
            [f"model.optimizer={TOUCH}"],  # annotated Callable[[Iterable], object]
            ["model.init_args.optimizer.class_path", "subprocess.Popen", "ember.optim.Optimizer"],
        ),
        (
            f"extends: digits-lenet\nmodel:\n  init_args:\n    network: {TOUCH}\n",
            [],
            ["model.init_args.network.class_path", "subprocess.Popen", "not a subclass of ember.nn.Module"],
        ),
        (
            "extends: digits-lenet\n",
            ["model.network={class_path: os.path.join, init_args: {a: pwned}}"],
            ["model.init_args.network.class_path", "os.path.join is a function without a return annotation"],
        ),
        (
            "extends: digits-lenet\n",
            [f"data.train_transforms={TOUCH}"],  # annotated Any
            ["data.init_args.train_transforms.class_path", "subprocess.Popen", "Ember class"],
        ),
        (
            "extends: digits-lenet\n",
            ["data.train_transforms=" + COMPOSE.replace("ITEMS", TOUCH)],
            [
                "data.init_args.train_transforms.init_args.transforms.0.class_path",
                "subprocess.Popen",
                "Ember class",
            ],
        ),
        (  # plain recipe data that ember.vision.transforms.build_transform turns into objects
            "extends: digits-lenet\n",
            ['data.train_transforms=[{os.system: {command: "touch pwned"}}]'],
            ["data", "os.system", "not a class"],
        ),
        (
            "extends: digits-lenet\n",
            ["trainer.max_epochs={a: 1}"],
            ["trainer.max_epochs", "expected int | None, got dict {'a': 1}"],
        ),
        ("extends: digits-lenet\n", ["trainer.max_epochs=[1, 2]"], ["trainer.max_epochs", "got list [1, 2]"]),
        (
            "extends: digits-lenet\n",
            ["model.network.num_classes={a: 1}"],
            ["model.init_args.network.init_args.num_classes", "expected int, got dict"],
        ),
    ],
)
def test_a_class_path_of_the_wrong_kind_exits_2_before_anything_runs(tmp_path, recipe, overrides, expected):
    assert_refused(tmp_path, [write(tmp_path, recipe), *overrides], expected)


def test_real_transforms_functions_with_a_return_type_and_user_subclasses_are_accepted(tmp_path):
    crop = "{class_path: ember.vision.transforms.RandomCrop, init_args: {size: 28, padding: 2}}"
    transforms = "data.train_transforms=" + COMPOSE.replace(
        "ITEMS", crop + ", {class_path: ember.vision.transforms.ToTensor}"
    )
    result = run(
        "check",
        "digits-lenet",
        transforms,
        "model.network={class_path: ember.vision.models.resnet18, init_args: {num_classes: 10}}",
        "trainer.callbacks=[{class_path: tests.cli.interrupt_callback.InterruptAt, init_args: {step: 5}}]",
        "trainer.logger={class_path: ember.trainer.loggers.CSVLogger, init_args: {save_dir: logs}}",
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(builtin_recipes()))
def test_every_builtin_recipe_passes_check(name, tmp_path):
    for folder in ("images/a", "clips/a"):  # the recipes that read a user's folder need one to exist
        (tmp_path / folder).mkdir(parents=True)
    result = run("check", name)
    assert result.exit_code == 0, result.output


def test_a_mistake_in_one_section_is_reported_before_any_section_is_built(tmp_path, monkeypatch):
    """``data`` is wrong: the (valid) model must not have been constructed when ``check``/``fit`` exit 2."""
    (tmp_path / "usermodels.py").write_text(
        "import pathlib\n"
        "from ember.trainer.tasks import Classifier\n\n\n"
        "class Noisy(Classifier):\n"
        "    def __init__(self, **kwargs):\n"
        "        pathlib.Path('model-built').touch()\n"
        "        super().__init__(**kwargs)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(tmp_path, "extends: digits-lenet\nmodel: {class_path: usermodels.Noisy}\n"
                           f"data: {TOUCH}\n")
    assert_refused(tmp_path, [path], ["data.class_path", "subprocess.Popen", "DataModule"])
    assert not (tmp_path / "model-built").exists()
