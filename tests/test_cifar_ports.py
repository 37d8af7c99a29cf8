"""kuangliu/pytorch-cifar, the CIFAR-10 model zoo research programs start from, run on Ember after renaming alone.

tests/cifar_ports/ holds the repository as upstream lays it out: ``models/`` (one file per family: VGG, ResNet,
PreActResNet, GoogLeNet, DenseNet, ResNeXt, MobileNet / V2, DPN, ShuffleNet / V2, SENet, EfficientNet, RegNet,
SimpleDLA, DLA, PNASNet, LeNet), ``utils.py`` (with a quiet ``progress_bar``: upstream's reads the terminal's
width when imported) and ``main.py`` (``main(argv)``, CIFAR10 downloaded from a local mirror, ``--resume`` from
``./checkpoint/ckpt.pth``). The test renames torch's names in each file's text (tests/test_ports.py's ``rename``)
and loads the files under their upstream module names (``from models import *``, ``from utils import
progress_bar``). For every model, Ember loads torch's initial weights through a file and its train-mode logits and
losses over two SGD steps (momentum, weight decay; BatchNorm's batch statistics) and its eval-mode logits (the
running statistics those steps left) are torch's. The torch originals of main.py run in test_cifar_ports_torch.py.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import ember
import numpy as np
import pytest

from tests.http_server import FileServer, tar_gz
from tests.test_ports import ported_source, upstream_modules
from tests.test_tutorial_ports import _md5, cifar10_members

CIFAR_PORTS = Path(__file__).resolve().parent / "cifar_ports"
MODEL_FILES = sorted(p.stem for p in (CIFAR_PORTS / "models").glob("*.py") if p.stem != "__init__")
# The modules main.py imports, in the order they are executed (the package's __init__ after its submodules).
LIBRARIES = [("models", None), *[(f"models.{m}", f"models/{m}.py") for m in MODEL_FILES],
             ("models", "models/__init__.py"), ("utils", "utils.py")]


@contextlib.contextmanager
def libraries(ported: bool):
    """``models`` and ``utils`` in sys.modules under their upstream names (renamed to Ember when ``ported``), and
    main.py's namespace; yields that namespace. The modules are removed when the context closes."""
    with upstream_modules(CIFAR_PORTS, LIBRARIES, ported):
        namespace = {"__name__": "cifar_ports.main", "__file__": str(CIFAR_PORTS / "main.py")}
        code = compile(ported_source(CIFAR_PORTS / "main.py", ported), namespace["__file__"], "exec", dont_inherit=True)
        exec(code, namespace)  # noqa: S102 (our own test program)
        yield namespace


def _torch_or_skip():
    """torch, with torchvision importable (main.py imports it), or skips."""
    from tests.vision._torchvision import import_torchvision

    import_torchvision()
    import torch

    return torch


# -- the models, Ember against torch from torch's weights -------------------------------------------------------

# model -> its constructor call, as main.py's list writes it (and the other models of models/).
MODELS = {
    "VGG19": "VGG('VGG19')", "ResNet18": "ResNet18()", "PreActResNet18": "PreActResNet18()",
    "GoogLeNet": "GoogLeNet()", "DenseNet121": "DenseNet121()", "ResNeXt29_2x64d": "ResNeXt29_2x64d()",
    "MobileNet": "MobileNet()", "MobileNetV2": "MobileNetV2()", "DPN92": "DPN92()", "ShuffleNetG2": "ShuffleNetG2()",
    "SENet18": "SENet18()", "ShuffleNetV2": "ShuffleNetV2(1)", "EfficientNetB0": "EfficientNetB0()",
    "RegNetX_200MF": "RegNetX_200MF()", "SimpleDLA": "SimpleDLA()", "DLA": "DLA()", "PNASNetA": "PNASNetA()",
    "PNASNetB": "PNASNetB()", "LeNet": "LeNet()",
}
# models/ file -> the models of MODELS it defines
FILES = {"vgg": ["VGG19"], "resnet": ["ResNet18"], "preact_resnet": ["PreActResNet18"], "googlenet": ["GoogLeNet"],
         "densenet": ["DenseNet121"], "resnext": ["ResNeXt29_2x64d"], "mobilenet": ["MobileNet"],
         "mobilenetv2": ["MobileNetV2"], "dpn": ["DPN92"], "shufflenet": ["ShuffleNetG2"],
         "shufflenetv2": ["ShuffleNetV2"], "senet": ["SENet18"], "efficientnet": ["EfficientNetB0"],
         "regnet": ["RegNetX_200MF"], "dla_simple": ["SimpleDLA"], "dla": ["DLA"], "pnasnet": ["PNASNetA", "PNASNetB"],
         "lenet": ["LeNet"]}
