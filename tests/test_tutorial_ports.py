"""PyTorch's beginner tutorials ("Learn the Basics", "Learning PyTorch with Examples", "What is torch.nn
really?", "Training a Classifier") run on Ember after renaming alone.

Each file in tests/tutorial_ports/ is a tutorial page written as a torch program (``main(argv)`` returning
its losses, or the values it computed). The Ember test renames it with ``tests.test_ports.rename`` and runs
it; where torch is installed the original runs too (test_tutorial_ports_torch.py). What a tutorial downloads
comes from a local HTTP server started here: tiny FashionMNIST and CIFAR-10 files in the real formats (the data
set classes' ``mirrors`` / URLs pointed at it) and the pretrained weights of a small torchvision model (its
weights enum's URL pointed at it); the MNIST pickle of nn_tutorial is written into the working folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.http_server import FileServer, tar_gz
from tests.test_ports import assert_trains
from tests.test_ports import run_program as run_ported

TUTORIALS = Path(__file__).resolve().parent / "tutorial_ports"
FASHION_CLASSES = 10


def run_program(name: str, argv: list[str], ported: bool):
    """Runs tests/tutorial_ports/NAME.py's ``main(argv)`` (renamed to Ember when ``ported``)."""
    return run_ported(name, argv, ported, TUTORIALS)


# --- the files the tutorials download, generated -------------------------------------------------------


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _class_images(labels: np.ndarray, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """uint8 images a small network tells apart: a bright block whose place depends on the class."""
    images = rng.integers(0, 60, (len(labels), *shape)).astype(np.uint8)
    height, width = shape[-2:]
    for image, label in zip(images, labels):
        row, col = (label % 5) * height // 5, (label // 5) * width // 2
        image[..., row:row + height // 5, col:col + width // 2] = 230
    return images


def fashion_mnist_files(n_train: int = 256, n_test: int = 64) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, FASHION_CLASSES, n).astype(np.uint8)
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(_idx(_class_images(labels, (28, 28), rng)))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(_idx(labels))
    return files


CIFAR_CLASSES = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar10_members(per_batch: int = 40, n_test: int = 40) -> dict[str, bytes]:
    """cifar-10-batches-py/*: CIFAR's protocol-2 pickled batches (rows of 3072 bytes, channel-major)."""
    rng = np.random.default_rng(1)
    members = {}
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        labels = rng.integers(0, 10, n)
        images = _class_images(labels, (3, 32, 32), rng)
        images[np.arange(n), labels % 3] //= 2  # and a colour cast
        batch = {"batch_label": name, "labels": [int(v) for v in labels], "data": images.reshape(n, 3072),
                 "filenames": [f"{i}.png" for i in range(n)]}
        members[name] = pickle.dumps(batch, protocol=2)
    members["batches.meta"] = pickle.dumps({"label_names": ["airplane", "automobile"] + CIFAR_CLASSES[2:]},
                                           protocol=2)
    return members


def write_mnist_pickle(folder: Path, n_train: int = 512, n_valid: int = 256) -> None:
    """folder/mnist.pkl.gz as deeplearning.net served it: ((x_train, y_train), (x_valid, y_valid), (x_test,
    y_test)), float32 rows of 784 pixels in [0, 1] and int64 labels."""
    rng = np.random.default_rng(2)
    splits = []
    for n in (n_train, n_valid, 16):
        labels = rng.integers(0, 10, n)
        images = _class_images(labels, (28, 28), rng).reshape(n, 784).astype(np.float32) / 255
        splits.append((images, labels.astype(np.int64)))
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "mnist.pkl.gz", "wb") as f:
        pickle.dump(tuple(splits), f, protocol=2)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _random_torch_squeezenet() -> bytes:
    import torch

    from tests.vision._torchvision import import_torchvision

    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.save(import_torchvision().models.squeezenet1_1().state_dict(), buffer)
    return buffer.getvalue()


def _random_ember_squeezenet(folder: Path) -> bytes:
    import ember
    from ember.vision.models import squeezenet1_1

    ember.manual_seed(0)
    ember.save(squeezenet1_1().state_dict(), folder / "squeezenet.pth")
    return (folder / "squeezenet.pth").read_bytes()


