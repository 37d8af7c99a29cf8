"""milesial/Pytorch-UNet, the U-Net code researchers copy, run on Ember after renaming alone.

tests/unet_ports/ holds its package as upstream lays it out: ``unet/`` (``UNet``, ``DoubleConv``, ``Down``,
``Up``, ``OutConv``), ``utils/`` (``dice_score``, ``data_loading`` with ``BasicDataset`` / ``CarvanaDataset``),
``evaluate.py``, ``train.py`` and ``predict.py``, each saying what it changes (the ``__main__`` blocks are
``main(argv)``; wandb is a stand-in that keeps what is logged). The test renames torch's names in each file's
text (tests/test_ports.py's ``rename``), loads the files under their upstream module names (``from unet import
UNet``, ``from utils.dice_score import dice_loss``), and runs train.py and predict.py on a few tiny .jpg / .gif /
.png files written in tmp_path; where torch is installed the originals run too, and from torch's initial weights
(through a file) Ember's losses, checkpoints and predictions are torch's.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import ember
import numpy as np
import pytest
from PIL import Image

from tests.test_ports import ported_source, upstream_modules

UNET_PORTS = Path(__file__).resolve().parent / "unet_ports"
# The modules the programs import, in the order they are executed: (the name it is imported by, the file). The
# package __init__ files run after their submodules, which they import.
LIBRARIES = [("wandb", "tiny_wandb.py"), ("unet", None), ("unet.unet_parts", "unet/unet_parts.py"),
             ("unet.unet_model", "unet/unet_model.py"), ("unet", "unet/__init__.py"), ("utils", "utils/__init__.py"),
             ("utils.dice_score", "utils/dice_score.py"), ("utils.data_loading", "utils/data_loading.py"),
             ("utils.utils", "utils/utils.py"), ("evaluate", "evaluate.py")]
PROGRAMS = ["train", "predict"]


@contextlib.contextmanager
def libraries(ported: bool):
    """The port's modules in sys.modules under their upstream names (renamed to Ember when ``ported``); yields
    them by name. They stay importable while the context is open (multiprocessing's forked workers find
    ``utils.data_loading.unique_mask_values`` there)."""
    with upstream_modules(UNET_PORTS, LIBRARIES, ported) as modules:
        yield modules


def load_program(name: str, ported: bool, modules: dict) -> dict:
    """tests/unet_ports/NAME.py's namespace (renamed when ``ported``), run while ``libraries`` is open."""
    path = UNET_PORTS / f"{name}.py"
    namespace = {"__name__": f"unet_ports.{name}", "__file__": str(path)}
    exec(compile(ported_source(path, ported), str(path), "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace


def _torch_or_skip():
    """torch, with torchvision importable (train.py and predict.py import it), or skips."""
    from tests.vision._torchvision import import_torchvision

    import_torchvision()
    import torch

    return torch


# -- the data: tiny RGB images with a bright disk, its mask beside them --------------------------------------


def write_data(root: Path, n: int, size: int = 16, carvana: bool = True) -> None:
    """``n`` SIZExSIZE .jpg images under root/data/imgs and their masks under root/data/masks: Carvana's
    layout (``{id}_mask.gif``, values 0 / 1) or BasicDataset's (``{id}.png``, values 0 / 255)."""
    rng = np.random.default_rng(0)
    (root / "data" / "imgs").mkdir(parents=True)
    (root / "data" / "masks").mkdir(parents=True)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        cy, cx = rng.integers(size // 4, size - size // 4, 2)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 < (size // 5) ** 2
        image = rng.integers(0, 90, (size, size, 3)).astype(np.uint8)
        image[disk] += 140
        Image.fromarray(image).save(root / "data" / "imgs" / f"car{i}.jpg")
        if carvana:
            Image.fromarray(disk.astype(np.uint8)).save(root / "data" / "masks" / f"car{i}_mask.gif")
        else:
            Image.fromarray(disk.astype(np.uint8) * 255).save(root / "data" / "masks" / f"car{i}.png")


# -- the programs, renamed and original ----------------------------------------------------------------------

# case -> (program, arguments, data layout, images, os.cpu_count() the program sees: its loaders' num_workers and
# Pool's size). The images are 16x16 at --scale 1: the U-Net's bottleneck is 1x1, so a training batch has 2.
CASES = {
    # 12 images, 2 held out, batch 2: an evaluation round every 10 // (5 * 2) = 1 step (scheduler.step(val_score)),
    # bilinear upsampling
    "train[evaluation]": ("train", ["--epochs", "1", "--batch-size", "2", "--scale", "1", "--validation", "17",
                                    "--learning-rate", "1e-4", "--bilinear"], "carvana", 12, 0),
    # transposed convolutions, a single logit with BCEWithLogitsLoss + the binary dice loss (too few images for an
    # evaluation round: its n_classes == 1 branch compares masks of different shapes, upstream's as written), --amp
    # (torch autocasts to bfloat16 on the CPU; Ember warns and keeps float32), 32x32 images at scale 0.5
    "train[one_class,amp]": ("train", ["--epochs", "1", "--batch-size", "2", "--scale", "0.5", "--validation", "0",
                                       "--classes", "1", "--amp"], "carvana", 4, 0),
}
# Cases that run on torch but not on Ember, with what they wait for. They join CASES when it lands.
PENDING: dict[str, str] = {}
# Programs a case's check runs, with which.
RUN_BY_CHECKS = {"predict": "test_losses_and_predictions_are_torchs_from_torchs_weights predicts from the checkpoint "
                             "train.py wrote"}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in UNET_PORTS.glob("*.py")} - {"tiny_wandb", "evaluate", "_time_steps"}
    assert programs == set(PROGRAMS)
    run = {name for name, *_ in CASES.values()} | set(RUN_BY_CHECKS)
    assert run == set(PROGRAMS), run ^ set(PROGRAMS)
    assert not set(CASES) & set(PENDING)
    files = {str(p.relative_to(UNET_PORTS)) for p in UNET_PORTS.glob("**/*.py")} - {f"{p}.py" for p in PROGRAMS}
    files -= {"_time_steps.py"}  # (the step timing, run by hand)
    assert files == {relative for _, relative in LIBRARIES if relative}


def _in_fresh_process(request) -> bool:
    """Runs the calling test again in a new interpreter and returns True, unless this is that interpreter.
    The programs fork (``Pool`` in ``BasicDataset``, the loaders' workers), and a process that has computed
    before cannot fork safely (tests/test_ports.py's FRESH_PROCESS): in a worker of the whole suite,
    ``Pool.__exit__`` waited forever once (helper S1's run, 2026-12-07)."""
    if os.environ.get("EMBER_UNET_FRESH") == "1":
        return False
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
                           "-p", "no:warnings", request.node.nodeid], cwd=root, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "EMBER_UNET_FRESH": "1"}, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return True


