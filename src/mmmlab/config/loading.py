"""params.yaml -> validated, frozen specs; project paths.

Every stage reads its own section through this module. Validation errors raise
:class:`UserInputError` with the dotted key and the offending value.
"""

from __future__ import annotations

import copy
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from mmmlab.errors import UserInputError

PARAMS_FILE = "params.yaml"
OUT_ENV = "MMMLAB_OUT"  # the output root chosen with `--out` (an environment variable: child processes inherit it)


# --------------------------------------------------------------------------- paths
def project_root() -> Path:
    """The project root, against which params paths are resolved.

    Returns
    -------
    Path
        The nearest folder from the working directory up that holds params.yaml, else the working
        directory. ``DVC_ROOT`` is not used: a queued or ``--temp`` experiment runs each stage in its
        own copy of the repository while ``DVC_ROOT`` names the parent workspace, whose params and
        outputs the experiment must neither read nor write.
    """
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / PARAMS_FILE).exists():
            return folder
    return here


def resolve(path: str | Path) -> Path:
    """A path from params.yaml made absolute.

    Parameters
    ----------
    path : str or Path
        Absolute, or relative to the project root.

    Returns
    -------
    Path
        With ``--out`` (:func:`outputs_under`), a relative path that exists under the output root is
        taken from there (the generated ``data/mmm_data.csv`` of a run under that folder); otherwise
        it is taken from the project root.
    """
    path = Path(path)
    if path.is_absolute():
        return path
    root = os.environ.get(OUT_ENV)
    if root and (Path(root) / path).exists():
        return Path(root) / path
    return project_root() / path


def output_path(path: str | Path) -> Path:
    """Where a stage writes one of its outputs (and a later stage reads it): under the output root.

    Parameters
    ----------
    path : str or Path
        Relative to the output root (``models/mmm_fit.nc``).

    Returns
    -------
    Path
        Under the folder given with ``--out`` (:func:`outputs_under`), else the project root.
    """
    root = os.environ.get(OUT_ENV)
    return (Path(root) if root else project_root()) / path


@contextmanager
def outputs_under(folder: str | Path | None):
    """Write every stage output under ``folder`` while the context lasts (None: the project root).

    Parameters
    ----------
    folder : str or Path or None
        Created if missing; relative to the working directory.
    """
    if folder is None:
        yield
        return
    previous = os.environ.get(OUT_ENV)
    root = Path(folder).resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ[OUT_ENV] = str(root)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(OUT_ENV, None)
        else:
            os.environ[OUT_ENV] = previous


def relative(path: str | Path) -> str:
    """A path as outputs record it (POSIX form): relative to the project root when inside it, so that the same
    inputs give the same bytes wherever the project sits (a DVC experiment runs in a temporary copy); absolute
    when it lies outside. ``path`` is read as :func:`resolve` reads it."""
    path = resolve(path).resolve()
    try:
        return path.relative_to(project_root()).as_posix()
    except ValueError:
        return path.as_posix()


# --------------------------------------------------------------------------- raw params
def load_params(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read the parameter file and apply overrides.

    Parameters
    ----------
    path : str or Path, optional
        The file; None: params.yaml at the project root.
    overrides : sequence of str
        ``a.b.c=value`` items (values parsed as YAML), applied in order (see :func:`set_key`).

    Returns
    -------
    dict
        The raw params, not yet validated (:func:`mmmlab.config.validate`).
    """
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
    """Apply one override in place.

    Parameters
    ----------
    raw : dict
        The params, changed in place; missing sections on the way are created (an unknown key is
        then reported by :func:`mmmlab.config.validate`, not here).
    assignment : str
        ``a.b.c=value``, the value parsed as YAML; a number selects a list item (``windows.0.start``).
    """
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
    """Dotted keys of a nested mapping (for MLflow params).

    Parameters
    ----------
    tree : Any
        A mapping, list or value.
    prefix : str
        Put before every key (``""``: none).

    Returns
    -------
    dict
        ``{"a": {"b": 1}}`` with prefix ``p`` -> ``{"p.a.b": 1}``; list items by index.
    """
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
    """``extra`` merged over ``base``, mapping by mapping (a preset over ``generate``).

    Parameters
    ----------
    base, extra : dict
        Neither is changed.

    Returns
    -------
    dict
        A deep copy; a mapping in both is merged, any other value of ``extra`` replaces.
    """
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
