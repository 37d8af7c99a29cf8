"""A small training job run by tests/distributed (alone, or under `mpiexec -n 2`).

    python ddp_job.py OUT MODE [key=value ...]

MODE: "fit" (train ``steps`` steps), "interrupt" (rank 1 gets SIGTERM after step 7; the run stops at a
step boundary with a last.ckpt), "resume" (continue from OUT/checkpoints/last.ckpt), "raise"
(rank 1 raises in training_step 3), "kill" (rank 1 SIGKILLs itself at step 3), "hang" (rank 1 sleeps
in training_step 3; the watchdog must end the job). Options: steps=20, accumulate=1, norm=batch|none,
timeout=1800 (DDPStrategy's). Rank 0 writes OUT/weights.npz at the end.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import ember
import numpy as np
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.trainer import Trainer, TrainingModule
from ember.trainer.callbacks import Callback, ModelCheckpoint
from ember.trainer.loggers import CSVLogger
from ember.trainer.strategies import DDPStrategy, launched_world_size

OUT, MODE = sys.argv[1], sys.argv[2]
ARGS = dict(a.split("=", 1) for a in sys.argv[3:])
WORLD = launched_world_size()
GLOBAL_BATCH, STEPS, ACCUMULATE = 32, int(ARGS.get("steps", 20)), int(ARGS.get("accumulate", 1))


class Net(TrainingModule):
    def __init__(self):
        super().__init__()
        norm = nn.BatchNorm1d(16) if ARGS.get("norm", "batch") == "batch" else nn.Identity()
        self.net = nn.Sequential(nn.Linear(6, 16), norm, nn.Tanh(), nn.Dropout(0.0), nn.Linear(16, 3))

    def training_step(self, batch, batch_idx):
        rank = self.trainer.global_rank
        if rank == 1 and self.trainer.global_step == 3 and MODE in ("raise", "kill", "hang"):
            if MODE == "raise":
                raise ValueError("boom on purpose")
            if MODE == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(3600)
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("loss", loss, sync_dist=True)
        self.log("loss_max", loss, sync_dist=True, reduce_fx="max", on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.cross_entropy(self.net(x), y), sync_dist=True)

    def configure_optimizers(self):
        return ember.optim.SGD(self.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-3)


class SigtermRank1(Callback):
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_rank == 1 and trainer.global_step == 7:
            os.kill(os.getpid(), signal.SIGTERM)


def main():
    ember.manual_seed(0)
    gen = np.random.default_rng(0)
    x = gen.normal(size=(160, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    dataset = TensorDataset(ember.tensor(x), ember.tensor(y))
    per_rank = GLOBAL_BATCH // WORLD // ACCUMULATE
    loader = DataLoader(dataset, batch_size=per_rank, shuffle=True)
    val_loader = DataLoader(TensorDataset(ember.tensor(-x[:40]), ember.tensor(y[:40])), batch_size=20 // WORLD)
    model = Net()
    if WORLD > 1:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    callbacks = [ModelCheckpoint(dirpath=os.path.join(OUT, "checkpoints"), save_last=True, every_n_train_steps=1)]
    if MODE == "interrupt":
        callbacks.append(SigtermRank1())
    strategy = DDPStrategy(timeout=float(ARGS.get("timeout", 1800))) if WORLD > 1 else "auto"
    trainer = Trainer(
        strategy=strategy, devices=WORLD, max_steps=STEPS, precision="64", accumulate_grad_batches=ACCUMULATE,
        logger=CSVLogger(OUT, name="", version="logs"), log_every_n_steps=1, callbacks=callbacks,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=OUT,
    )
    reductions = [0]
    reduce_gradients = trainer.strategy.reduce_gradients

    def counted():
        reductions[0] += 1
        reduce_gradients()

    trainer.strategy.reduce_gradients = counted
    trainer.fit(model, loader, val_loader, ckpt_path="last" if MODE == "resume" else None)
    if trainer.is_global_zero:
        state = {k: v._data for k, v in model.state_dict().items()}
        np.savez(os.path.join(OUT, "weights.npz"), **state)
        with open(os.path.join(OUT, "info.txt"), "w") as f:
            f.write(f"world={trainer.world_size} step={trainer.global_step} interrupted={trainer.interrupted} "
                    f"reductions={reductions[0]}\n")


if __name__ == "__main__":
    main()
