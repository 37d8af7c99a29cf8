"""Train on your own images with a built-in recipe: ``ember fit imagefolder-resnet data.dataset=DIR``.

The script first makes a tiny image folder in torchvision's ImageFolder layout (``root/<class>/<image>``:
here red circles, green squares and blue triangles drawn with Pillow), then runs the ``ember`` command
on it, overriding recipe values on the command line, and finally lists the run and its metrics.
With your own data you only need the command printed below.

Run:  python examples/imagefolder_recipe.py [--max-steps N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys

CLASSES = {"circle": (220, 40, 40), "square": (40, 180, 60), "triangle": (50, 80, 220)}


def make_image_folder(root: pathlib.Path, per_class: int, size: int = 48, seed: int = 0) -> None:
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    for name, colour in CLASSES.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            background = tuple(rng.randrange(0, 90) for _ in range(3))
            image = Image.new("RGB", (size, size), background)
            draw = ImageDraw.Draw(image)
            r = rng.randrange(size // 5, size // 3)
            cx, cy = rng.randrange(r, size - r), rng.randrange(r, size - r)
            jitter = tuple(min(255, max(0, c + rng.randrange(-30, 30))) for c in colour)
            if name == "circle":
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=jitter)
            elif name == "square":
                draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=jitter)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=jitter)
            image.save(folder / f"{i:03d}.png")


def ember_command() -> list[str]:
    """The installed ``ember`` script, or the same CLI through this Python."""
    script = shutil.which("ember")
    return [script] if script else [sys.executable, "-m", "ember.cli.main"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=-1, help="trainer.max_steps for the run")
    parser.add_argument("--max-epochs", type=int, default=4)
    parser.add_argument("--per-class", type=int, default=40, help="images per class in the generated folder")
    parser.add_argument("--workdir", default="imagefolder_example")
    parser.add_argument("--image-size", type=int, default=32, help="data.image_size for the run")
    parser.add_argument("--network", default=None,
                        help="swap the recipe's ResNet-18 for another ember.vision.models builder (e.g. resnet20)")
    args = parser.parse_args()

    workdir = pathlib.Path(args.workdir).resolve()
    images = workdir / "images"
    if not images.exists():
        make_image_folder(images, args.per_class)
    print(f"made {sum(1 for _ in images.glob('*/*.png'))} images in {images}")

    run_dir = workdir / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    arguments = [
        "fit", "imagefolder-resnet",
        f"data.dataset={images}",           # the only override your own data needs
        f"data.image_size={args.image_size}",  # small images: a quick run
        "data.batch_size=16",
        "data.num_workers=0",
    ]
    if args.network:                        # a new class_path drops the old init_args
        arguments.append(f"model.network.class_path=ember.vision.models.{args.network}")
    arguments += [
        f"model.network.num_classes={len(CLASSES)}",
        f"trainer.max_epochs={args.max_epochs}",
        f"trainer.max_steps={args.max_steps}",
        "trainer.enable_progress_bar=false",
        "--run-dir", str(run_dir),
    ]
    print("$ ember", " ".join(arguments))
    subprocess.run(ember_command() + arguments, check=True, cwd=workdir)

    # What a run leaves behind: the resolved recipe, a summary, metrics and checkpoints.
    print("run directory:", sorted(p.name for p in run_dir.iterdir()))
    summary = json.loads((run_dir / "summary.json").read_text())
    print("status:", summary["status"], "| steps:", summary["global_step"], "| metrics:", summary["metrics"])
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    print(f"metrics.csv: {len(rows)} rows, columns {list(rows[0])}")
    subprocess.run(ember_command() + ["runs", str(workdir)], check=True)
    print("to go on training this run:  ember fit", run_dir / "config.yaml", "--ckpt last --run-dir", run_dir,
          "trainer.max_epochs=10")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
