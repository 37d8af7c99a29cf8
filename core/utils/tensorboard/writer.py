"""``SummaryWriter`` with torch.utils.tensorboard's signatures and defaults, written by tensorboardX.

Every method takes Ember tensors wherever torch's takes tensors (``_numpy`` turns them into arrays, the one
conversion), numpy arrays and numbers as well, and writes the same event records as torch's writer.
"""

from __future__ import annotations

import itertools
import os
import socket
import tempfile
import time
from datetime import datetime

from ...tensor import Tensor
from . import import_tensorboardx

# torch's event file names, events.out.tfevents.<seconds>.<host>.<pid>.<n><suffix>: tensorboardX's stop at
# <host>, so a second file opened on one folder within a second (a restart with purge_step, a write after
# close()) would overwrite the first
_file_numbers = itertools.count()


def _numpy(value):
    """An Ember tensor as its (detached) ndarray; anything else unchanged (tensorboardX takes arrays,
    numbers, lists and torch tensors itself)."""
    return value.detach().numpy() if isinstance(value, Tensor) else value


class SummaryWriter:
    """Writes TensorBoard event files into ``log_dir`` (``tensorboard --logdir runs`` shows them).

    torch.utils.tensorboard.SummaryWriter's arguments, defaults and methods: ``log_dir=None`` writes to
    ``runs/<Mon DD_HH-MM-SS>_<hostname><comment>``; ``purge_step`` hides the events at and after that step
    left by a crashed run in the same ``log_dir``; events are queued (``max_queue``) and flushed every
    ``flush_secs`` seconds, on ``flush()`` and on ``close()`` (or the end of a ``with`` block).

    What differs from torch: ``add_graph`` exports the model through ``ember.onnx.export`` (it needs the
    ``onnx`` package) instead of tracing it with TorchScript; ``add_scalar(new_style=True)`` writes the value
    as a classic scalar, which TensorBoard draws the same; ``add_video`` needs ``moviepy`` as torch's does.

    Args:
        log_dir: the folder of the event files (created if needed).
        comment: appended to the default ``log_dir``; ignored when ``log_dir`` is given.
        purge_step: the first step of a resumed run: older events from that step on are hidden.
        max_queue: events kept in memory before an ``add_*`` call writes them out.
        flush_secs: how often, in seconds, queued events are written out.
        filename_suffix: appended to the event file's name.

    Example:
        >>> import ember
        >>> from ember.utils.tensorboard import SummaryWriter
        >>> writer = SummaryWriter("runs/mnist")
        >>> for step in range(3):
        ...     writer.add_scalar("loss/train", ember.tensor(1.0 / (step + 1)), step)
        >>> writer.add_histogram("weights", ember.randn(100), 0)
        >>> writer.close()
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = ""):
        if not log_dir:
            log_dir = os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname()
                                   + comment)
        self.log_dir = str(log_dir)
        self.purge_step, self.max_queue, self.flush_secs = purge_step, max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self._tbx = import_tensorboardx("SummaryWriter")
        self._writer = self._tbx.SummaryWriter(logdir=self.log_dir, purge_step=purge_step, max_queue=max_queue,
                                               flush_secs=flush_secs, filename_suffix=self._file_suffix())
        # The purge events are in the first file now; a file reopened after close() must not repeat them (they
        # would hide what was written since). tensorboardX keeps its purge_step, torch's writer forgets it.
        self._writer.purge_step = self.purge_step = None

    @property
    def file_writer(self):
        """The writer of this run's event file (tensorboardX's ``FileWriter``: ``add_summary``, ``add_event``)."""
        return self._writer._get_file_writer()

    def _file_suffix(self) -> str:
        return f".{os.getpid()}.{next(_file_numbers)}{self.filename_suffix}"

    def get_logdir(self) -> str:
        """The folder the event files are written to."""
        return self.log_dir

    # -- scalars ------------------------------------------------------------------------------------------------

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """Logs one number (a Python number or a one-element tensor / array) under ``tag`` at ``global_step``."""
        self._writer.add_scalar(tag, _numpy(scalar_value), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Logs several numbers on one chart: each key goes to the run ``<log_dir>/<main_tag>_<key>`` (torch's
        layout; tensorboardX's own writer uses ``<main_tag>/<key>``), tagged ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        log_dir = self.file_writer.get_logdir()
        writers = self._writer.all_writers
        for key, value in tag_scalar_dict.items():
            folder = log_dir + "/" + main_tag.replace("/", "_") + "_" + key
            if folder not in writers:
                writers[folder] = self._tbx.writer.FileWriter(folder, self.max_queue, self.flush_secs,
                                                              self._file_suffix())
            writers[folder].add_summary(self._tbx.summary.scalar(main_tag, _numpy(value)), global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """Logs one trial's hyperparameters and metrics to the HPARAMS tab, in the run ``<log_dir>/<run_name>``
        (default: the current time); ``hparam_domain_discrete`` lists the values a hyperparameter may take."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        hparam_dict = {key: _numpy(value).item() if isinstance(value, Tensor) else value
                       for key, value in hparam_dict.items()}
        experiment, start, end = self._tbx.summary.hparams(hparam_dict, metric_dict)
        _add_discrete_domains(experiment, hparam_dict, hparam_domain_discrete or {})
        with SummaryWriter(os.path.join(self.log_dir, run_name or str(time.time()))) as trial:
            for summary in (experiment, start, end):
                trial.file_writer.add_summary(summary, global_step)
            for key, value in metric_dict.items():
                trial.add_scalar(key, value, global_step)

    def add_custom_scalars(self, layout: dict) -> None:
        """Groups scalar tags into charts of the CUSTOM SCALARS tab (``{category: {title: [kind, tags]}}``)."""
        self._writer.add_custom_scalars(layout)

    def add_custom_scalars_multilinechart(self, tags: list[str], category: str = "default",
                                          title: str = "untitled") -> None:
        self._writer.add_custom_scalars_multilinechart(tags, category, title)

    def add_custom_scalars_marginchart(self, tags: list[str], category: str = "default",
                                       title: str = "untitled") -> None:
        self._writer.add_custom_scalars_marginchart(tags, category, title)

    # -- distributions ------------------------------------------------------------------------------------------

    def add_histogram(self, tag: str, values, global_step: int | None = None, bins: str = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """Logs the histogram of ``values`` (``bins``: ``"tensorflow"``, ``"auto"``, ``"fd"``, ... as numpy's)."""
        self._writer.add_histogram(tag, _numpy(values), global_step, bins, walltime, max_bins)

    def add_histogram_raw(self, tag: str, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,
                          global_step: int | None = None, walltime: float | None = None) -> None:
        """Logs a histogram already binned: ``bucket_counts[i]`` values at most ``bucket_limits[i]``."""
        self._writer.add_histogram_raw(tag, min, max, num, sum, sum_squares, _numpy(bucket_limits),
                                       _numpy(bucket_counts), global_step, walltime)

    def add_pr_curve(self, tag: str, labels, predictions, global_step: int | None = None, num_thresholds: int = 127,
                     weights=None, walltime: float | None = None) -> None:
        """Logs the precision-recall curve of ``predictions`` (probabilities in [0, 1]) against 0/1 ``labels``."""
        self._writer.add_pr_curve(tag, _numpy(labels), _numpy(predictions), global_step, num_thresholds,
                                  _numpy(weights), walltime)

    def add_pr_curve_raw(self, tag: str, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step: int | None = None,
                         num_thresholds: int = 127, weights=None, walltime: float | None = None) -> None:
        counts = (true_positive_counts, false_positive_counts, true_negative_counts, false_negative_counts)
        self._writer.add_pr_curve_raw(tag, *(_numpy(c) for c in counts), _numpy(precision), _numpy(recall),
                                      global_step, num_thresholds, weights, walltime)

    # -- images, figures, video, audio, text ----------------------------------------------------------------------

    def add_image(self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """Logs one image: floats in [0, 1] or uint8 in [0, 255], laid out as ``dataformats`` says
        (``"CHW"``, ``"HWC"``, ``"HW"``)."""
        self._writer.add_image(tag, _numpy(img_tensor), global_step, walltime, dataformats)

    def add_images(self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None,
                   dataformats: str = "NCHW") -> None:
        """Logs a batch of images as one grid (``dataformats``: ``"NCHW"``, ``"NHWC"``)."""
        self._writer.add_images(tag, _numpy(img_tensor), global_step, walltime, dataformats)

    def add_image_with_boxes(self, tag: str, img_tensor, box_tensor, global_step: int | None = None,
                             walltime: float | None = None, rescale: int = 1, dataformats: str = "CHW",
                             labels: list[str] | None = None) -> None:
        """Logs an image with boxes drawn on it (``box_tensor``: rows of ``xmin, ymin, xmax, ymax``)."""
        self._writer.add_image_with_boxes(tag, _numpy(img_tensor), _numpy(box_tensor), global_step, walltime,
                                          dataformats, labels, rescale=rescale)

    def add_figure(self, tag: str, figure, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """Logs a matplotlib figure (or a list of them) as an image; ``close`` closes it afterwards."""
        self._writer.add_figure(tag, figure, global_step, close, walltime)

    def add_video(self, tag: str, vid_tensor, global_step: int | None = None, fps: float = 4,
                  walltime: float | None = None) -> None:
        """Logs a batch of videos shaped (N, T, C, H, W) as an animated GIF (needs ``moviepy``)."""
        self._writer.add_video(tag, _numpy(vid_tensor), global_step, fps, walltime)

    def add_audio(self, tag: str, snd_tensor, global_step: int | None = None, sample_rate: int = 44100,
                  walltime: float | None = None) -> None:
        """Logs one clip of samples in [-1, 1], shaped (L,) or (1, L)."""
        self._writer.add_audio(tag, _numpy(snd_tensor), global_step, sample_rate, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Logs a string (markdown) to the TEXT tab."""
        self._writer.add_text(tag, text_string, global_step, walltime)

    # -- graphs, embeddings, meshes -------------------------------------------------------------------------------

    def add_graph(self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True) -> None:
        """Logs the model's graph to the GRAPHS tab: captured on ``input_to_model`` (a tensor or a tuple of them)
        by ``ember.onnx.export`` (torch traces it with TorchScript instead) and read back from the ONNX file,
        which needs the ``onnx`` package. ``use_strict_trace`` changes nothing; ``verbose`` prints the graph."""
        if input_to_model is None:
            raise ValueError("add_graph needs input_to_model: the model's graph is captured by running it on "
                             "example inputs (ember.onnx.export(model, input_to_model, ...))")
        from ... import onnx  # (lazy: the ONNX exporter loads the capture machinery)

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.onnx")
            onnx.export(model, input_to_model if isinstance(input_to_model, tuple) else (input_to_model,), path,
                        verbose=verbose)
            try:
                self._writer.add_onnx_graph(path)
            except ImportError:
                raise ModuleNotFoundError("SummaryWriter.add_graph reads the exported graph with the onnx package, "
                                          "which is not installed: pip install onnx") from None

    def add_onnx_graph(self, prototxt: str | os.PathLike) -> None:
        """Logs the graph of an ONNX file (``ember.onnx.export``'s output, for instance); needs ``onnx``."""
        self._writer.add_onnx_graph(str(prototxt))

    def add_embedding(self, mat, metadata=None, label_img=None, global_step: int | None = None,
                      tag: str = "default", metadata_header=None) -> None:
        """Logs the rows of ``mat`` (N, D) to the PROJECTOR tab, labelled by ``metadata`` (N labels, or N rows of
        columns named by ``metadata_header``) and drawn as ``label_img`` (N, C, H, W) thumbnails."""
        self._writer.add_embedding(_numpy(mat), metadata, _numpy(label_img), global_step, tag, metadata_header)

    def add_mesh(self, tag: str, vertices, colors=None, faces=None, config_dict=None, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Logs a 3-D point cloud or mesh (``vertices`` (B, N, 3), ``colors`` (B, N, 3), ``faces`` (B, F, 3))."""
        self._writer.add_mesh(tag, _numpy(vertices), _numpy(colors), _numpy(faces), config_dict, global_step,
                              walltime)

    # -- the file -----------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Writes the queued events to disk (all of them, as torch's flush: tensorboardX's own flush leaves
        those its writer thread has not picked up yet)."""
        for file_writer in (self._writer.all_writers or {}).values():
            _drain(file_writer.event_writer)

    def close(self) -> None:
        """Writes the queued events and closes the event files (a later ``add_*`` opens a new one)."""
        self._writer.close()
        self._writer._filename_suffix = self._file_suffix()  # (the name of that new one)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.close()


def _drain(event_writer) -> None:
    """Writes every event queued in a tensorboardX ``EventFileWriter`` and flushes its file: its writer thread is
    stopped once it has written the queue (``stop`` queues the end signal and waits), then started afresh."""
    if event_writer._closed:
        return
    event_writer._worker.stop()
    event_writer._ev_writer.flush()
    event_writer._worker = type(event_writer._worker)(event_writer._event_queue, event_writer._ev_writer,
                                                      event_writer._flush_secs)
    event_writer._worker.start()


def _add_discrete_domains(experiment, hparam_dict: dict, domains: dict) -> None:
    """Writes ``hparam_domain_discrete`` (the values each named hyperparameter may take) into the experiment
    summary, checked as torch checks it; tensorboardX's ``hparams`` has no such argument."""
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for key, values in domains.items():
        if key not in hparam_dict or not isinstance(values, list) or not all(
                isinstance(value, type(hparam_dict[key])) for value in values):
            raise TypeError(f"parameter: hparam_domain_discrete[{key}] should be a list of same type as "
                            f"hparam_dict[{key}].")
    if not domains:
        return
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData  # (lazy: an optional extra)

    plugin_data = experiment.value[0].metadata.plugin_data
    content = HParamsPluginData.FromString(plugin_data.content)
    for info in content.experiment.hparam_infos:
        for value in domains.get(info.name, ()):
            item = info.domain_discrete.values.add()
            if isinstance(value, bool):
                item.bool_value = value
            elif isinstance(value, str):
                item.string_value = value
            else:
                item.number_value = value
    plugin_data.content = content.SerializeToString()
