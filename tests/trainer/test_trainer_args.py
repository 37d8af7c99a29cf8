"""Trainer arguments are checked when the Trainer is made, by Lightning's rules, and a bad one is named with
its value (not found epochs later, or never: a negative clip value silently flipped the gradients)."""

from __future__ import annotations

import re

import pytest
from ember.trainer import Trainer

INVALID = [
    ({"max_epochs": -2}, ValueError, "non-negative integer or -1"),
    ({"max_steps": -5}, ValueError, "non-negative integer or -1"),
    ({"min_epochs": -1}, ValueError, "non-negative integer"),
    ({"min_steps": -3}, ValueError, "non-negative integer"),
    ({"val_check_interval": 1.5}, ValueError, r"float .* in \(0.0, 1.0\]"),
    ({"val_check_interval": 0.0}, ValueError, r"float .* in \(0.0, 1.0\]"),
    ({"val_check_interval": -0.25}, ValueError, r"float .* in \(0.0, 1.0\]"),
    ({"val_check_interval": 0}, ValueError, "int .* >= 1"),
    ({"val_check_interval": "half"}, TypeError, "an int or a float"),
    ({"val_check_interval": 0.5, "check_val_every_n_epoch": None}, ValueError, "must be an int"),
    ({"check_val_every_n_epoch": 0}, ValueError, ">= 1 or None"),
    ({"check_val_every_n_epoch": 1.5}, TypeError, "an int >= 1 or None"),
    ({"limit_train_batches": -1}, ValueError, r"in \[0.0, 1.0\] or an int"),
    ({"limit_val_batches": 1.5}, ValueError, r"in \[0.0, 1.0\] or an int"),
    ({"limit_test_batches": -0.5}, ValueError, r"in \[0.0, 1.0\] or an int"),
    ({"limit_predict_batches": "all"}, TypeError, r"in \[0.0, 1.0\] or an int"),
    ({"overfit_batches": -2}, ValueError, r"in \[0.0, 1.0\] or an int"),
    ({"accumulate_grad_batches": 0}, ValueError, ">= 1"),
    ({"accumulate_grad_batches": 2.5}, TypeError, "an int"),
    ({"gradient_clip_val": -1.0}, ValueError, ">= 0"),
    ({"gradient_clip_val": "1"}, TypeError, "an int or a float"),
    ({"num_sanity_val_steps": -2}, ValueError, ">= -1"),
    ({"fast_dev_run": -1}, ValueError, ">= 0"),
    ({"log_every_n_steps": 0}, ValueError, ">= 1"),
]


@pytest.mark.parametrize("arguments, error, rule", INVALID, ids=[repr(arguments) for arguments, _, _ in INVALID])
def test_invalid_argument_is_rejected_at_construction_naming_it_and_its_value(tmp_path, arguments, error, rule):
    name, value = next(iter(arguments.items()))  # the argument at fault comes first
    with pytest.raises(error) as info:
        Trainer(default_root_dir=tmp_path, logger=False, **arguments)
    message = str(info.value)
    assert f"Trainer({name}={value!r})" in message
    assert re.search(rule, message), message


@pytest.mark.parametrize("arguments", [
    {"max_epochs": -1}, {"max_epochs": 0}, {"max_steps": -1}, {"max_steps": 0}, {"min_epochs": 0},
    {"val_check_interval": 1.0}, {"val_check_interval": 0.25}, {"val_check_interval": 5},
    {"val_check_interval": 5, "check_val_every_n_epoch": None}, {"check_val_every_n_epoch": None},
    {"limit_train_batches": 0}, {"limit_val_batches": 0.0}, {"limit_test_batches": 1.0}, {"limit_predict_batches": 7},
    {"gradient_clip_val": 0}, {"gradient_clip_val": 0.5}, {"num_sanity_val_steps": -1}, {"fast_dev_run": True},
], ids=repr)
def test_valid_arguments_are_accepted(tmp_path, arguments):
    Trainer(default_root_dir=tmp_path, logger=False, **arguments)


def test_a_whole_float_batch_count_is_an_int_as_in_lightning(tmp_path):
    trainer = Trainer(default_root_dir=tmp_path, logger=False, limit_train_batches=3.0, val_check_interval=2.0)
    assert trainer.limit_train_batches == 3 and isinstance(trainer.limit_train_batches, int)
    assert trainer.val_check_interval == 2 and isinstance(trainer.val_check_interval, int)
