"""Hook dispatch: order for fit/validate/test/predict, only-defined hooks, priorities."""

from __future__ import annotations

from ember.trainer import Trainer
from ember.trainer.callbacks import Callback
from ember.trainer.hooks import HookDispatcher

from .models import Classifier, Recorder, RecordingClassifier, loader, trainer_kwargs

BATCH = ["on_train_batch_start", "on_before_zero_grad", "on_before_backward", "on_after_backward",
         "on_before_optimizer_step", "on_train_batch_end"]


def both(name):
    return [f"cb:{name}", f"m:{name}"]


def _expand(names):
    out = []
    for name in names:
        if name.startswith(("cb:", "m:")):
            out.append(name)
        else:
            out += both(name)
    return out


def _validation(n):
    return _expand(["on_validation_start", "on_validation_epoch_start"]
                   + ["on_validation_batch_start", "on_validation_batch_end"] * n
                   + ["on_validation_epoch_end", "on_validation_end"])


def test_fit_hook_order(tmp_path):
    calls = []
    model = RecordingClassifier(calls)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1,
                                       num_sanity_val_steps=1, enable_checkpointing=False, logger=False),
                      callbacks=[Recorder(calls)])
    trainer.fit(model, loader(), loader())
    expected = _expand(["setup", "on_fit_start", "cb:on_sanity_check_start"]) + _validation(1) \
        + ["cb:on_sanity_check_end"] + _expand(["on_train_start", "on_train_epoch_start"]) \
        + _expand(BATCH) + _expand(BATCH) + _validation(1) \
        + _expand(["on_train_epoch_end", "on_train_end", "on_fit_end", "teardown"])
    assert calls == expected


def test_hook_order_with_accumulation_skips_step_hooks(tmp_path):
    calls = []
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2, accumulate_grad_batches=2,
                                       enable_checkpointing=False, logger=False),
                      callbacks=[Recorder(calls)])
    trainer.fit(Classifier(), loader())
    batch_hooks = [c[3:] for c in calls if c[3:] in BATCH]
    assert batch_hooks == ["on_train_batch_start", "on_before_zero_grad", "on_before_backward",
                           "on_after_backward", "on_train_batch_end",
                           "on_train_batch_start", "on_before_backward", "on_after_backward",
                           "on_before_optimizer_step", "on_train_batch_end"]


def test_validate_test_predict_hook_order(tmp_path):
    calls = []
    model = RecordingClassifier(calls)
    trainer = Trainer(**trainer_kwargs(tmp_path, logger=False, enable_checkpointing=False), callbacks=[Recorder(calls)])
    trainer.validate(model, loader(batch_size=64), verbose=False)
    assert calls == _expand(["setup"]) + _validation(2) + _expand(["teardown"])
    calls.clear()
    trainer.test(model, loader(batch_size=64), verbose=False)
    assert calls == _expand(["setup", "on_test_start", "on_test_epoch_start"]
                            + ["on_test_batch_start", "on_test_batch_end"] * 2
                            + ["on_test_epoch_end", "on_test_end", "teardown"])
    calls.clear()
    predictions = trainer.predict(model, loader(batch_size=100))
    assert calls == _expand(["setup", "on_predict_start", "on_predict_epoch_start"]
                            + ["on_predict_batch_start", "on_predict_batch_end"] * 2
                            + ["on_predict_epoch_end", "on_predict_end", "teardown"])
    assert [len(p) for p in predictions] == [100, 28]


def test_only_defined_hooks_are_in_the_table_and_priority_orders_them():
    order = []

    class Low(Callback):
        priority = -10

        def on_fit_start(self, trainer, module):
            order.append("low")

    class High(Callback):
        priority = 10

        def on_fit_start(self, trainer, module):
            order.append("high")

    class Plain(Callback):
        def on_fit_start(self, trainer, module):
            order.append("plain")

    dispatcher = HookDispatcher(object(), Classifier(), [Low(), Plain(), High()])
    assert dispatcher.table["on_train_batch_start"] == ()  # nobody defines it: nothing to call
    dispatcher("on_fit_start")
    assert order == ["high", "plain", "low"]
