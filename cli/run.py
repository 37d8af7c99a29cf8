"""What ``ember fit / validate / test / predict / check / summary`` do with a recipe."""

from __future__ import annotations

import difflib
import json
import os
import pathlib
import re
import shlex
import sys
import time

import click

from ember.utils.build import Builder

from .recipe import MODEL_KEYS, Recipe, RecipeError, builtin_recipes, compile_options, dump, load_recipe

RUNS_ROOT = pathlib.Path("runs")


def build_objects(recipe: Recipe, need_data: bool = True, compile: bool = True):
    """Seeds, then builds model, data module and the Trainer's keyword arguments. Every section is
    checked first (all problems at once), so a mistake in ``data`` is reported before ``model`` is built.
    ``compile=False`` leaves the model eager whatever ``model.compile`` says (it is still checked)."""
    from ember.trainer import seed_everything  # lazy: `ember --help` loads no framework

    config = recipe.config
    folders = add_user_folders(recipe)
    checker = Builder(recipe.path, dry=True, sections=_sections())
    _build_sections(checker, config, need_data)
    if checker.problems:
        raise RecipeError([_with_search_hint(problem, folders) for problem in checker.problems])
    if config.get("seed") is not None:
        seed_everything(config["seed"])
    builder = Builder(recipe.path, sections=_sections())
    model, data, trainer_args = _build_sections(builder, config, need_data, compile)
    if builder.problems:
        raise RecipeError(builder.problems)
    return model, data, trainer_args


def add_user_folders(recipe: Recipe) -> list[str]:
    """Puts the working directory and the recipe's folder on ``sys.path``, so that a ``class_path`` can name a
    module of the user's own (``my_model.MyModule`` for ``my_model.py``); returns the two folders.

    LightningCLI users run ``python main.py fit --config config.yaml``: Python puts ``main.py``'s folder on
    the path, and the config names classes from it and from its neighbours. ``ember fit`` has no script of
    the user's; the working directory (as ``python -m`` adds it) and the recipe's folder stand in for it.
    They are appended, after the standard library and the installed packages: a module of those names is
    never replaced by a file that happens to lie beside a recipe. Nothing is imported here; only the modules
    the recipe's ``class_path`` values name (and what those import) are, when the objects are built.
    """
    folders = [os.getcwd()]
    if recipe.path not in builtin_recipes().values():  # (a built-in recipe's folder holds only recipes)
        folders.append(str(recipe.path.parent))
    present = {os.path.abspath(entry or os.curdir) for entry in sys.path}
    for folder in dict.fromkeys(os.path.abspath(f) for f in folders):
        if folder not in present:
            sys.path.append(folder)
    return list(dict.fromkeys(os.path.abspath(f) for f in folders))


def _with_search_hint(problem: str, folders: list[str]) -> str:
    """A "no module named 'x'" problem for a top-level module says where Ember looked for the user's modules."""
    missing = re.search(r"no module named '([^'.]+)'$", problem)
    if missing is None:
        return problem
    places = " and ".join(folders)
    return (f"{problem} (modules of your own are looked for in {places}, after the installed packages: is "
            f"{missing.group(1)}.py there?)")


def _sections() -> dict:
    """What a recipe's top-level sections hold."""
    from ember.trainer import DataModule, TrainingModule  # lazy: `ember --help` loads no framework

    return {"model": TrainingModule, "data": DataModule}


def _build_sections(builder: Builder, config: dict, need_data: bool, compile: bool = True):
    from ember.trainer import Trainer  # lazy: `ember --help` loads no framework

    for section in ("model",) + (("data",) if need_data else ()):
        if section not in config:
            builder.problem(section, f"missing: a recipe needs '{section}: {{class_path: ..., init_args: ...}}'")
    seed = config.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        builder.problem("seed", f"expected an int, got {seed!r}")
    model = _build_model(builder, config["model"], compile) if "model" in config else None
    data = builder.build(config["data"], "data") if config.get("data") is not None else None
    trainer_config = config.get("trainer") or {}
    if not isinstance(trainer_config, dict):
        builder.problem("trainer", f"must be a mapping of Trainer arguments, got {type(trainer_config).__name__}")
        trainer_config = {}
    trainer_args = builder.check_arguments(Trainer, trainer_config, "trainer", "ember.trainer.Trainer")
    return model, data, trainer_args


