"""timm-style training programs (ConvNeXt, ViT), as vision papers copy them from timm, run on Ember after renaming.

tests/timm_ports/ holds two self-contained programs built from huggingface/pytorch-image-models' pieces:
``convnext_train.py`` (ConvNeXt blocks: depthwise 7x7 convs, channels-last LayerNorm on a permute or LayerNorm2d
with 1x1-conv MLPs, layer scale, DropPath; Mixup / CutMix, SoftTargetCrossEntropy, ModelEmaV2, the cosine
scheduler with warm-up, AdamW with no-decay groups, gradient clipping, the NativeScaler, top-1 / top-5 accuracy,
checkpoints and ``--resume``) and ``vit_train.py`` (PatchEmbed, Attention through F.scaled_dot_product_attention
or the explicit softmax, LayerScale, class token and position embedding, ModelEmaV3, ``torch.compile``). The
Ember test renames them (tests/test_ports.py's ``rename``) and runs them; where torch is installed the originals
run too, and from torch's initial weights (torch.save, then ember.load) Ember's per-step losses, EMA weights and
evaluation match torch's for a few deterministic steps (drop path 0; Mixup draws from numpy's generator, so it
is the same in both), and Ember resumes from a checkpoint torch wrote.
"""

from __future__ import annotations

from pathlib import Path

import ember
import numpy as np
import pytest

from tests.test_ports import assert_trains
from tests.test_ports import load_program as load_ported

TIMM_PORTS = Path(__file__).resolve().parent / "timm_ports"


def load_program(name: str, ported: bool) -> dict:
    """tests/timm_ports/NAME.py's namespace (renamed to Ember when ``ported``), ``main`` not run."""
    return load_ported(name, ported, TIMM_PORTS)


# case -> (program, arguments, window and factor for assert_trains)
CASES = {
    # permute + channels-last LayerNorm + Linear MLP; mixup and cutmix per batch; drop path 0.1
    "convnext_train": ("convnext_train", [], 4, 0.8),
    # convnext_atto's form: LayerNorm2d and 1x1-conv MLPs; mixup / cutmix per element; the NativeScaler
    "convnext_train[conv_mlp,elem,amp]": ("convnext_train", ["--conv-mlp", "--mixup-mode", "elem", "--amp",
                                                             "--epochs", "3", "--train-size", "64"], 3, 0.9),
    # train.py's --channels-last (model.to / input.contiguous(memory_format=torch.channels_last)), clip by value
    "convnext_train[channels_last,clip_value]": ("convnext_train", ["--channels-last", "--clip-mode", "value",
                                                                    "--clip-grad", "0.05", "--epochs", "3",
                                                                    "--train-size", "64"], 3, 0.9),
    "vit_train": ("vit_train", ["--mixup", "0", "--cutmix", "0"], 4, 0.95),
    "vit_train[mixup,unfused_attn,ema_warmup]": ("vit_train", ["--no-fused-attn", "--model-ema-warmup",
                                                               "--epochs", "3"], 4, 0.98),
    "vit_train[compile]": ("vit_train", ["--compile", "--mixup", "0", "--cutmix", "0", "--epochs", "3",
                                         "--depth", "1"], 4, 0.98),
    # ModelEmaV3(foreach=True), timm's default: torch._foreach_lerp_
    "vit_train[ema_foreach]": ("vit_train", ["--model-ema-foreach", "--mixup", "0", "--cutmix", "0", "--depth", "1"],
                               4, 0.95),
}
# Cases that run on torch but not yet on Ember, with what they wait for. They join CASES when it lands.
PENDING: dict = {}
# Cases whose torch original is not run here, with why.
TORCH_SKIPS = {"vit_train[compile]": "torch.compile builds C++ kernels for a minute; the Ember side runs it"}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in TIMM_PORTS.glob("*.py")} - {"_time_steps"}  # (a timing script, run by hand)
    run = {name for name, *_ in CASES.values()}
    assert programs == run, programs ^ run
    assert not set(CASES) & set(PENDING) and {case.split("[")[0] for case in PENDING} <= programs


def _check_run(lib, case, result, tmp_path):
    name, argv, window, factor = CASES[case]
    assert_trains(result["losses"], window, factor)
    epochs = len(result["epochs"])
    # the cosine schedule, stepped per epoch after one warm-up epoch at warmup_lr (1e-4)
    lr = 1e-2 if name == "vit_train" else 4e-3
    expected = [1e-4] + [1e-5 + 0.5 * (lr - 1e-5) * (1 + np.cos(np.pi * e / epochs)) for e in range(1, epochs)]
    assert result["lrs"] == pytest.approx(expected)
    for metrics in result["ema_eval"] + result["eval"]:
        assert 0 <= metrics["top1"] <= metrics["top5"] <= 100
    checkpoint = lib.load(tmp_path / "output" / "last.pth.tar", weights_only=True)
    assert checkpoint["epoch"] == epochs - 1 and checkpoint["version"] == 2
    assert checkpoint["state_dict"].keys() == checkpoint["state_dict_ema"].keys()
    assert not any(key.startswith("_orig_mod.") for key in checkpoint["state_dict"])
    steps = len(result["losses"])
    assert {int(state["step"]) for state in checkpoint["optimizer"]["state"].values()} == {steps}
    assert [group["weight_decay"] for group in checkpoint["optimizer"]["param_groups"]] == [0.0, 0.05]
    assert checkpoint["scheduler"]["base_values"] == [lr, lr]
    assert ("amp_scaler" in checkpoint) == ("--amp" in argv)


