"""``ember fit RECIPE trainer.devices=N``: starting the N processes under ``mpiexec``, and the small
agreements the ``ember`` command needs when it runs as one of several ranks.

The launcher runs ``mpiexec -n N python -m ember.cli.main <the same command> --run-dir DIR`` (every
rank writes to the run directory chosen once, here), forwards its output as it comes, and, if a rank
was killed, says which one: rank 0 prints the (rank, pid) table at start and ``mpiexec`` prints the
pid of the process that died.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading

from .mpi import launched_rank, launched_world_size, mpi

_TABLE = re.compile(r"rank (\d+) = pid (\d+) on (\S+?)[,\s]")
_DEATH = re.compile(r"PID (\d+) RUNNING AT (\S+)\s+=\s+EXIT CODE: (\d+)")


def processes_wanted(trainer_config) -> int:
    """How many processes a recipe's ``trainer`` section asks for (``devices * num_nodes``; 1 for "auto")."""
    if not isinstance(trainer_config, dict):
        return 1
    devices, num_nodes = trainer_config.get("devices", "auto"), trainer_config.get("num_nodes", 1)
    if isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    if not isinstance(devices, int) or isinstance(devices, bool) or devices < 1:
        return 1
    if not isinstance(num_nodes, int) or isinstance(num_nodes, bool) or num_nodes < 1:
        return devices
    return devices * num_nodes


def needs_launch(trainer_config) -> bool:
    """True when the recipe asks for several processes and this one was not started by mpiexec."""
    return processes_wanted(trainer_config) > 1 and launched_world_size() == 1


def is_rank_zero() -> bool:
    return launched_rank() == 0


def same_on_every_rank(value):
    """Rank 0's ``value`` on every rank of an mpiexec job (``value`` itself in one process)."""
    if launched_world_size() == 1:
        return value
    return mpi().COMM_WORLD.bcast(value, root=0)


def run_under_mpiexec(arguments: list[str], trainer_config: dict) -> int:
    """Runs ``ember <arguments>`` as ``processes_wanted`` MPI ranks on this machine; returns the exit status."""
    n = processes_wanted(trainer_config)
    if trainer_config.get("num_nodes", 1) not in (1, "1"):
        raise RuntimeError(f"trainer.num_nodes={trainer_config.get('num_nodes')}: start a job over several machines "
                           f"with your cluster's MPI launcher, e.g. `mpiexec -n {n} -hosts a,b ember fit ...`")
    mpiexec = shutil.which("mpiexec") or shutil.which("mpirun")
    if mpiexec is None:
        raise RuntimeError(f"trainer.devices={n} starts {n} processes with mpiexec, which was not found: "
                           "pip install 'ember[mpi]' (mpi4py and the mpich wheel, which provides mpiexec)")
    command = [mpiexec, "-n", str(n), sys.executable, "-m", "ember.cli.main", *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: list[str] = []
    pumps = [threading.Thread(target=_pump, args=(stream, target, seen), daemon=True)
             for stream, target in ((process.stdout, sys.stdout), (process.stderr, sys.stderr))]
    for pump in pumps:
        pump.start()
    while True:
        try:
            status = process.wait()
            break
        except KeyboardInterrupt:  # the ranks got the Ctrl-C too: let them save and stop
            continue
    for pump in pumps:
        pump.join(timeout=5)
    if status != 0:
        _explain_failure("".join(seen), n)
    return status


def _pump(stream, target, seen: list[str]) -> None:
    """Copies a child's output through as it comes (progress bars included), keeping a copy to read."""
    out = getattr(target, "buffer", None)
    while True:
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            return
        seen.append(chunk.decode("utf-8", "replace"))
        if out is not None:
            out.write(chunk)
            out.flush()
        else:
            target.write(chunk.decode("utf-8", "replace"))
            target.flush()


def _explain_failure(output: str, n: int) -> None:
    ranks = {int(pid): int(rank) for rank, pid, _ in _TABLE.findall(output)}
    for pid, host, code in _DEATH.findall(output):
        rank = ranks.get(int(pid))
        if rank is None or f"rank {rank}/{n} (pid {pid}" in output:
            continue  # not one of ours, or it already said why it failed
        code = int(code)
        how = f"was killed by signal {code} ({signal.Signals(code).name})" if 0 < code < 32 else f"exited with status {code}"
        print(f"[ember] rank {rank} of {n} (pid {pid} on {host}) {how}; mpiexec stopped the other ranks",
              file=sys.stderr, flush=True)
        return