def _run_case(case, lib, tmp_path, monkeypatch):
    name, argv, layout, n_images, cpu_count = CASES[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "cpu_count", lambda: cpu_count)  # (Pool() takes `os.cpu_count() or 1` processes)
    write_data(tmp_path, n_images, size=32 if "0.5" in argv else 16, carvana=layout == "carvana")
    with libraries(ported=lib is ember) as modules:
        result = load_program(name, lib is ember, modules)["main"](list(argv))
    epochs, batch_size = int(argv[1]), int(argv[3])
    n_train = n_images - int(n_images * float(argv[7]) / 100)
    assert len(result["losses"]) == epochs * -(-n_train // batch_size)
    assert all(np.isfinite(result["losses"])) and result["losses"][-1] < result["losses"][0]
    if case == "train[evaluation]":  # an evaluation round after each step; Dice of the held-out image
        assert len(result["val_dice"]) == 5 and all(0 <= d <= 1 for d in result["val_dice"])
        assert result["lrs"] == [1e-4] * 5  # (ReduceLROnPlateau's patience is 5)
    checkpoint = lib.load(tmp_path / "checkpoints" / f"checkpoint_epoch{epochs}.pth")
    assert checkpoint["mask_values"] == ([0, 255] if layout == "basic" else [0, 1])
    assert checkpoint["outc.conv.weight"].shape == (1 if "--classes" in argv else 2, 64, 1, 1)
    return result


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_runs(case, tmp_path, monkeypatch, request):
    if not _in_fresh_process(request):
        _run_case(case, ember, tmp_path, monkeypatch)


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(CASES))
def test_torch_original_runs(case, tmp_path, monkeypatch, request):
    torch = _torch_or_skip()
    if not _in_fresh_process(request):
        _run_case(case, torch, tmp_path, monkeypatch)


# -- Ember against torch, from torch's weights ----------------------------------------------------------------


