"""The kernel warm-up helper (``ember.kernels._warmup``, started by ``Trainer.fit``): a helper process
compiles the backward kernels into numba's on-disk cache, and the training process loads them from
there instead of compiling them on its first backward pass.

Each case runs in fresh processes with its own ``NUMBA_CACHE_DIR``: numba reads that setting once, when
a kernel module is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from ember.kernels import _warmup

LENET_JOBS = ["conv5x5_weight_grad:float32", "col2im:float32", "max_pool_backward:float32"]
BACKWARD_KERNELS = {"scatter_add_planes", "_col2im", "col2im", "_weight_grad"}  # (col2im: either name)

# A LeNet-5 step; prints {kernel: [cache hits, cache misses]} for every kernel it ran.
STEP = textwrap.dedent("""
    import json, sys
    import ember
    import ember.nn.functional as F
    from ember.vision.models import LeNet5

    ember.manual_seed(0)
    model = LeNet5(num_classes=10)
    F.cross_entropy(model(ember.randn(4, 1, 28, 28)), ember.tensor([0, 1, 2, 3])).backward()
    assert all(p.grad is not None for p in model.parameters())
    from numba.core.registry import CPUDispatcher
    stats = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("ember.kernels."):
            for kernel in vars(module).values():
                kernel = getattr(kernel, "serial", kernel)  # an Adaptive / Split kernel's compilation
                if isinstance(kernel, CPUDispatcher) and kernel.signatures:
                    s = kernel.stats
                    stats[kernel.__name__] = [sum(s.cache_hits.values()), sum(s.cache_misses.values())]
    print(json.dumps(stats))
""")


def _env(cache_dir, **extra):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(NUMBA_CACHE_DIR=str(cache_dir), **extra)
    return env


def _step(env) -> dict:
    done = subprocess.run([sys.executable, "-c", STEP], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_lenet_plan_names_its_backward_kernels_slowest_to_compile_first():
    from ember import nn
    from ember.trainer.utilities.kernel_warmup import _plan
    from ember.vision.models import LeNet5

    adam = ["adam_update:float32"]  # last: the optimizer's update follows the first backward
    assert _plan(LeNet5(num_classes=10)) == LENET_JOBS + adam
    assert _plan(LeNet5(num_classes=10).double()) == [job.replace("float32", "float64") for job in LENET_JOBS + adam]
    assert _plan(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))) == adam  # no conv kernels


ADAM_STEP = textwrap.dedent("""
    import json
    import ember
    from ember.kernels import optim

    model = ember.nn.Linear(4, 3)
    opt = ember.optim.Adam(model.parameters())
    model(ember.randn(2, 4)).sum().backward()
    opt.step()
    s = optim.adam_update.serial.stats
    print(json.dumps([sum(s.cache_hits.values()), sum(s.cache_misses.values())]))
""")


def test_the_helper_compiles_the_adam_update_a_step_then_loads(tmp_path):
    """The warm-up's Adam job compiles the very signature Adam's step calls: the step loads it, no compile."""
    env = _env(tmp_path / "numba")
    helper = subprocess.run([sys.executable, "-m", "ember.kernels._warmup", "adam_update:float32"], env=env,
                            timeout=300, check=False)
    assert helper.returncode == 0
    done = subprocess.run([sys.executable, "-c", ADAM_STEP], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [1, 0]


def test_two_helpers_fill_a_cache_from_which_a_step_loads_every_backward_kernel(tmp_path):
    """Two helpers at once on one cache (two runs starting together) and then the training process:
    its backward kernels come from the cache, none is compiled again; its forward kernels compile."""
    env = _env(tmp_path / "numba")
    helpers = [subprocess.Popen([sys.executable, "-m", "ember.kernels._warmup", *LENET_JOBS], env=env)
               for _ in range(2)]
    assert [h.wait(timeout=300) for h in helpers] == [0, 0]
    stats = _step(env)
    assert {"scatter_add_planes", "_weight_grad"} <= set(stats) and {"_col2im", "col2im"} & set(stats), stats
    for name, (hits, misses) in stats.items():
        if name in BACKWARD_KERNELS:
            assert (hits, misses) == (1, 0), (name, stats)  # the helper compiled exactly what the op calls
        else:
            assert (hits, misses) == (0, 1), (name, stats)


SUBPROCESS_FIT = textwrap.dedent("""
    import os, sys
    import ember
    import ember.nn.functional as F
    from ember.data import DataLoader, TensorDataset
    from ember.kernels import _warmup
    from ember.trainer import Trainer
    from ember.trainer.tasks import Classifier
    from ember.vision.models import LeNet5

    ember.manual_seed(0)
    data = DataLoader(TensorDataset(ember.randn(8, 1, 28, 28), ember.randint(0, 10, (8,))), batch_size=4)
    trainer = Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=sys.argv[1])
    trainer.fit(Classifier(LeNet5(num_classes=10)), data)
    print("helper", _warmup._started is not None)
    pid = os.fork()
    if pid == 0:  # a forked worker: a step still runs, and its exit leaves the parent's helper alone
        ok = _warmup._started is None
        F.cross_entropy(LeNet5(num_classes=10)(ember.randn(2, 1, 28, 28)), ember.tensor([0, 1])).backward()
        sys.stdout.flush()
        os._exit(0 if ok else 3)
    assert os.waitpid(pid, 0)[1] == 0
    print("child ok")
