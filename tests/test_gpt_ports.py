"""nanoGPT and minGPT, as researchers have them, run on Ember after renaming alone.

tests/gpt_ports/ holds karpathy/nanoGPT's model.py, train.py and sample.py (``nanogpt_*``) and karpathy/minGPT's
mingpt/ package with its adder and chargpt projects (``mingpt_adder``, ``mingpt_chargpt``), ported as they are
written (only data, sizes and step counts change; each file says what it leaves out). The Ember test renames torch's names in the source text
(tests/test_ports.py's ``rename``) and runs the result; where torch is installed the original runs too
(test_gpt_ports_torch.py). The
programs import their libraries by the names they have upstream (``from model import GPT``, ``from
mingpt.model import GPT``): ``load_program`` puts the (renamed) library modules under those names while a
program loads.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import ember
import numpy as np
import pytest

from tests.test_ports import assert_trains, ported_source, restore_modules

ROOT = Path(__file__).resolve().parents[1]
GPT_PORTS = Path(__file__).resolve().parent / "gpt_ports"

# The library modules each program imports, in import order: (the name it imports, the file).
LIBRARIES = {
    "nanogpt_train": [("model", "nanogpt_model.py")],
    "nanogpt_sample": [("model", "nanogpt_model.py")],
    "mingpt_adder": [("mingpt", "mingpt/__init__.py"), ("mingpt.utils", "mingpt/utils.py"),
                     ("mingpt.model", "mingpt/model.py"), ("mingpt.trainer", "mingpt/trainer.py")],
}
LIBRARIES["mingpt_chargpt"] = LIBRARIES["mingpt_adder"]
# Files that are libraries or data preparation, not programs with a main().
NOT_PROGRAMS = {"nanogpt_model", "nanogpt_prepare"}


def _source(relative: str, ported: bool) -> str:
    return ported_source(GPT_PORTS / relative, ported)


@contextlib.contextmanager
def _library_modules(name: str, ported: bool):
    """The program's libraries in sys.modules under their upstream names (renamed when ``ported``)."""
    entries = LIBRARIES.get(name, [])
    saved = {module_name: sys.modules.get(module_name) for module_name, _ in entries}
    modules = {}
    try:
        for module_name, relative in entries:
            module = types.ModuleType(module_name)
            module.__file__ = str(GPT_PORTS / relative)
            if relative.endswith("__init__.py"):
                module.__path__ = []
            sys.modules[module_name] = modules[module_name] = module
            parent, _, child = module_name.rpartition(".")
            if parent:
                setattr(modules[parent], child, module)
            exec(compile(_source(relative, ported), module.__file__, "exec", dont_inherit=True), module.__dict__)  # noqa: S102
        yield modules
    finally:
        restore_modules(saved)


def load_program(name: str, ported: bool) -> dict:
    """tests/gpt_ports/NAME.py's namespace (renamed to Ember when ``ported``), its libraries loaded."""
    path = GPT_PORTS / f"{name}.py"
    namespace = {"__name__": f"gpt_ports.{name}", "__file__": str(path)}
    with _library_modules(name, ported) as modules:
        exec(compile(_source(f"{name}.py", ported), str(path), "exec", dont_inherit=True), namespace)  # noqa: S102
    namespace["__libraries__"] = modules
    return namespace


