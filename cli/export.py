"""``ember export RUN_DIR|CKPT --format onnx|ember [--out FILE]``: a trained recipe's model, out of Python.

The model is built from the run's resolved recipe (``config.yaml``, or the recipe a checkpoint carries),
its weights loaded from the checkpoint, and captured on one batch of the recipe's data, with the batch size
left dynamic. ``onnx`` writes an ONNX model (``ember.onnx.export``), ``ember`` an ``ember.export`` program.
"""

from __future__ import annotations

import pathlib

from .recipe import Recipe, RecipeError, load_recipe
from .run import _example_input, _read_summary, build_objects

SUFFIXES = {"onnx": ".onnx", "ember": ".ember"}


def _checkpoint_of(run_dir: pathlib.Path) -> pathlib.Path:
    """The run's best checkpoint (summary.json), else ``checkpoints/last.ckpt``, else its newest one."""
    best = _read_summary(run_dir).get("best_model_path")
    if best and pathlib.Path(best).is_file():
        return pathlib.Path(best)
    folder = run_dir / "checkpoints"
    if (folder / "last.ckpt").is_file():
        return folder / "last.ckpt"
    found = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not found:
        raise RecipeError([f"{run_dir}: no checkpoint in {folder} (train it first: ember fit ...)"])
    return found[-1]


def _locate(target: str) -> tuple[pathlib.Path, pathlib.Path, dict]:
    """(run directory, checkpoint file, checkpoint) for a run directory or a checkpoint file."""
    from ember.trainer.checkpoint import load_checkpoint_file  # lazy: `ember --help` loads no framework

    path = pathlib.Path(target)
    if path.is_dir():
        run_dir, ckpt = path, _checkpoint_of(path)
    elif path.is_file():
        ckpt = path
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    else:
        raise FileNotFoundError(f"ember export: {target}: no such run directory or checkpoint file")
    return run_dir, ckpt, load_checkpoint_file(str(ckpt))


def _recipe(run_dir: pathlib.Path, ckpt: pathlib.Path, checkpoint: dict) -> Recipe:
    config = run_dir / "config.yaml"
    if config.is_file():
        return load_recipe(str(config))
    if isinstance(checkpoint.get("recipe"), dict):  # a checkpoint moved away from its run keeps its recipe
        saved = dict(checkpoint["recipe"])
        return Recipe(name=str(saved.get("name", ckpt.stem)), path=ckpt, config=saved)
    raise RecipeError([(f"{ckpt}: no config.yaml beside it ({config}) and no recipe inside it; ember export "
                        f"rebuilds the model from the run's recipe")])


def export_run(target: str, fmt: str = "onnx", out: str | None = None) -> tuple[pathlib.Path, str]:
    """Writes the model of a run; returns the file and the instructions to run it."""
    import ember  # lazy: `ember --help` loads no framework
    from ember.trainer.checkpoint import load_module_weights  # lazy: `ember --help` loads no framework

    if fmt not in SUFFIXES:
        raise ValueError(f"ember export: --format must be one of {', '.join(SUFFIXES)}, got {fmt!r}")
    run_dir, ckpt, checkpoint = _locate(target)
    recipe = _recipe(run_dir, ckpt, checkpoint)
    model, data, _ = build_objects(recipe)
    load_module_weights(model, checkpoint, str(ckpt))
    model.eval()
    example = _example_input(data)
    if not isinstance(example, ember.Tensor):
        raise TypeError(f"ember export: the recipe's batches hold a {type(example).__name__} as input; the export "
                        f"takes one tensor (export the model with ember.onnx.export in Python)")
    destination = pathlib.Path(out) if out else run_dir / f"model{SUFFIXES[fmt]}"
    destination.parent.mkdir(parents=True, exist_ok=True)
    batch = ember.export.Dim("batch")
    if fmt == "onnx":
        proto = ember.onnx.export(model, (example,), str(destination), input_names=["input"],
                                  dynamic_axes={"input": {0: "batch"}})
        outputs = [o.name for o in proto.graph.output]
        usage = _onnx_usage(destination, example, outputs)
    else:
        with ember.no_grad():
            program = ember.export.export(model, (example,), dynamic_shapes=({0: batch},))
        ember.export.save(program, str(destination))
        usage = _ember_usage(destination, example, program)
    return destination, f"wrote {destination} (weights from {ckpt})\n{usage}"


def _shape_text(example) -> str:
    return "[batch, " + ", ".join(str(s) for s in example.shape[1:]) + "]" if example.ndim > 1 else "[batch]"


def _onnx_usage(path: pathlib.Path, example, outputs: list) -> str:
    return "\n".join([
        "run it with onnxruntime (pip install onnxruntime):",
        "  import numpy as np, onnxruntime as ort",
        f"  session = ort.InferenceSession({str(path)!r})",
        (f"  x = np.zeros({_shape_text(example).replace('batch', '1')}, np.{example.dtype.name})"
         f"  # input: {example.dtype.name} {_shape_text(example)}"),
        f"  ({', '.join(outputs)},) = session.run(None, {{'input': x}})",
    ])


def _ember_usage(path: pathlib.Path, example, program) -> str:
    domains = sorted({node.target.split(".")[1] for node in program.graph.nodes
                      if node.target.split(".")[1:2] and node.target.split(".")[1] in ("vision", "text", "audio")})
    imports = "".join(f", ember.{d}" for d in domains)
    return "\n".join([
        "run it with Ember (no model code needed):",
        f"  import ember{imports}",
        f"  model = ember.export.load({str(path)!r}).module()",
        (f"  out = model(ember.zeros({_shape_text(example).replace('batch', '1')[1:-1]}, "
         f"dtype=ember.{example.dtype.name}))  # input: {_shape_text(example)}"),
    ])
