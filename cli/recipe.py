"""Recipes: YAML files with ``seed``, ``model``, ``data`` and ``trainer``; composition with
``extends:``, ``${key.path}`` interpolation and ``key.path=value`` overrides.

Objects are written LightningCLI's way, ``{class_path: dotted.Name, init_args: {...}}``,
nested to any depth. Every problem is reported as a ``RecipeError`` naming the file and
the key path, so the command can print it without a traceback and exit with status 2.
"""

from __future__ import annotations

import copy
import difflib
import pathlib
import re
from dataclasses import dataclass, field

TOP_LEVEL_KEYS = ("seed", "model", "data", "trainer", "extends", "name", "description")
# Keys of the ``model`` section beside its object spec (class_path, init_args): ``compile: true`` or a mapping
# of ember.compile's keyword arguments compiles the module's forward before the run (see compile_options).
MODEL_KEYS = ("compile",)
COMPILE_ARGUMENTS = {"fullgraph": (bool,), "dynamic": (bool, type(None)), "mode": (str, type(None)),
                     "backend": (str, type(None)), "options": (dict, type(None)), "disable": (bool,)}
RECIPES_DIR = pathlib.Path(__file__).resolve().parent.parent / "recipes"
# Bounds on what reading a recipe may cost (the built-in recipes are ~1 KB, ~50 values, 8 levels deep;
# parsing 20,000 values takes about a second).
MAX_RECIPE_BYTES = 1_000_000
MAX_NODES = 20_000
MAX_DEPTH = 100