def load_library(relative: str, ported: bool) -> dict:
    """A library file's namespace alone (nanogpt_model.py, nanogpt_prepare.py)."""
    namespace = {"__name__": f"gpt_ports.{Path(relative).stem}"}
    exec(compile(_source(relative, ported), str(GPT_PORTS / relative), "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace


def prepare_data(root: Path, dataset: str = "tiny_char") -> None:
    load_library("nanogpt_prepare.py", ported=False)["prepare"](str(root / "data" / dataset))


# -- the programs, renamed and original ----------------------------------------------------------------------

NANOGPT_ARGS = ["--dataset=tiny_char", "--device=cpu", "--dtype=float32", "--compile=False", "--n_layer=2",
                "--n_head=2", "--n_embd=32", "--block_size=16", "--batch_size=8", "--gradient_accumulation_steps=2",
                "--max_iters=24", "--eval_interval=8", "--eval_iters=4", "--warmup_iters=4", "--lr_decay_iters=24",
                "--learning_rate=1e-2", "--min_lr=1e-3", "--dropout=0.1", "--bias=True", "--out_dir=out"]


def check_nanogpt_train(lib, result, tmp_path):
    assert_trains(result["losses"], window=4, factor=0.8)
    assert result["iters"] == list(range(25))  # (max_iters=24: the loop ends after iteration 24)
    assert result["val_losses"][-1] < 0.8 * result["val_losses"][0]
    warmup = [1e-2 * (it + 1) / 5 for it in range(4)]
    assert result["lrs"][:4] == pytest.approx(warmup) and result["lrs"][-1] == pytest.approx(1e-3)
    checkpoint = lib.load(tmp_path / "out" / "ckpt.pt", weights_only=True)
    assert checkpoint["iter_num"] == 24 and checkpoint["model_args"]["block_size"] == 16
    assert float(checkpoint["best_val_loss"]) == pytest.approx(result["val_losses"][-1])
    assert checkpoint["config"]["dataset"] == "tiny_char" and len(checkpoint["optimizer"]["param_groups"]) == 2
    # sample.py from that checkpoint: top-k sampling of characters the data set has
    samples = load_program("nanogpt_sample", ported=lib is ember)["main"](
        ["--device=cpu", "--dtype=float32", "--num_samples=2", "--max_new_tokens=20", "--top_k=5", "--out_dir=out",
         "--start=ROMEO"])
    alphabet = set(load_library("nanogpt_prepare.py", ported=False)["make_text"]())
    assert len(samples) == 2 and all(len(s) == 5 + 20 and s.startswith("ROMEO") and set(s) <= alphabet
                                     for s in samples)


def check_nanogpt_resume(lib, result, tmp_path):
    assert result["iters"][0] == 16 and result["iters"][-1] == 24  # (continues from the checkpoint's iter_num)
    assert all(math.isfinite(v) for v in result["losses"])
    assert result["val_losses"][-1] < 2.6  # (a fresh model starts at ln(33) = 3.5)


def check_mingpt_adder(lib, result, tmp_path):
    assert_trains(result["losses"], window=8, factor=0.8)
    assert len(result["scores"]) == 1 and 0 <= result["scores"][0] <= 100  # (the evaluation at iteration 0)
    state = lib.load(tmp_path / "out" / "adder" / "model.pt")
    assert state["lm_head.weight"].shape == (10, 48) and "transformer.h.2.attn.bias" in state


def check_mingpt_chargpt(lib, result, tmp_path):
    assert_trains(result["losses"], window=5, factor=0.8)
    (completion,) = result["completions"]  # (iteration 0's: top-k sampling from the untrained model)
    alphabet = set((tmp_path / "input.txt").read_text())
    assert completion.startswith("O God, O God!") and len(completion) == 13 + 500 and set(completion) <= alphabet
    assert lib.load(tmp_path / "out" / "chargpt" / "model.pt")["transformer.wpe.weight"].shape == (16, 48)


def _prepare_chargpt(tmp_path, lib):
    text = load_library("nanogpt_prepare.py", ported=False)["make_text"]()
    (tmp_path / "input.txt").write_text("O God, O God!\n" + text)


def _prepare_nanogpt(tmp_path, lib):
    prepare_data(tmp_path)


def _prepare_resume(tmp_path, lib):
    """A checkpoint at iteration 16, written by the same framework (the torch-written one: a parity test)."""
    prepare_data(tmp_path)
    load_program("nanogpt_train", ported=lib is ember)["main"](NANOGPT_ARGS + ["--max_iters=16"])


# case -> (program, arguments, preparation, check)
CASES = {
    "nanogpt_train": ("nanogpt_train", NANOGPT_ARGS, _prepare_nanogpt, check_nanogpt_train),
    "nanogpt_train[compile]": ("nanogpt_train", NANOGPT_ARGS + ["--compile=True"], _prepare_nanogpt,
                               check_nanogpt_train),
    "nanogpt_train[resume]": ("nanogpt_train", NANOGPT_ARGS + ["--init_from=resume"], _prepare_resume,
                              check_nanogpt_resume),
    "mingpt_adder": ("mingpt_adder", ["--data.ndigit=1", "--trainer.num_workers=0", "--trainer.max_iters=80",
                                      "--trainer.batch_size=32", "--trainer.learning_rate=5e-3",
                                      "--system.work_dir=out/adder"], None, check_mingpt_adder),
    # minGPT's default loader has 4 workers drawing from RandomSampler(replacement=True, num_samples=int(1e10))
    "mingpt_adder[workers]": ("mingpt_adder", ["--data.ndigit=1", "--trainer.num_workers=2",
                                               "--trainer.max_iters=40", "--trainer.batch_size=32",
                                               "--trainer.learning_rate=5e-3", "--system.work_dir=out/adder"], None,
                              check_mingpt_adder),
}
CASES["mingpt_chargpt"] = ("mingpt_chargpt", ["--model.model_type=gpt-nano", "--data.block_size=16",
                                              "--trainer.num_workers=0", "--trainer.max_iters=30",
                                              "--trainer.batch_size=16", "--trainer.learning_rate=5e-3",
                                              "--system.work_dir=out/chargpt"], _prepare_chargpt, check_mingpt_chargpt)
# Cases whose loader forks workers that compute: run in a fresh interpreter (see tests/test_ports.py's FRESH_PROCESS).
FRESH_PROCESS = {"mingpt_adder[workers]"}
# Cases that run on torch but not on Ember, with what they wait for. They join CASES when it lands.
PENDING = {
    "nanogpt_train[init_from=gpt2]": "GPT.from_pretrained builds HF transformers' GPT2LMHeadModel (a torch "
                                     "library) to read the weights; left out of the port, as DDP and wandb are",
}
# Programs a case's check runs, with which.
RUN_BY_CHECKS = {"nanogpt_sample": "check_nanogpt_train samples from the checkpoint train.py wrote"}
# Cases whose torch original is not run here, with why.
TORCH_SKIPS = {"nanogpt_train[compile]": "torch.compile builds C++ kernels for a minute; the Ember side runs it"}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in GPT_PORTS.glob("*.py")} - NOT_PROGRAMS
    run = {name for name, *_ in CASES.values()} | set(RUN_BY_CHECKS)
    assert programs == run, programs ^ run
    assert not set(CASES) & set(PENDING) and {case.split("[")[0] for case in PENDING} <= programs
    libraries = {relative for entries in LIBRARIES.values() for _, relative in entries}
    assert libraries == {str(p.relative_to(GPT_PORTS)) for p in GPT_PORTS.glob("mingpt/*.py")} | {"nanogpt_model.py"}


def _run_case(case, lib, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, argv, prepare, check = CASES[case]
    if prepare is not None:
        prepare(tmp_path, lib)
    if case in FRESH_PROCESS:
        code = ("import json; from tests.test_gpt_ports import load_program; "
                f"print(json.dumps(load_program({name!r}, ported={lib is ember!r})['main']({list(argv)!r})))")
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
    else:
        result = load_program(name, ported=lib is ember)["main"](list(argv))
    check(lib, result, tmp_path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_runs(case, tmp_path, monkeypatch):
    _run_case(case, ember, tmp_path, monkeypatch)


# -- the loss curves against torch's, from torch's weights ---------------------------------------------------


def _batches(tmp_path, n, batch_size=4, block_size=16):
    prepare_data(tmp_path)
    data = np.memmap(tmp_path / "data" / "tiny_char" / "train.bin", dtype=np.uint16, mode="r")
    starts = np.random.default_rng(0).integers(0, len(data) - block_size, (n, batch_size))
    return [(np.stack([data[i:i + block_size] for i in ix]).astype(np.int64),
             np.stack([data[i + 1:i + 1 + block_size] for i in ix]).astype(np.int64)) for ix in starts]


def _through_a_file(torch, torch_model, ember_model, path):
    """torch's state_dict written by torch.save, read by ember.load, loaded into the Ember model."""
    torch.save(torch_model.state_dict(), path)
    ember_model.load_state_dict(ember.load(path, weights_only=True))


def _train_like_nanogpt(lib, model, optimizer, batches, accumulation=2):
    """train.py's inner loop: cosine lr with warm-up, accumulation, the (disabled) scaler, clipping."""
    scaler = lib.amp.GradScaler(enabled=False)
    losses = []
    for it in range(len(batches) // accumulation):
        lr = 1e-2 * (it + 1) / 3 if it < 2 else 1e-3 + 0.5 * (1 + math.cos(math.pi * (it - 2) / 4)) * 9e-3
        for group in optimizer.param_groups:
            group["lr"] = lr
        for micro_step in range(accumulation):
            x, y = batches[it * accumulation + micro_step]
            _, loss = model(lib.from_numpy(x), lib.from_numpy(y))
            loss = loss / accumulation
            scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item() * accumulation)
    return losses


@pytest.mark.parity
@pytest.mark.parametrize("variant", ["flash", "manual_mask", "compiled"])
def test_nanogpt_loss_curve_is_torchs_from_torchs_weights(variant, tmp_path, monkeypatch):
    """nanoGPT's GPT (tied embedding, scaled c_proj init, decay / no-decay AdamW groups) takes the same
    steps in Ember as in torch: SDPA with is_causal, or the manual masked softmax over the registered tril
    buffer (nanoGPT's branch when F has no scaled_dot_product_attention), or ember.compile'd."""
    torch = pytest.importorskip("torch")
    programs = {lib: load_library("nanogpt_model.py", ported=lib is ember) for lib in (torch, ember)}
    config = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 16, "vocab_size": 33, "dropout": 0.0, "bias": True}
    models = {}
    for lib, program in programs.items():
        if variant == "manual_mask":
            monkeypatch.delattr(lib.nn.functional, "scaled_dot_product_attention")
        lib.manual_seed(0)
        models[lib] = program["GPT"](program["GPTConfig"](**config))
        monkeypatch.undo()
        assert models[lib].transformer.h[0].attn.flash == (variant != "manual_mask")
    _through_a_file(torch, models[torch], models[ember], tmp_path / "init.pt")
    assert models[ember].lm_head.weight is models[ember].transformer.wte.weight  # (tying survives the load)
    batches = _batches(tmp_path, 12)
    curves = {}
    for lib, model in models.items():
        optimizer = model.configure_optimizers(0.1, 1e-2, (0.9, 0.95), "cpu")
        assert [len(group["params"]) for group in optimizer.param_groups] == [10, 18]
        if variant == "compiled" and lib is ember:
            model = ember.compile(model)
        curves[lib] = _train_like_nanogpt(lib, model, optimizer, batches)
    assert curves[ember] == pytest.approx(curves[torch], rel=2e-4)
    assert curves[torch][-1] < curves[torch][0]
    for (name, theirs), ours in zip(models[torch].state_dict().items(), models[ember].state_dict().values(),
                                    strict=True):
        # (Adam turns float32 noise in a near-zero gradient into a step of up to lr: hence atol)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-3, atol=2e-4, err_msg=name)


@pytest.mark.parity
def test_mingpt_loss_curve_is_torchs_from_torchs_weights(tmp_path):
    """minGPT's GPT (NewGELU, explicit mask, whitelist / blacklist AdamW groups) and its Trainer's step."""
    torch = pytest.importorskip("torch")
    models, config = {}, None
    for lib in (torch, ember):
        with _library_modules("mingpt_adder", ported=lib is ember) as modules:
            config = modules["mingpt.model"].GPT.get_default_config()
            config.merge_from_dict({"model_type": "gpt-nano", "vocab_size": 10, "block_size": 6, "embd_pdrop": 0.0,
                                    "resid_pdrop": 0.0, "attn_pdrop": 0.0})
            lib.manual_seed(0)
            models[lib] = modules["mingpt.model"].GPT(config)
            train_config = modules["mingpt.trainer"].Trainer.get_default_config()
    _through_a_file(torch, models[torch], models[ember], tmp_path / "init.pt")
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, 10, (16, 6)), rng.integers(0, 10, (16, 6))) for _ in range(6)]
    for _, y in batches:
        y[:, :1] = -1  # (the adder's masked positions)
    train_config.learning_rate = 5e-3
    curves = {}
    for lib, model in models.items():
        optimizer = model.configure_optimizers(train_config)
        assert [len(group["params"]) for group in optimizer.param_groups] == [13, 28]
        curves[lib] = []
        for x, y in batches:  # the Trainer's step
            _, loss = model(lib.from_numpy(x), lib.from_numpy(y))
            model.zero_grad(set_to_none=True)
            loss.backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_norm_clip)
            optimizer.step()
            curves[lib].append(loss.item())
    assert curves[ember] == pytest.approx(curves[torch], rel=2e-4)
    prompt = batches[0][0][:4, :2]
    with torch.no_grad():
        expected = models[torch].generate(torch.from_numpy(prompt), 3, do_sample=False).numpy()
    np.testing.assert_array_equal(models[ember].generate(ember.from_numpy(prompt), 3, do_sample=False).numpy(),
                                  expected)


