"""``tyro.cli`` for a flat dataclass of CleanRL's ``Args`` (tyro is not installed here): one ``--field-name``
option per field, typed by its default (``--flag`` / ``--no-flag`` for booleans, as tyro spells them)."""

from __future__ import annotations

import argparse
import dataclasses


def cli(cls, args=None):
    parser = argparse.ArgumentParser(prog=cls.__name__)
    for field in dataclasses.fields(cls):
        name = "--" + field.name.replace("_", "-")
        if field.type in (bool, "bool"):
            parser.add_argument(name, dest=field.name, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            kind = {"int": int, "float": float, "str": str}.get(field.type, field.type)
            kind = kind if callable(kind) else str
            parser.add_argument(name, dest=field.name, type=kind, default=field.default)
    return cls(**vars(parser.parse_args(args)))