def _build_model(builder: Builder, spec, compile: bool = True):
    """The ``model`` section: its object spec built, then ``model.compile`` (true or ember.compile's arguments)
    applied in place, so the module stays the TrainingModule the recipe names and runs its forward compiled."""
    if not isinstance(spec, dict):
        return builder.build(spec, "model")
    options, problems = compile_options(spec.get("compile"))
    for key in spec:
        close = difflib.get_close_matches(str(key), MODEL_KEYS, n=1, cutoff=0.75)
        if key not in MODEL_KEYS and close:  # (other unknown keys: the builder's problem, naming the valid ones)
            problems.append((f"model.{key}", f"unknown key in the model section; did you mean '{close[0]}'?"))
    for key, message in problems:
        builder.problem(key, message)
    model = builder.build({k: v for k, v in spec.items()
                           if k not in MODEL_KEYS and f"model.{k}" not in dict(problems)}, "model")
    if model is not None and options is not None and compile and not problems:
        model.compile(**options)
    return model


def check_recipe(name_or_path: str, overrides: list[str]) -> None:
    recipe = load_recipe(name_or_path, overrides)
    build_objects(recipe)


def summarize(name_or_path: str, overrides: list[str]) -> str:
    import ember  # lazy: `ember --help` loads no framework

    recipe = load_recipe(name_or_path, overrides)
    model, data, _ = build_objects(recipe, compile=False)  # the modules as they run eagerly, each call seen
    example = _example_input(data)
    return str(ember.nn.summary(model, example))


def _example_input(data):
    if data is None:
        raise RecipeError(["data: the summary needs a data module to take an example batch from"])
    if hasattr(data, "prepare_data"):
        data.prepare_data()
    if hasattr(data, "setup"):
        data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    return batch[0] if isinstance(batch, (list, tuple)) else batch


def _versions(folder: pathlib.Path) -> list[pathlib.Path]:
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith("version_") and p.name[8:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[8:]))


def runs_folder(recipe: Recipe) -> pathlib.Path:
    """``runs/<name>``; a name that would lead elsewhere (``..``, an absolute path) is a recipe error."""
    name = recipe.name if isinstance(recipe.name, str) else str(recipe.name)  # (`name: 2024` is a name too)
    parts = pathlib.PurePath(name).parts
    if not parts or pathlib.PurePath(name).is_absolute() or ".." in parts:
        problem = (f"{recipe.path}: name: {name!r} is not a folder name inside {RUNS_ROOT}/ (a run is "
                   f"written to {RUNS_ROOT}/<name>/version_N); use --run-dir to write a run elsewhere")
        raise RecipeError([problem])
    return RUNS_ROOT / name


def choose_run_dir(recipe: Recipe, run_dir: str | None, ckpt: str | None, stage: str) -> pathlib.Path | None:
    """The run directory: ``--run-dir``, or the latest run of the recipe to resume or evaluate, or None
    when a new ``runs/<name>/version_N`` is wanted (``new_version_dir`` creates it)."""
    if run_dir:
        return pathlib.Path(run_dir)
    folder = runs_folder(recipe)
    versions = _versions(folder)
    if ckpt in ("last", "best") or stage != "fit":
        resumable = [v for v in versions if (v / "checkpoints").is_dir()]
        if resumable:
            return resumable[-1]
        if ckpt in ("last", "best"):
            raise RecipeError([f"--ckpt {ckpt}: no earlier run of '{recipe.name}' with checkpoints under {folder}"])
    return None