@pytest.mark.parity
def test_ember_resumes_torchs_compiled_checkpoint(tmp_path, monkeypatch):
    """train.py's init_from='resume' in Ember, from a ckpt.pt torch wrote (optimizer state, the config, a
    0-dim best_val_loss) whose keys carry torch.compile's '_orig_mod.' prefix, which train.py strips."""
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    prepare_data(tmp_path)
    load_program("nanogpt_train", ported=False)["main"](NANOGPT_ARGS + ["--max_iters=16", "--dropout=0.0"])
    path = tmp_path / "out" / "ckpt.pt"
    checkpoint = torch.load(path)
    checkpoint["model"] = {"_orig_mod." + k: v for k, v in checkpoint["model"].items()}
    torch.save(checkpoint, path)
    result = load_program("nanogpt_train", ported=True)["main"](NANOGPT_ARGS + ["--init_from=resume", "--dropout=0.0"])
    assert result["iters"][0] == 16
    # the first evaluation after resuming sees torch's weights: within the noise of eval_iters=4 batches
    assert result["val_losses"][0] == pytest.approx(float(checkpoint["best_val_loss"]), abs=0.15)


@pytest.mark.parity
@pytest.mark.parametrize("flash", [True, False], ids=["flash", "manual_mask"])
def test_nanogpt_crop_block_size_and_inference_logits_match_torch(flash, tmp_path, monkeypatch):
    """crop_block_size (wpe re-made as a Parameter, the mask buffer sliced), the last-position-only lm_head
    of inference (``x[:, [-1], :]``), get_num_params and estimate_mfu, from torch's weights."""
    torch = pytest.importorskip("torch")
    config = {"n_layer": 2, "n_head": 4, "n_embd": 32, "block_size": 16, "vocab_size": 33, "dropout": 0.0,
              "bias": False}
    models = {}
    for lib in (torch, ember):
        program = load_library("nanogpt_model.py", ported=lib is ember)
        if not flash:
            monkeypatch.delattr(lib.nn.functional, "scaled_dot_product_attention")
        models[lib] = program["GPT"](program["GPTConfig"](**config))
        monkeypatch.undo()
    _through_a_file(torch, models[torch], models[ember], tmp_path / "init.pt")
    x = np.random.default_rng(0).integers(0, 33, (3, 8))
    outputs = {}
    for lib, model in models.items():
        model.crop_block_size(8)
        model.eval()
        assert model.transformer.wpe.weight.shape == (8, 32) and isinstance(model.transformer.wpe.weight,
                                                                              lib.nn.Parameter)
        if not flash:
            assert model.transformer.h[1].attn.bias.shape == (1, 1, 8, 8)
        with lib.no_grad():
            logits, loss = model(lib.from_numpy(x))
        assert loss is None and tuple(logits.shape) == (3, 1, 33)
        outputs[lib] = (logits.numpy(), model.get_num_params(), model.get_num_params(False),
                        model.estimate_mfu(12, 0.5))
    np.testing.assert_allclose(outputs[ember][0], outputs[torch][0], rtol=1e-4, atol=1e-6)
    assert outputs[ember][1:] == outputs[torch][1:]