class RecipeError(Exception):
    """One or more problems in a recipe; ``str()`` lists them, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Recipe:
    name: str
    path: pathlib.Path
    config: dict
    overrides: list = field(default_factory=list)


def builtin_recipes() -> dict[str, pathlib.Path]:
    """Built-in recipe names and their files (``recipes/*.yaml`` inside the package)."""
    try:
        from importlib import resources

        folder = pathlib.Path(str(resources.files("ember.recipes")))
    except (ModuleNotFoundError, TypeError):
        folder = RECIPES_DIR
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def describe(path: pathlib.Path) -> str:
    """The first line of a recipe's header comment."""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def resolve_path(name_or_path: str) -> pathlib.Path:
    path = pathlib.Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise RecipeError([f"{name_or_path}: no such recipe file"])
        return path.resolve()
    recipes = builtin_recipes()
    if name_or_path in recipes:
        return recipes[name_or_path]
    close = difflib.get_close_matches(name_or_path, list(recipes), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; built-in recipes: {', '.join(recipes)}"
    raise RecipeError([f"{name_or_path}: not a recipe file nor a built-in recipe{hint}"])


def read_yaml(path: pathlib.Path) -> dict:
    import yaml

    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_RECIPE_BYTES + 1)
    except OSError as error:
        raise RecipeError([f"{path}: cannot read the recipe ({error.strerror})"]) from None
    if len(raw) > MAX_RECIPE_BYTES:
        limit = MAX_RECIPE_BYTES // 1_000_000
        raise RecipeError([f"{path}: the recipe is larger than {limit} MB, the limit for a recipe "
                           "(data belongs in files the recipe points to)"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        byte = raw[error.start]
        message = f"{path}: not UTF-8 text (byte 0x{byte:02x} on line {line}); save it as UTF-8"
        raise RecipeError([message]) from None
    try:
        data = safe_load(text, str(path))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise RecipeError([f"{where}: malformed YAML: {error.problem or error}"]) from None
    except yaml.YAMLError as error:
        raise RecipeError([f"{path}: malformed YAML: {error}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError([f"{path}: a recipe must be a mapping with seed/model/data/trainer, got {type(data).__name__}"])
    return data


def safe_load(text: str, where: str):
    """``yaml.safe_load`` within bounds: the document, aliases expanded, holds at most ``MAX_NODES`` values
    nested at most ``MAX_DEPTH`` deep. This is checked on the event stream, before anything is built, so
    neither an alias bomb nor ``[[[[...]]]]`` can exhaust memory or the stack; ``where`` starts the error.

    Raises:
        RecipeError: a limit is exceeded.
        yaml.YAMLError: the text is not YAML.
    """
    import yaml

    _check_size(yaml.parse(text, Loader=yaml.SafeLoader), where)
    return yaml.safe_load(text)


def _check_size(events, where: str) -> None:
    """Counts the values of a YAML event stream as if every alias were a copy of the node it names."""
    import yaml

    open_nodes = []  # per open mapping/sequence: [values in it so far, its anchor, its height]
    anchors = {}  # anchor -> (values, height) of the node it names
    total = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([1, event.anchor, 1])
            total += 1
            height = 0
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor, height = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            size, anchor, height = 1, event.anchor, 0
            total += 1
        elif isinstance(event, yaml.AliasEvent):
            (size, height), anchor = anchors.get(event.anchor, (1, 0)), None
            total += size
        else:
            continue
        if total > MAX_NODES:
            raise RecipeError([f"{where}: expands to more than {MAX_NODES} values, the limit for a recipe "
                               "(an alias counts as a copy of what it names)"])
        if len(open_nodes) + height > MAX_DEPTH:
            raise RecipeError([f"{where}: nests deeper than {MAX_DEPTH} levels, the limit for a recipe"])
        if isinstance(event, yaml.CollectionStartEvent):
            continue
        if anchor is not None:
            anchors[anchor] = (size, height)
        if open_nodes:  # the finished node is one value of the collection around it
            open_nodes[-1][0] += size
            open_nodes[-1][2] = max(open_nodes[-1][2], height + 1)


def deep_merge(base: dict, update: dict) -> dict:
    """``update`` over ``base``; mappings merge, anything else replaces. Swapping a ``class_path`` drops
    the old ``init_args`` (they belonged to the other class)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            old = merged[key]
            if "class_path" in value and value.get("class_path") != old.get("class_path"):
                merged[key] = copy.deepcopy(value)
            else:
                merged[key] = deep_merge(old, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(path: pathlib.Path, _seen: tuple = ()) -> dict:
    """Reads a recipe and what it ``extends`` (a built-in name or a path relative to the file)."""
    if path in _seen:
        raise RecipeError([f"{path}: 'extends' forms a cycle: {' -> '.join(map(str, _seen + (path,)))}"])
    data = _lightningcli_seed(read_yaml(path), path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    parent_path = path.parent / parent if (path.parent / parent).is_file() else None
    if parent_path is None:
        try:
            parent_path = resolve_path(parent)
        except RecipeError as error:
            raise RecipeError([f"{path}: extends: {p}" for p in error.problems]) from None
    return deep_merge(load_config(parent_path, _seen + (path,)), data)


def _lightningcli_seed(data: dict, path: pathlib.Path) -> dict:
    """LightningCLI's ``seed_everything`` read as ``seed``: an int is the seed, ``true`` a random one (written
    into the resolved recipe), ``false`` none."""
    if "seed_everything" not in data:
        return data
    if "seed" in data:
        raise RecipeError([f"{path}: seed_everything: LightningCLI's name for 'seed', which is also given; keep one"])
    value = data.pop("seed_everything")
    if value is True:
        import random

        value = random.SystemRandom().randrange(2**31)
    return {"seed": None if value is False else value, **data}


def compile_options(value) -> tuple[dict | None, list[tuple[str, str]]]:
    """``model.compile``'s value as ``ember.compile`` keyword arguments (None: no compilation), and the
    problems found, as (key path, message) pairs: ``true`` / ``false`` / null, or a mapping of
    ``fullgraph``, ``dynamic``, ``mode``, ``backend``, ``options``, ``disable``."""
    if value is None or value is False:
        return None, []
    if value is True:
        return {}, []
    if not isinstance(value, dict):
        return None, [("model.compile", f"expected true, false or a mapping of ember.compile's arguments "
                                        f"({', '.join(COMPILE_ARGUMENTS)}), got {value!r}")]
    problems = []
    for key, given in value.items():
        if key not in COMPILE_ARGUMENTS:
            close = difflib.get_close_matches(str(key), list(COMPILE_ARGUMENTS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; ember.compile takes {', '.join(COMPILE_ARGUMENTS)}"
            problems.append((f"model.compile.{key}", f"not an argument of ember.compile{hint}"))
        elif not isinstance(given, COMPILE_ARGUMENTS[key]) or (isinstance(given, bool) and bool not in
                                                                COMPILE_ARGUMENTS[key]):
            expected = " or ".join("null" if t is type(None) else {"dict": "a mapping"}.get(t.__name__, t.__name__)
                                   for t in COMPILE_ARGUMENTS[key])
            problems.append((f"model.compile.{key}", f"expected {expected}, got {given!r}"))
    return (None if problems else dict(value)), problems


# --- overrides -------------------------------------------------------------------------------
def _split_key(key: str) -> list[str]:
    return [part for part in key.split(".") if part]


def _walk(config: dict, parts: list[str], create: bool, original: str, source):
    """Follows a key path, stepping into ``init_args`` where the path leaves it out."""
    node = config
    walked = []
    for part in parts[:-1]:
        node = _child(node, part, create, original, walked, source)
        walked.append(part)
    return node, parts[-1], walked


def _child(node, part, create, original, walked, source):
    if isinstance(node, list):
        if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
            raise RecipeError([f"{source}: override '{original}': {'.'.join(walked) or 'recipe'} is a list; "
                               f"'{part}' is not a valid index"])
        return node[int(part)]
    if not isinstance(node, dict):
        raise RecipeError([f"{source}: override '{original}': {'.'.join(walked)} is not a mapping"])
    if part in node:
        return node[part]
    if "class_path" in node:
        init_args = node.setdefault("init_args", {})
        if part in init_args or create:
            return init_args.setdefault(part, {})
    if create:
        return node.setdefault(part, {})
    raise _unknown_key(node, part, original, walked, source)


def _unknown_key(node, part, original, walked, source):
    names = list(node) + list(node.get("init_args", {}) if isinstance(node.get("init_args"), dict) else [])
    close = difflib.get_close_matches(part, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else (f"; keys there: {', '.join(names)}" if names else "")
    where = ".".join(walked + [part])
    return RecipeError([f"{source}: override '{original}': no key '{where}' in the recipe{hint}"])


def _set_model_key(model: dict, parts: list[str], value) -> None:
    """``model.compile=true`` or ``model.compile.dynamic=true`` (which makes ``compile`` a mapping)."""
    if len(parts) == 1:
        model[parts[0]] = value
    else:
        current = model.get(parts[0])
        model[parts[0]] = {**(current if isinstance(current, dict) else {}), parts[1]: value}


def apply_override(config: dict, override: str, source) -> None:
    """``a.b=value`` (value parsed as YAML), ``~a.b`` (delete). New keys may be added only inside an
    object's ``init_args`` or the ``trainer`` section, where the signature check will validate them."""
    import yaml

    if override.startswith("~"):
        parts = _split_key(override[1:])
        parent, last, walked = _walk(config, parts, False, override, source)
        container = parent.get("init_args", {}) if isinstance(parent, dict) and last not in parent else parent
        if not isinstance(container, dict) or last not in container:
            raise _unknown_key(parent, last, override, walked, source)
        del container[last]
        return
    if "=" not in override:
        raise RecipeError([f"{source}: override '{override}' must look like key.path=value or ~key.path"])
    key, _, raw = override.partition("=")
    parts = _split_key(key)
    if not parts:
        raise RecipeError([f"{source}: override '{override}' has an empty key"])
    shown = override if len(override) <= 60 else override[:57] + "..."
    try:
        value = safe_load(raw, f"{source}: override '{shown}'") if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    if parts[0] not in TOP_LEVEL_KEYS:
        close = difflib.get_close_matches(parts[0], TOP_LEVEL_KEYS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise RecipeError([f"{source}: override '{override}': unknown section '{parts[0]}'{hint}"])
    if parts[0] == "model" and len(parts) in (2, 3) and parts[1] in MODEL_KEYS and isinstance(config.get("model"), dict):
        _set_model_key(config["model"], parts[1:], value)  # beside the object spec, not one of its init_args
        return
    parent, last, walked = _walk(config, parts, False, override, source)
    if isinstance(parent, list):
        parent[int(last)] = value
        return
    if last in parent:
        if last == "class_path" and value != parent[last]:
            parent.pop("init_args", None)  # the old arguments belonged to the old class
        parent[last] = value
    elif "class_path" in parent:
        parent.setdefault("init_args", {})[last] = value
    elif len(parts) == 1 or (parts[0] == "trainer" and len(parts) == 2):
        parent[last] = value  # a new Trainer argument: checked against Trainer's signature later
    else:
        raise _unknown_key(parent, last, override, walked, source)


# --- interpolation ---------------------------------------------------------------------------
_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _lookup(config: dict, path: str, source):
    node = config
    for part in _split_key(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and isinstance(node.get("init_args"), dict) and part in node["init_args"]:
            node = node["init_args"][part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise RecipeError([f"{source}: interpolation '${{{path}}}' refers to a key that does not exist"])
    return node


def interpolate(config: dict, source) -> dict:
    copied = 0  # ${...} copies what it names, and copies nest: bounded like the aliases of a file

    def resolve(value, depth=0):
        nonlocal copied
        if depth > 20:
            raise RecipeError([f"{source}: interpolation nests too deep (a cycle?)"])
        copied += depth > 0
        if copied > MAX_NODES:
            raise RecipeError([f"{source}: interpolation copies more than {MAX_NODES} values, the limit for "
                               "a recipe"])
        if isinstance(value, dict):
            return {k: resolve(v, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, depth) for v in value]
        if isinstance(value, str):
            whole = _REFERENCE.fullmatch(value.strip())
            if whole:
                return resolve(_lookup(config, whole.group(1), source), depth + 1)
            return _REFERENCE.sub(lambda m: str(resolve(_lookup(config, m.group(1), source), depth + 1)), value)
        return value

    return resolve(config)


def load_recipe(name_or_path: str, overrides: list[str] = ()) -> Recipe:
    """Reads a recipe (built-in name or path), applies ``extends``, overrides and interpolation."""
    path = resolve_path(name_or_path)
    config = load_config(path)
    unknown = [k for k in config if k not in TOP_LEVEL_KEYS]
    if unknown:
        problems = []
        for key in unknown:
            close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(TOP_LEVEL_KEYS[:4])}"
            problems.append(f"{path}: {key}: unknown top-level key{hint}")
        raise RecipeError(problems)
    problems = []
    for override in overrides:
        try:
            apply_override(config, override, path)
        except RecipeError as error:
            problems.extend(error.problems)
    if problems:
        raise RecipeError(problems)
    config = interpolate(config, path)
    name = config.get("name") or path.stem
    if path.name == "config.yaml" and config.get("name"):
        name = config["name"]
    return Recipe(name=name, path=path, config=config, overrides=list(overrides))


def dump(config: dict) -> str:
    import yaml

    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
