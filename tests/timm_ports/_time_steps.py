"""Times one training step of the timm ports in Ember and in torch (run by hand; not a test).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 \
        python -m tests.timm_ports._time_steps [convnext_atto|convnext_atto_cl|vit_tiny|vit_tiny_compiled] \
        [--profile]

The step is train.py's ``train_one_epoch`` over one batch of 8 (Mixup / CutMix, SoftTargetCrossEntropy, AdamW
with the no-decay groups, clipping at norm 5, the EMA update, the scheduler's step_update), on ConvNeXt-atto
(dims 40-320, depths 2-2-6-2, 3x64x64 images; ``_cl``: the permute + Linear form instead of 1x1 convs) or
ViT-Tiny (d192, 12 blocks, 3 heads, 32x32 images in patches of 4), Ember loaded with torch's initial weights.
CPU time (``time.process_time``), one thread, both frameworks in one process after 3 warm-up steps each,
interleaved in 5 rounds of 5 steps; prints ms per step of each round. ``--profile``: cProfile of 5 Ember steps.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

import ember
import numpy as np

from tests.test_ports import load_program

FOLDER = Path(__file__).resolve().parent


def _setups(which):
    import torch

    torch.set_num_threads(1)
    program_name = "vit_train" if which.startswith("vit") else "convnext_train"
    programs = {lib: load_program(program_name, lib is ember, FOLDER) for lib in (torch, ember)}
    img_size = 32 if which.startswith("vit") else 64
    setups = {}
    for lib, program in programs.items():
        lib.manual_seed(0)
        if which.startswith("vit"):
            model = program["vit_tiny_patch4_32"](num_classes=10, drop_path_rate=0.1)
            ema = program["ModelEmaV3"](model, decay=0.99, foreach=False)
            argv = ["--clip-grad", "5"]
        else:
            model = program["convnext_atto"](num_classes=10, drop_path_rate=0.1, conv_mlp=which == "convnext_atto")
            ema = program["ModelEmaV2"](model, decay=0.99)
            argv = ["--clip-grad", "5"]
        setups[lib] = [program, model, ema, program["parse_args"](argv)]
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(setups[torch][1].state_dict(), Path(tmp) / "init.pt")
        setups[ember][1].load_state_dict(ember.load(Path(tmp) / "init.pt"))
        setups[ember][2].set(setups[ember][1])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3, img_size, img_size)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    steps = {}
    for lib, (program, model, ema, args) in setups.items():
        optimizer = lib.optim.AdamW(program["param_groups_weight_decay"](
            model, 0.05, getattr(model, "no_weight_decay", lambda: ())()), lr=1e-3)
        scheduler = program["CosineLRScheduler"](optimizer, t_initial=100, warmup_t=5, warmup_lr_init=1e-5,
                                                 t_in_epochs=False)
        mixup = program["Mixup"](mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=10)
        loss_fn = program["SoftTargetCrossEntropy"]()
        if which == "vit_tiny_compiled" and lib is ember:
            model = ember.compile(model)

        def step(lib=lib, program=program, model=model, optimizer=optimizer, scheduler=scheduler, mixup=mixup,
                 loss_fn=loss_fn, ema=ema, args=args):
            loader = [(lib.tensor(x), lib.tensor(y))]
            with contextlib.redirect_stdout(io.StringIO()):
                program["train_one_epoch"](0, model, loader, optimizer, loss_fn, args, lr_scheduler=scheduler,
                                           model_ema=ema, mixup_fn=mixup)
        steps[lib] = step
    return steps


def main(argv):
    which = argv[0] if argv else "convnext_atto"
    steps = _setups(which)
    names = {lib: "ember" if lib is ember else "torch" for lib in steps}
    for step in steps.values():
        for _ in range(3):
            step()
    if "--profile" in argv:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(5):
            steps[ember]()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    figures = {lib: [] for lib in steps}
    order = list(steps)
    for round_ in range(5):
        for lib in order if round_ % 2 == 0 else order[::-1]:
            start = time.process_time()
            for _ in range(5):
                steps[lib]()
            figures[lib].append((time.process_time() - start) / 5 * 1000)
    for lib, values in figures.items():
        print(f"{which} {names[lib]}: " + ", ".join(f"{v:.1f}" for v in values) + " ms/step")
    ratio = np.median(figures[next(lib for lib in steps if lib is ember)]) / np.median(
        figures[next(lib for lib in steps if lib is not ember)])
    print(f"{which} ember / torch (medians): {ratio:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