# Models that run on torch but not yet on Ember, with what they wait for. They join MODELS' checks when it lands.
PENDING: dict[str, str] = {}


def test_every_model_file_and_main_model_is_checked():
    assert sorted(FILES) == MODEL_FILES
    assert sorted(m for ms in FILES.values() for m in ms) == sorted(MODELS)
    with libraries(ported=True) as main:
        assert set(main["NETS"]) <= set(MODELS)
    assert not set(PENDING) - set(MODELS)


def build(name: str, namespace: dict):
    """MODELS[name] built from main.py's namespace (which imported ``from models import *``). EfficientNet's
    classifier dropout (``cfg['dropout_rate']``, train mode only) is set to 0: the two frameworks draw different
    masks; its drop connect is off upstream (every block's ``drop_rate`` is ``0.2 * b / blocks`` with ``b`` never
    incremented), test_efficientnet_drop_connect checks it apart."""
    net = eval(MODELS[name], namespace)
    if name == "EfficientNetB0":
        net.cfg["dropout_rate"] = 0.0
    return net


def run_step(lib, namespace, name, weights: Path, inputs: np.ndarray, targets: np.ndarray, double=False) -> dict:
    """From the weights in the file (in float64 when ``double``): the train-mode logits, loss and every parameter's
    gradient (None where the forward does not use it), then after one step of main.py's SGD the eval-mode logits;
    as numpy."""
    net = build(name, namespace)
    net.load_state_dict(lib.load(weights))
    if double:
        net, inputs = net.double(), inputs.astype(np.float64)
    optimizer = lib.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x, y = lib.from_numpy(inputs), lib.from_numpy(targets)
    net.train()
    optimizer.zero_grad()
    outputs = net(x)
    loss = lib.nn.CrossEntropyLoss()(outputs, y)
    loss.backward()
    results = {"logits": outputs.detach().numpy().copy(), "loss": loss.item(),
               "grads": {k: None if p.grad is None else p.grad.numpy().copy() for k, p in net.named_parameters()}}
    optimizer.step()
    net.eval()
    with lib.no_grad():
        results["eval_logits"] = net(x).numpy().copy()
    return results


def train_forward(lib, namespace, name, weights: Path, inputs: np.ndarray, targets: np.ndarray) -> dict:
    """From the weights in the file, in float32: the train-mode logits and loss; as numpy."""
    net = build(name, namespace)
    net.load_state_dict(lib.load(weights))
    net.train()
    outputs = net(lib.from_numpy(inputs))
    return {"logits": outputs.detach().numpy(), "loss": lib.nn.CrossEntropyLoss()(outputs, lib.from_numpy(targets)).item()}


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_trains_as_torchs_from_torchs_weights(name, tmp_path):
    """Batch 2 of 3x32x32 from torch's weights, in float64: the train-mode logits, loss (BatchNorm's batch
    statistics) and every parameter's gradient, then after one SGD step the eval-mode logits (the updated weights
    and running statistics), are torch's to 1e-9; in float32, the train-mode logits and loss are torch's to float32
    rounding (DPN92's 300 layers move them by 7e-5). (In float32 the gradients are not compared: batch-of-two
    statistics amplify rounding, so that torch's own float32 gradients differ from its float64 ones by up to 3e-2
    of the model's largest gradient entry, PNASNetB's; Ember's by as much.)"""
    torch = _torch_or_skip()
    if name in PENDING:
        pytest.xfail(PENDING[name])
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    targets = rng.integers(0, 10, 2)
    with libraries(ported=False) as namespace:
        torch.manual_seed(0)
        torch.save(build(name, namespace).state_dict(), tmp_path / "init.pth")
        expected = run_step(torch, namespace, name, tmp_path / "init.pth", inputs, targets, double=True)
    with libraries(ported=True) as namespace:
        got = run_step(ember, namespace, name, tmp_path / "init.pth", inputs, targets, double=True)
        got32 = train_forward(ember, namespace, name, tmp_path / "init.pth", inputs, targets)
    np.testing.assert_allclose(got32["logits"], expected["logits"], rtol=1e-3, atol=2e-4, err_msg=name)
    np.testing.assert_allclose(got32["loss"], expected["loss"], rtol=1e-4, err_msg=name)
    for key in ("logits", "loss", "eval_logits"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=f"{name}: {key}")
    assert got["grads"].keys() == expected["grads"].keys()
    scale = max(np.abs(grad).max() for grad in expected["grads"].values() if grad is not None)
    for key, grad in expected["grads"].items():
        if grad is None:  # (EfficientNet's first block expands nothing: its conv1 and bn1 are unused)
            assert got["grads"][key] is None, (name, key)
        else:
            np.testing.assert_allclose(got["grads"][key], grad, rtol=1e-7, atol=1e-11 * scale, err_msg=f"{name}: {key}")