@pytest.fixture(scope="module")
def mirror():
    """The module's local server, serving FashionMNIST's four files and CIFAR-10's archive."""
    fashion = fashion_mnist_files()
    cifar = tar_gz({f"cifar-10-batches-py/{n}": d for n, d in cifar10_members().items()})
    files = {f"/fashion/{n}": d for n, d in fashion.items()}
    files["/cifar/cifar-10-python.tar.gz"] = cifar
    with FileServer(files) as server:
        server.fashion, server.cifar = fashion, cifar
        yield server


def _serve_weights(server: FileServer, data: bytes, prefix: str) -> str:
    path = f"/models/{prefix}/squeezenet1_1-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    server.files[path] = data
    return server.url(path)


def point_ember_at(server: FileServer, monkeypatch, tmp_path: Path) -> None:
    """Ember's FashionMNIST, CIFAR10 and SqueezeNet 1.1 weights download from ``server``."""
    from ember import hub
    from ember.vision import datasets, models

    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [server.url("/fashion/")])
    monkeypatch.setattr(datasets.FashionMNIST, "resources", [(n, _md5(d)) for n, d in server.fashion.items()])
    members = cifar10_members()
    monkeypatch.setattr(datasets.CIFAR10, "mirrors", [server.url("/cifar/")])
    monkeypatch.setattr(datasets.CIFAR10, "resources", [("cifar-10-python.tar.gz", _md5(server.cifar))])
    monkeypatch.setattr(datasets.CIFAR10, "train_list", [[f"data_batch_{i}", _md5(members[f"data_batch_{i}"])]
                                                         for i in range(1, 6)])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", _md5(members["test_batch"])]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                                   "md5": _md5(members["batches.meta"])})
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "ember_home"))
    url = _serve_weights(server, _random_ember_squeezenet(tmp_path), "ember")
    monkeypatch.setattr(models.SqueezeNet1_1_Weights.IMAGENET1K_V1.value, "url", url)


def point_torch_at(server: FileServer, monkeypatch, tmp_path: Path) -> None:
    """torchvision's FashionMNIST, CIFAR10 and SqueezeNet 1.1 weights download from ``server``."""
    from tests.vision._torchvision import import_torchvision

    torchvision = import_torchvision()
    datasets, models = torchvision.datasets, torchvision.models
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [server.url("/fashion/")])
    monkeypatch.setattr(datasets.FashionMNIST, "resources", [(n, _md5(d)) for n, d in server.fashion.items()])
    members = cifar10_members()
    monkeypatch.setattr(datasets.CIFAR10, "url", server.url("/cifar/cifar-10-python.tar.gz"))
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", _md5(server.cifar))
    monkeypatch.setattr(datasets.CIFAR10, "train_list", [[f"data_batch_{i}", _md5(members[f"data_batch_{i}"])]
                                                         for i in range(1, 6)])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", _md5(members["test_batch"])]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                                   "md5": _md5(members["batches.meta"])})
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    url = _serve_weights(server, _random_torch_squeezenet(), "torch")
    monkeypatch.setattr(models.SqueezeNet1_1_Weights.IMAGENET1K_V1.value, "url", url)


# --- the programs ----------------------------------------------------------------------------------------

# case -> (program in tests/tutorial_ports/, arguments, window and factor for assert_trains, or None for a
# page that trains nothing: its program checks the tutorial's claims itself and returns what it computed)
CASES = {
    "quickstart": ("quickstart", [], 3, 1.0),
    "datasets_dataloaders": ("datasets_dataloaders", [], None, None),
    "build_model": ("build_model", [], None, None),
    "autograd": ("autograd", [], None, None),
    "optimization": ("optimization", [], 3, 1.0),
    **{f"with_examples[{example}]": ("with_examples", ["--example", example], 5, 0.5)
       for example in ["numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module", "dynamic"]},
    "nn_tutorial": ("nn_tutorial", [], 4, 0.5),
    "cifar10_tutorial": ("cifar10_tutorial", ["--workers", "0", "--epochs", "6"], 50, 0.99),
    "tensors": ("tensors", [], None, None),
    "transforms": ("transforms", [], None, None),
}
# Programs that run on torch but not yet on Ember, with what they wait for. They join CASES when it lands.
PENDING: dict[str, str] = {
    "save_load": "torch.save(model) / torch.load(weights_only=False) of a whole module: Ember does not write or "
                 "read pickles, so that loading a file never runs code from it (state_dict checkpoints load; "
                 "see docs/serialization.md)",
}


