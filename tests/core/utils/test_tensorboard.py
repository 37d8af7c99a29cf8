"""ember.utils.tensorboard.SummaryWriter: torch.utils.tensorboard's writer over tensorboardX, its event files read
back (tags, steps, values), and, where torch's writer imports (it needs the ``tensorboard`` package), the same
records as torch's for the same calls."""

from __future__ import annotations

import io
import os
import re
import socket
import sys

import ember
import numpy as np
import pytest

from .tensorboard_events import events, scalars, summaries

pytest.importorskip("tensorboardX")
from ember.utils.tensorboard import SummaryWriter


def test_default_log_dir_is_runs_datetime_hostname_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as writer:
        writer.add_scalar("loss", 1.0, 0)
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname()) + "_lr0.1",
                        writer.log_dir), writer.log_dir
    assert writer.get_logdir() == writer.log_dir
    assert scalars(writer.log_dir) == {"loss": [(0, 1.0)]}


def test_scalars_from_tensors_numbers_and_arrays_read_back(tmp_path):
    with SummaryWriter(tmp_path, filename_suffix=".run1") as writer:
        for step in range(3):
            writer.add_scalar("loss/train", ember.tensor(0.5 * step, requires_grad=True) * 2, step)
            writer.add_scalar("lr", 0.1 / (step + 1), step)
            writer.add_scalar("acc", np.float32(0.25 * step), step)
        writer.add_scalars("run", {"a": ember.tensor(1.5), "b": 2}, 7)
    assert scalars(tmp_path) == {"loss/train": [(0, 0.0), (1, 1.0), (2, 2.0)],
                                 "lr": [(0, pytest.approx(0.1)), (1, pytest.approx(0.05)),
                                        (2, pytest.approx(0.1 / 3))],
                                 "acc": [(0, 0.0), (1, 0.25), (2, 0.5)]}
    assert all(name.endswith(".run1") for name in os.listdir(tmp_path) if name.startswith("events"))
    # add_scalars: one run per key, <log_dir>/<main_tag>_<key>, the scalar tagged main_tag (torch's layout)
    assert scalars(tmp_path / "run_a") == {"run": [(7, 1.5)]}
    assert scalars(tmp_path / "run_b") == {"run": [(7, 2.0)]}


def test_flush_writes_before_close_and_purge_step_hides_a_crashed_runs_tail(tmp_path):
    writer = SummaryWriter(tmp_path, flush_secs=10_000)
    for step in range(10):
        writer.add_scalar("x", float(step), step)
    writer.flush()
    assert [s for s, _ in scalars(tmp_path)["x"]] == list(range(10))
    writer.close()
    with SummaryWriter(tmp_path, purge_step=6) as resumed:  # the run restarts from its step-6 checkpoint
        for step in range(6, 8):
            resumed.add_scalar("x", 100.0 + step, step)
    assert scalars(tmp_path)["x"] == [(s, float(s)) for s in range(6)] + [(6, 106.0), (7, 107.0)]
    resumed.add_scalar("x", 108.0, 8)  # (after close: a third file)
    resumed.close()
    assert scalars(tmp_path)["x"][-3:] == [(6, 106.0), (7, 107.0), (8, 108.0)]
    # torch's file names (tensorboardX's own stop at the host name, so files opened within a second collide)
    names = sorted(os.listdir(tmp_path))
    pattern = r"events\.out\.tfevents\.\d{10}\." + re.escape(socket.gethostname()) + rf"\.{os.getpid()}\.\d+"
    assert len(names) == 3 and all(re.fullmatch(pattern, name) for name in names), names


