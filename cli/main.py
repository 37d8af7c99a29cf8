"""The ``ember`` command: recipes -> objects -> Trainer.

Nothing heavy is imported before a command needs it, so ``ember --help`` answers at once.
"""

from __future__ import annotations

import sys

import click

from .. import __version__


def _fail_recipe(error) -> None:
    click.echo("error: the recipe has problems:" if len(error.problems) > 1 else "error:", err=True)
    for problem in error.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(2)


def _describe(error: BaseException) -> str:
    """``Type: message`` in one line. An error re-raised from a DataLoader worker carries the worker's whole
    traceback in its message; its own message and where it happened are one line, as in the main process."""
    if getattr(error, "worker_message", None) is None:
        return f"{type(error).__name__}: {error}"
    return f"{type(error).__name__}: {error.worker_message} ({error.worker_where})"


def _guard(debug: bool):
    """Runs a command body turning recipe problems into exit status 2, other errors into one line and exit
    status 1, Ctrl-C into exit status 130 (no traceback unless --debug)."""
    from .recipe import RecipeError  # lazy: `ember --help` loads no framework

    class Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, value, tb):
            if kind is None or debug:
                return False
            if issubclass(kind, RecipeError):
                _fail_recipe(value)
            if issubclass(kind, KeyboardInterrupt):
                click.echo("\naborted (Ctrl-C)", err=True)
                sys.exit(130)
            if issubclass(kind, (SystemExit, click.exceptions.Exit, click.ClickException)):
                return False
            click.echo(f"error: {_describe(value)}", err=True)
            click.echo("(run again with --debug for the full traceback)", err=True)
            sys.exit(1)

    return Guard()


def _recipe_options(fn):
    fn = click.option("--debug", is_flag=True, help="Show full tracebacks.")(fn)
    fn = click.option("--print-config", is_flag=True, help="Print the resolved recipe and exit.")(fn)
    fn = click.option("--run-dir", type=click.Path(file_okay=False), default=None,
                      help="Write the run here instead of runs/<recipe>/version_N.")(fn)
    fn = click.option("--ckpt", "ckpt", default=None, help="Checkpoint: a path, 'last' or 'best'.")(fn)
    fn = click.argument("overrides", nargs=-1)(fn)
    fn = click.argument("recipe")(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ember")
def main() -> None:
    """Ember: train models from YAML recipes.

    \b
    Examples:
      ember recipes                      list the built-in recipes
      ember fit digits-lenet             train LeNet-5 on the built-in SyntheticDigits
      ember fit my.yaml trainer.max_epochs=3 model.optimizer.lr=0.01
      ember fit digits-lenet --ckpt last resume the latest run of a recipe
    """


def _stage_command(stage: str, help_text: str):
    @main.command(stage, help=help_text)
    @_recipe_options
    def command(recipe, overrides, ckpt, run_dir, print_config, debug):
        with _guard(debug):
            from .run import run_stage  # lazy: `ember --help` loads no framework

            sys.exit(run_stage(stage, recipe, list(overrides), ckpt=ckpt, run_dir=run_dir,
                               print_config=print_config))

    return command


fit = _stage_command("fit", "Train the recipe's model on its data (KEY=VALUE overrides, ~KEY deletes).")
validate = _stage_command("validate", "Run the validation loop (use --ckpt to pick weights).")
test = _stage_command("test", "Run the test loop (use --ckpt to pick weights).")
predict = _stage_command("predict", "Run prediction and save the predictions in the run directory.")


@main.group(invoke_without_command=True)
@click.pass_context
def recipes(ctx) -> None:
    """List the built-in recipes (and show or copy one)."""
    if ctx.invoked_subcommand is None:
        from .recipe import builtin_recipes, describe  # lazy: `ember --help` loads no framework

        items = builtin_recipes()
        width = max((len(n) for n in items), default=0)
        for name, path in items.items():
            click.echo(f"{name:<{width}}  {describe(path)}")


@recipes.command("show")
@click.argument("name")
def recipes_show(name) -> None:
    """Print a built-in recipe."""
    with _guard(False):
        from .recipe import resolve_path  # lazy: `ember --help` loads no framework

        click.echo(resolve_path(name).read_text(), nl=False)


@recipes.command("copy")
@click.argument("name")
@click.argument("dest", type=click.Path())
def recipes_copy(name, dest) -> None:
    """Copy a built-in recipe to DEST to edit it (never overwrites an existing file)."""
    import pathlib

    with _guard(False):
        from .recipe import resolve_path  # lazy: `ember --help` loads no framework

        source = resolve_path(name)
        target = pathlib.Path(dest)
        if target.is_dir():
            target = target / source.name
        if target.exists():
            click.echo(f"error: {target} already exists; not overwriting it", err=True)
            sys.exit(2)
        target.write_text(source.read_text())
        click.echo(f"copied {name} to {target}")


@main.command()
@click.argument("recipe")
@click.argument("overrides", nargs=-1)
@click.option("--debug", is_flag=True)
def check(recipe, overrides, debug) -> None:
    """Build every object of a recipe without training; report every problem at once."""
    with _guard(debug):
        from .run import check_recipe  # lazy: `ember --help` loads no framework

        check_recipe(recipe, list(overrides))
        click.echo(f"{recipe}: OK")


@main.command()
@click.argument("recipe")
@click.argument("overrides", nargs=-1)
@click.option("--debug", is_flag=True)
def summary(recipe, overrides, debug) -> None:
    """Print the model summary (layers, output shapes, parameter counts)."""
    with _guard(debug):
        from .run import summarize  # lazy: `ember --help` loads no framework

        click.echo(summarize(recipe, list(overrides)))


@main.command("export")
@click.argument("target", metavar="RUN_DIR|CKPT")
@click.option("--format", "fmt", type=click.Choice(["onnx", "ember"]), default="onnx", show_default=True,
              help="onnx: an ONNX model (needs the 'onnx' extra); ember: an ember.export program.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="File to write (default RUN_DIR/model.onnx or RUN_DIR/model.ember).")
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
def export_command(target, fmt, out, debug) -> None:
    """Export a trained run's model (its recipe, checkpoint and an example batch) to run outside Ember."""
    with _guard(debug):
        from .export import export_run  # lazy: `ember --help` loads no framework

        _, message = export_run(target, fmt, out)
        click.echo(message)


@main.command()
@click.argument("directory", default="runs", type=click.Path())
def runs(directory) -> None:
    """List past runs: recipe, status, steps, best monitored metric, path."""
    from .runs import format_runs, list_runs  # lazy: `ember --help` loads no framework

    rows = list_runs(directory)
    click.echo(format_runs(rows))
    for row in rows:
        if row.get("problem"):
            click.echo(f"warning: {row['problem']}", err=True)


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="PNG file (default RUN/metrics.png).")
def plot(run, out) -> None:
    """Draw the metric curves of a run (needs the 'plot' extra: pip install 'ember[plot]')."""
    from .runs import plot_run  # lazy: `ember --help` loads no framework

    try:
        path = plot_run(run, out)
    except ModuleNotFoundError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"wrote {path}")


if __name__ == "__main__":  # python -m ember.cli.main
    main()