def _run_case(case, lib, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, argv, *_ = CASES[case]
    result = load_program(name, ported=lib is ember)["main"](list(argv))
    _check_run(lib, case, result, tmp_path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_trains(case, tmp_path, monkeypatch):
    _run_case(case, ember, tmp_path, monkeypatch)


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(set(CASES) - set(TORCH_SKIPS)))
def test_torch_original_trains(case, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    _run_case(case, torch, tmp_path, monkeypatch)


def test_drop_path_keeps_or_drops_whole_samples():
    """drop_path's x.new_empty(shape).bernoulli_(keep_prob).div_(keep_prob): per sample, 0 or 1 / keep_prob."""
    program = load_program("convnext_train", ported=True)
    ember.manual_seed(0)
    x = ember.ones(400, 3, 2, 2, requires_grad=True)
    y = program["drop_path"](x, 0.25, training=True)
    per_sample = y.detach().numpy().reshape(400, -1)
    assert set(np.unique(per_sample)) <= {0.0, np.float32(1 / 0.75)}
    assert (per_sample == per_sample[:, :1]).all() and 0.15 < (per_sample[:, 0] == 0).mean() < 0.35
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    assert program["drop_path"](x, 0.25, training=False) is x


@pytest.mark.parametrize("lib_name", ["ember", pytest.param("torch", marks=pytest.mark.parity)])
@pytest.mark.parametrize("name", ["convnext_train", "vit_train"])
def test_grad_checkpointing_takes_the_same_steps(name, lib_name, tmp_path, monkeypatch):
    """timm's ``set_grad_checkpointing`` (``checkpoint_seq`` over the blocks, ``use_reentrant=False``, the RNG
    state kept for DropPath's ``bernoulli_`` in the recomputation, ``torch.jit.is_scripting()``): the same
    losses as without it, drop path and mixup on."""
    if lib_name == "torch":
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    argv = ["--epochs", "2", "--train-size", "64", "--depth", "1"] if name == "vit_train" else [
        "--epochs", "2", "--train-size", "64"]
    program = load_program(name, ported=lib_name == "ember")
    plain = program["main"](argv)
    checkpointed = program["main"](argv + ["--grad-checkpointing"])
    assert checkpointed["losses"] == pytest.approx(plain["losses"], rel=1e-5)
    assert checkpointed["ema_eval"] == plain["ema_eval"]

# -- against torch, from torch's weights ---------------------------------------------------------------------


def _models(programs, tmp_path, build):
    torch = next(lib for lib in programs if lib is not ember)
    models = {}
    for lib, program in programs.items():
        lib.manual_seed(0)
        models[lib] = build(program)
    torch.save(models[torch].state_dict(), tmp_path / "init.pt")
    models[ember].load_state_dict(ember.load(tmp_path / "init.pt", weights_only=True))
    return models


def _batches(n, batch_size=8, img_size=32, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(batch_size, 3, img_size, img_size)).astype(np.float32),
             rng.integers(0, 10, batch_size)) for _ in range(n)]


def _train_both(programs, models, argv, ema_class, steps=4, tmp_path=None):
    """Each framework's ``train_one_epoch`` over the same fixed batches (numpy's generator reseeded, so Mixup
    draws the same), then ``validate`` on the model and on its EMA."""
    results = {}
    batches, eval_batches = _batches(steps), _batches(2, seed=1)
    for lib, program in programs.items():
        args = program["parse_args"](argv)
        model = models[lib]
        optimizer = lib.optim.AdamW(program["param_groups_weight_decay"](
            model, args.weight_decay, getattr(model, "no_weight_decay", lambda: ())()), lr=args.lr)
        scheduler = program["CosineLRScheduler"](optimizer, t_initial=steps, lr_min=1e-5, warmup_t=1,
                                                 warmup_lr_init=1e-4, t_in_epochs=False)
        ema = program[ema_class](model, decay=0.8, **({"foreach": False} if ema_class == "ModelEmaV3" else {}))
        mixup = None
        if args.mixup > 0 or args.cutmix > 0:
            mixup = program["Mixup"](mixup_alpha=args.mixup, cutmix_alpha=args.cutmix, mode=args.mixup_mode,
                                     label_smoothing=args.smoothing, num_classes=10)
            loss_fn = program["SoftTargetCrossEntropy"]()
        else:
            loss_fn = program["LabelSmoothingCrossEntropy"](args.smoothing)
        if getattr(args, "compile", None) and lib is ember:
            model = ember.compile(model)
        np.random.seed(0)
        loader = [(lib.tensor(x.copy()), lib.tensor(y)) for x, y in batches]
        metrics = program["train_one_epoch"](0, model, loader, optimizer, loss_fn, args, lr_scheduler=scheduler,
                                             model_ema=ema, mixup_fn=mixup)
        eval_loader = [(lib.tensor(x), lib.tensor(y)) for x, y in eval_batches]
        evaluated = [program["validate"](m, eval_loader, lib.nn.CrossEntropyLoss(), args)
                     for m in (model, ema.module)]
        results[lib] = (metrics["losses"], evaluated, optimizer.param_groups[0]["lr"],
                        {k: v.numpy() for k, v in ema.module.state_dict().items()})
    (theirs, ours) = (results[lib] for lib in programs)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-4)
    assert ours[2] == pytest.approx(theirs[2])
    for got, expected in zip(ours[1], theirs[1], strict=True):
        assert got["loss"] == pytest.approx(expected["loss"], rel=1e-4)
        assert (got["top1"], got["top5"]) == (expected["top1"], expected["top5"])
    assert ours[3].keys() == theirs[3].keys()
    for key in theirs[3]:
        # (AdamW turns float32 noise in a near-zero gradient into a step of up to lr: hence atol)
        np.testing.assert_allclose(ours[3][key], theirs[3][key], rtol=2e-3, atol=2e-4, err_msg=key)
    return results