""")


def _fit(tmp_path, cache_dir, **extra):
    done = subprocess.run([sys.executable, "-c", SUBPROCESS_FIT, str(tmp_path / "run")], env=_env(cache_dir, **extra),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_fit_starts_the_helper_on_a_cold_cache_only_and_a_forked_child_still_steps(tmp_path):
    cache = tmp_path / "numba"
    cold = _fit(tmp_path, cache)
    assert "helper True" in cold and "child ok" in cold
    assert "helper False" in _fit(tmp_path, cache)  # warm: every backward kernel has its cache index


def test_pending_keeps_a_job_whose_kernels_it_cannot_find_and_drops_unknown_names(monkeypatch):
    def missing():
        raise LookupError("no kernel 'conv.renamed'")

    monkeypatch.setitem(_warmup.JOBS, "renamed", (lambda dtype: None, missing))
    assert _warmup.pending(["renamed:float32", "no_such_job:float32"]) == ["renamed:float32"]


def test_no_helper_when_switched_off(monkeypatch):
    monkeypatch.setenv("EMBER_KERNEL_WARMUP", "0")
    assert _warmup.start(LENET_JOBS) is None


def test_fit_runs_when_the_cache_dir_is_unusable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # NUMBA_CACHE_DIR cannot be created: numba falls back to another cache location, and the run works
    assert "child ok" in _fit(tmp_path, blocker / "numba")


def test_a_helper_that_fails_a_job_goes_on_with_the_others(tmp_path, monkeypatch, capsys):
    niceness = []
    monkeypatch.setattr(os, "nice", niceness.append)
    assert _warmup.main(["no_such_job:float32"]) == 0
    assert niceness == [19]  # (lowest priority: it must not take CPU from the training process)
    assert capsys.readouterr().out.split() == ["started", "no_such_job:float32", "done", "no_such_job:float32"]
    env = _env(tmp_path / "numba")
    done = subprocess.run([sys.executable, "-m", "ember.kernels._warmup", "no_such_job", "max_pool_backward:float32"],
                          env=env, timeout=300, check=False)
    assert done.returncode == 0
    assert any(name.startswith("pooling.scatter_add_planes") and name.endswith(".nbi")
               for _, _, files in os.walk(tmp_path / "numba") for name in files)


def test_a_first_call_waits_while_the_helper_compiles_that_kernel_then_runs_the_real_kernel():
    import threading

    fake = subprocess.Popen([sys.executable, "-c", ("import sys; print('started k:float32', flush=True); "
                                                    "sys.stdin.readline(); print('done k:float32', flush=True)")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    helper = _warmup._Helper(fake, ["k:float32"])
    with helper.changed:
        assert helper.changed.wait_for(lambda: helper.state.get("k:float32") == "started", 60)

    class Owner:  # an Adaptive / Split kernel
        serial = staticmethod(lambda x: x + 1)

    real = Owner.serial
    owner = Owner()
    owner.serial = _warmup._FirstCallWaits(owner, real, "k:float32", helper)
    results = []
    caller = threading.Thread(target=lambda: results.append(owner.serial(1)))
    caller.start()
    caller.join(0.5)
    assert caller.is_alive() and not results  # waiting for the helper's "done"
    fake.stdin.write(b"\n")
    fake.stdin.flush()
    caller.join(60)
    assert results == [2] and owner.serial is real  # the real kernel is back for every later call
    helper.wait_if_compiling("other:float32")  # a job the helper is not on: no wait
    assert fake.wait(60) == 0