@pytest.mark.parity
def test_losses_and_predictions_are_torchs_from_torchs_weights(tmp_path, monkeypatch, request):
    """train.py --load a checkpoint torch wrote (its ``mask_values`` entry deleted before load_state_dict), bilinear,
    masks as .png 0 / 255 (BasicDataset), the whole set in one batch loaded by two worker processes, three epochs:
    Ember's losses are torch's; then predict.py on torch's last checkpoint gives torch's masks and files."""
    torch = _torch_or_skip()
    if _in_fresh_process(request):
        return
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with libraries(ported=False) as modules:
        torch.manual_seed(0)
        state_dict = modules["unet"].UNet(3, 2, bilinear=True).state_dict()
    state_dict["mask_values"] = [0, 255]
    torch.save(state_dict, tmp_path / "init.pth")
    argv = ["--epochs", "3", "--batch-size", "4", "--scale", "1", "--validation", "0", "--learning-rate", "1e-4",
            "--bilinear", "--load", str(tmp_path / "init.pth")]
    predict_argv = ["--model", str(tmp_path / "torch" / "checkpoints" / "checkpoint_epoch3.pth"), "--scale", "1",
                    "--bilinear", "--input", "data/imgs/car0.jpg", "data/imgs/car1.jpg"]
    results, masks, files = {}, {}, {}
    for lib in (torch, ember):
        run_dir = tmp_path / lib.__name__
        run_dir.mkdir()
        monkeypatch.chdir(run_dir)
        write_data(run_dir, 4, carvana=False)
        with libraries(ported=lib is ember) as modules:
            results[lib] = load_program("train", lib is ember, modules)["main"](argv)
            masks[lib] = load_program("predict", lib is ember, modules)["main"](predict_argv)
        files[lib] = [np.asarray(Image.open(run_dir / "data" / "imgs" / f"car{i}_OUT.png")) for i in range(2)]
    ours_losses, theirs_losses = results[ember]["losses"], results[torch]["losses"]
    assert len(ours_losses) == 3 and theirs_losses[2] < theirs_losses[1] < theirs_losses[0]
    # (the first loss is the same forward; after it, the steps carry the gradients' differences, mostly torch's
    # float32 channels-last error (see below), which also varies between torch runs in one process: RMSprop's
    # sign-like first steps make them show at 1e-5 to 1e-4 in the second loss, 1e-4 to 1e-3 in the third)
    assert ours_losses[0] == pytest.approx(theirs_losses[0], rel=1e-5)
    assert ours_losses[1] == pytest.approx(theirs_losses[1], rel=3e-4)
    assert ours_losses[2] == pytest.approx(theirs_losses[2], rel=3e-3)
    ours = ember.load(tmp_path / "ember" / "checkpoints" / "checkpoint_epoch3.pth")
    theirs = torch.load(tmp_path / "torch" / "checkpoints" / "checkpoint_epoch3.pth")
    assert ours.pop("mask_values") == theirs.pop("mask_values") == [0, 255]
    for (name, expected), (ours_name, actual) in zip(theirs.items(), ours.items(), strict=True):
        assert name == ours_name
        # (torch's float32 channels-last convolutions are the less exact side here: on this U-Net, input and loss,
        # their weight gradients differ from float64's by up to 3e-2 of the largest, Ember's by 1.4e-4. RMSprop's
        # first steps are near lr * sign(grad), so such noise in a small gradient can send a weight the other way:
        # with momentum, RMSprop moves a weight by at most 10, 20 and 30 lr in the three steps, so two runs differ
        # by at most 120 lr = 1.2e-2. Most weights and running statistics agree closely.)
        actual, expected = actual.numpy(), expected.numpy()
        if name.endswith("num_batches_tracked"):
            assert actual == expected == 3
            continue
        scale, moved = max(1.0, float(np.abs(expected).max())), name.endswith(("weight", "bias"))
        assert np.median(np.abs(actual - expected)) < (1e-3 if moved else 5e-3) * scale, name
        if moved:  # (a running statistic follows a channel's activations, which a flipped weight can move by 5%)
            np.testing.assert_allclose(actual, expected, rtol=0, atol=1.2e-2 * scale, err_msg=name)
    for ours_mask, theirs_mask, ours_file, theirs_file in zip(masks[ember], masks[torch], files[ember], files[torch]):
        assert ours_mask.shape == (16, 16) and ours_mask.dtype == theirs_mask.dtype
        np.testing.assert_array_equal(ours_mask, theirs_mask)
        np.testing.assert_array_equal(ours_file, theirs_file)
        assert set(np.unique(ours_file)) <= {0, 255}


