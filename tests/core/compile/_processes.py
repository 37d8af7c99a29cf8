"""Shared by the disk-cache tests: a script run in two fresh processes, one after the other, on one compile cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def run_twice_on_one_cache(script: str, cache_dir) -> list[dict]:
    """``script`` (with ``{root}`` the repository's root) run twice in fresh processes whose compile cache is
    ``cache_dir``; the JSON object each printed last."""
    env = dict(os.environ, EMBER_COMPILE_CACHE_DIR=str(cache_dir))
    env.pop("EMBER_COMPILE_DEBUG", None)
    found = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script.format(root=ROOT)], check=False, env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return found
