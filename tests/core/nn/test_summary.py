"""``ember.nn.summary``: module paths, types, output shapes, parameter counts and totals."""

from __future__ import annotations

import ember
from ember import nn


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def test_summary_rows_and_totals():
    model = SmallNet()
    model.features[0].requires_grad_(False)
    info = nn.summary(model, ember.randn(2, 1, 8, 8), verbose=0)
    by_path = {row.path: row for row in info.rows}
    assert list(by_path) == ["", "features", "features.0", "features.1", "features.2", "head"]
    assert by_path["features.0"].type == "Conv2d" and by_path["features.0"].output_shape == [2, 4, 8, 8]
    assert by_path["features.2"].output_shape == [2, 4, 4, 4]
    assert by_path["head"].num_params == 64 * 10 + 10
    assert by_path["features.0"].num_params == 4 * 9 + 4 and not by_path["features.0"].trainable
    assert info.total_params == 40 + 650
    assert info.trainable_params == 650 and info.non_trainable_params == 40
    assert info.output_shape == [2, 10]
    text = str(info)
    for expected in (
        "Conv2d",
        "[2, 4, 8, 8]",
        "Total params: 690",
        "Trainable params: 650",
        "Non-trainable params: 40",
        "650",
        "(frozen)",
    ):
        assert expected in text, expected


def test_summary_prints_by_default_and_leaves_no_hooks(capsys):
    model = SmallNet()
    nn.summary(model, ember.randn(1, 1, 8, 8))
    assert "Linear" in capsys.readouterr().out
    assert all(not m._forward_hooks for m in model.modules())


def test_summary_handles_tuple_outputs_unused_modules_and_repeated_calls():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 5, batch_first=True)
            self.shared = nn.Linear(5, 5)
            self.unused = nn.Linear(2, 2)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.shared(self.shared(out))

    info = nn.summary(Model(), ember.randn(2, 4, 3), verbose=0)
    rows = {row.path: row for row in info.rows}
    assert rows["lstm"].output_shape == [[2, 4, 5], [[1, 2, 5], [1, 2, 5]]]
    assert rows["shared"].calls == 2 and rows["unused"].calls == 0
    assert "(x2 calls)" in str(info) and "--" in str(info)


def test_summary_runs_in_eval_mode_without_touching_batchnorm_statistics():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = model[1].running_mean.numpy().copy()
    nn.summary(model, ember.randn(8, 3) * 5 + 3, verbose=0)
    assert (model[1].running_mean.numpy() == before).all() and int(model[1].num_batches_tracked) == 0
    assert model.training and model[1].training  # the modes are restored
