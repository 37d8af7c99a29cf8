"""The porting guide names only things that exist: every Ember name in docs/porting.md's tables and lists
resolves, and the Lightning callbacks and Trainer arguments it lists are real."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "porting.md"
TEXT = GUIDE.read_text()


def _resolve(dotted: str):
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def _table_names() -> list[str]:
    """Ember-column names of the two rename tables; ``.x`` and bare ``x`` after a full name are its siblings."""
    names = set()
    in_table = False
    for line in TEXT.splitlines():
        if line.startswith(("| PyTorch | Ember |", "| Lightning | Ember |")):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table or line.startswith(("|---", "| `L.Trainer(...)`", "| `self.log`")):
            continue  # (Trainer arguments and module methods: checked below)
        cell = line.strip().strip("|").split("|")[-1]
        last = None
        for token in re.findall(r"`([^`]+)`", cell):
            token = token.split("(")[0].strip()
            if re.fullmatch(r"ember(\.\w+)+", token):
                last = token
                names.add(token)
            elif last and re.fullmatch(r"\.?\w+", token) and token.lstrip(".")[0].isalpha():
                parent = last.rsplit(".", 1)[0]
                if token.startswith(".") or token[0].islower():
                    names.add(f"{parent}.{token.lstrip('.')}")
    return sorted(names)


def _same_names() -> list[str]:
    """The backticked names of the "Names that are the same after the rename" paragraph."""
    section = TEXT.split("### Names that are the same after the rename", 1)[1].split("###", 1)[0]
    names = set()
    for token in re.findall(r"`([^`]+)`", section):
        token = token.split("(")[0].strip()
        if "*" in token or not re.fullmatch(r"[\w.]+", token):
            continue
        names.add(token)
    return sorted(names)


@pytest.mark.parametrize("name", _table_names())
def test_ember_name_in_the_rename_tables_exists(name):
    _resolve(name)


@pytest.mark.parametrize("name", _same_names())
def test_name_listed_as_the_same_exists(name):
    import ember

    places = [ember, ember.Tensor, ember.nn, ember.nn.Module, ember.optim]
    found = any(hasattr(place, name) for place in places)
    if not found and "." in name:
        _resolve(name if name.startswith("ember.") else f"ember.{name}")
        found = True
    assert found, f"{name} is listed as available under the same name but is not in ember / Tensor / nn.Module"


def test_the_guide_names_many_things():
    assert len(_table_names()) > 20 and len(_same_names()) > 60


def test_lightning_callbacks_and_trainer_arguments_in_the_table_exist():
    from ember.trainer import Trainer, callbacks

    row = next(line for line in TEXT.splitlines() if line.startswith("| `lightning.pytorch.callbacks."))
    listed = re.findall(r"`([A-Z][A-Za-z]+)`", row.split("|")[1])
    assert len(listed) >= 10
    for name in listed:
        assert hasattr(callbacks, name), name
    trainer_row = next(line for line in TEXT.splitlines() if line.startswith("| `L.Trainer(...)`"))
    arguments = set(inspect.signature(Trainer).parameters)
    listed_arguments = re.findall(r"`([a-z_]+)`", trainer_row.split("|")[2])
    assert len(listed_arguments) > 20
    for name in listed_arguments:
        assert name.startswith("_") or name in arguments, name


def test_training_module_methods_in_the_table_exist():
    from ember.trainer import TrainingModule

    row = next(line for line in TEXT.splitlines() if line.startswith("| `self.log`"))
    listed = [token.split("(")[0].removeprefix("self.").split(" ")[0] for token in re.findall(r"`([^`]+)`", row)]
    listed = [name for name in listed if name.isidentifier() and not name.startswith("on_")]
    assert len(listed) > 10
    module = TrainingModule()
    for name in listed:
        assert hasattr(module, name), name
