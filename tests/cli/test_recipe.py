"""Recipe loading: extends, overrides, interpolation and their error messages (no training)."""

from __future__ import annotations

import pytest

from ember.cli.recipe import RecipeError, builtin_recipes, load_recipe


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = """\
# A base recipe for tests.
seed: 1
model:
  class_path: ember.nn.Linear
  init_args:
    in_features: 4
    out_features: ${data.init_args.classes}
data:
  class_path: some.Data
  init_args:
    classes: 3
    batch_size: 8
trainer:
  max_epochs: 2
"""


def test_interpolation_extends_and_overrides(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\ntrainer:\n  max_steps: 5\ndata:\n  init_args:\n    classes: 7\n")
    recipe = load_recipe(str(child), ["trainer.max_epochs=9", "model.in_features=16", "data.batch_size=32",
                                      "~trainer.max_steps"])
    config = recipe.config
    assert config["model"]["init_args"] == {"in_features": 16, "out_features": 7}
    assert config["data"]["init_args"]["batch_size"] == 32
    assert config["trainer"] == {"max_epochs": 9}
    assert recipe.name == "child"


def test_override_values_are_typed_as_yaml(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    config = load_recipe(str(path), ["trainer.max_epochs=3", "trainer.fast_dev_run=true", "trainer.gradient_clip_val=0.5",
                                     "trainer.precision='64'", "trainer.limit_train_batches=null"]).config
    assert config["trainer"]["max_epochs"] == 3 and config["trainer"]["fast_dev_run"] is True
    assert config["trainer"]["gradient_clip_val"] == 0.5 and config["trainer"]["precision"] == "64"
    assert config["trainer"]["limit_train_batches"] is None


def test_class_path_swap_drops_old_arguments(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    config = load_recipe(str(path), ["model.class_path=ember.nn.Identity"]).config
    assert config["model"] == {"class_path": "ember.nn.Identity"}


def test_override_of_missing_key_suggests(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    with pytest.raises(RecipeError, match=r"no key 'data.batchsize'.*did you mean 'batch_size'"):
        load_recipe(str(path), ["~data.batchsize"])
    with pytest.raises(RecipeError, match=r"unknown section 'trainr'; did you mean 'trainer'"):
        load_recipe(str(path), ["trainr.max_epochs=1"])
    with pytest.raises(RecipeError, match="must look like key.path=value"):
        load_recipe(str(path), ["trainer.max_epochs"])


def test_malformed_yaml_names_line_and_column(tmp_path):
    path = write(tmp_path, "bad.yaml", "seed: 1\nmodel:\n  class_path: [unclosed\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(str(path))
    assert f"{path}:4:1: malformed YAML" in str(info.value) or f"{path}:3:" in str(info.value)


def test_unknown_top_level_key_and_missing_file(tmp_path):
    path = write(tmp_path, "r.yaml", BASE + "trainre: {}\n")
    with pytest.raises(RecipeError, match=r"trainre: unknown top-level key; did you mean 'trainer'"):
        load_recipe(str(path))
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(str(tmp_path / "missing.yaml"))
    with pytest.raises(RecipeError, match="not a recipe file nor a built-in recipe"):
        load_recipe("no-such-recipe-name")


def test_bad_interpolation_and_extends_cycle(tmp_path):
    path = write(tmp_path, "r.yaml", "seed: ${trainer.nothing}\ntrainer: {}\n")
    with pytest.raises(RecipeError, match=r"interpolation '\$\{trainer.nothing\}' refers to a key that does not exist"):
        load_recipe(str(path))
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(str(tmp_path / "a.yaml"))


def test_builtin_recipes_have_header_comments():
    recipes = builtin_recipes()
    assert "digits-lenet" in recipes
    for name, path in recipes.items():
        first = path.read_text().splitlines()[0]
        assert first.startswith("# "), f"{name} lacks a header comment"
