"""``TrainingModule.all_gather``: one process returns the data as is; under DDP a new leading dimension of ranks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import ember
import numpy as np
import pytest
from ember.trainer import Trainer

from ..models import Classifier, loader, trainer_kwargs


def test_all_gather_in_one_process_returns_the_data(tmp_path):
    gathered = []

    class Gathering(Classifier):
        def on_train_epoch_end(self):
            gathered.append(self.all_gather({"loss": ember.tensor([1.0, 2.0]), "count": 3, "name": "x"}))

    Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=1, logger=False,
                             enable_checkpointing=False)).fit(Gathering(), loader())
    (out,) = gathered
    np.testing.assert_array_equal(out["loss"].numpy(), [1.0, 2.0])
    assert isinstance(out["count"], ember.Tensor) and out["count"].item() == 3 and out["name"] == "x"


_JOB = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    import ember
    from ember.trainer import Trainer
    from tests.trainer.models import Classifier, loader

    class Gathering(Classifier):
        def on_train_epoch_end(self):
            rank = self.trainer.global_rank
            out = self.all_gather(ember.full((2,), float(rank)))
            if rank == 0:
                print("GATHERED", tuple(out.shape), out.numpy().tolist())

    Trainer(strategy="ddp", max_epochs=1, limit_train_batches=0, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0).fit(Gathering(), loader())
''')


def test_all_gather_under_ddp_stacks_the_ranks(tmp_path):
    pytest.importorskip("mpi4py")
    mpiexec = shutil.which("mpiexec") or shutil.which("mpiexec", path=os.path.dirname(sys.executable))
    if mpiexec is None:
        pytest.skip("mpiexec not found")
    script = tmp_path / "job.py"
    script.write_text(_JOB)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    done = subprocess.run([mpiexec, "-n", "2", sys.executable, str(script), root], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("GATHERED"))
    assert line == "GATHERED (2, 2) [[0.0, 0.0], [1.0, 1.0]]"