@pytest.fixture(scope="module")
def convnext_programs():
    torch = pytest.importorskip("torch")
    return {torch: load_program("convnext_train", ported=False), ember: load_program("convnext_train", ported=True)}


@pytest.fixture(scope="module")
def vit_programs():
    torch = pytest.importorskip("torch")
    return {torch: load_program("vit_train", ported=False), ember: load_program("vit_train", ported=True)}


@pytest.mark.parity
@pytest.mark.parametrize("variant", ["channels_last", "conv_mlp"])
def test_convnext_steps_track_torchs_from_torchs_weights(convnext_programs, variant, tmp_path):
    """ConvNeXt (dims 8-64) from torch's weights: AdamW with the no-decay groups, clipping, CutMix / Mixup
    targets, ModelEmaV2, the per-update cosine schedule; the losses, EMA weights and top-1 / top-5 are torch's."""
    conv_mlp = variant == "conv_mlp"

    def build(program):
        return program["ConvNeXt"](num_classes=10, depths=(1, 1, 2, 1), dims=(8, 16, 32, 64), conv_mlp=conv_mlp,
                                   ls_init_value=0.5)

    models = _models(convnext_programs, tmp_path, build)
    argv = ["--drop-path", "0", "--mixup-mode", "elem" if conv_mlp else "batch", "--lr", "4e-3"]
    _train_both(convnext_programs, models, argv, "ModelEmaV2")


@pytest.mark.parity
@pytest.mark.parametrize("variant", ["fused", "unfused", "compiled"])
def test_vit_steps_track_torchs_from_torchs_weights(vit_programs, variant, tmp_path, monkeypatch):
    """The ViT (d32, 2 blocks, 2 heads, LayerScale) from torch's weights, with SDPA, with the explicit softmax
    (set_fused_attn(False)), or ember.compile'd; ModelEmaV3 without foreach; no mixup, label smoothing."""

    def build(program):
        program["set_fused_attn"](variant != "unfused")
        model = program["VisionTransformer"](img_size=32, patch_size=4, num_classes=10, embed_dim=32, depth=2,
                                             num_heads=2, init_values=0.1)
        program["set_fused_attn"](True)
        assert model.blocks[0].attn.fused_attn == (variant != "unfused")
        return model

    models = _models(vit_programs, tmp_path, build)
    argv = ["--drop-path", "0", "--mixup", "0", "--cutmix", "0"] + (["--compile"] if variant == "compiled" else [])
    _train_both(vit_programs, models, argv, "ModelEmaV3")


@pytest.mark.parity
def test_ember_resumes_from_a_checkpoint_torch_wrote(tmp_path, monkeypatch):
    """convnext_train.py --resume in Ember from torch's checkpoint-1.pth.tar (model, EMA, AdamW state with the
    groups' initial_lr, the scheduler's state): it continues at epoch 2 with the schedule's lr and the step count."""
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    argv = ["--epochs", "3", "--train-size", "64"]
    uninterrupted = load_program("convnext_train", ported=False)["main"](argv)
    resumed = load_program("convnext_train", ported=True)["main"](argv + ["--resume",
                                                                          "output/checkpoint-1.pth.tar"])
    assert resumed["epochs"] == [2] and resumed["lrs"] == pytest.approx(uninterrupted["lrs"][2:])
    # the resumed model starts where torch's left off, not from a fresh model's chance level (ln 10 = 2.3)
    assert resumed["losses"][0] < 0.9 * uninterrupted["losses"][0]
    checkpoint = ember.load(tmp_path / "output" / "last.pth.tar")
    assert {int(s["step"]) for s in checkpoint["optimizer"]["state"].values()} == {3 * 4}
    assert checkpoint["epoch"] == 2 and checkpoint["args"]["resume"] == "output/checkpoint-1.pth.tar"