def test_efficientnet_drop_connect_drops_whole_samples_and_their_gradient():
    """efficientnet.py's ``drop_connect`` (``torch.empty(..., dtype=, device=)``, ``bernoulli_``, in-place ``div_``
    / ``mul_`` on a tensor in the graph): each sample is zeroed or scaled by 1 / keep, and so is its gradient."""
    with libraries(ported=True) as namespace:
        drop_connect = namespace["drop_connect"]
        ember.manual_seed(0)
        x = ember.randn(64, 3, 2, 2, requires_grad=True)
        out = drop_connect(x * 1.0, 0.5)
        out.sum().backward()
    kept = out.detach().numpy().reshape(64, -1) != 0
    assert kept.all(axis=1).sum() == kept.any(axis=1).sum()  # whole samples
    assert 16 < kept.all(axis=1).sum() < 48
    scale = np.where(kept.all(axis=1), 2.0, 0.0)[:, None, None, None]
    np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() * scale, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(scale, x.shape))


# -- main.py: CIFAR10 from a local mirror, training, the checkpoint, --resume ---------------------------------

MAIN_ARGV = ["--model", "ShuffleNetV2", "--epochs", "2", "--batch-size", "4", "--max-steps", "3", "--workers", "0",
             "--lr", "0.02"]


@pytest.fixture(scope="module")
def mirror():
    """A local server with CIFAR-10's archive (tests/test_tutorial_ports.py's tiny batches: 5 x 40 training and 40
    test images)."""
    members = cifar10_members()
    archive = tar_gz({f"cifar-10-batches-py/{n}": d for n, d in members.items()})
    with FileServer({"/cifar/cifar-10-python.tar.gz": archive}) as server:
        server.members, server.archive = members, archive
        yield server


def point_cifar10_at(lib, server, monkeypatch) -> None:
    """``lib``'s CIFAR10 (Ember's or torchvision's) downloads from ``server``."""
    if lib is ember:
        from ember.vision import datasets

        monkeypatch.setattr(datasets.CIFAR10, "mirrors", [server.url("/cifar/")])
        monkeypatch.setattr(datasets.CIFAR10, "resources", [("cifar-10-python.tar.gz", _md5(server.archive))])
    else:
        from tests.vision._torchvision import import_torchvision

        datasets = import_torchvision().datasets
        monkeypatch.setattr(datasets.CIFAR10, "url", server.url("/cifar/cifar-10-python.tar.gz"))
        monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", _md5(server.archive))
    members = server.members
    monkeypatch.setattr(datasets.CIFAR10, "train_list", [[f"data_batch_{i}", _md5(members[f"data_batch_{i}"])]
                                                         for i in range(1, 6)])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", _md5(members["test_batch"])]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                                   "md5": _md5(members["batches.meta"])})


def run_main_and_resume(lib, server, tmp_path, monkeypatch, capsys) -> None:
    """main.py trains two epochs (three steps each) and writes ./checkpoint/ckpt.pth; ``--resume`` carries on from
    the checkpoint's epoch with its weights and best accuracy."""
    point_cifar10_at(lib, server, monkeypatch)
    monkeypatch.chdir(tmp_path)
    lib.manual_seed(0)
    with libraries(ported=lib is ember) as namespace:
        losses = namespace["main"](MAIN_ARGV)
        assert len(losses) == 6 and all(np.isfinite(losses)), losses
        assert sys.modules["utils"].last_message.startswith("1/1 | Loss: ")  # the test set: one batch of 40
        checkpoint = lib.load(tmp_path / "checkpoint" / "ckpt.pth")
        assert set(checkpoint) == {"net", "acc", "epoch"} and checkpoint["epoch"] in (0, 1)
        assert checkpoint["net"].keys() == namespace["ShuffleNetV2"](1).state_dict().keys()
        capsys.readouterr()
        namespace["main"]([*MAIN_ARGV[:2], "--epochs", "1", *MAIN_ARGV[4:], "--resume"])
    printed = capsys.readouterr().out
    assert "==> Resuming from checkpoint.." in printed and f"Epoch: {checkpoint['epoch']}\n" in printed, printed


def test_main_trains_and_resumes(mirror, tmp_path, monkeypatch, capsys):
    run_main_and_resume(ember, mirror, tmp_path, monkeypatch, capsys)
