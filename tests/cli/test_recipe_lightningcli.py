"""A LightningCLI config's ``seed_everything`` key reads as the recipe's ``seed``."""

from __future__ import annotations

import pytest
from ember.cli.recipe import RecipeError, load_recipe

MODEL = "model:\n  class_path: ember.nn.Linear\n  init_args: {in_features: 4, out_features: 2}\n"


def _load(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_recipe(str(path)).config


def test_seed_everything_is_the_seed(tmp_path):
    assert _load(tmp_path, "seed_everything: 7\n" + MODEL)["seed"] == 7
    assert "seed_everything" not in _load(tmp_path, "seed_everything: 7\n" + MODEL)
    assert _load(tmp_path, "seed_everything: false\n" + MODEL)["seed"] is None
    drawn = _load(tmp_path, "seed_everything: true\n" + MODEL)["seed"]  # LightningCLI draws one
    assert isinstance(drawn, int) and not isinstance(drawn, bool) and 0 <= drawn < 2**31


def test_seed_everything_and_seed_together_are_refused(tmp_path):
    with pytest.raises(RecipeError, match="seed_everything: LightningCLI's name for 'seed'"):
        _load(tmp_path, "seed: 1\nseed_everything: 2\n" + MODEL)


def test_a_recipe_extending_a_lightningcli_config_overrides_its_seed(tmp_path):
    (tmp_path / "base.yaml").write_text("seed_everything: 3\n" + MODEL)
    assert _load(tmp_path, "extends: base.yaml\nseed: 5\n", "child.yaml")["seed"] == 5