def test_histogram_pr_curve_and_embedding_take_ember_tensors(tmp_path):
    values = ember.randn(1000, requires_grad=True)
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("weights", values, 3)
        writer.add_histogram("auto", values.detach().numpy(), 4, bins="auto")
        labels, predictions = ember.tensor([0, 1, 1, 0, 1]), ember.tensor([0.1, 0.9, 0.6, 0.4, 0.2])
        writer.add_pr_curve("pr", labels, predictions, 5, num_thresholds=11)
        writer.add_embedding(ember.arange(12.0).reshape(4, 3), metadata=["a", "b", "c", "d"],
                             label_img=ember.rand(4, 3, 8, 8), global_step=2, tag="emb")
    shown = {value.tag: (step, value) for step, value in summaries(tmp_path)}
    step, histogram = shown["weights"]
    array = values.detach().numpy().astype(np.float64)
    assert step == 3 and histogram.histo.num == 1000
    assert histogram.histo.min == pytest.approx(array.min()) and histogram.histo.max == pytest.approx(array.max())
    assert histogram.histo.sum == pytest.approx(array.sum(), abs=1e-3)
    assert sum(histogram.histo.bucket) == 1000 and sum(shown["auto"][1].histo.bucket) == 1000
    step, curve = shown["pr"]
    table = np.array(curve.tensor.float_val).reshape(6, 11)  # TP, FP, TN, FN, precision, recall per threshold
    assert step == 5 and table[0, 0] == 3 and table[1, 0] == 2  # at threshold 0: every prediction positive
    assert (tmp_path / "projector_config.pbtxt").exists()
    tensors = np.loadtxt(tmp_path / "00002" / "emb" / "tensors.tsv")
    np.testing.assert_array_equal(tensors, np.arange(12.0).reshape(4, 3))
    assert (tmp_path / "00002" / "emb" / "metadata.tsv").read_text().split() == ["a", "b", "c", "d"]
    assert (tmp_path / "00002" / "emb" / "sprite.png").exists()


def _image(value) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(value.image.encoded_image_string)))


