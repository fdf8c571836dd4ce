"""params.yaml -> validated, frozen specs; project paths.

Every stage reads its own section through this module. Validation errors raise
:class:`UserInputError` with the dotted key and the offending value.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from mmmlab.config.section import Section
from mmmlab.errors import UserInputError

PARAMS_FILE = "params.yaml"


# --------------------------------------------------------------------------- paths
def project_root() -> Path:
    """The repository root: ``DVC_ROOT`` when DVC runs a stage, else the nearest folder with params.yaml."""
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / PARAMS_FILE).exists():
            return folder
    return here


def resolve(path: str | Path) -> Path:
    """A path from params.yaml, relative to the project root."""
    path = Path(path)
    return path if path.is_absolute() else project_root() / path


# --------------------------------------------------------------------------- raw params
def load_params(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read params.yaml and apply ``key.sub=value`` overrides (values parsed as YAML)."""
    path = Path(path) if path else project_root() / PARAMS_FILE
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise UserInputError(f"{path}: parameter file not found") from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: must be a mapping of sections")
    for item in overrides:
        set_key(raw, item)
    return raw


def set_key(raw: dict, assignment: str) -> None:
    """Apply one ``a.b.c=value`` override in place; a number selects a list item (``windows.0.start``)."""
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise UserInputError(f"override {assignment!r}: expected key=value")
    *parents, leaf = key.split(".")
    node = raw
    for i, part in enumerate(parents):
        if isinstance(node, list):
            node = _list_item(node, part, ".".join(parents[: i + 1]))
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, (dict, list)):
            raise UserInputError(f"override {key}: {'.'.join(parents[: i + 1])} is not a section")
        node = child
    parsed = yaml.safe_load(value) if value else None
    if isinstance(node, list):
        node[_list_index(node, leaf, key)] = parsed
    else:
        node[leaf] = parsed


def _list_index(items: list, part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise UserInputError(f"override {key}: {part!r} is not an index of a list of {len(items)}")
    return int(part)


def _list_item(items: list, part: str, key: str):
    item = items[_list_index(items, part, key)]
    if not isinstance(item, (dict, list)):
        raise UserInputError(f"override {key}: not a section")
    return item


def flatten(tree: Any, prefix: str) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"prefix.a.b": 1}``; lists are indexed."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = ((str(i), v) for i, v in enumerate(tree))
    else:
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def deep_merge(base: dict, extra: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged






































def experiment_name(params: dict) -> str:
    return str(Section(params.get("tracking", {}), "tracking").get("experiment", "mmm-lab"))