def new_version_dir(folder: pathlib.Path) -> pathlib.Path:
    """Creates and returns the next free ``folder/version_N``. The folder is created exclusively, so two
    runs started together never share one: the second finds it taken and moves on to the next number."""
    versions = _versions(folder)
    number = int(versions[-1].name[8:]) + 1 if versions else 0
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        candidate = folder / f"version_{number}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            number += 1


def _resolve_ckpt(ckpt: str | None, run_dir: pathlib.Path | None):
    if ckpt is None:
        return None
    if ckpt == "last":
        path = run_dir / "checkpoints" / "last.ckpt"
        if not path.is_file():
            raise RecipeError([f"--ckpt last: {path} does not exist"])
        return str(path)
    if ckpt == "best":
        summary = _read_summary(run_dir)
        best = summary.get("best_model_path")
        if not best or not pathlib.Path(best).is_file():
            raise RecipeError([f"--ckpt best: the run in {run_dir} recorded no best checkpoint"])
        return best
    if not pathlib.Path(ckpt).is_file():
        raise RecipeError([f"--ckpt: no checkpoint file at {ckpt}"])
    return ckpt


def _read_summary(run_dir: pathlib.Path) -> dict:
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _prepare_trainer(trainer_args: dict, run_dir: pathlib.Path, recipe: Recipe, stage: str):
    from ember.trainer import Trainer  # lazy: `ember --help` loads no framework
    from ember.trainer.callbacks import ModelCheckpoint  # lazy: `ember --help` loads no framework
    from ember.trainer.loggers import CSVLogger  # lazy: `ember --help` loads no framework

    args = dict(trainer_args)
    args.setdefault("default_root_dir", str(run_dir))
    if args.get("logger") in (None, True) and not args.get("barebones"):
        args["logger"] = CSVLogger(save_dir=str(run_dir.parent), name=None, version=run_dir.name)
    callbacks = list(args.get("callbacks") or [])
    checkpoints = [c for c in callbacks if isinstance(c, ModelCheckpoint)]
    if stage == "fit" and args.get("enable_checkpointing", True) and not args.get("barebones"):
        if not checkpoints:
            callbacks.append(ModelCheckpoint(dirpath=str(run_dir / "checkpoints"), save_last=True))
        for c in checkpoints:
            if c.dirpath is None:
                c.dirpath = str(run_dir / "checkpoints")
    args["callbacks"] = callbacks
    trainer = Trainer(**args)
    trainer.recipe = recipe.config
    return trainer


def run_stage(stage: str, name_or_path: str, overrides: list[str], ckpt=None, run_dir=None,
              print_config: bool = False) -> int:
    recipe = load_recipe(name_or_path, overrides)
    config = dict(recipe.config)
    config["name"] = recipe.name
    if print_config:
        click.echo(dump(config), nl=False)
        return 0
    from ember.trainer.strategies import launch  # lazy: `ember --help` loads no framework

    chosen = choose_run_dir(recipe, run_dir, ckpt, stage)  # None: a new version folder, made once built
    if launch.needs_launch(config.get("trainer")):  # trainer.devices=N: run N processes under mpiexec
        directory = chosen or new_version_dir(runs_folder(recipe))
        ckpt_args = ["--ckpt", ckpt] if ckpt else []
        return launch.run_under_mpiexec([stage, name_or_path, *overrides, "--run-dir", str(directory), *ckpt_args],
                                        config["trainer"])
    ckpt_path = _resolve_ckpt(ckpt, chosen)
    model, data, trainer_args = build_objects(recipe)
    if chosen is None and launch.is_rank_zero():
        chosen = new_version_dir(runs_folder(recipe))
    directory = launch.same_on_every_rank(chosen)  # (one per mpiexec job)
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "config.yaml"
    if stage == "fit" and not (ckpt_path and config_file.exists()) and launch.is_rank_zero():
        config_file.write_text(f"# resolved recipe of {recipe.path}; run it again with: ember fit {config_file}\n"
                               + dump(config))
    trainer = _prepare_trainer(trainer_args, directory, recipe, stage)
    started = time.time()
    status, result = "failed", None
    try:
        if stage == "fit":
            trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
        else:
            result = getattr(trainer, stage)(model, datamodule=data, ckpt_path=ckpt_path)
        status = "interrupted" if getattr(trainer, "interrupted", False) else "completed"
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, without a checkpoint of this step
        status = "interrupted"
    finally:
        if launch.is_rank_zero():
            summary = _write_summary(trainer, recipe, directory, stage, status, time.time() - started, result)
    if launch.is_rank_zero():
        resume = _resume_command(trainer, name_or_path, overrides, directory) if stage == "fit" else None
        _print_summary(summary, recipe, directory, resume)
    return 130 if status == "interrupted" else 0