def test_images_in_each_dataformat_figure_audio_and_text(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chw = ember.linspace(0, 1, 3 * 4 * 5).reshape(3, 4, 5)
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("chw", chw, 0)
        writer.add_image("hwc", chw.permute(1, 2, 0), 0, dataformats="HWC")
        writer.add_image("hw", chw[0], 0, dataformats="HW")
        writer.add_images("nchw", ember.stack([chw, 1 - chw]), 1)
        writer.add_images("nhwc", ember.stack([chw, chw]).permute(0, 2, 3, 1), 1, dataformats="NHWC")
        figure = plt.figure(figsize=(2, 1), dpi=50)
        plt.plot([0, 1], [1, 0])
        writer.add_figure("figure", figure, 2)
        writer.add_audio("audio", ember.sin(ember.arange(800.0) / 10), 3, sample_rate=8000)
        writer.add_text("notes", "lr **0.1**", 4)
    shown = {value.tag: (step, value) for step, value in summaries(tmp_path)}
    expected = np.round(chw.numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
    for tag in ("chw", "hwc"):
        assert shown[tag][1].image.height == 4 and shown[tag][1].image.width == 5
        np.testing.assert_allclose(_image(shown[tag][1]), expected, atol=1)
    assert _image(shown["hw"][1]).shape[:2] == (4, 5)
    assert _image(shown["nchw"][1]).shape[:2] == _image(shown["nhwc"][1]).shape[:2]  # one grid of both
    np.testing.assert_array_equal(_image(shown["nchw"][1])[:, :5], _image(shown["nhwc"][1])[:, :5])
    assert shown["figure"][0] == 2 and _image(shown["figure"][1]).shape[:2] == (50, 100)
    assert not plt.fignum_exists(figure.number)  # close=True
    assert shown["audio"][1].audio.sample_rate == 8000 and shown["audio"][1].audio.length_frames == 800
    assert shown["notes/text_summary"][0] == 4 and shown["notes/text_summary"][1].tensor.string_val == [b"lr **0.1**"]


def test_hparams_write_a_trial_run_with_its_metrics_and_discrete_domains(tmp_path):
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    with SummaryWriter(tmp_path) as writer:
        writer.add_hparams({"lr": 0.1, "optimizer": "adam", "layers": ember.tensor(3)},
                           {"hparam/accuracy": ember.tensor(0.75)},
                           hparam_domain_discrete={"optimizer": ["adam", "sgd"]}, run_name="trial0")
        with pytest.raises(TypeError, match="should be dictionary"):
            writer.add_hparams([("lr", 0.1)], {})
        with pytest.raises(TypeError, match=r"hparam_domain_discrete\[lr\] should be a list of same type"):
            writer.add_hparams({"lr": 0.1}, {}, hparam_domain_discrete={"lr": [1, 2]})
    trial = tmp_path / "trial0"
    assert scalars(trial) == {"hparam/accuracy": [(0, 0.75)]}
    plugin = {value.tag: HParamsPluginData.FromString(value.metadata.plugin_data.content)
              for _, value in summaries(trial) if value.tag.startswith("_hparams_")}
    session = plugin["_hparams_/session_start_info"].session_start_info
    assert session.hparams["lr"].number_value == 0.1 and session.hparams["optimizer"].string_value == "adam"
    assert session.hparams["layers"].number_value == 3
    infos = {info.name: info for info in plugin["_hparams_/experiment"].experiment.hparam_infos}
    assert [v.string_value for v in infos["optimizer"].domain_discrete.values] == ["adam", "sgd"]
    assert [m.name.tag for m in plugin["_hparams_/experiment"].experiment.metric_infos] == ["hparam/accuracy"]


def test_add_graph_logs_the_onnx_export_of_the_model(tmp_path):
    pytest.importorskip("onnx")
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(model, ember.randn(3, 4))
        with pytest.raises(ValueError, match="input_to_model"):
            writer.add_graph(model)
    graphs = [event.graph_def for event in events(tmp_path) if event.graph_def]
    assert len(graphs) == 1
    from tensorboardX.proto.graph_pb2 import GraphDef

    ops = [node.op for node in GraphDef.FromString(graphs[0]).node]
    assert ops.count("Gemm") + ops.count("MatMul") >= 2 and "Relu" in ops, ops


def test_missing_tensorboardx_names_the_extra_and_is_an_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"SummaryWriter needs .*pip install 'ember\[tensorboard\]'"):
        from ember.utils.tensorboard import SummaryWriter  # noqa: F401


def test_importing_the_package_loads_no_tensorboardx():
    import subprocess

    code = "import ember.utils.tensorboard, sys; print('tensorboardX' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


# -- torch's writer, where the tensorboard package is installed ------------------------------------------------


def _calls(lib, writer):
    x = lib.linspace(-1, 1, 60, dtype=lib.float32).reshape(3, 4, 5)
    for step in range(3):
        writer.add_scalar("loss", lib.tensor(0.5 * step), step)
    writer.add_scalars("pair", {"a": 1.0, "b": lib.tensor(2.0)}, 1)
    writer.add_histogram("h", x, 2)
    writer.add_image("img", (x + 1) / 2, 3)
    writer.add_images("imgs", ((x + 1) / 2).reshape(1, 3, 4, 5).expand(2, 3, 4, 5), 3)
    writer.add_text("t", "hello", 4)
    writer.add_pr_curve("pr", lib.tensor([0, 1, 1, 0]), lib.tensor([0.2, 0.8, 0.4, 0.6]), 5, num_thresholds=9)
    writer.add_audio("snd", lib.sin(lib.arange(100, dtype=lib.float32)), 6, sample_rate=1000)
    writer.add_hparams({"lr": 0.1, "opt": "sgd"}, {"m": 0.5}, run_name="trial")


def _records(log_dir):
    found = []
    for step, value in summaries(log_dir):
        kind = value.WhichOneof("value")
        if kind == "image":
            payload = (value.image.height, value.image.width, value.image.colorspace, _image(value).tolist())
        elif kind == "audio":
            payload = (value.audio.sample_rate, value.audio.length_frames, value.audio.num_channels)
        elif kind == "histo":
            payload = (value.histo.min, value.histo.max, value.histo.num, round(value.histo.sum, 4),
                       round(value.histo.sum_squares, 3), list(value.histo.bucket_limit), list(value.histo.bucket))
        elif kind == "tensor":
            payload = (list(np.round(value.tensor.float_val, 6)), list(value.tensor.string_val))
        else:
            payload = getattr(value, kind) if kind else None
        found.append((step, value.tag, kind, value.metadata.plugin_data.plugin_name, payload))
    return found


@pytest.mark.parity
def test_the_same_calls_write_torchs_records(tmp_path):
    torch = pytest.importorskip("torch")
    torch_tensorboard = pytest.importorskip("torch.utils.tensorboard", exc_type=ImportError)
    for lib, writer_class in ((torch, torch_tensorboard.SummaryWriter), (ember, SummaryWriter)):
        with writer_class(tmp_path / lib.__name__) as writer:
            _calls(lib, writer)
    for folder in ("", "pair_a", "pair_b", "trial"):
        ours, theirs = _records(tmp_path / "ember" / folder), _records(tmp_path / "torch" / folder)
        assert [r[:4] for r in ours] == [r[:4] for r in theirs], folder
        for mine, torchs in zip(ours, theirs):
            assert mine[4] == torchs[4], mine[:4]