@pytest.mark.parity
def test_evaluate_predict_img_and_rgb_masks_match_torch(tmp_path, monkeypatch):
    """From torch's weights: evaluate.py's Dice (``@torch.inference_mode()``, autocast, ``F.one_hot(...).permute``)
    over BasicDataset with RGB masks (``mask_values`` a list of colours, ``(img == v).all(-1)``), predict_img at
    scale 0.5 (``F.interpolate`` back to the image's size) for 2 classes (argmax) and for 1 (sigmoid > threshold),
    and mask_to_image of each kind of ``mask_values``."""
    torch = _torch_or_skip()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path, 3, size=32, carvana=False)
    colours = np.array([[0, 0, 0], [200, 30, 10]], np.uint8)
    for path in (tmp_path / "data" / "masks").iterdir():  # the masks as RGB images of two colours
        Image.fromarray(colours[(np.asarray(Image.open(path)) > 0).astype(int)]).save(path)
    image = Image.open(tmp_path / "data" / "imgs" / "car0.jpg")
    results = {}
    for lib in (torch, ember):
        with libraries(ported=lib is ember) as modules:
            UNet = modules["unet"].UNet
            if lib is torch:
                torch.manual_seed(0)
                weights = {n: UNet(3, n, bilinear=n == 1).state_dict() for n in (1, 2)}
                for n, state in weights.items():
                    torch.save(state, tmp_path / f"unet{n}.pth")
            nets = {n: UNet(3, n, bilinear=n == 1) for n in (1, 2)}
            for n, net in nets.items():
                net.load_state_dict(lib.load(tmp_path / f"unet{n}.pth"))
            dataset = modules["utils.data_loading"].BasicDataset("data/imgs", "data/masks", scale=1)
            loader = lib.utils.data.DataLoader(dataset, batch_size=3, shuffle=False)
            device = lib.device("cpu")
            dice = modules["evaluate"].evaluate(nets[2].to(memory_format=lib.channels_last), loader, device, False)
            assert nets[2].training  # (evaluate puts the net back in training mode)
            predict = load_program("predict", lib is ember, modules)
            masks = [predict["predict_img"](nets[n], image, device, scale_factor=0.5) for n in (1, 2)]
            images = [np.asarray(predict["mask_to_image"](masks[0], values)) for values in
                      ([0, 1], [0, 255], colours.tolist())]
        results[lib] = (dataset.mask_values, [dataset[i]["mask"].numpy() for i in range(3)],
                        dataset[0]["image"].numpy(), float(dice), masks, images)
    ours, theirs = results[ember], results[torch]
    assert ours[0] == theirs[0] == colours.tolist()
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.int64 and set(np.unique(a)) == {0, 1}
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)  # (the image scaled to [0, 1], channels first)
    assert ours[2].shape == (3, 32, 32) and ours[2].dtype == np.float32
    assert ours[3] == pytest.approx(theirs[3], rel=1e-5)
    for a, b in zip(ours[4] + ours[5], theirs[4] + theirs[5]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert ours[4][0].shape == (32, 32) and ours[5][2].shape == (32, 32, 3)


def test_use_checkpointing_fails_as_upstreams_does():
    """unet_model.py calls the *module* ``torch.utils.checkpoint`` (upstream issue #441): Ember's is a module too,
    so the call raises the TypeError torch's does, and train.py's out-of-memory retry would stop there as well."""
    with libraries(ported=True) as modules:
        model = modules["unet"].UNet(3, 2)
    with pytest.raises(TypeError, match="'module' object is not callable"):
        model.use_checkpointing()
    assert isinstance(model.inc, modules["unet.unet_parts"].DoubleConv)  # (nothing was replaced)


@pytest.mark.parity
def test_dice_loss_and_its_gradient_are_torchs():
    """utils/dice_score.py on one-hot targets (``F.one_hot(...).permute(0, 3, 1, 2).float()``), with an all-empty
    class (``torch.where(sets_sum == 0, inter, sets_sum)``), the binary form, and the gradient through softmax /
    sigmoid."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 5, 4)).astype(np.float32)
    target = rng.integers(0, 2, (2, 5, 4))  # (class 2 never appears)
    results = {}
    for lib in (torch, ember):
        with libraries(ported=lib is ember) as modules:
            dice = modules["utils.dice_score"]
        F = lib.nn.functional
        x = lib.tensor(logits, requires_grad=True)
        one_hot = F.one_hot(lib.from_numpy(target), 3).permute(0, 3, 1, 2).float()
        multiclass = dice.dice_loss(F.softmax(x, dim=1).float(), one_hot, multiclass=True)
        binary = dice.dice_loss(F.sigmoid(x[:, 0]), lib.from_numpy(target).float(), multiclass=False)
        per_mask = dice.multiclass_dice_coeff(one_hot[:, 1:], one_hot[:, 1:], reduce_batch_first=False)
        single = dice.dice_coeff(one_hot[0, 2], one_hot[0, 2])  # (a 2-d mask, empty: Dice 1)
        (multiclass + binary).backward()
        results[lib] = ([v.item() for v in (multiclass, binary, per_mask, single)], x.grad.numpy())
    assert results[ember][0] == pytest.approx(results[torch][0], rel=1e-6)
    assert results[ember][0][2:] == [1.0, 1.0]
    np.testing.assert_allclose(results[ember][1], results[torch][1], rtol=1e-5, atol=1e-8)