# Programs whose torch original decodes images with torchvision.io, whose compiled codecs may not load.
NEEDS_TORCHVISION_IMAGE_CODECS = {"datasets_dataloaders"}


def _torchvision_image_codecs_or_skip() -> None:
    import torch

    from tests.vision._torchvision import import_torchvision

    png = io.BytesIO()
    from PIL import Image

    Image.new("L", (2, 2)).save(png, format="PNG")
    try:
        import_torchvision().io.decode_image(torch.frombuffer(bytearray(png.getvalue()), dtype=torch.uint8))
    except RuntimeError as error:  # PyPI's CUDA wheel with the CPU torch: "Couldn't load the image extension"
        pytest.skip(f"torchvision.io cannot decode images here: {error}")


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in TUTORIALS.glob("*.py")}
    run = {name for name, *_ in CASES.values()}
    assert programs == run | set(PENDING), programs ^ (run | set(PENDING))
    assert not run & set(PENDING)


@pytest.fixture(autouse=True)
def _default_devices_restored():
    """with_examples[autograd] calls ``set_default_device`` as the tutorial does; the next test starts clean."""
    yield
    import ember

    ember.set_default_device(None)
    if "torch" in sys.modules:
        sys.modules["torch"].set_default_device(None)


def _check(result, window, factor) -> None:
    if window is None:
        assert result is not None
    else:
        assert_trains(result, window, factor)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_tutorial_runs(case, mirror, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_mnist_pickle(tmp_path / "data" / "mnist")
    point_ember_at(mirror, monkeypatch, tmp_path)
    name, argv, window, factor = CASES[case]
    _check(run_program(name, argv, ported=True), window, factor)


def _time_case(case: str, side: str) -> float:
    """CPU seconds of one ``main()`` of CASES[case] (``side`` "ember" or "torch"), after one warm-up run, in a
    temporary folder with the local mirror up."""
    import tempfile
    import time

    name, argv, *_ = CASES[case]
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(folder)
        write_mnist_pickle(Path(folder) / "data" / "mnist")
        with FileServer({}) as server:
            server.fashion, server.cifar = fashion_mnist_files(), tar_gz(
                {f"cifar-10-batches-py/{n}": d for n, d in cifar10_members().items()})
            server.files.update({f"/fashion/{n}": d for n, d in server.fashion.items()})
            server.files["/cifar/cifar-10-python.tar.gz"] = server.cifar
            if side == "torch":
                import torch

                torch.set_num_threads(1)
                point_torch_at(server, monkeypatch, Path(folder))
            else:
                point_ember_at(server, monkeypatch, Path(folder))
            run_program(name, argv, ported=side == "ember")  # warm-up
            start = time.process_time()
            run_program(name, argv, ported=side == "ember")
            return time.process_time() - start


if __name__ == "__main__":
    # python -m tests.test_tutorial_ports [CASE ...]: each case's main() in a fresh process per side, one
    # thread, Ember and torch interleaved, two runs each; prints CPU seconds and the Ember / torch ratio.
    import contextlib
    import json
    import subprocess

    threads = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    root = Path(__file__).resolve().parents[1]
    for case in sys.argv[1:] or sorted(CASES):
        times = {"ember": [], "torch": []}
        for _ in range(2):
            for side in ("ember", "torch"):
                code = ("import contextlib, io, json; from tests.test_tutorial_ports import _time_case\n"
                        "with contextlib.redirect_stdout(io.StringIO()):\n"
                        f"    seconds = _time_case({case!r}, {side!r})\n"
                        "print(json.dumps(seconds))")
                done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                                      env={**os.environ, **threads, "PYTHONPATH": str(root)}, check=False)
                if done.returncode != 0:  # (e.g. torchvision.io without its image codecs)
                    print(f"{case} on {side} failed: {done.stderr.strip().splitlines()[-1]}", flush=True)
                    break
                times[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
        if times["ember"] and times["torch"]:
            ratio = min(times["ember"]) / min(times["torch"])
            print(f"{case:34s} ember {', '.join(f'{t:.2f}' for t in times['ember'])}   "
                  f"torch {', '.join(f'{t:.2f}' for t in times['torch'])}   ratio {ratio:.2f}", flush=True)
    with contextlib.suppress(Exception):
        print("load average", os.getloadavg())
