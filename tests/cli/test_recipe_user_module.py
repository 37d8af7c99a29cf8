"""A recipe's ``class_path`` naming a class in the user's own module: found in the working directory and in
the recipe's folder (after the installed packages), never imported while a recipe is only read, and a
missing module or class reported with the recipe file and key."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ember.cli.main import main
from ember.cli.recipe import load_recipe

MODULE = '''\
import pathlib

import ember
from ember.data import DataLoader, TensorDataset
from ember.trainer import DataModule, TrainingModule

pathlib.Path(__file__).with_suffix(".imported").write_text("yes")  # (tells the test it was imported)


class {model}(TrainingModule):
    def __init__(self, lr: float = 0.1):
        super().__init__()
        self.lr = lr
        self.net = ember.nn.Linear(3, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = ((self.net(x) - y) ** 2).mean()
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return ember.optim.SGD(self.parameters(), lr=self.lr)


class {data}(DataModule):
    def __init__(self, n: int = 32):
        super().__init__()
        self.n = n

    def train_dataloader(self):
        x = ember.randn(self.n, 3, generator=ember.Generator().manual_seed(0))
        return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
'''

RECIPE = """\
model:
  class_path: {module}.{model}
  init_args: {{lr: 0.05}}
data:
  class_path: {module}.{data}
trainer:
  max_steps: 3
  enable_progress_bar: false
  enable_model_summary: false
"""


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch):
    """Each test's user modules and sys.path entries are gone after it (the names are unique per test too)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("user_"):
            del sys.modules[name]


def project(folder: pathlib.Path, module: str, model: str = "MyModule", data: str = "MyData",
            recipe_text: str | None = None) -> pathlib.Path:
    """Writes ``module.py`` and ``recipe.yaml`` into ``folder``; returns the recipe's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(MODULE.format(model=model, data=data))
    recipe = folder / "recipe.yaml"
    recipe.write_text(recipe_text or RECIPE.format(module=module, model=model, data=data))
    return recipe


def ember(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_fit_from_the_folder_of_the_users_module(tmp_path, monkeypatch):
    project(tmp_path / "proj", "user_model_a")
    monkeypatch.chdir(tmp_path / "proj")
    result = ember("fit", "recipe.yaml", "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["global_step"] == 3
    assert "user_model_a.MyModule" in (tmp_path / "run" / "config.yaml").read_text()


def test_the_recipes_folder_is_searched_when_run_from_elsewhere(tmp_path, monkeypatch):
    recipe = project(tmp_path / "proj", "user_model_b")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = ember("fit", str(recipe), "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["global_step"] == 3


def test_a_resolved_config_reruns_from_the_project_folder(tmp_path, monkeypatch):
    """``ember fit runs/.../config.yaml`` (the command a run prints) finds the module through the working
    directory: the run's folder holds only the config."""
    project(tmp_path / "proj", "user_model_c")
    monkeypatch.chdir(tmp_path / "proj")
    assert ember("fit", "recipe.yaml", "--run-dir", "first").exit_code == 0
    result = ember("fit", "first/config.yaml", "--run-dir", "again")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "proj" / "again" / "summary.json").read_text())["status"] == "completed"


def test_a_missing_module_names_the_file_the_key_and_where_ember_looked(tmp_path, monkeypatch):
    recipe = project(tmp_path / "proj", "user_model_d",
                     recipe_text=RECIPE.format(module="user_modle_d", model="MyModule", data="MyData"))
    monkeypatch.chdir(tmp_path)
    result = ember("check", str(recipe))
    assert result.exit_code == 2
    assert f"{recipe}: model.class_path: cannot import 'user_modle_d.MyModule': no module named 'user_modle_d'" \
        in result.output
    assert f"{recipe}: data.class_path: cannot import 'user_modle_d.MyData'" in result.output
    assert str(tmp_path) in result.output and str(tmp_path / "proj") in result.output  # where it looked
    assert "Traceback" not in result.output


def test_a_missing_class_names_the_file_the_key_and_a_suggestion(tmp_path, monkeypatch):
    recipe = project(tmp_path / "proj", "user_model_e",
                     recipe_text=RECIPE.format(module="user_model_e", model="MyModul", data="MyData"))
    monkeypatch.chdir(tmp_path / "proj")
    result = ember("check", "recipe.yaml")
    assert result.exit_code == 2
    assert (f"{recipe}: model.class_path: cannot import 'user_model_e.MyModul': module 'user_model_e' has no "
            "'MyModul'; did you mean 'user_model_e.MyModule'?") in result.output


def test_reading_a_recipe_imports_nothing_building_imports_only_what_it_names(tmp_path, monkeypatch):
    recipe = project(tmp_path / "proj", "user_model_f")
    (tmp_path / "proj" / "user_unnamed_f.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_suffix('.imported').write_text('yes')\n")
    monkeypatch.chdir(tmp_path / "proj")
    load_recipe(str(recipe), ["model.lr=0.2"])
    assert ember("fit", "recipe.yaml", "--print-config").exit_code == 0
    assert not (tmp_path / "proj" / "user_model_f.imported").exists()  # reading ran none of the user's code
    assert ember("check", "recipe.yaml").exit_code == 0
    assert (tmp_path / "proj" / "user_model_f.imported").exists()  # the module the recipe names
    assert not (tmp_path / "proj" / "user_unnamed_f.imported").exists()  # and nothing else of the folder


def test_a_file_beside_the_recipe_never_replaces_an_installed_module(tmp_path, monkeypatch):
    recipe = project(tmp_path / "proj", "user_model_g")
    (tmp_path / "proj" / "tqdm.py").write_text("raise SystemExit('the recipe folder shadowed tqdm')\n")
    monkeypatch.chdir(tmp_path)
    assert ember("check", str(recipe)).exit_code == 0  # (the recipe's folder is now on sys.path)
    assert str(tmp_path / "proj") in sys.path
    monkeypatch.delitem(sys.modules, "tqdm", raising=False)
    spec = importlib.util.find_spec("tqdm")
    assert spec is not None and pathlib.Path(spec.origin).parent != tmp_path / "proj"
    assert pathlib.Path(importlib.util.find_spec("user_model_g").origin).parent == tmp_path / "proj"


def test_the_installed_ember_command_runs_a_users_module_from_its_folder(tmp_path):
    """The real console script (its own folder, not the working directory, is first on its path)."""
    command = pathlib.Path(sys.executable).parent / "ember"
    if not command.exists():
        pytest.skip("the `ember` console script is not installed in this environment")
    project(tmp_path / "proj", "user_model_h")
    done = subprocess.run([str(command), "fit", "recipe.yaml", "--run-dir", "run"], cwd=tmp_path / "proj",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "proj" / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["global_step"] == 3
