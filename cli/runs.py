"""``ember runs`` and ``ember plot``: past runs from their run directories."""

from __future__ import annotations

import csv
import json
import pathlib


def list_runs(directory: str) -> list[dict]:
    """One row per run directory (a folder with a ``config.yaml``) under ``directory``. A run whose
    ``summary.json`` cannot be read is listed with the status ``malformed summary.json`` and the reason
    under ``problem``; the other runs are listed as usual."""
    root = pathlib.Path(directory)
    rows = []
    for config in sorted(root.glob("**/config.yaml")):
        run = config.parent
        path = run / "summary.json"
        try:
            summary = json.loads(path.read_text()) if path.exists() else {"status": "running or crashed"}
            if not isinstance(summary, dict):
                raise TypeError(f"expected a JSON object, got a {type(summary).__name__}")
            rows.append(_row(summary, run))
        except (OSError, ValueError, TypeError) as error:
            row = _row({"status": "malformed summary.json"}, run)
            rows.append({**row, "problem": f"{path}: {error}"})
    return rows


def _row(summary: dict, run: pathlib.Path) -> dict:
    best = summary.get("best_model_score")
    if best is not None and (isinstance(best, bool) or not isinstance(best, (int, float))):
        raise TypeError(f"best_model_score: expected a number, got {best!r}")
    return {
        "recipe": str(summary.get("recipe", run.parent.name)),
        "status": str(summary.get("status", "?")),
        "steps": str(summary.get("global_step", "")),
        "best": f"{summary.get('monitor')}={best:.4g}" if best is not None and summary.get("monitor") else "",
        "path": str(run),
    }


def format_runs(rows: list[dict]) -> str:
    if not rows:
        return "no runs found"
    headers = ["recipe", "status", "steps", "best", "path"]
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in headers}
    lines = ["  ".join(h.ljust(widths[h]) for h in headers)]
    lines += ["  ".join(str(r[h]).ljust(widths[h]) for h in headers) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def read_metrics(run: pathlib.Path) -> dict[str, list[tuple[float, float]]]:
    """Each metric's (step or epoch, value) points from the run's metrics.csv."""
    path = run / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metrics.csv in this run directory")
    series: dict = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            x = row.get("step") or row.get("epoch") or "0"
            for key, value in row.items():
                if key in ("step", "epoch") or value in ("", None):
                    continue
                try:
                    series.setdefault(key, []).append((float(x), float(value)))
                except ValueError:
                    continue
    return series


def plot_run(run: str, out: str | None) -> pathlib.Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ModuleNotFoundError(
            "ember plot needs matplotlib, which is not installed: pip install 'ember[plot]'"
        ) from None
    run_path = pathlib.Path(run)
    series = read_metrics(run_path)
    if not series:
        raise FileNotFoundError(f"{run_path / 'metrics.csv'}: no metric values to plot")
    fig, axes = plt.subplots(len(series), 1, figsize=(7, 2.4 * len(series)), squeeze=False)
    for ax, (name, points) in zip(axes[:, 0], sorted(series.items())):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="." if len(xs) < 50 else None)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    target = pathlib.Path(out) if out else run_path / "metrics.png"
    fig.savefig(target)
    plt.close(fig)
    return target
