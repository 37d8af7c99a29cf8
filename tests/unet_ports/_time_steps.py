"""Times one training step of milesial's U-Net in Ember and in torch (run by hand; not a test).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 \
        python -m tests.unet_ports._time_steps [SIZE] [bilinear|transposed] [ROUNDS] [--profile]

The step is train.py's loop body on a batch of 2 SIZExSIZE RGB images (128 by default): the channels-last UNet(3, 2)
built from the same seed in both frameworks, cross-entropy + multiclass dice loss, a disabled GradScaler,
``clip_grad_norm_`` and RMSprop (``momentum=0.999``, ``weight_decay=1e-8``, ``foreach=True``). CPU time
(``time.process_time``), one thread, both frameworks in one process after a warm-up step each, interleaved for
ROUNDS rounds (3 by default); prints each round's seconds and ratio. ``--profile``: cProfile of one Ember step.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):  # (before numpy / numba load)
    os.environ.setdefault(_name, "1")

import cProfile
import pstats
import sys
import time

import ember
import numpy as np

from tests.test_unet_ports import libraries


def main(argv: list[str]) -> None:
    import torch

    torch.set_num_threads(1)
    flags = [a for a in argv if a.startswith("--")]
    args = [a for a in argv if not a.startswith("--")]
    size = int(args[0]) if args else 128
    bilinear = (args[1] if len(args) > 1 else "bilinear") == "bilinear"
    rounds = int(args[2]) if len(args) > 2 else 3
    rng = np.random.default_rng(0)
    images = rng.random((2, 3, size, size), dtype=np.float32)
    masks = (rng.random((2, size, size)) > 0.5).astype(np.int64)
    setups = {}
    for lib in (torch, ember):
        with libraries(ported=lib is ember) as modules:
            lib.manual_seed(0)
            model = modules["unet"].UNet(3, 2, bilinear=bilinear).to(memory_format=lib.channels_last)
            dice_loss = modules["utils.dice_score"].dice_loss
        optimizer = lib.optim.RMSprop(model.parameters(), lr=1e-5, weight_decay=1e-8, momentum=0.999, foreach=True)
        setups[lib] = (model, optimizer, lib.amp.GradScaler("cpu", enabled=False), lib.nn.CrossEntropyLoss(),
                       dice_loss, lib.from_numpy(images).to(memory_format=lib.channels_last), lib.from_numpy(masks))

    def step(lib):
        model, optimizer, grad_scaler, criterion, dice_loss, x, y = setups[lib]
        F = lib.nn.functional
        with lib.autocast("cpu", enabled=False):
            masks_pred = model(x)
            loss = criterion(masks_pred, y)
            loss += dice_loss(F.softmax(masks_pred, dim=1).float(), F.one_hot(y, 2).permute(0, 3, 1, 2).float(),
                              multiclass=True)
        optimizer.zero_grad(set_to_none=True)
        grad_scaler.scale(loss).backward()
        grad_scaler.unscale_(optimizer)
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        grad_scaler.step(optimizer)
        grad_scaler.update()

    for lib in (torch, ember):
        step(lib)
    for _ in range(rounds):
        times = {}
        for lib in (torch, ember):
            start = time.process_time()
            step(lib)
            times[lib] = time.process_time() - start
        print(f"{size}x{size} {'bilinear' if bilinear else 'transposed'}: torch {times[torch]:.3f} s, "
              f"Ember {times[ember]:.3f} s, ratio {times[ember] / times[torch]:.2f}", flush=True)
    if "--profile" in flags:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        step(ember)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main(sys.argv[1:])