def _to_float(value):
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        return None


def _write_summary(trainer, recipe, directory, stage, status, wall_time, result) -> dict:
    callback = getattr(trainer, "checkpoint_callback", None)
    summary = _read_summary(directory) if stage != "fit" else {}
    summary.update({
        "recipe": recipe.name,
        "stage": stage,
        "status": status,
        "global_step": int(getattr(trainer, "global_step", 0)),
        "epoch": int(getattr(trainer, "current_epoch", 0)),
        "wall_time_s": round(wall_time, 3),
        "metrics": {k: _to_float(v) for k, v in dict(getattr(trainer, "callback_metrics", {}) or {}).items()},
    })
    if callback is not None and stage == "fit":
        summary.update({
            "monitor": getattr(callback, "monitor", None),
            "best_model_score": _to_float(getattr(callback, "best_model_score", None)),
            "best_model_path": getattr(callback, "best_model_path", "") or "",
            "last_model_path": getattr(callback, "last_model_path", "") or "",
        })
    if stage == "predict" and result is not None:
        import ember  # lazy: `ember --help` loads no framework

        ember.save(result, str(directory / "predictions.ember"))
        summary["predictions"] = str(directory / "predictions.ember")
    elif result is not None:
        summary[f"{stage}_results"] = [{k: _to_float(v) for k, v in d.items()} for d in result]
    # written whole or not at all: `ember runs` may read it at any moment
    partial = directory / f".summary.json.{os.getpid()}.tmp"
    partial.write_text(json.dumps(summary, indent=2))
    os.replace(partial, directory / "summary.json")
    return summary


def _resume_command(trainer, name_or_path: str, overrides: list[str], directory: pathlib.Path) -> str | None:
    """The command that continues this run: the same recipe and overrides, this run directory and the
    checkpoint the interrupt saved (None when there is no checkpoint to continue from)."""
    callback = getattr(trainer, "checkpoint_callback", None)
    folder = callback.dirpath if callback is not None and callback.dirpath else directory / "checkpoints"
    last = pathlib.Path(folder) / "last.ckpt"
    if not last.is_file():
        return None
    ckpt = "last" if last == directory / "checkpoints" / "last.ckpt" else str(last)  # (what "last" reads)
    return shlex.join(["ember", "fit", name_or_path, *overrides, "--run-dir", str(directory), "--ckpt", ckpt])


def _print_summary(summary: dict, recipe: Recipe, directory: pathlib.Path, resume: str | None) -> None:
    click.echo(f"\n{recipe.name}: {summary['status']} after {summary['global_step']} steps "
               f"in {summary['wall_time_s']:.1f} s")
    metrics = {k: v for k, v in summary.get("metrics", {}).items() if v is not None}
    if metrics:
        click.echo("  metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items())))
    if summary.get("monitor") and summary.get("best_model_score") is not None:
        click.echo(f"  best {summary['monitor']}: {summary['best_model_score']:.4g}")
    if summary.get("best_model_path") or summary.get("last_model_path"):
        click.echo(f"  checkpoint: {summary.get('best_model_path') or summary.get('last_model_path')}")
    click.echo(f"  run directory: {directory}")
    if summary["status"] == "interrupted" and summary["stage"] == "fit":
        click.echo(f"  resume with: {resume}" if resume else "  (stopped before any checkpoint was saved)")
